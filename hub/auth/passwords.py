"""Password hashing with argon2id (the only module importing argon2), and what a password must be."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; a megabyte "password" is a denial-of-service attempt


def password_problem(password: str) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"password: at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"password: at most {MAX_LENGTH} characters"
    if password.strip() != password:
        return "password: no spaces at the start or end (they are too easy to mistype)"
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    # The stored hash uses weaker parameters than we hash with now: store a fresh one.
    needs_rehash: bool = False


class Passwords:
    """argon2id with the library's defaults (RFC 9106 low-memory profile) unless tests ask for cheaper."""

    def __init__(self, *, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        defaults = PasswordHasher()
        self._hasher = PasswordHasher(
            time_cost=defaults.time_cost if time_cost is None else time_cost,
            memory_cost=defaults.memory_cost if memory_cost is None else memory_cost,
        )
        # Verified against when the username is unknown, so a wrong name costs as long as a wrong password.
        self._decoy = self._hasher.hash("not a password of anyone")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> Verdict:
        if len(password) > MAX_LENGTH:
            return Verdict(False)
        try:
            self._hasher.verify(stored_hash or self._decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verdict(False)
        if stored_hash is None:
            return Verdict(False)
        return Verdict(True, needs_rehash=self._hasher.check_needs_rehash(stored_hash))
