"""Reading option-id responses shared by the choice and ordering rules."""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_IDS = 26


class SelectionError(ValueError):
    """A response that is not a well-formed list of option ids."""


def read_ids(response: object, known: Sequence[str]) -> list[str]:
    """Turn "B", "A,C", "A C", "CADB" or a YAML list into upper-case ids.

    Raises SelectionError naming unknown ids or a wrong type. ``known`` may be in the key's
    order (an ordering's steps): messages list ids sorted, never in that order.
    """
    if isinstance(response, str):
        text = response.strip()
        if len(text) > 4 * MAX_IDS:
            raise SelectionError(f"the answer is too long ({len(text)} characters)")
        parts = [p for p in re.split(r"[\s,;]+", text) if p]
        if len(parts) == 1 and len(parts[0]) > 1 and parts[0].isalpha():
            parts = list(parts[0])  # "CADB"
        ids = [p.upper() for p in parts]
    elif isinstance(response, list):
        if len(response) > MAX_IDS:
            raise SelectionError(f"too many entries ({len(response)})")
        if not all(isinstance(x, str) for x in response):
            raise SelectionError("every entry must be an option id such as A or B")
        ids = [x.strip().upper() for x in response]
    else:
        raise SelectionError(
            f"expected option ids such as B or [A, C], got a {type(response).__name__}"
        )
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise SelectionError(
            f"unknown option {', '.join(repr(u) for u in unknown)}; choose from {', '.join(sorted(known))}"
        )
    return ids
