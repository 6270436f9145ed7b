"""The choice rule: single- or multiple-select answers to trace items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grader.results.result import Result, error, is_blank, unanswered
from grader.rules.selection import SelectionError, read_ids


@dataclass(frozen=True)
class ChoiceKey:
    """Option ids in display order, the correct ones, and per-option feedback."""

    options: Sequence[str]
    correct: frozenset[str]
    multiple: bool = False
    partial_credit: str = "none"  # or "per_option"
    feedback: Mapping[str, str] | None = None


def read_choice(key: ChoiceKey, response: object) -> list[str] | Result:
    """The chosen option ids, or the Result for a blank or malformed choice.

    Uses only the options, so it also checks the format of graded workspaces.
    """
    if is_blank(response):
        return unanswered()
    try:
        chosen = read_ids(response, key.options)
    except SelectionError as exc:
        return error(f"Could not read your choice: {exc}.")
    if len(set(chosen)) != len(chosen):
        return error("Could not read your choice: an option is listed twice.")
    if not key.multiple and len(chosen) != 1:
        return error("Choose exactly one option for this question.")
    return chosen


def option_notes(key: ChoiceKey, wrong: Sequence[str]) -> tuple[str, ...]:
    """The feedback of the wrongly picked options, in the order shown; several are each led by
    the label the student picked ("B: ...")."""
    notes = [(i, (key.feedback or {}).get(i, "").strip()) for i in wrong]
    notes = [(i, text) for i, text in notes if text]
    return tuple(f"{i}: {text}" if len(notes) > 1 else text for i, text in notes)


def grade_choice(key: ChoiceKey, response: object) -> Result:
    """Grade a choice response.

    Multiple select with ``per_option``: (right picks - wrong picks) / number of
    right options, floored at 0 (PrairieLearn's checkbox partial credit).
    """
    chosen = read_choice(key, response)
    if isinstance(chosen, Result):
        return chosen
    picked = set(chosen)
    notes = option_notes(key, [i for i in key.options if i in picked and i not in key.correct])
    if picked == key.correct:
        return Result("correct", 1.0, ("Correct.",), matched=",".join(sorted(picked)))
    score = 0.0
    if key.multiple and key.partial_credit == "per_option":
        right = len(picked & key.correct)
        wrong = len(picked - key.correct)
        score = max(0.0, (right - wrong) / len(key.correct))
    missing = key.correct - picked
    if key.multiple and missing:
        notes = (*notes, f"{len(missing)} correct option(s) not selected.")
    status = "partial" if score > 0 else "incorrect"
    return Result(status, score, notes or ("Not correct.",), matched=",".join(sorted(picked)))
