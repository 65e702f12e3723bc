"""msgspec's validation, shared by the wire contract and the agent's config files.

Why msgspec rather than pydantic on the agent side: the agent runs unattended beside four cameras, and
pydantic's machinery alone is ~10 MB of its resident memory (measured for issue 5: 4.1 MB to import, 5.6 MB
more for the first model built, against 1.5 MB for msgspec and its structs).  The hub keeps pydantic for
its own API and config, where FastAPI needs it.

Two things msgspec does differently, handled here once:

* A struct built in code is not validated (only decoding and :func:`msgspec.convert` check types and
  constraints), so whoever builds a message from data it did not make calls :func:`checked`.
* A pattern is applied with :func:`re.search`, whose ``$`` also matches before a final newline; a device
  id ``"cam1\\n"`` must not pass, so every pattern is written ``^…$`` for the JSON Schema and compiled
  through :func:`full` (``$`` → ``\\Z``).
"""

from __future__ import annotations

import ast
import re
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

# "… - at `$.broker.port`", or for a bad key of a table "… - at `key` in `$.devices[0].inputs`".
_AT = re.compile(r"^(?P<msg>.*?)(?: - at (?:`key` in )?`\$(?P<path>[^`]*)`)?$", re.DOTALL)
_OWN_WORDING = ("Expected `", "Object ", "Invalid enum value")
_REGEX = re.compile(r"matching regex (?P<repr>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]*)`$")


def full(pattern: str) -> msgspec.Meta:
    """A ``^…$`` pattern that must match the whole string, as a msgspec constraint."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise ValueError(f"pattern {pattern!r} must be anchored with ^ and $")
    return msgspec.Meta(pattern=pattern[:-1] + r"\Z")


def schema_pattern(pattern: str) -> str:
    """The JSON Schema (ECMA-262) form of a pattern made by :func:`full`: there ``$`` is the end of input."""
    return pattern[:-2] + "$" if pattern.endswith(r"\Z") else pattern


class Problem(msgspec.Struct, frozen=True):
    """One validation failure: where (``broker.port``, ``devices[2].id``; "" for the whole document) and why."""

    path: str
    reason: str
    kind: str  # "unknown" (a key not allowed), "missing" (a required key absent) or "invalid"


def problem(exc: msgspec.ValidationError, prefix: str = "") -> Problem:
    """Split msgspec's ``Expected `int` >= 1 - at `$.broker.port``` into a path and a reason.

    An unknown or missing key is placed at the key itself (``broker.pot``), not at the table holding it,
    so the operator is pointed at the line to fix.
    """
    match = _AT.match(str(exc))
    message, path = (match["msg"], match["path"] or "") if match else (str(exc), "")
    path = _join(prefix, path.removeprefix("."))
    unknown = _UNKNOWN.match(message)
    if unknown:
        return Problem(_join(path, unknown["field"]), "unknown key", "unknown")
    missing = _MISSING.match(message)
    if missing:
        return Problem(_join(path, missing["field"]), "field required", "missing")
    return Problem(path, _plain(message), "invalid")


def _join(path: str, part: str) -> str:
    if not part:
        return path
    if not path:
        return part
    return path + part if part.startswith("[") else f"{path}.{part}"


def _plain(message: str) -> str:
    """msgspec's wording without its Markdown: ``Expected `int`, got `str``` → ``expected int, got str``, and a
    pattern as written (msgspec quotes it with ``repr``, doubling backslashes).  A reason raised by our own
    checks (``__post_init__``) is left as it was written."""
    if not message.startswith(_OWN_WORDING):
        return message
    text = _REGEX.sub(_pattern_as_written, message).replace("`", "")
    return text[:1].lower() + text[1:]


def _pattern_as_written(match: re.Match[str]) -> str:
    return f"matching regex '{schema_pattern(ast.literal_eval(match['repr']))}'"


S = TypeVar("S", bound=msgspec.Struct)


def validated(data: Any, kind: type[S], prefix: str = "") -> tuple[S | None, list[Problem]]:
    """A table ``data`` as the struct ``kind``, or every problem it has, not only the first that msgspec
    stops at.

    Each key is checked on its own against its field's type and constraints, in the order the struct
    declares them, then the keys it does not know; only when all of them pass is the whole table converted,
    which runs the checks that span keys (``__post_init__``).  So a config with three mistakes is reported
    with three lines, each at its own key, as an operator fixing it in one pass needs."""
    found: list[Problem] = []
    if isinstance(data, dict):
        fields = msgspec.structs.fields(kind)
        for field in fields:
            key = field.encode_name
            if key not in data:
                if field.required:
                    found.append(Problem(_join(prefix, key), "field required", "missing"))
                continue
            try:
                msgspec.convert(data[key], field.type, strict=True)
            except msgspec.ValidationError as exc:
                found.append(problem(exc, _join(prefix, key)))
        names = {field.encode_name for field in fields}
        found.extend(Problem(_join(prefix, str(key)), "unknown key", "unknown") for key in data if key not in names)
    if found:
        return None, found
    try:
        return msgspec.convert(data, kind, strict=True), []
    except msgspec.ValidationError as exc:
        return None, [problem(exc, prefix)]


def convert(data: Any, kind: type[T]) -> T:
    """``data`` (from TOML or JSON) as ``kind``, validated strictly (no ``"1883"`` for an int).

    Raises :class:`msgspec.ValidationError`; use :func:`problem` on it for the path and reason."""
    return msgspec.convert(data, kind, strict=True)


def checked(value: T) -> T:
    """``value`` validated as if it had been decoded: constraints and ``__post_init__`` checks.

    Raises :class:`msgspec.ValidationError`."""
    return msgspec.convert(msgspec.to_builtins(value), type(value), strict=True)
