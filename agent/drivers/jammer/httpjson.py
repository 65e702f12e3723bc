"""``http-jammer``: poll a vendor platform's HTTP endpoint that returns the jammer's status as JSON.

One GET per ``interval_s`` (default 5 s: these platforms are not built to be asked every second), with a
hard ``timeout_s``; the document is capped at 1 MiB.  Standard library only (urllib), so the agent needs
no HTTP client package.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from agent.drivers.jammer.jsonmap import JsonBands, JsonFaults, JsonMap, JsonTemperature, JsonValue, decode
from agent.drivers.jammer.polled import PolledJammer, PolledJammerConfig
from agent.drivers.jammer.reading import JammerReading, check_names_unique
from agent.errors import DriverError
from protocol.validation import full

MAX_BODY: Final = 1 << 20


class HttpJammerError(DriverError):
    """The vendor platform could not be read."""


class HttpJammerConfig(PolledJammerConfig, frozen=True, kw_only=True):
    driver: Literal["http-jammer"] = "http-jammer"
    url: Annotated[str, full(r"^https?://[^\s]+$"), Meta(max_length=2048)]
    interval_s: Annotated[float, Meta(ge=0.2, le=3600)] = 5.0
    # Bounds how long one poll can hold up the agent's loop.
    timeout_s: Annotated[float, Meta(ge=0.1, le=10)] = 1.0
    # The JSON map's keys, at the top level of the device's table (see JsonMap).
    bands: JsonBands
    faults: JsonFaults = msgspec.field(default_factory=list)
    temperature: JsonTemperature | None = None
    max_temp_c: float | None = None

    def __post_init__(self) -> None:
        check_names_unique([b.name for b in self.bands], [f.name for f in self.faults])


class HttpJammer(PolledJammer[HttpJammerConfig]):
    def __init__(self, config: HttpJammerConfig) -> None:
        super().__init__(config)
        self._map = JsonMap(
            bands=config.bands, faults=config.faults, temperature=config.temperature, max_temp_c=config.max_temp_c
        )

    def open(self) -> None:
        """Nothing to hold open: each poll is one request."""

    def read(self) -> JammerReading:
        return decode(self._map, fetch_json(self.config.url, self.config.timeout_s))

    def shut(self) -> None:
        """Nothing held."""


def fetch_json(url: str, timeout_s: float) -> JsonValue:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310  # http(s) only, checked by the config
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            body = response.read(MAX_BODY + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise HttpJammerError(f"GET {url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        reason = "timed out" if isinstance(exc.reason, TimeoutError) else str(exc.reason)
        raise HttpJammerError(f"GET {url}: {reason}") from exc
    except (TimeoutError, OSError) as exc:
        raise HttpJammerError(f"GET {url}: {exc or type(exc).__name__}") from exc
    if len(body) > MAX_BODY:
        raise HttpJammerError(f"GET {url}: the answer is larger than {MAX_BODY} bytes")
    try:
        document: JsonValue = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HttpJammerError(f"GET {url}: the answer is not JSON ({exc})") from exc
    return document
