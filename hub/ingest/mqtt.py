"""The hub's MQTT side: the only module that imports paho.

A persistent MQTT v5 session (``clean_start=False`` plus a Session Expiry Interval) makes the broker
queue QoS 1 messages while the hub is down.  ``manual_ack`` lets the writer ack only after the commit.
``on_message`` does nothing but enqueue: a slow callback starves paho's keepalive (paho #328) and a
raising one is never acked and redelivered forever (paho #867).

Receive Maximum asks the broker to cap how many unacked messages it sends us at once.  Measured under a
100-agent replay (bench/ingest.py), Mosquitto 2.0.11 still pushed far more than that, and a message
refused for a full queue is not acked, so it waits until the next session resume: the queue is therefore
sized well past the cap (its depth is the ``queue_depth`` gauge in /healthz) and a full queue is an
error in the log, not a routine event.  A broker that honours the cap can never fill it (1,000 unacked
against 100,000 places), so refusals — and the stale in-flight copies they leave at the broker — happen
only with one that does not, where those copies hold no window open; the agents' outboxes send the
refused records again (unconfirmed for 30 s).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from hub.config import MqttSection
from hub.errors import IngestError
from hub.gaps import Hole
from hub.ingest.inbound import Inbound
from hub.stats import Stats
from protocol.codec import encode
from protocol.messages import Ack, Command
from protocol.topics import AgentPath, topic_for, up_subscriptions

log = logging.getLogger("sitewatch.hub.ingest")

# The down kinds a pusher retains per agent (hub/agent_push.py).
RetainedKind = Literal["calendar", "roster"]

RECEIVE_MAXIMUM = 1000
QUEUE_SIZE = 100 * RECEIVE_MAXIMUM
# A shared-subscription member's session expiry, unless the config sets one.  Mosquitto keeps handing a
# disconnected member with a live session its share of the group's messages (eclipse-mosquitto #1747,
# #2662), so a killed member's share would otherwise wait at the broker for the single-hub default
# (3,600 s).  Two minutes covers a restart or a redeploy of that member; past that nothing is lost: the
# agents re-send whatever stays unconfirmed (after 30 s, backing off to 240 s) and the members still
# connected store it.
SHARED_MEMBER_SESSION_EXPIRY_S = 120


def session_expiry_s(config: MqttSection) -> int:
    """The Session Expiry Interval this hub asks for: the config's, or a short one for a group member."""
    if config.shared_group is not None and "session_expiry_s" not in config.model_fields_set:
        return SHARED_MEMBER_SESSION_EXPIRY_S
    return config.session_expiry_s


def new_inbox() -> queue.Queue[Inbound]:
    return queue.Queue(maxsize=QUEUE_SIZE)


class MqttIngest:
    def __init__(
        self, config: MqttSection, inbox: queue.Queue[Inbound], stats: Stats, subscription: str | None = None
    ) -> None:
        self._config = config
        self._inbox = inbox
        self._stats = stats
        # One filter per agent → hub kind rather than one wildcard: the hubs' own acks and commands to
        # agents then never come back to them (a shared subscription cannot use no-local).
        self._subscriptions = [subscription] if subscription else up_subscriptions()
        if config.shared_group is not None:
            # The broker hands each message to one member of the group; retained messages are not sent
            # to shared subscriptions, which is fine: liveness lives in the database, not in memory.
            self._subscriptions = [f"$share/{config.shared_group}/{f}" for f in self._subscriptions]
        self._lock = threading.Lock()
        self._was_connected = False
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        if config.tls_ca is not None:
            try:
                self._client.tls_set(
                    ca_certs=str(config.tls_ca), certfile=str(config.tls_cert), keyfile=str(config.tls_key)
                )
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise IngestError(f"cannot use the MQTT TLS files: {exc}") from exc
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def start(self) -> None:
        """Connect in the background; paho's thread keeps reconnecting until :meth:`stop`."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves __init__ unannotated
        props.SessionExpiryInterval = session_expiry_s(self._config)
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        try:
            self._client.connect_async(
                self._config.host, self._config.port, self._config.keepalive_s, clean_start=False, properties=props
            )
        except (OSError, ValueError) as exc:
            where = f"{self._config.host}:{self._config.port}"
            raise IngestError(f"cannot set up the MQTT connection to {where}: {exc}") from exc
        if self._client.loop_start() != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise IngestError("the MQTT network thread is already running")

    def ack(self, mid: int, qos: int) -> None:
        """Acknowledge a stored message (thread-safe: paho queues the packet for its own thread)."""
        if qos == 0:
            return
        rc = self._client.ack(mid, qos)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            # Disconnected: the broker redelivers on resume and the store ignores the duplicate.
            log.debug("ack of mid %d not sent (%s)", mid, paho.error_string(rc))

    def confirm(self, agent_id: str, boot: str, ranges: list[tuple[int, int]]) -> None:
        """Tell an agent which of its messages are committed (thread-safe; QoS 1, queued while offline).

        Losing one is harmless: the agent publishes the records again and the hub confirms the duplicates.
        """
        ack = Ack(boot=boot, ranges=ranges, ts=datetime.now(UTC))
        topic = topic_for(AgentPath.from_agent_id(agent_id), "ack")
        info = self._client.publish(topic, encode(ack), qos=1)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self._stats.add("confirm_failures")
            log.debug("confirmation to %s not queued (%s)", agent_id, paho.error_string(info.rc))

    def request_resend(self, hole: Hole) -> None:
        """Ask an agent to publish again what it still holds unconfirmed (it replays its whole outbox)."""
        now = datetime.now(UTC)
        command = Command(
            id=f"resend-{hole.boot[:8]}-{hole.first_seq}-{int(now.timestamp())}",
            name="resend",
            args={"boot": hole.boot, "from": hole.first_seq, "to": hole.last_seq},
            ts=now,
        )
        topic = topic_for(AgentPath.from_agent_id(hole.agent_id), "command")
        info = self._client.publish(topic, encode(command), qos=1)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self._stats.add("command_failures")

    def publish_retained(self, agent_id: str, kind: RetainedKind, payload: bytes) -> bool:
        """Retain an agent's ``calendar`` or ``roster`` (it holds the exam key) on its own topic, which only
        that agent may read (thread-safe); False when not queued, to be tried again.

        Not queued while disconnected: the pusher tries every tick, and paho would keep each attempt.
        """
        if not self._client.is_connected():
            return False
        topic = topic_for(AgentPath.from_agent_id(agent_id), kind)
        info = self._client.publish(topic, payload, qos=1, retain=True)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._stats.add(f"{kind}_failures")
            return False
        return True

    def retained_publisher(self, kind: RetainedKind) -> Callable[[str, bytes], bool]:
        """:meth:`publish_retained` for one kind: what a pusher (hub/agent_push.py) takes."""
        return lambda agent_id, payload: self.publish_retained(agent_id, kind, payload)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._stats.set_mqtt_connected(False)

    # --- paho callbacks: never raise, never block -------------------------------------------------

    def _on_connect(
        self, client: paho.Client, _userdata: Any, flags: paho.ConnectFlags, rc: ReasonCode, _props: Properties | None
    ) -> None:
        if rc.is_failure:
            log.error("MQTT broker %s:%d refused the connection: %s", self._config.host, self._config.port, rc)
            return
        # Subscribing again on a resumed session is harmless and covers a session the broker expired.
        # Retained messages (agents keep their birth retained) only for a new subscription: a hub that
        # merely reconnects already has them, and replaying them each time would only add noise.
        # No-local keeps our own acks and commands from coming back to us; MQTT forbids it on shared
        # subscriptions, where the writer drops them instead.
        options = SubscribeOptions(
            qos=1,
            noLocal=self._config.shared_group is None,
            retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB,
        )
        client.subscribe([(f, options) for f in self._subscriptions])
        self._stats.set_mqtt_connected(True)
        with self._lock:
            again = self._was_connected
            self._was_connected = True
        log.info(
            "MQTT %s to %s:%d as %s (session resumed: %s)",
            "reconnected" if again else "connected",
            self._config.host,
            self._config.port,
            self._config.client_id,
            flags.session_present,
        )

    def _on_disconnect(
        self,
        _client: paho.Client,
        _userdata: Any,
        _flags: paho.DisconnectFlags,
        rc: ReasonCode,
        _props: Properties | None,
    ) -> None:
        self._stats.set_mqtt_connected(False)
        if rc.is_failure:
            log.warning("MQTT connection lost (%s); reconnecting", rc)

    def _on_subscribe(
        self, _client: paho.Client, _userdata: Any, _mid: int, codes: list[ReasonCode], _props: Properties | None
    ) -> None:
        for code in codes:
            if code.is_failure:
                log.error("MQTT broker refused one of our subscriptions %s: %s", self._subscriptions, code)

    def _on_message(self, _client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            self._stats.add("received")
            inbound = Inbound(
                self._topic(msg), bytes(msg.payload), msg.mid, msg.qos, datetime.now(UTC), retained=bool(msg.retain)
            )
            self._inbox.put_nowait(inbound)
        except queue.Full:
            # Not acked, so not lost: the broker holds it until our session resumes. Logged once; counted always.
            if not self._stats.count("not_acked_queue_full"):
                log.error("ingest queue full (%d): messages wait at the broker until the session resumes", QUEUE_SIZE)  # noqa: TRY400  # no traceback to add
            self._stats.add("not_acked_queue_full")
        except Exception:
            log.exception("dropping an MQTT message the callback could not handle")
            self._stats.add("callback_errors")

    @staticmethod
    def _topic(msg: paho.MQTTMessage) -> str:
        try:
            return msg.topic
        except UnicodeDecodeError:
            # Brokers reject non-UTF-8 topics; keep something readable for quarantine if one slips through.
            return repr(bytes(msg._topic))  # paho exposes the raw topic only privately
