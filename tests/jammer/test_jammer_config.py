"""The jammer and probe drivers through the agent's config file: accepted shapes, and errors by key."""

from __future__ import annotations

import tomllib

import pytest

from agent.config import parse_config
from agent.drivers.jammer.httpjson import HttpJammer
from agent.drivers.jammer.modbus import ModbusJammer
from agent.drivers.probe.driver import CellProbe
from agent.drivers.registry import create_driver
from agent.errors import ConfigError

HEAD = """
[agent]
city = "jinan"
site = "s01"
name = "a1"

[broker]
host = "127.0.0.1"
"""

DEVICES = """
[[devices]]
driver = "modbus-jammer"
id = "jam-101"
room = "101"
port = "/dev/serial/by-id/usb-jammer-101"
unit = 3
bands = [
  { name = "gsm900", table = "coil", address = 0 },
  { name = "lte1800", table = "holding", address = 10, bit = 2 },
]
faults = [{ name = "vswr", table = "discrete", address = 3 }]
temperature = { table = "input", address = 20, scale = 0.1 }
max_temp_c = 70.0

[[devices]]
driver = "modbus-jammer"
id = "jam-102"
room = "102"
transport = "tcp"
host = "10.20.0.7"
bands = [{ name = "gsm900", table = "holding", address = 0, on_value = 1 }]

[[devices]]
driver = "contact-jammer"
id = "jam-103"
room = "103"
port = "socket://10.20.0.8:4001"
inputs = { gsm900 = 0, lte1800 = 1 }
active_low = true
fault_input = 7

[[devices]]
driver = "http-jammer"
id = "jam-104"
room = "104"
url = "http://10.20.0.9/api/status"
bands = [{ name = "gsm900", pointer = "/modules/0/on" }]

[[devices]]
driver = "at-probe"
id = "probe-101"
room = "101"
port = "/dev/serial/by-id/usb-Quectel_EC25-if02"
window_s = 60
"""


def test_every_driver_is_accepted_from_toml() -> None:
    config = parse_config(tomllib.loads(HEAD + DEVICES), "agent.toml")
    drivers = [create_driver(d) for d in config.devices]
    assert [type(d) for d in drivers] == [ModbusJammer, ModbusJammer, ModbusJammer, HttpJammer, CellProbe]
    assert [d.kind for d in drivers] == ["jammer", "jammer", "jammer", "jammer", "probe"]


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ('port = "/dev/serial/by-id/usb-jammer-101"', "", "devices[0]", "transport 'rtu' needs port (and no host)"),
        (
            'table = "coil", address = 0 }',
            'table = "coil", address = 0, bit = 1 }',
            "devices[0].bands[0]",
            "bit and on_value apply to registers, not to a coil",
        ),
        ("unit = 3", "unit = 300", "devices[0].unit", "expected int <= 247"),
        ("unit = 3", 'unit = "3"', "devices[0].unit", "expected int, got str"),
        (
            'url = "http://10.20.0.9/api/status"',
            'url = "ftp://x"',
            "devices[3].url",
            "expected str matching regex '^https?://[^\\s]+$'",
        ),
        ("window_s = 60", "window_s = 60\nbaud = 9600", "devices[4].baud", "unknown key"),
    ],
)
def test_mistakes_are_named_by_key(old: str, new: str, key: str, reason: str) -> None:
    text = HEAD + DEVICES
    assert old in text
    with pytest.raises(ConfigError) as caught:
        parse_config(tomllib.loads(text.replace(old, new, 1)), "agent.toml")
    assert (caught.value.key, caught.value.reason) == (key, reason)


def test_a_bad_band_name_is_named_at_its_table() -> None:
    text = (HEAD + DEVICES).replace("inputs = { gsm900 = 0,", "inputs = { GSM = 0,", 1)
    with pytest.raises(ConfigError) as caught:
        parse_config(tomllib.loads(text), "agent.toml")
    # msgspec names the table whose key is wrong, not the key.
    assert caught.value.key == "devices[2].inputs"
    assert "regex '^[a-z0-9]{1,16}$'" in caught.value.reason
    assert " - at " not in caught.value.reason  # where it is belongs in the key, not in the reason
