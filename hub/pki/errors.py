"""The one error the PKI raises: its message says what is wrong and what to do (an operator reads it)."""

from __future__ import annotations

from hub.errors import HubError


class PkiError(HubError):
    """A certificate could not be issued, revoked or read, or a name is not one a certificate can carry."""
