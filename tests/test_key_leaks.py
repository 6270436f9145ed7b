"""No message gives the key away: every item of the bank, driven through the error paths of its
type (unreadable, wrong dimension, wrong option, wrong order, a slip, a wrong number), answers
with feedback that does not contain its answer, and the messages for unreadable answers are the
same whatever the key is."""

from __future__ import annotations

import dataclasses
import re

import pytest

from grader.bank.loader import load_bank
from grader.items.instance import (
    choice_key,
    grade_response,
    instantiate,
    key_entry,
    numeric_key,
    ordering_key,
)
from grader.rules.choice import grade_choice
from grader.rules.numeric import grade_numeric
from grader.rules.ordering import grade_ordering
from tests.conftest import BANK_DIR
from tests.workspace_helpers import grade

BANK = load_bank(BANK_DIR).bank
UNREADABLE_NUMBERS = ("abc", "1,2,3.4", "3 +", "exp(3)", "2**", "1e400", "nan", "-", "3 parsecs",
                      "12 seconds", "4 GB", "5 %", "[1, 2]", "x" * 300, "１２")
UNREADABLE_IDS = ("Z", "A Z", "AZ", "[A, Q]", "1", "", "A,,", "[[A]]", "ZZZZZZZ")


def _spellings(value: float) -> set[str]:
    """How the key could be printed: significant figures with and without separators."""
    forms = {f"{value:.{d}g}" for d in (3, 4, 5)} | {f"{value:,.{d}f}" for d in (0, 1, 2)}
    return {f for f in forms if len(re.sub(r"\D", "", f)) >= 3}  # short numbers occur anywhere


def _text(result) -> str:
    return " ".join(result.feedback)


@pytest.mark.parametrize("item_id", [i for i, item in BANK.items.items() if item.type == "derive"])
def test_a_wrong_or_unreadable_number_never_shows_the_answer(item_id: str):
    item = BANK.items[item_id]
    entry = key_entry(item)
    key = numeric_key(item, instantiate(item).params)
    asked = entry["answer"]
    spellings = _spellings(asked) | {s for a in entry.get("accept", []) for s in _spellings(a["value"])}
    unit = "" if entry["unit"] == "1" else entry["unit"]  # "1": a plain number
    wrong = [f"{asked * f:.6g} {unit}" for f in (10, 0.1, 1.5, 0.5, 1000)] + [f"{asked * 3:.6g}"]
    # each known mistake's own value: its feedback is fixed text, and it once quoted the answer
    wrong += [f"{value / key.asked_unit().factor:.6g} {unit}" for _, _, value in key.mistakes]
    for response in (*UNREADABLE_NUMBERS, *wrong):
        result = grade_response(item, response)
        if result.status == "correct":
            continue
        text = _text(result)
        shown = [s for s in spellings if re.search(rf"(?<![\d.,]){re.escape(s)}(?![\d]|[.,]\d)", text)]
        assert not shown, (response, text, shown)
    # an unreadable answer reads the same whatever the key: nothing of it can be inferred
    other = dataclasses.replace(key, expected=key.expected * 1.37)
    for response in UNREADABLE_NUMBERS:
        first, second = grade_numeric(key, response), grade_numeric(other, response)
        if first.status == "error":
            assert first.feedback == second.feedback, response


@pytest.mark.parametrize("item_id", [i for i, item in BANK.items.items() if item.type == "trace"])
def test_an_unreadable_choice_reads_the_same_whatever_is_right(item_id: str):
    item = BANK.items[item_id]
    key = choice_key(item)
    options = sorted(key.options)
    others = [dataclasses.replace(key, correct=frozenset({o}), multiple=False) for o in options]
    for response in UNREADABLE_IDS:
        texts = {tuple(grade_choice(k, response).feedback) for k in (key, *others)
                 if grade_choice(k, response).status == "error"}
        assert len(texts) <= 1, (response, texts)  # the same message whatever is right


@pytest.mark.parametrize("item_id", [i for i, item in BANK.items.items() if item.type == "design"])
def test_a_wrong_or_unreadable_order_never_shows_the_order(item_id: str):
    item = BANK.items[item_id]
    key = ordering_key(item)
    order = list(key.order)
    rotated = dataclasses.replace(key, order=tuple(order[1:] + order[:1]))
    reverse = dataclasses.replace(key, order=tuple(reversed(order)))
    for response in (*UNREADABLE_IDS, order[:2], [*order[:-1], order[0]]):
        results = [grade_ordering(k, response) for k in (key, rotated, reverse)]
        assert results[0].status in ("error", "unanswered"), (response, results[0])
        assert len({(r.status, r.feedback) for r in results}) == 1, (response, results)
    wrong = [order[1], order[0], *order[2:]]
    assert "".join(order) not in _text(grade_ordering(key, wrong))
    assert ", ".join(order) not in _text(grade_ordering(key, wrong))


def test_an_unreadable_answers_file_quotes_no_answer(tmp_path):
    """The answers file's own errors give an example: never an item's answer (it was 1.1's)."""
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "1.1").exit_code == 0
    (ws / "answers.yaml").write_text("- 1\n- 2\n")
    result = grade("check", ws)
    spellings = _spellings(key_entry(BANK.items["1.1"])["answer"])
    assert result.exit_code != 0 and "must map item ids to answers" in result.output, result.output
    assert not any(s in result.output for s in spellings), result.output
