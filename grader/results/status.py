"""Every status an item's result can have, and what each output makes of it: the one table.

A leaf module (it imports nothing of the grader). ``Status`` is a ``str``: a member equals its
label, which is the string the JSON outputs carry (``grade check --json``, ``results/*.json``),
so ``Status.MEMORY_LIMIT == "memory_limit"`` and ``json.dumps`` writes the label.

Each row says:

- ``symbol`` and ``style``: the terminal table's cell, ``"<symbol> <label, _ as space>"`` in
  that rich style;
- ``gradescope``: the status of the item's test in Gradescope's results.json (``passed`` or
  ``failed``, the only two the spec knows);
- ``junit``: the element under the item's ``<testcase>`` in junit.xml (``None``: it passed);
- ``judged``: the rule judged the answer right, partly right or wrong (a graded workspace shows
  these as ``pending``; partly right and wrong ones count as a wrong answer for the hints);
- ``answered``: progress counts the item as answered (readable, in a graded workspace);
- ``attempted``: something was handed in (item analysis lists the answers that were not right);
- ``description``: what the status means, in words safe to show a student;
- ``stopped``: for the ways sandboxed code fails, the feedback the code rule gives (``{detail}``
  filled in by the sandbox's reason); ``None`` for every other status.

Adding a status is adding a row here; tests/test_status.py renders every row through every
output and fails on a status the rules or the sandbox produce that has no row.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class _Row:
    label: str
    symbol: str
    style: str
    gradescope: str
    junit: str | None
    judged: bool
    answered: bool
    attempted: bool
    description: str
    stopped: str | None = None


def _stopped(label: str, symbol: str, description: str, stopped: str) -> _Row:
    """A way sandboxed code fails: red, a failed test, handed in but not judged, zero points."""
    return _Row(label, symbol, "red", "failed", "failure", judged=False, answered=True, attempted=True,
                description=description, stopped=stopped)


class Status(str, Enum):
    """One item's status (see the module's docstring for the columns)."""

    # label, terminal symbol and style, Gradescope test status, JUnit element; then the flags
    CORRECT = _Row("correct", "✓", "green", "passed", None,
                   judged=True, answered=True, attempted=True,
                   description="Right: the item's full points.")
    PARTIAL = _Row("partial", "◐", "yellow", "failed", "failure",
                   judged=True, answered=True, attempted=True,
                   description="Partly right: a share of the points (for code, one share per passing test).")
    INCORRECT = _Row("incorrect", "✗", "red", "failed", "failure",
                     judged=True, answered=True, attempted=True,
                     description="Not right: no points. The feedback says what was recognised.")
    UNANSWERED = _Row("unanswered", "·", "dim", "failed", "failure",
                      judged=False, answered=False, attempted=False,
                      description="No answer yet, or a code file that is missing or still the template.")
    ERROR = _Row("error", "!", "magenta", "failed", "error",
                 judged=False, answered=False, attempted=True,
                 description="The answer could not be read, or the grader could not check it here; "
                             "the feedback says which and what to do.")
    PENDING = _Row("pending", "…", "cyan", "failed", "failure",
                   judged=False, answered=True, attempted=True,
                   description="Readable: graded when you submit (graded workspaces only).")
    # how sandboxed code fails (grader.sandbox.session.FATAL_KINDS): each scores zero for its item
    TIMEOUT = _stopped("timeout", "⏱", "Your code ran too long and was stopped.",
                       "Stopped: your code ran too long ({detail}). Look for an infinite loop or an "
                       "algorithm much slower than linear.")
    MEMORY_LIMIT = _stopped("memory_limit", "!", "Your code used too much memory and was stopped.",
                            "Stopped: your code used too much memory ({detail}).")
    CRASHED = _stopped("crashed", "!", "The process running your code exited before its tests finished.",
                       "Stopped: the process running your code exited ({detail}). Do not call exit() "
                       "or os._exit() in your module.")
    OUTPUT_LIMIT = _stopped("output_limit", "!", "Your code wrote too much output or too large files.",
                            "Stopped: your code wrote too much ({detail}). Remove large prints or files.")
    FORBIDDEN = _stopped("forbidden", "⛔", "Your code tried something the grader does not allow (network, "
                         "subprocesses, ctypes or signals).",
                         "Stopped: your code tried something the grader does not allow ({detail}): "
                         "no network, subprocesses, ctypes or signals.")
    TAMPERED = _stopped("tampered", "!",
                        "The grader's channel to your code was disturbed, so it was stopped.",
                        "Stopped: the grader's channel to your code was disturbed ({detail}).")

    # set from the row by __new__
    label: str
    symbol: str
    style: str
    gradescope: str
    junit: str | None
    judged: bool
    answered: bool
    attempted: bool
    description: str
    stopped: str | None

    def __new__(cls, row: _Row) -> Status:
        member = str.__new__(cls, row.label)
        member._value_ = row.label
        for name, value in vars(row).items():
            setattr(member, name, value)
        return member

    __str__ = str.__str__  # the label, in f-strings and str() too
    __format__ = str.__format__  # type: ignore[assignment]  # str's, not Enum's

    @property
    def passed(self) -> bool:
        """Full marks: the item's Gradescope test passed, its JUnit testcase holds nothing."""
        return self.gradescope == "passed"

    @property
    def terminal(self) -> str:
        """The terminal table's cell: '! memory limit'."""
        return f"{self.symbol} {self.label.replace('_', ' ')}"

    @classmethod
    def lookup(cls, label: object) -> Status | None:
        """The status of a stored label (progress.json, a result file), None when it is none."""
        return _BY_LABEL.get(label) if isinstance(label, str) else None  # a class has millions


_BY_LABEL: dict[str, Status] = {status.label: status for status in Status}
