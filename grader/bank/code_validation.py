"""``grade validate --code``: the code items' and kernel tasks' files, run through the
real sandbox.

The reference must pass every hidden and public test, every declared mutant must fail
at least one hidden test, and the unfixed template must pass none. A kernel task's
solution must pass its correctness check, and its template and every mutant must fail it.
Mutants are generated from their patch files (``grader.model.mutants``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.core.paths import COURSE_ROOT
from grader.core.problems import Problem
from grader.kernels.spec import KERNELS_FILE, KernelTask
from grader.model.bank import Item
from grader.model.mutants import apply_mutant, read_patches, read_solution
from grader.rules.code import case_name
from grader.sandbox.limits import Limits
from grader.sandbox.runner import CodeRun, WarmRunner, run_tests


@dataclass(frozen=True)
class CodeCheck:
    """Run ``code`` against ``tests`` and expect ``all`` to pass, ``some`` to fail or ``none`` to
    pass. ``source`` is where the code comes from: its file, or a mutant's patch file."""

    label: str
    source: str
    tests: str
    expect: str
    code: bytes


def code_checks(item: Item, root: Path = COURSE_ROOT) -> list[CodeCheck]:
    spec = item.code
    assert spec is not None
    reference = read_solution(root, spec.reference)
    template = (root / spec.template).read_bytes()
    return [CodeCheck("reference", spec.reference, spec.hidden_tests, "all", reference.encode()),
            CodeCheck("reference", spec.reference, spec.public_tests, "all", reference.encode()),
            CodeCheck("template", spec.template, spec.hidden_tests, "none", template),
            *(CodeCheck(f"mutant {m.name}", m.file, spec.hidden_tests, "some",
                        apply_mutant(reference, m).encode()) for m in read_patches(root, spec.mutants))]


def _verdict(check: CodeCheck, run: CodeRun) -> str | None:
    """None when the run is what the check expects; else what went wrong."""
    if run.fatal is not None:
        return f"the sandbox stopped it: {run.fatal[0]} ({run.fatal[1]})"
    if run.import_error is not None:
        return f"it does not import: {run.import_error.get('type')}: {run.import_error.get('message')}"
    failing = [case_name(o.test) for o in run.outcomes if o.outcome != "passed"]
    total = len(run.outcomes)
    if check.expect == "all" and failing:
        return f"fails {len(failing)}/{total} of {Path(check.tests).name}: {', '.join(failing[:3])}"
    if check.expect == "some" and not failing:
        return f"passes every test in {Path(check.tests).name}: no test catches this mutant"
    if check.expect == "none" and run.passed:
        return f"passes {run.passed}/{total} of {Path(check.tests).name}; the template should pass none"
    return None


def validate_code_item(item: Item, root: Path = COURSE_ROOT) -> tuple[list[Problem], int]:
    """(problems, sandboxed runs) of every check of ``item``. The hidden-test checks share one
    warm runner."""
    spec = item.code
    assert spec is not None
    module = Path(spec.template).stem
    limits = Limits().with_timeout(spec.timeout_s)
    checks = code_checks(item, root)
    runs: list[CodeRun] = []
    with WarmRunner(root / spec.hidden_tests, module, tuple(spec.requires), limits) as warm:
        for check in checks:
            files = {f"{module}.py": check.code}
            if check.tests == spec.hidden_tests:
                runs.append(warm.run(files))
            else:
                runs.append(run_tests(files, module, root / check.tests, tuple(spec.requires), limits))
    problems = [Problem(item.source, f"{check.label} ({check.source}) {why}", item=item.id, path="$.code")
                for check, result in zip(checks, runs, strict=True) if (why := _verdict(check, result))]
    return problems, len(runs)


def validate_kernel_task(task: KernelTask, root: Path = COURSE_ROOT) -> tuple[list[Problem], int, str | None]:
    """(problems, sandboxed checks run, why the task was skipped) for one kernel task."""
    from grader.kernels.check import check_kernel, execution_mode

    mode, why = execution_mode(task)
    if mode is None:
        return [], 0, f"kernel task {task.id} not run: {why}"
    main = Path(task.template).name
    solution = read_solution(root, task.solution)
    expected = [("solution", task.solution, solution.encode(), "passed"),
                ("template", task.template, (root / task.template).read_bytes(), "failed"),
                *((f"mutant {m.name}", m.file, apply_mutant(solution, m).encode(), "failed")
                  for m in read_patches(root, task.mutants))]
    problems = []
    for label, path, code, want in expected:
        report = check_kernel(task, {main: code})
        if report.status != want:
            detail = "; ".join(report.feedback[1:3]) or report.status
            problems.append(Problem(str(KERNELS_FILE), f"{task.id}: {label} ({path}) should have {want} its "
                                    f"correctness check but {report.status} ({detail})"))
    return problems, len(expected), None
