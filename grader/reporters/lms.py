"""What the LMS grade files share (canvas_grades.csv, moodle_grades.csv, gradescope_scores.csv):
the assignment's column, names split as the LMSs want them, scores, and times.

A student without a submission gets an empty score: the LMS's own rule for missing work
applies. A submission that could not be graded scores what its result says (0).
"""

from __future__ import annotations

from datetime import datetime, timezone

from grader.reporters import NO_SUBMISSION, Number, StudentResult
from grader.reporters.grades_csv import _num

WHOLE_BANK = "grade batch"  # the column of a batch graded without an assignment


def assignment_column(student: StudentResult | None) -> str:
    """The assignment's name, as the LMS file's grade column."""
    return student.assignment if student is not None and student.assignment else WHOLE_BANK


def score(student: StudentResult, value: Number | None = None) -> str:
    """``value`` (default: the total) as the LMS file writes it; empty without a submission."""
    return "" if student.status == NO_SUBMISSION else _num(student.total if value is None else value)


def first_last(name: str) -> tuple[str, str]:
    """("Alice", "Smith") from "Alice Smith" or "Smith, Alice"; a single word is a first name."""
    if "," in name:
        last, first = (part.strip() for part in name.split(",", 1))
        return first, last
    words = name.split()
    return (" ".join(words[:-1]), words[-1]) if len(words) > 1 else (name.strip(), "")


def moment(text: str | None) -> datetime | None:
    """An ISO 8601 time (UTC where it names no zone), or None."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T")) if text else None
    except ValueError:
        return None
    return when.replace(tzinfo=timezone.utc) if when is not None and when.tzinfo is None else when
