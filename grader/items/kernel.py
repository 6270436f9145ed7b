"""Kernel tasks (``bank/kernels/kernels.yaml``): the student's GPU kernel, checked against an
fp32 reference in the sandbox and timed against the roofline (``grader/items/kernel_runs.py``,
``grader/kernels/``). They are workspace entries, not items of the bank's chapters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.items.base import ItemType, Runners, Secrets, not_in_answers_file
from grader.model.bank import Bank
from grader.model.entry import ManifestItem
from grader.results.result import Result, error


class Kernel(ItemType):
    name = "kernel"
    in_answers_file = False

    def check_format(self, entry: ManifestItem, response: object) -> Result:
        return not_in_answers_file(entry)

    def run_workspace(self, bank: Bank | None, entry: ManifestItem, folder: Path, cache: Path,
                      practice: bool) -> Result:
        """Its correctness cases in the sandbox (and its timing on a CUDA GPU)."""
        from grader.items.kernel_runs import grade_kernel_entry  # loaded when a kernel is checked

        task = bank.kernels.get(entry.id) if bank else None
        if bank is None or task is None:
            return error(f"Kernel task {entry.id} is not in the installed bank; update grade.")
        return grade_kernel_entry(task, folder, entry, bank.root, cache=cache)

    def run_batch(self, bank: Bank, entry: ManifestItem, folder: Path, runners: Runners) -> Result:
        from grader.items.kernel_runs import grade_kernel_entry

        return grade_kernel_entry(bank.kernels[entry.id], folder, entry, runners.root,
                                  timeout_s=runners.timeout_s)

    def entry_key(self, bank: Bank, entry: ManifestItem) -> dict[str, Any]:
        """Graded by running it: the key names the reference solution."""
        return {"type": self.name, "answer": bank.kernels[entry.id].solution,
                "points": entry.points, "performance": entry.performance}

    def secrets(self, bank: Bank, entry: ManifestItem, root: Path) -> Secrets:
        task = bank.kernels[entry.id]
        return Secrets(solutions=[(root / task.solution, root / task.template)])

    def starter_files(self, bank: Bank, entry: ManifestItem) -> list[tuple[Path, str]]:
        return [(bank.root / bank.kernels[entry.id].template, entry.files[0])]


TYPES = (Kernel(),)
