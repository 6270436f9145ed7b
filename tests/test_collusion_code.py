"""`grade collusion --submissions` on a code item: a copy with renamed variables, new comments and
another layout ranks first; students who handed in the template unchanged match nobody; honest
solutions written differently share little. Plus the fingerprints themselves (no class needed)."""

from __future__ import annotations

import json

import pytest
import yaml

from grader.batch.winnowing import WINDOW, K, fingerprints, tokens
from grader.core.paths import COURSE_ROOT
from tests.workspace_helpers import grade

TEMPLATE = (COURSE_ROOT / "student_templates/count_pairs/count_pairs.py").read_text()
HEADER = '"""Count adjacent token pairs."""\n\n'

HONEST = {
    "ann": HEADER + """from collections import Counter
from itertools import pairwise


def count_pairs(sequences):
    counts = Counter()
    for seq in sequences:
        counts.update(pairwise(seq))
    return counts
""",
    "ben": HEADER + """def count_pairs(sequences):
    table = {}
    for seq in sequences:
        for i in range(len(seq) - 1):
            pair = (seq[i], seq[i + 1])
            table[pair] = table.get(pair, 0) + 1
    return table
""",
    "cat": HEADER + """from collections import defaultdict


def count_pairs(sequences):
    out = defaultdict(int)
    for s in sequences:
        for a, b in zip(s, s[1:]):
            out[(a, b)] += 1
    return dict(out)
""",
    "dan": HEADER + """from collections import Counter


def count_pairs(sequences):
    return Counter(p for s in sequences for p in zip(s[:-1], s[1:]))
""",
    "eve": HEADER + """def count_pairs(sequences):
    result = {}
    for tokens in sequences:
        it = iter(tokens)
        previous = next(it, None)
        for current in it:
            key = previous, current
            if key in result:
                result[key] += 1
            else:
                result[key] = 1
            previous = current
    return result
""",
    "fay": HEADER + """import collections


def count_pairs(sequences):
    c = collections.Counter()
    for seq in sequences:
        j = 1
        while j < len(seq):
            c[seq[j - 1], seq[j]] += 1
            j += 1
    return c
""",
}

# ben's solution, renamed throughout, with its own comments, docstring and layout
COPY = '''"""My own pair counter, written from scratch."""


def count_pairs(sequences):
    """Count how often each token follows another."""
    # a dictionary of counts
    frequencies = {}
    for sequence in sequences:          # every sequence on its own
        for index in range(len(sequence) - 1):
            bigram = (sequence[index],
                      sequence[index + 1])
            frequencies[bigram] = frequencies.get(bigram, 0) + 1  # one more
    return frequencies
'''


def test_renaming_comments_and_layout_change_no_fingerprint():
    ben = fingerprints(HONEST["ben"])
    assert {f.hash for f in fingerprints(COPY)} == {f.hash for f in ben} and len(ben) >= 5
    assert [t.text for t in tokens("x = 'a'  # c\ny = 2\n")] == ["V", "=", "S", ";", "V", "=", "N", ";"]


def test_a_shared_run_shorter_than_k_tokens_gives_no_fingerprint_and_a_longer_one_does():
    short, long_ = "a = b + c\n", "a = b(c, d[e + 1]) - f * g\nh = a\n"
    assert fingerprints(short) == [] and len(tokens(long_)) >= K + WINDOW - 1
    assert {f.hash for f in fingerprints(long_)} & {f.hash for f in fingerprints("q = 1\n" + long_)}


@pytest.mark.parametrize("source", ["def f(:\n  '''", "\x00\xff", "(" * 50_000, "\tif x:\n  y\n z\n", ""],
                         ids=["unclosed", "binary", "deep", "bad indent", "empty"])
def test_code_that_is_not_python_is_read_as_far_as_it_goes(source):
    fingerprints(source)  # no exception: a broken file is compared as far as it tokenizes


@pytest.mark.linux_only
@pytest.mark.slow
@pytest.mark.sandbox
def test_the_renamed_copy_ranks_first_and_the_template_matches_nobody(tmp_path):
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    students = [*HONEST, "gus", "tia", "tom"]
    (spec_dir / "roster.txt").write_text("\n".join(students) + "\n")
    spec = spec_dir / "ps.yaml"
    spec.write_text(yaml.safe_dump({"name": "code-copy", "mode": "graded", "variants": "per-student",
                                    "roster": "roster.txt", "items": ["0.6", "1.1"]}))
    subs = tmp_path / "subs"
    for student, code in [*HONEST.items(), ("gus", COPY), ("tia", TEMPLATE), ("tom", TEMPLATE)]:
        (subs / student).mkdir(parents=True)
        (subs / student / "count_pairs.py").write_text(code)  # a flat upload
    out = tmp_path / "out"
    result = grade("batch", subs, "--out", out, "--assignment", spec)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "results/gus.json").read_text())["items"]["0.6"]["status"] == "correct"

    result = grade("collusion", out, "--assignment", spec, "--submissions", subs)
    assert result.exit_code == 0, result.output
    code = json.loads((out / "collusion.json").read_text())["code"]
    assert [c["item"] for c in code] == ["0.6"]
    pairs = code[0]["pairs"]
    assert pairs[0]["students"] == ["ben", "gus"] and pairs[0]["shares"] == [1.0, 1.0], pairs
    assert all(p["shared"] < pairs[0]["shared"] for p in pairs[1:])
    assert not any({"tia", "tom"} & set(p["students"]) for p in pairs)  # the template is no match
    assert code[0]["compared"] == len(HONEST) + 1  # tia's and tom's code is the template's alone
    # where the copy lies, in each file, for the reader
    first, second = pairs[0]["lines"]
    assert all(lines.startswith("count_pairs/count_pairs.py:") for lines in (first, second))
    assert "Code item 0.6: " in result.output and "the most alike: ben and gus" in result.output
    md = (out / "collusion.md").read_text()
    assert "| 1 | ben, gus |" in md and "nothing here changes a grade" in md
    assert json.loads((out / "results/gus.json").read_text())["items"]["0.6"]["status"] == "correct"
