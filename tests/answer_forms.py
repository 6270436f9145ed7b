"""How a student would write an item's reference answer, in the asked unit or another one."""

from __future__ import annotations

from collections.abc import Mapping

from grader.items.instance import numeric_key
from grader.model.bank import Item
from grader.responses.units import parse_unit

# A different prefix for each base dimension, to answer in a unit the item did not ask for.
OTHER_UNIT = {"flop": "FLOP", "byte": "KiB", "token": "tokens", "param": "params",
              "time": "s", "money": "USD", "angle": "rad"}


def in_asked_unit(item: Item, params: Mapping[str, float] | None = None) -> str:
    """'34359.738368 MFLOP': the answer as text in the unit the question asks for."""
    key = numeric_key(item, {**item.defaults(), **(params or {})})
    asked = key.asked_unit()
    text = repr(key.expected / asked.factor)
    if asked.text[:1].isdigit():  # '1e23 FLOP': the question asks for the mantissa alone
        return text
    return f"{text} {asked.text}" if asked.dims or asked.text == "%" else text


def in_other_unit(item: Item, params: Mapping[str, float] | None = None) -> str:
    """The answer in another prefix or unit ('3.4e10 FLOP' where MFLOP is asked)."""
    key = numeric_key(item, {**item.defaults(), **(params or {})})
    asked = key.asked_unit()
    dims = dict(asked.dims)
    if len(dims) == 1 and next(iter(dims)) in OTHER_UNIT and dims[next(iter(dims))] == 1:
        unit = OTHER_UNIT[next(iter(dims))]
        return f"{key.expected / parse_unit(unit, bytes_context=True).factor!r} {unit}"
    # rates, ratios and plain numbers: the same value with a magnitude word
    text = f"{key.expected / asked.factor / 1000!r} thousand"
    return f"{text} {asked.text}" if asked.dims else text
