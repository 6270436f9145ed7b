"""The files TAs upload, rebuilt from ``results/*.json`` in student-id order.

Being derived only from the per-student results, they are byte-identical whether the
class was graded in one run, resumed after a crash, or graded in shards and merged.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.batch import RESULTS, write_atomic


def load_results(out: Path, warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """Every student's result document, sorted by student id; unreadable files are skipped
    (and named in ``warnings``)."""
    docs = []
    for path in sorted((out / RESULTS).glob("*.json")):
        try:
            doc = json.loads(path.read_text("utf-8"))
            if not isinstance(doc, dict) or doc.get("student") != path.stem \
                    or not isinstance(doc.get("items"), dict):
                raise ValueError("not a result document")
        except (OSError, ValueError) as exc:
            if warnings is not None:
                warnings.append(f"skipped {path.name}: {exc}")
            continue
        docs.append(doc)
    return sorted(docs, key=lambda d: d["student"])


def _num(value: float) -> str:
    """Scores as written in the CSV: integers plainly, otherwise up to 10 significant digits."""
    return str(int(value)) if float(value).is_integer() else format(value, ".10g")


_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def grades_csv(docs: list[dict[str, Any]]) -> str:
    """One row per student: id, total, max, status, then one score column per item."""
    item_ids = list(docs[0]["items"]) if docs else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "total", "max", "status", *item_ids])
    for doc in docs:
        writer.writerow([doc["student"], _num(doc["total"]), _num(doc["max_total"]), doc["status"],
                         *(_num(doc["items"][i]["score"]) if i in doc["items"] else "" for i in item_ids)])
    return buffer.getvalue()


GRADESCOPE_DONE = ("correct",)


def gradescope_results(doc: dict[str, Any], titles: Mapping[str, str] | None = None,
                       visibility: str = "visible") -> dict[str, Any]:
    """One student's Gradescope autograder results.json: score, max_score and one test per item
    (named by id and, given ``titles``, title)."""
    tests = []
    for number, (item_id, entry) in enumerate(doc["items"].items(), 1):
        name = f"{item_id} {titles[item_id]}" if titles and item_id in titles else item_id
        tests.append({"name": name, "number": str(number), "score": entry["score"],
                      "max_score": entry["max_score"],
                      "status": "passed" if entry["status"] in GRADESCOPE_DONE else "failed",
                      "output": f"{entry['status']}: {entry['feedback']}", "visibility": visibility})
    out: dict[str, Any] = {"score": doc["total"], "max_score": doc["max_total"], "tests": tests,
                           "visibility": visibility, "stdout_visibility": "hidden"}
    if doc.get("error"):
        out["output"] = f"Your submission could not be graded: {doc['error']}"
    return out


def junit_xml(docs: list[dict[str, Any]]) -> str:
    """One testsuite per student, one testcase per item; no timings, so it is deterministic."""
    root = ET.Element("testsuites", name="grade batch")
    for doc in docs:
        items = doc["items"]
        failures = sum(e["status"] not in ("correct", "error") for e in items.values())
        errors = sum(e["status"] == "error" for e in items.values())
        suite = ET.SubElement(root, "testsuite", name=doc["student"], tests=str(len(items)),
                              failures=str(failures), errors=str(errors))
        for item_id, entry in items.items():
            case = ET.SubElement(suite, "testcase", classname=doc["student"], name=item_id)
            if entry["status"] == "error":
                ET.SubElement(case, "error", message=_xml_text(entry["feedback"][:300]), type=entry["status"])
            elif entry["status"] != "correct":
                ET.SubElement(case, "failure", message=_xml_text(entry["feedback"][:300]),
                              type=entry["status"])
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def report_md(docs: list[dict[str, Any]]) -> str:
    """Item analysis for the instructor: scores, share correct, common wrong answers, errors."""
    graded = [d for d in docs if d["status"] == "graded"]
    lines = ["# Batch report", "",
             f"{len(docs)} students: {len(graded)} graded, "
             f"{sum(d['status'] == 'error' for d in docs)} errors, "
             f"{sum(d['status'] == 'no submission' for d in docs)} without a submission.", ""]
    if graded:
        mean = sum(d["total"] for d in graded) / len(graded)
        lines += [f"Mean total of graded students: {mean:.2f} / {graded[0]['max_total']:g}.", ""]
    lines += ["## Items", "", "| item | mean score | share correct | most common wrong answers | "
              "feedback that fired |", "|---|---|---|---|---|"]
    item_ids = list(docs[0]["items"]) if docs else []
    for item_id in item_ids:
        entries = [d["items"][item_id] for d in graded]
        mean = sum(e["score"] for e in entries) / len(entries) if entries else 0.0
        share = sum(e["status"] == "correct" for e in entries) / len(entries) if entries else 0.0
        wrong = Counter(d["analysis"][item_id]["answer"] for d in graded if item_id in d["analysis"]
                        and d["items"][item_id]["status"] not in ("correct", "unanswered"))
        fired = Counter(d["analysis"][item_id]["matched"] for d in graded if item_id in d["analysis"]
                        and d["analysis"][item_id]["matched"] and d["items"][item_id]["status"] != "correct")
        common = "; ".join(f"{markdown_text(a)} ×{n}" for a, n in _top(wrong))
        labels = "; ".join(f"{markdown_text(m)} ×{n}" for m, n in _top(fired))
        lines.append(f"| {markdown_text(item_id)} | {mean:.2f} | {share:.0%} | {common} | {labels} |")
    errors = [d for d in docs if d["status"] == "error"]
    if errors:
        lines += ["", "## Submissions that could not be graded", ""]
        lines += [f"- {markdown_text(d['student'])}: {markdown_text(d['error'], 200)}" for d in errors]
    return "\n".join(lines) + "\n"


def _top(counts: Counter[str], k: int = 3) -> list[tuple[str, int]]:
    """The ``k`` most frequent, ties broken by text so the report is deterministic."""
    return sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:k]


_LINE_BREAKS = str.maketrans({c: " " for c in "\r\n\t\v\f\x1c\x1d\x1e\x85\u2028\u2029"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MARKDOWN = re.compile(r"([\\`*_\[\]!|~$])")
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def markdown_text(text: object, limit: int = 80) -> str:
    """Student-derived text (an id, an answer, an error quoting a file) as inert Markdown on one
    line: at most ``limit`` characters of it, line breaks as spaces, control characters as
    U+FFFD, Markdown's inline punctuation backslash-escaped (so no emphasis, code span, link,
    image or table cell boundary), ``& < >`` as HTML entities (no tag, no ``<url>`` autolink),
    and ``://`` and ``www.`` broken up so a bare URL is not made a link either."""
    text = _CONTROL.sub("\ufffd", str(text)[:limit].translate(_LINE_BREAKS))
    text = _MARKDOWN.sub(r"\\\1", text).translate(_HTML)
    return re.sub(r"(?i)(?<=:)//|(?<=www)\.", lambda m: "".join("\\" + c for c in m.group()), text)


def write_aggregates(out: Path, warnings: list[str] | None = None,
                     titles: Mapping[str, str] | None = None) -> list[str]:
    """Write the aggregate files; returns their names."""
    docs = load_results(out, warnings)
    write_atomic(out / "grades.csv", grades_csv(docs))
    for doc in docs:
        write_atomic(out / "gradescope" / doc["student"] / "results.json",
                     json.dumps(gradescope_results(doc, titles), indent=2, ensure_ascii=False) + "\n")
    write_atomic(out / "junit.xml", junit_xml(docs))
    write_atomic(out / "report.md", report_md(docs))
    return ["grades.csv", "gradescope/", "junit.xml", "report.md"]


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
