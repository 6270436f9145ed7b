"""From an LMS download to the files an LMS imports: a Canvas "Download Submissions" folder, a
Gradescope export and GitHub Classroom clones graded with `grade batch`, each entry matched to
the roster (what matches no student is named and never graded), and canvas_grades.csv,
moodle_grades.csv and gradescope_scores.csv checked column by column against the formats those
platforms document. Also: the roster's columns, the refusal to grade an assignment's
submissions without its spec, and Gradescope's graded mode (format and roster problems shown
at once, scores after the due date)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from grader.assignments.roster import load_roster, read_roster
from grader.batch.intake import Submission, arrange_flat, unpack
from grader.core.paths import COURSE_ROOT
from grader.results.status import Status
from tests.answer_forms import in_asked_unit
from tests.test_status import batch_out, statuses_of  # noqa: F401  (batch_out: a fixture)
from tests.workspace_helpers import grade, write_answers

ROSTER = """id,name,email,lms_id,sis_id,login,section,github
alice,"Smith, Alice",alice@uni.edu,1234,S001,asmith,A,alice-gh
bob,Bob Jones,bob@uni.edu,1235,S002,bjones,B,bobby
carol,Carol King,carol@uni.edu,1236,,,A,
"""
DUE = "2026-12-01T23:59:00Z"
# Canvas's importer (app/models/gradebook_importer.rb): "Student" and "ID" first, the SIS
# columns, "Section" last of the student columns, then the assignments; "Points Possible" below.
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# Moodle's plain-text export, which its CSV import reads back (one column mapped to the user).
MOODLE_COLUMNS = ["First name", "Last name", "ID number", "Email address"]
# Gradescope's score export ("Download Grades"), in its order, before one column per question.
GRADESCOPE_COLUMNS = ["First Name", "Last Name", "SID", "Email", "Sections", "Total Score", "Max Points",
                      "Status", "Submission ID", "Submission Time", "Lateness (H:M:S)", "View Count",
                      "Submission Count"]


@pytest.fixture(scope="module")
def course(tmp_path_factory, bank) -> SimpleNamespace:
    """A graded, per-student assignment of chapter 1 (6 points) released to alice, bob and
    carol; alice answered everything right, bob all but 1.1, carol nothing."""
    root = tmp_path_factory.mktemp("course")
    (root / "roster.csv").write_text(ROSTER)
    spec = root / "ps1.yaml"
    spec.write_text(yaml.safe_dump({"name": "ps1", "title": "Problem set 1", "mode": "graded",
                                    "variants": "per-student", "roster": "roster.csv", "due": DUE,
                                    "items": [{"chapter": 1}]}))
    assert grade("assign", spec, "--out", root / "release").exit_code == 0
    keys = json.loads((root / "release/instructor/keys.json").read_text())
    for student in ("alice", "bob"):
        write_answers(root / "release/students" / student, {
            i: in_asked_unit(bank.items[i], e.get("params")) if e["type"] == "derive" else e["answer"]
            for i, e in keys[student].items()})
    write_answers(root / "release/students/bob", {"1.1": "1"})
    titles = {i: bank.items[i].title for i in keys["alice"]}
    return SimpleNamespace(root=root, spec=spec, ws=root / "release/students", titles=titles)


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "2000")  # the summary's lines unwrapped


def batch(subs: Path, out: Path, spec: Path, *extra: str) -> str:
    result = grade("batch", subs, "--out", out, "--assignment", spec, *extra)
    assert result.exit_code == 0, result.output
    return result.output


def results(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text("utf-8"))))


def zip_folder(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, path.relative_to(folder.parent))


# ----------------------------------------------------------------------------- Canvas


def test_a_canvas_download_is_matched_to_the_roster_and_exported_for_each_lms(course, tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    zip_folder(course.ws / "alice", subs / "smithalice_1234_9001_ps1.zip")
    # bob handed in loose files, late; Canvas renamed his resubmitted answers.yaml
    shutil.copy(course.ws / "bob/answers.yaml", subs / "jonesbob_LATE_1235_9002_answers-1.yaml")
    shutil.copy(course.ws / "bob/grade.yaml", subs / "jonesbob_LATE_1235_9003_grade.yaml")
    shutil.copy(course.ws / "bob/answers.yaml", subs / "zedzed_9999_9004_answers.yaml")  # on no roster line
    shutil.copy(course.ws / "bob/answers.yaml", subs / "anon_x1y2z_9005_answers.yaml")  # anonymous grading
    out = tmp_path / "out"
    summary = batch(subs, out, course.spec)

    docs = results(out)
    assert set(docs) == {"alice", "bob", "carol"}  # no phantom "smithalice_1234_..." student
    assert (docs["alice"]["status"], docs["alice"]["total"]) == ("graded", 6)
    assert (docs["bob"]["status"], docs["bob"]["total"]) == ("graded", 5)
    assert docs["carol"]["status"] == "no submission"
    assert docs["bob"]["submission"] == {"source": "canvas", "marked_late": True,
                                         "entry": "jonesbob_LATE_1235_9002_answers-1.yaml"}
    assert docs["alice"]["submission"]["marked_late"] is False
    assert docs["alice"]["identity"] == {"email": "alice@uni.edu", "github": "alice-gh", "lms_id": "1234",
                                         "login": "asmith", "name": "Smith, Alice", "section": "A",
                                         "sis_id": "S001"}
    # what matched no student is named, with the reason, in the summary and report.md
    assert "Graded 2, errors 0, no submission 1" in summary
    assert "2 entries of" in summary and "matched no student" in summary
    assert "zedzed_9999_9004_answers.yaml: Canvas user 9999 (zedzed) matches no roster line" in summary
    assert "anon_x1y2z_9005_answers.yaml: Canvas hid the student's name" in summary
    report = (out / "report.md").read_text()
    assert "zedzed\\_9999\\_9004\\_answers.yaml" in report and "anon\\_x1y2z\\_9005\\_answers.yaml" in report

    canvas = rows(out / "canvas_grades.csv")
    assert canvas[0] == [*CANVAS_COLUMNS, "ps1"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "6"]
    assert canvas[2:] == [["Smith, Alice", "1234", "S001", "asmith", "A", "6"],
                          ["Bob Jones", "1235", "S002", "bjones", "B", "5"],
                          ["Carol King", "1236", "", "", "A", ""]]  # no submission: Canvas's rule applies

    moodle = rows(out / "moodle_grades.csv")
    assert moodle == [[*MOODLE_COLUMNS, "ps1"], ["Alice", "Smith", "S001", "alice@uni.edu", "6"],
                      ["Bob", "Jones", "S002", "bob@uni.edu", "5"],
                      ["Carol", "King", "", "carol@uni.edu", ""]]

    scores = rows(out / "gradescope_scores.csv")
    questions = [f"{n}: {i} {t} (1.0 pts)" for n, (i, t) in enumerate(course.titles.items(), 1)]
    assert scores[0] == [*GRADESCOPE_COLUMNS, *questions]
    assert scores[1] == ["Alice", "Smith", "S001", "alice@uni.edu", "A", "6", "6", "Graded", "", "", "", "",
                         "1", *["1"] * len(questions)]
    assert scores[2][:13] == ["Bob", "Jones", "S002", "bob@uni.edu", "B", "5", "6", "Graded", "", "", "", "",
                              "1"]
    assert scores[2][13:] == ["0", *["1"] * (len(questions) - 1)]
    assert scores[3] == ["Carol", "King", "", "carol@uni.edu", "A", "", "6", "Missing", "", "", "", "", "0",
                         *[""] * len(questions)]
    # and the generic grades.csv is still there
    assert rows(out / "grades.csv")[0][:4] == ["student", "total", "max", "status"]


def test_a_canvas_download_without_a_roster_uses_canvas_names_and_ids(course, tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    shutil.copy(course.ws / "alice/answers.yaml", subs / "smithalice_1234_9002_answers.yaml")
    spec = course.root / "nobody.yaml"
    spec.write_text(yaml.safe_dump({"name": "ps1", "mode": "graded", "items": [{"chapter": 1}]}))
    out = tmp_path / "out"
    batch(subs, out, spec)
    docs = results(out)
    assert set(docs) == {"smithalice"} and docs["smithalice"]["identity"] == {"lms_id": "1234"}
    assert rows(out / "canvas_grades.csv")[2][:2] == ["smithalice", "1234"]
    assert rows(out / "moodle_grades.csv") == [[*MOODLE_COLUMNS, "ps1"]]  # nobody Moodle could find


def test_every_status_reaches_the_lms_files(batch_out):  # noqa: F811  (the fixture)
    """Every Status through the three LMS files: each item's score as its result says (0 for a
    submission that could not be graded), nothing for a student without a submission."""
    from grader.batch.outputs import write_aggregates

    names = write_aggregates(batch_out)
    assert {"canvas_grades.csv", "moodle_grades.csv", "gradescope_scores.csv"} <= set(names)
    docs, statuses = results(batch_out), statuses_of(batch_out)
    assert set().union(*(set(v.values()) for v in statuses.values())) == set(Status)
    shown = {s: "" if d["status"] == "no submission" else f"{d['total']:g}" for s, d in docs.items()}
    canvas = rows(batch_out / "canvas_grades.csv")
    assert canvas[0][:5] == CANVAS_COLUMNS and canvas[1][0] == "Points Possible"
    assert [(r[0], r[5]) for r in canvas[2:]] == sorted(shown.items())
    scores = rows(batch_out / "gradescope_scores.csv")
    assert scores[0][:13] == GRADESCOPE_COLUMNS and len(scores) == len(docs) + 1
    for row, (student, doc) in zip(scores[1:], sorted(docs.items()), strict=True):
        missing = doc["status"] == "no submission"
        assert (row[0], row[5], row[7]) == (student, shown[student], "Missing" if missing else "Graded")
        assert row[13:] == ["" if missing else f"{e['score']:g}" for e in doc["items"].values()]
    assert rows(batch_out / "moodle_grades.csv") == [[*MOODLE_COLUMNS, "grade batch"]]  # no emails known


# ----------------------------------------------------------------------------- Gradescope


METADATA = """\
submission_1001:
  :submitters:
  - :name: Alice Smith
    :sid: 'S001'
    :email: alice@uni.edu
  :created_at: 2026-12-01 20:00:00.123456000 Z
  :score: 0.0
  :status: processed
  :history: []
submission_1002:
  :submitters:
  - :name: Bob Jones
    :sid: 'S002'
    :email: BOB@uni.edu
  - :name: Carol King
    :sid: ''
    :email: carol@uni.edu
  :created_at: 2026-12-02 01:30:05.000000000 Z
  :score: 0.0
  :status: processed
  :history:
  - :submitters: []
    :created_at: 2026-11-30 10:00:00.000000000 Z
    :score: 0.0
    :id: 999
submission_1003:
  :submitters:
  - :name: Dan Brown
    :sid: 'S999'
    :email: dan@uni.edu
  :created_at: 2026-12-01 10:00:00.000000000 Z
  :score: 0.0
  :status: processed
  :history: []
"""


def test_a_gradescope_export_is_matched_by_email_and_sid_with_its_times(course, tmp_path):
    export = tmp_path / "download/assignment_77_export"
    export.mkdir(parents=True)
    (export / "submission_metadata.yml").write_text(METADATA)
    for number, student in (("1001", "alice"), ("1002", "bob"), ("1003", "bob")):
        folder = export / f"submission_{number}"
        folder.mkdir()
        shutil.copy(course.ws / student / "answers.yaml", folder / "answers.yaml")  # a flat upload
    out = tmp_path / "out"
    summary = batch(tmp_path / "download", out, course.spec)

    docs = results(out)
    assert set(docs) == {"alice", "bob", "carol"}
    assert docs["alice"]["total"] == 6 and docs["bob"]["total"] == 5
    # a group: carol is graded on the group's files at her own numbers
    assert docs["carol"]["status"] == "graded" and docs["carol"]["total"] < 6
    assert docs["alice"]["submission"] == {"source": "gradescope", "entry": "submission_1001",
                                           "submitted_at": "2026-12-01T20:00:00.123456Z"}
    assert docs["bob"]["submission"]["submitted_at"] == "2026-12-02T01:30:05Z"
    assert "submission_1003 (dan@uni.edu): Gradescope submitter dan@uni.edu matches no roster line" in summary

    scores = {r[0]: r for r in rows(out / "gradescope_scores.csv")[1:]}
    time, lateness = GRADESCOPE_COLUMNS.index("Submission Time"), GRADESCOPE_COLUMNS.index("Lateness (H:M:S)")
    assert (scores["Alice"][time], scores["Alice"][lateness]) == ("2026-12-01 20:00:00 +0000", "0:00:00")
    assert (scores["Bob"][time], scores["Bob"][lateness]) == ("2026-12-02 01:30:05 +0000", "1:31:05")


# ----------------------------------------------------------------------------- GitHub Classroom


def test_github_classroom_clones_are_matched_by_username(course, tmp_path):
    subs = tmp_path / "ps1-submissions"  # as gh classroom clone student-repos names it
    subs.mkdir()
    shutil.copytree(course.ws / "alice", subs / "ps1-alice-gh")
    history = subs / "ps1-alice-gh/.git/objects"
    history.mkdir(parents=True)
    for n in range(300):  # more files than a submission may hold: the history is never read
        (history / f"{n:03}").write_text("x")
    shutil.copytree(course.ws / "bob", subs / "ps1-bobby")
    shutil.copytree(course.ws / "bob", subs / "ps1-mallory")
    out = tmp_path / "out"
    summary = batch(subs, out, course.spec)
    docs = results(out)
    assert set(docs) == {"alice", "bob", "carol"}
    assert docs["alice"]["total"] == 6 and docs["bob"]["total"] == 5
    assert docs["alice"]["submission"] == {"source": "github classroom", "entry": "ps1-alice-gh"}
    assert "ps1-mallory: GitHub Classroom repository ps1-mallory matches no roster line" in summary


# ----------------------------------------------------------------------------- refusals and rosters


def test_submissions_made_for_an_assignment_need_its_spec(course, tmp_path):
    out = tmp_path / "out"
    result = grade("batch", course.ws, "--out", out)
    assert result.exit_code == 1
    assert "made for assignment 'ps1'" in result.output and "--assignment" in result.output
    assert not (out / "results").exists()


def test_a_plain_entry_off_the_roster_is_graded_and_marked(course, tmp_path):
    subs = tmp_path / "subs"
    shutil.copytree(course.ws / "alice", subs / "ALICE")  # ids compare ignoring case
    shutil.copytree(course.ws / "bob", subs / "bob@uni.edu")  # a roster email names bob
    shutil.copytree(course.ws / "bob", subs / "dave")
    out = tmp_path / "out"
    summary = batch(subs, out, course.spec)
    docs = results(out)
    assert set(docs) == {"alice", "bob", "carol", "dave"}
    assert docs["dave"]["on_roster"] is False and "on_roster" not in docs["alice"]
    assert "dave is not on the roster" in summary


def test_the_roster_reads_lms_columns_and_keeps_the_one_id_per_line_form(tmp_path):
    legacy = tmp_path / "roster.txt"
    legacy.write_text("student_id\nalice\nbob  # dropped?\nalice\n../x\n")
    ids, warnings = read_roster(legacy)
    assert ids == ["alice", "bob"] and len(warnings) == 2
    table = tmp_path / "roster.csv"
    table.write_text("Student ID,Full name,Email address,Canvas ID,SIS User ID,SIS Login ID,Sections,"
                     "GitHub username,Notes\n"
                     'alice,"Smith, Alice",Alice@Uni.edu,1234,S001,asmith,A,alice-gh,x\n'
                     "bob,Bob Jones,shared@uni.edu,1235,S002,,B,,\n"
                     "carol,Carol King,shared@uni.edu,,,,,,\n")
    roster, warnings = load_roster(table)
    assert roster.ids == ("alice", "bob", "carol")
    assert roster.entry("ALICE").identity() == {"name": "Smith, Alice", "email": "Alice@Uni.edu",
                                                "lms_id": "1234", "sis_id": "S001", "login": "asmith",
                                                "section": "A", "github": "alice-gh"}
    assert roster.find("email", "alice@uni.EDU").id == "alice" and roster.find("lms_id", "1235").id == "bob"
    assert roster.find("email", "shared@uni.edu") is None  # two students: it names neither
    assert any("Notes" in w for w in warnings) and any("share the email" in w for w in warnings)


def test_a_flat_upload_puts_code_files_where_the_workspace_keeps_them(tmp_path):
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "answers.yaml").write_text('"1.1": 1\n')
    (upload / "count_pairs.py").write_text("def count_pairs(ids): return {}\n")
    root = unpack(Submission("x", upload, "folder"), tmp_path / "out")
    arrange_flat(root, ["count_pairs/count_pairs.py", "count_pairs/test_count_pairs.py"])
    assert (root / "count_pairs/count_pairs.py").read_text().startswith("def count_pairs")
    assert not (root / "count_pairs.py").exists() and not (root / "count_pairs/test_count_pairs.py").exists()


# ----------------------------------------------------------------------------- Gradescope, graded mode


def gradescope_grade(course, tmp_path: Path, upload: Path, user: dict) -> dict:
    (tmp_path / "meta.json").write_text(json.dumps({"users": [user]}))
    out = tmp_path / "results.json"
    result = grade("gradescope-grade", course.spec, "--submission", upload, "--metadata",
                   tmp_path / "meta.json", "--out", out)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


@pytest.mark.linux_only
@pytest.mark.sandbox
def test_a_flat_gradescope_upload_with_code_is_graded(course, tmp_path):
    """Found by a TA: answers.yaml and count_pairs.py dragged in side by side scored
    'unanswered' (the file is graded from count_pairs/count_pairs.py)."""
    spec = course.root / "code.yaml"
    spec.write_text(yaml.safe_dump({"name": "code", "mode": "practice", "roster": "roster.csv",
                                    "items": ["1.1", "0.6"]}))
    upload = tmp_path / "upload"
    upload.mkdir()
    assert grade("init", tmp_path / "ws", "--items", "1.1").exit_code == 0
    shutil.copy(tmp_path / "ws/answers.yaml", upload / "answers.yaml")
    shutil.copy(COURSE_ROOT / "solutions/code/count_pairs.py", upload / "count_pairs.py")
    (tmp_path / "meta.json").write_text(json.dumps({"users": [{"email": "bob@uni.edu"}]}))
    out = tmp_path / "results.json"
    result = grade("gradescope-grade", spec, "--submission", upload, "--metadata", tmp_path / "meta.json",
                   "--out", out)
    assert result.exit_code == 0, result.output
    tests = {t["name"].split()[0]: t for t in json.loads(out.read_text())["tests"]}
    assert tests["0.6"]["status"] == "passed" and tests["0.6"]["score"] == 1
    assert "graded as bob" in json.loads(out.read_text())["output"]


def test_gradescope_graded_mode_shows_format_and_roster_now_and_scores_after_the_due_date(course, tmp_path):
    upload = tmp_path / "upload"
    upload.mkdir()
    shutil.copy(course.ws / "alice/answers.yaml", upload / "answers.yaml")  # dragged in alone
    found = gradescope_grade(course, tmp_path, upload, {"email": "alice@uni.edu", "name": "Alice"})
    check, *items = found["tests"]
    assert check["visibility"] == "visible" and check["status"] == "passed" and check["max_score"] == 0
    assert "graded as alice" in check["output"] and "Every answer can be read" in check["output"]
    assert found["visibility"] == "after_due_date" and {t["visibility"] for t in items} == {"after_due_date"}
    assert found["score"] == 6 and all(t["status"] == "passed" for t in items)  # seen after the due date

    write_answers(upload, {"1.2": "twelve"})
    found = gradescope_grade(course, tmp_path, upload, {"email": "zed@uni.edu", "sid": "Z9"})
    check = found["tests"][0]
    assert check["visibility"] == "visible" and check["status"] == "failed"
    assert "Z9 is not on the course roster" in check["output"]
    assert "1.2: error:" in check["output"]
    assert len(check["output"].splitlines()) == 3  # who was graded, the roster, 1.2: nothing of the scores
