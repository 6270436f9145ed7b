"""The typed result of checking one workspace: each item's outcome, in manifest order, with
the coaching a practice workspace adds, and the report's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.model.entry import ManifestItem
from grader.results.result import Result


@dataclass(frozen=True)
class ItemOutcome:
    """One item's result in a check, with the coaching a practice workspace adds."""

    entry: ManifestItem
    result: Result
    hint: str | None = None
    derivation: str | None = None
    newly_correct: bool = False

    @property
    def earned(self) -> float:
        return round(self.result.score * self.entry.points, 6)

    def feedback_lines(self) -> tuple[str, ...]:
        lines = list(self.result.feedback)
        if self.hint:
            lines.append(self.hint)
        if self.derivation:
            lines.append(f"Worked solution: {self.derivation}")
        return tuple(lines)

    def to_json(self) -> dict[str, Any]:
        out = self.result.to_json(self.entry.points)
        out["feedback"] = "\n".join(self.feedback_lines())
        return out


@dataclass
class CheckReport:
    """Every checked item's outcome, in manifest order, and warnings about the files."""

    mode: str
    outcomes: list[ItemOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    titles: dict[int, str] = field(default_factory=dict)  # chapter titles, when the bank was loaded
    due: str | None = None  # the assignment's due date, when grade.yaml records one

    @property
    def total(self) -> float:
        return round(sum(o.earned for o in self.outcomes), 6)

    @property
    def max_total(self) -> float:
        return round(sum(o.entry.points for o in self.outcomes), 6)

    def by_chapter(self) -> dict[int, list[ItemOutcome]]:
        out: dict[int, list[ItemOutcome]] = {}
        for o in self.outcomes:
            out.setdefault(o.entry.chapter, []).append(o)
        return out

    def to_json(self) -> dict[str, Any]:
        """``{total, max_total, items: {ID: {status, score, max_score, feedback}}}`` plus
        ``mode``, per-chapter totals and ``warnings``."""
        chapters = {str(ch): {"total": round(sum(o.earned for o in outs), 6),
                              "max_total": round(sum(o.entry.points for o in outs), 6)}
                    for ch, outs in self.by_chapter().items()}
        return {"total": self.total, "max_total": self.max_total,
                "items": {o.entry.id: o.to_json() for o in self.outcomes},
                "mode": self.mode, "chapters": chapters, "warnings": list(self.warnings)}
