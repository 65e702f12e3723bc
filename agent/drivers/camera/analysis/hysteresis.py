"""A boolean condition that must hold for a while before it counts, and be gone for a while before it clears."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Flip:
    """The state turned ``on`` (or off) at ``t``; ``since`` is when the condition began (or ended)."""

    on: bool
    t: float
    since: float


class Hysteresis:
    def __init__(self, on_after_s: float, off_after_s: float) -> None:
        self.on_after_s = on_after_s
        self.off_after_s = off_after_s
        self.on = False
        self._streak_since: float | None = None

    def update(self, t: float, condition: bool, since: float | None = None) -> Flip | None:
        """Feed one observation at ``t``; ``since`` says when the condition really began, if known earlier
        than ``t`` (a frozen picture began at the last change, not at the first repeat seen)."""
        if condition != self.on:
            if self._streak_since is None:
                self._streak_since = t if since is None else min(since, t)
            wait = self.off_after_s if self.on else self.on_after_s
            if t - self._streak_since >= wait:
                self.on = condition
                began, self._streak_since = self._streak_since, None
                return Flip(condition, t, began)
        else:
            self._streak_since = None
        return None

    def reset(self) -> None:
        self.on = False
        self._streak_since = None
