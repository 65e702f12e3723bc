"""Errors the hub raises on purpose.

    HubError
     ├── HubConfigError        the config file is unreadable or invalid (names FILE and the dotted KEY)
     ├── StoreError            the database refused an operation (bad content, a bug in our SQL)
     │    └── StoreUnavailable the database cannot be reached right now: retry later, keep the data
     └── IngestError           the MQTT side cannot be set up (bad broker address, client refused)

Dependency errors (psycopg, paho) are mapped at the module that owns the dependency, so callers never
import psycopg or paho to catch something.  ``StoreUnavailable`` is the only store error worth retrying:
anything else would fail the same way again.
"""

from __future__ import annotations

from collections.abc import Sequence


class HubError(Exception):
    pass


class HubConfigError(HubError):
    """One or more problems in a config file, each as (dotted key, reason); ``key``/``reason`` are the first."""

    def __init__(self, file: str, key: str, reason: str, *, more: Sequence[tuple[str, str]] = ()) -> None:
        self.file = file
        self.key = key
        self.reason = reason
        self.problems: tuple[tuple[str, str], ...] = ((key, reason), *more)
        super().__init__("\n".join(self._line(k, r) for k, r in self.problems))

    def _line(self, key: str, reason: str) -> str:
        return f"{self.file}: {key}: {reason}" if key else f"{self.file}: {reason}"


class StoreError(HubError):
    pass


class StoreUnavailable(StoreError):
    pass


class IngestError(HubError):
    pass
