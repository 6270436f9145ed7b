"""`grade errata`: errata carry a kind, the default listing holds only the workbook's errors,
`--kind` shows the rest by kind, and a missing or unknown kind is a `grade validate` problem."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.core.fileio import grader_schema
from grader.model.bank import ERRATUM_KINDS, Bank
from tests.bank_edits import edit_yaml, item_in

# The errata an independent review found to be conventions, roundings or notes, not errors.
NOT_ERRORS = {"0.4": "unit_convention", "1.4": "unit_convention", "2.4": "unit_convention",
              "4.5": "unit_convention", "0.5": "ambiguity", "0.6": "note", "4.4": "note",
              "7.1": "note", "8.1": "note"}


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, ["errata", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _json(*args: str) -> list[dict]:
    return json.loads(_run(*args, "--json"))


def test_schema_and_code_name_the_same_kinds():
    kinds = grader_schema("chapter")["$defs"]["erratum"]["properties"]["kind"]["enum"]
    assert kinds == list(ERRATUM_KINDS)


def test_default_listing_holds_only_errors():
    everything = _json("--kind", "all")
    default = _json()
    assert default and all(e["kind"] == "error" for e in default)
    assert default == [e for e in everything if e["kind"] == "error"]
    assert len(default) < len(everything)
    assert {"2.2", "6.3", "8.5", "9.6"} <= {e["item"] for e in default}
    assert not {e["item"] for e in default} & {"1.4", "2.4", "0.6", "4.4", "7.1", "8.1"}  # no error there


def test_default_table_lists_errors_and_says_what_it_leaves_out():
    counts = {k: sum(e["kind"] == k for e in _json("--kind", "all")) for k in ERRATUM_KINDS}
    out = _run()
    assert f"error ({counts['error']}): the workbook is wrong" in out
    labels = re.findall(r"^(?:exercise [\d.]+|chapter \d+ introduction) \((\w+), \w+\)$", out, re.M)
    assert labels == ["error"] * counts["error"]
    assert (f"Not listed: {counts['ambiguity']} ambiguity, {counts['unit_convention']} unit_convention, "
            f"{counts['note']} note (grade errata --kind all).") in out
    assert "exercise 7.1" not in out and "exercise 2.2 (error, answer)" in out


def test_kind_all_groups_the_table_by_kind():
    out = _run("--kind", "all")
    headings = [m.group(1) for m in re.finditer(r"^(\w+) \(\d+\): ", out, re.M)]
    assert headings == list(ERRATUM_KINDS)
    sections = re.split(r"^\w+ \(\d+\): .*$", out, flags=re.M)[1:]
    for kind, section in zip(ERRATUM_KINDS, sections, strict=True):
        labels = re.findall(r"^(?:exercise [\d.]+|chapter \d+ introduction) \((\w+), \w+\)$", section, re.M)
        assert labels and set(labels) == {kind}
    assert "Not listed" not in out


def test_kind_option_selects_and_json_carries_the_kind():
    for kind in ("note", "unit_convention", "ambiguity"):
        entries = _json("--kind", kind)
        assert {e["item"] for e in entries} == {i for i, k in NOT_ERRORS.items() if k == kind}
        assert all(e["kind"] == kind and e["about"] for e in entries)
    both = _json("--kind", "note", "--kind", "ambiguity")
    assert {e["kind"] for e in both} == {"note", "ambiguity"}


def test_unknown_kind_option_is_refused_with_the_choices():
    result = CliRunner().invoke(main, ["errata", "--kind", "mistake"])
    assert result.exit_code == 2
    assert "'mistake' is not one of 'error', 'ambiguity', 'unit_convention', 'note', 'all'" in result.output


def test_help_says_what_each_kind_means():
    out = CliRunner().invoke(main, ["errata", "--help"]).output
    for kind in ERRATUM_KINDS:
        assert kind in out
    assert "unit_convention: a unit written by another established convention" in " ".join(out.split())


def test_the_reviewed_conventions_and_notes_are_not_errors(bank: Bank):
    for item_id, kind in NOT_ERRORS.items():
        kinds = [e.kind for e in bank.items[item_id].errata]
        assert kind in kinds, (item_id, kinds)
    assert [e.kind for e in bank.items["0.4"].errata] == ["unit_convention", "error"]
    assert [e.kind for e in bank.items["4.5"].errata] == ["unit_convention", "error"]
    assert [e.kind for e in bank.items["0.5"].errata] == ["ambiguity", "error"]


def test_duplicates_are_merged(bank: Bank):
    assert bank.items["6.2"].errata == ()  # the chapter 6 introduction's Chinchilla erratum covers it
    chinchilla = [e for e in bank.chapter(6).errata if "70B" in e.workbook]
    assert len(chinchilla) == 1 and "Exercise 6.2" in chinchilla[0].workbook
    assert len(bank.items["6.3"].errata) == 1 and "0.18" in bank.items["6.3"].errata[0].correct
    weights = [e for e in bank.chapter(7).errata if "32 GB" in e.workbook]
    assert len(weights) == 1 and "KV cache" in weights[0].workbook


def test_corrected_texts_agree_with_the_arithmetic(bank: Bank):
    shorter = bank.items["0.4"].errata[1].correct
    fewer = 1 - 3.17 / 3.94  # characters per token, Llama 2's 32K vs Llama 3's 128K tokenizer
    assert "15%" not in shorter and "3.17" in shorter and "3.94" in shorter
    assert f"about {round(fewer * 100, -1):.0f}% fewer" in " ".join(shorter.split())
    kib = bank.items["4.5"].errata[0].why
    assert "KB (1000 bytes)" not in kib and "KB = 1024 bytes" in kib
    note = bank.items["7.1"].errata[0]
    assert math.isclose(16 * 4.29, 68.64) and "68.64" in note.why


def _validate(bank_copy: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", "--bank", str(bank_copy), "--samples", "1"])
    return result.exit_code, result.output


@pytest.mark.parametrize("where, change, message", [
    ("item", lambda e: e.pop("kind"), "item 1.4: $.errata[0]: 'kind' is a required property"),
    ("item", lambda e: e.update(kind="mistake"),
     "item 1.4: $.errata[0].kind: 'mistake' is not one of ['error', 'ambiguity', 'unit_convention', 'note']"),
    ("chapter", lambda e: e.pop("kind"), "$.errata[0]: 'kind' is a required property"),
    ("chapter", lambda e: e.update(kind="units"),
     "$.errata[0].kind: 'units' is not one of ['error', 'ambiguity', 'unit_convention', 'note']"),
])
def test_missing_or_unknown_kind_is_a_validate_problem(bank_copy, where, change, message):
    name = "ch01_resource_accounting.yaml" if where == "item" else "ch07_inference_kv_cache.yaml"
    edit_yaml(bank_copy, name,
              lambda doc: change((item_in(doc, "1.4") if where == "item" else doc)["errata"][0]))
    code, output = _validate(bank_copy)
    assert code == 1
    assert message in output
    assert "Traceback" not in output


def test_bank_format_states_the_current_counts():
    counts = {k: sum(e["kind"] == k for e in _json("--kind", "all")) for k in ERRATUM_KINDS}
    text = " ".join((Path(__file__).parents[1] / "docs" / "bank-format.md").read_text().split())
    assert (f"The bank records {sum(counts.values())} errata: {counts['error']} errors, "
            f"{counts['ambiguity']} ambiguity, {counts['unit_convention']} unit conventions and "
            f"{counts['note']} notes.") in text
