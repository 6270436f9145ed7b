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

from grader.reporters import StudentResult, reporter
from grader.reporters.lms import Gradebook, first_last

NAME = "moodle_grades.csv"
COLUMNS = ("First name", "Last name", "ID number", "Email address")


def nameable(student: StudentResult) -> bool:
    """Whether Moodle can find the student: the roster gives an email or an ID number."""
    return bool(student.identity.get("email") or student.identity.get("sis_id"))


@reporter(NAME)
class MoodleGrades(Gradebook):
    """Moodle's columns; a student Moodle could not find has no row."""

    NAME, COLUMNS = NAME, COLUMNS

    def row(self, s: StudentResult) -> dict[str, str] | None:
        if not nameable(s):
            return None
        who = s.identity
        first, last = first_last(who.get("name", ""))
        return {"First name": first, "Last name": last, "ID number": who.get("sis_id", ""),
                "Email address": who.get("email", "")}
