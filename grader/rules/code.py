"""The code rule: a sandboxed test run becomes a Result, one point share per test case.

Feedback names failing cases by their test names only (student-safe words), never
by hidden inputs; the messages of public tests, which students have, are shown.
"""

from __future__ import annotations

from grader.result import Result
from grader.sandbox.runner import CodeRun

FATAL_MESSAGES = {
    "timeout": "Stopped: your code ran too long ({detail}). Look for an infinite loop or "
               "an algorithm much slower than linear.",
    "memory_limit": "Stopped: your code used too much memory ({detail}).",
    "crashed": "Stopped: the process running your code exited ({detail}). Do not call exit() "
               "or os._exit() in your module.",
    "output_limit": "Stopped: your code wrote too much ({detail}). Remove large prints or files.",
    "forbidden": "Stopped: your code tried something the grader does not allow ({detail}): "
                 "no network, subprocesses, ctypes or signals.",
    "tampered": "Stopped: the grader's channel to your code was disturbed ({detail}).",
}
GRADER_FAILURE = ("The grader could not test your code here ({detail}). This is not a problem in "
                  "your code: tell whoever runs the grader (pip install 'lm-workbook-grader' brings "
                  "what it needs).")
MAX_LISTED = 6


def case_name(test: str) -> str:
    """'test_pairs_do_not_cross_sequence_boundaries[3]' -> 'pairs do not cross sequence boundaries [3]'."""
    name, _, param = test.partition("[")
    words = name.removeprefix("test_").replace("_", " ")
    return f"{words} [{param}" if param else words


def grade_code_run(run: CodeRun, show_messages: bool, label: str = "tests") -> Result:
    """Score = passed / total cases; any sandbox failure scores zero with its own status."""
    if run.fatal is not None:
        kind, detail = run.fatal
        if kind == "grader":  # an error of the grader's, not graded, never cached
            return Result("error", 0.0, (GRADER_FAILURE.format(detail=detail),), matched="grader")
        return Result(kind, 0.0, (FATAL_MESSAGES[kind].format(detail=detail),), matched=kind)
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
