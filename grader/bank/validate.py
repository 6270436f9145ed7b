"""``grade validate``: everything that must hold for the bank to be usable.

Schema, ids, parameters, prompt rendering, units, every solver on its defaults
and on sampled variants, solver vs the workbook's stated answer (unless an
erratum is recorded), known mistakes distinct from the right answer, options,
steps, code files and the mutants' patches (each mutant applies to its solution).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.bank.loader import load_bank
from grader.core.problems import Problem
from grader.items import Checks, bank_type, item_problem
from grader.model.bank import Bank, Item
from grader.model.mutants import patch_problems

DEFAULT_SAMPLES = 100  # sampled variants per derive item (issue 18: every text must read true)


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

        from grader.bank.code_validation import validate_code_item, validate_kernel_task

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
    out: list[Problem] = []
    if int(item.id.split(".")[0]) != item.chapter:
        out.append(item_problem(item, f"id {item.id} does not belong to chapter {item.chapter}", "$.id"))
    checks = Checks(bank, samples, seed)
    out.extend(bank_type(item.type).problems(item, checks))
    report.solver_runs += checks.solver_runs
    return out
