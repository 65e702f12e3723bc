"""The agent's exception tree.

    AgentError
     ├── ConfigError         the config file is unreadable or invalid: names the file, the key and the reason
     ├── DriverError         a device driver failed; the supervisor reports the device as "fault" and goes on
     └── LinkError           the broker link could not deliver a message
          ├── NotConnected   there is no connection to publish on (retry after the next connect)
          ├── PublishTimeout the broker did not acknowledge in time (the message may still arrive)
          └── PublishRefused the broker answered a publish with a reason code ≥ 0x80 (e.g. 135, not
                             authorised): a hard error, never retried, because resending cannot succeed

Errors from dependencies (paho, msgspec, tomllib) are mapped to these at the module that owns the
dependency, with the original kept as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a config file; ``key`` is a dotted path such as ``devices[2].id``."""

    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}" if self.key else f"{self.file}: {self.reason}"


class ConfigError(AgentError):
    """The config file cannot be used.

    ``str(err)`` is the first problem (``FILE: KEY: reason``); ``problems`` holds every one found, so
    ``check-config`` can report them all in one run instead of one per edit.
    """

    def __init__(self, file: str, key: str, reason: str, more: Sequence[ConfigProblem] = ()) -> None:
        first = ConfigProblem(file, key, reason)
        super().__init__(str(first))
        self.file = file
        self.key = key
        self.reason = reason
        self.problems: tuple[ConfigProblem, ...] = (first, *more)

    @classmethod
    def from_problems(cls, problems: Sequence[ConfigProblem]) -> ConfigError:
        first, *rest = problems
        return cls(first.file, first.key, first.reason, rest)

    def report(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class DriverError(AgentError):
    """A driver could not start, read or close its device."""


class LinkError(AgentError):
    """The link to the broker could not deliver a message."""


class NotConnected(LinkError):
    """Publishing was attempted while the link is down."""


class PublishTimeout(LinkError):
    """No PUBACK arrived within the time allowed."""


class PublishRefused(LinkError):
    """The broker refused a publish (PUBACK reason code ≥ 0x80)."""

    def __init__(self, topic: str, reason_code: int, reason: str) -> None:
        super().__init__(f"broker refused publish to {topic!r}: reason code {reason_code} ({reason})")
        self.topic = topic
        self.reason_code = reason_code
        self.reason = reason
