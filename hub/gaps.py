"""Sequence gaps, pure: which missing runs the agent explained (thinned) and which are really missing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Range = tuple[int, int]  # inclusive


@dataclass(frozen=True, slots=True)
class Hole:
    agent_id: str
    boot: str
    first_seq: int
    last_seq: int

    @property
    def size(self) -> int:
        return self.last_seq - self.first_seq + 1

    def describe(self) -> str:
        span = str(self.first_seq) if self.size == 1 else f"{self.first_seq}–{self.last_seq}"
        return f"agent {self.agent_id}: readings {span} missing (boot {self.boot})"


def subtract(ranges: Iterable[Range], cut: Sequence[Range]) -> list[Range]:
    """``ranges`` with every number inside any ``cut`` range removed (all inclusive)."""
    out: list[Range] = []
    for lo, hi in ranges:
        pieces = [(lo, hi)]
        for c_lo, c_hi in cut:
            next_pieces = []
            for p_lo, p_hi in pieces:
                if c_hi < p_lo or c_lo > p_hi:
                    next_pieces.append((p_lo, p_hi))
                    continue
                if p_lo < c_lo:
                    next_pieces.append((p_lo, c_lo - 1))
                if c_hi < p_hi:
                    next_pieces.append((c_hi + 1, p_hi))
            pieces = next_pieces
        out.extend(pieces)
    return out


def intersect(ranges: Iterable[Range], cut: Sequence[Range]) -> list[Range]:
    """The parts of ``ranges`` that lie inside some ``cut`` range."""
    out: list[Range] = []
    for lo, hi in ranges:
        for c_lo, c_hi in cut:
            a, b = max(lo, c_lo), min(hi, c_hi)
            if a <= b:
                out.append((a, b))
    return out


def classify(holes: Iterable[Hole], thinned: dict[tuple[str, str], list[Range]]) -> tuple[list[Hole], list[Hole]]:
    """Split holes into (missing, thinned) using the agents' own thinning reports."""
    missing: list[Hole] = []
    explained: list[Hole] = []
    for hole in holes:
        cut = thinned.get((hole.agent_id, hole.boot), [])
        span = [(hole.first_seq, hole.last_seq)]
        missing += [Hole(hole.agent_id, hole.boot, lo, hi) for lo, hi in subtract(span, cut)]
        explained += [Hole(hole.agent_id, hole.boot, lo, hi) for lo, hi in intersect(span, cut)]
    return missing, explained
