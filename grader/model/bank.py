"""The bank's data model: chapters and items (``grader.items`` builds them from schema-valid YAML)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.core.fileio import grader_schema
from grader.model.constraints import Constraint
from grader.model.derived import Derived
from grader.rules.ordering import fair_shuffle, shuffled_order
from grader.rules.tolerance import Tolerance

if TYPE_CHECKING:
    from grader.kernels.spec import KernelTask


def _schema_types() -> tuple[str, ...]:
    return tuple(grader_schema("chapter")["$defs"]["common"]["properties"]["type"]["enum"])


# The bank's item types as its schema names them; each has a module in grader/items.
ITEM_TYPES = _schema_types()

# What an erratum can be, and what each kind means (the chapter schema's enum names the same).
ERRATUM_KINDS: dict[str, str] = {
    "error": "the workbook is wrong",
    "ambiguity": "the workbook's question can be read more than one way",
    "unit_convention": "a unit written by another established convention (MB for 2^20 bytes)",
    "note": "not a mistake: a rounding, a wording or a porting note",
}
DISPLAY_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Param:
    """A named given of a derive item: default value and the range variants draw from."""

    name: str
    default: float
    range: tuple[float, float] | None = None
    integer: bool = False
    step: float | None = None
    description: str = ""
    expr: str | None = None  # computed from the parameters above it, never drawn (grader.model.derived)


@dataclass(frozen=True)
class Erratum:
    """A disagreement with the workbook: what it is (``kind``, one of ``ERRATUM_KINDS``), the part
    of the workbook it concerns (``about``), what the workbook says, what is right, and why."""

    kind: str
    about: str
    workbook: str
    correct: str
    why: str


@dataclass(frozen=True)
class KnownMistake:
    """A real wrong answer: expected x factor, or computed by a solver."""

    label: str
    feedback: str
    factor: float | None = None
    solver: str | None = None


@dataclass(frozen=True)
class NumericAnswer:
    unit: str
    tolerance: Tolerance
    binary_ambiguous: bool = False


@dataclass(frozen=True)
class Choice:
    """A trace option or a design step."""

    id: str
    text: str
    correct: bool = False
    feedback: str = ""


@dataclass(frozen=True)
class CodeSpec:
    """Files of a build/debug item, relative to the repository root."""

    language: str
    entry_point: str
    template: str
    public_tests: str
    reference: str
    hidden_tests: str
    mutants: tuple[str, ...] = ()  # patch files declaring the mutants (grader/model/mutants.py)
    requires: tuple[str, ...] = ()
    timeout_s: float | None = None


@dataclass(frozen=True)
class Item:
    """One exercise. Type-specific fields are empty for other types."""

    id: str
    type: str
    title: str
    prompt: str
    hints: tuple[str, ...]
    derivation: str
    chapter: int
    source: str
    errata: tuple[Erratum, ...] = ()
    params: Mapping[str, Param] = field(default_factory=dict)
    solver: str | None = None
    answer: NumericAnswer | None = None
    workbook_answer: tuple[float, str | None] | None = None
    known_mistakes: tuple[KnownMistake, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    derived: Mapping[str, Derived] = field(default_factory=dict)  # quantities the text shows
    facts: tuple[Constraint, ...] = ()  # relations the text states; every variant must keep them
    fixed_numbers: tuple[float, ...] = ()  # literal numbers that stay although a default equals them
    select: str = "single"
    partial_credit: str = "none"
    options: tuple[Choice, ...] = ()
    steps: tuple[Choice, ...] = ()
    code: CodeSpec | None = None
    shuffle: str | None = None  # a student's seed for the order of options and steps (None: shared)

    def shuffled(self, seed: str | None) -> Item:
        """The item as the student with the shuffle ``seed`` sees it (None: as everyone does)."""
        return self if seed == self.shuffle else replace(self, shuffle=seed)

    def defaults(self) -> dict[str, float]:
        return {name: p.default for name, p in self.params.items()}

    def values(self, params: Mapping[str, float] | None = None) -> dict[str, float]:
        """The parameters' values: the defaults, overridden by ``params``."""
        return {**self.defaults(), **(params or {})}

    def display_options(self) -> list[tuple[str, Choice]]:
        """Trace options as shown: the bank's order and ids, or with a ``shuffle`` seed that
        student's own order, relabelled A, B, C... (so a label says nothing across students)."""
        if not self.shuffle:
            return [(o.id, o) for o in self.options]
        by_id = {o.id: o for o in self.options}
        order = shuffled_order([o.id for o in self.options], salt=f"trace:{self.id}:{self.shuffle}")
        return [(DISPLAY_IDS[i], by_id[oid]) for i, oid in enumerate(order)]

    def display_steps(self) -> list[tuple[str, Choice]]:
        """Design steps in a deterministic shuffled order, relabelled A, B, C...: the order
        everyone shares, or with a ``shuffle`` seed that student's own. Either, handed in
        unchanged, earns at most a third of the credit (``fair_shuffle``).

        Labels are given after the shuffle, so they reveal nothing about the order.
        """
        by_id = {s.id: s for s in self.steps}
        ids = [s.id for s in self.steps]
        order = (fair_shuffle(ids, f"design:{self.id}:{self.shuffle}", self.partial_credit) if self.shuffle
                 else fair_shuffle(ids, f"design:{self.id}", self.partial_credit))
        return [(DISPLAY_IDS[i], by_id[sid]) for i, sid in enumerate(order)]

    def correct_display_order(self) -> list[str]:
        """The right answer to a design item, in display labels."""
        label = {step.id: lab for lab, step in self.display_steps()}
        return [label[s.id] for s in self.steps]


@dataclass(frozen=True)
class Chapter:
    number: int
    title: str
    source: str
    errata: tuple[Erratum, ...] = ()
    item_ids: tuple[str, ...] = ()


@dataclass
class Bank:
    """All chapters and items, in chapter order, and the kernel tasks (bank/kernels/)."""

    root: Path
    chapters: list[Chapter] = field(default_factory=list)
    items: dict[str, Item] = field(default_factory=dict)
    kernels: dict[str, KernelTask] = field(default_factory=dict)

    def chapter(self, number: int) -> Chapter | None:
        return next((c for c in self.chapters if c.number == number), None)


def parse_errata(raw: list[dict[str, Any]] | None) -> tuple[Erratum, ...]:
    """The schema-valid ``errata`` list of a chapter or item."""
    return tuple(Erratum(e["kind"], e["about"], e["workbook"].strip(), e["correct"].strip(),
                         e["why"].strip()) for e in raw or ())
