"""Item instances: one item with concrete parameter values, its expected answer,
and the key each rule grades against. Also the sampler for variant parameters."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grader.constraints import broken
from grader.model import Item, Param
from grader.render import render
from grader.result import Result, error
from grader.rules.choice import ChoiceKey, grade_choice
from grader.rules.numeric import NumericKey, grade_numeric
from grader.rules.ordering import OrderingKey, grade_ordering
from grader.solvers import SolverError, run_solver
from grader.units import parse_unit


@dataclass(frozen=True)
class Instance:
    """An item with concrete parameters and its rendered prompt."""

    item: Item
    params: Mapping[str, float]
    prompt: str


def instantiate(item: Item, params: Mapping[str, float] | None = None) -> Instance:
    """The item at ``params`` (defaults when None), with the prompt rendered."""
    values = dict(item.defaults())
    values.update(params or {})
    return Instance(item, values, render(item.prompt, values) if item.params else item.prompt)


def sample_param(param: Param, rng: random.Random) -> float:
    """Draw one value from a parameter's range, honouring integer and step."""
    if param.range is None:
        return param.default
    low, high = param.range
    value = rng.uniform(low, high)
    if param.step:
        lo_k, hi_k = math.ceil(low / param.step), math.floor(high / param.step)
        value = rng.randint(lo_k, hi_k) * param.step if lo_k <= hi_k else param.default
    elif not param.integer:  # a value the prompt can show exactly: 3 significant digits
        value = min(max(float(f"{value:.3g}"), low), high)
    if param.integer:
        value = float(min(max(round(value), math.ceil(low)), math.floor(high)))
    return float(f"{value:.12g}")  # 23 * 0.1 is 2.3, as the prompt prints it


def sample_params(item: Item, rng: random.Random) -> dict[str, float]:
    return {name: sample_param(p, rng) for name, p in item.params.items()}


MAX_VARIANT_TRIES = 400  # 8.5 keeps about 1 draw in 11: 400 tries fail with p < 1e-16


class VariantError(ValueError):
    """No usable variant could be drawn from an item's parameter ranges."""


def discriminates(key: NumericKey) -> bool:
    """True when no known mistake of this variant is accepted as the right answer."""
    asked = key.asked_unit()
    return all(grade_numeric(key, wrong / asked.factor).status != "correct"
               for _label, _fb, wrong in key.mistakes)


SANE_MAGNITUDE = (1e-12, 1e21)  # |answer| in the asked unit, so prompts and answers stay readable


def variant_problem(item: Item, params: Mapping[str, float], default: NumericKey | None) -> str | None:
    """Why ``params`` make a poor variant, or None when they are usable.

    A usable variant keeps the item's constraints, has a finite answer of sane size in the
    asked unit, tells every known mistake apart from the answer and (given ``default``,
    the key at the default parameters) is not answered correctly by the default's answer.
    """
    bad = broken(item.constraints, params)
    if bad:
        return f"breaks {', '.join(bad)}"
    key = numeric_key(item, params)
    shown = key.expected / key.asked_unit().factor
    if not (math.isfinite(shown) and SANE_MAGNITUDE[0] <= abs(shown) <= SANE_MAGNITUDE[1]):
        return f"answer {shown:.3g} {key.unit} is outside the sane range"
    if not discriminates(key):
        return "a known mistake is accepted as the answer"
    if default is not None and grade_numeric(key, default.expected / key.asked_unit().factor
                                             ).status == "correct":
        return "the default answer is accepted"
    return None


def sample_variant(item: Item, rng: random.Random, distinct: bool = False) -> dict[str, float]:
    """Draw parameters that make a usable variant (see ``variant_problem``).

    (E.g. for 2.2, d_model = 1536 makes "rounded up" equal "rounded to nearest";
    such draws are rejected.) ``distinct`` also rejects draws whose answer equals the
    default's. Raises VariantError when none is found.
    """
    default = numeric_key(item, item.defaults()) if distinct else None
    reason = "no draw"
    for _ in range(MAX_VARIANT_TRIES):
        params = sample_params(item, rng)
        try:
            reason = variant_problem(item, params, default) or ""
        except SolverError as exc:
            shown = ", ".join(f"{k}={v:g}" for k, v in params.items())
            raise SolverError(f"on sampled values {{{shown}}}: {exc}") from exc
        if not reason:
            return params
    raise VariantError(f"no usable variant in {MAX_VARIANT_TRIES} draws (the last {reason}): "
                       "narrow the parameter ranges or loosen the constraints")


def numeric_key(item: Item, params: Mapping[str, float]) -> NumericKey:
    """Run the solver (and known-mistake solvers) to build the numeric key."""
    assert item.answer is not None and item.solver is not None
    expected = run_solver(item.solver, params)
    mistakes = []
    for m in item.known_mistakes:
        wrong = expected * m.factor if m.factor is not None else run_solver(m.solver or "", params)
        mistakes.append((m.label, m.feedback, wrong))
    return NumericKey(expected, item.answer.unit, item.answer.tolerance,
                      item.answer.binary_ambiguous, tuple(mistakes))


def choice_key(item: Item) -> ChoiceKey:
    return ChoiceKey(
        options=[o.id for o in item.options],
        correct=frozenset(o.id for o in item.options if o.correct),
        multiple=item.select == "multiple",
        partial_credit=item.partial_credit,
        feedback={o.id: o.feedback for o in item.options},
    )


def ordering_key(item: Item) -> OrderingKey:
    return OrderingKey(order=item.correct_display_order(), partial_credit=item.partial_credit)


def grade_response(item: Item, response: object, params: Mapping[str, float] | None = None) -> Result:
    """Grade one response to one item with the rule for its type."""
    if item.type == "derive":
        return grade_numeric(numeric_key(item, instantiate(item, params).params), response)
    if item.type == "trace":
        return grade_choice(choice_key(item), response)
    if item.type == "design":
        return grade_ordering(ordering_key(item), response)
    return error(f"item {item.id} is a {item.type} item: code is graded by running tests, "
                 "which this version of the grader does not do yet")


def _clean(value: float) -> float:
    return float(f"{value:.12g}")


def key_entry(item: Item, params: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The reference answer of one item: ``{type, answer, unit?, accept?}``."""
    if item.type == "derive":
        assert item.answer is not None
        key = numeric_key(item, instantiate(item, params).params)
        asked = key.asked_unit()
        entry: dict[str, Any] = {"type": "derive", "answer": _clean(key.expected / asked.factor),
                                 "unit": item.answer.unit}
        if item.answer.binary_ambiguous and asked.has_binary_reading:
            entry["accept"] = [{"value": _clean(key.expected / asked.binary_factor),
                                "unit": binary_unit_name(item.answer.unit),
                                "reading": "binary"}]
        return entry
    if item.type == "trace":
        correct = sorted(o.id for o in item.options if o.correct)
        return {"type": "trace", "answer": correct if item.select == "multiple" else correct[0]}
    if item.type == "design":
        return {"type": "design", "answer": item.correct_display_order()}
    assert item.code is not None
    return {"type": item.type, "answer": item.code.reference}


def binary_unit_name(unit_text: str) -> str:
    """'MB' -> 'MiB', 'GB/s' -> 'GiB/s': how the binary reading is written."""
    parse_unit(unit_text, bytes_context=True)  # validates
    out = []
    for word in unit_text.split("/"):
        w = word.strip()
        if len(w) >= 2 and w[0] in "kKMGTP" and w[1:] in ("B", "byte", "bytes"):
            w = w[0].upper() + "i" + w[1:]
        out.append(w)
    return "/".join(out)
