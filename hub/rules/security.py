"""Security rule: a message whose payload names another agent than its topic is a forgery attempt.

On the TLS listener the broker lets an agent publish only under its own topic prefix (the ACL keys on
its certificate's CN), so the topic says who really sent a message. ``protocol.codec.decode_up`` already
quarantines a payload that disagrees with its topic (code ``identity_mismatch``); this rule says what the
duty desk is told about it:

    security.identity_mismatch  critical  the payload claims another agent: a compromised or
                                          misconfigured site is speaking for someone else
                                warning   same agent, but the payload's type is not its topic's kind:
                                          a faulty agent, not a forgery

The fingerprint is per sending agent and severity, so a flood of forgeries opens one alert, not one per
message, while a forgery after a mere type mix-up still opens a critical one. It stays open until someone
closes it: nothing the agent sends later proves it is clean again.

Pure: quarantined fields in, a decision out. Only values the decoder already validated (agent ids, message
types) reach the summary; the rest of the payload stays in quarantine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from protocol.errors import IdentityMismatch, TopicError
from protocol.messages import Scalar, Severity
from protocol.topics import AGENT_ID_PATTERN, UP_KINDS, parse_topic

KIND: Final = "security.identity_mismatch"

_AGENT_ID = re.compile(AGENT_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class SecurityAlert:
    """An alert to open; the fields are ``hub.store.alerts.open_alert``'s keyword arguments."""

    fingerprint: str
    kind: str
    severity: Severity
    agent_id: str  # the sender as the broker authenticated it: the topic's agent
    summary: str
    opened_at: datetime
    details: dict[str, Scalar] = field(default_factory=dict)


def fingerprint(agent_id: str, severity: Severity) -> str:
    return f"{KIND}:{agent_id}:{severity}"


def identity_alert(topic: str, payload: bytes, code: str, received_at: datetime) -> SecurityAlert | None:
    """The alert for one quarantined message, or None when it is not an identity mismatch."""
    if code != IdentityMismatch.code:
        return None
    try:
        sender = parse_topic(topic)
    except TopicError:
        return None  # decode_up checks the topic first, so this is not its identity_mismatch
    claimed_agent, claimed_type = _claims(payload)
    agent_id = sender.path.agent_id
    details: dict[str, Scalar] = {
        "topic": topic,
        "claimed_agent": claimed_agent,
        "claimed_type": claimed_type,
        "topic_kind": sender.kind,
    }
    if claimed_agent == agent_id:
        summary = f"Agent {agent_id} sent a {claimed_type or 'malformed'} message on its {sender.kind} topic"
        severity: Severity = "warning"
    else:
        claim = claimed_agent or "an invalid agent id"
        summary = f"Agent {agent_id} sent a message claiming to be {claim}; quarantined"
        severity = "critical"
    return SecurityAlert(fingerprint(agent_id, severity), KIND, severity, agent_id, summary, received_at, details)


def _claims(payload: bytes) -> tuple[str | None, str | None]:
    """The payload's ``agent`` and ``type``, each only if it is a well-formed value."""
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(obj, dict):
        return None, None
    agent, kind = obj.get("agent"), obj.get("type")
    return (
        agent if isinstance(agent, str) and _AGENT_ID.fullmatch(agent) else None,
        kind if isinstance(kind, str) and kind in UP_KINDS else None,
    )
