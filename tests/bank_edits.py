"""Edit a copy of the bank's YAML in tests: one file read, changed in place and written back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def edit_yaml(bank_dir: Path, filename: str, change: Callable[[Any], object]) -> None:
    """Load ``bank_dir/filename``, let ``change`` mutate the document, write it back."""
    path = bank_dir / filename
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def item_in(doc: dict[str, Any], item_id: str) -> dict[str, Any]:
    """The item ``item_id`` of a loaded chapter document."""
    return next(i for i in doc["items"] if i["id"] == item_id)
