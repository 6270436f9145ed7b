"""Batch progress: a rich bar with ETA on a terminal, plain periodic lines in CI logs."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from grader.intake import list_submissions

PLAIN_EVERY_S = 10.0


@contextlib.contextmanager
def progress_reporter(console: Console, submissions: Path) -> Iterator[Callable[[str, dict[str, Any]], None]]:
    """Yields the callback ``run_batch`` calls as each student finishes."""
    total = len(list_submissions(submissions)[0])
    if console.is_terminal:
        with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      TextColumn("{task.fields[last]}"), console=console) as bar:
            task = bar.add_task("grade", total=total, last="")
            yield lambda student, doc: bar.update(task, advance=1, last=f"{student}: {doc['status']}")
        return
    state = {"done": 0, "last": time.monotonic(), "start": time.monotonic()}

    def plain(student: str, doc: dict[str, Any]) -> None:
        state["done"] += 1
        now = time.monotonic()
        if now - state["last"] >= PLAIN_EVERY_S or state["done"] == total:
            state["last"] = now
            rate = state["done"] / max(now - state["start"], 1e-9)
            left = (total - state["done"]) / rate if rate else 0
            console.print(f"graded {state['done']}/{total} ({rate:.1f}/s, about {left:.0f} s left)")

    yield plain
