"""Benchmark: `grade batch` end to end on N generated submissions, sandbox on.

Run:  python benchmarks/batch_speed.py [--students N] [--workers W]   (the README uses N=1000)
Each submission is a full workspace (all 51 items, both code items): a third all correct,
a third partly wrong (some answers off, a buggy router), and the rest broken in assorted
ways (bad YAML, empty, a path-traversal zip, code that crashes). Prints submissions/s and
seconds per submission; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from grader.bank.loader import load_bank
from grader.batch.outputs import write_aggregates
from grader.batch.run import run_batch
from grader.core.paths import COURSE_ROOT, default_bank_dir
from grader.items.instance import key_entry
from grader.model.mutants import mutant_source
from grader.workspace.folder import init_workspace


def fill(ws: Path, bank, wrong_every: int) -> None:
    text = (ws / "answers.yaml").read_text("utf-8")
    for n, (item_id, item) in enumerate(bank.items.items()):
        if item.code is not None:
            continue
        answer = key_entry(item)["answer"]
        if wrong_every and n % wrong_every == 0 and isinstance(answer, float):
            answer = answer * 3
        value = "[" + ", ".join(answer) + "]" if isinstance(answer, list) else json.dumps(answer)
        text = re.sub(rf'^"{re.escape(item_id)}":$', f'"{item_id}": {value}', text, flags=re.M)
    (ws / "answers.yaml").write_text(text, "utf-8")


def make_class(root: Path, students: int, bank) -> Path:
    subs = root / "submissions"
    subs.mkdir()
    template = root / "template"
    init_workspace(template, bank, list(bank.items))
    code = COURSE_ROOT / "solutions" / "code"
    for i in range(students):
        sid = f"s{i:05d}"
        kind = i % 6
        if kind == 5:  # broken in one of several ways
            broken = (i // 6) % 3
            if broken == 0:
                (subs / sid).mkdir()
            elif broken == 1:
                with zipfile.ZipFile(subs / f"{sid}.zip", "w") as archive:
                    archive.writestr("../../evil.py", "x")
            else:
                shutil.copytree(template, subs / sid)
                (subs / sid / "answers.yaml").write_text('"1.1": [A, B\n')
            continue
        ws = subs / sid
        shutil.copytree(template, ws)
        fill(ws, bank, wrong_every=0 if kind < 2 else 4)
        shutil.copyfile(code / "count_pairs.py", ws / "count_pairs" / "count_pairs.py")
        router = (code / "moe_router.py").read_text() if kind < 3 else mutant_source(
            COURSE_ROOT, "solutions/code/mutants/moe_router.yaml", "solutions/code/moe_router.py",
            "hardcoded_top1")
        (ws / "moe_router" / "moe_router.py").write_text(router)
        if kind == 4:
            (ws / "count_pairs" / "count_pairs.py").write_text("import os\nos._exit(0)\n")
    return subs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    bank = load_bank(default_bank_dir()).bank
    with tempfile.TemporaryDirectory() as tmp:
        subs = make_class(Path(tmp), args.students, bank)
        out = Path(tmp) / "out"
        start = time.monotonic()
        finished: list[float] = []
        summary = run_batch(subs, out, bank, workers=args.workers,
                            on_done=lambda _student, _doc: finished.append(time.monotonic()))
        write_aggregates(out)
        seconds = time.monotonic() - start
    n = summary.graded + summary.errors
    print(f"{n} submissions ({summary.graded} graded, {summary.errors} errors), {args.workers} workers: "
          f"{seconds:.1f} s, {n / seconds:.2f} submissions/s, {seconds / n:.3f} s per submission")
    tenth = len(finished) // 10  # after the runners' start-up (torch is imported once per worker)
    if tenth and len(finished) - tenth > 1:
        steady = (len(finished) - 1 - tenth) / (finished[-1] - finished[tenth])
        print(f"first result after {finished[0] - start:.1f} s; from the {tenth + 1}th result on: "
              f"{steady:.2f} submissions/s")


if __name__ == "__main__":
    main()
