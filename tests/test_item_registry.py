"""One spine: every item type is one module of ``grader/items`` behind one protocol.

Every type the schemas name has a registry entry; no module outside ``grader/items`` branches
on an item's type; and a type registered here, in a test, works through the grader's entry
points without a change anywhere else.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from grader import items
from grader.assignments.assignment import student_key
from grader.bank.catalog import show_entry
from grader.core.problems import Problem
from grader.grading.pipeline import check_format, grade_practice
from grader.items import AnswerType, BankItemType, Checks, ItemType, bank_type, build_item, for_type
from grader.items.instance import grade_response, key_entry
from grader.model.bank import ITEM_TYPES, Bank, Chapter, Choice, Item
from grader.model.entry import ManifestItem
from grader.results.result import Result, error
from grader.workspace.answers_template import render_answers_file
from grader.workspace.manifest import manifest_from_dict, manifest_item
from tests.workspace_helpers import CHECKOUT

PACKAGE = CHECKOUT / "grader"
SCHEMAS = PACKAGE / "schemas"


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text("utf-8"))


# --- (a) every type the schemas name is registered ----------------------------------------


def test_every_type_of_the_bank_schema_has_a_registry_entry():
    chapter = _schema("chapter.schema.json")
    named = chapter["$defs"]["common"]["properties"]["type"]["enum"]
    assert tuple(named) == ITEM_TYPES
    assert set(named) <= set(items.bank_types())
    branches = {ref["$ref"].rsplit("/", 1)[1] for ref in chapter["$defs"]["item"]["oneOf"]}
    for name in named:
        kind = bank_type(name)
        assert kind.name == name
        assert kind.schema_def in chapter["$defs"], name  # its schema fragment
        assert kind.schema_def in branches, name
        allowed = chapter["$defs"][kind.schema_def]["properties"]["type"]
        assert name in allowed.get("enum", [allowed.get("const")]), name


def test_every_type_a_manifest_or_spec_names_is_registered():
    manifest = _schema("manifest.schema.json")["$defs"]
    in_manifests = {*manifest["item"]["properties"]["type"]["enum"],
                    manifest["kernel"]["properties"]["type"]["const"]}
    assert in_manifests == set(items.types())
    selectors = _type_enums(_schema("assignment.schema.json"))  # the spec's items: {type: ...}
    assert selectors and all(set(enum) == set(items.bank_types()) for enum in selectors)


def _type_enums(node: Any) -> list[list[str]]:
    """Every ``"type": {"enum": [...]}`` of a schema (not JSON Schema's own ``type`` keyword)."""
    if isinstance(node, list):
        return [e for v in node for e in _type_enums(v)]
    if not isinstance(node, dict):
        return []
    props = node.get("properties", {})
    found = [props["type"]["enum"]] if isinstance(props.get("type"), dict) and "enum" in props["type"] else []
    return found + [e for v in node.values() for e in _type_enums(v)]


def test_the_registry_holds_one_module_per_type_behind_the_protocol():
    assert items.types() == ("derive", "trace", "design", "build", "debug", "kernel")
    for name in items.types():
        kind = for_type(name)
        assert isinstance(kind, ItemType)
        assert type(kind).__module__ == f"grader.items.{'code' if name in ('build', 'debug') else name}"
    assert not isinstance(for_type("kernel"), BankItemType)  # a workspace entry, not a bank item
    with pytest.raises(items.UnknownItemType):
        for_type("essay")
    with pytest.raises(items.UnknownItemType):
        bank_type("kernel")


# --- (b) nothing outside grader/items branches on an item's type --------------------------


def _is_type_read(node: ast.AST) -> bool:
    """``x.type`` or ``x["type"]``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "type"
    return isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
        and node.slice.value == "type"


def _type_names(node: ast.AST, names: set[str]) -> set[str]:
    """The item-type names a comparison operand spells out: a string, or a tuple/list/set of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value} & names
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return {n for e in node.elts for n in _type_names(e, names)}
    return set()


def type_branches(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, text) of every comparison of an item's ``.type`` against type names."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        if any(_is_type_read(o) for o in operands) and any(_type_names(o, names) for o in operands):
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_module_outside_the_registry_branches_on_an_item_type():
    names = set(items.types())
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(CHECKOUT).as_posix()
        if rel.startswith("grader/items/"):
            continue
        hits = type_branches(path.read_text("utf-8"), names)
        if hits:
            found[rel] = hits
    assert found == {}


def test_the_scan_finds_type_branches_and_ignores_other_types():
    source = '''
if item.type == "derive": pass
if entry.type != "kernel": pass
if e.type in ("trace", "design"): pass
if raw["type"] == "build": pass
if t.device.type != "cpu": pass
if out.dtype != torch.bool: pass
if item.type != entry.type: pass
'''
    assert [line for line, _ in type_branches(source, set(items.types()))] == [2, 3, 4, 5]


# --- (c) a type registered in a test works through the grader ------------------------------


class TrueFalse(AnswerType):
    """A toy type: a statement, answered true or false."""

    name = "true_false"
    schema_def = "true_false_item"

    def build(self, raw: Mapping[str, Any], common: dict[str, Any]) -> Item:
        truth = "true" if raw["answer"] else "false"
        return Item(**common, options=tuple(Choice(v, v, v == truth) for v in ("true", "false")))

    def problems(self, item: Item, checks: Checks) -> list[Problem]:
        return []

    def key_entry(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        return {"type": item.type, "answer": next(o.id for o in item.options if o.correct)}

    def read(self, entry: ManifestItem, response: object) -> object:
        if isinstance(response, str) and response.strip().lower() in entry.options:
            return response.strip().lower()
        return error("Answer true or false.")

    def grade(self, item: Item, response: object, params: Mapping[str, float] | None) -> Result:
        reading = self.read(manifest_item(item), response)
        if isinstance(reading, Result):
            return reading
        if reading == self.key_entry(item, params)["answer"]:
            return Result("correct", 1.0, ("Correct.",))
        return Result("incorrect", 0.0, ("Not right.",))

    def manifest_fields(self, item: Item, params: Mapping[str, float] | None) -> dict[str, Any]:
        return {"options": ("true", "false")}

    def answer_instructions(self, item: Item, entry: ManifestItem) -> str:
        return "Answer true or false."

    def show_fields(self, item: Item) -> dict[str, Any]:
        return {"options": ["true", "false"]}

    def notebook_prompt(self, item: Item, entry: ManifestItem, base: Path, var: str) -> list[str]:
        return [f"Set `{var}` to `\"true\"` or `\"false\"`."]

    def notebook_reference(self, item: Item, key: Mapping[str, Any]) -> tuple[str, str]:
        return json.dumps(key["answer"]), "true or false"


@pytest.fixture
def toy():
    items.register(TrueFalse())
    try:
        yield
    finally:
        items.unregister("true_false")


RAW = {"id": "9.99", "type": "true_false", "title": "Toy", "prompt": "The sky is blue.",
       "hints": ["Look up."], "derivation": "It is.", "answer": True}


def test_a_toy_type_works_through_grading_keys_and_manifests(toy, tmp_path):
    item = build_item(RAW, 9, "toy.yaml")
    assert item.type == "true_false" and [o.id for o in item.options if o.correct] == ["true"]
    assert key_entry(item) == {"type": "true_false", "answer": "true"}
    assert grade_response(item, "True").status == "correct"
    assert grade_response(item, "false").status == "incorrect"
    assert grade_response(item, "maybe").status == "error"

    entry = manifest_item(item, points=2)
    doc = {"id": "9.99", "type": "true_false", "chapter": 9, "title": "Toy", "points": 2,
           "options": ["true", "false"]}
    assert entry.to_dict() == doc
    assert check_format(entry, "false").status == "pending"
    assert check_format(entry, "maybe").status == "error"
    assert grade_practice(item, entry, "true").status == "correct"

    bank = Bank(root=tmp_path, chapters=[Chapter(9, "Toys", "toy.yaml", item_ids=("9.99",))],
                items={"9.99": item})
    assert student_key(bank, [entry]) == {"9.99": {"type": "true_false", "answer": "true", "points": 2}}
    text = render_answers_file(bank, [entry], "Toys")
    assert "Answer true or false." in text and '"9.99":' in text
    assert show_entry(item)["options"] == ["true", "false"]


def test_grade_serve_asks_for_a_toy_types_answer_as_its_type_says(toy):
    """The page's control comes from the type (``ItemType.answer_input``), not from which
    manifest fields an entry has: a true/false type's two options are not steps to order."""
    from grader.serve import pages, views

    entry = manifest_item(build_item(RAW, 9, "toy.yaml"))
    assert entry.options == ("true", "false") and not entry.select
    assert views.control(entry) == items.TEXT
    assert views.answer_value(entry, ["true"]) == "true"
    assert pages.FORMS[views.control(entry)] is not None


def test_each_built_in_type_names_its_answer_input():
    entry = ManifestItem(id="1.1", type="derive", chapter=1, title="t", points=1)
    shown = {"derive": items.TEXT, "design": items.ORDER, "build": items.FILE, "debug": items.FILE,
             "kernel": items.FILE}
    for name, kind in shown.items():
        assert for_type(name).answer_input(entry) == kind, name
    for select, kind in (("single", items.ONE), ("multiple", items.MANY)):
        chosen = ManifestItem(id="0.4", type="trace", chapter=0, title="t", points=1, select=select,
                              options=("A", "B"))
        assert for_type("trace").answer_input(chosen) == kind


def test_a_toy_type_is_gone_once_unregistered(toy):
    item = build_item(RAW, 9, "toy.yaml")
    items.unregister("true_false")
    assert "true_false" not in items.types()
    with pytest.raises(items.UnknownItemType):
        grade_response(item, "true")
    with pytest.raises(items.UnknownItemType):
        manifest_item(item)


def test_a_name_is_registered_once(toy):
    with pytest.raises(ValueError, match="registered already"):
        items.register(TrueFalse())


def test_the_manifest_schema_refuses_an_unknown_type_in_grade_yaml(toy):
    """A registered type is not yet a valid grade.yaml type: that takes its schema fragment."""
    from grader.core.fileio import WorkspaceError

    doc = {"format": 1, "mode": "graded", "items": [
        {"id": "9.99", "type": "true_false", "chapter": 9, "title": "Toy", "points": 1}]}
    with pytest.raises(WorkspaceError):
        manifest_from_dict(doc)
