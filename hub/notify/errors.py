"""Notifier errors.

    HubError
     └── NotifyError           a delivery failed; ``retryable`` says whether trying again may help
          └── SignatureError   a signed request did not verify (bad key, edited body, stale timestamp)

Each notifier maps its dependency's errors (urllib, smtplib) onto these at its boundary.
"""

from __future__ import annotations

from hub.errors import HubError


class NotifyError(HubError):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class SignatureError(NotifyError):
    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)
