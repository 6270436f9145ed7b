"""Trace items: pick the right option (or every right option) of 4 or 5."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.core.problems import Problem
from grader.items.base import MANY, ONE, AnswerType, Checks, Secrets, item_problem
from grader.items.choice_checks import answer_length_problems
from grader.items.shuffles import shuffle_problems
from grader.model.bank import Bank, Choice, Item
from grader.model.entry import ManifestItem
from grader.results.result import Result
from grader.rules.choice import ChoiceKey, grade_choice, read_choice


def in_bank_ids(item: Item, result: Result) -> Result:
    """``result`` with ``matched`` naming the chosen options by the bank's ids, the same for
    every student, rather than by this student's labels: item analysis counts the choices of a
    class whose students each saw their own order."""
    if not item.shuffle or not result.matched:
        return result
    bank_id = {label: o.id for label, o in item.display_options()}
    return replace(result, matched=",".join(sorted(bank_id.get(x, x) for x in result.matched.split(","))))


def choice_key(item: Item) -> ChoiceKey:
    """The key in the labels the student sees (``Item.display_options``)."""
    shown = item.display_options()
    return ChoiceKey(
        options=[label for label, _ in shown],
        correct=frozenset(label for label, o in shown if o.correct),
        multiple=item.select == "multiple",
        partial_credit=item.partial_credit,
        feedback={label: o.feedback for label, o in shown},
    )


class Trace(AnswerType):
    name = "trace"
    schema_def = "trace_item"
    shuffles = True

    def build(self, raw: Mapping[str, Any], common: dict[str, Any]) -> Item:
        return Item(
            **common, select=raw["select"], partial_credit=raw.get("partial_credit", "none"),
            options=tuple(Choice(o["id"], o["text"].strip(), bool(o.get("correct")),
                                 o.get("feedback", "").strip()) for o in raw["options"]),
        )

    def problems(self, item: Item, checks: Checks) -> list[Problem]:
        out = []
        ids = [o.id for o in item.options]
        correct = [o for o in item.options if o.correct]
        if len(set(ids)) != len(ids):
            out.append(item_problem(item, "option ids are not unique", "$.options"))
        if not correct:
            out.append(item_problem(item, "no option is marked correct", "$.options"))
        if item.select == "single" and len(correct) > 1:
            out.append(item_problem(item, "single-select item has several correct options", "$.options"))
        for i, o in enumerate(item.options):
            if not o.correct and not o.feedback:
                out.append(item_problem(item, f"distractor {o.id} has no feedback", f"$.options[{i}]"))
        return out or [*answer_length_problems(item), *shuffle_problems(self, item, checks)]

    def key_entry(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        correct = sorted(choice_key(item).correct)
        return {"type": item.type, "answer": correct if item.select == "multiple" else correct[0]}

    def grade(self, item: Item, response: object, params: Mapping[str, float] | None) -> Result:
        return in_bank_ids(item, grade_choice(choice_key(item), response))

    def read(self, entry: ManifestItem, response: object) -> object:
        return read_choice(ChoiceKey(entry.options, frozenset(), entry.select == "multiple"), response)

    def key_points(self, item: Item, params: Mapping[str, float] | None) -> tuple[tuple[str, float], ...]:
        return ((",".join(sorted(choice_key(item).correct)), 0.0),)

    def answer_ranges(self, item: Item, entry: ManifestItem,
                      response: object) -> tuple[tuple[str, float, float], ...]:
        chosen = self.read(entry, response)
        return ((",".join(sorted(chosen)), 0.0, 0.0),) if isinstance(chosen, list) else ()

    def manifest_fields(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        return {"select": item.select, "options": tuple(label for label, _ in item.display_options())}

    def answer_instructions(self, item: Item, entry: ManifestItem) -> str:
        if item.select == "multiple":
            return "Options (answer with every correct id, e.g. [A, C]):"
        return "Options (answer with one id, e.g. B):"

    def choices(self, item: Item) -> list[tuple[str, str]]:
        return [(label, o.text) for label, o in item.display_options()]

    def answer_input(self, entry: ManifestItem) -> str:
        return MANY if entry.select == "multiple" else ONE

    def show_fields(self, item: Item) -> dict[str, Any]:
        return {"select": item.select,
                "options": [{"id": label, "text": text} for label, text in self.choices(item)]}

    def solution_lines(self, item: Item, key: Mapping[str, Any]) -> list[str]:
        """'C' (or 'A, C'), then each right option with its text."""
        right = [key["answer"]] if isinstance(key["answer"], str) else list(key["answer"])
        texts = dict(self.choices(item))
        return [", ".join(right), *(f"{label}. {texts[label]}" for label in right)]

    def notebook_prompt(self, item: Item, entry: ManifestItem, base: Path, var: str) -> list[str]:
        how = ("a list of every correct option id, e.g. `[\"A\", \"C\"]`" if item.select == "multiple"
               else "the id of one option, e.g. `\"B\"`")
        return [f"Set `{var}` to {how}.", "",
                *(f"- **{label}.** {text}" for label, text in self.choices(item))]

    def notebook_reference(self, item: Item, key: Mapping[str, Any]) -> tuple[str, str]:
        hint = "an option id such as \"B\"" if item.select == "single" else "a list such as [\"A\", \"C\"]"
        return json.dumps(key["answer"]), hint

    def secrets(self, bank: Bank, entry: ManifestItem, root: Path) -> Secrets:
        return Secrets(texts={o.feedback for o in bank.items[entry.id].options if o.feedback})


TYPES = (Trace(),)
