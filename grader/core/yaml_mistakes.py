"""Where a YAML mistake really is, in words a person can act on.

A parser reports where it gave up, which is not always where the mistake is: a quote or a
bracket left open on one line is read on across the next lines (the comments too) and fails
lines later, or at the end of the file (the message names both lines); a line indented deeper
than the one before is read as part of that line's value and fails at its colon. ``locate``
moves such a failure to the line to fix and says what is wrong there. Imports nothing of the
grader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

_BREAKS = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")  # YAML's line breaks
_OPENED = ("while scanning a quoted scalar", "while scanning a simple key", "while parsing a flow sequence",
           "while parsing a flow mapping")
_MISALIGNED = {"did not find expected key", "did not find expected '-' indicator",
               "expected <block end>, but found '<block sequence start>'",
               "expected <block end>, but found '<block mapping start>'"}
_NAMES = {'"': 'the quote "', "'": "the quote '", "[": "the bracket [", "{": "the brace {"}
# libyaml's words, then PyYAML's, when a line less indented than the file's first ends the document
_DOCUMENT_START = ("did not find expected <document start>", "expected '<document start>', but found")


@dataclass(frozen=True)
class Located:
    """A failure's problem and its place (line and column from 0, as a parser's marks)."""

    problem: str
    line: int
    column: int


def locate(exc: yaml.MarkedYAMLError, text: str, tokens: Any) -> Located | None:
    """The place and words of ``exc`` when the parser's own mark is not where the mistake is, or
    its words do not say what to fix; None otherwise. ``tokens``: a fresh parser of ``text``
    (its ``get_token``), to find the quoted values up to the failing line."""
    mark = exc.problem_mark
    if mark is None:
        return None
    lines = _BREAKS.split(text)
    indent = _indent(lines, mark.line)
    quoted = _quoted_until(tokens, mark.line)
    opened = _opened_before(exc, quoted)
    rest = [lines[mark.line][mark.column:], *lines[mark.line + 1:]] if mark.line < len(lines) else []
    at_end = not any(r.strip() for r in rest)
    if opened is not None:
        line, column = opened
        what = _NAMES.get(_char(lines, line, column), "what was opened")
        end = "the end of the file" if at_end else f"line {mark.line + 1} and stopped there ({exc.problem})"
        return Located(f"{what} opened here is not closed on this line, so YAML read on to {end}",
                       line, column)
    if exc.problem == "mapping values are not allowed in this context" and _indented_deeper(lines, mark.line):
        return Located("this line is indented more than the line above it, so YAML reads it as part of "
                       "that line's value: remove the space(s) before it to line it up with the line above",
                       mark.line, indent)
    if exc.problem in _MISALIGNED and 0 < indent == mark.column:
        return Located(f"this line's indentation ({indent} space{'s' * (indent != 1)}) does not line up "
                       "with the lines above it: indent it like the line it belongs with", mark.line, indent)
    first = _first_content(lines, mark.line) if (exc.problem or "").startswith(_DOCUMENT_START) else None
    if first is not None and _indent(lines, first) > mark.column:  # the first key set the file's indent
        spaces = _indent(lines, first)
        return Located(f"this line is indented ({spaces} space{'s' * (spaces != 1)}) but the lines below it "
                       f"are not (line {mark.line + 1}): remove the space(s) before it", first, spaces)
    if "tab character" in (exc.problem or "") or _char(lines, mark.line, mark.column) == "\t":
        return Located("a tab character here breaks the indentation: indent with spaces, not tabs",
                       mark.line, mark.column)
    if any(q.end_mark.line == mark.line and q.end_mark.column <= mark.column
           and not lines[mark.line][q.end_mark.column:mark.column].strip() for q in quoted[-1:]):
        return Located("text after a closing quote: put the whole value inside the quotes",
                       mark.line, mark.column)
    return None


def _quoted_until(tokens: Any, line: int) -> list[Any]:
    """The quoted scalars that start on or before ``line``, in order, as far as they scan."""
    found = []
    try:
        while (token := tokens.get_token()) is not None and token.start_mark.line <= line:
            if isinstance(token, yaml.ScalarToken) and token.style in ('"', "'"):
                found.append(token)
    except yaml.YAMLError:
        pass
    return found


def _opened_before(exc: yaml.MarkedYAMLError, quoted: list[Any]) -> tuple[int, int] | None:
    """Where a quote or bracket was opened, on a line before the failure, that is still open
    when the parser fails (or was closed only on the failing line)."""
    mark, context = exc.problem_mark, exc.context_mark
    if mark is None:
        return None
    if context is not None and exc.context in _OPENED and context.line < mark.line \
            and "escape" not in (exc.problem or ""):  # a bad escape is where the parser says
        return context.line, context.column
    spans = [q for q in quoted if q.start_mark.line < q.end_mark.line == mark.line]
    return (spans[-1].start_mark.line, spans[-1].start_mark.column) if spans else None


def _char(lines: list[str], line: int, column: int) -> str:
    return lines[line][column:column + 1] if line < len(lines) else ""


def _indent(lines: list[str], line: int) -> int:
    """The spaces that start ``line`` (0 past the end)."""
    return len(lines[line]) - len(lines[line].lstrip(" ")) if line < len(lines) else 0


def _first_content(lines: list[str], before: int) -> int | None:
    """The first line above ``before`` that holds YAML (not blank, a comment or a marker)."""
    for line in range(min(before, len(lines))):
        content = lines[line].strip()
        if content and not content.startswith(("#", "%", "---")):
            return line
    return None


def _indented_deeper(lines: list[str], line: int) -> bool:
    """Whether ``line`` starts further in than the nearest line above it that holds YAML."""
    for above in reversed(range(min(line, len(lines)))):
        content = lines[above].strip()
        if content and not content.startswith("#"):
            return _indent(lines, line) > _indent(lines, above)
    return False
