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

from grader.reporters import StudentResult, reporter
from grader.reporters.grades_csv import csv_number
from grader.reporters.lms import Gradebook

NAME = "canvas_grades.csv"
COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


@reporter(NAME)
class CanvasGrades(Gradebook):
    """Canvas's columns, and a second row with the assignment's points."""

    NAME, COLUMNS = NAME, COLUMNS

    def header_rows(self, first: StudentResult | None) -> list[dict[str, str]]:
        return [{"Student": "Points Possible", self.column: csv_number(first.max_total) if first else ""}]

    def row(self, s: StudentResult) -> dict[str, str]:
        who = s.identity
        return {"Student": who.get("name") or s.student, "ID": who.get("lms_id", ""),
                "SIS User ID": who.get("sis_id", ""), "SIS Login ID": who.get("login", ""),
                "Section": who.get("section", "")}
