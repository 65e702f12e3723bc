"""Why a roster file was refused: every problem found, each with its line; never an ID number."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.errors import HubError


@dataclass(frozen=True, slots=True)
class RosterProblem:
    line: int | None
    reason: str

    def where(self, file: str) -> str:
        return f"{file}: {self.reason}" if self.line is None else f"{file}:{self.line}: {self.reason}"


class RosterError(HubError):
    """The roster file cannot be used; ``problems`` holds every problem found, in file order."""

    def __init__(self, file: str, problems: Sequence[RosterProblem]) -> None:
        self.file = file
        self.problems = tuple(sorted(problems, key=lambda p: (p.line is not None, p.line or 0)))
        super().__init__("\n".join(p.where(file) for p in self.problems))
