"""The notifiers against real servers on 127.0.0.1: a webhook receiver that verifies the signature, a
local SMTP server (aiosmtpd), and the sender's retry / give-up / record stages over the real outbox."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from alert_clock import at

from hub.notify import signing
from hub.notify.backoff import RetryPolicy
from hub.notify.base import Notification
from hub.notify.errors import NotifyError, SignatureError
from hub.notify.mail import EmailNotifier
from hub.notify.sender import Sender
from hub.notify.settings import EmailSection
from hub.notify.webhook import WebhookNotifier
from hub.stack.process import free_port
from hub.stats import Stats
from hub.store import Connection, alerts, notifications

KEY = b"generated-webhook-key-for-tests-0001"
ALERT = {
    "id": 7,
    "version": 2,
    "fingerprint": "jammer_off:jinan/s01/a1:jammer-101",
    "kind": "jammer_off",
    "severity": "critical",
    "city": "jinan",
    "site": "s01",
    "agent_id": "jinan/s01/a1",
    "device_id": "jammer-101",
    "summary": "jammer 101 off during the session",
    "details": {},
    "opened_at": at(0).isoformat(),
    "fired_at": at(0).isoformat(),
    "closed_at": None,
    "occurrences": 1,
    "flapping": False,
}
PAYLOAD = {"v": 1, "hub": "jinan", "role": "city", "event": "firing", "n": 1, "alert": ALERT}


def notification(key: str = "2b0e8f1e-98b9-4d59-9d59-3f1b1f0d0a01") -> Notification:
    return Notification(key=key, target="desk:hook", event="firing", payload=PAYLOAD, attempts=1)


class Receiver(BaseHTTPRequestHandler):
    """Answers with the status the test set; keeps what arrived and whether its signature verified."""

    status = 200
    received: ClassVar[list[tuple[dict[str, Any], str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            signing.verify(
                KEY,
                body,
                self.headers.get(signing.TIMESTAMP_HEADER),
                self.headers.get(signing.SIGNATURE_HEADER),
                now=time.time(),
                max_skew_s=300,
            )
            verdict = "verified"
        except SignatureError as exc:
            verdict = str(exc)
        type(self).received.append((json.loads(body), verdict))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    handler = type("R", (Receiver,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_webhook_is_signed_and_verifies(receiver: tuple[str, type[Receiver]]):
    url, handler = receiver
    receipt = WebhookNotifier("hook", url, KEY).send(notification())
    assert receipt == {"status": 200}
    ((body, verdict),) = handler.received
    assert verdict == "verified"
    assert (body["key"], body["event"], body["alert"]["fingerprint"]) == (
        notification().key,
        "firing",
        ALERT["fingerprint"],
    )


def test_a_receiver_with_another_key_refuses_it(receiver: tuple[str, type[Receiver]]):
    url, handler = receiver
    WebhookNotifier("hook", url, b"a-different-generated-key").send(notification())
    ((_, verdict),) = handler.received
    assert verdict == "the signature does not match"


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (404, False)])
def test_webhook_failures_say_whether_to_retry(receiver: tuple[str, type[Receiver]], status: int, retryable: bool):
    url, handler = receiver
    handler.status = status
    with pytest.raises(NotifyError) as caught:
        WebhookNotifier("hook", url, KEY).send(notification())
    assert caught.value.retryable is retryable


def test_an_unreachable_webhook_is_worth_retrying():
    with pytest.raises(NotifyError) as caught:
        WebhookNotifier("hook", f"http://127.0.0.1:{free_port()}/hook", KEY, timeout_s=2).send(notification())
    assert caught.value.retryable


# --- e-mail ----------------------------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse_rcpt: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_rcpt is not None:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert envelope.mail_from is not None
        assert envelope.content is not None
        content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


def mail_settings(port: int) -> EmailSection:
    return EmailSection(
        host="127.0.0.1",
        port=port,
        sender="sitewatch@generated.test",
        to=["duty-jinan@generated.test"],
        security="none",
        timeout_s=5.0,
    )


def test_email_reaches_the_smtp_server_in_chinese_and_english(smtp: tuple[int, Mailbox]):
    port, box = smtp
    receipt = EmailNotifier(mail_settings(port)).send(notification())
    assert receipt["message_id"] == f"<{notification().key}@sitewatch>"
    ((sender, to, raw),) = box.messages
    assert (sender, to) == ("sitewatch@generated.test", ["duty-jinan@generated.test"])
    msg = message_from_bytes(raw)
    subject = str(make_header(decode_header(msg["Subject"])))
    assert "告警" in subject
    assert "alert" in subject
    assert "jinan/s01" in subject
    text = msg.get_payload(decode=True)
    assert isinstance(text, bytes)
    assert "jammer 101 off during the session" in text.decode("utf-8")
    assert msg["Message-ID"] == f"<{notification().key}@sitewatch>"


@pytest.mark.parametrize(("reply", "retryable"), [("550 no such mailbox", False), ("451 try again later", True)])
def test_email_refusals_say_whether_to_retry(smtp: tuple[int, Mailbox], reply: str, retryable: bool):
    port, box = smtp
    box.refuse_rcpt = reply
    with pytest.raises(NotifyError) as caught:
        EmailNotifier(mail_settings(port)).send(notification())
    assert caught.value.retryable is retryable
    assert box.messages == []


def test_no_smtp_server_is_worth_retrying():
    with pytest.raises(NotifyError) as caught:
        EmailNotifier(mail_settings(free_port())).send(notification())
    assert caught.value.retryable


# --- the sender's stages over the real outbox -------------------------------------------------------


class Flaky:
    """Fails with the given errors in turn, then succeeds."""

    target = "desk:flaky"

    def __init__(self, *errors: NotifyError) -> None:
        self.errors = list(errors)
        self.calls: list[str] = []

    def send(self, n: Notification) -> dict[str, Any]:
        self.calls.append(n.key)
        if self.errors:
            raise self.errors.pop(0)
        return {"ok": True}


def queue_one(conn: Connection, target: str) -> int:
    alerts.open_alert(
        conn,
        fingerprint="x1",
        kind="jammer_off",
        severity="critical",
        agent_id="jinan/s01/a1",
        summary="x",
        details={},
        opened_at=at(0),
    )
    found = conn.execute("SELECT id FROM alerts").fetchone()
    assert found is not None
    conn.execute(
        "INSERT INTO notifications (dedup, alert_id, target, event, payload, created_at, due_at)"
        " VALUES ('d1', %s, %s, 'firing', '{}'::jsonb, now(), now())",
        (found[0], target),
    )
    return int(found[0])


def test_sender_retries_what_is_retryable_then_records_the_receipt(conn: Connection, alert_dsn: str):
    flaky = Flaky(NotifyError("connection refused", retryable=True))
    alert_id = queue_one(conn, flaky.target)
    sender = Sender(alert_dsn, flaky, RetryPolicy(initial_s=0.05, max_s=0.1, give_up_after_s=60), Stats(), idle_s=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            (d,) = notifications.deliveries(conn, alert_id)
            if d.delivered_at is not None:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert d.delivered_at is not None
    assert d.receipt == {"ok": True}
    assert d.attempts == 2
    assert len(set(flaky.calls)) == 1
    assert len(flaky.calls) == 2


def test_sender_gives_up_at_once_on_what_is_not_retryable(conn: Connection, alert_dsn: str):
    flaky = Flaky(NotifyError("550 no such mailbox", retryable=False))
    alert_id = queue_one(conn, flaky.target)
    sender = Sender(alert_dsn, flaky, RetryPolicy(initial_s=0.05), Stats())
    (q,) = notifications.claim(conn, flaky.target, at(0).replace(year=2100), lease_s=30)
    try:
        assert sender.deliver(q) is False
    finally:
        sender.close()
    (d,) = notifications.deliveries(conn, alert_id)
    assert d.failed_at is not None
    assert d.delivered_at is None
    assert "550" in (d.last_error or "")
    assert notifications.claim(conn, flaky.target, at(0).replace(year=2100), lease_s=30) == []


def test_secret_files_are_read_relative_to_the_config(tmp_path: Path):
    from hub.config import load_config  # noqa: PLC0415
    from hub.errors import HubConfigError  # noqa: PLC0415

    (tmp_path / "hook.key").write_text("generated-key\n")
    base = '[hub]\n[mqtt]\nhost = "127.0.0.1"\n[database]\ndsn = "postgresql://x"\n'
    hook = '[[notify.webhooks]]\nname = "desk"\nurl = "http://127.0.0.1:9/h"\nsecret_file = "hook.key"\n'
    (tmp_path / "hub.toml").write_text(base + hook)
    config = load_config(tmp_path / "hub.toml")
    assert config.notify.webhooks[0].secret_file == tmp_path / "hook.key"
    (tmp_path / "bad.toml").write_text(base + hook.replace("hook.key", "missing.key"))
    with pytest.raises(HubConfigError, match=r"notify\.webhooks\.0\.secret_file"):
        load_config(tmp_path / "bad.toml")
    (tmp_path / "half.toml").write_text(base + '[province]\nurl = "http://127.0.0.1:9"\n')
    with pytest.raises(HubConfigError, match="key_file"):
        load_config(tmp_path / "half.toml")
