"""canvas_grades.csv: the assignment's totals, for Canvas's gradebook import (Grades > Import).

The columns are those Canvas's importer reads (instructure/canvas-lms,
app/models/gradebook_importer.rb; Canvas guide "How do I import grades in the Gradebook?"):
``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per assignment, and a
second row that starts ``Points Possible`` with the assignment's points under its column.
Canvas finds each student by ID (its user id: the roster's ``lms_id``), then SIS User ID
(``sis_id``), then SIS Login ID (``login``), then by name. A column header that names no
assignment creates one with that name ("Title (Canvas assignment id)" updates that one).
"""

from __future__ import annotations

import csv

from grader.reporters import Reporter, StudentResult, reporter
from grader.reporters.grades_csv import _num
from grader.reporters.lms import assignment_column, score

NAME = "canvas_grades.csv"
COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


@reporter(NAME)
class CanvasGrades(Reporter):
    """Written row by row as the students pass; the header waits for the first student (it
    carries the assignment's name and points)."""

    def start(self) -> None:
        self.writer: csv.DictWriter[str] | None = None

    def _open(self, first: StudentResult | None) -> csv.DictWriter[str]:
        self.column = assignment_column(first)
        writer = csv.DictWriter(self.out.stream(NAME), [*COLUMNS, self.column], lineterminator="\n")
        writer.writeheader()
        writer.writerow({"Student": "Points Possible", self.column: _num(first.max_total) if first else ""})
        return writer

    def add(self, s: StudentResult) -> None:
        if self.writer is None:
            self.writer = self._open(s)
        who = s.identity
        self.writer.writerow({"Student": who.get("name") or s.student, "ID": who.get("lms_id", ""),
                              "SIS User ID": who.get("sis_id", ""), "SIS Login ID": who.get("login", ""),
                              "Section": who.get("section", ""), self.column: score(s)})

    def close(self) -> None:
        if self.writer is None:
            self._open(None)
