"""The files TAs upload, rebuilt from ``results/*.json`` in student-id order.

Being derived only from the per-student results, they are byte-identical whether the
class was graded in one run, resumed after a crash, or graded in shards and merged.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from grader.batch import RESULTS, write_atomic


def load_results(out: Path) -> list[dict[str, Any]]:
    """Every student's result document, sorted by student id."""
    docs = [json.loads(p.read_text("utf-8")) for p in sorted((out / RESULTS).glob("*.json"))]
    return sorted(docs, key=lambda d: d["student"])


def grades_csv(docs: list[dict[str, Any]]) -> str:
    """One row per student: id, total, max, status, then one score column per item."""
    item_ids = list(docs[0]["items"]) if docs else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "total", "max", "status", *item_ids])
    for doc in docs:
        writer.writerow([doc["student"], f"{doc['total']:g}", f"{doc['max_total']:g}", doc["status"],
                         *(f"{doc['items'][i]['score']:g}" if i in doc["items"] else "" for i in item_ids)])
    return buffer.getvalue()


def write_aggregates(out: Path) -> list[str]:
    """Write the aggregate files; returns their names."""
    docs = load_results(out)
    write_atomic(out / "grades.csv", grades_csv(docs))
    return ["grades.csv"]
