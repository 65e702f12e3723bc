"""Topic scheme ``sw/v1/<city>/<site>/<agent>/<kind>``: build and parse, no I/O.

Agent → hub kinds: birth, death, heartbeat, state, event, snapshot.  Hub → agent kinds: command, ack,
calendar (the agent's slice of the exam plan, retained on its own topic so that no command replaces it) and
roster (the exam's candidate key and the site's rooms' candidate HMACs, retained likewise; the ACL lets
only that agent read its topic, so the key reaches no other agent).
The agent's full id is ``<city>/<site>/<agent>`` and is also the identity in its TLS certificate,
so a broker ACL ``pattern write sw/v1/%u/#`` confines an agent to its own prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

from protocol.errors import TopicError

ROOT: Final = "sw"
VERSION_SEGMENT: Final = "v1"

UpKind = Literal["birth", "death", "heartbeat", "state", "event", "snapshot"]
DownKind = Literal["command", "ack", "calendar", "roster"]
Kind = Literal["birth", "death", "heartbeat", "state", "event", "snapshot", "command", "ack", "calendar", "roster"]
UP_KINDS: Final[frozenset[str]] = frozenset(get_args(UpKind))
DOWN_KINDS: Final[frozenset[str]] = frozenset(get_args(DownKind))

# Lower-case slugs keep topics, ACL patterns and certificate names free of wildcards and escapes.
SLUG_PATTERN: Final = r"[a-z0-9][a-z0-9_-]{0,31}"
_SLUG = re.compile(SLUG_PATTERN)
AGENT_ID_PATTERN: Final = rf"{SLUG_PATTERN}/{SLUG_PATTERN}/{SLUG_PATTERN}"
SITE_ID_PATTERN: Final = rf"{SLUG_PATTERN}/{SLUG_PATTERN}"


@dataclass(frozen=True, slots=True)
class AgentPath:
    city: str
    site: str
    agent: str

    def __post_init__(self) -> None:
        for part, value in (("city", self.city), ("site", self.site), ("agent", self.agent)):
            if not _SLUG.fullmatch(value):
                raise TopicError(f"{part} {value!r} is not a slug (lower-case a-z, 0-9, '-', '_', max 32)")

    @property
    def agent_id(self) -> str:
        return f"{self.city}/{self.site}/{self.agent}"

    @property
    def site_id(self) -> str:
        return f"{self.city}/{self.site}"

    @classmethod
    def from_agent_id(cls, agent_id: str) -> AgentPath:
        parts = agent_id.split("/")
        if len(parts) != 3:
            raise TopicError(f"agent id {agent_id!r} must be '<city>/<site>/<agent>'")
        return cls(parts[0], parts[1], parts[2])


@dataclass(frozen=True, slots=True)
class Topic:
    path: AgentPath
    kind: Kind

    def __str__(self) -> str:
        return f"{ROOT}/{VERSION_SEGMENT}/{self.path.agent_id}/{self.kind}"


def topic_for(path: AgentPath, kind: Kind) -> str:
    return str(Topic(path, kind))


def parse_topic(topic: str) -> Topic:
    parts = topic.split("/")
    if len(parts) != 6:
        raise TopicError(f"topic {topic!r} must have 6 levels: sw/v1/<city>/<site>/<agent>/<kind>")
    root, version, city, site, agent, kind = parts
    if root != ROOT:
        raise TopicError(f"topic {topic!r} does not start with {ROOT!r}")
    if version != VERSION_SEGMENT:
        raise TopicError(f"topic {topic!r} has version {version!r}; this build speaks {VERSION_SEGMENT!r}")
    if kind not in UP_KINDS and kind not in DOWN_KINDS:
        raise TopicError(f"topic {topic!r} has unknown kind {kind!r}")
    path = AgentPath(city, site, agent)
    return Topic(path, kind)  # type: ignore[arg-type]  # checked against the Literal above


def up_subscriptions() -> list[str]:
    """The hub's filters: one per agent → hub kind, so the hub never receives its own acks and commands."""
    return [f"{ROOT}/{VERSION_SEGMENT}/+/+/+/{kind}" for kind in sorted(UP_KINDS)]
