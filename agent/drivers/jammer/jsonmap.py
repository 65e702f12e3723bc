"""Reading a vendor platform's JSON status: RFC 6901 pointers into the document, and what counts as "on".

No I/O: :func:`decode` takes the parsed document and the configured points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Final

import msgspec

from agent.drivers.jammer.reading import BandName, BandState, FaultName, JammerReading, check_names_unique
from protocol.validation import full

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
Pointer = Annotated[str, full(r"^(/[^/]*)*$"), msgspec.Meta(max_length=256)]
# Without a configured "on" list: JSON true, the number 1, or one of these words (any case).
TRUE_WORDS: Final = frozenset({"on", "true", "1", "yes", "enabled", "active", "running"})
_MISSING: Final = object()


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A table inside a device's config: unknown keys refused, as in :class:`~agent.drivers.base.DeviceConfig`.

    Subclasses repeat ``frozen=True, kw_only=True``: msgspec inherits them, but mypy's dataclass view does not."""


class JsonPoint(_Strict, frozen=True, kw_only=True):
    pointer: Pointer
    # The values that mean on / active; a bool only matches a bool (JSON true is not the number 1).
    on: Annotated[list[str | int | bool], msgspec.Meta(min_length=1, max_length=16)] | None = None

    def active(self, value: object) -> bool:
        if self.on is not None:
            return any(type(value) is type(v) and value == v for v in self.on)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value == 1
        return isinstance(value, str) and value.strip().lower() in TRUE_WORDS


class JsonBand(JsonPoint, frozen=True, kw_only=True):
    name: BandName


class JsonFault(JsonPoint, frozen=True, kw_only=True):
    name: FaultName


class JsonTemperature(_Strict, frozen=True, kw_only=True):
    pointer: Pointer
    scale: float = 1.0


# The map's keys as types, so a driver config that carries them at its top level (``http-jammer``:
# msgspec structs cannot inherit from two structs with fields) declares them exactly as the map does.
JsonBands = Annotated[list[JsonBand], msgspec.Meta(min_length=1, max_length=16)]
JsonFaults = Annotated[list[JsonFault], msgspec.Meta(max_length=32)]


class JsonMap(_Strict, frozen=True, kw_only=True):
    bands: JsonBands
    faults: JsonFaults = msgspec.field(default_factory=list)
    temperature: JsonTemperature | None = None
    max_temp_c: float | None = None

    def __post_init__(self) -> None:
        check_names_unique([b.name for b in self.bands], [f.name for f in self.faults])


def resolve(document: JsonValue, pointer: str) -> object:
    """The value at ``pointer`` (RFC 6901), or the module's ``_MISSING`` marker when there is none."""
    node: object = document
    if pointer == "":
        return node
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            if token not in node:
                return _MISSING
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _MISSING
    return node


def decode(mapping: JsonMap, document: JsonValue) -> JammerReading:
    bands: dict[str, BandState] = {}
    for band in mapping.bands:
        value = resolve(document, band.pointer)
        # A field the platform left out is unknown, never off: absence proves nothing.
        bands[band.name] = "unknown" if value is _MISSING or value is None else "on" if band.active(value) else "off"
    faults = [f.name for f in mapping.faults if (v := resolve(document, f.pointer)) is not _MISSING and f.active(v)]
    temp = None
    if mapping.temperature is not None:
        raw = resolve(document, mapping.temperature.pointer)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            temp = float(raw) * mapping.temperature.scale
            if mapping.max_temp_c is not None and temp > mapping.max_temp_c:
                faults.append("overtemp")
    return JammerReading(bands, tuple(_unique(faults)), temp)


def _unique(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))
