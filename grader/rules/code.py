"""The code rule: a sandboxed test run becomes a Result, one point share per test case.

Feedback names failing cases by their test names only (student-safe words), never
by hidden inputs; the messages of public tests, which students have, are shown.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from grader import DISTRIBUTION
from grader.results.result import Result, grader_error
from grader.results.status import Status

if TYPE_CHECKING:  # the sandbox is imported only where code runs: Linux (sandbox_unavailable)
    from grader.sandbox.runner import CodeRun

GRADER_FAILURE = ("The grader could not test your code here ({detail}). This is not a problem in "
                  "your code: tell whoever runs the grader (installing the grader again brings "
                  "what it needs).")
MAX_LISTED = 6
# The sandbox (namespaces, Landlock, seccomp, rlimits) is Linux's; elsewhere no code runs.
PLATFORM_NAMES = {"win32": "Windows", "darwin": "macOS"}
NO_SANDBOX = ("{what} run in a Linux sandbox, which {system} does not have, so this one was not run. "
              "Use Linux or WSL 2: on Windows, 'wsl --install' gives you Ubuntu; on a Mac, a Linux virtual "
              "machine. There, pip install '{distribution}[{extra}]' and run grade check. This is not a "
              "problem in your code, and the other items were checked here as usual.")


def sandbox_unavailable(what: str = "Code items", extra: str = "code") -> Result | None:
    """Where the sandbox cannot run (anything but Linux), the grader's error that says what
    ``what`` needs: status error, matched "grader" (not graded, never cached). None on Linux."""
    if sys.platform.startswith("linux"):
        return None
    system = PLATFORM_NAMES.get(sys.platform, sys.platform)
    return grader_error(NO_SANDBOX.format(what=what, system=system, extra=extra, distribution=DISTRIBUTION))


def case_name(test: str) -> str:
    """'test_pairs_do_not_cross_sequence_boundaries[3]' -> 'pairs do not cross sequence boundaries [3]'."""
    name, _, param = test.partition("[")
    words = name.removeprefix("test_").replace("_", " ")
    return f"{words} [{param}" if param else words


def grade_code_run(run: CodeRun, show_messages: bool, label: str = "tests") -> Result:
    """Score = passed / total cases; any sandbox failure scores zero with its own status."""
    if run.fatal is not None:
        kind, detail = run.fatal
        status = Status.lookup(kind)
        if status is None or status.stopped is None:  # "grader": its error, not graded, never cached
            return grader_error(GRADER_FAILURE.format(detail=detail))
        return Result(status, 0.0, (status.stopped.format(detail=detail),), matched=kind)
    if run.import_error is not None:
        err = run.import_error
        return Result("error", 0.0, (f"Your module could not be imported: {err.get('type')}: "
                                     f"{err.get('message')}",), matched="import")
    total = len(run.outcomes)
    passed = run.passed
    failing = [o for o in run.outcomes if o.outcome != "passed"]
    lines = [f"{label.capitalize()}: {passed}/{total} passed."]
    for o in failing[:MAX_LISTED]:
        detail = f": {o.message.splitlines()[0][:300]}" if show_messages and o.message else ""
        lines.append(f"Failing: {case_name(o.test)}{detail}")
    if len(failing) > MAX_LISTED:
        lines.append(f"... and {len(failing) - MAX_LISTED} more.")
    if passed == total:
        return Result("correct", 1.0, ("Correct.", *lines))
    score = passed / total
    return Result("partial" if passed else "incorrect", score, tuple(lines))
