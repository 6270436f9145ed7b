"""The type hints are checked: mypy, configured in pyproject.toml, passes on the grader."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.workspace_helpers import CHECKOUT

pytestmark = [pytest.mark.slow]  # mypy reads the whole grader (about 10 s)


def test_mypy_passes_on_the_grader(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
                          cwd=CHECKOUT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Success: no issues found" in done.stdout
