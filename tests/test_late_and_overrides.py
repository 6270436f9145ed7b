"""The late policy applied, scores given by hand, regrades, the audit log and each student's
feedback files, through `grade batch`, `grade merge` and `grade feedback` as a TA runs them: a
spec with a late policy, a --times CSV, an overrides file; checked in results/, grades.csv,
report.md, the LMS files, Gradescope's results and feedback/."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from grader.assignments.late import LatePolicy, instant
from grader.reporters.report_md import markdown_text
from tests.answer_forms import in_asked_unit
from tests.workspace_helpers import grade, write_answers

ROSTER = "id,name,email\n" + "".join(f"{s},{s.title()} Doe,{s}@uni.edu\n"
                                     for s in ("alice", "bob", "carol", "dave", "erin"))
DUE = "2026-12-01T23:59:00Z"
POLICY = {"penalty_per_day": 0.1, "max_penalty": 0.3, "max_days": 5, "grace_minutes": 10}
# alice on time, bob 1 day 10 hours late (2 days), carol 6 minutes late (within the grace),
# dave 18 days late (past the hard deadline), erin's time not given
TIMES = """student,submitted_at
alice,2026-12-01T20:00:00Z
bob,2026-12-03T10:00:00Z
carol,2026-12-02T00:05:00Z
dave,2026-12-20T00:00:00+01:00
"""
REASON = "Accepted: the <b>unit</b> was in the working"
OVERRIDES = f'student,item,points,reason\nbob,1.1,1,"{REASON}"\n'


@pytest.fixture(scope="module")
def course(tmp_path_factory, bank) -> SimpleNamespace:
    """ps1: chapter 1 (6 points), per-student variants, the late policy; every student answers
    everything right but bob, who gets 1.1 wrong."""
    root = tmp_path_factory.mktemp("course")
    (root / "roster.csv").write_text(ROSTER)
    spec = root / "ps1.yaml"
    spec.write_text(yaml.safe_dump({"name": "ps1", "mode": "graded", "variants": "per-student",
                                    "roster": "roster.csv", "due": DUE, "late_policy": POLICY,
                                    "items": [{"chapter": 1}]}))
    assert grade("assign", spec, "--out", root / "release").exit_code == 0
    keys = json.loads((root / "release/instructor/keys.json").read_text())
    for student, entries in keys.items():
        write_answers(root / "release/students" / student, {
            i: in_asked_unit(bank.items[i], e.get("params")) if e["type"] == "derive" else e["answer"]
            for i, e in entries.items()})
    write_answers(root / "release/students/bob", {"1.1": "1"})
    (root / "times.csv").write_text(TIMES)
    (root / "overrides.csv").write_text(OVERRIDES)
    return SimpleNamespace(root=root, spec=spec, keys=keys)


@pytest.fixture
def subs(course, tmp_path: Path) -> Path:
    target = tmp_path / "subs"
    shutil.copytree(course.root / "release/students", target)
    return target


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")


def given_files(course) -> tuple[str | Path, ...]:
    """--times and --overrides with the course's files."""
    return ("--times", course.root / "times.csv", "--overrides", course.root / "overrides.csv")


def batch(course, subs: Path, out: Path, *extra: str | Path) -> str:
    result = grade("batch", subs, "--out", out, "--assignment", course.spec, *extra)
    assert result.exit_code == 0, result.output
    return result.output


def feedback(out: Path, *extra: str) -> str:
    """grade feedback OUT; --before-due: the course's due date may be ahead of this machine's clock."""
    result = grade("feedback", out, "--before-due", *extra)
    assert result.exit_code == 0, result.output
    return result.output


def results(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}


def table(path: Path) -> dict[str, dict[str, str]]:
    return {r["student"]: r for r in csv.DictReader(io.StringIO(path.read_text()))}


def audit(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]


# -- the policy ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("submitted", "days", "share"), [
    ("2026-12-01T23:59:00Z", 0, 0.0),  # at the due time
    ("2026-12-02T00:09:00Z", 0, 0.0),  # within the 10 minutes' grace
    ("2026-12-02T00:10:01Z", 1, 0.1),  # past the grace: a day, counted from the due time
    ("2026-12-02T23:59:00Z", 1, 0.1),  # exactly a day
    ("2026-12-02T23:59:01Z", 2, 0.2),  # a part of a day is a day
    ("2026-12-02T18:59:01-05:00", 2, 0.2),  # the same instant in another zone
    ("2026-12-05T12:00:00Z", 4, 0.3),  # capped at max_penalty
    ("2026-12-06T23:59:00Z", 5, 0.3),  # max_days late: still the capped penalty
    ("2026-12-06T23:59:01Z", 6, 1.0),  # past the hard deadline: no credit
    ("2026-11-30T10:00:00Z", 0, 0.0),  # early
])
def test_days_late_and_the_share_lost(submitted: str, days: int, share: float):
    policy = LatePolicy.from_mapping(POLICY)
    assert policy.days_late(instant(submitted), instant(DUE)) == days
    assert policy.share(days) == pytest.approx(share)
    assert policy.penalty(5.0, days) == pytest.approx(5.0 * share)


def test_the_policy_in_words_and_what_a_spec_may_say(course, bank, tmp_path: Path):
    assert LatePolicy.from_mapping(POLICY).text() == (
        "10% off per day late (part of a day counts as a day), at most 30%; no credit when more than "
        "5 days late; 10 minutes' grace after the due time")
    assert LatePolicy.from_mapping({"max_days": 0}).text() == "no credit when late"
    assert not LatePolicy.from_mapping({"note": "ask first"}).applies
    for due, policy, message in [
        ("2026-12-01", POLICY, "needs a time and a time zone"),
        ("2026-12-01T23:59:00", POLICY, "needs a time and a time zone"),
        (None, POLICY, "needs a 'due' date-time with a zone"),
        ("2026-12-01T23:59:00Z", {"penalty_per_day": 2}, "penalty_per_day"),
        ("2026-12-01T23:59:00Z", {"grace_minutes": 5000}, "grace_minutes"),
    ]:
        spec = tmp_path / "bad.yaml"
        spec.write_text(yaml.safe_dump({"name": "ps1", "late_policy": policy, "items": ["1.1"],
                                        **({"due": due} if due else {})}))
        result = grade("key", "--assignment", spec)
        assert result.exit_code != 0 and message in result.output, (due, policy, result.output)
    spec.write_text(yaml.safe_dump({"name": "ps1", "due": "2026-12-01", "items": ["1.1"],
                                    "late_policy": {"note": "ask before the deadline"}}))
    assert grade("key", "--assignment", spec).exit_code == 0  # a note alone takes nothing off: a date will do


# -- grade batch ---------------------------------------------------------------------------------
def test_late_penalties_and_overrides_in_every_output(course, subs: Path, tmp_path: Path):
    out = tmp_path / "out"
    summary = batch(course, subs, out, "--times", course.root / "times.csv",
                    "--overrides", course.root / "overrides.csv")
    assert "1 submission(s) have no submission time" in summary
    assert "3 change(s) to grades logged" in summary
    docs = results(out)
    bob = docs["bob"]
    assert (bob["raw_total"], bob["late"]["days_late"], bob["late"]["penalty"], bob["total"]) == \
        (6, 2, 1.2, 4.8)
    assert bob["late"]["source"] == "times CSV" and bob["late"]["submitted_at"] == "2026-12-03T10:00:00Z"
    item = bob["items"]["1.1"]
    assert (item["status"], item["score"]) == ("correct", 1.0)
    assert item["override"]["reason"] == REASON and item["override"]["graded"]["status"] == "incorrect"
    assert item["feedback"].endswith(f"Changed by the course staff from 0/1 to 1/1: {REASON}")
    assert [(docs[s]["late"]["days_late"], docs[s]["total"]) for s in ("alice", "carol", "dave")] == \
        [(0, 6), (0, 6), (18, 0)]
    assert docs["erin"]["late"]["days_late"] is None and docs["erin"]["total"] == 6
    assert "override" not in json.dumps(docs["alice"])

    grades = table(out / "grades.csv")
    assert list(grades["bob"])[-3:] == ["raw_total", "late_penalty", "days_late"]
    assert [(grades[s]["total"], grades[s]["raw_total"], grades[s]["late_penalty"], grades[s]["days_late"])
            for s in sorted(grades)] == [("6", "6", "0", "0"), ("4.8", "6", "1.2", "2"), ("6", "6", "0", "0"),
                                         ("0", "6", "6", "18"), ("6", "6", "0", "")]
    assert grades["bob"]["1.1"] == "1"  # the item as overridden
    # the LMS files carry the final score
    canvas = list(csv.reader(io.StringIO((out / "canvas_grades.csv").read_text())))
    assert [r[-1] for r in canvas[2:]] == ["6", "4.8", "6", "0", "6"]
    assert table_by(out / "moodle_grades.csv", "Email address")["bob@uni.edu"]["ps1"] == "4.8"
    scores = table_by(out / "gradescope_scores.csv", "Email")
    bob_row = scores["bob@uni.edu"]
    assert (bob_row["Total Score"], bob_row["Lateness (H:M:S)"]) == ("4.8", "34:01:00")
    gradescope = json.loads((out / "gradescope/bob/results.json").read_text())
    assert gradescope["score"] == 4.8
    assert "2 days late, 1.2 points off" in gradescope["output"]
    assert REASON in gradescope["tests"][0]["output"]

    report = (out / "report.md").read_text()
    assert "## Late submissions (2)" in report
    assert ("- bob: 2 days late (submitted 2026-12-03T10:00:00Z, due 2026-12-01T23:59:00Z): "
            "6 − 1.2 = 4.8/6") in report
    assert "- dave: 18 days late" in report and "6 − 6 = 0/6" in report
    assert "## No submission time known (1)" in report and "\n- erin\n" in report
    assert "## Scored by hand (1)\n\n- bob, item 1.1: 0/1 → 1/1: Accepted: the &lt;b&gt;unit&lt;/b&gt;" \
        in report

    entries = audit(out)
    assert [(e["student"], e["change"], e["item"], e["before"], e["after"]) for e in entries] == [
        ("bob", "override", "1.1", 0.0, 1.0), ("bob", "late penalty", None, None, 1.2),
        ("dave", "late penalty", None, None, 6.0)]
    assert all(e["by"] == "grade batch" and e["user"] and instant(e["time"]) for e in entries)
    assert entries[0]["reason"] == REASON and entries[1]["reason"].startswith("2 days late: submitted")


def table_by(path: Path, column: str) -> dict[str, dict[str, str]]:
    return {r[column]: r for r in csv.DictReader(io.StringIO(path.read_text()))}


def test_feedback_files_show_the_students_own_result_and_nothing_else(course, subs: Path, tmp_path: Path):
    out = tmp_path / "out"
    batch(course, subs, out, *given_files(course))
    assert "Wrote the feedback of 5 student(s)" in feedback(out)
    assert sorted(p.name for p in (out / "feedback").iterdir()) == sorted(
        f"{s}.{ext}" for s in course.keys for ext in ("md", "html"))
    md = (out / "feedback/bob.md").read_text()
    assert md.startswith("# Feedback: ps1\n\nStudent: bob\n")
    assert "Score: 4.8/6 (items 6, late penalty 1.2)." in md
    assert "Submitted 2026-12-03T10:00:00Z, due 2026-12-01T23:59:00Z: 2 days late, 1.2 points off." in md
    assert "Late policy: 10% off per day late" in md
    assert "| 1.1 FLOPs of one matrix multiply | correct (scored by hand) | 1/1 |" in md
    assert "- Changed by the course staff from 0/1 to 1/1: Accepted: the &lt;b&gt;unit&lt;/b&gt;" in md
    page = (out / "feedback/bob.html").read_text()
    assert "<b>unit" not in page and "&lt;b&gt;unit&lt;/b&gt;" in page and "<script" not in page
    assert "Score: 4.8/6 (items 6, late penalty 1.2)." in page
    assert "on time" in (out / "feedback/carol.md").read_text()
    assert "no late penalty was applied" in (out / "feedback/erin.md").read_text()
    docs = results(out)
    for student in course.keys:  # nothing of another student
        text = (out / f"feedback/{student}.md").read_text() + (out / f"feedback/{student}.html").read_text()
        assert not any(other in text for other in course.keys if other != student)
    # each feedback line is one of bob's own result's: no key, hidden test or answer analysis
    own = {markdown_text(line, None) for item in docs["bob"]["items"].values()
           for line in item["feedback"].splitlines()}
    shown = [line[2:] for line in md.split("| 1.6")[1].splitlines() if line.startswith("- ")]
    assert shown and set(shown) <= own


def test_regrade_redoes_exactly_the_listed_students(course, subs: Path, tmp_path: Path):
    out = tmp_path / "out"
    batch(course, subs, out, *given_files(course))
    write_answers(subs / "bob", {"1.2": "1"})  # both change their submissions; only bob is regraded
    write_answers(subs / "erin", {"1.2": "1"})
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "results").iterdir()}
    summary = batch(course, subs, out, "--regrade", "bob")  # the kept overrides and times apply
    assert "Graded 1" in summary and "already graded 4" in summary
    assert "of the 1 graded now;" in summary  # the mean is of this run's one student, and says so
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "results").iterdir()}
    assert {n for n in after if after[n] != before[n]} == {"bob.json"}
    bob = results(out)["bob"]
    assert (bob["items"]["1.1"]["score"], bob["items"]["1.2"]["score"]) == (1.0, 0.0)  # override kept
    assert (bob["raw_total"], bob["late"]["penalty"], bob["total"]) == (5, 1.0, 4.0)
    assert table(out / "grades.csv")["bob"]["total"] == "4"
    entries = audit(out)[3:]
    assert [(e["student"], e["change"], e["before"], e["after"]) for e in entries] == [
        ("bob", "regrade", 4.8, 4.0), ("bob", "late penalty", 1.2, 1.0)]
    # an overrides file replaces the kept overrides: one left out is removed, and logged
    (tmp_path / "none.csv").write_text("student,item,points,reason\n")
    summary = batch(course, subs, out, "--resume", "--overrides", tmp_path / "none.csv")
    assert "already graded 5;" in summary and "mean score" not in summary  # nobody graded now: no mean
    assert results(out)["bob"]["items"]["1.1"]["score"] == 0.0 and results(out)["bob"]["total"] == 3.2
    assert [(e["change"], e["item"], e["before"], e["after"]) for e in audit(out)[5:]] == [
        ("override removed", "1.1", 1.0, 0.0), ("late penalty", None, 1.0, 0.8)]
    assert "Scored by hand" not in (out / "report.md").read_text()


def test_shards_merge_with_their_adjustments_and_merge_applies_new_ones(course, subs: Path, tmp_path: Path):
    files = ("--times", course.root / "times.csv", "--overrides", course.root / "overrides.csv")
    batch(course, subs, tmp_path / "single", *files)
    for k in (1, 2):
        batch(course, subs, tmp_path / f"shard{k}", *files, "--shard", f"{k}/2")
    merged = tmp_path / "merged"
    result = grade("merge", tmp_path / "shard1", tmp_path / "shard2", "--out", merged)
    assert result.exit_code == 0, result.output
    for name in ("grades.csv", "report.md", "canvas_grades.csv", "results/bob.json"):
        assert (merged / name).read_bytes() == (tmp_path / "single" / name).read_bytes(), name
    assert sorted(map(json.dumps, audit(merged))) == sorted(
        json.dumps(e) for k in (1, 2) for e in audit(tmp_path / f"shard{k}"))
    # an override given to merge: applied to the merged results and every file, and logged
    (tmp_path / "more.yaml").write_text(f"- {{student: bob, item: '1.1', points: 1, reason: '{REASON}'}}\n"
                                        "- {student: carol, item: '1.2', score: 0.5, reason: no working}\n")
    result = grade("merge", tmp_path / "shard1", tmp_path / "shard2", "--out", merged,
                   "--overrides", tmp_path / "more.yaml")
    assert result.exit_code == 0, result.output
    assert table(merged / "grades.csv")["carol"]["total"] == "5.5"
    assert table(merged / "grades.csv")["bob"]["total"] == "4.8"
    assert "item 1.2: 1/1 → 0.5/1: no working" in (merged / "report.md").read_text()
    last = audit(merged)[-1]
    assert (last["by"], last["student"], last["change"], last["before"], last["after"]) == (
        "grade merge", "carol", "override", 1.0, 0.5)


@pytest.mark.parametrize(("option", "text", "message"), [
    ("--overrides", "student,item,points,reason\nbbo,1.1,1,typo\n",
     "no student bbo (bad.csv line 2) in this class"),
    ("--overrides", "student,item,points,reason\nbob,9.9,1,x\n",
     "bad.csv line 2: bob's item '9.9': the class is graded on no such item"),
    ("--overrides", "student,item,points,reason\nbob,1.1,2,x\n",
     "bad.csv line 2: 2 points for bob's item 1.1, but the item is worth 1"),
    ("--overrides", "student,item,score,reason\nbob,1.1,1.5,x\n", "bad.csv line 2: score is a share"),
    ("--overrides", "student,item,points,reason\nbob,1.1,1,\n", "bad.csv line 2: give a reason"),
    ("--overrides", "student,item,points,score,reason\nbob,1.1,1,1,x\n",
     "give the item's points or its score"),
    ("--overrides", "student,item,points,reason\nbob,1.1,1,x\nBOB,1.1,0,y\n",
     "bad.csv line 3: BOB's item 1.1 is overridden already at bad.csv line 2"),
    ("--overrides", "bob,1.1,1,x\n", "bad.csv line 1: the first row must name the columns"),
    ("--times", "bob,2026-12-03 10:00\n", "bad.csv line 1: the time '2026-12-03 10:00' names no time zone"),
    ("--times", "student,submitted_at\nbob,yesterday\n",
     "bad.csv line 2: the time 'yesterday' is not an ISO 8601"),
    ("--times", "student,submitted_at\nzed,2026-12-03T10:00:00Z\n", "no student zed (bad.csv) in this class"),
    ("--regrade", None, "no student zed (--regrade) in this class"),
    ("--regrade", "../x", "'../x' is not a student id"),
])
def test_bad_inputs_are_refused_before_grading_naming_the_line(course, subs: Path, tmp_path: Path,
                                                                option: str, text: str | None, message: str):
    value: str | Path = "zed" if text is None else text
    if option != "--regrade":
        value = tmp_path / "bad.csv"
        value.write_text(text or "")
    out = tmp_path / "out"
    result = grade("batch", subs, "--out", out, "--assignment", course.spec, option, value)
    assert result.exit_code in (1, 2) and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output and not (out / "results").exists()
    assert not (out / "adjustments.json").exists()


def test_an_overrides_file_in_yaml_and_an_extension(course, subs: Path, tmp_path: Path):
    (tmp_path / "o.yaml").write_text("- student: bob\n  item: 1.1\n  score: 1\n  reason: re-marked\n")
    (tmp_path / "t.csv").write_text("student,submitted_at,due\n"
                                    "bob,2026-12-03T10:00:00Z,2026-12-04T12:00:00Z\n")
    out = tmp_path / "out"
    batch(course, subs, out, "--overrides", tmp_path / "o.yaml", "--times", tmp_path / "t.csv")
    feedback(out)
    bob = results(out)["bob"]
    assert bob["late"]["extended_due"] == "2026-12-04T12:00:00Z" and bob["late"]["days_late"] == 0
    assert bob["total"] == 6 and bob["items"]["1.1"]["override"]["reason"] == "re-marked"
    assert "due 2026-12-04T12:00:00Z: on time" in (out / "feedback/bob.md").read_text()


def test_the_gradescope_autograder_applies_the_late_policy_to_created_at(course, tmp_path: Path):
    def autograde(created_at: str) -> dict:
        (tmp_path / "meta.json").write_text(json.dumps({"users": [{"email": "bob@uni.edu"}],
                                                        "created_at": created_at}))
        result = grade("gradescope-grade", course.spec, "--submission", course.root / "release/students/bob",
                       "--metadata", tmp_path / "meta.json", "--out", tmp_path / "results.json")
        assert result.exit_code == 0, result.output
        return json.loads((tmp_path / "results.json").read_text())

    late = autograde("2026-12-03T10:00:00.365935-05:00")  # 1 day 15 hours late: 2 days, 20% of 5
    assert late["score"] == 4 and late["visibility"] == "after_due_date"
    assert "2 days late; the late policy (10% off per day late" in late["output"]
    assert "took 1 point off" in late["output"]
    on_time = autograde("2026-12-01T18:00:00-05:00")  # before the due date: the output says no score
    assert on_time["score"] == 5 and "late" not in on_time["output"] and "5" not in on_time["output"]


def test_feedback_waits_for_the_due_date(course, subs: Path, tmp_path: Path):
    out = tmp_path / "out"
    batch(course, subs, out)
    for path in (out / "results").iterdir():  # as a class graded before its due date records it
        doc = json.loads(path.read_text())
        doc["assignment"]["due"] = "2999-01-01T00:00:00Z"
        path.write_text(json.dumps(doc))
    refused = grade("feedback", out)
    assert refused.exit_code == 1 and "the due date (2999-01-01T00:00:00Z) has not passed" in refused.output
    assert "--before-due" in refused.output and not (out / "feedback").exists()
    assert "Wrote the feedback of 5 student(s)" in feedback(out)
    for path in (out / "results").iterdir():
        doc = json.loads(path.read_text())
        doc["assignment"]["due"] = "2000-01-01"  # long past, wherever the class is
        path.write_text(json.dumps(doc))
    assert grade("feedback", out).exit_code == 0
    for path in (out / "results").iterdir():
        doc = json.loads(path.read_text())
        doc["assignment"]["due"] = "next friday"  # a hand-edited result: refused clearly, no traceback
        path.write_text(json.dumps(doc))
    unreadable = grade("feedback", out)
    assert unreadable.exit_code == 1 and "due date (next friday) is not a date" in unreadable.output
    assert "--before-due" in unreadable.output and "Traceback" not in unreadable.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = grade("feedback", empty)
    assert result.exit_code == 2 and "holds no results" in result.output


def test_a_damaged_adjustments_file_is_refused_with_what_to_do(course, subs: Path, tmp_path: Path):
    out = tmp_path / "out"
    batch(course, subs, out, *given_files(course))
    for text in ("{", '{"overrides": [{"pupil": "bob"}]}', "[1, 2]"):
        (out / "adjustments.json").write_text(text)
        result = grade("batch", subs, "--out", out, "--assignment", course.spec, "--resume")
        assert result.exit_code == 2 and "remove it and give --overrides and --times again" in result.output
        assert "Traceback" not in result.output


def test_report_names_the_canvas_late_marks_of_submissions_without_a_time(course, tmp_path: Path):
    """Canvas's download marks late files LATE but gives no time: report.md says which of the
    students of unknown time Canvas marked late, so the TA knows whose --times to look up."""
    download = tmp_path / "canvas"
    download.mkdir()
    for user, (student, late) in enumerate((("alice", ""), ("bob", "_LATE")), 1234):
        for file_id, name in enumerate(("answers.yaml", "grade.yaml"), 9000 + 10 * user):
            shutil.copy(course.root / "release/students" / student / name,
                        download / f"{student}{late}_{user}_{file_id}_{name}")
    out = tmp_path / "out"
    batch(course, download, out)
    assert results(out)["bob"]["submission"]["marked_late"] is True
    report = (out / "report.md").read_text()
    section = report.split("## No submission time known (2)")[1]
    assert "\n- alice\n" in section and "\n- bob (the LMS marked it late)\n" in section


def test_report_counts_a_shuffled_option_in_the_banks_ids(course, subs: Path, tmp_path: Path):
    """Per-student variants relabel the trace options: two students who pick the same wrong option
    under different labels are one wrong answer in report.md, named by the bank's id."""
    labels = {}
    for student in ("bob", "carol"):
        text = (subs / student / "answers.yaml").read_text()
        labels[student] = re.search(r"#    ([A-Z])\. Nothing does:", text.split('"1.4":')[1]).group(1)
        write_answers(subs / student, {"1.5": labels[student]})
    assert labels["bob"] != labels["carol"]  # the same option under each one's own label
    out = tmp_path / "out"
    batch(course, subs, out)
    picked = {results(out)[s]["analysis"]["1.5"]["matched"] for s in labels}
    assert len(picked) == 1
    row = next(line for line in (out / "report.md").read_text().splitlines() if line.startswith("| 1.5 |"))
    assert row.split(" | ")[3] == f"{picked.pop()} ×2"


def test_a_submission_that_could_not_be_graded_says_why_once(course, subs: Path, tmp_path: Path):
    """Broken YAML: the reason is at the top of the student's feedback, not under every item."""
    (subs / "erin/answers.yaml").write_text('"1.1": [A, B\n')
    out = tmp_path / "out"
    batch(course, subs, out)
    feedback(out)
    reason = results(out)["erin"]["error"]
    assert reason
    for name in ("erin.md", "erin.html"):
        text = (out / "feedback" / name).read_text()
        assert text.count(reason.splitlines()[0][:40]) == 1, (name, text)
