"""The Modbus jammer drivers against a real pymodbus server on loopback: RTU framing over socket://, and TCP."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.devices import DeviceSlot
from agent.drivers.jammer.modbus import ContactJammerConfig, ModbusJammer, ModbusJammerConfig
from agent.drivers.jammer.modbus_io import ModbusNoReply, ModbusRefused, ModbusUnreachable
from agent.errors import DriverError
from protocol.validation import convert
from tests.jammer.conftest import LoopbackModbus

T0 = datetime(2026, 5, 17, 1, 0, tzinfo=UTC)
Server = Callable[..., LoopbackModbus]

MAP: dict[str, Any] = {
    "bands": [
        {"name": "gsm900", "table": "coil", "address": 0},
        {"name": "lte1800", "table": "coil", "address": 1},
        {"name": "nr3500", "table": "holding", "address": 10, "bit": 2},
        {"name": "wifi24", "table": "holding", "address": 11, "on_value": 1},
    ],
    "faults": [
        {"name": "vswr", "table": "discrete", "address": 3},
        {"name": "fan", "table": "input", "address": 5, "bit": 0},
    ],
    "temperature": {"table": "input", "address": 20, "scale": 0.1},
    "max_temp_c": 70.0,
}


def jammer(server: LoopbackModbus, **keys: Any) -> ModbusJammer:
    if server.framing == "rtu":
        where = {"port": server.url, "baudrate": 115200}
    else:
        where = {"transport": "tcp", "host": "127.0.0.1", "tcp_port": server.port}
    config = convert(
        {"id": "jam-101", "room": "101", "unit": server.unit, "timeout_s": 0.3, **where, **MAP, **keys},
        ModbusJammerConfig,
    )
    return ModbusJammer(config)


def all_on(server: LoopbackModbus) -> None:
    server.set("coil", 0, True, True)
    server.set("holding", 10, 0b100, 1)
    server.set("input", 20, 415)


@pytest.fixture
def server(modbus_server: Server) -> LoopbackModbus:
    made = modbus_server(unit=7)
    all_on(made)
    return made


def test_on_every_band_reads_on_with_temperature(server: LoopbackModbus) -> None:
    driver = jammer(server)
    driver.start()
    try:
        state = driver.poll(T0)
    finally:
        driver.close()
    assert state.status == "ok"
    assert state.details == {
        "band_gsm900": "on",
        "band_lte1800": "on",
        "band_nr3500": "on",
        "band_wifi24": "on",
        "fault": False,
        "faults": "",
        "temp_c": 42,
    }
    # Coils 0–1, holding 10–11, discrete 3, input 5 and 20: five reads (the inputs are 15 apart).
    assert server.requests == 5


def test_off_bands_read_off_and_each_change_is_an_event(server: LoopbackModbus) -> None:
    driver = jammer(server)
    driver.start()
    try:
        driver.poll(T0)
        assert driver.events() == []  # the first reading is not a change
        server.set("coil", 1, False)
        server.set("holding", 10, 0b011)  # bit 2 clear, other bits set
        server.set("holding", 11, 2)  # not the on value
        state = driver.poll(T0 + timedelta(seconds=1))
        events = driver.events()
    finally:
        driver.close()
    assert state.status == "ok"  # off is not a fault: whether it should be on is the hub's question
    assert [state.details[f"band_{b}"] for b in ("gsm900", "lte1800", "nr3500", "wifi24")] == [
        "on",
        "off",
        "off",
        "off",
    ]
    assert [(e.name, e.severity, e.details["band"]) for e in events] == [
        ("jammer.band_off", "info", "lte1800"),
        ("jammer.band_off", "info", "nr3500"),
        ("jammer.band_off", "info", "wifi24"),
    ]


def test_fault_bits_and_overheating_make_a_fault_state(server: LoopbackModbus) -> None:
    driver = jammer(server)
    driver.start()
    try:
        driver.poll(T0)
        server.set("discrete", 3, True)
        server.set("input", 5, 0b1)
        server.set("input", 20, 715)
        state = driver.poll(T0 + timedelta(seconds=1))
        events = driver.events()
        server.set("discrete", 3, False)
        server.set("input", 5, 0)
        server.set("input", 20, 0xFFF6)  # -1.0 °C as a signed register
        cleared = driver.poll(T0 + timedelta(seconds=2))
    finally:
        driver.close()
    assert state.status == "fault"
    assert (state.details["fault"], state.details["faults"], state.details["temp_c"]) == (True, "vswr,fan,overtemp", 72)
    assert [(e.name, e.details["fault"]) for e in events] == [
        ("jammer.fault", "vswr"),
        ("jammer.fault", "fan"),
        ("jammer.fault", "overtemp"),
    ]
    assert (cleared.status, cleared.details["faults"], cleared.details["temp_c"]) == ("ok", "", -1)


def test_a_wrong_unit_id_gets_no_reply_and_a_clear_error(server: LoopbackModbus) -> None:
    driver = jammer(server, unit=9)
    driver.start()
    began = time.monotonic()
    try:
        with pytest.raises(DriverError) as caught:
            driver.poll(T0)
    finally:
        driver.close()
    elapsed = time.monotonic() - began
    assert isinstance(caught.value.__cause__, ModbusNoReply)
    assert str(caught.value) == (
        f"no reply from unit 9 at {server.url} within 0.3 s reading coils 0–1 "
        "(wrong unit id, wiring, or the device is off) (last good poll: never)"
    )
    # One timeout, not one per register block: the poll stops at the first failure.
    assert elapsed < 2 * 0.3 + 0.5


def test_a_gateway_answering_for_a_missing_unit_is_a_refusal(modbus_server: Server) -> None:
    gateway = modbus_server(unit=7, bus=False)
    driver = jammer(gateway, unit=9)
    driver.start()
    try:
        with pytest.raises(DriverError) as caught:
            driver.poll(T0)
    finally:
        driver.close()
    assert isinstance(caught.value.__cause__, ModbusRefused)
    assert "exception 4 (device failure)" in str(caught.value)


def test_an_unmapped_address_is_named_in_the_error(server: LoopbackModbus) -> None:
    driver = jammer(server, temperature={"table": "input", "address": 500})
    driver.start()
    try:
        with pytest.raises(DriverError, match=r"refused reading input registers 500–500: exception 2 \(illegal data"):
            driver.poll(T0)
    finally:
        driver.close()


def test_server_gone_then_back_without_a_crash(server: LoopbackModbus) -> None:
    driver = jammer(server)
    driver.start()
    try:
        assert driver.poll(T0).status == "ok"
        server.stop()
        with pytest.raises(DriverError) as lost:
            driver.poll(T0 + timedelta(seconds=1))
        assert isinstance(lost.value.__cause__, ModbusUnreachable)
        assert str(lost.value).endswith(f"(last good poll: {T0.isoformat()})")
        with pytest.raises(DriverError, match=f"cannot open {server.url}"):
            driver.poll(T0 + timedelta(seconds=2))
        server.start()
        all_on(server)
        assert driver.poll(T0 + timedelta(seconds=3)).details["band_gsm900"] == "on"
    finally:
        driver.close()
    driver.close()  # twice is fine


def test_inside_the_supervisors_slot_failures_become_fault_states(server: LoopbackModbus) -> None:
    slot = DeviceSlot(jammer(server))
    slot.start(0.0)
    try:
        assert slot.poll(T0, 0.0).status == "ok"
        server.stop()
        down = slot.poll(T0 + timedelta(seconds=1), 1.0)
        assert down.status == "fault"
        assert isinstance(down.details["error"], str)
        assert "last good poll" in down.details["error"]
        server.start()
        all_on(server)
        assert slot.poll(T0 + timedelta(seconds=2), 2.0).status == "ok"
    finally:
        slot.close()


def test_between_intervals_the_last_reading_is_repeated(server: LoopbackModbus) -> None:
    driver = jammer(server, interval_s=5.0)
    driver.start()
    try:
        driver.poll(T0)
        asked = server.requests
        server.set("coil", 0, False)
        assert driver.poll(T0 + timedelta(seconds=4)).details["band_gsm900"] == "on"
        assert server.requests == asked
        assert driver.poll(T0 + timedelta(seconds=5)).details["band_gsm900"] == "off"
    finally:
        driver.close()


def test_modbus_tcp_framing(modbus_server: Server) -> None:
    server = modbus_server(unit=3, framing="tcp")
    all_on(server)
    driver = jammer(server)
    driver.start()
    try:
        assert driver.poll(T0).details["band_nr3500"] == "on"
    finally:
        driver.close()


def test_dry_contacts_through_a_digital_input_module(modbus_server: Server) -> None:
    module = modbus_server(unit=2)
    config = convert(
        {
            "driver": "contact-jammer",
            "id": "jam-102",
            "room": "102",
            "port": module.url,
            "unit": 2,
            "timeout_s": 0.3,
            "inputs": {"gsm900": 0, "lte1800": 1},
            "active_low": True,
            "fault_input": 7,
        },
        ContactJammerConfig,
    )
    driver = ModbusJammer(config)
    driver.start()
    try:
        module.set("discrete", 0, False, True)  # normally closed: input 0 open → gsm900 on; input 1 closed → off
        first = driver.poll(T0)
        module.set("discrete", 7, True)
        alarmed = driver.poll(T0 + timedelta(seconds=1))
    finally:
        driver.close()
    assert (first.details["band_gsm900"], first.details["band_lte1800"], first.status) == ("on", "off", "ok")
    assert (alarmed.status, alarmed.details["faults"]) == ("fault", "alarm_contact")
    assert module.requests == 2  # inputs 0, 1 and 7 in one read per poll
