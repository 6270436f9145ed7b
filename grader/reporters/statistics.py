"""The class's statistics, gathered in one pass in bounded memory: what report.md and
report.html show.

Everything here grows with the number of items, never with the number of students: the
scores are running sums (per item: its score, the rest of the test and their products and
squares, enough for each item's mean, difficulty and discrimination), the totals a
fixed-width histogram, the answers bounded frequency summaries (``TopCounts``), and the
students a report names (errors, no submission, not on the roster) go to a file on disk
(``Spool``) and are read back when the report is written. The students arrive in id order,
so every figure is the same however the class was graded.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from grader.reporters import ERROR, GRADED, NO_SUBMISSION, Answer, ClassInfo, StudentResult

TOP_CAPACITY = 500  # distinct answers counted exactly per item before the summary prunes
HISTOGRAM_BINS = 25  # at most


class TopCounts:
    """How often each value occurred, in bounded memory (a Misra–Gries summary, pruned in
    batches): exact while at most ``2 * capacity`` distinct values have been seen. Past that,
    each prune takes the (capacity+1)-th largest count off every count and drops those left at
    zero, adding it to ``slack``; a value's true count then lies between its count and its count
    plus ``slack``, and any value with more than ``slack`` occurrences is still held."""

    def __init__(self, capacity: int = TOP_CAPACITY) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.slack = 0

    def add(self, value: str) -> None:
        counts = self.counts
        counts[value] = counts.get(value, 0) + 1
        if len(counts) > 2 * self.capacity:
            cut = sorted(counts.values(), reverse=True)[self.capacity]
            self.slack += cut
            self.counts = {v: c - cut for v, c in counts.items() if c > cut}

    @property
    def exact(self) -> bool:
        return self.slack == 0

    def top(self, k: int = 3) -> list[tuple[str, int]]:
        """The ``k`` most frequent (value, count), ties broken by text so reports are deterministic;
        the counts are lower bounds unless ``exact``."""
        return sorted(self.counts.items(), key=lambda x: (-x[1], x[0]))[:k]


class Spool:
    """Rows of text kept in a temporary file while the class streams past, read back in order."""

    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self.count = 0

    def append(self, *fields: str) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._file.write(json.dumps(fields) + "\n")  # ASCII on one line, whatever the text
        self.count += 1

    def __iter__(self) -> Iterator[list[str]]:
        if self._file is None:
            return
        self._file.flush()
        self._file.seek(0)
        for line in self._file:
            yield json.loads(line)
        self._file.seek(0, 2)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass
class ChoiceTally:
    """What the graded students chose on an item answered with options: each option's count (a
    multiple-select answer counts each option it names), how many wrote an answer, and how many
    of those named no option."""

    chosen: Counter[str]
    answered: int = 0
    unreadable: int = 0


@dataclass(frozen=True)
class ItemSummary:
    """One item's statistics over the graded students who have it."""

    item_id: str
    students: int
    max_score: float
    mean: float
    passed: int  # full marks
    discrimination: float | None  # None: the item or the rest of the test does not vary

    @property
    def difficulty(self) -> float:
        """The share of the item's points earned (1: everyone full marks), as item analyses say."""
        return self.mean / self.max_score if self.max_score else 0.0

    @property
    def share_correct(self) -> float:
        return self.passed / self.students if self.students else 0.0


class ClassStatistics:
    """Running statistics of a class: ``add`` each student (in student-id order), then read."""

    def __init__(self, info: ClassInfo) -> None:
        self.info = info
        ids = info.item_ids
        self.index = {item_id: k for k, item_id in enumerate(ids)}
        self.students = 0
        self.statuses: Counter[str] = Counter()
        self.errors, self.missing, self.unknown = Spool(), Spool(), Spool()
        self.graded = 0
        self.max_total: float | None = None  # the first graded student's
        self.total_sum = self.total_squares = 0.0  # the totals (a late penalty taken off)
        self.test_sum = self.test_squares = 0.0  # the items' points
        self.histogram: list[int] = []
        self.bin_width = 1.0
        # per item, over the graded students who have it: count, full marks, and the sums of the
        # item's score x, the test's t (the items' points: before a late penalty), and x², t², x·t
        self.n, self.passed = [0.0] * len(ids), [0.0] * len(ids)
        self.sx, self.st, self.sxx, self.stt, self.sxt = ([0.0] * len(ids) for _ in range(5))
        self.max_score: list[float | None] = [None] * len(ids)
        self.wrong = [TopCounts(TOP_CAPACITY) for _ in ids]  # answers given and not right
        self.fired = [TopCounts(TOP_CAPACITY) for _ in ids]  # what an answer that was not right matched
        self.choices = {item_id: ChoiceTally(Counter()) for item_id in ids
                        if item_id in info.items and info.items[item_id].options}

    def add(self, student: StudentResult) -> None:
        self.students += 1
        self.statuses[student.status] += 1
        if not student.on_roster:
            self.unknown.append(student.student)
        if student.status == ERROR:
            self.errors.append(student.student, student.error or "")
        elif student.status == NO_SUBMISSION:
            self.missing.append(student.student)
        if student.status != GRADED:
            return
        self.graded += 1
        total = float(student.total)
        if self.max_total is None:
            self._start_histogram(float(student.max_total))
        self.total_sum += total
        self.total_squares += total * total
        self.histogram[max(0, min(len(self.histogram) - 1, int(total // self.bin_width)))] += 1
        has, scores, passed = [0.0] * len(self.index), [0.0] * len(self.index), [0.0] * len(self.index)
        analysis = student.analysis
        for item_id, item in student.items.items():
            k = self.index.get(item_id)
            if k is None:
                continue
            has[k], scores[k], passed[k] = 1.0, float(item.score), float(item.status.passed)
            if self.max_score[k] is None:
                self.max_score[k] = float(item.max_score)
            answer = analysis.get(item_id)
            if answer is None:
                continue
            if not item.status.passed:
                if item.status.attempted:
                    self.wrong[k].add(self._in_bank_ids(answer, self.info.items[item_id].options
                                                        if item_id in self.choices else ()))
                if answer.matched:
                    self.fired[k].add(answer.matched)
            tally = self.choices.get(item_id)
            if tally is not None:
                self._choose(tally, self.info.items[item_id].options, answer.matched)
        test = sum(scores)  # the sums go item by item, student after student: the same however graded
        self.n = [a + b for a, b in zip(self.n, has, strict=True)]
        self.passed = [a + b for a, b in zip(self.passed, passed, strict=True)]
        self.sx = [a + x for a, x in zip(self.sx, scores, strict=True)]
        self.sxx = [a + x * x for a, x in zip(self.sxx, scores, strict=True)]
        self.sxt = [a + x * test for a, x in zip(self.sxt, scores, strict=True)]
        self.st = [a + h * test for a, h in zip(self.st, has, strict=True)]
        self.stt = [a + h * test * test for a, h in zip(self.stt, has, strict=True)]
        self.test_sum += test
        self.test_squares += test * test

    @staticmethod
    def _in_bank_ids(answer: Answer, options: Sequence[str]) -> str:
        """A wrong answer as counted: an option item's in the bank's option ids (each student's own
        labels, shuffled per student, name different options), else as written."""
        picked = (answer.matched or "").split(",")
        return answer.matched if answer.matched and all(o in options for o in picked) else answer.answer

    @staticmethod
    def _choose(tally: ChoiceTally, options: Sequence[str], matched: str | None) -> None:
        picked = [o for o in (matched or "").split(",") if o in options]
        tally.answered += 1
        if not picked:
            tally.unreadable += 1
        tally.chosen.update(picked)

    def _start_histogram(self, max_total: float) -> None:
        """Bins of a round width (1, 2 or 5 times a power of ten) over 0..max_total, at most
        ``HISTOGRAM_BINS`` of them; the last holds the full score."""
        self.max_total = max_total
        width = 1.0
        if max_total > 0:
            magnitude = 10.0 ** math.floor(math.log10(max_total / HISTOGRAM_BINS))
            width = next(magnitude * m for m in (1, 2, 5, 10)
                         if max_total / (magnitude * m) <= HISTOGRAM_BINS)
        self.bin_width = width
        self.histogram = [0] * max(1, math.ceil(max_total / width - 1e-9))

    # -- reading -------------------------------------------------------------------------------
    @property
    def mean_total(self) -> float:
        return self.total_sum / self.graded if self.graded else 0.0

    @property
    def sd_total(self) -> float:
        """The population standard deviation of the graded students' totals."""
        if not self.graded:
            return 0.0
        return math.sqrt(max(0.0, self.total_squares / self.graded - self.mean_total ** 2))

    def bins(self) -> list[tuple[float, float, int]]:
        """The histogram: (from, to, students) per bin, the last bin's ``to`` the maximum."""
        width, top = self.bin_width, self.max_total or 0.0
        return [(k * width, min((k + 1) * width, top) if k == len(self.histogram) - 1 else (k + 1) * width, c)
                for k, c in enumerate(self.histogram)]

    def items(self) -> list[ItemSummary]:
        """Each item's summary, in item order."""
        out = []
        for k, item_id in enumerate(self.info.item_ids):
            n = self.n[k]
            out.append(ItemSummary(item_id, int(n), self.max_score[k] or 0.0,
                                   float(self.sx[k] / n) if n else 0.0, int(self.passed[k]), self._rest_r(k)))
        return out

    def _rest_r(self, k: int) -> float | None:
        """The item's discrimination: the correlation (point-biserial for a right/wrong item) of
        its score with the rest of the test (the items' points less this item), over the graded
        students who have it. None where either does not vary."""
        n, sx, sxx, sxt, st, stt = (float(sums[k]) for sums in
                                    (self.n, self.sx, self.sxx, self.sxt, self.st, self.stt))
        sr, srr, sxr = st - sx, stt - 2 * sxt + sxx, sxt - sxx  # the rest r = t - x
        spread_x, spread_r = n * sxx - sx * sx, n * srr - sr * sr  # n² times the variances
        if n < 2 or spread_x <= 1e-9 * n * sxx or spread_r <= 1e-9 * n * srr:
            return None
        return max(-1.0, min(1.0, (n * sxr - sx * sr) / math.sqrt(spread_x * spread_r)))

    def alpha(self) -> float | None:
        """Cronbach's alpha (KR-20 for right/wrong items) of the graded students' tests (the items'
        points); None with fewer than two items or students, an item some student lacks, or no
        spread."""
        k, n = len(self.index), self.graded
        if k < 2 or n < 2 or any(count != n for count in self.n):
            return None
        item_var = sum(sxx / n - (sx / n) ** 2 for sx, sxx in zip(self.sx, self.sxx, strict=True))
        test_var = self.test_squares / n - (self.test_sum / n) ** 2
        if test_var <= 1e-12 * max(1.0, self.test_squares / n):
            return None
        return k / (k - 1) * (1 - item_var / test_var)

    def close(self) -> None:
        for spool in (self.errors, self.missing, self.unknown):
            spool.close()

