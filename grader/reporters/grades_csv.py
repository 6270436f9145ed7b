"""grades.csv: one row per student: id, total, max, status, one score column per item, then the
points before the late penalty, the penalty and the days late.

``total`` is the final score (the late penalty taken off, manual overrides in the item columns);
``raw_total`` is the items' points, ``late_penalty`` what lateness cost, ``days_late`` empty
where the assignment has no late policy or the submission time is not known."""

from __future__ import annotations

import csv

from grader.reporters import Number, Reporter, StudentResult, reporter


def csv_number(value: Number) -> str:
    """Scores as written in the CSV: integers plainly, otherwise up to 10 significant digits."""
    return str(int(value)) if float(value).is_integer() else format(value, ".10g")


ADJUSTMENT_COLUMNS = ("raw_total", "late_penalty", "days_late")


@reporter("grades.csv")
class GradesCsv(Reporter):
    """Written row by row as the students pass."""

    def start(self) -> None:
        self.writer = csv.writer(self.out.stream("grades.csv"), lineterminator="\n")
        self.writer.writerow(["student", "total", "max", "status", *self.info.item_ids, *ADJUSTMENT_COLUMNS])

    def add(self, s: StudentResult) -> None:
        days = s.late.days_late if s.late is not None else None
        self.writer.writerow([s.student, csv_number(s.total), csv_number(s.max_total), s.status,
                              *(csv_number(s.items[i].score) if i in s.items else ""
                                for i in self.info.item_ids),
                              csv_number(s.raw), csv_number(s.penalty), "" if days is None else str(days)])
