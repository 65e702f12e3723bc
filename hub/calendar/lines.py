"""Where things are in a TOML file: tomllib returns plain values without positions, so errors that must
name a line find it here.

Only the shapes the calendar uses are located: top-level keys, the ``N``-th ``[[name]]`` table of an
array of tables, and ``key = …`` lines inside it.  A header or key spelt inside a multi-line string would
confuse the scan; that costs at worst a wrong line number in an error, never a wrong calendar.
"""

from __future__ import annotations

import re

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_-]+)\s*\]\]\s*(?:#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[[^\[]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


class LineMap:
    def __init__(self, text: str) -> None:
        self._tables: dict[tuple[str, int], int] = {}
        self._keys: dict[tuple[str | None, int, str], int] = {}
        counts: dict[str, int] = {}
        current: tuple[str | None, int] = (None, 0)
        for number, line in enumerate(text.splitlines(), start=1):
            header = _ARRAY_HEADER.match(line)
            if header is not None:
                name = header[1]
                index = counts.get(name, 0)
                counts[name] = index + 1
                self._tables[(name, index)] = number
                current = (name, index)
                continue
            if _TABLE_HEADER.match(line):
                # A plain [table] we do not locate; its keys must not be taken for the previous table's.
                current = ("", 0)
                continue
            key = _KEY.match(line)
            if key is not None:
                self._keys.setdefault((current[0], current[1], key[1]), number)

    def table(self, name: str, index: int) -> int | None:
        return self._tables.get((name, index))

    def key(self, name: str | None, index: int, key: str) -> int | None:
        """The line of ``key`` in the ``index``-th ``[[name]]`` (``name=None``: a top-level key), falling back
        to the table's header when the key is not written (a missing key is reported at its table)."""
        found = self._keys.get((name, index, key))
        if found is not None or name is None:
            return found
        return self.table(name, index)
