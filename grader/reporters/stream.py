"""One pass of a class's results past every reporter, and the files it writes kept in memory."""

from __future__ import annotations

import io
from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import chain

from grader.reporters import ClassInfo, ItemInfo, Output, StudentResult, reporters
from grader.reporters.statistics import ClassStatistics


def write_class(students: Iterable[StudentResult], out: Output, items: Mapping[str, ItemInfo] | None = None,
                unmatched: Sequence[tuple[str, str]] = (), only: Collection[str] | None = None,
                item_ids: Sequence[str] | None = None) -> list[str]:
    """Show each of ``students`` (in student-id order) to the class's statistics and then to every
    reporter (``only``: those of these names), once; then close the reporters. Returns their
    names. ``items``: what the bank says of the items, by id; ``unmatched``: the submissions
    matched to no student (entry, why); ``item_ids``: the items' order (default: the first
    student's)."""
    stream = iter(students)
    first = next(stream, None)
    if item_ids is None:
        item_ids = tuple(first.items) if first is not None else ()
    info = ClassInfo(tuple(item_ids), items or {}, tuple(unmatched))
    stats = ClassStatistics(info)
    chosen = [make for make in reporters() if only is None or make.name in only]
    gather = any(make.reads_statistics for make in chosen)
    try:
        active = [make(info, out, stats) for make in chosen]
        for student in chain([first] if first is not None else [], stream):
            if gather:
                stats.add(student)
            for each in active:
                each.add(student)
        for each in active:
            each.close()
    finally:
        stats.close()
    return [each.name for each in active]


class MemoryOutput:
    """Files kept as text, by relative path: for a class small enough to hold."""

    def __init__(self) -> None:
        self.files: dict[str, io.StringIO] = {}

    def stream(self, relative: str) -> io.StringIO:
        self.files[relative] = io.StringIO()
        return self.files[relative]

    def write(self, relative: str, text: str | bytes) -> None:
        self.stream(relative).write(text.decode("utf-8") if isinstance(text, bytes) else text)

    def texts(self) -> dict[str, str]:
        return {relative: buffer.getvalue() for relative, buffer in sorted(self.files.items())}


def render(students: Iterable[StudentResult], items: Mapping[str, ItemInfo] | None = None,
           unmatched: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    """Every reporter's files for ``students``, as text by relative path."""
    out = MemoryOutput()
    write_class(students, out, items, unmatched)
    return out.texts()
