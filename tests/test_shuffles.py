"""Per-student shuffles: in a per-student assignment each student sees the trace options and
design steps in their own order, relabelled A, B, C..., and `grade key`, `grade batch`,
`grade gradescope-grade` and `grade check` all grade them in those labels."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from grader.assignments.assignment import load_assignment
from grader.assignments.release_scan import find_secrets
from grader.workspace.manifest import read_manifest
from tests.workspace_helpers import check_json, grade, write_answers

CHOICE_ITEMS = [{"type": "trace"}, {"type": "design"}]
TRIO = ["alice", "bob", "carol"]


def write_spec(folder: Path, roster: list[str] = TRIO, **fields) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roster.txt").write_text("\n".join(roster) + "\n")
    doc = {"name": "ps2", "mode": "graded", "variants": "per-student", "roster": "roster.txt",
           "items": CHOICE_ITEMS, **fields}
    spec = folder / "ps2.yaml"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    return spec


def key_of(spec: Path, student: str | None = None) -> dict:
    args = ["--assignment", spec, *(("--student", student) if student else ())] if spec else []
    result = grade("key", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def release(tmp_path: Path, **fields) -> tuple[Path, Path]:
    spec = write_spec(tmp_path / "spec", **fields)
    out = tmp_path / "release"
    result = grade("assign", spec, "--out", out)
    assert result.exit_code == 0, result.output  # the release scan found nothing either
    return spec, out


def shown_choices(answers_yaml: str, item_id: str) -> dict[str, str]:
    """Label -> text of the options (or steps) answers.yaml shows for ``item_id``, whitespace
    removed (the file wraps long lines)."""
    block = answers_yaml.split(f"# {item_id}  ", 1)[1].split(f'"{item_id}":', 1)[0]
    shown: dict[str, str] = {}
    label = None
    for line in block.splitlines():
        if (m := re.match(r"^#    ([A-Z])\. (.*)$", line)):
            label, shown[m[1]] = m[1], m[2]
        elif label and (m := re.match(r"^# {4,}(.*)$", line)):  # wrapped, or the text's own line break
            shown[label] += m[1]
    return {k: "".join(v.split()) for k, v in shown.items()}


def squeezed(text: str) -> str:
    return "".join(text.split())


# ----------------------------------------------------------------------------- keys


@pytest.mark.slow
def test_students_get_their_own_labelled_answers(tmp_path, bank):
    class_ = [f"s{n:02d}" for n in range(30)]
    spec = write_spec(tmp_path, roster=class_)
    keys = {s: key_of(spec, s) for s in class_}
    items = list(keys["s00"])
    assert {bank.items[i].type for i in items} == {"trace", "design"} and len(items) >= 8
    for item_id in items:
        answers = Counter(json.dumps(keys[s][item_id]["answer"]) for s in class_)
        # a shared "B" or "CADB" fits few: no answer is the answer of half the class
        assert len(answers) >= 3 and max(answers.values()) < 15, (item_id, answers)
    same = sum(keys["s00"][i]["answer"] == keys["s01"][i]["answer"] for i in items)
    assert same <= len(items) // 3, same
    shared = key_of(None)  # the bank's key, in the bank's labels
    assert sum(keys["s00"][i]["answer"] == shared[i]["answer"] for i in items) <= len(items) // 3


def test_the_key_table_shows_each_students_own_answer(tmp_path):
    spec = write_spec(tmp_path)
    for student in TRIO:
        answer = key_of(spec, student)["9.4"]["answer"]
        table = grade("key", "--assignment", spec, "--student", student)
        assert table.exit_code == 0
        row = next(line for line in table.output.splitlines() if "9.4" in line)
        assert " ".join(answer) in row, (student, row)


def test_shuffles_change_the_assignment_fingerprint_and_can_be_turned_off(tmp_path, bank):
    on = load_assignment(write_spec(tmp_path / "on"), bank)
    off = load_assignment(write_spec(tmp_path / "off", shuffle=False), bank)
    assert on.shuffles and not off.shuffles and on.fingerprint() != off.fingerprint()
    shared = key_of(None)
    spec = tmp_path / "off/ps2.yaml"
    for student in TRIO:  # the bank's labels for everyone; the numbers would still vary
        assert {i: e["answer"] for i, e in key_of(spec, student).items()} == \
            {i: shared[i]["answer"] for i in on.items}


def test_a_shuffle_without_per_student_variants_is_refused(tmp_path):
    spec = write_spec(tmp_path / "spec", variants="none", shuffle=True)
    result = grade("assign", spec, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "shuffle" in result.output and "variants: per-student" in result.output


def test_an_nbgrader_export_warns_that_everyone_gets_one_order(tmp_path):
    """nbgrader hands one notebook to the whole class: the warning names the shared order of
    options and steps as well as the default numbers, and leaves the order out when the spec
    turns shuffles off."""
    spec = write_spec(tmp_path / "course/source", items=["2.5", "1.1"])
    result = grade("export", "nbgrader", spec, "--out", tmp_path / "course/source/ps2")
    assert result.exit_code == 0, result.output
    told = " ".join(result.output.split())
    assert "the bank's default numbers, not per-student variants" in told
    assert "design steps in one order with the bank's labels for everyone" in told
    plain = write_spec(tmp_path / "plain/source", items=["2.5", "1.1"], shuffle=False)
    result = grade("export", "nbgrader", plain, "--out", tmp_path / "plain/source/ps2")
    told = " ".join(result.output.split())
    assert result.exit_code == 0 and "not per-student variants" in told, result.output
    assert "design steps" not in told


# ----------------------------------------------------------------------------- the release


def test_each_student_sees_the_options_in_their_own_labels(tmp_path, bank):
    spec, out = release(tmp_path)
    for student in TRIO:
        folder = out / "students" / student
        key = key_of(spec, student)
        text = (folder / "answers.yaml").read_text("utf-8")
        manifest = read_manifest(folder / "grade.yaml")
        assert find_secrets(folder, bank, manifest) == []
        for entry in manifest.items:
            item = bank.items[entry.id]
            shown = shown_choices(text, entry.id)
            n = len(item.options or item.steps)
            assert list(shown) == list("ABCDE"[:n]) == list(entry.options), (student, entry.id)
            assert re.fullmatch("[a-z]{12}", entry.shuffle or ""), entry
            answer = key[entry.id]["answer"]
            if item.type == "trace":  # the text under the key's label is the right option
                assert shown[answer] == squeezed(next(o.text for o in item.options if o.correct))
                assert sorted(shown.values()) == sorted(squeezed(o.text) for o in item.options)
            else:  # the key's labels, in its order, spell the bank's steps in order
                assert [shown[label] for label in answer] == [squeezed(s.text) for s in item.steps]
        raw = (folder / "grade.yaml").read_text("utf-8")
        assert "correct" not in raw and not any(
            "".join(e["answer"]) in raw for e in key.values() if e["type"] == "design")


def test_grade_init_keeps_the_bank_labels(tmp_path, bank):
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "1.5,9.4").exit_code == 0
    manifest = read_manifest(ws / "grade.yaml")
    assert all(e.shuffle is None for e in manifest.items)
    assert "shuffle" not in (ws / "grade.yaml").read_text()
    text = (ws / "answers.yaml").read_text("utf-8")
    assert shown_choices(text, "1.5") == {o.id: squeezed(o.text) for o in bank.items["1.5"].options}
    shared = key_of(None)
    write_answers(ws, {"1.5": shared["1.5"]["answer"], "9.4": shared["9.4"]["answer"]})
    statuses = {i: r["status"] for i, r in check_json(ws)["items"].items()}
    assert statuses == {"1.5": "correct", "9.4": "correct"}


# ----------------------------------------------------------------------------- grading


def test_batch_grades_each_student_in_their_own_labels(tmp_path, bank):
    spec, out = release(tmp_path)
    keys = {s: key_of(spec, s) for s in TRIO}
    subs = tmp_path / "subs"
    subs.mkdir()
    for student in TRIO:
        (out / "students" / student).rename(subs / student)
    write_answers(subs / "alice", {i: e["answer"] for i, e in keys["alice"].items()})
    (subs / "bob/answers.yaml").write_text((subs / "alice/answers.yaml").read_text())  # copied
    # carol: her trace answers, and her design steps handed in as shown (A, B, C...)
    write_answers(subs / "carol", {i: e["answer"] if e["type"] == "trace"
                                   else "".join(read_manifest(subs / "carol/grade.yaml").item(i).options)
                                   for i, e in keys["carol"].items()})
    result = grade("batch", subs, "--out", tmp_path / "graded", "--assignment", spec)
    assert result.exit_code == 0, result.output
    docs = {s: json.loads((tmp_path / f"graded/results/{s}.json").read_text())["items"] for s in TRIO}
    assert {r["status"] for r in docs["alice"].values()} == {"correct"}
    copied = [i for i, r in docs["bob"].items() if r["status"] == "correct"]
    assert len(copied) <= len(keys["bob"]) // 3, copied
    for item_id, r in docs["carol"].items():
        if keys["carol"][item_id]["type"] == "trace":
            assert r["status"] == "correct"
        else:  # the order as shown is never the answer and earns at most a third
            assert r["score"] <= r["max_score"] / 3 and "Not in the right order" in r["feedback"]


def test_gradescope_grades_the_submitter_in_their_own_labels(tmp_path):
    spec, out = release(tmp_path)
    bob = key_of(spec, "bob")
    ws = out / "students/bob"
    write_answers(ws, {i: e["answer"] for i, e in bob.items()})

    def gradescope(sid: str) -> dict:
        metadata = tmp_path / f"{sid}.json"
        metadata.write_text(json.dumps({"users": [{"sid": sid, "email": f"{sid}@uni.edu"}]}))
        results = tmp_path / f"results-{sid}.json"
        run = grade("gradescope-grade", spec, "--submission", ws, "--metadata", metadata, "--out", results)
        assert run.exit_code == 0, run.output
        return json.loads(results.read_text())

    mine = gradescope("bob")
    assert mine["score"] == mine["max_score"] == len(bob)
    assert all(t["status"] == "passed" for t in mine["tests"])
    other = gradescope("carol")  # bob's answers are not carol's
    assert other["score"] <= len(bob) / 3 + 0.5, other["score"]


def test_practice_feedback_uses_the_students_own_labels(tmp_path, bank):
    spec, out = release(tmp_path, mode="practice")
    ws = out / "students/alice"
    key = key_of(spec, "alice")
    write_answers(ws, {i: e["answer"] for i, e in key.items()})
    assert {r["status"] for r in check_json(ws)["items"].values()} == {"correct"}
    shown = shown_choices((ws / "answers.yaml").read_text("utf-8"), "1.5")
    wrong = next(label for label in shown if label != key["1.5"]["answer"])
    option = next(o for o in bank.items["1.5"].options if squeezed(o.text) == shown[wrong])
    write_answers(ws, {"1.5": wrong, "9.4": "ABZ"})
    items = check_json(ws)["items"]
    assert items["1.5"]["status"] == "incorrect" and option.feedback in items["1.5"]["feedback"]
    assert items["9.4"]["status"] == "error"
    assert "unknown option 'Z'; choose from A, B, C, D, E" in items["9.4"]["feedback"]


@pytest.mark.parametrize("mode", ["graded", "practice"])
def test_a_students_format_check_reads_their_labels(tmp_path, mode):
    _spec, out = release(tmp_path, mode=mode, items=["1.5"])
    ws = out / "students/carol"
    write_answers(ws, {"1.5": "F"})
    item = check_json(ws)["items"]["1.5"]
    assert item["status"] == "error" and "choose from A, B, C, D, E" in item["feedback"]


# ----------------------------------------------------------------------------- grade validate


@pytest.mark.parametrize(("where", "text"), [
    ("feedback", "Wrong for the same reason as option A: the activations are not the limit."),
    ("text", "Both steps B and C, in that order."),
])
def test_validate_refuses_text_that_names_an_option_by_its_label(bank_copy, where, text):
    path = bank_copy / "ch01_resource_accounting.yaml"
    doc = yaml.safe_load(path.read_text())
    item = next(i for i in doc["items"] if i["id"] == "1.5")
    wrong = next(o for o in item["options"] if not o.get("correct"))
    wrong[where] = text
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    result = grade("validate", "--bank", bank_copy, "--samples", "10")
    assert result.exit_code == 1
    index = item["options"].index(wrong)
    assert f"item 1.5: $.options[{index}].{where}" in result.output
    assert "names an option or step by its label" in result.output and "each student" in result.output


def test_item_analysis_counts_choices_by_the_banks_options(tmp_path, bank):
    """Each student answers in their own labels, but the result records the option chosen by
    its bank id, so the class's item analysis (report.html's choices) adds up across students."""
    spec, out = release(tmp_path)
    subs = tmp_path / "subs"
    subs.mkdir()
    for student in TRIO:
        (out / "students" / student).rename(subs / student)
        write_answers(subs / student, {i: e["answer"] for i, e in key_of(spec, student).items()
                                       if e["type"] == "trace"})
    assert grade("batch", subs, "--out", tmp_path / "graded", "--assignment", spec).exit_code == 0
    for student in TRIO:
        analysis = json.loads((tmp_path / f"graded/results/{student}.json").read_text())["analysis"]
        for item_id, seen in analysis.items():
            right = ",".join(sorted(o.id for o in bank.items[item_id].options if o.correct))
            assert seen["matched"] == right, (student, item_id, seen)
