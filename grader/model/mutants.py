"""Mutants: known-buggy versions of a code item's reference or a kernel task's solution,
declared as small patches against it rather than kept as copies.

A patch file (``solutions/code/mutants/count_pairs.yaml``, listed in the item's or task's
``mutants:``; schema ``grader/schemas/mutants.schema.json``) declares mutants, each a ``name``
(what messages and tests call it; unique across the item's patch files), the ``bug`` it models
and its ``edits``, applied in order to the solution's text:

- ``replace: {old, new}``: the one place ``old`` occurs becomes ``new``;
- ``replace: {from, to, new}``: the span from ``from`` through the first ``to`` after it;
- ``insert: {after | before, text}``: ``text`` right after (or before) the one ``after``;
- ``prepend: text`` and ``append: text``: at the start or the end of the file.

``new`` may be left out to delete. ``old``, ``from``, ``after`` and ``before`` must occur exactly
once in the text the earlier edits left, and a mutant must change the solution and still be
Python: anything else is a :class:`PatchError` naming the mutant and the edit, which
``grade validate`` reports (``grade validate --code`` then runs the mutants in the sandbox).
:func:`apply_mutant` is the one place a mutant's source is made: validation, the tests and the
benchmarks all go through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.core.fileio import grader_schema, json_path, schema_errors


class PatchError(ValueError):
    """A patch file that cannot be read, or a mutant whose edits do not apply. ``file`` is the
    patch file and ``where`` the place in it, e.g. ``$.mutants[2].edits[0]`` ("" for the whole
    file)."""

    def __init__(self, message: str, where: str = "", file: str = "") -> None:
        super().__init__(message)
        self.where, self.file = where, file


@dataclass(frozen=True)
class Mutant:
    """One declared mutant: its edits, as the patch file gives them, and its place there."""

    name: str
    bug: str
    edits: tuple[dict[str, Any], ...]
    index: int = 0  # its place in its patch file
    file: str = ""  # the patch file, as the bank names it

    @property
    def where(self) -> str:
        return f"$.mutants[{self.index}]"


def _named(doc: Any, path: list[Any]) -> str:
    """``mutant NAME: `` when ``path`` lies inside a mutant that has a name."""
    if len(path) >= 2 and path[0] == "mutants" and isinstance(path[1], int):
        entry = doc["mutants"][path[1]]
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            return f"mutant {entry['name']}: "
    return ""


def parse_patches(doc: Any, file: str = "") -> tuple[Mutant, ...]:
    """The mutants of a parsed patch file (``file``: its name, kept on each mutant); its first
    schema problem, or a name used twice, raises."""
    errors = schema_errors(doc, grader_schema("mutants"))
    if errors:
        path, message = list(errors[0][0]), errors[0][1]
        raise PatchError(f"{_named(doc, path)}{message}", json_path(path), file)
    mutants = tuple(Mutant(m["name"], m["bug"].strip(), tuple(m["edits"]), i, file)
                    for i, m in enumerate(doc["mutants"]))
    _unique(mutants)
    return mutants


def _unique(mutants: Sequence[Mutant]) -> None:
    seen: set[str] = set()
    for mutant in mutants:
        if mutant.name in seen:
            raise PatchError(f"mutant {mutant.name}: the name is used twice", f"{mutant.where}.name",
                             mutant.file)
        seen.add(mutant.name)


def read_patches(root: Path, files: str | Sequence[str]) -> tuple[Mutant, ...]:
    """The mutants declared in the patch files ``files`` (relative to the course root ``root``),
    in order; a name may be used once across them."""
    from grader.core.problems import read_document

    mutants: list[Mutant] = []
    for file in (files,) if isinstance(files, str) else files:
        if Path(file).suffix not in (".yaml", ".yml"):
            raise PatchError(f"{file} is not a patch file (.yaml): mutants are declared as edits of "
                             "their solution (docs/bank-format.md)", file=file)
        doc, problems = read_document(root / file, file)
        if problems:
            raise PatchError(problems[0].message, file=file)
        mutants += parse_patches(doc, file)
    _unique(mutants)
    return tuple(mutants)


def _once(text: str, needle: str, what: str) -> int:
    """Where ``needle`` occurs in ``text``; it must occur exactly once."""
    count = text.count(needle)
    if count != 1:
        first = next((line.strip() for line in needle.splitlines() if line.strip()), needle)
        raise ValueError(f"{what} occurs {count} times (must be once) in the text so far: {first!r}")
    return text.index(needle)


def _apply(text: str, edit: dict[str, Any]) -> str:
    (verb, arg), = edit.items()
    if verb == "prepend":
        return arg + text
    if verb == "append":
        return text + arg
    if verb == "insert":
        if "after" in arg:
            at = _once(text, arg["after"], "insert's 'after'") + len(arg["after"])
        else:
            at = _once(text, arg["before"], "insert's 'before'")
        return text[:at] + arg["text"] + text[at:]
    new = arg.get("new", "")
    if "old" in arg:
        start = _once(text, arg["old"], "replace's 'old'")
        return text[:start] + new + text[start + len(arg["old"]):]
    start = _once(text, arg["from"], "replace's 'from'")
    end = text.find(arg["to"], start + len(arg["from"]))
    if end < 0:
        raise ValueError(f"replace's 'to' does not occur after its 'from': {arg['to'].strip()!r}")
    return text[:start] + new + text[end + len(arg["to"]):]


def apply_mutant(solution: str, mutant: Mutant) -> str:
    """The mutant's source: ``solution`` with its edits applied in order. An edit that does not
    apply, a result equal to the solution or one that is not Python raises :class:`PatchError`
    naming the mutant."""
    text = solution
    for i, edit in enumerate(mutant.edits):
        try:
            text = _apply(text, edit)
        except ValueError as exc:
            raise PatchError(f"mutant {mutant.name}: edit {i + 1}: {exc}", f"{mutant.where}.edits[{i}]",
                             mutant.file) from None
    if text == solution:
        raise PatchError(f"mutant {mutant.name}: its edits leave the solution unchanged (a mutant must "
                         "change something)", f"{mutant.where}.edits", mutant.file)
    try:
        compile(text, f"{mutant.name}.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        lineno = getattr(exc, "lineno", None)
        line = f"line {lineno}: " if lineno else ""
        raise PatchError(f"mutant {mutant.name}: the edited source is not Python: {line}"
                         f"{getattr(exc, 'msg', exc)}", f"{mutant.where}.edits", mutant.file) from None
    return text


def read_solution(root: Path, solution: str) -> str:
    """The solution's text as its bytes spell it (no newline translation), for the edits."""
    return (root / solution).read_bytes().decode("utf-8")


def mutant_sources(root: Path, files: str | Sequence[str], solution: str) -> dict[str, str]:
    """Every mutant's source, by name, in the declared order: the patch files ``files`` applied
    to the solution ``solution`` (all relative to the course root ``root``)."""
    text = read_solution(root, solution)
    return {m.name: apply_mutant(text, m) for m in read_patches(root, files)}


def mutant_source(root: Path, files: str | Sequence[str], solution: str, name: str) -> str:
    """One mutant's source (see :func:`mutant_sources`)."""
    mutants = {m.name: m for m in read_patches(root, files)}
    if name not in mutants:
        raise PatchError(f"no mutant {name} (the patch files declare {', '.join(mutants)})")
    return apply_mutant(read_solution(root, solution), mutants[name])


def patch_problems(root: Path, files: str | Sequence[str], solution: str) -> list[PatchError]:
    """Everything wrong with the patch files against their solution, each mutant checked on its
    own; [] when every mutant applies. Each problem's ``file`` is its patch file."""
    try:
        mutants = read_patches(root, files)
        text = read_solution(root, solution)
    except PatchError as exc:
        return [exc]
    except (OSError, UnicodeDecodeError) as exc:
        return [PatchError(f"could not read the solution {solution}: {exc}")]
    found = []
    for mutant in mutants:
        try:
            apply_mutant(text, mutant)
        except PatchError as exc:
            found.append(exc)
    return found
