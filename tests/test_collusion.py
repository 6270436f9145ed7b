"""`grade collusion` on answers: a class of per-student variants graded by `grade batch`, where
one student handed in a classmate's numbers. The copy is flagged with the pair and the items;
no honest pair is, among students answering right, with known mistakes or with round numbers."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml

from grader.assignments.assignment import Assignment, load_assignment, student_manifest
from grader.batch.answer_matches import expected_by_chance, response_of
from grader.items import bank_type, for_type
from grader.items.instance import numeric_key
from grader.model.bank import Bank
from grader.workspace.manifest import manifest_item
from tests.answer_forms import in_asked_unit, in_other_unit
from tests.workspace_helpers import grade

pytestmark = pytest.mark.slow  # grades a class of 30 through grade batch first

CLASS = [f"s{n:02d}" for n in range(30)]
CHANCE_MATCHES = ("1.3", "4.5")
ITEMS = [{"chapter": 1}, {"chapter": 2}, {"chapter": 4}]


def write_spec(folder: Path, students: list[str], **fields) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roster.txt").write_text("\n".join(students) + "\n")
    doc = {"name": "ps-copy", "mode": "graded", "variants": "per-student", "roster": "roster.txt",
           "items": ITEMS, **fields}
    spec = folder / "ps.yaml"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    return spec


def honest_answers(bank: Bank, assignment: Assignment, student: str, rng: random.Random) -> dict[str, object]:
    """What an honest student hands in: per item, the right answer (60%), a known mistake of
    their own variant (25%), a round number (10%) or nothing."""
    out: dict[str, object] = {}
    for entry in student_manifest(bank, assignment, student).entries:
        item = bank.items[entry.id].shuffled(entry.shuffle)
        key = for_type(entry.type).entry_key(bank, entry)
        roll = rng.random()
        if entry.type == "derive":
            numbers = numeric_key(item, item.values(entry.params))
            if roll < 0.6:
                out[entry.id] = in_asked_unit(item, entry.params)
            elif roll < 0.85 and numbers.mistakes:
                out[entry.id] = f"{rng.choice(numbers.mistakes)[2] / numbers.asked_unit().factor:.4g}"
            elif roll < 0.95:
                out[entry.id] = rng.choice(["1000", "1e9", "0.5", "100", "2"])
        elif entry.type == "trace":  # the right option, or any option
            out[entry.id] = key["answer"] if roll < 0.6 else rng.choice(list(entry.options))
        elif entry.type == "design":
            order = list(key["answer"])
            if roll >= 0.6:
                rng.shuffle(order)
            out[entry.id] = "".join(order)
    return out


def submit(subs: Path, student: str, answers: dict[str, object]) -> None:
    """A flat upload: answers.yaml alone."""
    (subs / student).mkdir(parents=True)
    (subs / student / "answers.yaml").write_text(yaml.safe_dump(answers, sort_keys=True))


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, bank) -> tuple[Path, Path, dict[str, dict[str, object]], str]:
    """30 honest students and mallory, who handed in s07's answers (all right for s07), graded by
    `grade batch` and checked by `grade collusion` (its output is the last element)."""
    root = tmp_path_factory.mktemp("collusion")
    spec = write_spec(root / "spec", [*CLASS, "mallory"])
    rng = random.Random(19)
    subs = root / "subs"
    assignment = load_assignment(spec, bank)
    handed = {student: honest_answers(bank, assignment, student, rng) for student in CLASS}
    s07 = student_manifest(bank, assignment, "s07").entries
    handed["s07"] = {e.id: in_asked_unit(bank.items[e.id], e.params) if e.type == "derive"
                     else for_type(e.type).entry_key(bank, e)["answer"] for e in s07}
    handed["s07"] = {i: "".join(a) if isinstance(a, list) else a for i, a in handed["s07"].items()}
    handed["mallory"] = dict(handed["s07"])
    handed["mallory"]["1.1"] += " (see <b>notes</b> | here)"  # working, set aside by the reader
    # s03 typed s04's right numbers on two items: no more than chance could do, so never flagged
    s04 = {e.id: e for e in student_manifest(bank, assignment, "s04").entries}
    for item_id in CHANCE_MATCHES:
        handed["s03"][item_id] = in_asked_unit(bank.items[item_id], s04[item_id].params)
    for student, answers in handed.items():
        submit(subs, student, answers)
    out = root / "graded"
    result = grade("batch", subs, "--out", out, "--assignment", spec)
    assert result.exit_code == 0, result.output
    result = grade("collusion", out, "--assignment", spec)
    assert result.exit_code == 0, result.output
    return spec, out, handed, result.output


def test_the_planted_copy_is_flagged_with_the_pair_and_the_items(graded_class, bank):
    _spec, out, handed, output = graded_class
    report = json.loads((out / "collusion.json").read_text())
    flagged = report["answers"]["flagged"]
    assert [(p["student"], p["source"]) for p in flagged] == [("mallory", "s07")], flagged
    pair = flagged[0]
    matched = [c["item"] for c in pair["items"]]
    assert len(matched) >= 8 and {bank.items[i].type for i in matched} == {"derive"}, matched
    assert all(c["answer"] == handed["mallory"][c["item"]] for c in pair["items"])
    assert all(0 < c["chance"] <= 0.05 for c in pair["items"])
    assert pair["expected_by_chance"] < 1e-6
    # the terminal says it, and collusion.md names the pair and each item
    assert "mallory: " in output and "right for s07's variant" in output
    md = (out / "collusion.md").read_text()
    assert "| mallory | s07 |" in md and "### mallory: answers right for s07's variant" in md
    assert all(f"| {i} | " in md for i in matched)
    assert "1.1" in matched and "(see &lt;b&gt;notes&lt;/b&gt; \\| here)" in md and "<b>" not in md
    # nothing about grades changed
    assert json.loads((out / "results/mallory.json").read_text())["total"] < \
        json.loads((out / "results/s07.json").read_text())["total"]


def test_no_honest_pair_is_flagged(graded_class):
    spec, out, _handed, _output = graded_class
    answers = json.loads((out / "collusion.json").read_text())["answers"]
    assert {p["student"] for p in answers["flagged"]} == {"mallory"}
    assert answers["answering"] == 31 and answers["pool"] >= 1000
    chance = next(p for p in answers["closest"] if (p["student"], p["source"]) == ("s03", "s04"))
    assert [c["item"] for c in chance["items"]] == list(CHANCE_MATCHES) and chance["expected_by_chance"] > 1
    assert "| s03 | s04 | 1.3, 4.5 |" in (out / "collusion.md").read_text()
    for pair in answers["closest"]:  # pairs with chance matches on two items stay unflagged
        assert not pair["flagged"] and pair["expected_by_chance"] > 0.01
    before = {p.name: p.read_bytes() for p in out.glob("collusion.*")}
    assert grade("collusion", out, "--assignment", spec).exit_code == 0
    assert {p.name: p.read_bytes() for p in out.glob("collusion.*")} == before  # deterministic


def test_the_check_refuses_results_of_another_assignment_or_none(graded_class, tmp_path):
    spec, out, _handed, _output = graded_class
    other = write_spec(tmp_path / "other", CLASS, name="ps-other")
    result = grade("collusion", out, "--assignment", other)
    assert result.exit_code == 2 and "are of assignment 'ps-copy', not of 'ps-other'" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = grade("collusion", empty, "--assignment", spec)
    assert result.exit_code == 2 and "grade the class with 'grade batch' first" in result.output


def test_without_per_student_variants_answers_are_not_compared(tmp_path, bank):
    spec = write_spec(tmp_path / "spec", ["ann", "ben"], variants="none")
    subs = tmp_path / "subs"
    for student in ("ann", "ben"):
        submit(subs, student, {"1.1": "5"})
    assert grade("batch", subs, "--out", tmp_path / "out", "--assignment", spec).exit_code == 0
    result = grade("collusion", tmp_path / "out", "--assignment", spec)
    assert result.exit_code == 0, result.output
    assert "not per student" in result.output
    assert json.loads((tmp_path / "out/collusion.json").read_text())["answers"] is None
    assert "Not checked: the assignment's variants are not per student" in \
        (tmp_path / "out/collusion.md").read_text()


def test_one_coincidence_is_never_enough_and_weight_grows_with_rarity():
    assert expected_by_chance([1e-9], 10, 100) == float("inf")
    rare, common = expected_by_chance([1e-3] * 4, 10, 870), expected_by_chance([0.05] * 4, 10, 870)
    assert rare < 0.01 < common


def test_a_recorded_list_answer_reads_back_as_a_list():
    assert response_of("['A', 'C']") == ["A", "C"]
    assert response_of("3.2 GB") == "3.2 GB" and response_of("[A, C") == "[A, C"


def test_every_answer_item_finds_its_own_key_however_the_answer_is_written(bank):
    """What the index searches: for each derive, trace and design item of the bank, the right
    answer (in the asked unit, in another unit; the options' labels) lies in its answer's ranges."""
    for item in bank.items.values():
        kind = bank_type(item.type)
        if item.type not in ("derive", "trace", "design"):
            continue
        entry = manifest_item(item)
        points = kind.key_points(item, None)
        key = kind.entry_key(bank, entry)["answer"]
        answers = [in_asked_unit(item), in_other_unit(item)] if item.type == "derive" else [key]
        for answer in answers:
            assert kind.grade(item, answer, None).status == "correct", (item.id, answer)
            ranges = kind.answer_ranges(item, entry, answer)
            assert any(r == name and low <= value <= high for name, value in points
                       for r, low, high in ranges), (item.id, answer, points, ranges)
        assert kind.answer_ranges(item, entry, "not an answer") == ()


def test_a_rosters_unusable_lines_are_warned_about(graded_class, tmp_path):
    """--roster: as grade batch does, lines that are not usable ids are named, not dropped silently."""
    spec, out, _handed, _output = graded_class
    roster = tmp_path / "roster.txt"
    roster.write_text("\n".join([*CLASS, "mallory", "../evil"]) + "\n")
    result = grade("collusion", out, "--assignment", spec, "--roster", roster)
    assert result.exit_code == 0, result.output
    assert "warning: roster line" in result.output and "not a usable student id" in result.output
