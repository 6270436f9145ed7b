"""One Status table (grader/results/status.py) and every output reading it: each status renders through
every reporter (the terminal table of `grade check`, its JSON, grades.csv, Gradescope's
results.json, junit.xml, report.md), and the table covers every status the rules and the
sandbox can produce."""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
from rich.style import Style

from grader.grading.report import CheckReport, ItemOutcome
from grader.results.result import Result
from grader.results.status import Status
from grader.workspace.manifest import ManifestItem
from tests.test_gradescope import RESULTS_SCHEMA
from tests.workspace_helpers import CHECKOUT, grade

GRADER = CHECKOUT / "grader"

# The labels are a JSON contract (grade check --json, results/*.json, the Gradescope output,
# junit.xml's type): renaming one breaks every consumer, so the list is spelled out here.
LABELS = ("correct", "partial", "incorrect", "unanswered", "error", "pending",
          "timeout", "memory_limit", "crashed", "output_limit", "forbidden", "tampered")
FEEDBACK = "Line one <&> \"quoted\" \x01\nline two"  # markup, a control character, two lines


# ---- the table --------------------------------------------------------------------------------

def test_the_labels_are_the_json_strings():
    assert tuple(s.label for s in Status) == LABELS
    for s in Status:
        assert Status(s.label) is s and Status.lookup(s.label) is s and s == s.label
        assert str(s) == f"{s}" == s.label and json.dumps({s: s}) == json.dumps({s.label: s.label})
        assert Result(s.label, 0.0).status is s and Result(s, 0.0).to_json()["status"] == s.label
    assert Status.lookup("Correct") is None and Status.lookup(None) is None and Status.lookup([]) is None
    with pytest.raises(ValueError, match="unknown status"):
        Result("passed", 1.0)


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_every_row_is_complete_and_consistent(status: Status):
    assert status.symbol and len(status.symbol) == 1 and Style.parse(status.style)
    assert status.terminal == f"{status.symbol} {status.label.replace('_', ' ')}"
    assert status.gradescope in ("passed", "failed")  # the only test statuses Gradescope's spec has
    assert status.junit in (None, "failure", "error", "skipped")
    assert (status.junit is None) == status.passed == (status.gradescope == "passed")
    # right implies judged, judged implies answered, answered implies handed in
    assert (not status.passed or status.judged) and (not status.judged or status.answered)
    assert not status.answered or status.attempted
    # words a student may read: a sentence, no placeholder, no internal name
    text = status.description
    assert text[0].isupper() and text.endswith(".") and "{" not in text and "_" not in text
    if status.stopped is not None:
        assert re.findall(r"\{(\w*)\}", status.stopped) == ["detail"]
        assert status.stopped.format(detail="why").startswith("Stopped: ")


def produced_labels() -> tuple[set[str], set[str], set[str]]:
    """From the grader's source: the labels Results are made with (Result("x", ...)), the
    Status members named (Status.X), and the kinds the sandbox ends a run with
    (SandboxFailure("x", ...), self._fail("x", ...), CodeRun(fatal=("x", ...)) in grader/sandbox)."""
    labels, members, kinds = set(), set(), set()
    for path in GRADER.rglob("*.py"):
        if "course" in path.relative_to(GRADER).parts:
            continue
        sandbox = path.parent.name == "sandbox"
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == "Status" and node.attr.isupper():
                members.add(node.attr)
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0] if node.args else None
            status = next((k.value for k in node.keywords if k.arg == "status"), first)
            if name == "Result" and isinstance(status, ast.Constant):
                labels.add(status.value)
            if not sandbox:
                continue
            if name in ("SandboxFailure", "_fail") and isinstance(first, ast.Constant):
                kinds.add(first.value)
            for k in node.keywords:
                fatal = k.value.elts[0] if k.arg == "fatal" and isinstance(k.value, ast.Tuple) else None
                if isinstance(fatal, ast.Constant):
                    kinds.add(fatal.value)
    return labels, members, kinds


def test_the_table_covers_every_status_the_rules_and_the_sandbox_produce():
    from grader.sandbox.session import FATAL_KINDS

    labels, members, kinds = produced_labels()
    assert {"correct", "partial", "incorrect", "unanswered", "error"} <= labels  # the scan finds them
    assert {"timeout", "crashed", "tampered", "forbidden"} <= kinds
    assert labels <= set(LABELS), f"Result made with a status the table lacks: {labels - set(LABELS)}"
    assert members <= {s.name for s in Status}
    assert kinds <= set(FATAL_KINDS), f"the sandbox ends a run as {kinds - set(FATAL_KINDS)}"
    # each way sandboxed code fails has its row and its feedback; "grader" is the grader's error
    code_fails = set(FATAL_KINDS) - {"grader"}
    assert {s.label for s in Status if s.stopped is not None} == code_fails
    # and no row is dead: each is made by a rule, named in the code, or a sandbox kind
    assert {s.label for s in Status} == labels | {Status[m].label for m in members} | code_fails


@pytest.mark.parametrize("kind", ["timeout", "memory_limit", "crashed", "output_limit", "forbidden",
                                  "tampered", "grader", "no such kind"])
def test_the_code_rule_gives_each_sandbox_kind_its_status(kind: str):
    from grader.rules.code import GRADER_FAILURE, grade_code_run

    result = grade_code_run(SimpleNamespace(fatal=(kind, "the reason"), import_error=None), False)
    status = Status.lookup(kind)
    if status is None:  # the grader's own failure (or a kind it does not know): not the student's
        assert result.status is Status.ERROR and result.matched == "grader"
        assert result.feedback == (GRADER_FAILURE.format(detail="the reason"),)
    else:
        assert result.status is status and result.score == 0 and result.matched == kind
        assert result.feedback == (status.stopped.format(detail="the reason"),)


def test_the_student_guide_explains_every_status():
    guide = (CHECKOUT / "docs/student-guide.md").read_text("utf-8")
    for s in Status:
        assert f"| `{s.label}` | {s.terminal} | {s.description} |" in guide


def test_progress_counts_by_the_table():
    from grader.workspace.progress import Progress, mastery, record

    progress = Progress()
    for k, s in enumerate(Status):
        record(progress, f"1.{k}", s, 0.0, "first")
        record(progress, f"1.{k}", s.label, 0.0, "second")  # a new answer
        assert progress.of(f"1.{k}").status == s.label  # stored as the label (progress.json)
        assert progress.of(f"1.{k}").wrong_answers == (2 if s.judged and not s.passed else 0)
    progress.items["1.99"] = progress.of("1.99").__class__(status="from a newer grader")
    [row] = mastery([(f"1.{k}", 1) for k in range(len(Status))] + [("1.99", 1)], progress)
    assert row.mastered == sum(s.passed for s in Status)
    assert row.answered == sum(s.answered for s in Status) and row.total == len(Status) + 1


# ---- every status through every reporter ------------------------------------------------------

def report_with_every_status(mode: str, shift: int = 0) -> CheckReport:
    """One item per status (chapter 1, alternating 1 and 2 points), rotated by ``shift``."""
    outcomes = []
    for k in range(len(LABELS)):
        s = list(Status)[(k + shift) % len(LABELS)]
        score = {Status.CORRECT: 1.0, Status.PARTIAL: 0.5}.get(s, 0.0)
        entry = ManifestItem(id=f"1.{k}", type="derive", chapter=1, title=f"Item {k}", points=1 + k % 2)
        result = Result(s, score, (f"{s.label}: {FEEDBACK}",), matched=f"m-{s.label}")
        hint = "Hint 1/2: look again" if s is Status.INCORRECT else None
        outcomes.append(ItemOutcome(entry, result, hint=hint))
    return CheckReport(mode, outcomes, warnings=["a warning"], titles={1: "Chapter one"})


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch) -> Path:
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "1.1").exit_code == 0
    monkeypatch.setenv("COLUMNS", "200")  # one line per status cell
    return ws


@pytest.mark.parametrize("mode", ["practice", "graded"])
def test_the_check_table_renders_every_status(workspace: Path, monkeypatch, mode: str):
    import grader.grading.check

    monkeypatch.setattr(grader.grading.check, "check_workspace",
                        lambda *_a, **_k: report_with_every_status(mode))
    result = grade("check", workspace)
    assert result.exit_code == 0, result.output
    for k, s in enumerate(Status):
        row = next(line for line in result.output.splitlines() if f" 1.{k} " in line)
        assert s.terminal in row, row
    summary = next(line for line in result.output.splitlines() if line.startswith("Total "))
    assert summary.endswith("(" + ", ".join(f"1 {label}" for label in LABELS) + ")"), summary


def test_check_json_carries_every_status_as_its_label(workspace: Path, monkeypatch):
    import grader.grading.check

    report = report_with_every_status("practice")
    monkeypatch.setattr(grader.grading.check, "check_workspace", lambda *_a, **_k: report)
    result = grade("check", workspace, "--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)["items"]
    assert [e["status"] for e in items.values()] == list(LABELS)
    assert all(set(e) == {"status", "score", "max_score", "feedback"} for e in items.values())


@pytest.fixture
def batch_out(tmp_path: Path) -> Path:
    """results/*.json as grade batch writes them: three graded students (every status, rotated),
    one whose submission could not be graded and one without a submission."""
    from grader.batch.run import dump, error_document

    out = tmp_path / "out"
    (out / "results").mkdir(parents=True)
    for n, student in enumerate(("ann", "ben", "cat")):
        report = report_with_every_status("batch", shift=5 * n)
        analysis = {o.entry.id: {"answer": f"answer {o.result.status}", "matched": o.result.matched}
                    for o in report.outcomes if o.result.status is not Status.UNANSWERED}
        doc = {"student": student, "status": "graded", "error": None, **report.to_json(),
               "analysis": analysis}
        (out / "results" / f"{student}.json").write_text(dump(doc))
    entries = [o.entry for o in report_with_every_status("batch").outcomes]
    for student, reason, status in (("dan", "the archive is broken", "error"),
                                    ("eve", "no submission", "no submission")):
        doc = error_document(student, reason, entries, status)
        (out / "results" / f"{student}.json").write_text(dump(doc))
    return out


def statuses_of(out: Path) -> dict[str, dict[str, Status]]:
    docs = {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}
    return {s: {i: Status(e["status"]) for i, e in d["items"].items()} for s, d in docs.items()}


def test_every_status_through_every_batch_reporter(batch_out: Path):
    from grader.batch.outputs import write_aggregates
    from grader.reporters import ItemInfo, reporters

    warnings: list[str] = []
    names = write_aggregates(batch_out, warnings, items={"1.0": ItemInfo("Item zero", ("A", "B"),
                                                                         frozenset("A"))})
    assert names == [r.name for r in reporters()] and warnings == []
    assert {"grades.csv", "gradescope/", "junit.xml", "report.md", "report.html"} <= set(names)
    statuses = statuses_of(batch_out)
    assert set().union(*(set(v.values()) for v in statuses.values())) == set(Status)

    rows = list(csv.DictReader(io.StringIO((batch_out / "grades.csv").read_text())))
    assert [r["student"] for r in rows] == ["ann", "ben", "cat", "dan", "eve"]
    assert [r["status"] for r in rows] == ["graded"] * 3 + ["error", "no submission"]
    assert all(set(r) == {"student", "total", "max", "status", *(f"1.{k}" for k in range(12)), "raw_total",
                          "late_penalty", "days_late"} for r in rows)

    for student, items in statuses.items():
        results = json.loads((batch_out / "gradescope" / student / "results.json").read_text())
        jsonschema.validate(results, RESULTS_SCHEMA)
        assert [t["status"] for t in results["tests"]] == [s.gradescope for s in items.values()]
        assert all(t["output"].startswith(f"{s.label}: ") for t, s in zip(results["tests"], items.values(),
                                                                           strict=True))
        assert results["tests"][0]["name"] == "1.0 Item zero"

    suites = {s.get("name"): s for s in ET.parse(batch_out / "junit.xml").getroot().findall("testsuite")}
    assert set(suites) == set(statuses)
    for student, items in statuses.items():
        suite = suites[student]
        assert suite.get("failures") == str(sum(s.junit == "failure" for s in items.values()))
        assert suite.get("errors") == str(sum(s.junit == "error" for s in items.values()))
        for case, (item_id, s) in zip(suite.findall("testcase"), items.items(), strict=True):
            assert case.get("name") == item_id
            children = list(case)
            assert [c.tag for c in children] == ([s.junit] if s.junit else [])
            if children:  # the control character replaced: junit.xml stays well-formed
                assert children[0].get("type") == s.label
                assert "\ufffd" in children[0].get("message") or student in ("dan", "eve")

    page = ET.parse(batch_out / "report.html").getroot()  # well-formed, whatever the feedback held
    cells = ["".join(td.itertext()) for td in page.iter("{http://www.w3.org/1999/xhtml}td")]
    assert all(f"1.{k}" in cells for k in range(len(LABELS)))
    report = (batch_out / "report.md").read_text()
    assert "5 students: 3 graded, 1 with an error, 1 without a submission." in report
    assert "- dan: the archive is broken" in report and "## No submission\n\n- eve\n" in report
    table = [line for line in report.splitlines() if line.startswith("| 1.")]
    assert len(table) == len(LABELS) and all(len(re.findall(r"(?<!\\)\|", line)) == 6 for line in table)
    graded = [statuses[s] for s in ("ann", "ben", "cat")]
    for k, line in enumerate(table):
        cells = line.strip("| ").split(" | ")
        mine = [g[f"1.{k}"] for g in graded]
        assert cells[2] == f"{sum(s.passed for s in mine) / 3:.0%}"
        # the wrong answers: given and not right; the feedback that fired: of the written answers
        # (analysis has every item but the unanswered one) those not right
        for s in Status:
            listed = f"answer {s.label}".replace("_", "\\_") in cells[3]
            assert listed == (s in mine and s.attempted and not s.passed), (s, line)
            fired = f"m-{s.label}".replace("_", "\\_") in cells[4]
            assert fired == (s in mine and s is not Status.UNANSWERED and not s.passed), (s, line)


def test_a_result_file_with_a_status_the_table_lacks_is_skipped_not_a_crash(batch_out: Path):
    from grader.batch.outputs import write_aggregates

    doc = json.loads((batch_out / "results/ann.json").read_text())
    doc["items"]["1.0"]["status"] = "from a newer grader"
    (batch_out / "results/ann.json").write_text(json.dumps(doc))
    warnings: list[str] = []
    write_aggregates(batch_out, warnings)
    assert warnings == ["skipped ann.json: item 1.0 has no known status"]
    assert "ann" not in (batch_out / "grades.csv").read_text()


def test_a_result_file_whose_analysis_is_not_text_is_skipped_not_a_crash(batch_out: Path):
    """Found by review: a list as an answer's 'matched' crashed report.md (unhashable)."""
    from grader.batch.outputs import write_aggregates

    doc = json.loads((batch_out / "results/ann.json").read_text())
    doc["analysis"] = {"1.0": {"answer": "x", "matched": ["a list"]}}
    (batch_out / "results/ann.json").write_text(json.dumps(doc))
    warnings: list[str] = []
    write_aggregates(batch_out, warnings)
    assert warnings == ["skipped ann.json: its analysis is not a mapping of answers"], warnings


def test_adding_a_format_is_one_reporter(batch_out: Path, monkeypatch):
    """A reporter registered by a module of grader.reporters is written and listed."""
    import grader.reporters as registry
    from grader.batch.outputs import write_aggregates

    known = [r.name for r in registry.reporters()]
    assert {"grades.csv", "gradescope/", "junit.xml", "report.md", "report.html"} <= set(known)
    modules = {r.__module__ for r in registry.reporters()}
    assert len(modules) == len(known)  # one format, one module

    class Counts(registry.Reporter):  # what a module of grader/reporters would register
        def start(self) -> None:
            self.sink = self.out.stream("counts.txt")

        def add(self, s: registry.StudentResult) -> None:
            self.sink.write(f"{s.student}={sum(i.status.passed for i in s.items.values())} ")

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the test's registration goes
    registry.reporter("counts.txt")(Counts)
    assert write_aggregates(batch_out) == sorted(["counts.txt", *known])
    assert (batch_out / "counts.txt").read_text() == "ann=1 ben=1 cat=1 dan=0 eve=0 "
