"""``Stack``: both services behind one object, for the CLI and the test fixtures."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from hub.stack.errors import StackError
from hub.stack.mosquitto import Mosquitto
from hub.stack.postgres import Postgres
from hub.stack.settings import StackInfo, StackSettings

_RECORD = "stack.json"


def recorded_settings(state_dir: Path) -> dict[str, object]:
    """The host and ports of the last ``up`` in ``state_dir``, so ``status``/``down`` need no flags."""
    try:
        loaded = json.loads((state_dir / _RECORD).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


class Stack:
    """A Mosquitto and a PostgreSQL whose files and PIDs live under ``settings.state_dir``."""

    def __init__(self, settings: StackSettings) -> None:
        # The servers run in other directories than ours, so every path they are given must be absolute.
        pki_dir = None if settings.pki_dir is None else settings.pki_dir.absolute()
        self.settings = settings = replace(settings, state_dir=settings.state_dir.absolute(), pki_dir=pki_dir)
        self._mqtt = Mosquitto(settings)
        self._pg = Postgres(settings)

    @property
    def info(self) -> StackInfo:
        """Where to connect; valid once ``up`` has run in this state directory."""
        s = self.settings
        tls = s.mqtt_tls_port is not None
        return StackInfo(
            mqtt_host=s.host,
            mqtt_port=s.mqtt_port,
            dsn=self._pg.dsn(),
            mqtt_tls_port=s.mqtt_tls_port,
            pki_dir=s.pki_root if tls else None,
        )

    def up(self) -> StackInfo:
        s = self.settings
        s.state_dir.mkdir(parents=True, exist_ok=True)
        self._mqtt.start()
        self._pg.start()
        record = {"host": s.host, "mqtt_port": s.mqtt_port, "pg_port": s.pg_port, "mqtt_tls_port": s.mqtt_tls_port}
        (s.state_dir / _RECORD).write_text(json.dumps(record) + "\n", encoding="utf-8")
        return self.info

    def down(self) -> None:
        errors: list[str] = []
        for stop in (self._mqtt.stop, self._pg.stop):
            try:
                stop()
            except StackError as exc:
                errors.append(str(exc))
        if errors:
            raise StackError("\n".join(errors))

    def destroy(self) -> None:
        """``down``, then delete everything the stack created, including a cluster moved to /var/tmp.

        The PKI stays: certificates issued from it may be installed at agents.
        """
        self.down()
        layout = self._pg.layout()
        if layout.relocated:
            shutil.rmtree(layout.home, ignore_errors=True)
        for name in ("mosquitto", "pg"):
            shutil.rmtree(self.settings.state_dir / name, ignore_errors=True)
        (self.settings.state_dir / _RECORD).unlink(missing_ok=True)

    def is_running(self) -> bool:
        """True if both services are up (so whoever calls ``up`` next did not start them)."""
        return self._mqtt.pid() is not None and self._pg.pid() is not None

    def status(self) -> dict[str, object]:
        s = self.settings
        services = {"mosquitto": (self._mqtt.pid(), s.mqtt_port), "postgres": (self._pg.pid(), s.pg_port)}
        return {name: {"running": pid is not None, "pid": pid, "port": port} for name, (pid, port) in services.items()}

    def stop_mqtt(self) -> None:
        self._mqtt.stop()

    def start_mqtt(self) -> None:
        self._mqtt.start()

    def stop_postgres(self) -> None:
        self._pg.stop()

    def start_postgres(self) -> None:
        self._pg.start()

    def admin_dsn(self, dbname: str = "postgres") -> str:
        return self._pg.dsn(dbname)
