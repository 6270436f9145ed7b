"""A grader installed without what the trusted test runner needs (pytest), as a base install
used to be: a code item is an error that says the grader is at fault, never a crash blamed on
the student, and it is not cached (the next check, once the grader is fixed, runs again)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from grader.core.paths import COURSE_ROOT
from tests.workspace_helpers import CHECKOUT

# a system python3 venv, and a code item in the sandbox
pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]

DEPENDENCIES = ("click", "pyyaml", "jsonschema", "rich")  # the base install less pytest


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(),
                    reason="needs the system's python3 for a bare virtual environment")
def test_a_grader_without_its_test_runner_blames_itself_and_caches_nothing(tmp_path: Path):
    folder = Path(tempfile.mkdtemp(prefix="grade-bare-", dir="/var/tmp"))
    try:
        venv = folder / "venv"
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", "--no-deps", "-e", str(CHECKOUT),
                        *DEPENDENCIES, "attrs", "referencing", "rpds-py", "jsonschema-specifications",
                        "markdown-it-py", "mdurl", "pygments", "typing-extensions"],
                       check=True, capture_output=True, timeout=300)
        grade = str(venv / "bin/grade")
        ws = tmp_path / "ws"
        subprocess.run([grade, "init", str(ws), "--items", "0.6"], check=True, capture_output=True)
        shutil.copyfile(COURSE_ROOT / "solutions/code/count_pairs.py", ws / "count_pairs/count_pairs.py")
        checks = [subprocess.run([grade, "check", str(ws), "--json"], capture_output=True, text=True,
                                 timeout=300) for _ in range(2)]
        table = subprocess.run([grade, "check", str(ws)], capture_output=True, text=True, timeout=300)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", "pytest"], check=True, capture_output=True,
                       timeout=300)  # the grader is fixed: the same files now grade, nothing was cached
        fixed = subprocess.run([grade, "check", str(ws), "--json"], capture_output=True, text=True,
                               timeout=300)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for check in checks:
        assert check.returncode == 0, check.stderr[-1500:]
        item = json.loads(check.stdout)["items"]["0.6"]
        assert item["status"] == "error", item
        feedback = " ".join(item["feedback"]) if isinstance(item["feedback"], list) else item["feedback"]
        assert "not a problem in your code" in feedback and "pytest" in feedback, feedback
        assert "exit()" not in feedback
    assert "Traceback" not in table.stdout + table.stderr and "error" in table.stdout
    assert json.loads(fixed.stdout)["items"]["0.6"]["status"] == "correct", fixed.stdout[-1500:]
