"""A workspace's progress: each item's latest status, kept in ``.grade/progress.json``.

Updated by every ``grade check`` (and so by ``grade serve``'s page). It also counts distinct
wrong answers per item, which decides the next hint to show, and the days a check was saved
on, which make the day streak.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from grader.core.state import read_state, write_state
from grader.results.status import Status

PROGRESS_NAME = "progress.json"
MAX_DAYS = 400  # the days with a check that progress.json remembers, the latest


@dataclass
class ItemProgress:
    status: str = "unanswered"
    score: float = 0.0
    checks: int = 0
    wrong_answers: int = 0
    last_answer: str | None = None
    ever_correct: bool = False

    @property
    def passed(self) -> bool:
        """The latest check was right (a label progress.json does not know is not)."""
        status = Status.lookup(self.status)
        return status is not None and status.passed

    @property
    def answered(self) -> bool:
        """The latest check found an answer (readable, in a graded workspace)."""
        status = Status.lookup(self.status)
        return status is not None and status.answered


@dataclass
class Progress:
    items: dict[str, ItemProgress] = field(default_factory=dict)
    checks: int = 0
    days: list[str] = field(default_factory=list)  # ISO dates with a saved check, oldest first

    def of(self, item_id: str) -> ItemProgress:
        return self.items.get(item_id) or ItemProgress()


def answer_fingerprint(response: object) -> str:
    """A short stable digest of a response, to tell a new answer from a re-check."""
    text = json.dumps(response, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_progress(state_dir: Path) -> tuple[Progress, str | None]:
    """The saved progress, or a fresh one plus a warning when the file is unreadable.

    Raises StateError when ``.grade`` or the file is a link (see ``grader.core.state``).
    """
    path = state_dir / PROGRESS_NAME
    try:
        text = read_state(state_dir, PROGRESS_NAME)
        if text is None:
            return Progress(), None
        doc = json.loads(text)
        items = {str(k): ItemProgress(**v) for k, v in doc["items"].items()}
        days = [str(date.fromisoformat(d)) for d in doc.get("days", [])]
        return Progress(items, int(doc.get("checks", 0)), days), None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        return Progress(), f"{path} was unreadable ({type(exc).__name__}); progress starts afresh"


def record(progress: Progress, item_id: str, status: Status | str, score: float,
           response: object) -> ItemProgress:
    """Record one graded item; returns its state *before* this check."""
    status = Status(status)  # type: ignore[arg-type]  # by value: a label
    before = progress.of(item_id)
    now = ItemProgress(**asdict(before))
    fingerprint = answer_fingerprint(response)
    is_new = fingerprint != before.last_answer
    if status.judged and not status.passed and is_new:  # a new wrong answer: the next hint
        now.wrong_answers += 1
    now.status, now.score, now.last_answer = status.label, score, fingerprint
    now.checks += 1
    now.ever_correct = before.ever_correct or status.passed
    progress.items[item_id] = now
    return before


def save_progress(state_dir: Path, progress: Progress, today: date | None = None) -> None:
    """Write atomically (temp file + rename), so a crash never leaves half a file, and never
    through a link (``grader.core.state``). The day (``today``: the local date) is recorded
    for the day streak."""
    day = str(today or date.today())
    if day not in progress.days:
        progress.days = sorted({*progress.days, day})[-MAX_DAYS:]
    doc: dict[str, Any] = {"format": 1, "checks": progress.checks, "days": progress.days,
                           "items": {k: asdict(v) for k, v in sorted(progress.items.items())}}
    write_state(state_dir, PROGRESS_NAME, json.dumps(doc, indent=1))


def day_streak(progress: Progress, today: date | None = None) -> int:
    """Days in a row with a saved check, up to ``today`` (the local date): a streak lasts until
    a whole day passes without a check, so one that ended yesterday still counts today."""
    days = set(progress.days)
    day = today or date.today()
    if str(day) not in days:
        day -= timedelta(days=1)
    count = 0
    while str(day) in days:
        count += 1
        day -= timedelta(days=1)
    return count


@dataclass(frozen=True)
class ChapterMastery:
    chapter: int
    title: str
    mastered: int
    answered: int
    total: int


def mastery(entries: list[tuple[str, int]], progress: Progress,
            titles: dict[int, str] | None = None) -> list[ChapterMastery]:
    """Per chapter: items whose latest check was correct, items answered, items in total.

    ``entries`` are (item id, chapter) pairs in workspace order.
    """
    rows: dict[int, list[int]] = {}
    for item_id, chapter in entries:
        state = progress.of(item_id)
        row = rows.setdefault(chapter, [0, 0, 0])
        row[0] += state.passed
        row[1] += state.answered
        row[2] += 1
    return [ChapterMastery(ch, (titles or {}).get(ch, ""), *row) for ch, row in rows.items()]
