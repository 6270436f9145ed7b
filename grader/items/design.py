"""Design items: put the steps in order. Students see them shuffled and relabelled
(``Item.display_steps``: one order for everyone, or each student's own in a per-student
assignment), so the bank's ids reveal nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.core.problems import Problem
from grader.items.base import ORDER, AnswerType, Checks, item_problem
from grader.items.choice_checks import shown_order_problems
from grader.items.shuffles import shuffle_problems
from grader.model.bank import Choice, Item
from grader.model.entry import ManifestItem
from grader.results.result import Result
from grader.rules.ordering import OrderingKey, grade_ordering, read_order


def ordering_key(item: Item) -> OrderingKey:
    return OrderingKey(order=item.correct_display_order(), partial_credit=item.partial_credit)


class Design(AnswerType):
    name = "design"
    schema_def = "design_item"
    shuffles = True

    def build(self, raw: Mapping[str, Any], common: dict[str, Any]) -> Item:
        return Item(**common, partial_credit=raw.get("partial_credit", "lcs"),
                    steps=tuple(Choice(s["id"], s["text"].strip()) for s in raw["steps"]))

    def problems(self, item: Item, checks: Checks) -> list[Problem]:
        ids = [s.id for s in item.steps]
        if len(set(ids)) != len(ids):
            return [item_problem(item, "step ids are not unique", "$.steps")]
        return [*shown_order_problems(self, item), *shuffle_problems(self, item, checks)]

    def key_entry(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        return {"type": item.type, "answer": item.correct_display_order()}

    def grade(self, item: Item, response: object, params: Mapping[str, float] | None) -> Result:
        return grade_ordering(ordering_key(item), response)

    def read(self, entry: ManifestItem, response: object) -> object:
        return read_order(entry.options, response)

    def key_points(self, item: Item, params: Mapping[str, float] | None) -> tuple[tuple[str, float], ...]:
        return (("".join(item.correct_display_order()), 0.0),)

    def answer_ranges(self, item: Item, entry: ManifestItem,
                      response: object) -> tuple[tuple[str, float, float], ...]:
        order = self.read(entry, response)
        return (("".join(order), 0.0, 0.0),) if isinstance(order, list) else ()

    def manifest_fields(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        return {"options": tuple(label for label, _ in item.display_steps())}

    def answer_instructions(self, item: Item, entry: ManifestItem) -> str:
        example = "".join(entry.options)
        return (f"Steps (answer with all {len(entry.options)} letters in your order, "
                f"e.g. {example} or [{', '.join(entry.options)}]):")

    def choices(self, item: Item) -> list[tuple[str, str]]:
        return [(label, step.text) for label, step in item.display_steps()]

    def answer_input(self, entry: ManifestItem) -> str:
        return ORDER

    def show_fields(self, item: Item) -> dict[str, Any]:
        return {"options": [{"id": label, "text": text} for label, text in self.choices(item)]}

    def solution_lines(self, item: Item, key: Mapping[str, Any]) -> list[str]:
        """'A D B C', then the steps in that order."""
        texts = dict(self.choices(item))
        return [" ".join(key["answer"]),
                *(f"{n}. {label}. {texts[label]}" for n, label in enumerate(key["answer"], 1))]

    def notebook_prompt(self, item: Item, entry: ManifestItem, base: Path, var: str) -> list[str]:
        steps = self.choices(item)
        return [f"Set `{var}` to all {len(steps)} step letters in your order, "
                f"e.g. `\"{''.join(label for label, _ in steps)}\"`.", "",
                *(f"- **{label}.** {text}" for label, text in steps)]

    def notebook_reference(self, item: Item, key: Mapping[str, Any]) -> tuple[str, str]:
        return json.dumps(key["answer"]), "a list of step letters"


TYPES = (Design(),)
