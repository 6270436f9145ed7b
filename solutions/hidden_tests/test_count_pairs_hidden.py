"""Hidden tests for count_pairs(sequences)."""

import copy
import functools
import random
import time

from count_pairs import count_pairs


def oracle(sequences):
    """Trusted, deliberately simple pair counter."""
    counts = {}
    for seq in sequences:
        for i in range(len(seq) - 1):
            pair = (seq[i], seq[i + 1])
            counts[pair] = counts.get(pair, 0) + 1
    return counts


def as_dict(result):
    """Plain dict view of the result, dropping any zero counts."""
    return {k: v for k, v in dict(result).items() if v != 0}


# ---------------------------------------------------------------- edge cases


def test_empty_input_gives_empty_mapping():
    assert as_dict(count_pairs([])) == {}


def test_empty_sequences_contribute_nothing():
    assert as_dict(count_pairs([[], [], []])) == {}


def test_length_one_sequences_contribute_nothing():
    assert as_dict(count_pairs([[1], [2], [3]])) == {}


def test_mixed_empty_short_and_long_sequences():
    seqs = [[], [4], [1, 2], [], [2, 1, 2], [9]]
    assert as_dict(count_pairs(seqs)) == {(1, 2): 2, (2, 1): 1}


def test_two_token_sequence_has_one_pair():
    assert as_dict(count_pairs([[3, 8]])) == {(3, 8): 1}


def test_last_pair_of_each_sequence_is_counted():
    seqs = [[1, 2, 3], [4, 5, 6, 7]]
    assert as_dict(count_pairs(seqs)) == {(1, 2): 1, (2, 3): 1, (4, 5): 1, (5, 6): 1, (6, 7): 1}


def test_overlapping_pairs_three_equal_tokens():
    assert as_dict(count_pairs([[7, 7, 7]])) == {(7, 7): 2}


def test_overlapping_pairs_long_run_of_equal_tokens():
    assert as_dict(count_pairs([[0] * 10])) == {(0, 0): 9}


def test_overlapping_pairs_inside_mixed_sequence():
    assert as_dict(count_pairs([[1, 1, 1, 2, 2, 2, 2]])) == {(1, 1): 2, (1, 2): 1, (2, 2): 3}


def test_pairs_do_not_cross_sequence_boundaries():
    assert as_dict(count_pairs([[1, 2], [3, 4], [5]])) == {(1, 2): 1, (3, 4): 1}


def test_no_boundary_pair_even_when_tokens_repeat():
    assert as_dict(count_pairs([[7], [7], [7]])) == {}
    assert as_dict(count_pairs([[1, 7], [7, 2]])) == {(1, 7): 1, (7, 2): 1}


def test_order_within_a_pair_matters():
    assert as_dict(count_pairs([[1, 2, 1]])) == {(1, 2): 1, (2, 1): 1}


def test_accepts_a_generator_of_sequences():
    seqs = [[1, 2, 3], [2, 3, 4], [3]]
    gen = (list(s) for s in seqs)
    assert as_dict(count_pairs(gen)) == oracle(seqs)


def test_accepts_a_one_shot_iterator_of_sequences():
    seqs = [[5, 6, 5], [6, 5]]
    assert as_dict(count_pairs(iter(seqs))) == {(5, 6): 1, (6, 5): 2}


def test_accepts_tuples_as_sequences():
    seqs = ((1, 2, 3), (3, 2, 1), (2, 3))
    assert as_dict(count_pairs(seqs)) == oracle(seqs)


def test_accepts_a_tuple_of_lists():
    seqs = ([1, 2], [2, 1, 2])
    assert as_dict(count_pairs(seqs)) == {(1, 2): 2, (2, 1): 1}


def test_large_token_ids():
    big = 2**40
    seqs = [[big, 128255, big, 128255], [0, big]]
    assert as_dict(count_pairs(seqs)) == {(big, 128255): 2, (128255, big): 1, (0, big): 1}


def test_input_is_not_mutated():
    seqs = [[1, 2, 3, 2, 3], [], [4], [5, 5, 5]]
    before = copy.deepcopy(seqs)
    inner_ids = [id(s) for s in seqs]
    count_pairs(seqs)
    assert seqs == before
    assert [id(s) for s in seqs] == inner_ids


def test_calling_twice_gives_the_same_answer():
    seqs = [[1, 2, 3], [3, 2, 1]]
    first = as_dict(count_pairs(seqs))
    second = as_dict(count_pairs(seqs))
    assert first == second == oracle(seqs)


def test_keys_are_tuples_of_two_ints():
    result = count_pairs([[10, 20, 30], [30, 10]])
    assert len(result) == 3
    for key, value in dict(result).items():
        assert type(key) is tuple
        assert len(key) == 2
        assert all(isinstance(x, int) for x in key)
        assert isinstance(value, int)


def test_lookup_with_tuple_key():
    result = count_pairs([[7, 7, 7], [1, 7]])
    assert result[(7, 7)] == 2
    assert result[(1, 7)] == 1


def test_result_compares_equal_to_a_plain_dict():
    result = count_pairs([[1, 2, 1, 2]])
    expected = {(1, 2): 2, (2, 1): 1}
    assert dict(result) == expected
    assert result == expected


def test_no_zero_count_entries():
    result = count_pairs([[1, 2], [3], []])
    assert all(v > 0 for v in dict(result).values())


# ------------------------------------------------------- randomised property


def test_matches_simple_counter_on_random_inputs():
    rng = random.Random(20240601)
    for _ in range(30):
        n_seqs = rng.randint(0, 10)
        vocab = rng.choice([1, 2, 3, 5, 50, 1000, 2**40])
        seqs = [[rng.randrange(vocab) for _ in range(rng.randint(0, 30))]
                for _ in range(n_seqs)]
        snapshot = copy.deepcopy(seqs)
        assert as_dict(count_pairs(seqs)) == oracle(seqs)
        assert seqs == snapshot


def test_total_count_equals_sum_of_lengths_minus_one():
    rng = random.Random(7)
    for _ in range(10):
        seqs = [[rng.randrange(4) for _ in range(rng.randint(0, 40))]
                for _ in range(rng.randint(0, 8))]
        expected_total = sum(max(len(s) - 1, 0) for s in seqs)
        assert sum(dict(count_pairs(seqs)).values()) == expected_total


# ---------------------------------------------------------------- bounded size


# The prompt asks for 10^6 tokens in well under a second. The check runs 5 x 10^4 tokens
# against a bound of 0.5 s: as lenient as 10 s for 10^6 tokens for linear code, and still
# out of reach for code whose work grows with tokens x distinct pairs (a list of seen pairs).
# 64 token ids keep the reply small (at most 4096 pairs), so grading stays cheap.
PERF_TOKENS = 50_000
PERF_BOUND_S = 0.5


@functools.lru_cache(maxsize=1)
def _perf_case():
    """Built once per process: a warm grading runner reuses it for every submission
    (the sandbox never copies changes back into these lists)."""
    rng = random.Random(12345)
    seqs = []
    remaining = PERF_TOKENS
    while remaining > 0:
        n = min(remaining, rng.randint(1, 2000))
        seqs.append([rng.randrange(64) for _ in range(n)])
        remaining -= n
    return seqs, oracle(seqs)


def test_fifty_thousand_tokens_is_fast_and_correct():
    seqs, expected = _perf_case()
    start = time.perf_counter()
    result = count_pairs(seqs)
    elapsed = time.perf_counter() - start
    assert as_dict(result) == expected
    assert sum(dict(result).values()) == PERF_TOKENS - len(seqs)
    assert elapsed < PERF_BOUND_S, (
        f"took {elapsed:.2f} s for {PERF_TOKENS} tokens; linear code needs about a hundredth")
