"""Load the bank: read YAML safely, validate against the JSON Schema, build the model.

Problems are collected, never raised: a broken file is reported with its file,
item id and the path inside the item, and the other files still load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.bank import user_cache
from grader.core import fileio
from grader.core.problems import Problem, read_document
from grader.items import bank_type, build_item
from grader.model.bank import ITEM_TYPES, Bank, Chapter, parse_errata


@dataclass
class LoadResult:
    bank: Bank
    problems: list[Problem] = field(default_factory=list)


@lru_cache(maxsize=8)
def _branch_schema(branch: str) -> dict[str, Any]:
    """The schema of one item type (kept, so its validator is built once)."""
    return {"$defs": fileio.grader_schema("chapter")["$defs"],
            "allOf": [{"$ref": "#/$defs/common"}, {"$ref": f"#/$defs/{branch}"}]}


def schema_problems(doc: Any, file: str) -> list[Problem]:
    """Schema violations of one chapter document, located by item id and path."""
    problems: list[Problem] = []
    bad_items: set[int] = set()
    for path, message in fileio.schema_errors(doc, fileio.grader_schema("chapter")):
        if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
            bad_items.add(path[1])
            continue
        problems.append(Problem(file, message, path=fileio.json_path(path)))
    for index in sorted(bad_items):
        raw = doc["items"][index]
        item_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        kind = raw.get("type") if isinstance(raw, dict) else None
        # Paths are inside the item when it has an id to name it by, else from the file's root.
        prefix: list[str | int] = [] if item_id else ["items", index]
        if kind not in ITEM_TYPES:
            problems.append(Problem(file, f"type must be one of {', '.join(ITEM_TYPES)}, got {kind!r}",
                                    item=item_id, path=fileio.json_path([*prefix, "type"])))
            continue
        branch = _branch_schema(bank_type(kind).schema_def)
        for where, message in fileio.schema_problems(raw, branch, prefix=prefix):
            problems.append(Problem(file, message, item=item_id, path=where))
    return problems


def load_bank(bank_dir: Path) -> LoadResult:
    """Load every ``*.yaml`` chapter file in ``bank_dir`` (sorted by name).

    Inside ``grader.bank.user_cache.user_cache()`` (student commands only), the documents of a bank
    whose files are byte for byte those of an earlier load without a problem come from the
    user's cache, already validated; any other bytes are parsed and validated here.
    """
    files = sorted(bank_dir.glob("*.yaml")) if bank_dir.is_dir() else []
    if not files:
        why = "no chapter files (*.yaml) found" if bank_dir.is_dir() else (
            "no such folder: a bank is a folder of chapter files (*.yaml); without --bank or "
            "$GRADE_BANK the grader uses the bank it ships")
        return LoadResult(Bank(root=bank_dir.resolve().parent), [Problem(str(bank_dir), why)])
    from grader.kernels.spec import KERNELS_FILE

    snapshot = user_cache.bank_snapshot(bank_dir, files, bank_dir / KERNELS_FILE)
    cached = user_cache.cached_bank(snapshot, len(files)) if snapshot is not None else None
    if cached is not None:
        try:
            return _build(bank_dir, files, snapshot, cached)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            pass  # an entry that is not what a load stored (edited by hand): load the files
    return _build(bank_dir, files, snapshot, None)


def _build(bank_dir: Path, files: list[Path], snapshot: user_cache.BankSnapshot | None,
           cached: user_cache.CachedBank | None) -> LoadResult:
    """The bank from its files, or from ``cached`` documents (already validated)."""
    from grader.kernels.spec import kernel_document, kernel_tasks

    bank = Bank(root=bank_dir.resolve().parent)
    result = LoadResult(bank)
    docs: list[Any] = []
    for index, path in enumerate(files):
        label = str(path)
        if cached is not None:
            doc, problems = cached.chapters[index], list[Problem]()
        else:
            doc, problems = read_document(path, label, snapshot.data[path] if snapshot else None)
            if not problems:
                problems = schema_problems(doc, label)
        result.problems.extend(problems)
        if problems:
            continue
        docs.append(doc)
        ids: list[str] = []
        for raw in doc["items"]:
            if raw["id"] in bank.items:
                other = bank.items[raw["id"]].source
                result.problems.append(Problem(label, f"duplicate id (also in {other})", item=raw["id"]))
                continue
            bank.items[raw["id"]] = build_item(raw, doc["chapter"], label)
            ids.append(raw["id"])
        bank.chapters.append(Chapter(doc["chapter"], doc["title"], label,
                                     errata=parse_errata(doc.get("errata")), item_ids=tuple(ids)))
    bank.chapters.sort(key=lambda c: c.number)
    bank.items = dict(sorted(bank.items.items(), key=lambda kv: _id_key(kv[0])))
    if cached is not None:
        kernels_doc, problems = cached.kernels, []
    elif snapshot is not None:  # parse the very bytes the key was made of
        kernels_doc, problems = kernel_document(bank_dir, snapshot.data[snapshot.kernels]) \
            if snapshot.kernels is not None else (None, [])
    else:
        kernels_doc, problems = kernel_document(bank_dir)
    if not problems and kernels_doc is not None:
        bank.kernels, problems = kernel_tasks(kernels_doc, bank_dir)
    result.problems.extend(problems)
    if snapshot is not None and cached is None and not result.problems:
        user_cache.store_bank(snapshot, docs, kernels_doc)
    return result


def _id_key(item_id: str) -> tuple[int, int]:
    major, minor = item_id.split(".")
    return int(major), int(minor)
