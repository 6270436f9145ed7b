"""What ``grade validate`` checks of the per-student shuffles of trace options and design steps.

In a per-student assignment each student sees the options (steps) in their own order,
relabelled A, B, C... (``Item.shuffled``), so the bank's text must never name one by its label,
and on sampled students' shuffles the key in their labels must grade correct, and a design
order handed in as shown must earn at most a third of the credit.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from grader.core.problems import Problem
from grader.items.base import Checks, item_problem
from grader.model.bank import DISPLAY_IDS, Item
from grader.model.text import text_fields
from grader.results.status import Status

if TYPE_CHECKING:
    from grader.items.base import AnswerType

# "option B", "steps A and C" (the first), "the answer is (C)": a label, which differs per student
LABEL_MENTION = re.compile(r"\b(?i:options?|steps?|choices?|answer(?:\s+is)?)\s+\(?[A-Z]\)?(?![\w'’/^-])")
MAX_SHOWN_WORTH = 1 / 3


def shuffle_problems(kind: AnswerType, item: Item, checks: Checks) -> list[Problem]:
    """What is wrong with ``item`` (a trace or design item of type ``kind``) once shuffled per
    student: a label named in its text, or, on ``checks.samples`` sampled shuffles, labels
    out of order, a key that does not grade correct, or a design order worth too much as shown."""
    out = [item_problem(item, f"names an option or step by its label ({m[0]!r}), but each student "
                              "sees their own labels: describe it instead", path)
           for path, text in text_fields(item) if (m := LABEL_MENTION.search(text))]
    for k in range(checks.samples):
        seen = item.shuffled(f"validate{checks.seed}x{k}")
        labels = [label for label, _ in kind.choices(seen)]
        answer = kind.key_entry(seen, None)["answer"]
        problem = None
        if labels != list(DISPLAY_IDS[:len(labels)]):
            problem = f"a student's labels are not A, B, C... in the order shown ({''.join(labels)})"
        elif kind.grade(seen, answer, None).status != Status.CORRECT:
            problem = "the key in a student's own labels does not grade correct"
        elif item.steps and kind.grade(seen, labels, None).score > MAX_SHOWN_WORTH:
            problem = f"a student's steps, handed in as shown, earn more than {MAX_SHOWN_WORTH:.2g}"
        if problem is not None:
            return [*out, item_problem(item, f"{problem} (shuffle {k + 1} of {checks.samples})")]
    return out
