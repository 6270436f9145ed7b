"""`grade batch` on a small class with broken and malicious submissions: every student gets a
row, results are deterministic, and a run killed part-way resumes to identical outputs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from grader.core.paths import COURSE_ROOT
from tests.answer_forms import in_asked_unit
from tests.workspace_helpers import grade, write_answers

# grade batch runs code items in the sandbox
pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]

CHECK_KEYS = {"total", "max_total", "items", "mode", "chapters", "warnings"}


def workspace(root: Path, name: str, bank, answers: bool = True, code: bool = False) -> Path:
    ws = root / name
    assert grade("init", ws, "--chapter", "1", "--chapter", "0").exit_code == 0
    if answers:
        write_answers(ws, {i: in_asked_unit(bank.items[i]) for i in ("1.1", "1.2", "1.3", "0.1")})
    if code:
        shutil.copyfile(COURSE_ROOT / "solutions/code/count_pairs.py", ws / "count_pairs/count_pairs.py")
    return ws


@pytest.fixture
def small_class(tmp_path: Path, bank) -> Path:
    subs = tmp_path / "submissions"
    subs.mkdir()
    work = tmp_path / "work"
    workspace(subs, "alice", bank, code=True)
    bob = workspace(work, "bob", bank)
    write_answers(bob, {"1.1": "17180"})  # M*K*N: a known mistake
    with zipfile.ZipFile(subs / "bob.zip", "w") as archive:  # zipped with its top folder
        for path in bob.rglob("*"):
            archive.write(path, path.relative_to(work))
    carol = work / "carol"
    carol.mkdir()
    (carol / "answers.yaml").write_bytes(b'"1.1": [A, B\n')
    with tarfile.open(subs / "carol.tar.gz", "w:gz") as archive:
        archive.add(carol, arcname="carol")
    (subs / "dave").mkdir()
    with zipfile.ZipFile(subs / "eve.zip", "w") as archive:
        archive.writestr("../../escape.py", "x")
    mallory = workspace(subs, "mallory", bank, answers=False)
    (mallory / "count_pairs/count_pairs.py").write_text("import os\nos._exit(0)\n")
    (mallory / "answers.yaml").write_bytes(b"\xff\xfe binary junk \x00\x01")
    oscar = workspace(subs, "oscar", bank, answers=False)
    (oscar / "count_pairs/count_pairs.py").write_text("import os\nos._exit(0)\n")
    return subs


def run(subs: Path, out: Path, *args: str):
    roster = subs.parent / "roster.txt"
    roster.write_text("student_id\nalice\nbob\nzed  # dropped the course?\n")
    result = grade("batch", subs, "--out", out, "--roster", roster, "--workers", "2", *args)
    assert result.exit_code == 0, result.output
    return result


def test_every_student_gets_a_row_with_a_clear_reason(small_class: Path, tmp_path: Path):
    out = tmp_path / "out"
    summary = run(small_class, out).output
    assert "Graded 3, errors 4, no submission 1" in summary
    docs = {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}
    assert set(docs) == {"alice", "bob", "carol", "dave", "eve", "mallory", "oscar", "zed"}
    for student, doc in docs.items():
        listed = student in ("alice", "bob", "zed")  # the roster's; the others are graded, marked
        assert set(doc) == CHECK_KEYS | {"student", "status", "error", "analysis", "bank"} | \
            (set() if listed else {"on_roster"})
        assert doc.get("on_roster", True) is listed
        assert all(set(e) == {"status", "score", "max_score", "feedback"} for e in doc["items"].values())
    assert docs["alice"]["items"]["0.6"]["status"] == "correct" and docs["alice"]["total"] == 5.0
    assert docs["bob"]["total"] == 3.0 and docs["bob"]["items"]["0.6"]["status"] == "unanswered"
    assert "not valid YAML" in docs["carol"]["error"]
    assert docs["dave"]["error"] == "the submission is empty"
    assert "leaves its folder" in docs["eve"]["error"]
    assert not (tmp_path / "escape.py").exists()
    assert "not UTF-8" in docs["mallory"]["error"]
    assert docs["oscar"]["status"] == "graded" and docs["oscar"]["items"]["0.6"]["status"] == "crashed"
    assert docs["zed"]["status"] == "no submission"
    rows = (out / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("student,total,max,status,0.1,0.2")
    assert [r.split(",")[:4] for r in rows[1:]] == [
        ["alice", "5", "51", "graded"], ["bob", "3", "51", "graded"], ["carol", "0", "51", "error"],
        ["dave", "0", "51", "error"], ["eve", "0", "51", "error"], ["mallory", "0", "51", "error"],
        ["oscar", "0", "51", "graded"], ["zed", "0", "51", "no submission"]]


def _snapshot(out: Path) -> dict[str, bytes]:
    """Every output file's bytes, except timings.json (wall-clock times are not deterministic)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "timings.json"}


def test_a_killed_run_resumes_to_the_same_files(small_class: Path, tmp_path: Path, bank):
    slow_student(small_class, bank)  # the kill lands while paula is graded
    clean = tmp_path / "clean"
    run(small_class, clean)
    run(small_class, tmp_path / "again")
    assert _snapshot(tmp_path / "again") == _snapshot(clean)  # deterministic

    killed = tmp_path / "killed"
    roster = small_class.parent / "roster.txt"
    proc = subprocess.Popen([sys.executable, "-m", "grader", "batch", str(small_class), "--out", str(killed),
                             "--roster", str(roster), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (killed / "results" / "oscar.json").exists():
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {p.name for p in (killed / "results").glob("*.json")}
    assert "oscar.json" in done and "paula.json" not in done and not (killed / "grades.csv").exists()
    resumed = run(small_class, killed, "--resume").output
    assert "already graded" in resumed
    assert json.loads((killed / "results/paula.json").read_text())["items"]["0.6"]["status"] == "correct"
    assert _snapshot(killed) == _snapshot(clean)


def test_gradescope_junit_and_report_files(small_class: Path, tmp_path: Path):
    import xml.etree.ElementTree as ET

    out = tmp_path / "out"
    run(small_class, out)
    for student in ("alice", "carol", "zed"):
        doc = json.loads((out / "gradescope" / student / "results.json").read_text())
        assert isinstance(doc["score"], float) and doc["max_score"] == 51.0  # the spec's fields
        assert len(doc["tests"]) == 51
        for test in doc["tests"]:
            assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
            assert test["status"] in ("passed", "failed") and test["visibility"] in (
                "hidden", "after_due_date", "after_published", "visible")
        assert sum(t["score"] for t in doc["tests"]) == doc["score"]
    assert "could not be graded" in json.loads((out / "gradescope/carol/results.json").read_text())["output"]
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    names = ["alice", "bob", "carol", "dave", "eve", "mallory", "oscar", "zed"]
    assert [s.get("name") for s in suites] == names
    assert suites[0].get("failures") == "46" and suites[2].get("errors") == "51"
    report = (out / "report.md").read_text()
    assert "| 1.1 | 0.33 | 33% | 17180 ×1 | multiply-add counted once ×1 |" in report
    assert "- eve: the archive holds a path that leaves its folder" in report


def test_shards_merge_into_the_single_run_files(small_class: Path, tmp_path: Path):
    single = tmp_path / "single"
    run(small_class, single)
    shards = [tmp_path / f"shard{k}" for k in (1, 2, 3)]
    for k, shard in enumerate(shards, 1):
        output = run(small_class, shard, "--shard", f"{k}/3").output
        graded = sum(json.loads(p.read_text())["status"] != "no submission"
                     for p in (shard / "results").glob("*.json"))
        if graded:  # progress counts this shard's submissions, not the class's
            assert f"graded {graded}/{graded} " in output, output
    sizes = [len(list((s / "results").glob("*.json"))) for s in shards]
    assert sum(sizes) == 8 and max(sizes) < 8
    merged = tmp_path / "merged"
    result = grade("merge", *shards, "--out", merged)
    assert result.exit_code == 0 and "Merged 8 student results" in result.output
    (single / "timings.json").unlink()
    assert _snapshot(merged) == _snapshot(single)


def slow_student(submissions: Path, bank) -> None:
    """paula (graded last with one worker) takes 3 s to import: a signal or kill sent once an
    earlier result exists lands while she is graded, however fast the others are."""
    paula = workspace(submissions, "paula", bank, code=True)
    source = (paula / "count_pairs/count_pairs.py").read_text()
    (paula / "count_pairs/count_pairs.py").write_text("import time\ntime.sleep(3)\n" + source)


def _terminal_sigint() -> None:
    """SIGINT as a terminal delivers it: handled and unblocked, whatever the test process
    (and the libraries it has loaded) did to its own signal state."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])


def test_ctrl_c_stops_cleanly_and_keeps_finished_results(small_class: Path, tmp_path: Path, bank):
    slow_student(small_class, bank)
    out = tmp_path / "interrupted"
    proc = subprocess.Popen([sys.executable, "-m", "grader", "batch", str(small_class), "--out", str(out),
                             "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_terminal_sigint)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "results" / "alice.json").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "run again with --resume" in err and "Traceback" not in err
    for path in (out / "results").iterdir():
        assert path.suffix == ".json" and json.loads(path.read_text())["student"] == path.stem


def test_resume_regrades_late_submissions_and_refuses_a_used_folder(small_class: Path, tmp_path: Path, bank):
    out = tmp_path / "out"
    run(small_class, out)
    again = grade("batch", small_class, "--out", out)
    assert again.exit_code == 2 and "already holds results" in again.output
    workspace(small_class, "zed", bank)  # zed hands in late
    run(small_class, out, "--resume")
    zed = json.loads((out / "results" / "zed.json").read_text())
    assert zed["status"] == "graded" and zed["total"] == 4.0
    (out / "results" / "notes.json").write_text("")  # stray file: skipped, not fatal
    assert grade("batch", small_class, "--out", out, "--resume").exit_code == 0
    alice = out / "results" / "alice.json"
    stale = json.loads(alice.read_text())
    alice.write_text(json.dumps({**stale, "bank": "another bank", "total": 99.0}))
    run(small_class, out, "--resume")  # a result from another bank is graded again
    assert json.loads(alice.read_text())["total"] == 5.0


def test_header_bombs_are_error_rows_and_the_class_is_graded(tmp_path: Path, bank):
    from tests.test_intake import directory_bomb, header_bomb

    subs = tmp_path / "submissions"
    subs.mkdir()
    workspace(subs, "alice", bank)
    header_bomb(subs / "bomb.tar.gz")  # 1 MB: a long-name header declaring 1 GiB
    directory_bomb(subs / "cd.zip")
    out = tmp_path / "out"
    result = grade("batch", subs, "--out", out, "--workers", "2")
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert "Graded 1, errors 2" in result.output
    docs = {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}
    assert docs["alice"]["status"] == "graded" and docs["alice"]["total"] == 4.0
    assert docs["bomb"]["error"] == ("the archive's long-name (././@LongLink) header declares "
                                     "1073741824 bytes (at most 65536)")
    assert "central directory declares" in docs["cd"]["error"]
    assert "- bomb: the archive" in (out / "report.md").read_text()


HOSTILE = ["<img src=x onerror=alert(1)>", "![t](http://e/x.png)", "a|b\nc", "[link](http://e/)",
           "`code` *em* ~~s~~ $x$ <http://e/> http://e/x www.e.com &lt;b&gt; \\| <!-- c"]


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", line))


def test_report_renders_student_text_inert(tmp_path: Path, bank):
    """Answers, ids and errors are student text: in report.md they are escaped, so no HTML, image,
    link or extra table cell comes through, raw or rendered."""
    from markdown_it import MarkdownIt

    from grader.reporters import StudentResult
    from grader.reporters.stream import render

    subs = tmp_path / "submissions"
    subs.mkdir()
    for k, answer in enumerate(HOSTILE):
        ws = workspace(subs, f"s{k}", bank, answers=False)
        write_answers(ws, {"1.1": answer, "1.2": HOSTILE[(k + 1) % len(HOSTILE)]})
    out = tmp_path / "out"
    assert grade("batch", subs, "--out", out).exit_code == 0
    docs = [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]
    docs.append({**docs[0], "student": "<img src=x onerror=alert(1)>|![t](http://e/x.png)",
                 "status": "error", "error": "bad YAML near '" + "\n".join(HOSTILE) + "'"})
    rendered = render(StudentResult.from_json(d) for d in docs)["report.md"]
    for report in ((out / "report.md").read_text(), rendered):
        assert "<img" not in report and "![" not in report and "<http" not in report and "<!--" not in report
        rows = [line for line in report.splitlines() if line.startswith("|")]
        assert len(rows) == 2 + len(docs[0]["items"]) and all(_unescaped_pipes(r) == 6 for r in rows), rows
        html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(report)
        assert "<img" not in html and "<a " not in html and "<code>" not in html and "<em>" not in html
        assert all(row.count("<td>") == 5 for row in html.split("<tr>")[2:])
    assert "| 1.1 | 0 | 0% | " in report and "&lt;img src=x onerror=alert(1)&gt; ×1" in report
    assert "\\!\\[t\\](http:\\/\\/e/x.png) ×1" in report
    assert "- &lt;img src=x onerror=alert(1)&gt;\\|\\!\\[t\\](http:\\/\\/e/x.png): bad YAML near" in report


def test_resume_grades_again_a_student_whose_item_the_grader_failed(small_class: Path, tmp_path: Path,
                                                                    monkeypatch):
    """A grader bug on one item is that item's error, and the student's row says graded; but
    --resume must not keep it: once the grader is fixed, the student is graded again."""
    import grader.grading.pipeline as pipeline

    real = pipeline.grade_response

    def broken(item, response, params):
        if item.id == "1.1":
            raise RuntimeError("a bug in the grader")
        return real(item, response, params)

    out = tmp_path / "out"
    monkeypatch.setattr(pipeline, "grade_response", broken)
    run(small_class, out)
    bob = json.loads((out / "results/bob.json").read_text())
    assert bob["status"] == "graded" and bob["items"]["1.1"]["status"] == "error"
    assert bob["grader_failed"] == ["1.1"]
    monkeypatch.setattr(pipeline, "grade_response", real)
    resumed = run(small_class, out, "--resume")
    bob = json.loads((out / "results/bob.json").read_text())
    assert bob["items"]["1.1"]["status"] == "incorrect" and "grader_failed" not in bob, resumed.output
    assert "already graded" in resumed.output  # the others were kept
