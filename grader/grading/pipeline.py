"""The one grading pipeline: a student's entries and answers to one Result per entry.

``grade check`` (practice and graded), ``grade batch``, the Gradescope autograder and the
notebook checks all go through ``grade_entries``. Answers go to their item's rule (graded mode:
the format check only); files go to a ``CodeRunner``, which each caller supplies: cold runs with
the workspace's cache for ``grade check``, the warm pool for a batch. One item's failure never
stops the others: a grader bug on one item is that item's error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from grader.items import PENDING, for_type
from grader.items.instance import grade_response
from grader.model.bank import Bank, Item
from grader.model.entry import ManifestItem
from grader.responses.answers_file import WrongShape
from grader.results.result import Result, error, grader_error
from grader.results.status import Status

# The results of the entries that hand in files (code items, kernel tasks), by id.
CodeRunner = Callable[[Sequence[ManifestItem]], Mapping[str, Result]]


def grade_entries(entries: Sequence[ManifestItem], answers: Mapping[str, object], bank: Bank | None,
                  run_code: CodeRunner, graded: bool = False) -> list[tuple[ManifestItem, Result]]:
    """Each entry with its Result: files through ``run_code``, answers through their rule
    (``graded``: only whether they can be read, and gradable runs as pending)."""
    code = run_code([e for e in entries if e.files])
    results = []
    for entry in entries:
        response = answers.get(entry.id)
        if entry.files:
            result = as_pending(code[entry.id]) if graded else code[entry.id]
        elif graded:
            result = check_format(entry, response)
        else:
            result = grade_practice(bank.items.get(entry.id) if bank else None, entry, response)
        results.append((entry, result))
    return results


def as_pending(result: Result) -> Result:
    """Graded mode: a gradable run is reported, and graded on submission."""
    if result.status.judged:  # "Correct." is not said before the due date
        return Result(Status.PENDING, 0.0, (*result.feedback[result.status.passed:], PENDING))
    return result


def check_format(entry: ManifestItem, response: object) -> Result:
    """Graded mode: is the answer readable? Uses only the manifest, never an expected answer."""
    if isinstance(response, WrongShape):
        return error(response.message())
    try:
        return for_type(entry.type).check_format(entry, response)
    except Exception as exc:  # as in practice: one item's grader bug is that item's error
        return grader_error(f"The grader failed on this item ({type(exc).__name__}: {exc}); "
                     "please report it. Your other answers were checked.")


def grade_practice(item: Item | None, entry: ManifestItem, response: object) -> Result:
    """Practice mode: grade against the bank's solver at the manifest's parameters, in the
    labels the entry's shuffle gives the options and steps."""
    if item is None:
        return error(f"Item {entry.id} is not in the installed bank; update grade or the workspace.")
    if item.type != entry.type:
        return error(f"Item {entry.id} is a {item.type} item in the bank but a {entry.type} item "
                     "in grade.yaml; the workspace is out of date.")
    unknown = sorted(set(entry.params) - set(item.params))
    if unknown:
        return error(f"grade.yaml gives item {entry.id} parameter(s) {', '.join(unknown)} that the "
                     "bank does not declare; the workspace is out of date.")
    if isinstance(response, WrongShape):
        return error(response.message())
    try:
        return grade_response(item.shuffled(entry.shuffle), response, entry.params)
    except Exception as exc:
        return grader_error(f"The grader failed on this item ({type(exc).__name__}: {exc}); "
                     "please report it. Your other answers were graded.")
