"""gradescope_scores.csv: the class's scores in the columns of Gradescope's own score export
(an assignment's "Download Grades"), for the tools and gradebook scripts that read those files.

The columns, in Gradescope's order: ``First Name, Last Name, SID, Email, Sections, Total Score,
Max Points, Status, Submission ID, Submission Time, Lateness (H:M:S), View Count, Submission
Count``, then one per question named ``N: title (P pts)``. Status is ``Graded`` or ``Missing``
(no submission: its scores are empty); Lateness is the time after the assignment's due date;
the grader knows no Submission ID or View Count, so those stay empty. Gradescope documents no
import of this file: scores reach Gradescope through its autograder (``grade
gradescope-autograder``).
"""

from __future__ import annotations

import csv
from typing import Any

from grader.reporters import NO_SUBMISSION, Reporter, StudentResult, reporter
from grader.reporters.grades_csv import csv_number
from grader.reporters.lms import first_last, moment, score

NAME = "gradescope_scores.csv"
COLUMNS = ("First Name", "Last Name", "SID", "Email", "Sections", "Total Score", "Max Points", "Status",
           "Submission ID", "Submission Time", "Lateness (H:M:S)", "View Count", "Submission Count")


def lateness(s: StudentResult) -> str:
    """H:M:S after the due date (0:00:00 when on time); empty when either time is unknown."""
    submitted, due = moment(s.submitted_at), moment(s.due)
    if submitted is None or due is None:
        return ""
    seconds = max(0, int((submitted - due).total_seconds()))
    return f"{seconds // 3600}:{seconds // 60 % 60:02}:{seconds % 60:02}"


@reporter(NAME)
class GradescopeScores(Reporter):
    """Written row by row as the students pass; the header waits for the first student (it
    carries each item's points)."""

    def start(self) -> None:
        self.writer: Any = None  # a csv writer, once the first student is known

    def _open(self, first: StudentResult | None) -> None:
        titles = self.info.titles
        questions = [f"{n}: {' '.join(filter(None, (i, titles.get(i))))} "
                     f"({float(first.items[i].max_score) if first and i in first.items else 0.0} pts)"
                     for n, i in enumerate(self.info.item_ids, 1)]
        self.writer = csv.writer(self.out.stream(NAME), lineterminator="\n")
        self.writer.writerow([*COLUMNS, *questions])

    def add(self, s: StudentResult) -> None:
        if self.writer is None:
            self._open(s)
        who, submitted = s.identity, s.status != NO_SUBMISSION
        first, last = first_last(who.get("name") or s.student)
        when = moment(s.submitted_at)
        self.writer.writerow([
            first, last, who.get("sis_id", ""), who.get("email", ""), who.get("section", ""), score(s),
            csv_number(s.max_total), "Graded" if submitted else "Missing", "",
            when.strftime("%Y-%m-%d %H:%M:%S %z") if when else "", lateness(s), "", int(submitted),
            *(score(s, s.items[i].score) if i in s.items else "" for i in self.info.item_ids)])

    def close(self) -> None:
        if self.writer is None:
            self._open(None)
