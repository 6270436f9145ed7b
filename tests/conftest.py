"""Shared fixtures: the shipped bank, loaded once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.loader import load_bank
from grader.model import Bank
from grader.paths import COURSE_ROOT

BANK_DIR = COURSE_ROOT / "bank"


@pytest.fixture(scope="session")
def bank() -> Bank:
    result = load_bank(BANK_DIR)
    assert result.problems == []
    return result.bank


@pytest.fixture
def bank_copy(tmp_path: Path) -> Path:
    """A writable copy of the bank (and the code files it points to) to break."""
    root = tmp_path / "repo"
    shutil.copytree(BANK_DIR, root / "bank")
    for folder in ("student_templates", "solutions"):
        shutil.copytree(COURSE_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root / "bank"
