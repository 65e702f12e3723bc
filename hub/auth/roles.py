"""Roles, what each may do, and the city scope a signed-in person works in (rules O1–O3).

* ``city`` — a city duty officer: sees and acts on one city only;
* ``provincial`` — the provincial center: every city, acts on alerts, reads the audit log;
* ``admin`` — administrators: users and configuration, the audit log, every city read-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

from protocol.topics import SLUG_PATTERN

Role = Literal["city", "provincial", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)

Permission = Literal["read_sites", "act_on_alerts", "manage_users", "read_audit"]

PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    "city": frozenset({"read_sites", "act_on_alerts"}),
    "provincial": frozenset({"read_sites", "act_on_alerts", "read_audit"}),
    "admin": frozenset({"read_sites", "manage_users", "read_audit"}),
}

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
CITY = re.compile(SLUG_PATTERN)


def as_role(value: str) -> Role | None:
    return next((r for r in ROLES if r == value), None)


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in person, as every request handler sees them."""

    user_id: int
    username: str
    display_name: str
    role: Role
    city: str | None

    @property
    def scope(self) -> str | None:
        """The one city this person is confined to, or None for every city."""
        return self.city if self.role == "city" else None

    def sees(self, city: str) -> bool:
        return self.scope is None or self.scope == city

    def may(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]


def check_user_fields(username: str, role: str, city: str | None) -> str | None:
    """None when a user with these fields may exist, else the reason (for the CLI and the admin page)."""
    if not USERNAME.fullmatch(username):
        return "username: 2–64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    if as_role(role) is None:
        return f"role: one of {', '.join(ROLES)}"
    if role == "city":
        if city is None or not CITY.fullmatch(city):
            return "city: a city duty officer needs the city's slug (as in agent ids, e.g. jinan)"
    elif city is not None:
        return f"city: only a city duty officer belongs to one city, not a {role} user"
    return None
