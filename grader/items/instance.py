"""Item instances: one item with concrete parameter values and its rendered prompt, and the
two ways in from outside: ``grade_response`` and ``key_entry``, which go to the item's type
(``grader.items``). The keys and the variant sampler live with their types
(``grader/items/derive.py``, ``trace.py``, ``design.py``) and are named here too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grader.items import bank_type
from grader.items.derive import numeric_key, sample_variant
from grader.items.design import ordering_key
from grader.items.trace import choice_key
from grader.model.bank import Item
from grader.model.text import ItemText, item_text
from grader.results.result import Result

__all__ = ["Instance", "choice_key", "grade_response", "instantiate", "key_entry",
           "numeric_key", "ordering_key", "sample_variant"]


@dataclass(frozen=True)
class Instance:
    """An item with concrete parameters and its text rendered at them."""

    item: Item
    params: Mapping[str, float]
    text: ItemText

    @property
    def prompt(self) -> str:
        return self.text.prompt


def instantiate(item: Item, params: Mapping[str, float] | None = None) -> Instance:
    """The item at ``params`` (defaults when None), with its text rendered."""
    values = item.values(params)
    return Instance(item, values, item_text(item, values))


def grade_response(item: Item, response: object, params: Mapping[str, float] | None = None) -> Result:
    """Grade one response to one item with the rule for its type."""
    return bank_type(item.type).grade(item, response, params)


def key_entry(item: Item, params: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The reference answer of one item: ``{type, answer, unit?, accept?}``."""
    return bank_type(item.type).key_entry(item, params)
