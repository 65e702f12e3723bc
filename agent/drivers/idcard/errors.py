"""Errors of the ID-card reader driver; all are :class:`agent.errors.DriverError`, so a device slot reports them.

Messages name files, ports and codes, never a card's contents: an exception text can end up in a log.
"""

from __future__ import annotations

from agent.errors import DriverError


class ReaderError(DriverError):
    """The reader or its port misbehaved."""


class PortUnavailable(ReaderError):
    """The serial port could not be opened, or it failed while open (unplugged, I/O error)."""


class ProvisioningError(DriverError):
    """The candidate key or roster file is missing or malformed."""


class CardDataError(ValueError):
    """A card's text block could not be decoded; the message says which field, never its value."""
