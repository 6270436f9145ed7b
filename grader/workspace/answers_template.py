"""Write a workspace's ``answers.yaml``: every item id with an empty answer, its prompt
and what to answer with as comments above it."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence

from grader.items import bank_type
from grader.items.instance import instantiate
from grader.model.bank import Bank, Item
from grader.workspace.manifest import ManifestItem

WIDTH = 92
_RULE = "# " + "=" * (WIDTH - 2)
# What must not reach a comment line: characters YAML refuses in a file (the reader would refuse
# the whole answers.yaml) and those it reads as a line break (the rest of the line would become
# YAML). The schemas refuse them in the bank and specs; this holds whatever gets through.
_UNSAFE = re.compile("[^\t\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
                     "|[\u2028\u2029]")


def _one_line(text: str) -> str:
    """``text`` safe inside one comment line: each unsafe character (a line break included)
    becomes U+FFFD."""
    return _UNSAFE.sub("\ufffd", text)


def _comment(text: str, indent: str = "  ", hang: str = "") -> list[str]:
    """``text`` as comment lines, keeping its line breaks and wrapping long lines."""
    out: list[str] = []
    for line in map(_one_line, text.splitlines()):
        wrapped = textwrap.wrap(line, WIDTH - 2 - len(indent), subsequent_indent=hang) or [""]
        out.extend(f"#{indent}{w}".rstrip() for w in wrapped)
    return out


def _item_block(item: Item, entry: ManifestItem) -> list[str]:
    points = f"{entry.points:g} point" + ("" if entry.points == 1 else "s")
    lines = [_one_line(f"# {item.id}  {item.title}  [{item.type}, {points}]"), "#"]
    lines += _comment(instantiate(item, entry.params).prompt)
    kind = bank_type(item.type)
    lines += ["#", *_comment(kind.answer_instructions(item, entry))]
    for label, text in kind.choices(item):
        lines += _comment(f"{label}. {text}", indent="    ", hang="   ")
    if kind.in_answers_file:
        lines.append(f"{json.dumps(item.id)}:")
    return lines


def render_answers_file(bank: Bank, entries: Sequence[ManifestItem], heading: str) -> str:
    """The text of a fresh answers.yaml for ``entries`` (items of ``bank``)."""
    lines = [_RULE, *_comment(heading, indent=" "), "#",
             "# Write each answer after its id, then run 'grade check'. Leave an answer empty",
             "# to skip it. Numbers: 52000, 52,000, 5.2e4, 5.2 x 10^4, 5.2·10⁴, 2^20, 1/3, 15%,",
             "# ≈ 52000, with or without a unit (52 GFLOPs, 52 gigaflops); a number without a",
             "# unit is read in the asked unit. Options: B or [A, C]. Orders: CADB or [C, A, D, B].",
             "# Keep working in a comment after the answer:  \"1.1\": 52000  # 2*1024*...",
             "# An answer that contains ': ' needs quotes.",
             _RULE]
    chapter = None
    for entry in entries:
        item = bank.items[entry.id].shuffled(entry.shuffle)
        if item.chapter != chapter:
            chapter = item.chapter
            ch = bank.chapter(chapter)
            lines += ["", _RULE, _one_line(f"# Chapter {chapter} · {ch.title if ch else ''}"), _RULE]
        lines += ["", *_item_block(item, entry)]
    return "\n".join(lines) + "\n"
