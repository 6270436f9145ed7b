"""Reading numeric answers: accepted forms, and a clear message for every bad one."""

from __future__ import annotations

import pytest

from grader.responses.quantity import AnswerFormatError, parse_quantity
from grader.rules.numeric import NumericKey, grade_numeric
from grader.rules.tolerance import DEFAULT_TOLERANCE

KEY = NumericKey(34_359_738_368.0, "MFLOP", DEFAULT_TOLERANCE)


@pytest.mark.parametrize("text, value, unit", [
    ("34360", 34360, ""), ("34,360", 34360, ""), ("3.436e4", 34360, ""),
    ("3.436 x 10^4", 34360, ""), ("3.436×10^4", 34360, ""), ("3.436*10**4", 34360, ""),
    ("34.36 GFLOPs", 34.36, "GFLOPs"), ("$256", 256, "USD"), ("17.6%", 17.6, "%"),
    ("-1.07", -1.07, ""), ("\u22121.5", -1.5, ""), (".5", 0.5, ""), ("60B tokens", 60, "B tokens"),
])
def test_accepted_forms(text, value, unit):
    q = parse_quantity(text)
    assert q.value == pytest.approx(value) and q.unit_text == unit


@pytest.mark.parametrize("text, message", [
    ("3,4.5", "could not read '3,4.5' as a number"),
    ("9**9**9", "too large"),
    ("nan", "not a finite number"), ("-inf", "not a finite number"), ("Infinity", "not a finite"),
    ("1e999", "exponent"), ("1" * 41, "more than 40 digits"), ("x" * 10_000, "too long"),
    ("٣٤", "use the digits 0-9"), ("", "empty"), ("   ", "empty"),
    ("__import__('os').system('echo hi')", "could not read"),
    ("(lambda: 1)()", "could not read"), ("$12 GB", "cannot also carry"),
])
def test_rejected_forms_name_the_problem(text, message):
    with pytest.raises(AnswerFormatError, match=None) as info:
        parse_quantity(text)
    assert message in str(info.value)


@pytest.mark.parametrize("response, status", [
    (None, "unanswered"), ("", "unanswered"), (True, "error"), ([1, 2], "error"),
    ({"a": 1}, "error"), (float("nan"), "error"), (float("inf"), "error"),
    ("open('/etc/passwd')", "error"), ("34360 furlongs", "error"), ("34360 GB", "incorrect"),
])
def test_bad_responses_grade_without_raising(response, status):
    result = grade_numeric(KEY, response)
    assert result.status == status
    assert result.feedback and result.score == 0


def test_unit_mismatch_says_what_was_expected():
    result = grade_numeric(KEY, "34360 GB")
    assert "measures bytes, but the question asks for FLOPs" in result.feedback[0]
