"""Where the bank lives: ``--bank``, else $GRADE_BANK, else the repository's bank/."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_bank_dir() -> Path:
    env = os.environ.get("GRADE_BANK")
    return Path(env) if env else REPO_ROOT / "bank"
