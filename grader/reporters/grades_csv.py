"""grades.csv: one row per student: id, total, max, status, then one score column per item."""

from __future__ import annotations

import csv
import io

from grader.reporters import ClassResults, Number, reporter


def _num(value: Number) -> str:
    """Scores as written in the CSV: integers plainly, otherwise up to 10 significant digits."""
    return str(int(value)) if float(value).is_integer() else format(value, ".10g")


@reporter("grades.csv")
def render(results: ClassResults) -> dict[str, str]:
    return {"grades.csv": grades_csv(results)}


def grades_csv(results: ClassResults) -> str:
    item_ids = results.item_ids
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "total", "max", "status", *item_ids])
    for s in results.students:
        writer.writerow([s.student, _num(s.total), _num(s.max_total), s.status,
                         *(_num(s.items[i].score) if i in s.items else "" for i in item_ids)])
    return buffer.getvalue()
