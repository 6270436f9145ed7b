"""The late policy of an assignment spec, applied: how many days late a submission is, and the
points that costs.

A spec's ``late_policy`` (``grader/schemas/assignment.schema.json``) may give:

- ``penalty_per_day``: the share of the student's score lost for each day late; a part of a day
  counts as a whole day (1 minute late is 1 day), measured from the due time;
- ``max_penalty``: the most the per-day penalty takes (a share of the score; default 1);
- ``max_days``: a hard deadline: a submission more than this many days late scores 0
  (``max_days: 0``: any late submission scores 0);
- ``grace_minutes``: a submission at most this many minutes after the due time is on time
  (late ones still count their days from the due time);
- ``note``: text for the students, never applied.

The penalty is a share of the score the student earned (after any manual overrides), so
``final = raw - penalty``. Times are instants: the due date needs a time and a zone to be
applied (``load_assignment`` refuses a spec whose policy cannot be), and so do submission times.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DAY_S = 86_400


def instant(text: str) -> datetime:
    """An ISO 8601 date-time with a time zone ("2026-12-01T23:59:00-05:00", "...Z"). ValueError
    (saying what is wrong, to follow the text in a message) when the text is not one, or names
    no zone (a local time is ambiguous across a class)."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("is not an ISO 8601 date-time such as 2026-12-01T23:59:00-05:00") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("names no time zone (add Z or an offset such as -05:00)")
    return when


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


@dataclass(frozen=True)
class LatePolicy:
    """A spec's ``late_policy``, typed (see the module's docstring)."""

    penalty_per_day: float = 0.0
    max_penalty: float = 1.0
    max_days: int | None = None
    grace_minutes: int = 0
    note: str = ""

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any] | None) -> LatePolicy:
        doc = doc or {}
        max_days = doc.get("max_days")
        return cls(float(doc.get("penalty_per_day", 0.0)), float(doc.get("max_penalty", 1.0)),
                   None if max_days is None else int(max_days), int(doc.get("grace_minutes", 0)),
                   str(doc.get("note", "")))

    @property
    def applies(self) -> bool:
        """Whether the policy takes points off at all (a note alone does not)."""
        return self.penalty_per_day > 0 or self.max_days is not None

    def days_late(self, submitted: datetime, due: datetime) -> int:
        """Whole days late, each part of a day counted (0: on time, or within the grace)."""
        seconds = (submitted - due).total_seconds()
        if seconds <= self.grace_minutes * 60:
            return 0
        return math.ceil(seconds / DAY_S)

    def share(self, days: int) -> float:
        """The share of the score lost ``days`` days late."""
        if days <= 0:
            return 0.0
        if self.max_days is not None and days > self.max_days:
            return 1.0
        return min(self.max_penalty, days * self.penalty_per_day)

    def penalty(self, raw: float, days: int) -> float:
        """The points lost from a score of ``raw`` handed in ``days`` days late."""
        return round(max(0.0, raw) * self.share(days), 6)

    def text(self) -> str:
        """The policy in one sentence, for manifests, READMEs and feedback."""
        parts = []
        if self.penalty_per_day > 0:
            parts.append(f"{_percent(self.penalty_per_day)} off per day late (part of a day counts as a day)"
                         + (f", at most {_percent(self.max_penalty)}" if self.max_penalty < 1 else ""))
        if self.max_days is not None:
            parts.append("no credit when late" if self.max_days == 0 else
                         f"no credit when more than {self.max_days} day{'s' * (self.max_days != 1)} late")
        if self.grace_minutes and self.applies:
            parts.append(f"{self.grace_minutes} minutes' grace after the due time")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)
