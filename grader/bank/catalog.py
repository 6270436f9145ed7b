"""Read-only views of the bank for the CLI: listings, item cards, keys, errata."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from grader.items import bank_type
from grader.items.instance import instantiate, key_entry
from grader.model.bank import Bank, Item


def list_entries(bank: Bank, chapter: int | None = None, kind: str | None = None) -> list[dict]:
    """``[{id, chapter, title, type}]`` filtered by chapter and type."""
    return [{"id": i.id, "chapter": i.chapter, "title": i.title, "type": i.type}
            for i in bank.items.values()
            if (chapter is None or i.chapter == chapter) and (kind is None or i.type == kind)]


def show_entry(item: Item, solution: bool = False) -> dict[str, Any]:
    """``{id, type, title, prompt, unit?, options?}``; with ``solution`` the answer too: the key
    entry (``answer``), the same as people write it (``answer_text``: lines), hints and derivation."""
    text = instantiate(item).text  # at the defaults
    out: dict[str, Any] = {"id": item.id, "type": item.type, "title": text.title, "prompt": text.prompt}
    out.update(bank_type(item.type).show_fields(item))
    if solution:
        out["answer"] = key_entry(item)
        out["answer_text"] = bank_type(item.type).solution_lines(item, out["answer"])
        out["hints"] = list(text.hints)
        out["derivation"] = text.derivation
        if item.errata:
            out["errata"] = [vars(e) for e in item.errata]
    return out


def answer_key(bank: Bank) -> dict[str, dict[str, Any]]:
    """``{ID: {type, answer, unit?, accept?}}`` for every item at its defaults."""
    return {item_id: key_entry(item) for item_id, item in bank.items.items()}


def errata_entries(bank: Bank, kinds: Collection[str] | None = None) -> list[dict[str, Any]]:
    """``[{where, chapter, item, kind, about, workbook, correct, why}]``: every erratum of one of
    ``kinds`` (None: of every kind), chapter introductions first within each chapter."""
    out: list[dict[str, Any]] = []
    for chapter in bank.chapters:
        for e in chapter.errata:
            out.append({"where": f"chapter {chapter.number} introduction", "chapter": chapter.number,
                        "item": None, **vars(e)})
        for item_id in chapter.item_ids:
            for e in bank.items[item_id].errata:
                out.append({"where": f"exercise {item_id}", "chapter": chapter.number,
                            "item": item_id, **vars(e)})
    return [e for e in out if kinds is None or e["kind"] in kinds]
