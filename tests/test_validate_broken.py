"""`grade validate` fails clearly, with file, item and path, on a broken bank copy."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from tests.bank_edits import edit_yaml, item_in


def _validate(bank_dir: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", "--bank", str(bank_dir), "--samples", "3"])
    return result.exit_code, result.output


def test_shipped_bank_passes(bank_copy):
    code, output = _validate(bank_copy)
    assert code == 0, output
    assert "Bank OK: 51 items in 10 chapters" in output


def test_schema_violation_names_file_item_and_path(bank_copy):
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml",
          lambda d: item_in(d, "1.3")["answer"].update(tolerance={"relative": "tight"}))
    code, output = _validate(bank_copy)
    assert code == 1
    assert "ch01_resource_accounting.yaml: item 1.3: $.answer.tolerance.relative" in output
    assert "'tight' is not of type 'number'" in output


def test_missing_required_field_is_reported(bank_copy):
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml", lambda d: item_in(d, "1.5").pop("hints"))
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 1.5" in output and "'hints' is a required property" in output


def test_solver_that_raises_is_reported(bank_copy):
    def zero_tokens(doc):
        params = item_in(doc, "0.2")["params"]
        name = next(n for n in params if "token" in n)
        params[name]["default"] = 0
        params[name].pop("range", None)
    edit_yaml(bank_copy, "ch00_tokenization.yaml", zero_tokens)
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 0.2" in output and "ZeroDivisionError" in output


def test_solver_disagreeing_with_workbook_without_erratum_is_reported(bank_copy):
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml",
          lambda d: item_in(d, "1.1").update(workbook_answer={"value": 99999, "unit": "MFLOP"}))
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 1.1: $.workbook_answer: solver gives 34359.7 MFLOPs but the workbook says 99999" \
        in output


def test_disagreement_with_an_erratum_is_accepted(bank_copy):
    def with_erratum(doc):
        item = item_in(doc, "1.1")
        item["workbook_answer"] = {"value": 99999, "unit": "MFLOP"}
        item["errata"] = [{"kind": "error", "about": "answer", "workbook": "99999", "correct": "34,360",
                           "why": "test"}]
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml", with_erratum)
    assert _validate(bank_copy)[0] == 0


def test_duplicate_id_is_reported(bank_copy):
    def duplicate(doc):  # a deep copy: shared values would be dumped as anchors, which are refused
        doc["items"].append(copy.deepcopy(item_in(doc, "1.1")))
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml", duplicate)
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 1.1: duplicate id" in output


def test_unknown_unit_and_undeclared_placeholder_are_reported(bank_copy):
    def break_it(doc):
        item_in(doc, "1.3")["answer"]["unit"] = "furlongs"
        item_in(doc, "1.1")["prompt"] += " Also {q}."
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml", break_it)
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 1.3: $.answer.unit: answer unit: unknown unit 'furlongs'" in output
    assert "item 1.1: $.prompt: uses undeclared quantity(s): q" in output


def test_solver_outside_the_solutions_package_is_rejected(bank_copy):
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml",
          lambda d: item_in(d, "1.1").update(solver="os:system"))
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 1.1: $.solver" in output and "does not match" in output


def test_known_mistake_equal_to_the_answer_is_reported(bank_copy):
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml",
          lambda d: item_in(d, "1.3")["known_mistakes"].append(
              {"label": "same", "factor": 1.001, "feedback": "x"}))
    code, output = _validate(bank_copy)
    assert code == 1
    assert "known mistake 'same' is accepted as correct on defaults" in output


def test_two_known_mistakes_that_coincide_are_reported(bank_copy):
    """A student who made the second mistake would be told about the first."""
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml",
          lambda d: item_in(d, "1.3")["known_mistakes"].append(
              {"label": "weights only, rounded", "factor": 0.126, "feedback": "x"}))
    code, output = _validate(bank_copy)
    assert code == 1
    assert ("item 1.3: $.known_mistakes: known mistakes 'bf16 weights only' and 'weights only, "
            "rounded' coincide on defaults: one would get the other's feedback") in output


def test_item_without_an_id_is_located_by_index(bank_copy):
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml", lambda d: item_in(d, "1.2").pop("id"))
    code, output = _validate(bank_copy)
    assert code == 1
    assert "ch01_resource_accounting.yaml: $.items[1]: 'id' is a required property" in output


def test_invalid_yaml_and_missing_code_file_are_reported(bank_copy):
    (bank_copy / "ch01_resource_accounting.yaml").write_text("chapter: 1\nitems: [\n")
    (bank_copy.parent / "solutions/code/count_pairs.py").unlink()
    code, output = _validate(bank_copy)
    assert code == 1
    assert "ch01_resource_accounting.yaml: invalid YAML: line" in output
    assert "item 0.6: $.code.reference: reference file solutions/code/count_pairs.py does not exist" \
        in output


def test_grade_validate_exit_codes_from_the_installed_command(bank_copy):
    ok = subprocess.run([sys.executable, "-m", "grader", "validate", "--bank", str(bank_copy),
                         "--samples", "2"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml", lambda d: d.pop("title"))
    bad = subprocess.run([sys.executable, "-m", "grader", "validate", "--bank", str(bank_copy)],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "'title' is a required property" in bad.stderr


def test_parameter_constraints_are_checked(bank_copy):
    def constrain(doc):
        item_in(doc, "2.4")["constraints"] = ["n_kv_heads divides n_query_heads"]  # no such parameter
        item_in(doc, "2.1")["constraints"] = ["n_layers > 1000"]  # the defaults break it
    edit_yaml(bank_copy, "ch02_architecture.yaml", constrain)
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 2.4" in output and "names unknown parameter(s) n_query_heads" in output
    assert "item 2.1" in output and "the defaults break n_layers > 1000" in output


def test_a_constraint_outside_the_grammar_is_refused(bank_copy):
    edit_yaml(bank_copy, "ch02_architecture.yaml",
              lambda d: item_in(d, "2.3").update(constraints=["d equals 4"]))
    code, output = _validate(bank_copy)
    assert code == 1 and "item 2.3: $.constraints[0]" in output


def test_constraints_that_only_the_defaults_keep_leave_no_variant(bank_copy):
    pinned = ["r_win >= 3", "r_win <= 3", "r_lose >= 1.5", "r_lose <= 1.5"]
    edit_yaml(bank_copy, "ch08_alignment_math.yaml", lambda d: item_in(d, "8.1").update(constraints=pinned))
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 8.1" in output and "no usable variant" in output


def test_a_broken_kernel_section_is_reported(bank_copy):
    def change(doc):
        task = next(t for t in doc["tasks"] if t["id"] == "matmul")
        task["flops"] = "2 * M * N * Q"
        task["items"] = ["1.1", "99.9"]
        next(t for t in doc["tasks"] if t["id"] == "softmax")["mutants"].append(
            "solutions/kernels/mutants/softmax/missing.py")
    edit_yaml(bank_copy, "kernels/kernels.yaml", change)
    code, output = _validate(bank_copy)
    assert code == 1
    assert "unknown name 'Q' in formula '2 * M * N * Q'" in output
    assert "softmax: solutions/kernels/mutants/softmax/missing.py does not exist" in output
    edit_yaml(bank_copy, "kernels/kernels.yaml",
          lambda d: next(t for t in d["tasks"] if t["id"] == "matmul").update(flops="2 * M * N * K"))
    code, output = _validate(bank_copy)
    assert "matmul: item 99.9 is not in the bank" in output


def test_a_kernel_section_against_its_schema_is_located(bank_copy):
    edit_yaml(bank_copy, "kernels/kernels.yaml", lambda d: d["tasks"][0].update(bound="latency"))
    code, output = _validate(bank_copy)
    assert code == 1 and "kernels/kernels.yaml: $.tasks[0].bound: 'latency' is not one of" in output


def test_a_missing_bank_folder_says_where_grade_looks(tmp_path: Path):
    code, output = _validate(tmp_path / "nowhere")
    assert code == 1 and "no such folder" in output and "uses the bank it ships" in output
    (tmp_path / "empty").mkdir()
    code, output = _validate(tmp_path / "empty")
    assert code == 1 and "no chapter files (*.yaml) found" in output


@pytest.mark.parametrize("command", [["list"], ["show", "1.1"], ["init", "WS"], ["errata"]])
def test_a_bank_that_is_not_there_stops_a_command_instead_of_an_empty_result(tmp_path, monkeypatch, command):
    """A mistyped $GRADE_BANK or --bank once listed 0 items, or made an empty workspace, and
    exited 0."""
    args = [str(tmp_path / "ws") if a == "WS" else a for a in command]
    monkeypatch.setenv("GRADE_BANK", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and f"$GRADE_BANK {tmp_path / 'nowhere'}: no such folder" in result.output
    monkeypatch.delenv("GRADE_BANK")
    result = CliRunner().invoke(main, [*args, "--bank", str(tmp_path)])
    assert result.exit_code == 1 and f"--bank {tmp_path}: no chapter files" in result.output
    assert not (tmp_path / "ws").exists()


def test_a_trace_answer_that_stands_out_by_its_length_is_reported(bank_copy):
    """"Pick the longest option" once scored 9/9: the answer may be at most 1.3x the longest distractor."""
    def pad_the_answer(doc):
        options = item_in(doc, "6.4")["options"]
        answer = next(o for o in options if o.get("correct"))
        answer["text"] += (" Hoffmann et al. fitted this U for nine budgets, and the minima of the nine"
                           " curves lie on N* ~ C^0.5.")
    edit_yaml(bank_copy, "ch06_scaling_laws.yaml", pad_the_answer)
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 6.4: $.options[3].text: the correct option is 1.45x as long as the longest distractor" \
           " (at most 1.3x)" in output
    assert output.count("as long as the longest distractor") == 1


def test_design_steps_worth_more_than_a_third_as_shown_are_reported(bank_copy, monkeypatch):
    """The shuffle the bank used to show everyone: 2.5 handed in as shown earned 0.67, 9.4 0.5. The
    bank's YAML cannot plant such an order (``fair_shuffle`` never draws one), so the old shuffle does."""
    from grader.rules.ordering import shuffled_order

    monkeypatch.setattr("grader.model.bank.fair_shuffle",
                        lambda order, salt, rule: shuffled_order(order, salt))
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 2.5: $.steps: the steps handed in as shown earn 0.67 of the credit under partial_credit" \
           " 'lcs' (at most 0.33)" in output
    assert "item 9.4: $.steps: the steps handed in as shown earn 0.50 of the credit" in output
