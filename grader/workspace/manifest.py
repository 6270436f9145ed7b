"""The workspace manifest, ``grade.yaml``: which items a workspace holds and how to check them.

It never holds an expected answer. A *practice* workspace computes answers from
the installed bank (at the manifest's parameters, so per-student variants fit);
a *graded* workspace carries only what a format check needs (asked unit, option
ids, code files), and grading happens on submission.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.bank import user_cache
from grader.core.fileio import (
    WorkspaceError,
    YamlError,
    dump_yaml,
    grader_schema,
    read_capped,
    read_yaml,
    schema_problems,
    write_atomic,
)
from grader.items import bank_type
from grader.model.bank import Item
from grader.model.entry import ManifestItem

MANIFEST_NAME = "grade.yaml"
MODES = ("practice", "graded")
MAX_MANIFEST_BYTES = 512 * 1024
_HEADER = ("# Workspace manifest written by 'grade'. It lists the items of this workspace\n"
           "# and holds no answers. Do not edit it: write your answers in answers.yaml.\n")


@dataclass(frozen=True)
class Manifest:
    mode: str
    items: tuple[ManifestItem, ...]
    title: str = ""
    bank: str | None = None
    assignment: Mapping[str, str] | None = None
    kernels: tuple[ManifestItem, ...] = ()  # GPU kernel tasks (type "kernel"), after the items

    @property
    def entries(self) -> tuple[ManifestItem, ...]:
        """Everything graded: the bank items, then the kernel tasks."""
        return self.items + self.kernels

    def item(self, item_id: str) -> ManifestItem | None:
        return next((i for i in self.entries if i.id == item_id), None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": 1, "mode": self.mode}
        if self.title:
            out["title"] = self.title
        out["bank"] = self.bank
        if self.assignment:
            out["assignment"] = dict(self.assignment)
        out["items"] = [i.to_dict() for i in self.items]
        if self.kernels:
            out["kernels"] = [k.to_dict() for k in self.kernels]
        return out


def manifest_item(item: Item, params: Mapping[str, float] | None = None,
                  points: float = 1.0) -> ManifestItem:
    """The manifest entry of a bank item (at ``params``, defaults when None; options and steps
    in the order of the item's shuffle, ``Item.shuffled``)."""
    return ManifestItem(id=item.id, type=item.type, chapter=item.chapter, title=item.title, points=points,
                        shuffle=item.shuffle, **bank_type(item.type).manifest_fields(item, params))


def manifest_from_dict(doc: Any, name: str = MANIFEST_NAME, validated: bool = False) -> Manifest:
    """Validate a parsed manifest against its schema (unless ``validated``: it passed before)
    and build it."""
    errors = [] if validated else schema_problems(doc, grader_schema("manifest"))
    if errors:
        where, message = errors[0]
        raise WorkspaceError(f"{name} is not a valid workspace manifest: {where}: {message}")
    items, kernels = (tuple(ManifestItem(
        id=i["id"], type=i["type"], chapter=i["chapter"], title=i["title"], points=float(i["points"]),
        unit=i.get("unit"), params={k: float(v) for k, v in i.get("params", {}).items()},
        select=i.get("select"), options=tuple(i.get("options", ())), files=tuple(i.get("files", ())),
        performance=float(i.get("performance", 0.0)), shuffle=i.get("shuffle"),
    ) for i in doc.get(key, ())) for key in ("items", "kernels"))
    ids = [i.id for i in items + kernels]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise WorkspaceError(f"{name} lists item(s) {', '.join(repeated)} more than once")
    return Manifest(mode=doc["mode"], items=items, title=doc.get("title", ""), bank=doc.get("bank"),
                    assignment=doc.get("assignment"), kernels=kernels)


def read_manifest(path: Path) -> Manifest:
    """Read ``grade.yaml``; every failure is a WorkspaceError naming the problem."""
    try:
        data = read_capped(path, label=path.name, max_bytes=MAX_MANIFEST_BYTES)
        doc = read_yaml(data, label=path.name, max_bytes=MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        raise WorkspaceError(f"{path} does not exist: this is not a workspace "
                             "('grade init DIR' creates one)") from None
    except YamlError as exc:
        raise WorkspaceError(str(exc)) from None
    key = user_cache.manifest_key(data)  # None unless the user's cache is on (student commands)
    if key is not None and user_cache.manifest_known_valid(key):
        try:
            return manifest_from_dict(doc, path.name, validated=True)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            pass  # the cache named a manifest valid that is not (edited by hand): check it here
    manifest = manifest_from_dict(doc, path.name)
    if key is not None:
        user_cache.remember_valid_manifest(key)
    return manifest


def write_manifest(path: Path, manifest: Manifest) -> None:
    text = dump_yaml(manifest.to_dict(), sort_keys=False, allow_unicode=True, width=100)
    write_atomic(path, _HEADER + text)
