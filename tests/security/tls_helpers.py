"""A Mosquitto with the TLS listener, started by the stack's own code, and paho clients that report what
the broker did with them (connected, refused, which PUBACK reason)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from hub.pki.authority import Bundle, Pki
from hub.stack.mosquitto import Mosquitto, log_path
from hub.stack.process import free_port
from hub.stack.settings import StackSettings

HOST = "127.0.0.1"
TIMEOUT_S = 10.0


@dataclass
class TlsBroker:
    settings: StackSettings
    mosquitto: Mosquitto
    pki: Pki

    @property
    def tls_port(self) -> int:
        assert self.settings.mqtt_tls_port is not None
        return self.settings.mqtt_tls_port

    @property
    def plain_port(self) -> int:
        return self.settings.mqtt_port

    def log(self) -> str:
        return log_path(self.settings).read_text(encoding="utf-8", errors="replace")


@contextmanager
def running_tls_broker(state_dir: Path) -> Iterator[TlsBroker]:
    settings = StackSettings(state_dir=state_dir, mqtt_port=free_port(), mqtt_tls_port=free_port())
    broker = Mosquitto(settings)
    try:
        broker.start()
        yield TlsBroker(settings, broker, Pki(settings.pki_root))
    finally:
        broker.stop()


class Client:
    """One paho client; ``outcome()`` waits for the broker's verdict on the connection."""

    def __init__(
        self,
        port: int,
        *,
        ca: Path | None,
        bundle: Bundle | None = None,
        client_id: str = "",
        tls: bool = True,
    ) -> None:
        self.events: queue.Queue[str] = queue.Queue()
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.pubacks: dict[int, int] = {}
        self.disconnected = threading.Event()
        self._acked = threading.Condition()
        # No retries: a refused client would only repeat its handshake, and paho leaks the socket of every
        # handshake that fails inside it (paho closes sockets only when they are garbage collected).
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5, reconnect_on_failure=False
        )
        if tls:
            cert = None if bundle is None else str(bundle.cert)
            key = None if bundle is None else str(bundle.key)
            client.tls_set(ca_certs=None if ca is None else str(ca), certfile=cert, keyfile=key)
        client.on_connect = self._on_connect
        client.on_connect_fail = lambda *_: self.events.put("refused")
        client.on_disconnect = self._on_disconnect
        client.on_message = lambda _c, _u, m: self.messages.put(m)
        client.on_publish = self._on_publish
        client.on_subscribe = lambda *_: self.events.put("subscribed")
        self.client = client
        try:
            client.connect(HOST, port, keepalive=10)
        except OSError:
            self.events.put("refused")
        else:
            client.loop_start()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.events.put("refused" if rc.is_failure else "connected")

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, _rc: Any, _p: Any) -> None:
        self.disconnected.set()
        self.events.put("refused")

    def _on_publish(self, _c: Any, _u: Any, mid: int, rc: Any, _p: Any) -> None:
        with self._acked:
            self.pubacks[mid] = int(rc.value)
            self._acked.notify_all()

    def outcome(self) -> str:
        """ "connected" or "refused": the first verdict (a TLS alert arrives as a disconnect)."""
        return self.events.get(timeout=TIMEOUT_S)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        assert self.events.get(timeout=TIMEOUT_S) == "subscribed"

    def publish(self, topic: str, payload: bytes) -> int:
        """The broker's PUBACK reason code for a QoS 1 publish."""
        info = self.client.publish(topic, payload, qos=1)
        with self._acked:
            if not self._acked.wait_for(lambda: info.mid in self.pubacks, TIMEOUT_S):
                raise AssertionError(f"no PUBACK for {topic} within {TIMEOUT_S} s")
            return self.pubacks[info.mid]

    def next_message(self) -> paho.MQTTMessage:
        return self.messages.get(timeout=TIMEOUT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        # paho closes its wake-up socket pair in __del__: drop the callbacks, which refer back to this
        # object, so the client is freed as soon as this object is rather than by a later cycle collection.
        for name in ("on_connect", "on_connect_fail", "on_disconnect", "on_message", "on_publish", "on_subscribe"):
            setattr(self.client, name, None)


@contextmanager
def clients() -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def make(port: int, **kwargs: Any) -> Client:
        made.append(Client(port, **kwargs))
        return made[-1]

    try:
        yield make
    finally:
        for c in made:
            c.close()


def until(predicate: Callable[[], bool], what: str, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.02)
