"""The hub config: defaults, the example file, and errors that name the file and the dotted key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import load_config
from hub.errors import HubConfigError

REPO = Path(__file__).resolve().parents[2]

MINIMAL = """
[hub]
[mqtt]
host = "127.0.0.1"
[database]
dsn = "postgresql://u@127.0.0.1/db"
"""


def write(tmp_path: Path, text: str, name: str = "hub.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_takes_defaults(tmp_path: Path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.hub.name == "jinan"
    assert (config.mqtt.port, config.mqtt.client_id, config.mqtt.keepalive_s) == (1883, "sitewatch-hub", 30)
    assert config.mqtt.session_expiry_s == 3600
    assert (config.http.host, config.http.port) == ("127.0.0.1", 8080)
    assert (config.liveness.offline_after_s, config.liveness.sweep_s) == (12.0, 1.0)
    assert config.dsn() == "postgresql://u@127.0.0.1/db"


def test_example_config_is_valid():
    config = load_config(REPO / "deploy" / "hub.example.toml")
    assert config.mqtt.host == "127.0.0.1"


def test_dsn_file_is_read_relative_to_the_config(tmp_path: Path):
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "hub.dsn").write_text("postgresql://hub:pw@db/sw\n", encoding="utf-8")
    text = MINIMAL.replace('dsn = "postgresql://u@127.0.0.1/db"', 'dsn_file = "secret/hub.dsn"')
    config = load_config(write(tmp_path, text))
    assert config.dsn() == "postgresql://hub:pw@db/sw"


@pytest.mark.parametrize(
    ("edit", "key", "reason"),
    [
        (("port = 1883", 'port = "1883"'), "mqtt.port", "Input should be a valid integer"),
        (("port = 1883", "port = 70000"), "mqtt.port", "less than or equal to 65535"),
        (("keepalive_s = 30", "keepalive_s = 30\nkeepalive = 5"), "mqtt.keepalive", "Extra inputs are not permitted"),
        (("offline_after_s = 12.0", "offline_after_s = 0.5"), "liveness.offline_after_s", "greater than or equal to 1"),
        (("offline_after_s = 12.0", "offline_after_s = 61"), "liveness.offline_after_s", "less than or equal to 60"),
        (("sweep_s = 1.0", "sweep_s = 20.0"), "liveness.sweep_s", "less than or equal to 10"),
        (('name = "jinan"', 'name = "Jinan City"'), "hub.name", "should match pattern"),
        (('host = "127.0.0.1"\nport', "port"), "mqtt.host", "Field required"),
        (("[http]", "[webb]"), "webb", "Extra inputs are not permitted"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, edit: tuple[str, str], key: str, reason: str):
    full = """[hub]
name = "jinan"
[mqtt]
host = "127.0.0.1"
port = 1883
keepalive_s = 30
[database]
dsn = "postgresql://u@127.0.0.1/db"
[http]
port = 8080
[liveness]
offline_after_s = 12.0
sweep_s = 1.0
"""
    assert edit[0] in full
    path = write(tmp_path, full.replace(edit[0], edit[1], 1))
    with pytest.raises(HubConfigError) as caught:
        load_config(path)
    err = caught.value
    assert err.file == str(path)
    assert err.key == key
    assert reason in err.reason
    assert str(err).startswith(f"{path}: {key}: ")


def test_example_error_text(tmp_path: Path):
    path = write(tmp_path, MINIMAL.replace('host = "127.0.0.1"', 'host = "127.0.0.1"\nport = "x"'))
    with pytest.raises(HubConfigError, match=r"hub\.toml: mqtt\.port: Input should be a valid integer"):
        load_config(path)


def test_missing_sections(tmp_path: Path):
    with pytest.raises(HubConfigError) as caught:
        load_config(write(tmp_path, '[mqtt]\nhost = "h"\n'))
    assert [key for key, _ in caught.value.problems] == ["hub", "database"]
    assert all(reason == "Field required" for _, reason in caught.value.problems)


def test_dsn_and_dsn_file_are_exclusive(tmp_path: Path):
    text = MINIMAL.replace('dsn = "postgresql://u@127.0.0.1/db"', 'dsn = "x"\ndsn_file = "y"')
    with pytest.raises(HubConfigError) as caught:
        load_config(write(tmp_path, text))
    assert (caught.value.key, caught.value.reason) == ("database", "give exactly one of dsn or dsn_file")


def test_unreadable_dsn_file_is_a_config_error(tmp_path: Path):
    text = MINIMAL.replace('dsn = "postgresql://u@127.0.0.1/db"', 'dsn_file = "missing.dsn"')
    with pytest.raises(HubConfigError) as caught:
        load_config(write(tmp_path, text))
    assert caught.value.key == "database.dsn_file"
    assert "missing.dsn" in caught.value.reason


def test_every_problem_is_reported(tmp_path: Path):
    text = MINIMAL.replace('host = "127.0.0.1"', 'host = "127.0.0.1"\nport = "x"\nqos = 1')
    with pytest.raises(HubConfigError) as caught:
        load_config(write(tmp_path, text))
    assert {key for key, _ in caught.value.problems} == {"mqtt.port", "mqtt.qos"}
    assert len(str(caught.value).splitlines()) == 2


def test_bad_toml_and_missing_file(tmp_path: Path):
    with pytest.raises(HubConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[mqtt\nhost="))
    with pytest.raises(HubConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")
