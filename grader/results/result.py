"""The outcome of grading one item: status, score and feedback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.results.status import Status


@dataclass(frozen=True, init=False)
class Result:
    """What a rule says about one response.

    ``status`` is a ``Status`` (given as one or as its label). ``score`` is the fraction of
    the item's points earned, in [0, 1]. ``matched`` names what the answer was recognised as
    (a reading such as "binary", or the label of a known mistake) for item analysis.
    """

    status: Status
    score: float
    feedback: tuple[str, ...] = ()
    matched: str | None = None

    def __init__(self, status: Status | str, score: float, feedback: tuple[str, ...] = (),
                 matched: str | None = None) -> None:
        known = Status.lookup(status)
        if known is None:
            raise ValueError(f"unknown status {status!r}")
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"score {score} outside [0, 1]")
        fields = {"status": known, "score": score, "feedback": feedback, "matched": matched}
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def to_json(self, max_score: float = 1.0) -> dict[str, Any]:
        """The per-item JSON shape shared by ``check --json`` and batch results."""
        return {
            "status": self.status.label,
            "score": round(self.score * max_score, 6),
            "max_score": max_score,
            "feedback": "\n".join(self.feedback),
        }


def is_blank(response: object) -> bool:
    """No answer: None, an empty or all-space string, or an empty list."""
    return response is None or response == [] or (isinstance(response, str) and not response.strip())


def unanswered() -> Result:
    return Result("unanswered", 0.0, ("No answer given.",))


def error(message: str) -> Result:
    return Result("error", 0.0, (message,))


GRADER_FAULT = "grader"  # ``matched`` of an error that is the grader's fault, not the student's


def grader_error(message: str) -> Result:
    """An error that is the grader's fault (a bug, a missing dependency, a runner that died):
    never cached, and ``grade batch --resume`` grades the student again."""
    return Result("error", 0.0, (message,), matched=GRADER_FAULT)
