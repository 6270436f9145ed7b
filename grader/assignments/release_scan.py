"""Look through a released student folder for anything that gives answers away.

Secrets are the expected answers (as numbers, in every way they are usually written),
the worked derivations, the option feedback, the solver functions, the reference
solutions and the hidden tests. ``grade assign`` runs this on every student folder it
writes, and withdraws the release when anything is found. Answers with fewer than 3
significant digits (64, 1.5) are too common in ordinary text to be told apart, and are
not looked for.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from grader.core.paths import COURSE_ROOT
from grader.items import for_type
from grader.items.instance import instantiate
from grader.model.bank import Bank
from grader.workspace.manifest import Manifest

NUMBER = re.compile(r"(?<![\w.])-?\d(?:[\d,]*\d)?(?:\.\d+)?(?:[eE][+-]?\d+)?")
MIN_SIGNIFICANT = 3  # "2" or "16" appear everywhere; a 3-digit match is worth reporting
MIN_FRAGMENT = 40


def significant_digits(text: str) -> int:
    mantissa = re.split(r"[eE]", text.replace(",", "").lstrip("-"))[0].replace(".", "")
    return len(mantissa.strip("0"))


def reveals(token: str, value: float) -> bool:
    """Whether the number written as ``token`` is ``value`` rounded to the token's digits
    (3 or more significant digits, so "2" or "16" never count)."""
    digits = significant_digits(token)
    if digits < MIN_SIGNIFICANT or not math.isfinite(value) or value == 0:
        return False
    written = as_float(token)
    return written is not None and math.isclose(written, float(f"{value:.{digits}g}"), rel_tol=1e-12)


def numbers_in(text: str) -> set[str]:
    return set(NUMBER.findall(text))


def as_float(token: str) -> float | None:
    try:
        return float(token.replace(",", ""))
    except ValueError:
        return None


def _fragments(text: str) -> set[str]:
    """Distinctive lines of a secret text (long enough not to occur by chance)."""
    return {line.strip() for line in text.splitlines() if len(line.strip()) >= MIN_FRAGMENT}


def secrets_of(bank: Bank, manifest: Manifest, root: Path = COURSE_ROOT
               ) -> tuple[set[float], set[float | None], set[str]]:
    """(answer values, numbers the prompts show, secret text fragments and names) of ``manifest``."""
    numbers: set[float] = set()
    texts: set[str] = set()
    public: set[float | None] = set()
    for entry in manifest.items:
        item = bank.items[entry.id]
        text = instantiate(item, entry.params or None).text
        public |= {as_float(t) for t in numbers_in(text.prompt)}
        public |= {float(v) for v in entry.params.values()}
        texts |= _fragments(text.derivation)
    for entry in manifest.entries:  # what each type keeps secret
        found = for_type(entry.type).secrets(bank, entry, root)
        numbers |= found.numbers
        texts |= found.names
        texts |= {f for text in found.texts for f in _fragments(text) or {text}}
        for solution, template in found.solutions:
            texts |= _solution_lines(solution, template)
    return numbers, public, texts


def _solution_lines(solution: Path, template: Path) -> set[str]:
    """The solution's distinctive lines; those the template also holds (whole or inside a
    longer line) are scaffolding, unless that is all of it."""
    lines, given = _fragments(solution.read_text("utf-8")), template.read_text("utf-8")
    secret = {line for line in lines if not _occurs(line, given)}
    return secret or lines


def find_secrets(folder: Path, bank: Bank, manifest: Manifest, root: Path = COURSE_ROOT) -> list[str]:
    """Every secret found in the files under ``folder``, as 'file: what' lines."""
    numbers, public, texts = secrets_of(bank, manifest, root)
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if "hidden" in path.name or path.suffix in (".pyc",):
            found.append(f"{rel}: a hidden-test or compiled file")
        text = path.read_text("utf-8", errors="replace")
        found += [f"{rel}: answer number {token}" for token in sorted(numbers_in(text))
                  if as_float(token) not in public and any(reveals(token, value) for value in numbers)]
        found += [f"{rel}: secret text {t[:60]!r}" for t in sorted(texts) if _occurs(t, text)]
    return found


def _occurs(secret: str, text: str) -> bool:
    if secret.isidentifier():
        return re.search(rf"\b{re.escape(secret)}\b", text) is not None
    return secret in text
