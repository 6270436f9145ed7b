"""Answers that are right for another student's variant and not for the student's own.

In a per-student assignment each student's numbers (and labels of options and steps) are their
own, so a wrong answer that another student's variant makes right is a sign of handed-over
answers. A single such coincidence proves little: a round number, a known mistake or a trace
option chosen at random can land on someone's answer. So each coincidence is weighed by how
unlikely it is, and a pair is flagged only when its coincidences together are too unlikely
for any honest pair of the class:

- ``chance`` of a coincidence: the share of the item's variants, in a pool of the class's
  variants and drawn ones (``POOL`` in all, at least), whose right answer lies where the
  student's answer is right (within the item's tolerance, in each reading of its unit). Under
  honest work another student's variant is drawn independently of one's answer, so this is
  the chance that the answer is right for that student by accident. An answer right for more
  than ``COMMON_SHARE`` of the pool (a trace option: a quarter) is too common to count.
- A pair (student A, whose answers are right for B's variant) with coincidences on s items:
  ``expected`` = ordered pairs of the class x items x C(items, s) x the product of the s
  smallest chances, the least over s >= 2. It bounds how many honest pairs of the class would
  be this alike by chance; the pair is flagged when it is at most ``ALPHA``. So two items at
  least, always, and more in a large class or where answers are common. Each coincidence of a
  pair that may be flagged is graded by the item's own rule at B's variant before it counts.

Cost: the pool's right answers are indexed per item, sorted by value (trace and design answers
by their labels), so each wrong answer is found by a binary search, never compared with every
student: time about one variant and key per pool member and item (what grading costs), then a
search per wrong answer; memory about 16 bytes per pool member and item.
"""

from __future__ import annotations

import heapq
import math
import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from grader.assignments.assignment import Assignment, student_manifest, student_params, student_shuffles
from grader.items import bank_type
from grader.items.base import AnswerType
from grader.model.bank import Bank, Item
from grader.reporters import GRADED, StudentResult
from grader.results.status import Status

POOL = 1000  # variants each chance is measured on: the class's, and drawn ones to make up the rest
COMMON_SHARE = 0.05  # an answer right for more of the pool's variants than this is common: not counted
CLOSEST = 20  # unflagged pairs listed, the least likely by chance first
ALPHA = 0.01  # a pair is flagged when fewer honest pairs than this would be as alike by chance
REFERENCE = "reference variant {}"  # the drawn variants' seeds (never a student's: ids have no space)
_LISTED = re.compile(r"^\[\s*('[^'\n]*'\s*(,\s*'[^'\n]*'\s*)*)?\]$")


@dataclass(frozen=True)
class Coincidence:
    """One item on which a student's answer is right for another student's variant."""

    item: str
    answer: str  # as the student handed it in
    chance: float  # the share of the item's variants this answer is right for

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "answer": self.answer, "chance": round(self.chance, 6)}


@dataclass
class AnswerPair:
    """``student``'s answers that are right for ``source``'s variant, not their own."""

    student: str
    source: str
    items: list[Coincidence] = field(default_factory=list)
    expected: float = math.inf  # how many honest pairs of the class would be this alike by chance

    @property
    def flagged(self) -> bool:
        return len(self.items) >= 2 and self.expected <= ALPHA

    def to_json(self) -> dict[str, Any]:
        return {"student": self.student, "source": self.source, "flagged": self.flagged,
                "expected_by_chance": float(f"{self.expected:.3g}"),
                "items": [c.to_json() for c in self.items]}


def answer_items(bank: Bank, assignment: Assignment) -> list[str]:
    """The assignment's items answered in answers.yaml, whose answers can be compared."""
    return [i for i in assignment.items if isinstance(bank_type(bank.items[i].type), AnswerType)]


def response_of(text: str) -> object:
    """The response a result's ``analysis`` records as text: a YAML list is written as Python
    writes a list (``['A', 'C']``), which becomes that list again; anything else stays text."""
    if _LISTED.match(text.strip()):
        return re.findall(r"'([^'\n]*)'", text)
    return text


class VariantIndex:
    """The right answer of every variant of the pool, per item, sorted by where it lies."""

    def __init__(self, bank: Bank, assignment: Assignment, students: list[str], pool: int = POOL) -> None:
        self.bank = bank
        self.items = answer_items(bank, assignment)
        self.assignment = replace(assignment, items={i: assignment.items[i] for i in self.items}, kernels={})
        self.one = {i: replace(self.assignment, items={i: assignment.items[i]}) for i in self.items}
        self.members = [*students, *(REFERENCE.format(k) for k in range(max(0, pool - len(students))))]
        self.students = len(students)
        self.failed: list[str] = []  # members whose variant could not be drawn
        points: dict[tuple[str, str], tuple[array[float], array[int]]] = {}  # values, their members
        for number, member in enumerate(self.members):
            try:
                params = student_params(bank, self.assignment, member)
                seeds = student_shuffles(bank, self.assignment, member)
                for i in self.items:
                    seen = bank.items[i].shuffled(seeds.get(i))
                    for reading, value in self.kind(i).key_points(seen, params.get(i)):
                        if math.isfinite(value):
                            values, owners = points.setdefault((i, reading), (array("d"), array("l")))
                            values.append(value)
                            owners.append(number)
            except Exception as exc:  # a solver or sampler failure: this member is left out
                self.failed.append(f"{member}: {type(exc).__name__}")
        self.values: dict[tuple[str, str], array[float]] = {}
        self.owners: dict[tuple[str, str], array[int]] = {}
        for where, (values, owners) in points.items():  # each sorted by value, one at a time
            order = sorted(range(len(values)), key=values.__getitem__)
            self.values[where] = array("d", (values[k] for k in order))
            self.owners[where] = array("l", (owners[k] for k in order))
            del values[:], owners[:]

    def kind(self, item_id: str) -> AnswerType:
        kind = bank_type(self.bank.items[item_id].type)
        assert isinstance(kind, AnswerType)
        return kind

    @property
    def size(self) -> int:
        return len(self.members)

    def candidates(self, item_id: str, ranges: Iterable[tuple[str, float, float]], limit: int) -> set[int]:
        """The pool members whose right answer to ``item_id`` lies in ``ranges`` (as many as that
        and a few more when they are more than ``limit``)."""
        found: set[int] = set()
        for reading, low, high in ranges:
            values = self.values.get((item_id, reading))
            if values is not None:
                start, end = bisect_left(values, low), bisect_right(values, high)
                found.update(self.owners[(item_id, reading)][start:min(end, start + limit + 2)])
            if len(found) > limit + 1:
                break
        return found

    def right_for(self, member: int, item_id: str, response: object) -> bool:
        """Whether ``response`` grades correct at ``member``'s variant of ``item_id``."""
        who, one = self.members[member], self.one[item_id]
        try:
            params = student_params(self.bank, one, who).get(item_id)
            item: Item = self.bank.items[item_id].shuffled(student_shuffles(self.bank, one, who).get(item_id))
            return self.kind(item_id).grade(item, response, params).status is Status.CORRECT
        except Exception:  # as in the index: a variant that cannot be drawn matches nothing
            return False


class _Hit(NamedTuple):
    item: str
    answer: str  # as handed in
    response: object  # as the rule reads it
    chance: float


def _pair(index: VariantIndex, student: str, source: int, hits: list[_Hit], pairs: int) -> AnswerPair:
    """The pair, its coincidences graded by each item's rule at the source's variant."""
    right = [Coincidence(h.item, h.answer, h.chance) for h in hits
             if index.right_for(source, h.item, h.response)]
    pair = AnswerPair(student, index.members[source], right)
    pair.expected = expected_by_chance([c.chance for c in right], len(index.items), pairs)
    return pair


def expected_by_chance(chances: list[float], items: int, pairs: int) -> float:
    """How many honest pairs, of ``pairs`` ordered pairs, would share coincidences this unlikely
    on as many of ``items`` items (a union bound; see the module's docstring)."""
    if len(chances) < 2:
        return math.inf
    logs = sorted(math.log10(max(c, 1e-300)) for c in chances)
    best, total = math.inf, 0.0
    for s, log in enumerate(logs, 1):
        total += log
        if s >= 2:
            best = min(best, math.log10(math.comb(items, s)) + total)
    value = math.log10(max(pairs, 1)) + math.log10(max(items, 1)) + best
    return 10.0 ** value if value > -300 else 0.0


@dataclass
class AnswerMatches:
    """What the answers show: the flagged pairs, the least unlikely of the rest, and counts."""

    flagged: list[AnswerPair] = field(default_factory=list)
    closest: list[AnswerPair] = field(default_factory=list)  # not flagged, the least likely first
    unflagged: int = 0  # pairs with coincidences on two or more items, not flagged
    students: int = 0  # with a result
    answering: int = 0  # graded, so with answers to compare
    items: tuple[str, ...] = ()
    pool: int = 0
    failed: list[str] = field(default_factory=list)  # pool members whose variant could not be drawn


def answer_matches(bank: Bank, assignment: Assignment, results: Iterable[StudentResult],
                   students: list[str], pool: int = POOL, closest: int = CLOSEST) -> AnswerMatches:
    """Compare every graded student's wrong answers with the right answers of every variant of
    the class. ``students``: every student with a result (each may be the source of copied
    answers); ``results``: their results, read once, in any order."""
    index = VariantIndex(bank, assignment, students, pool)
    entries = {e.id: e for e in student_manifest(bank, index.assignment, None).entries}
    number = {s: n for n, s in enumerate(students)}
    common = max(1, int(COMMON_SHARE * (index.size - 1)))
    ordered = len(students) * max(0, len(students) - 1)  # every ordered pair: a bound on those compared
    out = AnswerMatches(students=len(students), items=tuple(index.items), pool=index.size,
                        failed=index.failed)
    near: list[tuple[float, str, int, list[_Hit]]] = []  # a heap of the closest calls, the largest first
    for result in results:
        me = number.get(result.student)
        if me is None or result.status != GRADED:
            continue
        out.answering += 1
        hits: dict[int, list[_Hit]] = {}
        for item_id, answer in sorted(result.analysis.items()):
            own = result.items.get(item_id)
            if item_id not in entries or own is None or own.status is Status.CORRECT:
                continue
            response = response_of(answer.answer)
            ranges = index.kind(item_id).answer_ranges(bank.items[item_id], entries[item_id], response)
            found = index.candidates(item_id, ranges, common)
            found.discard(me)
            if not found or len(found) > common:
                continue
            hit = _Hit(item_id, answer.answer, response, len(found) / max(1, index.size - 1))
            for member in found:
                if member < index.students:
                    hits.setdefault(member, []).append(hit)
        for source, found_hits in sorted(hits.items()):
            if len(found_hits) < 2:
                continue
            bound = expected_by_chance([h.chance for h in found_hits], len(index.items), ordered)
            pair = _pair(index, result.student, source, found_hits, ordered) if bound <= ALPHA else None
            if pair is not None and pair.flagged:
                out.flagged.append(pair)
                continue
            if pair is None or len(pair.items) >= 2:
                out.unflagged += 1
                entry = (-bound, result.student, source, found_hits)
                if len(near) < closest:
                    heapq.heappush(near, entry)
                elif entry[:3] > near[0][:3]:
                    heapq.heapreplace(near, entry)
    out.flagged.sort(key=lambda p: (p.expected, p.student, p.source))
    graded = [_pair(index, student, source, found, ordered) for _, student, source, found in near]
    out.closest = sorted((p for p in graded if len(p.items) >= 2),
                         key=lambda p: (p.expected, p.student, p.source))
    return out
