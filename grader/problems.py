"""A problem found in the bank: where it is (file, item, path inside) and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One validation finding, printable as ``file: item 1.3: $.answer.unit: message``."""

    file: str
    message: str
    item: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.item:
            where.append(f"item {self.item}")
        if self.path:
            where.append(self.path)
        return ": ".join([*where, self.message])

    def to_json(self) -> dict[str, str | None]:
        return {"file": self.file, "item": self.item, "path": self.path, "message": self.message}
