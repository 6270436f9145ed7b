"""The item-type registry: one module per type, each implementing the protocol of
``grader/items/base.py``; everything that differs between types goes through here.

``for_type(name)`` is a type's ``ItemType`` (every entry of a workspace: derive, trace, design,
build, debug, kernel); ``bank_type(name)`` is the ``BankItemType`` of a type of the bank's
chapters (not kernel). Adding a type is one module here (its ``TYPES`` registered below) and its
schema fragment; see "Adding an item type" in docs/architecture.md. The package also holds
what a type needs to grade: item instances (``instance``) and code and kernel runs
(``code_runs``, ``kernel_runs``).

Imports the model, rules, kernels, the sandbox and below; never bank loading, workspaces,
grading loops or outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.items import code, derive, design, kernel, trace
from grader.items.base import (
    FILE,
    MANY,
    ONE,
    ORDER,
    PENDING,
    TEXT,
    AnswerType,
    BankItemType,
    Checks,
    ItemType,
    Runners,
    Secrets,
    item_problem,
)
from grader.model.bank import Item, parse_errata

__all__ = ["FILE", "MANY", "ONE", "ORDER", "PENDING", "TEXT", "AnswerType", "BankItemType", "Checks",
           "ItemType", "Runners", "Secrets", "UnknownItemType", "bank_type", "bank_types", "build_item",
           "for_type", "item_problem", "register", "types", "unregister"]

_TYPES: dict[str, ItemType] = {}


class UnknownItemType(LookupError):
    """No registered type has this name."""


def register(kind: ItemType) -> None:
    """Add a type; its name must be new."""
    if kind.name in _TYPES:
        raise ValueError(f"item type {kind.name!r} is registered already")
    _TYPES[kind.name] = kind


def unregister(name: str) -> None:
    """Remove a type (tests register toy types and take them away again)."""
    _TYPES.pop(name, None)


def types() -> tuple[str, ...]:
    """Every registered type's name, in registration order."""
    return tuple(_TYPES)


def bank_types() -> tuple[str, ...]:
    """The names of the types whose items live in the bank's chapters."""
    return tuple(name for name, kind in _TYPES.items() if isinstance(kind, BankItemType))


def for_type(name: str) -> ItemType:
    """The type of a workspace entry (``ManifestItem.type``)."""
    try:
        return _TYPES[name]
    except KeyError:
        raise UnknownItemType(f"no item type {name!r} (known: {', '.join(_TYPES)})") from None


def bank_type(name: str) -> BankItemType:
    """The type of a bank item (``Item.type``)."""
    kind = for_type(name)
    if not isinstance(kind, BankItemType):
        raise UnknownItemType(f"{name!r} items are not items of the bank's chapters")
    return kind


def build_item(raw: Mapping[str, Any], chapter: int, source: str) -> Item:
    """Turn one schema-valid item mapping into an Item."""
    common: dict[str, Any] = dict(
        id=raw["id"], type=raw["type"], title=raw["title"], prompt=raw["prompt"].strip(),
        hints=tuple(h.strip() for h in raw["hints"]), derivation=raw["derivation"].strip(),
        chapter=chapter, source=source, errata=parse_errata(raw.get("errata")),
    )
    return bank_type(raw["type"]).build(raw, common)


# The built-in types, one module each (a new type's module joins this line)
for _kind in (*derive.TYPES, *trace.TYPES, *design.TYPES, *code.TYPES, *kernel.TYPES):
    register(_kind)
