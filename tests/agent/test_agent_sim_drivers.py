"""Simulated drivers: one contract for every registered driver, then each kind's own behaviour.

Every reading is a function of the seed, the device id and the ``now`` passed in, so these tests give
exact times and expect exact results.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest

from agent.drivers.base import DeviceConfig, Driver, DriverEvent
from agent.drivers.registry import REGISTRY, create_driver
from agent.drivers.sim.camera import SimCamera, SimCameraConfig
from agent.drivers.sim.idcard import SimIdcard, SimIdcardConfig
from agent.drivers.sim.jammer import SimJammer, SimJammerConfig
from agent.errors import DriverError
from protocol.messages import DeviceInfo, DeviceState
from protocol.validation import Problem, convert, problem

T0 = datetime.fromisoformat("2026-05-17T00:00:00+00:00")


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _run(driver: Driver[Any], times: list[float]) -> list[tuple[DeviceState, list[DriverEvent]]]:
    driver.start()
    out = []
    for t in times:
        state = driver.poll(_at(t))
        out.append((state, driver.events()))
    driver.close()
    return out


def _config(tag: str, **keys: Any) -> DeviceConfig:
    return convert({"driver": tag, "id": f"{tag}-1", "room": "101", **keys}, REGISTRY[tag].config)


# --- the contract every driver keeps -------------------------------------------------------------


# The simulated drivers share one contract (seed, fault windows); real drivers have their own suites.
SIM_TAGS = sorted(tag for tag in REGISTRY if tag.startswith("sim-"))


@pytest.fixture(params=SIM_TAGS)
def driver(request: pytest.FixtureRequest) -> Driver[Any]:
    return create_driver(_config(request.param, fault_every_s=60.0, seed=3))


def test_info_describes_the_configured_device(driver: Driver[Any]) -> None:
    info = driver.info()
    assert isinstance(info, DeviceInfo)
    assert (info.id, info.kind, info.driver, info.room) == (driver.config.id, driver.kind, driver.config.driver, "101")


def test_poll_reports_this_device(driver: Driver[Any]) -> None:
    for state, events in _run(driver, [float(t) for t in range(0, 120, 3)]):
        assert (state.id, state.kind) == (driver.config.id, driver.kind)
        assert state.status in ("ok", "warning", "fault")
        for event in events:
            assert event.name.startswith(f"{driver.kind}.")


def test_events_are_handed_over_once(driver: Driver[Any]) -> None:
    driver.start()
    for t in range(0, 70):
        driver.poll(_at(t))
    assert driver.events(), "a fault window within 70 s must have produced events"
    assert driver.events() == []


def test_poll_before_start_is_a_driver_error(driver: Driver[Any]) -> None:
    with pytest.raises(DriverError):
        driver.poll(T0)


def test_close_is_idempotent(driver: Driver[Any]) -> None:
    driver.close()
    driver.start()
    driver.close()
    driver.close()


def test_same_seed_and_times_give_the_same_readings() -> None:
    times = [t * 2.5 for t in range(100)]
    for tag in SIM_TAGS:
        first = _run(create_driver(_config(tag, seed=11, fault_every_s=90.0)), times)
        again = _run(create_driver(_config(tag, seed=11, fault_every_s=90.0)), times)
        assert first == again, tag


def test_another_seed_gives_other_readings() -> None:
    times = [t * 5.0 for t in range(100)]
    for tag in SIM_TAGS:
        one = [s for s, _ in _run(create_driver(_config(tag, seed=1)), times)]
        two = [s for s, _ in _run(create_driver(_config(tag, seed=2)), times)]
        assert one != two, tag


# --- camera ----------------------------------------------------------------------------------------


def test_camera_readings_are_a_function_of_time() -> None:
    camera = SimCamera(SimCameraConfig(id="cam", seed=5))
    camera.start()
    a, b = camera.poll(_at(31)), camera.poll(_at(44.9))
    # Same 15-second scene slot, same readings, whatever happened in between.
    assert a == b
    assert a.status == "ok"
    assert set(a.details) == {"people", "fps", "brightness", "tamper"}
    assert isinstance(a.details["people"], int)
    assert 0 <= a.details["people"] <= 3


def test_camera_tamper_warning_then_fault_then_clear() -> None:
    camera = SimCamera(SimCameraConfig(id="cam", fault_every_s=60.0, fault_for_s=10.0))
    results = _run(camera, [2.0, 7.0, 12.0])
    (s1, e1), (s2, e2), (s3, e3) = results
    assert (s1.status, s1.details["tamper"]) == ("warning", "defocused")
    assert [(e.name, e.severity) for e in e1] == [("camera.tamper", "warning")]
    assert (s2.status, s2.details["tamper"], s2.details["people"]) == ("fault", "covered", 0)
    assert [(e.name, e.severity, e.details) for e in e2] == [("camera.tamper", "critical", {"tamper": "covered"})]
    assert (s3.status, s3.details["tamper"]) == ("ok", "none")
    assert [e.name for e in e3 if e.name.startswith("camera.tamper")] == ["camera.tamper_cleared"]
    assert all(e.at == _at(t) for (_, es), t in zip(results, [2.0, 7.0, 12.0], strict=True) for e in es)


def test_camera_without_fault_schedule_never_faults() -> None:
    camera = SimCamera(SimCameraConfig(id="cam"))
    assert {s.status for s, _ in _run(camera, [t * 7.0 for t in range(500)])} == {"ok"}


# --- ID-card reader --------------------------------------------------------------------------------


def test_reader_counts_reads_and_reports_failures() -> None:
    reader = SimIdcard(SimIdcardConfig(id="r1", seed=4))
    results = _run(reader, [t * 20.0 for t in range(200)])
    reads = [s.details["reads"] for s, _ in results]
    assert reads == sorted(reads), "the read counter never goes back"
    assert 50 < reads[-1] < 150, "about one read in two 20-second slots"
    last = results[-1][0]
    failed = last.details["failed"]
    assert isinstance(failed, int)
    assert 0 < failed < reads[-1]
    assert sum(len([e for e in es if e.name == "idcard.read_failed"]) for _, es in results) == failed
    for state, _ in results:
        assert state.status == ("warning" if state.details["last_ok"] is False else "ok")


def test_reader_sam_fault() -> None:
    reader = SimIdcard(SimIdcardConfig(id="r1", fault_every_s=100.0, fault_for_s=30.0))
    (ok, _), (bad, e_bad), (back, e_back) = _run(reader, [90.0, 110.0, 140.0])
    assert ok.status in ("ok", "warning")
    assert bad.status == "fault"
    assert bad.details["sam"] == "SAM self-test failed (SW3 60)"
    assert [e.name for e in e_bad] == ["idcard.sam_fault"]
    assert back.details["sam"] == "ok"
    assert "idcard.sam_recovered" in [e.name for e in e_back]


# --- jammer ----------------------------------------------------------------------------------------


def test_jammer_reports_one_flag_per_band() -> None:
    jammer = SimJammer(SimJammerConfig(id="j1", bands=["lte1800", "wifi24"]))
    jammer.start()
    state = jammer.poll(T0)
    assert state.status == "ok"
    assert state.details["band_lte1800"] == "on"
    assert state.details["band_wifi24"] == "on"
    assert isinstance(state.details["temp_c"], float)


def test_jammer_band_drops_out_during_a_fault() -> None:
    jammer = SimJammer(SimJammerConfig(id="j1", seed=9, fault_every_s=50.0, fault_for_s=5.0))
    (bad, e_bad), (good, e_good) = _run(jammer, [101.0, 106.0])
    off = [k.removeprefix("band_") for k, v in bad.details.items() if v == "off"]
    assert len(off) == 1
    assert bad.status == "fault"
    assert [(e.name, e.severity, e.details) for e in e_bad] == [("jammer.band_off", "critical", {"band": off[0]})]
    assert good.status == "ok"
    assert [(e.name, e.details) for e in e_good] == [("jammer.band_on", {"band": off[0]})]


def _problem(tag: str, **keys: Any) -> Problem:
    with pytest.raises(msgspec.ValidationError) as caught:
        _config(tag, **keys)
    return problem(caught.value, "devices[0]")


def test_jammer_band_names_are_checked() -> None:
    assert _problem("sim-jammer", bands=["lte1800", "lte1800"]) == Problem(
        "devices[0]", "bands must not repeat", "invalid"
    )
    assert _problem("sim-jammer", bands=["LTE1800"]).path == "devices[0].bands[0]"
    assert _problem("sim-jammer", bands=[]).path == "devices[0].bands"
    with pytest.raises(ValueError, match="bands must not repeat"):
        SimJammerConfig(id="j1", bands=["lte1800", "lte1800"])


def test_fault_window_must_fit_its_period() -> None:
    assert _problem("sim-camera", fault_every_s=5.0, fault_for_s=10.0) == Problem(
        "devices[0]", "fault_for_s (10) must be shorter than fault_every_s (5)", "invalid"
    )
    assert _problem("sim-idcard", fault_every_s=0.0).path == "devices[0].fault_every_s"
    with pytest.raises(ValueError, match="fault_for_s"):
        SimCameraConfig(id="c", fault_every_s=5.0, fault_for_s=10.0)
