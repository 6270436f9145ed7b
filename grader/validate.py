"""``grade validate``: everything that must hold for the bank to be usable.

Schema, ids, parameters, prompt rendering, units, every solver on its defaults
and on sampled variants, solver vs the workbook's stated answer (unless an
erratum is recorded), known mistakes distinct from the right answer, options,
steps, code files and the mutants' patches (each mutant applies to its solution).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from grader.constraints import broken, check_names
from grader.instance import VariantError, instantiate, numeric_key, sample_variant
from grader.loader import load_bank
from grader.model import Bank, Item
from grader.mutants import patch_problems
from grader.problems import Problem
from grader.quantity import Quantity
from grader.render import RenderError, placeholders
from grader.rules.numeric import NumericKey, grade_numeric
from grader.solvers import SolverError
from grader.units import UnitError, parse_unit

DEFAULT_SAMPLES = 25


@dataclass
class Report:
    """What validation found and how much it checked."""

    bank: Bank
    problems: list[Problem] = field(default_factory=list)
    solver_runs: int = 0
    code_runs: int = 0
    kernel_tasks: int = 0
    kernel_runs: int = 0
    notes: list[str] = field(default_factory=list)  # checks this machine could not run

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_bank(bank_dir: Path, samples: int = DEFAULT_SAMPLES, seed: int = 0,
                  code: bool = False) -> Report:
    """Load and check the bank in ``bank_dir``; with ``code``, run the code items in the sandbox."""
    loaded = load_bank(bank_dir)
    report = Report(loaded.bank, list(loaded.problems))
    numbers = [c.number for c in loaded.bank.chapters]
    for n in sorted({n for n in numbers if numbers.count(n) > 1}):
        files = [c.source for c in loaded.bank.chapters if c.number == n]
        report.problems.append(Problem(files[-1], f"chapter {n} is defined in several files: "
                                       + ", ".join(files)))
    for item in loaded.bank.items.values():
        report.problems.extend(_check_item(item, loaded.bank, samples, seed, report))
    report.problems.extend(_check_kernels(loaded.bank, report))
    if code and not report.problems:
        from concurrent.futures import ThreadPoolExecutor

        from grader.code_validation import validate_code_item, validate_kernel_task

        code_items = [i for i in loaded.bank.items.values() if i.code is not None]
        with ThreadPoolExecutor(max_workers=2) as pool:
            for problems, runs in pool.map(lambda i: validate_code_item(i, loaded.bank.root), code_items):
                report.problems.extend(problems)
                report.code_runs += runs
            for problems, runs, skipped in pool.map(
                    lambda t: validate_kernel_task(t, loaded.bank.root), loaded.bank.kernels.values()):
                report.problems.extend(problems)
                report.kernel_runs += runs
                report.notes += [skipped] if skipped else []
    return report


def _check_kernels(bank: Bank, report: Report) -> list[Problem]:
    """The kernel section's workbook items exist and its mutants' patches apply (the loader
    checked its schema, formulas and files)."""
    from grader.kernels.spec import KERNELS_FILE

    report.kernel_tasks = len(bank.kernels)
    return [*(Problem(str(KERNELS_FILE), f"{task.id}: item {i} is not in the bank")
              for task in bank.kernels.values() for i in task.items if i not in bank.items),
            *(Problem(exc.file or str(KERNELS_FILE), f"{task.id}: {exc}", path=exc.where or None)
              for task in bank.kernels.values()
              for exc in patch_problems(bank.root, task.mutants, task.solution))]


def _check_item(item: Item, bank: Bank, samples: int, seed: int, report: Report) -> list[Problem]:
    def problem(message: str, path: str | None = None) -> Problem:
        return Problem(item.source, message, item=item.id, path=path)

    out: list[Problem] = []
    if int(item.id.split(".")[0]) != item.chapter:
        out.append(problem(f"id {item.id} does not belong to chapter {item.chapter}", "$.id"))
    if item.type == "derive":
        out.extend(_check_derive(item, samples, seed, report, problem))
    elif item.type == "trace":
        out.extend(_check_trace(item, problem))
    elif item.type == "design":
        ids = [s.id for s in item.steps]
        if len(set(ids)) != len(ids):
            out.append(problem("step ids are not unique", "$.steps"))
        elif item.correct_display_order() == sorted(item.correct_display_order()):
            out.append(problem("the shuffled display order is already correct", "$.steps"))
    elif item.code is not None:
        spec, missing = item.code, []
        for label, rel in [("template", spec.template), ("public_tests", spec.public_tests),
                           ("reference", spec.reference), ("hidden_tests", spec.hidden_tests),
                           *[("mutants", m) for m in spec.mutants]]:
            if not (bank.root / rel).is_file():
                missing.append(problem(f"{label} file {rel} does not exist", f"$.code.{label}"))
        out += missing or [Problem(exc.file or item.source, str(exc), item=item.id, path=exc.where or None)
                           for exc in patch_problems(bank.root, spec.mutants, spec.reference)]
    return out


def _check_trace(item: Item, problem) -> list[Problem]:
    out = []
    ids = [o.id for o in item.options]
    correct = [o for o in item.options if o.correct]
    if len(set(ids)) != len(ids):
        out.append(problem("option ids are not unique", "$.options"))
    if not correct:
        out.append(problem("no option is marked correct", "$.options"))
    if item.select == "single" and len(correct) > 1:
        out.append(problem("single-select item has several correct options", "$.options"))
    for i, o in enumerate(item.options):
        if not o.correct and not o.feedback:
            out.append(problem(f"distractor {o.id} has no feedback", f"$.options[{i}]"))
    return out


def _check_derive(item: Item, samples: int, seed: int, report: Report, problem) -> list[Problem]:
    assert item.answer is not None
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
    out.extend(problem(text, "$.constraints") for text in check_names(item.constraints, item.params))
    if not out and broken(item.constraints, item.defaults()):
        out.append(problem(f"the defaults break {', '.join(broken(item.constraints, item.defaults()))}",
                           "$.constraints"))
    unknown = placeholders(item.prompt) - set(item.params)
    if unknown:
        out.append(problem(f"prompt uses undeclared parameter(s): {', '.join(sorted(unknown))}",
                           "$.prompt"))
        return out
    try:
        instantiate(item)
        key = numeric_key(item, item.defaults())
    except (SolverError, RenderError) as exc:
        return [*out, problem(f"on defaults: {exc}", "$.solver")]
    report.solver_runs += 1 + len(item.known_mistakes)
    asked = key.asked_unit()
    for label, _feedback, wrong in key.mistakes:
        if grade_numeric(key, wrong / asked.factor).status == "correct":
            out.append(problem(f"known mistake '{label}' is accepted as correct on defaults",
                               "$.known_mistakes"))
    out.extend(_check_workbook(item, key, problem))
    if out:
        return out
    rng = random.Random(f"{seed}:{item.id}")
    try:
        for _ in range(samples):
            instantiate(item, sample_variant(item, rng, distinct=True))
            report.solver_runs += 1 + len(item.known_mistakes)
    except (SolverError, RenderError, VariantError) as exc:
        out.append(problem(str(exc), "$.params"))
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
        f"solver gives {shown:.6g} {key.unit} but the workbook says {value:g} "
        f"{unit or key.unit}, and no erratum is recorded", "$.workbook_answer")]

