"""``grade feedback``: each student's feedback files, feedback/<student>.md and .html, written
from ``results/`` in one pass, one student at a time (``grader.reporters.feedback`` says what
they hold), when they are to be handed out.

They hold the scores, which a graded assignment releases after its due date: before that date
(the results' ``assignment.due``) they are written only when asked to (``before_due``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

from grader.assignments.late import instant
from grader.batch.outputs import folder_output, read_results, result_files
from grader.batch.settle import first_result
from grader.reporters import ItemInfo, item_titles
from grader.reporters.feedback import FOLDER, feedback_html, feedback_markdown

LAST_ZONE = timedelta(hours=12)


class NotDueYetError(ValueError):
    """The due date has not passed, and the feedback files would show the scores."""


def due_of(out: Path) -> str | None:
    """The due date the results in ``out`` record (their assignment's), if any."""
    doc = first_result(out)
    record = doc.get("assignment") if doc else None
    due = record.get("due") if isinstance(record, dict) else None
    return due if isinstance(due, str) else None


def write_feedback(out: Path, items: Mapping[str, ItemInfo] | None = None, before_due: bool = False,
                   warnings: list[str] | None = None, now: datetime | None = None) -> int:
    """Write every student's feedback files into ``out/feedback/``; returns how many students.
    Raises ``NotDueYetError`` before the results' due date unless ``before_due``."""
    due = due_of(out)
    if due is not None and not before_due:
        try:
            when = instant(due)
        except ValueError:  # no zone: the end of that day everywhere (at UTC-12, the last to end)
            try:
                day = datetime.fromisoformat(due[:10])
            except ValueError:
                raise NotDueYetError(f"the results' due date ({due}) is not a date, so whether it has "
                                     "passed is unknown. Add --before-due to write them.") from None
            when = day.replace(tzinfo=timezone(-LAST_ZONE)) + timedelta(days=1)
        if (now or datetime.now(timezone.utc)) < when:
            raise NotDueYetError(f"the due date ({due}) has not passed, and the feedback files show each "
                                 "student's scores, which a graded assignment releases after it. Add "
                                 "--before-due to write them now (in practice mode students see their "
                                 "scores at once anyway).")
    titles = item_titles(items or {})
    count = 0
    with folder_output(out) as folder:
        for student in read_results(sorted(result_files(out).items()), warnings):
            folder.write(f"{FOLDER}/{student.student}.md", feedback_markdown(student, titles))
            folder.write(f"{FOLDER}/{student.student}.html", feedback_html(student, titles))
            count += 1
    return count
