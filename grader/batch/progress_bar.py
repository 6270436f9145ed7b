"""Batch progress: a rich bar with ETA on a terminal, plain periodic lines in CI logs."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

PLAIN_EVERY_S = 10.0


class Reporter:
    """What ``run_batch`` calls: ``start(n)`` once it knows how many it will grade (after
    ``--shard`` and ``--resume``), then ``done(student, doc)`` as each one finishes."""

    def __init__(self, start: Callable[[int], None], done: Callable[[str, dict[str, Any]], None]) -> None:
        self.start, self.done = start, done


@contextlib.contextmanager
def progress_reporter(console: Console) -> Iterator[Reporter]:
    if console.is_terminal:
        with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      TextColumn("{task.fields[last]}"), console=console) as bar:
            task = bar.add_task("grade", total=None, last="")
            yield Reporter(lambda n: bar.update(task, total=n),
                           lambda student, doc: bar.update(task, advance=1,
                                                           last=f"{student}: {doc['status']}"))
        return
    state = {"done": 0, "total": 0, "last": time.monotonic(), "start": time.monotonic()}

    def start(total: int) -> None:
        state.update(total=total, start=time.monotonic(), last=time.monotonic())

    def done(student: str, doc: dict[str, Any]) -> None:
        state["done"] += 1
        now = time.monotonic()
        if now - state["last"] >= PLAIN_EVERY_S or state["done"] == state["total"]:
            state["last"] = now
            rate = state["done"] / max(now - state["start"], 1e-9)
            left = (state["total"] - state["done"]) / rate if rate else 0
            console.print(f"graded {state['done']}/{state['total']} ({rate:.1f}/s, about {left:.0f} s left)")

    yield Reporter(start, done)
