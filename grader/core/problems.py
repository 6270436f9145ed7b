"""A problem found in the bank: where it is (file, item, path inside) and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.core import fileio

MAX_FILE_BYTES = 1 << 20  # one bank file (a chapter, kernels.yaml, a mutants' patch file)


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


def read_document(path: Path, label: str, data: bytes | None = None) -> tuple[Any, list[Problem]]:
    """Parse one bank file (``data``: its bytes, already read) with ``grader.core.fileio.read_yaml``;
    a failure is a problem of the file."""
    try:
        return fileio.read_yaml(path if data is None else data, label=label, max_bytes=MAX_FILE_BYTES), []
    except fileio.YamlError as exc:
        return None, [Problem(label, f"invalid YAML: {exc.detail}" if exc.kind == "yaml"
                              else f"file is {exc.problem}")]
    except OSError as exc:
        return None, [Problem(label, f"could not read: {exc}")]
