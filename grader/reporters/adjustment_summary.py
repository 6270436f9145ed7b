"""The grades changed after grading, gathered for report.md: the late penalties applied, the
submissions whose time is not known, and the items scored by hand, each student by name.

The rows wait in files on disk (``Spool``) while the class streams past, so memory stays
bounded however many students were late.
"""

from __future__ import annotations

from grader.reporters import StudentResult
from grader.reporters.statistics import Spool
from grader.results.points import points_text, score_text


class AdjustmentSummary:
    """``add`` each student; then read the spools (text rows), then ``close``.

    ``late``: student, days late, submitted, due, points before, penalty, final score;
    ``untimed``: student (a late policy, no submission time), what the LMS said (or "");
    ``overrides``: student, item,
    the grader's points, the points given by hand, the reason."""

    def __init__(self) -> None:
        self.late, self.untimed, self.overrides = Spool(), Spool(), Spool()

    def add(self, s: StudentResult) -> None:
        late = s.late
        if late is not None and late.days_late is None:
            self.untimed.append(s.student, "the LMS marked it late" if late.marked_late else "")
        elif late is not None and late.days_late:
            self.late.append(s.student, str(late.days_late), str(late.submitted_at), str(late.due),
                             points_text(s.raw, s.max_total), points_text(late.penalty),
                             score_text(s.total, s.max_total))
        for item_id, override in s.overrides.items():
            item = s.items.get(item_id)
            if item is not None:
                self.overrides.append(s.student, item_id, score_text(override.graded_score, item.max_score),
                                      score_text(item.score, item.max_score), override.reason)

    def close(self) -> None:
        for spool in (self.late, self.untimed, self.overrides):
            spool.close()
