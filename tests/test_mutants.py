"""Mutants as declared patches against their solution (grader/model/mutants.py): each kind of edit,
every way an edit can fail to apply (named by its mutant and located in its patch file), a patch
that changes nothing or breaks the syntax refused, and `grade validate` reporting all of it
without running anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.core.paths import COURSE_ROOT
from grader.model.mutants import Mutant, PatchError, apply_mutant, mutant_sources, parse_patches, read_patches

SOLUTION = '"""Doc."""\n\nimport os\n\n\ndef f(x):\n    y = x + 1\n    y = y * 2\n    return y\n'


def _mutant(*edits: dict) -> Mutant:
    return Mutant("m", "a bug", tuple(edits))


@pytest.mark.parametrize(("edit", "expected_line"), [
    ({"replace": {"old": "x + 1", "new": "x - 1"}}, "    y = x - 1\n"),
    ({"replace": {"old": "    y = y * 2\n"}}, None),  # no new: deleted
    ({"replace": {"from": "    y = x", "to": "* 2\n", "new": "    y = x\n"}}, "    y = x\n"),
    ({"insert": {"after": "import os\n", "text": "import sys\n"}}, "import sys\n"),
    ({"insert": {"before": "    return y", "text": "    y += 3\n"}}, "    y += 3\n"),
    ({"prepend": "# a header\n"}, "# a header\n"),
    ({"append": "\nZ = 1\n"}, "Z = 1\n"),
])
def test_each_kind_of_edit(edit: dict, expected_line: str | None):
    source = apply_mutant(SOLUTION, _mutant(edit))
    assert source != SOLUTION
    if expected_line is None:
        assert "y * 2" not in source and source.count("\n") == SOLUTION.count("\n") - 1
    else:
        assert expected_line in source.splitlines(keepends=True)
    if "prepend" in edit:
        assert source.startswith(edit["prepend"])
    if "append" in edit:
        assert source.endswith(edit["append"])


def test_edits_apply_in_order_to_the_text_so_far():
    first = {"replace": {"old": "y = x + 1", "new": "y = x + 10"}}
    second = {"replace": {"old": "x + 10", "new": "x + 100"}}  # only there after the first
    assert "y = x + 100\n" in apply_mutant(SOLUTION, _mutant(first, second))


@pytest.mark.parametrize(("edit", "message"), [
    ({"replace": {"old": "x + 2", "new": "x"}}, "edit 2: replace's 'old' occurs 0 times (must be once)"),
    ({"replace": {"old": "    y = ", "new": "    z = "}}, "edit 2: replace's 'old' occurs 2 times"),
    ({"replace": {"from": "y =", "to": "return", "new": ""}}, "edit 2: replace's 'from' occurs 2 times"),
    ({"replace": {"from": "return", "to": "import"}}, "edit 2: replace's 'to' does not occur after"),
    ({"insert": {"after": "y", "text": "#"}}, "edit 2: insert's 'after' occurs 4 times"),
    ({"insert": {"before": "z", "text": "#"}}, "edit 2: insert's 'before' occurs 0 times"),
])
def test_an_edit_that_does_not_apply_names_the_mutant_and_the_edit(edit: dict, message: str):
    harmless = {"prepend": "# first\n"}
    with pytest.raises(PatchError) as caught:
        apply_mutant(SOLUTION, Mutant("off_by_one", "a bug", (harmless, edit), index=3, file="p.yaml"))
    assert str(caught.value).startswith(f"mutant off_by_one: {message}"), str(caught.value)
    assert (caught.value.file, caught.value.where) == ("p.yaml", "$.mutants[3].edits[1]")


def test_a_mutant_that_changes_nothing_is_refused():
    same = _mutant({"replace": {"old": "x + 1", "new": "x + 1"}})
    with pytest.raises(PatchError, match="mutant m: its edits leave the solution unchanged"):
        apply_mutant(SOLUTION, same)
    undone = _mutant({"replace": {"old": "x + 1", "new": "x - 1"}},
                     {"replace": {"old": "x - 1", "new": "x + 1"}})
    with pytest.raises(PatchError, match="a mutant must change something"):
        apply_mutant(SOLUTION, undone)


def test_a_mutant_that_is_not_python_is_refused():
    with pytest.raises(PatchError, match=r"mutant m: the edited source is not Python: line 7: "):
        apply_mutant(SOLUTION, _mutant({"replace": {"old": "x + 1", "new": "x +"}}))


@pytest.mark.parametrize(("doc", "message"), [
    ({"mutants": [{"name": "m", "bug": "a bug here", "edits": []}]}, "mutant m: [] should be non-empty"),
    ({"mutants": [{"name": "m", "bug": "a bug here", "edits": [{"replace": {"old": "a", "from": "b"}}]}]},
     "mutant m: "),
    ({"mutants": [{"name": "m", "bug": "a bug here", "edits": [{"swap": "a"}]}]}, "mutant m: "),
    ({"mutants": [{"name": "Bad-Name", "bug": "a bug here", "edits": [{"append": "x"}]}]}, "does not match"),
    ({"mutants": [{"name": "m", "bug": "a bug here", "edits": [{"append": "x"}]},
                  {"name": "m", "bug": "a bug here", "edits": [{"append": "y"}]}]},
     "mutant m: the name is used twice"),
])
def test_a_malformed_patch_file_is_refused_with_where(doc: dict, message: str):
    with pytest.raises(PatchError) as caught:
        parse_patches(doc, "p.yaml")
    assert message in str(caught.value) and caught.value.file == "p.yaml"
    assert caught.value.where.startswith("$.mutants[")


def test_names_are_unique_across_an_items_patch_files_and_a_copy_is_no_patch(tmp_path: Path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("mutants:\n- {name: m, bug: a bug here, edits: [{append: '#'}]}\n")
    with pytest.raises(PatchError, match="mutant m: the name is used twice"):
        read_patches(tmp_path, ["a.yaml", "b.yaml"])
    with pytest.raises(PatchError, match=r"copy\.py is not a patch file \(\.yaml\)"):
        read_patches(tmp_path, ["copy.py"])


def test_every_shipped_mutant_differs_from_its_solution_and_from_each_other(bank):
    owners = [(i.code.mutants, i.code.reference) for i in bank.items.values() if i.code is not None]
    owners += [(t.mutants, t.solution) for t in bank.kernels.values()]
    seen = set()
    for files, solution in owners:
        sources = mutant_sources(COURSE_ROOT, files, solution)
        assert sources and all(s != (COURSE_ROOT / solution).read_text() for s in sources.values())
        seen.update(sources.values())
        assert all(m.bug for m in read_patches(COURSE_ROOT, files))
    assert len(seen) == 43  # 15 code mutants, 28 kernel mutants, no two alike


def _edit_patch(root: Path, patch: str, mutant: str, change) -> None:
    path = root / patch
    doc = yaml.safe_load(path.read_text())
    change(next(m for m in doc["mutants"] if m["name"] == mutant)["edits"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_grade_validate_names_each_mutant_whose_patch_no_longer_applies(bank_copy: Path):
    """A solution edited under its mutants: each patch that no longer applies is a problem of
    `grade validate` (no --code), in its patch file, naming the mutant and the edit."""
    root = bank_copy.parent
    reference = root / "solutions/code/count_pairs.py"
    reference.write_text(reference.read_text().replace("counts.update(pairwise(seq))",
                                                       "counts.update(pairwise(seq))  # both"))
    _edit_patch(root, "solutions/code/mutants/moe_router.yaml", "hardcoded_top1",
                lambda edits: edits.append({"replace": {"old": "dim=-1", "new": "dim=1"}}))
    _edit_patch(root, "solutions/kernels/mutants/swiglu.yaml", "swapped",
                lambda edits: edits.__setitem__(0, {"replace": {"old": "mask=mask", "new": "mask=None"}}))
    result = CliRunner().invoke(main, ["validate", "--bank", str(bank_copy), "--samples", "1", "--json"])
    assert result.exit_code == 1
    found = {(p["file"], p["item"], p["path"], p["message"].split(" (must")[0])
             for p in json.loads(result.output)["problems"]}
    count_pairs = "solutions/code/mutants/count_pairs.yaml"
    # every count_pairs mutant that replaces the edited line; crosses_boundaries replaces a span
    # around it, which still applies
    broken = {"skips_overlaps": (0, 3), "drops_last_pair": (1, 3), "string_keys": (3, 2),
              "mutates_input": (4, 3), "fails_on_generator": (5, 3), "quadratic_seen_list": (6, 2)}
    assert found == {
        *((count_pairs, "0.6", f"$.mutants[{i}].edits[{e}]", f"mutant {name}: edit {e + 1}: replace's 'old' "
           "occurs 0 times") for name, (i, e) in broken.items()),
        ("solutions/code/mutants/moe_router.yaml", "3.5", "$.mutants[1].edits[2]",
         "mutant hardcoded_top1: edit 3: replace's 'old' occurs 3 times"),
        ("solutions/kernels/mutants/swiglu.yaml", None, "$.mutants[1].edits[0]",
         "swiglu: mutant swapped: edit 1: replace's 'old' occurs 3 times")}


def test_grade_validate_refuses_a_patch_that_changes_nothing(bank_copy: Path):
    root = bank_copy.parent
    same = {"replace": {"old": "import os\n", "new": "import os\n"}}
    _edit_patch(root, "solutions/kernels/mutants/matmul.yaml", "torch_fallback",
                lambda edits: edits.__setitem__(slice(None), [same]))
    result = CliRunner().invoke(main, ["validate", "--bank", str(bank_copy), "--samples", "1"])
    assert result.exit_code == 1
    assert ("solutions/kernels/mutants/matmul.yaml: $.mutants[2].edits: matmul: mutant torch_fallback: its "
            "edits leave the solution unchanged (a mutant must change something)") in result.output
