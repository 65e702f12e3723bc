"""The HTTP/JSON jammer driver against a real HTTP server on loopback, and its JSON mapping."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import pytest

from agent.drivers.jammer.httpjson import HttpJammer, HttpJammerConfig
from agent.drivers.jammer.jsonmap import JsonMap, decode, resolve
from agent.errors import DriverError
from protocol.validation import Problem, convert, problem

T0 = datetime(2026, 5, 17, 1, 0, tzinfo=UTC)


class Platform:
    """A vendor platform stand-in: answers GET with whatever the test put in ``status``/``body``."""

    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = b"{}"
        self.delay_s = 0.0
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(platform.delay_s)
                self.send_response(platform.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(platform.body)))
                self.end_headers()
                self.wfile.write(platform.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/jammer/7"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def reply(self, document: object) -> None:
        self.body = json.dumps(document).encode()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def platform() -> Iterator[Platform]:
    made = Platform()
    yield made
    made.stop()


CONFIG: dict[str, Any] = {
    "driver": "http-jammer",
    "id": "jam-201",
    "room": "201",
    "interval_s": 1.0,
    "timeout_s": 0.3,
    "bands": [
        {"name": "gsm900", "pointer": "/modules/0/state"},
        {"name": "lte1800", "pointer": "/modules/1/state"},
        {"name": "nr3500", "pointer": "/nr/enabled", "on": ["RUN"]},
    ],
    "faults": [{"name": "vswr", "pointer": "/alarms/vswr"}],
    "temperature": {"pointer": "/temp_dC", "scale": 0.1},
}
DOC = {"modules": [{"state": "ON"}, {"state": 1}], "nr": {"enabled": "RUN"}, "alarms": {"vswr": False}, "temp_dC": 388}


def driver(platform: Platform, **keys: Any) -> HttpJammer:
    return HttpJammer(convert({**CONFIG, "url": platform.url, **keys}, HttpJammerConfig))


def test_a_platform_document_becomes_band_states(platform: Platform) -> None:
    platform.reply(DOC)
    jam = driver(platform)
    jam.start()
    state = jam.poll(T0)
    platform.reply({**DOC, "modules": [{"state": "off"}, {"state": 0}], "alarms": {"vswr": True}})
    later = jam.poll(T0 + timedelta(seconds=1))
    jam.close()
    assert state.status == "ok"
    assert state.details == {
        "band_gsm900": "on",
        "band_lte1800": "on",
        "band_nr3500": "on",
        "fault": False,
        "faults": "",
        "temp_c": 39,
    }
    assert (later.status, later.details["band_gsm900"], later.details["band_lte1800"]) == ("fault", "off", "off")
    assert [e.name for e in jam.events()] == ["jammer.band_off", "jammer.band_off", "jammer.fault"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: setattr(p, "status", 503), r"HTTP 503 Service Unavailable"),
        (lambda p: setattr(p, "body", b"<html>login</html>"), r"the answer is not JSON"),
        (lambda p: setattr(p, "delay_s", 1.0), r"timed out"),
        (lambda p: p.stop(), r"Connection refused"),
    ],
)
def test_platform_failures_are_driver_errors(platform: Platform, setup: Any, message: str) -> None:
    platform.reply(DOC)
    jam = driver(platform)
    jam.start()
    assert jam.poll(T0).status == "ok"
    setup(platform)
    began = time.monotonic()
    with pytest.raises(DriverError, match=message) as caught:
        jam.poll(T0 + timedelta(seconds=1))
    assert time.monotonic() - began < 0.9  # bounded by timeout_s, not by the platform
    assert str(caught.value).endswith(f"(last good poll: {T0.isoformat()})")
    jam.close()


def test_json_pointer_and_on_values() -> None:
    doc = {"a/b": {"~x": [10, 20]}, "flag": True, "n": 1}
    assert resolve(doc, "/a~1b/~0x/1") == 20
    assert resolve(doc, "") == doc
    mapping = convert(
        {
            "bands": [
                {"name": "b1", "pointer": "/flag"},
                {"name": "b2", "pointer": "/n", "on": [True]},  # true is not 1
                {"name": "b3", "pointer": "/missing"},
                {"name": "b4", "pointer": "/a~1b/~0x/5"},
            ]
        },
        JsonMap,
    )
    assert decode(mapping, doc).bands == {"b1": "on", "b2": "off", "b3": "unknown", "b4": "unknown"}


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            {"faults": [{"name": "vswr", "pointer": "/a"}, {"name": "vswr", "pointer": "/b"}]},
            Problem("devices[0]", "fault names must not repeat", "invalid"),
        ),
        (
            {"bands": [{"name": "gsm900", "pointer": "modules/0"}]},
            Problem("devices[0].bands[0].pointer", "expected str matching regex '^(/[^/]*)*$'", "invalid"),
        ),
        (
            {"bands": [{"name": "gsm900", "pointer": "/on", "on": []}]},
            Problem("devices[0].bands[0].on", "expected array of length >= 1", "invalid"),
        ),
        ({"interval_s": 0.1}, Problem("devices[0].interval_s", "expected float >= 0.2", "invalid")),
    ],
)
def test_a_platform_map_is_checked_as_part_of_the_device(keys: dict[str, Any], expected: Problem) -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        convert({**CONFIG, "url": "http://10.20.0.9/status", **keys}, HttpJammerConfig)
    assert problem(caught.value, "devices[0]") == expected


def test_a_url_must_be_http_to_its_end() -> None:
    for url in ("ftp://10.20.0.9/status", "http://10.20.0.9/status\n"):
        with pytest.raises(msgspec.ValidationError) as caught:
            convert({**CONFIG, "url": url}, HttpJammerConfig)
        assert problem(caught.value, "devices[0]").path == "devices[0].url"
