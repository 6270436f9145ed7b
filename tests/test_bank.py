"""The shipped bank: complete, valid, and every answer graded by the real solvers."""

from __future__ import annotations

import pytest

from grader.bank.loader import load_bank
from grader.bank.validate import validate_bank
from grader.items.instance import grade_response, key_entry, numeric_key
from tests.answer_forms import in_other_unit
from tests.conftest import BANK_DIR

# The workbook's exercise types, chapter by chapter (Derive, Trace, Build, Debug, Design).
WORKBOOK_TYPES = {
    "0.1": "derive", "0.2": "derive", "0.3": "derive", "0.4": "trace", "0.5": "derive",
    "0.6": "build",
    "1.1": "derive", "1.2": "derive", "1.3": "derive", "1.4": "derive", "1.5": "trace",
    "1.6": "derive",
    "2.1": "derive", "2.2": "derive", "2.3": "derive", "2.4": "derive", "2.5": "design",
    "3.1": "derive", "3.2": "derive", "3.3": "derive", "3.4": "trace", "3.5": "debug",
    "4.1": "derive", "4.2": "derive", "4.3": "derive", "4.4": "trace", "4.5": "derive",
    "5.1": "derive", "5.2": "derive", "5.3": "derive", "5.4": "trace", "5.5": "derive",
    "6.1": "derive", "6.2": "derive", "6.3": "derive", "6.4": "trace",
    "7.1": "derive", "7.2": "derive", "7.3": "derive", "7.4": "trace",
    "8.1": "derive", "8.2": "derive", "8.3": "trace", "8.4": "trace", "8.5": "derive",
    "9.1": "derive", "9.2": "derive", "9.3": "derive", "9.4": "design", "9.5": "derive",
    "9.6": "derive",
}
CHAPTER_TITLES = {
    0: "Tokenization & BPE", 1: "Resource Accounting", 2: "Architecture Details",
    3: "Mixture of Experts", 4: "GPUs & the Roofline", 5: "Parallelism", 6: "Scaling Laws",
    7: "Inference & KV Cache", 8: "Alignment Math", 9: "Capstone — Size and Cost a Full Run",
}
DERIVE_IDS = sorted((i for i, t in WORKBOOK_TYPES.items() if t == "derive"),
                    key=lambda s: tuple(map(int, s.split("."))))



def test_bank_has_the_51_workbook_exercises_with_their_types(bank):
    assert len(WORKBOOK_TYPES) == 51
    assert {i: it.type for i, it in bank.items.items()} == WORKBOOK_TYPES


def test_chapters_are_numbered_and_titled_as_in_the_workbook(bank):
    assert {c.number: c.title for c in bank.chapters} == CHAPTER_TITLES


def test_shipped_bank_validates_with_sampled_variants():
    report = validate_bank(BANK_DIR, samples=10)
    assert [str(p) for p in report.problems] == []
    assert report.solver_runs > 38 * 11


@pytest.mark.parametrize("item_id", DERIVE_IDS)
def test_reference_answer_in_the_asked_unit_is_correct(bank, item_id):
    item = bank.items[item_id]
    entry = key_entry(item)
    result = grade_response(item, entry["answer"])
    assert result.status == "correct", result.feedback
    for alternative in entry.get("accept", []):
        text = f"{alternative['value']!r} {alternative['unit']}"
        assert grade_response(item, text).status == "correct"


@pytest.mark.parametrize("item_id", DERIVE_IDS)
def test_reference_answer_in_another_unit_or_prefix_is_correct(bank, item_id):
    text = in_other_unit(bank.items[item_id])
    assert grade_response(bank.items[item_id], text).status == "correct", text


@pytest.mark.parametrize("item_id", DERIVE_IDS)
def test_known_mistakes_get_their_targeted_feedback(bank, item_id):
    item = bank.items[item_id]
    key = numeric_key(item, item.defaults())
    factor = key.asked_unit().factor
    for label, feedback, wrong in key.mistakes:
        result = grade_response(item, wrong / factor)
        assert result.status == "incorrect"
        assert result.matched == label
        assert feedback.strip() in result.feedback


@pytest.mark.parametrize("item_id", DERIVE_IDS)
def test_known_mistakes_stay_apart_at_sampled_variants(bank, item_id):
    """Each known mistake gets its own feedback at every variant a student may draw, not a
    neighbour's: 8.1's reversed gap, 1 / (1 + e^gap), and its bare e^-gap agree to two decimals
    once the gap passes about 2.6, and 1.2's 2ND and truncated exponents agree when log10 C ends
    in about .48; the sampler rejects such draws."""
    import random

    from grader.items.instance import sample_variant

    item = bank.items[item_id]
    rng = random.Random(f"apart:{item_id}")
    for params in [item.defaults(), *(sample_variant(item, rng) for _ in range(40))]:
        key = numeric_key(item, params)
        for label, feedback, wrong in key.mistakes:
            result = grade_response(item, wrong / key.asked_unit().factor, params)
            assert result.matched == label, (params, label, result.matched)
            assert feedback.strip() in result.feedback


@pytest.mark.parametrize("item_id", DERIVE_IDS)
def test_clearly_wrong_answer_is_incorrect(bank, item_id):
    item = bank.items[item_id]
    entry = key_entry(item)
    wrong = entry["answer"] * 1.37 + 1
    assert grade_response(item, wrong).status == "incorrect"


def test_generic_power_of_ten_slip_is_recognised(bank):
    result = grade_response(bank.items["1.1"], "34.36")  # GFLOPs value where MFLOPs are asked
    assert result.status == "incorrect"
    assert "10^3" in result.feedback[0]


def test_binary_and_decimal_readings_both_accepted_and_named(bank):
    item = bank.items["1.4"]
    binary = grade_response(item, 192)
    decimal = grade_response(item, 201.3)
    assert (binary.status, binary.matched) == ("correct", "binary")
    assert (decimal.status, decimal.matched) == ("correct", "decimal")
    assert "binary" in " ".join(binary.feedback)


@pytest.mark.parametrize("item_id, wrong_workbook_value", [
    ("2.2", 5632), ("6.3", None), ("8.5", 0.006), ("9.6", 459), ("1.4", None), ("2.4", None),
])
def test_known_workbook_mistakes_are_recorded_as_errata(bank, item_id, wrong_workbook_value):
    item = bank.items[item_id]
    assert item.errata, f"{item_id} should carry an erratum"
    if wrong_workbook_value is not None:
        assert grade_response(item, wrong_workbook_value).status == "incorrect"


def test_answer_that_rounds_to_zero_is_accepted(bank):
    item = bank.items["8.5"]  # 6.45e-9 to three decimal places is 0.000
    for answer in (0, "0.000", "6.45e-9", 6.4e-9):
        assert grade_response(item, answer).status == "correct", answer


def test_every_item_has_hints_and_a_derivation(bank):
    for item in bank.items.values():
        assert item.hints and all(h for h in item.hints)
        assert len(item.derivation) > 40


def test_trace_items_have_four_or_five_options_with_one_right(bank):
    for item in bank.items.values():
        if item.type == "trace":
            assert 4 <= len(item.options) <= 5
            assert sum(o.correct for o in item.options) >= 1


def test_design_items_are_shown_shuffled_with_labels_that_hide_the_order(bank):
    for item in bank.items.values():
        if item.type == "design":
            answer = item.correct_display_order()
            assert answer != sorted(answer), "display labels must not spell the answer"
            assert grade_response(item, answer).status == "correct"
            assert grade_response(item, "".join(answer)).status == "correct"


def test_trace_answers_do_not_stand_out_by_length_or_position(bank):
    """A review found the answer always the longest option ("pick the longest" scored 9/9) and C
    right in 5 of 9: no answer is over 1.3x the longest distractor, picking the longest wins at most
    a third of the items, and no label is right in more than a third of them."""
    from collections import Counter

    from grader.items.choice_checks import answer_length_problems, text_length

    traces = [i for i in bank.items.values() if i.type == "trace"]
    assert [p.message for i in traces for p in answer_length_problems(i)] == []
    longest_wins = [i.id for i in traces if max(i.options, key=lambda o: text_length(o.text)).correct]
    assert len(longest_wins) <= len(traces) / 3, longest_wins
    positions = Counter(label for i in traces for label, o in i.display_options() if o.correct)
    assert max(positions.values()) <= len(traces) / 3, positions


def test_design_steps_handed_in_as_shown_or_reversed_earn_at_most_a_third(bank):
    for item in bank.items.values():
        if item.type == "design":
            shown = [label for label, _ in item.display_steps()]
            assert grade_response(item, shown).score <= 1 / 3, item.id
            assert grade_response(item, shown[::-1]).status != "correct", item.id


def test_load_is_deterministic():
    first = load_bank(BANK_DIR).bank
    second = load_bank(BANK_DIR).bank
    assert list(first.items) == list(second.items)
    assert [i.display_steps() for i in first.items.values()] == \
           [i.display_steps() for i in second.items.values()]


@pytest.mark.parametrize("item_id", DERIVE_IDS)
def test_sampled_variants_grade_their_own_answer_correct(bank, item_id):
    import random

    from grader.items.instance import instantiate, sample_variant

    item = bank.items[item_id]
    rng = random.Random(item_id)
    for _ in range(5):
        params = sample_variant(item, rng)
        for name, value in params.items():
            p = item.params[name]
            if p.range is not None:
                assert p.range[0] <= value <= p.range[1]
            if p.integer:
                assert float(value).is_integer()
        assert "{" not in instantiate(item, params).prompt
        entry = key_entry(item, params)
        assert grade_response(item, entry["answer"], params).status == "correct"
        key = numeric_key(item, params)
        for _label, _feedback, wrong in key.mistakes:
            assert grade_response(item, wrong / key.asked_unit().factor, params).status != "correct"
