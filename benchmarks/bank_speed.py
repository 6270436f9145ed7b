"""Benchmark: loading the bank, validating it, and grading answers with the rules.

Run:  python benchmarks/bank_speed.py [--repeat N]
Prints wall-clock figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import tracemalloc
from pathlib import Path

from timing import timed

from grader.bank.loader import load_bank
from grader.bank.validate import DEFAULT_SAMPLES, validate_bank
from grader.items.instance import grade_response, key_entry

BANK = Path(__file__).resolve().parent.parent / "bank"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    med, best = timed(lambda: load_bank(BANK), args.repeat)
    print(f"load + schema-validate bank (51 items): median {med * 1e3:.1f} ms, min {best * 1e3:.1f} ms")

    med, best = timed(lambda: validate_bank(BANK), max(1, args.repeat // 2))
    print(f"grade validate (defaults + {DEFAULT_SAMPLES} variants/derive item): "
          f"median {med:.2f} s, min {best:.2f} s")

    bank = load_bank(BANK).bank
    answers = {i: key_entry(item)["answer"] for i, item in bank.items.items()
               if item.type in ("derive", "trace", "design")}
    texts = {i: (f"{a!r}" if isinstance(a, float) else a) for i, a in answers.items()}

    def grade_all() -> None:
        for item_id, answer in texts.items():
            grade_response(bank.items[item_id], answer)

    med, best = timed(grade_all, args.repeat)
    print(f"grade one full answer set ({len(texts)} non-code items): median {med * 1e3:.1f} ms, "
          f"min {best * 1e3:.1f} ms ({len(texts) / med:,.0f} answers/s)")

    tracemalloc.start()
    load_bank(BANK)
    grade_all()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak Python memory for load + one answer set (warm caches): {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
