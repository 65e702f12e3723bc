"""Why a calendar file was refused: every problem found, each with the line it is on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.errors import HubError


@dataclass(frozen=True, slots=True)
class CalendarProblem:
    """One thing wrong with a calendar file; ``key`` is a dotted path such as ``sessions[2].end``."""

    line: int | None
    key: str
    reason: str

    def where(self, file: str) -> str:
        place = file if self.line is None else f"{file}:{self.line}"
        return f"{place}: {self.key}: {self.reason}" if self.key else f"{place}: {self.reason}"


class CalendarError(HubError):
    """The calendar file cannot be used; ``problems`` holds every problem found, in file order."""

    def __init__(self, file: str, problems: Sequence[CalendarProblem]) -> None:
        self.file = file
        self.problems = tuple(sorted(problems, key=lambda p: (p.line is not None, p.line or 0)))
        super().__init__("\n".join(p.where(file) for p in self.problems))
