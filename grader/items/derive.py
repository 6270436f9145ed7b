"""Derive items: a number (with its unit) computed from the item's parameters by a solver.

Also the variants: parameters drawn from the declared ranges, and the draws rejected because
they make a poor question.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.core.problems import Problem
from grader.items.base import PENDING, AnswerType, Checks, Secrets, item_problem
from grader.items.derive_text import Varied, default_number_problems, template_problems, variant_text_problem
from grader.items.written_number import written_number
from grader.model.bank import Bank, Item, KnownMistake, NumericAnswer, Param
from grader.model.constraints import broken, check_names, parse_constraint
from grader.model.derived import Derived, DerivedError, computed_param, expression_names
from grader.model.entry import ManifestItem
from grader.model.render import RenderError
from grader.model.solvers import SolverError, run_solver
from grader.model.text import item_text, quantities
from grader.responses.quantity import Quantity
from grader.responses.units import UnitError, asked_in_words, parse_unit, with_unit
from grader.results.result import Result
from grader.results.status import Status
from grader.rules.numeric import NumericKey, ReadNumber, asked_unit, grade_numeric, read_numeric
from grader.rules.tolerance import Tolerance


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
    """Draw every parameter in order; a computed one (``expr``) follows from those above it."""
    values: dict[str, float] = {}
    for name, p in item.params.items():
        values[name] = computed_param(name, p.expr, values) if p.expr else sample_param(p, rng)
    return values


MAX_VARIANT_TRIES = 400  # 8.5 keeps about 1 draw in 11: 400 tries fail with p < 1e-16


class VariantError(ValueError):
    """No usable variant could be drawn from an item's parameter ranges."""


def discriminates(key: NumericKey) -> bool:
    """True when no known mistake of this variant is accepted as the right answer."""
    asked = key.asked_unit()
    return all(grade_numeric(key, wrong / asked.factor).status != "correct"
               for _label, _fb, wrong in key.mistakes)


def coinciding_mistakes(key: NumericKey) -> list[tuple[str, str]]:
    """Pairs of known mistakes whose values the tolerance cannot tell apart (either one
    accepted as the other): a student who made the second would get the first's feedback."""
    asked, rule = key.asked_unit(), key.tolerance
    values = [(label, wrong / asked.factor) for label, _fb, wrong in key.mistakes]
    return [(a, b) for i, (a, x) in enumerate(values) for b, y in values[i + 1:]
            if rule.accepts(x, y) or rule.accepts(y, x)]


SANE_MAGNITUDE = (1e-12, 1e21)  # |answer| in the asked unit, so prompts and answers stay readable


def variant_problem(item: Item, params: Mapping[str, float], default: NumericKey | None) -> str | None:
    """Why ``params`` make a poor variant, or None when they are usable.

    A usable variant keeps the item's constraints, has a finite answer of sane size in the
    asked unit, tells every known mistake apart from the answer and from the other known
    mistakes (each gets its own feedback) and (given ``default``,
    the key at the default parameters) is not answered correctly by the default's answer.
    """
    bad = broken(item.constraints, params)
    if bad:
        return f"breaks {', '.join(bad)}"
    key = numeric_key(item, params)
    shown = key.expected / key.asked_unit().factor
    if not (math.isfinite(shown) and SANE_MAGNITUDE[0] <= abs(shown) <= SANE_MAGNITUDE[1]):
        return f"answer {with_unit(f'{shown:.3g}', key.unit)} is outside the sane range"
    if not discriminates(key):
        return "a known mistake is accepted as the answer"
    if coinciding_mistakes(key):
        return "two known mistakes coincide"
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
    """Run the solver (and known-mistake solvers) to build the numeric key; each mistake's
    feedback is rendered at ``params``."""
    assert item.answer is not None and item.solver is not None
    expected = run_solver(item.solver, params)
    feedback = item_text(item, params, expected / asked_unit(item.answer.unit).factor).feedback
    mistakes = []
    for m, told in zip(item.known_mistakes, feedback, strict=True):
        wrong = expected * m.factor if m.factor is not None else run_solver(m.solver or "", params)
        mistakes.append((m.label, told, wrong))
    return NumericKey(expected, item.answer.unit, item.answer.tolerance,
                      item.answer.binary_ambiguous, tuple(mistakes))


def _clean(value: float) -> float:
    return float(f"{value:.12g}")


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


class Derive(AnswerType):
    name = "derive"
    schema_def = "derive_item"

    def build(self, raw: Mapping[str, Any], common: dict[str, Any]) -> Item:
        ans = raw["answer"]
        wb = raw.get("workbook_answer")
        return Item(
            **common,
            params={n: Param(n, float(p["default"]), tuple(p["range"]) if "range" in p else None,
                             bool(p.get("integer")), p.get("step"), p.get("description", ""),
                             p.get("expr"))
                    for n, p in raw["params"].items()},
            solver=raw["solver"],
            answer=NumericAnswer(str(ans["unit"]), Tolerance.from_spec(ans.get("tolerance")),
                                 bool(ans.get("binary_ambiguous"))),
            workbook_answer=(float(wb["value"]), wb.get("unit")) if wb else None,
            known_mistakes=tuple(KnownMistake(m["label"], m["feedback"].strip(), m.get("factor"),
                                              m.get("solver")) for m in raw.get("known_mistakes", ())),
            constraints=tuple(parse_constraint(c) for c in raw.get("constraints", ())),
            derived={n: Derived.from_yaml(n, d) for n, d in raw.get("derived", {}).items()},
            facts=tuple(parse_constraint(c) for c in raw.get("facts", ())),
            fixed_numbers=tuple(float(x) for x in raw.get("fixed_numbers", ())),
        )

    def problems(self, item: Item, checks: Checks) -> list[Problem]:
        return _check_derive(item, checks)

    def variant(self, item: Item, rng: random.Random | None) -> dict[str, float] | None:
        return sample_variant(item, rng, distinct=True) if rng is not None else item.defaults()

    def key_entry(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        assert item.answer is not None
        key = numeric_key(item, item.values(params))
        asked = key.asked_unit()
        entry: dict[str, Any] = {"type": item.type, "answer": _clean(key.expected / asked.factor),
                                 "unit": item.answer.unit}
        if item.answer.binary_ambiguous and asked.has_binary_reading:
            entry["accept"] = [{"value": _clean(key.expected / asked.binary_factor),
                                "unit": binary_unit_name(item.answer.unit),
                                "reading": "binary"}]
        return entry

    def grade(self, item: Item, response: object, params: Mapping[str, float] | None) -> Result:
        return grade_numeric(numeric_key(item, item.values(params)), response)

    def read(self, entry: ManifestItem, response: object) -> object:
        return read_numeric(entry.unit or "1", response)

    def key_points(self, item: Item, params: Mapping[str, float] | None) -> tuple[tuple[str, float], ...]:
        """The answer in the asked unit, and where the binary reading is accepted, in it too."""
        assert item.answer is not None and item.solver is not None
        expected, asked = run_solver(item.solver, item.values(params)), asked_unit(item.answer.unit)
        points = [("decimal", expected / asked.factor)]
        if item.answer.binary_ambiguous:
            points.append(("binary", expected / asked.binary_factor))
        return tuple(points)

    def answer_ranges(self, item: Item, entry: ManifestItem,
                      response: object) -> tuple[tuple[str, float, float], ...]:
        """Around the number as ``grade_numeric`` reads it, in each reading it may be compared in."""
        assert item.answer is not None
        reading = read_numeric(item.answer.unit, response)
        if not isinstance(reading, ReadNumber):
            return ()
        number, given, asked = reading.quantity.value, reading.given, reading.asked
        values = [("decimal", number * given.factor / asked.factor)]
        if given.has_binary_reading or asked.has_binary_reading:
            values.append(("binary", number * given.binary_factor / asked.binary_factor))
        return tuple((name, *bounds) for name, value in values
                     if (bounds := item.answer.tolerance.expected_range(value)) is not None)

    def check_format(self, entry: ManifestItem, response: object) -> Result:
        reading = self.read(entry, response)
        if isinstance(reading, ReadNumber):  # readable: and what was read (working, a bare number)
            return Result(Status.PENDING, 0.0, (PENDING, *reading.notes))
        return super().check_format(entry, response)

    def manifest_fields(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        assert item.answer is not None
        return {"unit": item.answer.unit, "params": item.values(params)}

    def answer_instructions(self, item: Item, entry: ManifestItem) -> str:
        assert item.answer is not None
        return f"Answer {asked_in_words(item.answer.unit)} (checked {item.answer.tolerance.describe()})."

    def show_fields(self, item: Item) -> dict[str, Any]:
        assert item.answer is not None
        return {"unit": item.answer.unit, "tolerance": item.answer.tolerance.describe()}

    def solution_lines(self, item: Item, key: Mapping[str, Any]) -> list[str]:
        """'34,360 MFLOPs', then each other reading accepted: 'Also accepted: 512 MiB (binary)'."""
        assert item.answer is not None
        tolerance = item.answer.tolerance
        return [with_unit(written_number(key["answer"], tolerance), key["unit"]),
                *(f"Also accepted: {with_unit(written_number(a['value'], tolerance), a['unit'])} "
                  f"({a['reading']} reading)" for a in key.get("accept", ()))]

    def notebook_prompt(self, item: Item, entry: ManifestItem, base: Path, var: str) -> list[str]:
        return [f"{self.answer_instructions(item, entry)} Set `{var}` to a number in "
                f"the asked unit, or to text with a unit such as `\"12.5 GB\"`."]

    def notebook_reference(self, item: Item, key: Mapping[str, Any]) -> tuple[str, str]:
        return json.dumps(with_unit(repr(key["answer"]), key["unit"])), "a number, or text with a unit"

    def secrets(self, bank: Bank, entry: ManifestItem, root: Path) -> Secrets:
        item = bank.items[entry.id]
        key = self.key_entry(item, entry.params or None)
        refs = [item.solver, *(m.solver for m in item.known_mistakes)]
        return Secrets(numbers={key["answer"], *(a["value"] for a in key.get("accept", ()))},
                       names={r.split(":", 1)[1] for r in refs if r and ":" in r})


def _check_derive(item: Item, checks: Checks) -> list[Problem]:
    assert item.answer is not None

    def problem(message: str, path: str | None = None) -> Problem:
        return item_problem(item, message, path)

    out: list[Problem] = []
    try:
        parse_unit(item.answer.unit)
    except UnitError as exc:
        return [problem(f"answer unit: {exc}", "$.answer.unit")]
    for name, p in item.params.items():
        where = f"$.params.{name}"
        if p.range is not None:
            low, high = p.range
            if low > high:
                out.append(problem(f"range [{low}, {high}] is empty", where + ".range"))
            elif not low <= p.default <= high:
                out.append(problem(f"default {p.default:g} lies outside its range", where))
        if p.integer and not float(p.default).is_integer():
            out.append(problem(f"integer parameter has default {p.default:g}", where))
    out.extend(problem(message, f"$.params.{name}") for name, message in _computed_param_problems(item))
    out.extend(problem(text, "$.constraints") for text in check_names(item.constraints, item.params))
    if not out and broken(item.constraints, item.defaults()):
        out.append(problem(f"the defaults break {', '.join(broken(item.constraints, item.defaults()))}",
                           "$.constraints"))
    text_problems = template_problems(item)
    if text_problems:
        return [*out, *(problem(message, where) for where, message in text_problems)]
    varied = Varied()
    try:
        key = numeric_key(item, item.defaults())
        stated = variant_text_problem(item, item.defaults())
        varied.see(*quantities(item))
    except (SolverError, RenderError, DerivedError) as exc:
        return [*out, problem(f"on defaults: {exc}", "$.solver")]
    if stated:
        out.append(problem(f"on defaults: {stated}", "$.facts"))
    checks.solver_runs += 1 + len(item.known_mistakes)
    asked = key.asked_unit()
    for label, _feedback, wrong in key.mistakes:
        if grade_numeric(key, wrong / asked.factor).status == "correct":
            out.append(problem(f"known mistake '{label}' is accepted as correct on defaults",
                               "$.known_mistakes"))
    for first, second in coinciding_mistakes(key):
        out.append(problem(f"known mistakes '{first}' and '{second}' coincide on defaults: one "
                           "would get the other's feedback", "$.known_mistakes"))
    out.extend(_check_workbook(item, key, problem))
    if out:
        return out
    rng = random.Random(f"{checks.seed}:{item.id}")
    try:
        for _ in range(checks.samples):
            params = sample_variant(item, rng, distinct=True)
            checks.solver_runs += 1 + len(item.known_mistakes)
            stated = variant_text_problem(item, params)
            if stated:
                out.append(problem(f"a sampled variant contradicts itself: {stated}", "$.facts"))
                break
            varied.see(*quantities(item, params))
    except (SolverError, RenderError, DerivedError, VariantError) as exc:
        out.append(problem(str(exc), "$.params"))
    out.extend(problem(message, where) for where, message in default_number_problems(item, varied))
    return out


def _computed_param_problems(item: Item) -> list[tuple[str, str]]:
    """(name, message) for computed parameters that use later or unknown names, or whose
    default is not their value at the defaults."""
    out: list[tuple[str, str]] = []
    above: dict[str, float] = {}
    for name, p in item.params.items():
        if p.expr:
            unknown = expression_names(p.expr) - set(above)
            if unknown:
                out.append((name, f"expr uses {', '.join(sorted(unknown))}, not a parameter above it"))
            else:
                try:
                    value = computed_param(name, p.expr, above)
                    if not math.isclose(value, p.default, rel_tol=1e-9):
                        out.append((name, f"default {p.default:g} is not its expr at the defaults "
                                          f"({value:g})"))
                except DerivedError as exc:
                    out.append((name, str(exc)))
        above[name] = p.default
    return out


def _check_workbook(item: Item, key: NumericKey, problem) -> list[Problem]:
    """The solver's answer (``key``, at defaults) against the workbook's stated number."""
    if item.workbook_answer is None:
        return []
    value, unit = item.workbook_answer
    if grade_numeric(key, Quantity(value, unit or "")).status == "correct" or item.errata:
        return []
    shown = key.expected / key.asked_unit().factor
    return [problem(
        f"solver gives {with_unit(f'{shown:.6g}', key.unit)} but the workbook says "
        f"{with_unit(f'{value:g}', unit or key.unit)}, and no erratum is recorded", "$.workbook_answer")]


TYPES = (Derive(),)
