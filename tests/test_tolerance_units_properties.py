"""Property tests for tolerance rules, unit conversion and slip detection."""

from __future__ import annotations

import math

from hypothesis import assume, given
from hypothesis import strategies as st

from grader.responses.units import parse_unit
from grader.rules.numeric import NumericKey, grade_numeric
from grader.rules.slips import find_slip
from grader.rules.tolerance import DEFAULT_TOLERANCE, Tolerance

positive = st.floats(min_value=1e-6, max_value=1e15, allow_nan=False, allow_infinity=False)
anything = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
FLOP_UNITS = ["FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP"]
BYTE_UNITS = ["B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"]


@given(expected=anything, decimals=st.integers(0, 6))
def test_decimals_rule_accepts_the_correctly_rounded_value(expected, decimals):
    tol = Tolerance("decimals", decimals)
    assert tol.accepts(round(expected, decimals), expected)


@given(expected=anything, decimals=st.integers(0, 6))
def test_decimals_rule_rejects_one_unit_in_the_last_place_beyond_rounding(expected, decimals):
    tol = Tolerance("decimals", decimals)
    step = 10.0 ** -decimals
    assume(abs(expected) < 1e6)
    assert not tol.accepts(round(expected, decimals) + 1.01 * step, expected)


@given(expected=positive, sig=st.integers(1, 8))
def test_sig_figs_rule_accepts_the_value_rounded_to_n_figures(expected, sig):
    rounded = float(f"{expected:.{sig - 1}e}")
    assert Tolerance("sig_figs", sig).accepts(rounded, expected)


@given(expected=positive, rel=st.floats(1e-6, 0.2))
def test_relative_rule_boundary(expected, rel):
    tol = Tolerance("relative", rel)
    assert tol.accepts(expected * (1 + rel * 0.99), expected)
    assert not tol.accepts(expected * (1 + rel * 1.01), expected)


@given(rel=st.floats(1e-6, 0.2))
def test_zero_expected_is_accepted_exactly_under_every_rule(rel):
    for tol in (Tolerance("relative", rel), Tolerance("absolute", rel), Tolerance("decimals", 3),
                Tolerance("sig_figs", 3)):
        assert tol.accepts(0.0, 0.0)
        assert tol.accepts(-0.0, 0.0)
    assert not Tolerance("relative", rel).accepts(1e-9, 0.0)


@given(value=positive, src=st.sampled_from(FLOP_UNITS), dst=st.sampled_from(FLOP_UNITS))
def test_an_answer_in_any_prefix_is_correct(value, src, dst):
    expected = value * parse_unit(src).factor
    key = NumericKey(expected, src, DEFAULT_TOLERANCE)
    shown = expected / parse_unit(dst).factor
    assert grade_numeric(key, f"{shown!r} {dst}").status == "correct"


@given(value=positive, asked=st.sampled_from(BYTE_UNITS), given_unit=st.sampled_from(BYTE_UNITS))
def test_byte_units_convert_exactly(value, asked, given_unit):
    expected = value * parse_unit(asked, bytes_context=True).factor
    key = NumericKey(expected, asked, DEFAULT_TOLERANCE)
    shown = expected / parse_unit(given_unit, bytes_context=True).factor
    assert grade_numeric(key, f"{shown!r} {given_unit}").status == "correct"


@given(value=positive, prefix=st.sampled_from(["K", "M", "G", "T"]))
def test_ambiguous_items_accept_both_readings_and_say_which(value, prefix):
    unit = f"{prefix}B"
    binary = parse_unit(unit, bytes_context=True).binary_factor
    key = NumericKey(value * binary, unit, DEFAULT_TOLERANCE, binary_ambiguous=True)
    as_binary = grade_numeric(key, value)
    as_decimal = grade_numeric(key, value * binary / parse_unit(unit, bytes_context=True).factor)
    assert (as_binary.status, as_binary.matched) == ("correct", "binary")
    assert (as_decimal.status, as_decimal.matched) == ("correct", "decimal")
    strict = NumericKey(value * binary, unit, DEFAULT_TOLERANCE)
    assert grade_numeric(strict, value).status == "incorrect"


@given(expected=positive, k=st.integers(-12, 12).filter(lambda k: k != 0))
def test_power_of_ten_slips_are_named(expected, k):
    slip = find_slip(expected * 10.0**k, expected, DEFAULT_TOLERANCE)
    assert slip is not None and f"10^{k}" in slip.label


@given(expected=positive, n=st.integers(1, 4), sign=st.sampled_from([-1, 1]))
def test_binary_prefix_slips_are_named_when_bytes_are_involved(expected, n, sign):
    factor = (1024 / 1000) ** (sign * n)
    slip = find_slip(expected * factor, expected, DEFAULT_TOLERANCE, bytes_involved=True)
    assert slip is not None and f"binary^{sign * n}" in slip.label
    assert find_slip(expected * factor, expected, DEFAULT_TOLERANCE) is None or n > 1


@given(expected=positive, noise=st.floats(1.05, 1.8))
def test_ordinary_wrong_answers_are_not_called_slips(expected, noise):
    assume(abs(math.log10(noise) - round(math.log10(noise))) > 0.01)
    assert find_slip(expected * noise, expected, DEFAULT_TOLERANCE) is None


RULES = st.one_of(st.builds(Tolerance, st.just("relative"), st.floats(0, 0.9)),
                  st.builds(Tolerance, st.just("absolute"), st.floats(0, 1e3)),
                  st.builds(Tolerance, st.just("decimals"), st.integers(0, 6).map(float)),
                  st.builds(Tolerance, st.just("sig_figs"), st.integers(1, 6).map(float)))


@given(tol=RULES, expected=anything, where=st.floats(-1, 1))
def test_every_expected_value_that_accepts_an_answer_lies_in_its_expected_range(tol, expected, where):
    """The collusion check searches sorted keys by this range: it must never leave one out."""
    given_value = expected + where * tol.allowed_error(expected)
    assume(tol.accepts(given_value, expected))
    bounds = tol.expected_range(given_value)
    assert bounds is not None and bounds[0] <= expected <= bounds[1]


def test_the_expected_range_is_narrow_for_a_tight_rule():
    low, high = Tolerance("relative", 0.01).expected_range(100.0)
    assert 99.0 <= low < 99.1 and 101.0 < high <= 101.1
    assert Tolerance("relative", 0.01).expected_range(math.inf) is None
