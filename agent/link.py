"""The agent's connection to the broker: the only module that imports paho.

paho runs its network loop in its own thread.  The callbacks below only record what happened and
signal (``on_connected``); they never block and never raise, because a slow callback starves the
keepalive (paho #328) and an exception escaping one would tear down paho's loop.  The broker's last
will is the :class:`protocol.messages.Death` of this boot, registered before the first connect.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from agent.config import BrokerSection
from agent.errors import LinkError, NotConnected, PublishRefused, PublishTimeout
from protocol.codec import encode
from protocol.messages import Death
from protocol.topics import AgentPath, topic_for

log = logging.getLogger("sitewatch.agent.link")

P = ParamSpec("P")


@dataclass(slots=True)
class LinkCounters:
    connects: int = 0
    disconnects: int = 0
    connect_failures: int = 0
    published: int = 0
    acked: int = 0
    refused: int = 0
    received: int = 0
    callback_errors: int = 0


class PublishHandle:
    """One publish in flight; resolved by the broker's PUBACK (see :meth:`Link.wait_published`)."""

    __slots__ = ("_done", "mid", "reason", "reason_code", "topic")

    def __init__(self, topic: str, mid: int) -> None:
        self.topic = topic
        self.mid = mid
        self.reason_code: int | None = None
        self.reason = ""
        self._done = threading.Event()

    def done(self) -> bool:
        return self._done.is_set()

    def _resolve(self, code: int, reason: str) -> None:
        self.reason_code = code
        self.reason = reason
        self._done.set()


def _guarded(
    method: Callable[Concatenate[Link, P], None],
) -> Callable[Concatenate[Link, P], None]:
    @functools.wraps(method)
    def wrapper(self: Link, /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception:  # the paho thread must survive whatever a callback does
            self.counters.callback_errors += 1
            log.exception("error in MQTT callback %s", method.__name__)

    return wrapper


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Link:
    def __init__(
        self,
        broker: BrokerSection,
        path: AgentPath,
        will: Death,
        *,
        on_connected: Callable[[], None] | None = None,
        on_message: Callable[[str, bytes], None] | None = None,
        subscriptions: Sequence[str] = (),
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        if will.agent != path.agent_id:
            raise ValueError(f"will names agent {will.agent!r}, link is for {path.agent_id!r}")
        self.broker = broker
        self.path = path
        self.counters = LinkCounters()
        self._will = will
        # Settable after construction: whoever reacts to a connect is often built after the link.
        self.on_connected = on_connected
        # Hub → agent topics (acks, commands), re-subscribed on every connect; messages go to on_message.
        self.on_message = on_message
        self.subscriptions = tuple(subscriptions)
        # The retained calendar has its own topic and its own receiver (the supervisor's calendar keeper).
        self.on_calendar: Callable[[bytes], None] | None = None
        self._calendar_topic = topic_for(path, "calendar")
        # Likewise the retained roster (the exam's candidate key and this site's rosters).
        self.on_roster: Callable[[bytes], None] | None = None
        self._roster_topic = topic_for(path, "roster")
        self._now = now
        self._connected = False
        self._connections = 0
        self._closing = False
        self._failing = False
        self._lock = threading.Lock()
        self._pending: dict[int, PublishHandle] = {}
        # A PUBACK can beat publish() back to its caller; its result waits here until the handle exists.
        self._early: dict[int, tuple[int, str]] = {}
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=path.agent_id,
            protocol=mqtt.MQTTv5,
        )
        client.will_set(topic_for(path, "death"), encode(will), qos=1, retain=False)
        if broker.tls:
            # The broker takes this certificate's CN as our username and client id, and its ACL lets us
            # publish only under our own prefix; paho checks the broker's certificate against the host name.
            try:
                client.tls_set(ca_certs=broker.tls_ca, certfile=broker.tls_cert, keyfile=broker.tls_key)
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise LinkError(f"cannot use the TLS files of the broker section: {exc}") from exc
        # paho annotates the delays as int but only compares and sleeps on them, so fractions work.
        client.reconnect_delay_set(broker.reconnect_min_s, broker.reconnect_max_s)  # type: ignore[arg-type]
        client.on_connect = self._handle_connect
        client.on_connect_fail = self._handle_connect_fail
        client.on_disconnect = self._handle_disconnect
        client.on_publish = self._handle_publish
        client.on_message = self._handle_message
        self._client = client

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def connections(self) -> int:
        """How many times a connection has been established; changes on every reconnect."""
        return self._connections

    def start(self) -> None:
        """Connect in the background: returns at once, and keeps retrying with backoff while the broker is away."""
        self._client.connect_async(self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s)
        self._client.loop_start()
        log.info("connecting to %s:%d as %s", self.broker.host, self.broker.port, self.path.agent_id)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> PublishHandle:
        if not self._connected:
            raise NotConnected(f"not connected to {self.broker.host}:{self.broker.port}")
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        # NO_CONN means the link dropped just now; paho keeps a QoS ≥ 1 message and sends it on reconnect.
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN) or (
            info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos == 0
        ):
            raise LinkError(f"publish to {topic!r} failed: {mqtt.error_string(info.rc)}")
        handle = PublishHandle(topic, info.mid)
        self.counters.published += 1
        with self._lock:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._pending[info.mid] = handle
        if early is not None:
            handle._resolve(*early)
        return handle

    def wait_published(self, handle: PublishHandle, timeout: float) -> None:
        """Wait for the broker's acknowledgement of ``handle``.

        Raises :class:`PublishTimeout` if none arrives in ``timeout`` seconds and :class:`PublishRefused`
        if the broker answered with a failure reason code.
        """
        if not handle._done.wait(timeout):
            raise PublishTimeout(f"no acknowledgement for {handle.topic!r} within {timeout:g} s")
        if handle.reason_code is not None and handle.reason_code >= 0x80:
            raise PublishRefused(handle.topic, handle.reason_code, handle.reason)

    def close(self, timeout: float = 2.0) -> None:
        """Say goodbye with a "shutdown" death (so the hub sees an orderly stop), then disconnect."""
        self._closing = True
        if self._connected:
            death = msgspec.structs.replace(self._will, reason="shutdown", ts=self._now())
            try:
                self.wait_published(self.publish(topic_for(self.path, "death"), encode(death)), timeout)
            except LinkError as exc:
                log.warning("shutdown death not acknowledged: %s", exc)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected = False
        log.info("link closed")

    @_guarded
    def _handle_connect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode, props: Properties | None
    ) -> None:
        if reason.is_failure:
            self.counters.connect_failures += 1
            if not self._failing:
                self._failing = True
                log.warning("broker %s:%d refused the connection: %s", self.broker.host, self.broker.port, reason)
            return
        self._connected = True
        self._connections += 1
        self._failing = False
        self.counters.connects += 1
        log.info("connected to %s:%d", self.broker.host, self.broker.port)
        for topic in self.subscriptions:
            client.subscribe(topic, qos=1)
        if self.on_calendar is not None:
            client.subscribe(self._calendar_topic, qos=1)
        if self.on_roster is not None:
            client.subscribe(self._roster_topic, qos=1)
        if self.on_connected is not None:
            self.on_connected()

    @_guarded
    def _handle_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self.counters.connect_failures += 1
        # One line per outage, not one per retry.
        if not self._failing:
            self._failing = True
            log.warning("broker %s:%d unreachable; retrying with backoff", self.broker.host, self.broker.port)

    @_guarded
    def _handle_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        was_connected, self._connected = self._connected, False
        if not was_connected:
            return
        self.counters.disconnects += 1
        if self._closing:
            log.info("disconnected (shutdown)")
        else:
            log.warning("disconnected from %s:%d: %s; reconnecting", self.broker.host, self.broker.port, reason)

    @_guarded
    def _handle_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.counters.received += 1
        if message.topic == self._calendar_topic:
            if self.on_calendar is not None:
                self.on_calendar(bytes(message.payload))
        elif message.topic == self._roster_topic:
            if self.on_roster is not None:
                self.on_roster(bytes(message.payload))
        elif self.on_message is not None:
            self.on_message(message.topic, bytes(message.payload))

    @_guarded
    def _handle_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Properties
    ) -> None:
        code, name = int(reason.value), str(reason)
        if code >= 0x80:
            self.counters.refused += 1
        else:
            self.counters.acked += 1
        with self._lock:
            handle = self._pending.pop(mid, None)
            if handle is None:
                self._early[mid] = (code, name)
        if handle is not None:
            handle._resolve(code, name)
