"""``ManifestItem``: one item as a workspace knows it, an entry of ``grade.yaml``.

Plain data below the item types (``grader/items``), which read and build entries;
``grader/workspace/manifest.py`` reads and writes the file that holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True)
class ManifestItem:
    """One item as a workspace knows it."""

    id: str
    type: str
    chapter: int
    title: str
    points: float = 1.0
    unit: str | None = None
    params: Mapping[str, float] = field(default_factory=dict)
    select: str | None = None
    options: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    performance: float = 0.0  # kernel tasks: the share of the points the roofline score gives
    shuffle: str | None = None  # trace and design: the student's seed for the order of options and steps

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "chapter": self.chapter,
                               "title": self.title, "points": self.points}
        if self.unit is not None:
            out["unit"] = self.unit
        if self.params:
            out["params"] = {k: _plain(v) for k, v in self.params.items()}
        if self.select is not None:
            out["select"] = self.select
        if self.options:
            out["options"] = list(self.options)
        if self.files:
            out["files"] = list(self.files)
        if self.performance:
            out["performance"] = self.performance
        if self.shuffle is not None:
            out["shuffle"] = self.shuffle
        return out
