"""Choice and ordering rules, and the deterministic shuffle."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from grader.rules.choice import ChoiceKey, grade_choice
from grader.rules.ordering import (
    OrderingKey,
    fair_shuffle,
    grade_ordering,
    longest_in_order,
    partial_score,
    shuffled_order,
)

SINGLE = ChoiceKey(list("ABCDE"), frozenset("C"), feedback={"A": "A is a myth.", "B": "B no."})
MULTI = ChoiceKey(list("ABCD"), frozenset("AC"), multiple=True, partial_credit="per_option")


def test_single_select():
    assert grade_choice(SINGLE, "C").status == "correct"
    assert grade_choice(SINGLE, "c").status == "correct"
    wrong = grade_choice(SINGLE, "A")
    assert wrong.status == "incorrect" and wrong.feedback == ("A is a myth.",)
    assert grade_choice(SINGLE, "A,C").status == "error"
    assert "unknown option 'Z'" in grade_choice(SINGLE, "Z").feedback[0]
    assert grade_choice(SINGLE, None).status == "unanswered"
    assert grade_choice(SINGLE, 3).status == "error"


def test_multiple_select_partial_credit():
    assert grade_choice(MULTI, ["A", "C"]).score == 1.0
    half = grade_choice(MULTI, "A")
    assert (half.status, half.score) == ("partial", 0.5)
    assert grade_choice(MULTI, "A,B").score == 0.0
    assert grade_choice(MULTI, "A,A").status == "error"


def test_several_wrong_picks_each_get_their_feedback_under_their_label_in_display_order():
    key = ChoiceKey(list("ABCD"), frozenset("A"), multiple=True,
                    feedback={"B": "B is slow.", "C": "", "D": "D is late."})
    result = grade_choice(key, "D, B, C")
    assert result.status == "incorrect"
    assert result.feedback == ("B: B is slow.", "D: D is late.", "1 correct option(s) not selected.")


def test_ordering_full_partial_and_errors():
    key = OrderingKey(list("ABCDE"))
    assert grade_ordering(key, "ABCDE").status == "correct"
    assert grade_ordering(key, "A B C D E").status == "correct"
    assert grade_ordering(key, ["a", "b", "c", "d", "e"]).status == "correct"
    swapped = grade_ordering(key, "ABDCE")
    assert swapped.status == "partial" and swapped.score == 0.75
    assert grade_ordering(key, "EDCBA").score == 0.0
    assert "missing E" in grade_ordering(key, "ABCD").feedback[0]
    assert "repeated A" in grade_ordering(key, "AABCD").feedback[0]
    none_rule = OrderingKey(list("ABCDE"), partial_credit="none")
    assert grade_ordering(none_rule, "ABDCE").score == 0.0
    pairwise = OrderingKey(list("ABCD"), partial_credit="pairwise")
    assert grade_ordering(pairwise, "ABDC").score == 5 / 6


@given(st.permutations(range(7)))
def test_only_the_exact_order_earns_full_credit(ranks):
    for rule in ("lcs", "pairwise", "none"):
        score = partial_score(ranks, rule)
        assert 0.0 <= score <= 1.0
        assert (score == 1.0) == (list(ranks) == sorted(ranks))


@given(st.permutations(range(8)))
def test_lcs_matches_brute_force_definition(ranks):
    def brute(seq):
        best = [1] * len(seq)
        for i in range(len(seq)):
            for j in range(i):
                if seq[j] < seq[i]:
                    best[i] = max(best[i], best[j] + 1)
        return max(best)
    assert longest_in_order(ranks) == brute(ranks)


@given(n=st.integers(2, 12), salt=st.text(max_size=20))
def test_shuffle_is_deterministic_and_never_already_correct(n, salt):
    order = [chr(65 + i) for i in range(n)]
    shown = shuffled_order(order, salt)
    assert shown == shuffled_order(order, salt)
    assert sorted(shown) == order and shown != order


@given(n=st.integers(2, 8), rule=st.sampled_from(["lcs", "pairwise", "none"]), salt=st.text(max_size=20))
def test_a_students_own_shuffle_is_worth_at_most_a_third_as_shown(n, rule, salt):
    order = [chr(65 + i) for i in range(n)]
    shown = fair_shuffle(order, salt, rule)
    assert shown == fair_shuffle(order, salt, rule) and sorted(shown) == order and shown != order
    assert partial_score([order.index(s) for s in shown], rule) <= 1 / 3


def test_result_json_shape_is_the_per_item_contract():
    from grader.results.result import Result

    result = Result("partial", 0.5, ("Not in the right order.", "Try again."))
    assert result.to_json(max_score=4.0) == {
        "status": "partial", "score": 2.0, "max_score": 4.0,
        "feedback": "Not in the right order.\nTry again.",
    }


@given(st.permutations(["A", "B", "C", "D", "E"]))
def test_no_message_about_an_unreadable_order_gives_the_key_away(order):
    """An unknown step or a missing one is named in label order, whatever the key's order."""
    key = OrderingKey(tuple(order))
    unknown = grade_ordering(key, [*order[:4], "X"]).feedback[0]
    assert "choose from A, B, C, D, E" in unknown, unknown
    missing = grade_ordering(key, [order[4], order[0]]).feedback[0]
    assert f"missing {', '.join(sorted(order[1:4]))}" in missing, missing
