"""``grade validate --code``: the code items' files, run through the real sandbox.

The reference must pass every hidden and public test, every declared mutant must fail
at least one hidden test, and the unfixed template must pass none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.model import Item
from grader.paths import REPO_ROOT
from grader.problems import Problem
from grader.rules.code import case_name
from grader.sandbox.limits import Limits
from grader.sandbox.runner import CodeRun, WarmRunner, run_tests


@dataclass(frozen=True)
class CodeCheck:
    """Run ``source`` against ``tests`` and expect ``all`` to pass, ``some`` to fail or ``none`` to pass."""

    label: str
    source: str
    tests: str
    expect: str


def code_checks(item: Item) -> list[CodeCheck]:
    spec = item.code
    assert spec is not None
    return [CodeCheck("reference", spec.reference, spec.hidden_tests, "all"),
            CodeCheck("reference", spec.reference, spec.public_tests, "all"),
            CodeCheck("template", spec.template, spec.hidden_tests, "none"),
            *(CodeCheck(f"mutant {Path(m).stem}", m, spec.hidden_tests, "some") for m in spec.mutants)]


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


def validate_code_item(item: Item, root: Path = REPO_ROOT) -> list[Problem]:
    """Every check of ``item`` in the sandbox. The hidden-test checks share one warm runner."""
    spec = item.code
    assert spec is not None
    module = Path(spec.template).stem
    limits = Limits().with_timeout(spec.timeout_s)
    checks = code_checks(item)
    runs: list[CodeRun] = []
    with WarmRunner(root / spec.hidden_tests, module, tuple(spec.requires), limits) as warm:
        for check in checks:
            files = {f"{module}.py": (root / check.source).read_bytes()}
            if check.tests == spec.hidden_tests:
                runs.append(warm.run(files))
            else:
                runs.append(run_tests(files, module, root / check.tests, tuple(spec.requires), limits))
    return [Problem(item.source, f"{check.label} ({check.source}) {why}", item=item.id, path="$.code")
            for check, result in zip(checks, runs, strict=True) if (why := _verdict(check, result))]
