"""The files TAs upload, rebuilt from ``results/*.json`` in student-id order.

Being derived only from the per-student results, they are byte-identical whether the
class was graded in one run, resumed after a crash, or graded in shards and merged.
Each file's format is a reporter (``grader.reporters``): this module reads the results,
hands them to every reporter and writes what they render.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from grader.batch.run import RESULTS, write_atomic
from grader.reporters import ClassResults, StudentResult, reporters


def load_results(out: Path, warnings: list[str] | None = None) -> list[StudentResult]:
    """Every student's result, sorted by student id; unreadable files are skipped
    (and named in ``warnings``)."""
    results = []
    for path in sorted((out / RESULTS).glob("*.json")):
        try:
            doc = json.loads(path.read_text("utf-8"))
            if not isinstance(doc, dict) or doc.get("student") != path.stem:
                raise ValueError("not a result document")
            result = StudentResult.from_json(doc)
        except (OSError, ValueError) as exc:
            if warnings is not None:
                warnings.append(f"skipped {path.name}: {exc}")
            continue
        results.append(result)
    return sorted(results, key=lambda r: r.student)


def write_aggregates(out: Path, warnings: list[str] | None = None,
                     titles: Mapping[str, str] | None = None) -> list[str]:
    """Write every reporter's files; returns the reporters' names."""
    results = ClassResults(tuple(load_results(out, warnings)), titles or {})
    names = []
    for each in reporters():
        for relative, text in each.render(results).items():
            write_atomic(out / relative, text)
        names.append(each.name)
    return names


def merge(outs: list[Path], target: Path, titles: Mapping[str, str] | None = None) -> int:
    """Combine shard outputs: the union of their results, then the aggregates rebuilt."""
    seen: dict[str, Path] = {}
    for out in outs:
        for path in sorted((out / RESULTS).glob("*.json")):
            if path.name in seen and seen[path.name].read_bytes() != path.read_bytes():
                raise ValueError(f"{path.stem} has different results in {seen[path.name].parent.parent} "
                                 f"and {out}: were these shards of one run?")
            seen[path.name] = path
    banks = {json.loads(p.read_text("utf-8")).get("bank") for p in seen.values()}
    if len(banks) > 1:
        raise ValueError("the shards were graded with different banks or grader versions; "
                         "regrade them with one")
    for name, path in sorted(seen.items()):
        write_atomic(target / RESULTS / name, path.read_text("utf-8"))
    write_aggregates(target, titles=titles)
    return len(seen)
