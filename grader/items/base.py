"""The item-type protocol: what a type of item does, so that nothing outside ``grader/items``
branches on an item's type.

``ItemType`` is what every type does with a workspace's entries (``grade.yaml``, a
``ManifestItem``): check an answer's format, run a workspace's or a submission's files, give
the key of the entry, name its secrets and the files a workspace starts with. Kernel tasks
(``bank/kernels/``) are such a type. ``BankItemType`` adds what a type of the bank's chapters
does with its items (an ``Item``): build one from YAML, validate it, draw a variant, give its
key entry, grade a response, give its manifest fields and say how to answer it in
answers.yaml, in ``grade show`` and in nbgrader notebooks. ``AnswerType`` is the shared part of
the types answered in answers.yaml (derive, trace, design).
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from grader.core.problems import Problem
from grader.model.bank import Bank, Item
from grader.model.entry import ManifestItem
from grader.results.result import Result, error
from grader.results.status import Status

if TYPE_CHECKING:
    import random

    from grader.sandbox.runner import WarmRunner

PENDING = "Readable. Graded on submission."

# How an entry's answer is given on grade serve's page (``ItemType.answer_input``): a line of
# text, one option, several options, every step in an order, or the entry's file in an editor
TEXT, ONE, MANY, ORDER, FILE = "text", "one", "many", "order", "file"


@dataclass
class Checks:
    """What ``grade validate`` checks a bank item with, and the solver runs it counts."""

    bank: Bank
    samples: int
    seed: int
    solver_runs: int = 0


@dataclass
class Secrets:
    """What a released student folder must not contain, for one entry."""

    numbers: set[float] = field(default_factory=set)  # answer values, in every usual spelling
    names: set[str] = field(default_factory=set)  # identifiers: solver functions, hidden tests
    texts: set[str] = field(default_factory=set)  # prose: its distinctive lines (all of it if short)
    solutions: list[tuple[Path, Path]] = field(default_factory=list)  # (solution, its template)


class Runners(Protocol):
    """The warm sandbox runners a batch lends to the code items (``grader.batch.run.RunnerPool``)."""

    root: Path  # the course the bank belongs to
    timeout_s: float | None

    def runner(self, item: Item) -> AbstractContextManager[WarmRunner]: ...


def item_problem(item: Item, message: str, path: str | None = None) -> Problem:
    """A validation problem of ``item``, located in its chapter file."""
    return Problem(item.source, message, item=item.id, path=path)


def not_in_answers_file(entry: ManifestItem) -> Result:
    """The format check of an entry graded by running its files."""
    return error(f"Item {entry.id} is graded by running {', '.join(entry.files)}, not from an answer: "
                 "write your code in that file.")


class ItemType(abc.ABC):
    """One type of workspace entry: what ``grade check``, ``grade batch``, ``grade assign`` and
    the release scan do with it."""

    name: str  # the type as grade.yaml (and, for bank items, the bank) writes it
    in_answers_file: bool = True  # answered in answers.yaml; else by files that are run

    @abc.abstractmethod
    def check_format(self, entry: ManifestItem, response: object) -> Result:
        """Graded mode: whether ``response`` can be read, from the entry alone (never a key)."""

    @abc.abstractmethod
    def run_workspace(self, bank: Bank | None, entry: ManifestItem, folder: Path, cache: Path,
                      practice: bool) -> Result:
        """Run the entry's files in the workspace ``folder`` (practice: the hidden tests where
        installed); ``cache`` keeps results of unchanged files."""

    @abc.abstractmethod
    def run_batch(self, bank: Bank, entry: ManifestItem, folder: Path, runners: Runners) -> Result:
        """Run the entry's files in one submission's unpacked ``folder``."""

    @abc.abstractmethod
    def entry_key(self, bank: Bank, entry: ManifestItem) -> dict[str, Any]:
        """The entry's line of a student's key: reference answer, points (and parameters)."""

    def secrets(self, bank: Bank, entry: ManifestItem, root: Path) -> Secrets:
        """What of this entry must not appear in a released folder (files from ``root``)."""
        return Secrets()

    def answer_input(self, entry: ManifestItem) -> str:
        """How ``entry`` is answered on grade serve's page: ``FILE`` for a type run from its
        files, else ``TEXT``; a type with options says which of ``ONE``, ``MANY``, ``ORDER``."""
        return TEXT if self.in_answers_file else FILE

    def starter_files(self, bank: Bank, entry: ManifestItem) -> list[tuple[Path, str]]:
        """(source file, path in the workspace) of the files a new workspace starts with."""
        return []


class BankItemType(ItemType):
    """A type of the bank's chapters: its items, from YAML to the student and back."""

    schema_def: str  # its items' schema: chapter.schema.json's $defs entry
    shuffles: bool = False  # shows options or steps, in each student's own order when shuffled

    @abc.abstractmethod
    def build(self, raw: Mapping[str, Any], common: dict[str, Any]) -> Item:
        """The Item of one schema-valid mapping (``common``: the fields every item has)."""

    @abc.abstractmethod
    def problems(self, item: Item, checks: Checks) -> list[Problem]:
        """What ``grade validate`` finds wrong with ``item`` beyond its schema."""

    def variant(self, item: Item, rng: random.Random | None) -> dict[str, float] | None:
        """A student's parameters (drawn with ``rng``, else the defaults); None: it has none."""
        return None

    @abc.abstractmethod
    def key_entry(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        """The reference answer: ``{type, answer, unit?, accept?}``."""

    @abc.abstractmethod
    def grade(self, item: Item, response: object, params: Mapping[str, float] | None) -> Result:
        """Grade one response at ``params`` (defaults when None)."""

    @abc.abstractmethod
    def manifest_fields(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        """The ManifestItem fields of this type (unit, params, select, options, files)."""

    @abc.abstractmethod
    def answer_instructions(self, item: Item, entry: ManifestItem) -> str:
        """One line on how to write the answer."""

    def choices(self, item: Item) -> list[tuple[str, str]]:
        """(label, text) of what the student chooses from, in the order shown."""
        return []

    @abc.abstractmethod
    def show_fields(self, item: Item) -> dict[str, Any]:
        """What ``grade show`` adds to the prompt."""

    def solution_lines(self, item: Item, key: Mapping[str, Any]) -> list[str]:
        """The reference answer (``key``: the item's key entry) as people write it, for
        ``grade show --solution``: the answer itself, then any lines that explain it."""
        return [str(key["answer"])]

    @abc.abstractmethod
    def notebook_prompt(self, item: Item, entry: ManifestItem, base: Path, var: str) -> list[str]:
        """The nbgrader prompt cell's lines after the prompt (``var``: the answer's variable)."""

    @abc.abstractmethod
    def notebook_answer(self, item: Item, entry: ManifestItem, base: Path, var: str) -> str:
        """The nbgrader answer cell: the reference between the solution markers."""

    @abc.abstractmethod
    def notebook_tests(self, item: Item, entry: ManifestItem, var: str) -> str:
        """The nbgrader test cell: a visible check and the hidden scoring."""

    def entry_key(self, bank: Bank, entry: ManifestItem) -> dict[str, Any]:
        key = self.key_entry(bank.items[entry.id].shuffled(entry.shuffle), entry.params or None)
        key["points"] = entry.points
        if entry.params:
            key["params"] = dict(entry.params)
        return key


class AnswerType(BankItemType):
    """A type answered in answers.yaml and graded by a rule: read the response, then judge it."""

    in_answers_file = True

    @abc.abstractmethod
    def read(self, entry: ManifestItem, response: object) -> object:
        """The rule's reading of ``response`` (no key needed), or the Result saying why not."""

    @abc.abstractmethod
    def notebook_reference(self, item: Item, key: Mapping[str, Any]) -> tuple[str, str]:
        """(the reference answer as Python, what to write) for the nbgrader answer cell."""

    def check_format(self, entry: ManifestItem, response: object) -> Result:
        reading = self.read(entry, response)
        if isinstance(reading, Result):
            if reading.matched == "unit":  # a wrong unit is a format problem here
                return error(reading.feedback[0])
            return reading
        return Result(Status.PENDING, 0.0, (PENDING,))

    def key_points(self, item: Item, params: Mapping[str, float] | None) -> tuple[tuple[str, float], ...]:
        """Where the right answer at ``params`` lies (``item`` as one student sees it), as
        (reading, value) points that ``answer_ranges`` searches: how the collusion check finds
        whose variant an answer is right for. () where it cannot tell."""
        return ()

    def answer_ranges(self, item: Item, entry: ManifestItem,
                      response: object) -> tuple[tuple[str, float, float], ...]:
        """(reading, low, high): every key point of a variant at which ``response`` grades
        correct lies in one of these ranges (a superset: each is then graded). () when the
        response cannot be read."""
        return ()

    def run_workspace(self, bank: Bank | None, entry: ManifestItem, folder: Path, cache: Path,
                      practice: bool) -> Result:
        return error(f"Item {entry.id} is not a code item in the installed bank.")

    def run_batch(self, bank: Bank, entry: ManifestItem, folder: Path, runners: Runners) -> Result:
        return error(f"Item {entry.id} is not a code item in the installed bank.")

    def notebook_answer(self, item: Item, entry: ManifestItem, base: Path, var: str) -> str:
        reference, hint = self.notebook_reference(item, self.key_entry(item, entry.params or None))
        return (f"{var} = None  # your answer: {hint}\n"
                f"### BEGIN SOLUTION\n{var} = {reference}\n### END SOLUTION")

    def notebook_tests(self, item: Item, entry: ManifestItem, var: str) -> str:
        pts = f"{entry.points:g}"
        values = {k: int(v) if float(v).is_integer() else v for k, v in entry.params.items()}
        params = f", params={json.dumps(values)}" if values else ""
        return ("from grader.integrations.notebook import check_format\n\n"
                f'check_format("{item.id}", {var}{params})\n'
                "### BEGIN HIDDEN TESTS\n"
                "from grader.integrations.notebook import score\n\n"
                f'score("{item.id}", {var}, points={pts}{params})\n'
                "### END HIDDEN TESTS")
