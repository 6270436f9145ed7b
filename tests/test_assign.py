"""Assignments: spec validation, per-student variants, `grade assign` releases with no
secrets, `grade key --student`, and `grade batch --assignment` grading each variant."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from grader.assignments.assignment import AssignmentError, load_assignment, student_manifest, student_params
from grader.assignments.release_scan import find_secrets
from grader.core.paths import COURSE_ROOT
from grader.items.instance import numeric_key
from grader.workspace.manifest import read_manifest
from tests.answer_forms import in_asked_unit
from tests.workspace_helpers import check_json, grade, write_answers

ROSTER = ["alice", "bob", "carol"]


def write_spec(folder: Path, **fields) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roster.txt").write_text("student_id\n" + "\n".join(ROSTER) + "\n")
    doc = {"name": "ps1", "title": "Problem set 1", "mode": "graded", "variants": "per-student",
           "roster": "roster.txt", "due": "2026-12-01T23:59:00Z",
           "late_policy": {"penalty_per_day": 0.1, "max_days": 3},
           "items": [{"chapter": 1}, {"id": "2.4", "points": 2}, {"chapter": 0, "type": "build"},
                     {"chapter": 3, "type": "trace", "points": 0.5}, "2.5"]}
    doc.update(fields)
    spec = folder / "ps1.yaml"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    return spec


# ----------------------------------------------------------------------------- the spec


def test_selectors_resolve_in_bank_order_with_id_points_winning(tmp_path, bank):
    spec = write_spec(tmp_path, items=[{"chapter": 1, "points": 3}, {"id": "1.2", "points": 5}, "2.5"])
    assignment = load_assignment(spec, bank)
    assert list(assignment.items) == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.5"]
    assert assignment.items["1.2"] == 5 and assignment.items["1.1"] == 3 and assignment.items["2.5"] == 1
    assert assignment.roster == tuple(ROSTER)
    assert assignment.due == "2026-12-01T23:59:00Z"  # kept as written, not turned into a datetime


@pytest.mark.parametrize(("fields", "message"), [
    ({"items": ["9.99"]}, "no item '9.99'"),
    ({"items": [{"chapter": 42}]}, "no chapter 42"),
    ({"items": [{"chapter": 1, "type": "build"}]}, "selects no item"),
    ({"items": ["1.1", {"id": "1.1", "points": 2}]}, "listed twice"),
    ({"items": [{"id": "1.1", "type": "trace"}]}, "is a derive item, not trace"),
    ({"due": "2026-02-30"}, "not a real date"),
    ({"due": "next friday"}, "$.due"),
    ({"mode": "exam"}, "$.mode"),
    ({"items": [{"points": 2}]}, "$.items[0]"),
    ({"name": "../evil"}, "$.name"),
])
def test_bad_specs_are_refused_with_the_reason(tmp_path, bank, fields, message):
    with pytest.raises(AssignmentError, match=re.escape(message)):
        load_assignment(write_spec(tmp_path, **fields), bank)


def test_the_most_specific_selector_sets_the_points(tmp_path, bank):
    spec = write_spec(tmp_path, items=[{"chapter": 3}, {"chapter": 3, "type": "trace", "points": 0.5},
                                       {"type": "trace", "points": 9}, {"id": "3.1", "points": 4}])
    items = load_assignment(spec, bank).items
    assert items["3.4"] == 0.5 and items["3.1"] == 4 and items["3.2"] == 1 and items["0.4"] == 9


def test_yaml_aliases_are_refused_before_they_expand(tmp_path, bank):
    spec = tmp_path / "bomb.yaml"
    levels = ['a0: &a0 ["1.1", "1.1", "1.1", "1.1", "1.1", "1.1", "1.1", "1.1", "1.1", "1.1"]']
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 8)]
    spec.write_text("name: bomb\n" + "\n".join(levels) + "\nitems: *a7\n")
    with pytest.raises(AssignmentError, match="aliases"):
        load_assignment(spec, bank)


def test_per_student_variants_need_a_roster(tmp_path, bank):
    spec = write_spec(tmp_path)
    doc = yaml.safe_load(spec.read_text())
    del doc["roster"]
    spec.write_text(yaml.safe_dump(doc))
    with pytest.raises(AssignmentError, match="roster"):
        load_assignment(spec, bank)


def test_a_spec_that_is_not_yaml_or_too_large_is_refused(tmp_path, bank):
    spec = tmp_path / "bad.yaml"
    spec.write_bytes(b"name: [unclosed\n")
    with pytest.raises(AssignmentError, match="not readable YAML"):
        load_assignment(spec, bank)
    spec.write_bytes(b"\xff\xfe")
    with pytest.raises(AssignmentError, match="not readable YAML"):
        load_assignment(spec, bank)
    spec.write_text("name: x\nitems: [" + ", ".join(['"1.1"'] * 60000) + "]\n")
    with pytest.raises(AssignmentError, match="too large"):
        load_assignment(spec, bank)


# ----------------------------------------------------------------------------- variants


def test_variants_are_deterministic_per_assignment_and_student(tmp_path, bank):
    assignment = load_assignment(write_spec(tmp_path, items=[{"type": "derive"}]), bank)
    first = student_params(bank, assignment, "alice")
    assert student_params(bank, assignment, "alice") == first
    assert student_params(bank, assignment, "ALICE") == first  # ids are case-insensitive
    bob = student_params(bank, assignment, "bob")
    other = load_assignment(write_spec(tmp_path / "b", name="ps2", items=[{"type": "derive"}]), bank)
    ps2 = student_params(bank, other, "alice")
    assert sum(first[i] != bob[i] for i in first) >= len(first) - 2
    assert sum(first[i] != ps2[i] for i in first) >= len(first) - 2


def test_variants_keep_ranges_integers_constraints_and_differ_from_the_default(tmp_path, bank):
    assignment = load_assignment(write_spec(tmp_path, items=[{"type": "derive"}]), bank)
    for student in [f"s{n:03d}" for n in range(40)] + ["s0448"]:  # s0448: a rare draw for 8.5
        for item_id, params in student_params(bank, assignment, student).items():
            item = bank.items[item_id]
            for name, value in params.items():
                p = item.params[name]
                assert value == float(f"{value:.12g}"), (item_id, name, value)  # as printed
                if p.range is not None:
                    assert p.range[0] <= value <= p.range[1], (item_id, name, value)
                if p.integer:
                    assert float(value).is_integer(), (item_id, name, value)
            assert all(c.holds(params) for c in item.constraints), (item_id, params)
            variant, default = numeric_key(item, params), numeric_key(item, item.defaults())
            assert variant.expected != pytest.approx(default.expected, rel=1e-6), (item_id, params)
    # 2.4: grouped-query attention needs n_kv_heads to divide n_heads
    heads = {student_params(bank, assignment, f"s{n}")["2.4"]["n_kv_heads"] for n in range(60)}
    assert heads <= {1, 2, 4, 8, 16} and len(heads) >= 3


def test_without_variants_everyone_gets_the_bank_defaults(tmp_path, bank):
    assignment = load_assignment(write_spec(tmp_path, variants="none"), bank)
    manifest = student_manifest(bank, assignment, None)
    assert manifest.item("1.1").params == bank.items["1.1"].defaults()
    assert manifest.item("2.4").points == 2 and manifest.mode == "graded"


# ----------------------------------------------------------------------------- grade assign


def released(tmp_path: Path, **fields) -> Path:
    out = tmp_path / "release"
    result = grade("assign", write_spec(tmp_path / "spec", **fields), "--out", out)
    assert result.exit_code == 0, result.output
    return out


def answer_strings(value: float) -> set[str]:
    """How an answer number would be written, independently of the grader's own scanner."""
    out = {f"{value:.{d}g}" for d in range(3, 13)} | {f"{value:.{d}f}" for d in range(1, 4)}
    if abs(value) >= 1000:
        out |= {f"{value:,.0f}", f"{round(value):d}", f"{value:,.1f}"}
    return {s for s in out if len(s.replace(".", "").replace(",", "").strip("0")) >= 3}


def test_graded_release_holds_no_answers_solutions_or_hidden_tests(tmp_path, bank):
    out = released(tmp_path, items=[{"chapter": c} for c in range(10)])
    keys = json.loads((out / "instructor/keys.json").read_text())
    assert sorted(keys) == ROSTER
    hidden = COURSE_ROOT / "solutions/hidden_tests"
    hidden_names = {m for p in hidden.glob("*.py") for m in re.findall(r"def (test_\w+)", p.read_text())}
    reference_lines = {line.strip() for p in (COURSE_ROOT / "solutions/code").glob("*.py")
                       for line in p.read_text().splitlines() if len(line.strip()) > 40}
    template_lines = {line.strip() for p in (COURSE_ROOT / "student_templates").rglob("*.py")
                      for line in p.read_text().splitlines()}
    solver_names = {m for p in (COURSE_ROOT / "solutions").glob("ch*.py")
                    for m in re.findall(r"^def (\w+)", p.read_text(), re.M)}
    derivations = {line.strip() for item in bank.items.values()
                   for line in item.derivation.splitlines() if len(line.strip()) > 40}
    for student in ROSTER:
        folder = out / "students" / student
        files = {p.relative_to(folder).as_posix(): p.read_text("utf-8")
                 for p in folder.rglob("*") if p.is_file()}
        assert "answers.yaml" in files and "grade.yaml" in files and "count_pairs/count_pairs.py" in files
        assert not any("hidden" in name or name.endswith(".pyc") for name in files)
        text = "\n".join(files.values())
        tokens = set(re.findall(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?", text))
        manifest = read_manifest(folder / "grade.yaml")
        for item_id, entry in keys[student].items():
            if entry["type"] != "derive":
                continue
            givens = {float(v) for v in manifest.item(item_id).params.values()}  # 4.2: answer = batch
            leaked = {t for t in answer_strings(entry["answer"]) & tokens
                      if float(t.replace(",", "")) not in givens}
            assert not leaked, (student, item_id, leaked)
        assert not {n for n in hidden_names if n in text}, student
        assert not {n for n in solver_names if re.search(rf"\b{n}\b", text)}, student
        assert not (reference_lines - template_lines) & {line.strip() for line in text.splitlines()}
        assert not {d for d in derivations if d in text}, student
        assert "correct: true" not in text and "solutions/" not in text


def test_the_scanner_finds_planted_secrets(tmp_path, bank):
    out = released(tmp_path, variants="none", mode="practice")
    folder = out / "shared"
    manifest = read_manifest(folder / "grade.yaml")
    assert find_secrets(folder, bank, manifest) == []
    answer = numeric_key(bank.items["1.1"], bank.items["1.1"].defaults()).expected / 1e6
    (folder / "notes.txt").write_text(f"1.1 is {answer:,.1f}\n")
    (folder / "count_pairs/helper.py").write_text("# test_fifty_thousand_tokens_is_fast_and_correct\n")
    found = find_secrets(folder, bank, manifest)
    assert any(f.startswith("notes.txt: answer number 34,359.7") for f in found), found
    assert any("test_fifty_thousand_tokens_is_fast_and_correct" in f for f in found), found


def test_assign_refuses_a_release_that_leaks(tmp_path, bank_copy):
    chapter = bank_copy / "ch00_tokenization.yaml"
    chapter.write_text(chapter.read_text().replace(
        "template: student_templates/count_pairs/count_pairs.py",
        "template: solutions/code/count_pairs.py"))
    spec = write_spec(tmp_path / "spec", variants="none", items=["0.6", "1.1"])
    result = grade("assign", spec, "--out", tmp_path / "out", "--bank", bank_copy)
    assert result.exit_code == 1
    assert "secret text" in result.output and "do not release" in result.output
    assert not (tmp_path / "out/shared").exists()  # withdrawn: nothing left to hand out


def test_assign_refuses_a_used_folder_and_a_bad_spec(tmp_path):
    spec = write_spec(tmp_path / "spec")
    (tmp_path / "used").mkdir()
    (tmp_path / "used/x").write_text("keep me")
    result = grade("assign", spec, "--out", tmp_path / "used")
    assert result.exit_code == 2 and "not an empty folder" in result.output
    assert (tmp_path / "used/x").read_text() == "keep me"
    bad = write_spec(tmp_path / "bad", items=["9.9"])
    result = grade("assign", bad, "--out", tmp_path / "o2")
    assert result.exit_code == 2 and "no item '9.9'" in result.output


def test_release_records_the_assignment_and_zips(tmp_path):
    spec = write_spec(tmp_path / "spec")
    out = tmp_path / "release"
    assert grade("assign", spec, "--out", out, "--zip").exit_code == 0
    assert sorted(p.name for p in (out / "students").iterdir()) == \
        ["alice", "alice.zip", "bob", "bob.zip", "carol", "carol.zip"]
    summary = json.loads((out / "instructor/release.json").read_text())
    assert summary["due"] == "2026-12-01T23:59:00Z" and summary["late_policy"]["max_days"] == 3
    assert summary["max_total"] == 10.5 and summary["students"] == 3
    readme = (out / "students/bob/README.md").read_text()
    assert "due **2026-12-01T23:59:00Z**" in readme and "10% off per day late" in readme
    assert (out / "instructor/roster.txt").read_text().split() == ROSTER
    assert "alice,1.1,1," in (out / "instructor/keys.csv").read_text()


def test_a_practice_variant_checks_against_its_own_numbers(tmp_path, bank):
    out = released(tmp_path, mode="practice", items=[{"chapter": 1}, "2.4"])
    key = grade("key", "--assignment", tmp_path / "spec/ps1.yaml", "--student", "carol", "--json")
    assert key.exit_code == 0
    carol = json.loads(key.output)
    assert carol == json.loads((out / "instructor/keys.json").read_text())["carol"]
    ws = out / "students/carol"
    manifest = read_manifest(ws / "grade.yaml")
    answers = {i: in_asked_unit(bank.items[i], manifest.item(i).params)
               for i, e in carol.items() if e["type"] == "derive"}
    answers |= {i: e["answer"] for i, e in carol.items() if e["type"] != "derive"}
    write_answers(ws, answers)
    report = check_json(ws)
    assert {i: r["status"] for i, r in report["items"].items()} == dict.fromkeys(carol, "correct")
    # the bank's default answers (the workbook's numbers) are wrong for carol
    write_answers(ws, {i: in_asked_unit(bank.items[i]) for i in answers if carol[i]["type"] == "derive"})
    statuses = {r["status"] for i, r in check_json(ws)["items"].items() if carol[i]["type"] == "derive"}
    assert statuses <= {"incorrect", "partial"}


def test_key_needs_a_student_for_per_student_assignments(tmp_path):
    spec = write_spec(tmp_path)
    result = grade("key", "--assignment", spec)
    assert result.exit_code == 2 and "--student" in result.output
    result = grade("key", "--student", "alice")
    assert result.exit_code == 2 and "--assignment" in result.output


# ----------------------------------------------------------------------------- batch


def test_batch_grades_each_student_against_their_own_variant(tmp_path, bank):
    out = released(tmp_path, items=[{"chapter": 1}])
    keys = json.loads((out / "instructor/keys.json").read_text())
    subs = tmp_path / "subs"
    subs.mkdir()
    for student in ("alice", "bob"):
        ws = subs / student
        (out / "students" / student).rename(ws)
        manifest = read_manifest(out.parent / "subs" / student / "grade.yaml")
        write_answers(ws, {i: in_asked_unit(bank.items[i], manifest.item(i).params)
                           for i, e in keys["alice"].items() if e["type"] == "derive"})
    # bob copied alice's answers and her grade.yaml: neither helps him
    (subs / "bob/grade.yaml").write_text((subs / "alice/grade.yaml").read_text())
    (subs / "bob/answers.yaml").write_text((subs / "alice/answers.yaml").read_text())
    spec = tmp_path / "spec/ps1.yaml"
    result = grade("batch", subs, "--out", tmp_path / "graded", "--assignment", spec)
    assert result.exit_code == 0, result.output
    docs = {s: json.loads((tmp_path / f"graded/results/{s}.json").read_text()) for s in ROSTER}
    derive = [i for i, e in keys["alice"].items() if e["type"] == "derive"]
    assert all(docs["alice"]["items"][i]["status"] == "correct" for i in derive)
    assert all(docs["bob"]["items"][i]["status"] != "correct" for i in derive)
    assert docs["carol"]["status"] == "no submission"  # from the spec's roster
    assert docs["alice"]["assignment"] == {"name": "ps1", "due": "2026-12-01T23:59:00Z",
                                           "late_policy": {"penalty_per_day": 0.1, "max_days": 3}}
    assert docs["alice"]["max_total"] == 6
