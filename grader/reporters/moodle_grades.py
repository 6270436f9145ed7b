"""moodle_grades.csv: the assignment's totals, for Moodle's CSV grade import (Gradebook setup >
Import > CSV file).

Moodle reads a header row and lets the teacher map one column to the user and the others to
grade items (docs.moodle.org "Grade import"; moodle/moodle grade/import/csv/classes/load_data.php,
which finds the user by id, ID number, email address or username). The columns follow Moodle's
own plain-text export: ``First name, Last name, ID number, Email address``, then the
assignment's grade. Map "Email address" to "Email address" (useremail) or "ID number" to
"ID number" (useridnumber). A row whose user Moodle cannot find stops the whole import, so a
student the roster gives neither an ``email`` nor a ``sis_id`` has no row here.
"""

from __future__ import annotations

import csv

from grader.reporters import Reporter, StudentResult, reporter
from grader.reporters.lms import assignment_column, first_last, score

NAME = "moodle_grades.csv"
COLUMNS = ("First name", "Last name", "ID number", "Email address")


def nameable(student: StudentResult) -> bool:
    """Whether Moodle can find the student: the roster gives an email or an ID number."""
    return bool(student.identity.get("email") or student.identity.get("sis_id"))


@reporter(NAME)
class MoodleGrades(Reporter):
    """Written row by row as the students pass; the header waits for the first student (it
    carries the assignment's name)."""

    def start(self) -> None:
        self.writer: csv.DictWriter[str] | None = None

    def _open(self, first: StudentResult | None) -> csv.DictWriter[str]:
        self.column = assignment_column(first)
        writer = csv.DictWriter(self.out.stream(NAME), [*COLUMNS, self.column], lineterminator="\n")
        writer.writeheader()
        return writer

    def add(self, s: StudentResult) -> None:
        if self.writer is None:
            self.writer = self._open(s)
        if not nameable(s):
            return
        who = s.identity
        first, last = first_last(who.get("name", ""))
        self.writer.writerow({"First name": first, "Last name": last, "ID number": who.get("sis_id", ""),
                              "Email address": who.get("email", ""), self.column: score(s)})

    def close(self) -> None:
        if self.writer is None:
            self._open(None)
