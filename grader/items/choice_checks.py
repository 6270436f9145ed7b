"""What ``grade validate`` checks so that trace and design items test understanding, not
test-taking: a trace item's answer must not stand out by its length, and a design item's steps,
handed in in the order shown, must earn at most a third of the credit.

Both read an item through its type (``choices``, ``grade``) and its options' ``correct`` flags,
never a label's position, so they hold whatever order the options and steps are shown in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from grader.core.problems import Problem
from grader.items.base import item_problem
from grader.items.shuffles import MAX_SHOWN_WORTH
from grader.model.bank import Item

if TYPE_CHECKING:
    from grader.items.base import AnswerType

# A correct option may be at most this many times as long as the longest distractor.
MAX_ANSWER_LENGTH_RATIO = 1.3


def text_length(text: str) -> int:
    """Characters of ``text`` with its line breaks and runs of spaces counted as one space."""
    return len(" ".join(text.split()))


def answer_length_problems(item: Item) -> list[Problem]:
    """A problem for each correct option longer than ``MAX_ANSWER_LENGTH_RATIO`` times the longest
    distractor: "pick the longest" must not be a strategy."""
    longest = max((text_length(o.text) for o in item.options if not o.correct), default=0)
    if not longest:
        return []
    return [item_problem(item, f"the correct option is {text_length(o.text) / longest:.2f}x as long as "
                               f"the longest distractor (at most {MAX_ANSWER_LENGTH_RATIO}x): make the "
                               "distractors as long and as specific as the answer", f"$.options[{i}].text")
            for i, o in enumerate(item.options)
            if o.correct and text_length(o.text) > MAX_ANSWER_LENGTH_RATIO * longest]


def shown_order_problems(kind: AnswerType, item: Item) -> list[Problem]:
    """A problem when ``item``'s steps, handed in in the order shown, earn more than
    ``MAX_SHOWN_WORTH`` of the credit under the item's own partial-credit rule."""
    shown = [label for label, _ in kind.choices(item)]
    worth = kind.grade(item, shown, None).score
    if worth <= MAX_SHOWN_WORTH + 1e-9:
        return []
    return [item_problem(item, f"the steps handed in as shown earn {worth:.2f} of the credit under "
                               f"partial_credit {item.partial_credit!r} (at most {MAX_SHOWN_WORTH:.2f})",
                         "$.steps")]
