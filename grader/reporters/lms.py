"""What the LMS grade files share (canvas_grades.csv, moodle_grades.csv, gradescope_scores.csv):
the assignment's column, names split as the LMSs want them, scores, and times.

A student without a submission gets an empty score: the LMS's own rule for missing work
applies. A submission that could not be graded scores what its result says (0).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import ClassVar

from grader.reporters import NO_SUBMISSION, Number, Reporter, StudentResult
from grader.reporters.grades_csv import csv_number

WHOLE_BANK = "grade batch"  # the column of a batch graded without an assignment


def assignment_column(student: StudentResult | None) -> str:
    """The assignment's name, as the LMS file's grade column."""
    return student.assignment if student is not None and student.assignment else WHOLE_BANK


def score(student: StudentResult, value: Number | None = None) -> str:
    """``value`` (default: the total) as the LMS file writes it; empty without a submission."""
    return "" if student.status == NO_SUBMISSION else csv_number(student.total if value is None else value)


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


class Gradebook(Reporter):
    """A gradebook import file written row by row as the students pass: ``COLUMNS``, then the
    assignment's column. The header waits for the first student (it carries the assignment's
    name); ``header_rows`` may add rows under it, and ``row`` gives a student's row (None: none)."""

    NAME: ClassVar[str]
    COLUMNS: ClassVar[tuple[str, ...]]

    def start(self) -> None:
        self.writer: csv.DictWriter[str] | None = None

    def header_rows(self, first: StudentResult | None) -> list[dict[str, str]]:
        return []

    def row(self, student: StudentResult) -> Mapping[str, str] | None:
        raise NotImplementedError

    def _open(self, first: StudentResult | None) -> csv.DictWriter[str]:
        self.column = assignment_column(first)
        writer = csv.DictWriter(self.out.stream(self.NAME), [*self.COLUMNS, self.column], lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.header_rows(first))
        return writer

    def add(self, student: StudentResult) -> None:
        if self.writer is None:
            self.writer = self._open(student)
        row = self.row(student)
        if row is not None:
            self.writer.writerow({**row, self.column: score(student)})

    def close(self) -> None:
        if self.writer is None:
            self._open(None)
