"""Graded workspaces, and a student who reaches a fully correct workspace from the CLI alone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.items.instance import key_entry
from grader.workspace.folder import write_workspace
from grader.workspace.manifest import Manifest, manifest_item
from tests.answer_forms import in_asked_unit
from tests.workspace_helpers import check_json, grade, write_answers

pytestmark = [pytest.mark.slow]  # whole workspaces through the CLI, code items in the sandbox


def test_graded_workspace_checks_format_only(tmp_path: Path, bank):
    manifest = Manifest(mode="graded", title="Assignment 1",
                        items=tuple(manifest_item(bank.items[i]) for i in
                                    ("1.1", "1.2", "1.5", "2.5", "0.6")))
    ws = write_workspace(tmp_path / "a1", bank, manifest).root
    right = key_entry(bank.items["1.5"])["answer"]
    wrong_option = next(o.id for o in bank.items["1.5"].options if o.id != right)
    write_answers(ws, {"1.1": "17180", "1.2": "34360 GB", "1.5": wrong_option, "2.5": "ABZ"})
    doc = check_json(ws)
    items = doc["items"]
    assert items["1.1"]["status"] == "pending"  # a wrong number is still only "readable"
    assert items["1.5"]["status"] == "pending"
    assert "Graded on submission" in items["1.1"]["feedback"]
    assert items["1.2"]["status"] == "error" and "asks for" in items["1.2"]["feedback"]
    assert items["2.5"]["status"] == "error" and "unknown option 'Z'" in items["2.5"]["feedback"]
    assert doc["mode"] == "graded" and doc["total"] == 0.0
    text = json.dumps(doc)
    assert "Correct" not in text and "Hint" not in text and "M*K*N" not in text
    out = grade("check", ws).output
    assert "format only" in out and "graded after you submit" in out and "Readable now" in out
    assert "Answered 2/5" in grade("progress", ws).output


def _design_prefix(feedback: str, n: int) -> int:
    """How many leading steps the ordering feedback says are right."""
    if feedback.startswith("Correct"):
        return n
    if "The first step is not right" in feedback:
        return 0
    if "The first step is right" in feedback:
        return 1
    return int(re.search(r"The first (\d+) steps are right", feedback).group(1))


def test_a_student_reaches_a_fully_correct_workspace_from_feedback(tmp_path: Path, bank):
    ws = tmp_path / "me"
    assert grade("init", ws, "--chapter", "0", "--chapter", "2", "--chapter", "9").exit_code == 0
    doc = check_json(ws)
    todo = [i for i, e in doc["items"].items() if e["status"] == "unanswered"]
    code = [i for i in todo if bank.items[i].code is not None]
    # Derive items: the student works the math out (here, the reference solver does it).
    write_answers(ws, {i: in_asked_unit(bank.items[i]) for i in todo if bank.items[i].type == "derive"})
    # Trace items: try the listed options one by one, reading only check's verdict.
    for item_id in (i for i in todo if bank.items[i].type == "trace"):
        options = re.findall(r"^#    ([A-Z])\. ", (ws / "answers.yaml").read_text("utf-8"), re.M)
        for option in dict.fromkeys(options):
            write_answers(ws, {item_id: option})
            if check_json(ws, "--item", item_id)["items"][item_id]["status"] == "correct":
                break
    # Design items: grow a correct prefix from the feedback on the first wrong step.
    for item_id in (i for i in todo if bank.items[i].type == "design"):
        labels = [lab for lab, _ in bank.items[item_id].display_steps()]
        prefix: list[str] = []
        while len(prefix) < len(labels):
            for candidate in (x for x in labels if x not in prefix):
                order = prefix + [candidate] + [x for x in labels if x not in prefix and x != candidate]
                write_answers(ws, {item_id: "".join(order)})
                fb = check_json(ws, "--item", item_id)["items"][item_id]["feedback"]
                if _design_prefix(fb, len(labels)) > len(prefix):
                    prefix.append(candidate)
                    break
            else:
                raise AssertionError(f"feedback on {item_id} gave no way forward")
    final = check_json(ws)
    assert {i for i, e in final["items"].items() if e["status"] != "correct"} == set(code)
    progress = json.loads(grade("progress", ws, "--json").output)
    assert progress["mastered"] == progress["total"] - len(code)


def test_practice_workspace_grades_at_its_own_parameters(tmp_path: Path, bank):
    item = bank.items["1.1"]
    variant = {"m": 2048, "k": 1024, "n": 512}
    manifest = Manifest(mode="practice", items=(manifest_item(item, variant),
                                                manifest_item(bank.items["1.2"], {"bogus": 1})))
    ws = write_workspace(tmp_path / "v", bank, manifest).root
    assert "[2,048, 1,024]" in (ws / "answers.yaml").read_text("utf-8")
    write_answers(ws, {"1.1": in_asked_unit(item)})  # the default's answer
    assert check_json(ws)["items"]["1.1"]["status"] == "incorrect"
    write_answers(ws, {"1.1": in_asked_unit(item, variant), "1.2": "20.3"})
    doc = check_json(ws)
    assert doc["items"]["1.1"]["status"] == "correct"
    assert doc["items"]["1.2"]["status"] == "error" and "out of date" in doc["items"]["1.2"]["feedback"]


@pytest.mark.linux_only  # code items run in the sandbox
@pytest.mark.sandbox
def test_check_grades_both_code_items_end_to_end(tmp_path: Path, bank):
    import shutil

    import pytest

    pytest.importorskip("torch", reason="the MoE router item needs torch (pip install '.[test]')")
    from grader.core.paths import COURSE_ROOT
    from grader.model.mutants import mutant_source

    ws = tmp_path / "code"
    assert grade("init", ws, "--items", "0.6,3.5").exit_code == 0
    untouched = check_json(ws)["items"]
    assert {e["status"] for e in untouched.values()} == {"unanswered"}
    shutil.copyfile(COURSE_ROOT / "solutions/code/count_pairs.py", ws / "count_pairs/count_pairs.py")
    (ws / "moe_router/moe_router.py").write_text(mutant_source(
        COURSE_ROOT, "solutions/code/mutants/moe_router.yaml", "solutions/code/moe_router.py",
        "hardcoded_top1"))
    items = check_json(ws)["items"]
    assert items["0.6"]["status"] == "correct" and "Hidden tests: 26/26 passed." in items["0.6"]["feedback"]
    assert items["3.5"]["status"] == "partial" and 0 < items["3.5"]["score"] < 1
    assert "Failing: output shapes follow top k [2]" in items["3.5"]["feedback"]
    assert "Hint 1/" in items["3.5"]["feedback"]
    shutil.copyfile(COURSE_ROOT / "solutions/code/moe_router.py", ws / "moe_router/moe_router.py")
    assert check_json(ws, "--item", "3.5")["items"]["3.5"]["status"] == "correct"
    assert json.loads(grade("progress", ws, "--json").output)["mastered"] == 2


@pytest.mark.linux_only  # code items run in the sandbox
@pytest.mark.sandbox
@pytest.mark.parametrize("source, status", [
    ("import os\nos._exit(0)\n", "crashed"),                                  # at import
    ("def count_pairs(sequences):\n    import os\n    os._exit(3)\n", "crashed"),  # in the call
    ("import os\nos.fork()\n", "forbidden"),
])
def test_code_that_ends_its_own_process_is_a_table_row(tmp_path, source, status):
    """What a student sees: `grade check` prints the item's row and exits 0, no traceback
    (the table once had no style for the sandbox's statuses and crashed on 'crashed')."""
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "0.6").exit_code == 0
    (ws / "count_pairs" / "count_pairs.py").write_text(source)
    done = subprocess.run([sys.executable, "-m", "grader", "check", str(ws)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert status.replace("_", " ") in done.stdout and "0.6" in done.stdout, done.stdout
