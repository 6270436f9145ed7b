"""Where the bank lives: ``--bank``, else $GRADE_BANK, else the course's bank/."""

from __future__ import annotations

import os
from pathlib import Path

from grader.course import COURSE_ROOT

__all__ = ["COURSE_ROOT", "default_bank_dir"]


def default_bank_dir() -> Path:
    env = os.environ.get("GRADE_BANK")
    return Path(env) if env else COURSE_ROOT / "bank"
