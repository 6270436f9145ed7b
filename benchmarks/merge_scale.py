"""Benchmark: `grade merge` of a generated class: seconds and peak memory by class size.

Run:  taskset -c 0,1 python benchmarks/merge_scale.py [--students 2000 20000 100000] [--shards 4]
(the README's figures: 2 cores, those three sizes). For each size the script writes the
results a sharded `grade batch` would have written (results/<id>.json in each shard's
folder), then runs `grade merge SHARD... --out OUT` as a command and prints its wall-clock
seconds, its CPU seconds and its peak memory (Python's start-up and the bank's load included):
the peak, sampled every 50 ms, of the proportional set size of its processes together (shared
pages counted once), or without Linux's /proc the largest process's peak resident set. Nothing
is asserted. `--keep DIR` keeps the generated classes to measure again.

The students are generated, not graded (grading 100,000 would take an hour): each item's
outcomes come from the real rules on real answers (the key, each known mistake, a power-of-ten
slip, each distractor, an unreadable answer, a blank), and each student draws one per item,
right more often the abler the student (so the item statistics mean something), with some
wrong answers unique to the student (the long tail a bounded summary must cope with); code
items get a pass, a partial pass or a crash. About 2% of the class could not be graded and 5%
handed nothing in.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from grader.bank.loader import load_bank
from grader.batch.run import RESULTS, bank_entries, dump, error_document, in_shard
from grader.core.paths import default_bank_dir
from grader.grading.pipeline import grade_practice
from grader.grading.report import CheckReport, ItemOutcome
from grader.items.derive import numeric_key
from grader.items.instance import key_entry
from grader.model.bank import Bank
from grader.model.entry import ManifestItem
from grader.results.result import Result, unanswered

ERRORS = ["the submission is empty", "the archive holds a path that leaves its folder",
          "answers.yaml is not valid YAML: while parsing a flow sequence, line 1, column 8: expected ',' "
          "or ']', but got '<stream end>' (a list or mapping left open?)",
          "answers.yaml is not UTF-8 (byte 0xff at offset 0): save it as UTF-8"]


@dataclass(frozen=True)
class Outcome:
    """One way an item can go: its Result, and the answer text that led to it (None: blank or files)."""

    result: Result
    answer: str | None


def _graded(bank: Bank, entry: ManifestItem, answer: object) -> Outcome:
    return Outcome(grade_practice(bank.items[entry.id], entry, answer), str(answer))


def outcomes(bank: Bank, entry: ManifestItem) -> tuple[Outcome, list[Outcome]]:
    """An item's right outcome and its wrong ones (most common first)."""
    item = bank.items[entry.id]
    if entry.files:
        right = Outcome(Result("correct", 1.0, ("All 26 tests passed.",)), None)
        failed = tuple(f"FAILED test_hidden.py::test_case_{k} - AssertionError: expected 3 pairs, got 2"
                       for k in range(8))
        crashed = ("Your code crashed: the process exited with status 0 before its tests finished.",)
        return right, [Outcome(Result("partial", 0.5, failed), None),
                       Outcome(Result("crashed", 0.0, crashed), None)]
    key = key_entry(item)["answer"]
    if item.options:  # a trace item: each distractor
        wrong = [_graded(bank, entry, o.id) for o in item.options if not o.correct]
    elif isinstance(key, list):  # an ordering
        wrong = [_graded(bank, entry, list(reversed(key))), _graded(bank, entry, [*key[1:], key[0]])]
    else:
        numeric = numeric_key(item, item.defaults())
        factor = numeric.asked_unit().factor
        wrong = [_graded(bank, entry, f"{value / factor:.6g}") for _label, _text, value in numeric.mistakes]
        wrong += [_graded(bank, entry, f"{key / 1000:.6g}"), _graded(bank, entry, "about twelve")]
    return _graded(bank, entry, key if not isinstance(key, list) else list(key)), wrong


def student_doc(student: str, entries: list[ManifestItem], pool: dict[str, tuple[Outcome, list[Outcome]]],
                rng: random.Random, fingerprint: str) -> dict:
    """A graded student: ability drawn, each item right with a logistic chance, else a wrong answer
    (one in five of them the student's own number), else blank."""
    ability = rng.gauss(0.0, 1.0)
    report = CheckReport("batch")
    analysis = {}
    for n, entry in enumerate(entries):
        right, wrong = pool[entry.id]
        difficulty = (n % 7 - 3) / 2
        draw = rng.random()
        if draw < 0.04:
            outcome = Outcome(unanswered(), None)
        elif rng.random() < 1 / (1 + math.exp(difficulty - 1.5 * ability)):
            outcome = right
        else:
            outcome = wrong[min(int(rng.expovariate(1.0)), len(wrong) - 1)]
            if outcome.answer is not None and not entry.options and not entry.files and rng.random() < 0.2:
                outcome = Outcome(outcome.result, f"{rng.uniform(1, 1000):.4g}")  # the long tail
        report.outcomes.append(ItemOutcome(entry, outcome.result))
        if outcome.answer is not None:
            analysis[entry.id] = {"answer": outcome.answer[:200], "matched": outcome.result.matched}
    return {"student": student, "status": "graded", "error": None, **report.to_json(), "analysis": analysis,
            "bank": fingerprint}


def make_shards(root: Path, students: int, shards: int, bank: Bank) -> list[Path]:
    """results/*.json of ``students`` students, as ``shards`` runs of ``grade batch --shard`` write them."""
    entries = bank_entries(bank)
    pool = {e.id: outcomes(bank, e) for e in entries}
    rng = random.Random(students)
    folders = [root / f"shard{k}" for k in range(1, shards + 1)]
    for folder in folders:
        (folder / RESULTS).mkdir(parents=True)
    for i in range(students):
        student = f"s{i:06d}"
        draw = rng.random()
        if draw < 0.02:
            doc = {**error_document(student, rng.choice(ERRORS), entries), "bank": "bench"}
        elif draw < 0.07:
            doc = {**error_document(student, "no submission", entries, "no submission"), "bank": "bench"}
        else:
            doc = student_doc(student, entries, pool, rng, "bench")
        k = next(k for k in range(1, shards + 1) if in_shard(student, (k, shards)))
        (folders[k - 1] / RESULTS / f"{student}.json").write_text(dump(doc), "utf-8")
    return folders


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux's /proc)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(p for child in children for p in _tree(int(child)))]


def _pss_mb(pid: int) -> float:
    """The proportional set size of ``pid`` and its descendants: their memory, shared pages split
    between them (a forked child's pages it shares with its parent counted once)."""
    total = 0
    for each in _tree(pid):
        try:
            rollup = Path(f"/proc/{each}/smaps_rollup").read_text()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
    return total / 1024


class Sampler(threading.Thread):
    """The peak of ``_pss_mb`` of a running command, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, _pss_mb(self.pid))


def measure_merge(shards: list[Path], out: Path) -> tuple[float, float, float]:
    """Wall-clock seconds, CPU seconds (user and system, its processes together) and peak memory
    in MB of ``grade merge`` as a command: the sampled peak of its processes' proportional set
    size where Linux's /proc gives it, else the largest process's peak resident set."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "grader", "merge", *map(str, shards), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sampler = Sampler(proc.pid)
    sampler.start()
    assert proc.stdout is not None
    output = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    sampler.done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"grade merge failed ({proc.returncode}): {output.decode(errors='replace')}")
    return seconds, usage.ru_utime + usage.ru_stime, sampler.peak or usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, nargs="+", default=[2000, 20000, 100000])
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--keep", type=Path, help="Keep each generated class in this folder (class-N/) and "
                                                  "reuse it on the next run.")
    args = parser.parse_args()
    bank = load_bank(default_bank_dir()).bank
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"grade merge of {args.shards} shards, {cores} core(s), {len(bank.items)} items per student")
    for students in args.students:
        with contextlib.ExitStack() as stack:
            root = args.keep / f"class-{students}" if args.keep else \
                Path(stack.enter_context(tempfile.TemporaryDirectory()))
            start = time.monotonic()
            shards = sorted(root.glob("shard*"))
            if len(shards) != args.shards:
                shutil.rmtree(root, ignore_errors=True)
                shards = make_shards(root, students, args.shards, bank)
            made = time.monotonic() - start
            shutil.rmtree(root / "merged", ignore_errors=True)
            seconds, cpu, peak_mb = measure_merge(shards, root / "merged")
            print(f"{students:>7} students: {seconds:6.1f} s, peak {peak_mb:6.0f} MB "
                  f"({1000 * seconds / students:.2f} ms per student, {cpu:.1f} s of CPU; "
                  f"class generated or found in {made:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
