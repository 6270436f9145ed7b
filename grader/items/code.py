"""Build and debug items: the student writes or fixes code, and its tests are run in the
sandbox (``grader/items/code_runs.py``, ``grader/rules/code.py``). The two types share all of it."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.core.paths import COURSE_ROOT
from grader.core.problems import Problem
from grader.items.base import BankItemType, Checks, Runners, Secrets, item_problem, not_in_answers_file
from grader.model.bank import Bank, CodeSpec, Item
from grader.model.entry import ManifestItem
from grader.results.result import Result, error
from grader.rules.code import grade_code_run


def workspace_files(item: Item) -> tuple[str, ...]:
    """Where a code item's template and public tests go inside a workspace."""
    assert item.code is not None
    return tuple(f"{Path(p).parent.name}/{Path(p).name}"
                 for p in (item.code.template, item.code.public_tests))


def _defined_names(path: Path) -> set[str]:
    """Top-level function names of a Python file (the hidden tests)."""
    try:
        tree = ast.parse(path.read_text("utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return set()
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


class Code(BankItemType):
    """``build`` (write it) or ``debug`` (fix it): one class, two names."""

    schema_def = "code_item"
    in_answers_file = False

    def __init__(self, name: str) -> None:
        self.name = name

    def build(self, raw: Mapping[str, Any], common: dict[str, Any]) -> Item:
        code = raw["code"]
        return Item(**common, code=CodeSpec(
            code["language"], code["entry_point"], code["template"], code["public_tests"],
            code["reference"], code["hidden_tests"], tuple(code.get("mutants", ())),
            tuple(code.get("requires", ())), code.get("timeout_s")))

    def problems(self, item: Item, checks: Checks) -> list[Problem]:
        from grader.model.mutants import patch_problems

        assert item.code is not None
        spec, root, missing = item.code, checks.bank.root, []
        for label, rel in [("template", spec.template), ("public_tests", spec.public_tests),
                           ("reference", spec.reference), ("hidden_tests", spec.hidden_tests),
                           *[("mutants", m) for m in spec.mutants]]:
            if not (root / rel).is_file():
                missing.append(item_problem(item, f"{label} file {rel} does not exist", f"$.code.{label}"))
        return missing or [Problem(exc.file or item.source, str(exc), item=item.id, path=exc.where or None)
                           for exc in patch_problems(root, spec.mutants, spec.reference)]

    def key_entry(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        assert item.code is not None
        return {"type": item.type, "answer": item.code.reference}

    def grade(self, item: Item, response: object, params: Mapping[str, float] | None) -> Result:
        return error(f"Item {item.id} is graded by running its tests on your code file, not from an "
                     "answer.")

    def manifest_fields(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        return {"files": workspace_files(item)}

    def answer_instructions(self, item: Item, entry: ManifestItem) -> str:
        files = entry.files
        return (f"Write your code in {files[0]}; its public tests are in {files[1]} "
                f"(run: python -m pytest {files[0].split('/')[0]}). Nothing to write here.")

    def show_fields(self, item: Item) -> dict[str, Any]:
        assert item.code is not None
        return {"template": item.code.template, "public_tests": item.code.public_tests}

    def notebook_prompt(self, item: Item, entry: ManifestItem, base: Path, var: str) -> list[str]:
        assert item.code is not None
        template = (base / item.code.template).read_text("utf-8").rstrip()
        return [f"Define `{item.code.entry_point}` in the cell below. Your starting point:", "",
                "```python", template, "```"]

    def notebook_answer(self, item: Item, entry: ManifestItem, base: Path, var: str) -> str:
        assert item.code is not None
        reference = (base / item.code.reference).read_text("utf-8").rstrip()
        return f"### BEGIN SOLUTION\n{reference}\n### END SOLUTION"

    def notebook_tests(self, item: Item, entry: ManifestItem, var: str) -> str:
        assert item.code is not None
        pts = f"{entry.points:g}"
        func = item.code.entry_point
        return ("from grader.integrations.notebook import run_code_tests\n\n"
                f'run_code_tests("{item.id}", {func})  # the public tests: a report, no points\n'
                "### BEGIN HIDDEN TESTS\n"
                f'run_code_tests("{item.id}", {func}, suite="hidden", points={pts})\n'
                "### END HIDDEN TESTS")

    def check_format(self, entry: ManifestItem, response: object) -> Result:
        return not_in_answers_file(entry)

    def run_workspace(self, bank: Bank | None, entry: ManifestItem, folder: Path, cache: Path,
                      practice: bool) -> Result:
        """Practice: the hidden tests when installed (else the public ones). Graded: public only."""
        from grader.items.code_runs import grade_code_item  # what runs code: loaded when code is run

        item = bank.items.get(entry.id) if bank else None
        root = bank.root if bank else COURSE_ROOT  # the course the bank belongs to: its tests
        if item is None or item.code is None:
            return error(f"Item {entry.id} is not a code item in the installed bank.")
        hidden = practice and (root / item.code.hidden_tests).is_file()
        return grade_code_item(item, folder, entry, hidden, root=root, cache=cache)

    def run_batch(self, bank: Bank, entry: ManifestItem, folder: Path, runners: Runners) -> Result:
        """The hidden tests, in one of the batch's warm runners."""
        from grader.items.code_runs import is_untouched_template, not_started, submission_files

        item = bank.items[entry.id]
        files = submission_files(folder, entry)
        if isinstance(files, Result):
            return files
        if is_untouched_template(item, files, runners.root):
            return not_started(entry)
        with runners.runner(item) as warm:
            run = warm.run(files)
        return grade_code_run(run, show_messages=False, label="hidden tests")

    def secrets(self, bank: Bank, entry: ManifestItem, root: Path) -> Secrets:
        code = bank.items[entry.id].code
        assert code is not None
        return Secrets(names={n for n in _defined_names(root / code.hidden_tests) if n.startswith("test_")},
                       solutions=[(root / code.reference, root / code.template)])

    def starter_files(self, bank: Bank, entry: ManifestItem) -> list[tuple[Path, str]]:
        code = bank.items[entry.id].code
        assert code is not None
        return [(bank.root / source, target)
                for source, target in zip((code.template, code.public_tests), entry.files, strict=True)]


TYPES = (Code("build"), Code("debug"))
