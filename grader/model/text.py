"""What a student reads of an item at one variant: its title, prompt, hints, worked solution
and known-mistake feedback, each with its ``{name}`` placeholders rendered from the variant's
parameters and derived quantities (``grader.model.derived``). Items without parameters read
as written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property

from grader.model.bank import Item
from grader.model.derived import ANSWER, compute_derived
from grader.model.render import Display, placeholders, render
from grader.model.solvers import run_solver
from grader.rules.numeric import asked_unit


def text_fields(item: Item) -> Iterator[tuple[str, str]]:
    """(where, template) of every text a student reads: title, prompt, hints, worked solution,
    known-mistake feedback, and each option's or step's text and feedback."""
    yield "$.title", item.title
    yield "$.prompt", item.prompt
    for i, hint in enumerate(item.hints):
        yield f"$.hints[{i}]", hint
    yield "$.derivation", item.derivation
    for i, mistake in enumerate(item.known_mistakes):
        yield f"$.known_mistakes[{i}].feedback", mistake.feedback
    where = "options" if item.options else "steps"
    for i, choice in enumerate(item.options or item.steps):
        yield f"$.{where}[{i}].text", choice.text
        yield f"$.{where}[{i}].feedback", choice.feedback


def answer_in_unit(item: Item, values: Mapping[str, float]) -> float:
    """The item's answer at ``values``, in its asked unit (what ``answer`` means in expressions)."""
    assert item.solver is not None and item.answer is not None
    return run_solver(item.solver, values) / asked_unit(item.answer.unit).factor


def quantities(item: Item, params: Mapping[str, float] | None = None,
               answer: float | None = None) -> tuple[dict[str, float], dict[str, Display]]:
    """Every quantity the item's text may show at ``params`` (defaults filled in), with how
    each prints: the parameters, its derived quantities and ``answer``. ``answer`` (in the
    asked unit) saves running the solver again when the caller has it."""
    values = item.values(params)
    if item.solver is None or item.answer is None:
        return values, {}
    if answer is None:
        answer = answer_in_unit(item, values)
    derived = compute_derived(item.derived, values, answer)
    displays = {name: d.display for name, d in item.derived.items()}
    return {**values, ANSWER: answer, **derived}, displays


class ItemText:
    """An item's student-visible text at one variant, each part rendered when first read
    (RenderError or DerivedError when a placeholder cannot be filled). A part that shows
    only parameters is rendered without running the solver: a workspace's prompt is written
    whatever its grade.yaml holds, and a stale entry is reported when it is graded."""

    def __init__(self, item: Item, params: Mapping[str, float] | None = None,
                 answer: float | None = None) -> None:
        self._item, self._params, self._answer = item, params, answer
        self._values: dict[str, float] = item.values(params)
        self._displays: dict[str, Display] = {}
        self._computed = False

    def _shown(self, text: str) -> str:
        if not self._item.params:
            return text
        if not self._computed and placeholders(text) - set(self._values):
            self._values, self._displays = quantities(self._item, self._params, self._answer)
            self._computed = True
        return render(text, self._values, self._displays)

    @cached_property
    def title(self) -> str:
        return self._shown(self._item.title)

    @cached_property
    def prompt(self) -> str:
        return self._shown(self._item.prompt)

    @cached_property
    def hints(self) -> tuple[str, ...]:
        return tuple(self._shown(h) for h in self._item.hints)

    @cached_property
    def derivation(self) -> str:
        return self._shown(self._item.derivation)

    @cached_property
    def feedback(self) -> tuple[str, ...]:
        """The known mistakes' feedback, in the item's order."""
        return tuple(self._shown(m.feedback) for m in self._item.known_mistakes)


def item_text(item: Item, params: Mapping[str, float] | None = None,
              answer: float | None = None) -> ItemText:
    """The item's text at ``params`` (its defaults when None); ``answer`` (in the asked unit)
    saves running the solver again when the caller has it."""
    return ItemText(item, params, answer)
