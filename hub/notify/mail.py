"""E-mail over SMTP (smtplib): one message per notification, in Chinese and English.

Errors: a 4xx reply, a dropped connection or a timeout is worth retrying; a 5xx reply (bad address,
refused login, message refused) is not.  The message's ``Message-ID`` is made from the idempotency key, so
a retried send after a lost answer is recognisably the same message.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from hub.notify import message
from hub.notify.base import Notification
from hub.notify.errors import NotifyError
from hub.notify.settings import EmailSection, read_secret


def _retryable_code(code: int) -> bool:
    return 400 <= code < 500


class EmailNotifier:
    target = "desk:email"

    def __init__(self, settings: EmailSection, *, tls_context: ssl.SSLContext | None = None) -> None:
        self._s = settings
        self._password = None if settings.password_file is None else read_secret(settings.password_file).decode("utf-8")
        self._tls = tls_context or ssl.create_default_context()

    def build(self, n: Notification) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = message.subject(n.payload)
        msg["From"] = self._s.sender
        msg["To"] = ", ".join(self._s.to)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<{n.key}@sitewatch>"
        msg.set_content(message.body(n.payload))
        return msg

    def send(self, n: Notification) -> dict[str, Any]:
        msg = self.build(n)
        s = self._s
        try:
            client: smtplib.SMTP
            if s.security == "tls":
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=self._tls)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            with client:
                if s.security == "starttls":
                    client.starttls(context=self._tls)
                if s.username is not None and self._password is not None:
                    client.login(s.username, self._password)
                refused = client.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise NotifyError(
                f"SMTP {s.host}: every recipient refused: {exc.recipients}",
                retryable=all(_retryable_code(c) for c in codes),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise NotifyError(
                f"SMTP {s.host}: {exc.smtp_code} {exc.smtp_error!r}", retryable=_retryable_code(exc.smtp_code)
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise NotifyError(f"SMTP {s.host}: {exc}", retryable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(f"SMTP {s.host}:{s.port}: {exc}", retryable=True) from exc
        return {"message_id": msg["Message-ID"], "refused": sorted(refused)}
