from count_pairs import count_pairs


def test_single_sequence():
    assert dict(count_pairs([[1, 2, 3, 4]])) == {(1, 2): 1, (2, 3): 1, (3, 4): 1}


def test_repeated_pair_is_counted_each_time():
    assert dict(count_pairs([[5, 6, 5, 6]])) == {(5, 6): 2, (6, 5): 1}


def test_overlapping_pairs_count():
    assert dict(count_pairs([[7, 7, 7]])) == {(7, 7): 2}


def test_counts_add_up_across_sequences():
    assert dict(count_pairs([[1, 2, 3], [2, 3]])) == {(1, 2): 1, (2, 3): 2}


def test_no_pairs_across_sequence_boundaries():
    assert dict(count_pairs([[1, 2], [3, 4]])) == {(1, 2): 1, (3, 4): 1}
