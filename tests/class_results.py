"""A generated class's result documents (results/<id>.json as grade batch writes them), made
without the bank or the grader, so the same class can be rendered by any version of the
reporters: every status, scores that are not round, hostile text in feedback, answers and
errors, the long tail of wrong answers, students who could not be graded or handed nothing in.
Imports nothing of the grader (tests/test_class_reports.py compares today's files with those
the reporters wrote before they streamed)."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

LABELS = ("correct", "partial", "incorrect", "unanswered", "error", "pending", "timeout", "memory_limit",
          "crashed", "output_limit", "forbidden", "tampered")
ITEMS = {f"{c}.{k}": (1.0 if k % 3 else 2.0) for c in (1, 2) for k in range(6)}  # id -> points
TITLES = {item_id: f"Item {item_id} <&> \"t\"" for item_id in ITEMS}
CHOICE = {"1.0": (("A", "B", "C", "D"), {"B"}), "2.3": (("A", "B", "C", "D", "E"), {"A", "C"})}
HOSTILE = ["Line one <&> \"quoted\" \x01\nline two", "a|b *c* `d` [e](http://x.y/) www.y.z ~~s~~ $x$",
           "ü \u2028 tab\there \ud7ff", "x" * 350 + " the end of a long message"]
ERRORS = ["answers.yaml is not valid YAML: while parsing a flow sequence, line 1, column 8: expected "
          "',' or ']', but got '<stream end>' (a list or mapping left open?) " + "and more words " * 20
          + "| <b>bold</b>\nsecond line", "the submission is empty"]


def _item(rng: random.Random, item_id: str, ability: float) -> tuple[dict, dict | None]:
    """One item's result and, when an answer was written, its analysis entry."""
    points = ITEMS[item_id]
    right = rng.random() < 1 / (1 + math.exp(-2 * ability + (int(item_id[-1]) - 2.5) / 2))
    label = "correct" if right else rng.choice(LABELS[1:])
    share = 1.0 if label == "correct" else rng.choice((1 / 3, 0.5)) if label == "partial" else 0.0
    feedback = "Correct." if right else rng.choice(HOSTILE)
    doc = {"status": label, "score": round(share * points, 6), "max_score": points, "feedback": feedback}
    if label == "unanswered":
        return doc, None
    if item_id in CHOICE:
        options, correct = CHOICE[item_id]
        picked = sorted(correct) if right else sorted(rng.sample(options, rng.choice((1, 2))))
        return doc, {"answer": ",".join(picked), "matched": ",".join(picked)}
    answer = "42" if right else rng.choice(["41", "4.2e1 GB", "<img src=x>", f"{rng.uniform(0, 9):.3f}"])
    return doc, {"answer": answer, "matched": None if right else rng.choice([None, "unit", "10^3 slip"])}


def class_results(students: int, seed: int = 0) -> list[dict]:
    """``students`` result documents, in student-id order."""
    rng = random.Random(seed)
    docs = []
    for n in range(students):
        student = f"s{n:05d}" if n % 7 else f"s{n:05d}-{'ab'[n % 2]}"
        draw = rng.random()
        if draw < 0.08:
            reason, status = (rng.choice(ERRORS), "error") if draw < 0.04 else ("no submission",) * 2
            items = {i: {"status": "error" if status == "error" else "unanswered", "score": 0.0,
                         "max_score": p, "feedback": reason} for i, p in ITEMS.items()}
            analysis: dict[str, dict] = {}
        else:
            status, reason, ability = "graded", None, rng.gauss(0, 1)
            items, analysis = {}, {}
            for item_id in ITEMS:
                items[item_id], written = _item(rng, item_id, ability)
                if written is not None:
                    analysis[item_id] = written
        total = round(sum(i["score"] for i in items.values()), 6)
        docs.append({"student": student, "status": status, "error": reason, "total": total,
                     "max_total": sum(ITEMS.values()), "items": items, "mode": "batch", "chapters": {},
                     "warnings": [], "analysis": analysis, "bank": "generated"})
    return sorted(docs, key=lambda d: d["student"])


def write_results(out: Path, docs: list[dict]) -> None:
    """``docs`` as out/results/<id>.json, written as grade batch writes them."""
    (out / "results").mkdir(parents=True, exist_ok=True)
    for doc in docs:
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        (out / "results" / f"{doc['student']}.json").write_text(text, "utf-8")
