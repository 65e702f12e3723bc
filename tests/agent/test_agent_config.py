"""The agent config: a valid file loads, and every kind of mistake names the file and the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent.config import AgentConfig, load_config
from agent.drivers.registry import REGISTRY
from agent.drivers.sim.camera import SimCameraConfig
from agent.drivers.sim.jammer import SimJammerConfig
from agent.errors import ConfigError

WriteConfig = Callable[..., Path]


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


def test_valid_config_loads_with_defaults(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    config = load_config(write_config(agent_toml()))
    assert isinstance(config, AgentConfig)
    assert config.agent.agent_id == "jinan/s01/a1"
    assert config.broker.host == "127.0.0.1"
    assert config.broker.keepalive_s == 30
    assert (config.broker.reconnect_min_s, config.broker.reconnect_max_s) == (0.5, 30.0)
    assert [d.driver for d in config.devices] == ["sim-camera", "sim-idcard", "sim-jammer"]
    camera = config.devices[0]
    assert isinstance(camera, SimCameraConfig)
    assert (camera.seed, camera.fault_every_s, camera.room, camera.label) == (7, None, "vault", "Vault east")
    jammer = config.devices[2]
    assert isinstance(jammer, SimJammerConfig)
    assert "lte1800" in jammer.bands


def test_unknown_key_is_named(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    path = write_config(agent_toml().replace('name = "a1"', 'name = "a1"\ncolour = "red"'))
    err = _error(path)
    assert str(err) == f"{path}: agent.colour: unknown key"
    assert (err.file, err.key, err.reason) == (str(path), "agent.colour", "unknown key")


def test_unknown_key_inside_a_device_is_named_by_index(
    write_config: WriteConfig, agent_toml: Callable[..., str]
) -> None:
    path = write_config(agent_toml().replace('id = "reader-101"', 'id = "reader-101"\nbaud = 115200'))
    assert str(_error(path)) == f"{path}: devices[1].baud: unknown key"


def test_unknown_table_is_named(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    path = write_config(agent_toml() + '\n[outbound]\npath = "x"\n')
    assert str(_error(path)) == f"{path}: outbound: unknown key"


def test_wrong_type_is_not_coerced(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    path = write_config(agent_toml().replace("port = 1883", 'port = "1883"'))
    assert str(_error(path)) == f"{path}: broker.port: expected int, got str"


def test_out_of_range_value(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    path = write_config(agent_toml(heartbeat_s=0.1))
    err = _error(path)
    assert err.key == "agent.heartbeat_s"
    assert err.reason == "expected float >= 0.5"


def test_missing_broker_host(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    path = write_config(agent_toml().replace('host = "127.0.0.1"\n', ""))
    assert str(_error(path)) == f"{path}: broker.host: field required"


def test_duplicate_device_id_names_the_second_use(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    path = write_config(agent_toml().replace('id = "jammer-101"', 'id = "vault-cam-1"'))
    err = _error(path)
    assert err.key == "devices[2].id"
    assert str(err) == f"{path}: devices[2].id: duplicate device id 'vault-cam-1' (first used by devices[0].id)"


def test_toml_syntax_error_names_the_line(write_config: WriteConfig) -> None:
    path = write_config('[agent]\ncity = "jinan"\nsite = s01\n')
    err = _error(path)
    assert err.key == "line 3"
    assert str(err).startswith(f"{path}: line 3: TOML syntax error: ")


def test_unknown_driver(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    path = write_config(agent_toml().replace('driver = "sim-idcard"', 'driver = "foo"'))
    err = _error(path)
    assert err.key == "devices[1].driver"
    assert err.reason == f"unknown driver 'foo' (known: {', '.join(REGISTRY)})"
    assert "sim-camera" in err.reason


def test_missing_driver(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    path = write_config(agent_toml().replace('driver = "sim-jammer"\n', ""))
    assert _error(path).key == "devices[2].driver"


def test_driver_specific_key_is_checked_without_the_tag_in_the_key(
    write_config: WriteConfig, agent_toml: Callable[..., str]
) -> None:
    path = write_config(agent_toml().replace("seed = 7", 'seed = 7\nfault_every_s = "often"'))
    assert str(_error(path)) == f"{path}: devices[0].fault_every_s: expected float | null, got str"


def test_cross_field_rule_is_named_at_its_table(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    path = write_config(agent_toml(extra_broker="reconnect_min_s = 10.0\nreconnect_max_s = 5.0"))
    assert str(_error(path)) == f"{path}: broker: reconnect_min_s (10) must not exceed reconnect_max_s (5)"


def test_bad_slug(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    path = write_config(agent_toml(city="Jinan"))
    err = _error(path)
    assert err.key == "agent.city"
    assert err.reason.startswith("not a slug")


def test_every_problem_is_reported(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    text = agent_toml().replace("port = 1883", 'port = "x"').replace('host = "127.0.0.1"\n', "")
    path = write_config(text.replace('room = "vault"', 'room = "vault"\nzoom = 2'))
    keys = [p.key for p in _error(path).problems]
    assert keys == ["broker.host", "broker.port", "devices[0].zoom"]
    assert _error(path).report().count(f"{path}: ") == 3


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert str(_error(path)) == f"{path}: cannot read: No such file or directory"


def test_no_devices(write_config: WriteConfig) -> None:
    path = write_config('[agent]\ncity = "c"\nsite = "s"\nname = "a"\n[broker]\nhost = "h"\n')
    assert str(_error(path)) == f"{path}: devices: field required"
    path = write_config('devices = []\n[agent]\ncity = "c"\nsite = "s"\nname = "a"\n[broker]\nhost = "h"\n')
    assert str(_error(path)) == f"{path}: devices: expected 1 to 512 devices, got 0"


def test_a_trailing_newline_is_not_a_slug(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    # Python's `$` matches before a final newline; the patterns are compiled so that it does not.
    path = write_config(agent_toml().replace('name = "a1"', 'name = "a1\\n"'))
    err = _error(path)
    assert (err.key, err.reason.startswith("not a slug")) == ("agent.name", True)


def test_cross_field_rule_runs_only_on_valid_keys(write_config: WriteConfig, agent_toml: Callable[..., str]) -> None:
    text = agent_toml(extra_broker='reconnect_min_s = 10.0\nreconnect_max_s = 5.0\ntls_ca = "ca.pem"')
    path = write_config(text.replace("port = 1883", "port = 0"))
    # The bad port is reported; the ordering and TLS rules wait until the table's keys are valid.
    assert [str(p) for p in _error(path).problems] == [f"{path}: broker.port: expected int >= 1"]
    path = write_config(text)
    assert str(_error(path)) == f"{path}: broker: reconnect_min_s (10) must not exceed reconnect_max_s (5)"
