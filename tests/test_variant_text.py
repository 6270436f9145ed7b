"""Text that follows the variant (issue 18, item 1): every number a student reads in a derive
item (title, prompt, hints, worked solution, known-mistake feedback) is rendered from their
variant or declared fixed, stated facts hold, and `grade validate` refuses what breaks that."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import yaml

from grader.items.instance import grade_response, instantiate
from grader.model.bank import Bank, Item
from grader.model.constraints import broken
from grader.model.render import PLACEHOLDER, Display
from grader.model.text import quantities, text_fields
from grader.responses.expression import ExpressionError, evaluate
from grader.workspace.manifest import read_manifest
from tests.bank_edits import edit_yaml, item_in
from tests.workspace_helpers import check_json, grade, write_answers

pytestmark = pytest.mark.slow  # end to end: grade validate and grade assign over the whole bank

STUDENTS = [f"s{n:02d}" for n in range(30)]
NUMBER = r"-?[0-9][0-9,]*(?:\.[0-9]+)?(?: x 10\^-?[0-9]+)?"  # how a quantity prints
LITERAL = re.compile(r"(?<![\w.])(?<![A-Za-z]-)\d(?:[\d,]*\d)?(?:\.\d+)?(?![\d.,]*\^)")


# ----------------------------------------------------------------------------- helpers


def _validate(bank_dir: Path, *args: str) -> tuple[int, str]:
    result = grade("validate", "--bank", bank_dir, *args)
    return result.exit_code, result.output


def shown_value(text: str) -> float:
    """'2.03 x 10^20' -> 2.03e20; '34,360' -> 34360 (read independently of the renderer)."""
    mantissa, _, exponent = text.partition(" x 10^")
    return float(mantissa.replace(",", "")) * 10.0 ** int(exponent or 0)


def shown_tolerance(text: str) -> float:
    """Half a unit of the last digit shown: '0.82' -> 0.005, '34,360' -> 5, '2.03 x 10^20' -> 5e17."""
    mantissa, _, exponent = text.partition(" x 10^")
    digits = mantissa.replace(",", "").lstrip("-")
    if "." in digits:
        step = 10.0 ** -len(digits.split(".")[1])
    else:
        stripped = digits.rstrip("0")
        step = 10.0 ** (len(digits) - len(stripped)) if stripped else 1.0
    return 0.5 * step * 10.0 ** int(exponent or 0)


def placeholder_values(template: str, rendered: str) -> list[tuple[str, str]]:
    """(name, the text it rendered as) for every placeholder, by aligning the template with the
    rendered text; fails unless each placeholder became a number."""
    parts = PLACEHOLDER.split(template)
    pattern = "".join(re.escape(p) if i % 2 == 0 else f"({NUMBER})" for i, p in enumerate(parts))
    match = re.fullmatch(pattern, rendered, flags=re.S)
    assert match is not None, (template, rendered)
    return list(zip(parts[1::2], match.groups(), strict=True))


def states(token: str, value: float) -> bool:
    """Whether a literal written as ``token`` states ``value``: exactly, or (3 or more
    significant digits) rounded to the token's digits."""
    written = float(token.replace(",", ""))
    if written == value:
        return True
    digits = len(token.replace(",", "").replace(".", "").strip("0"))
    return digits >= 3 and value != 0 and math.isclose(written, float(f"{value:.{digits}g}"), rel_tol=1e-9)


def default_only_numbers(item: Item, params: dict[str, float], answer: float, default_answer: float
                         ) -> list[str]:
    """Literal numbers in the item's text that state a default this variant does not have."""
    stale = {name: p.default for name, p in item.params.items() if params[name] != p.default}
    if not math.isclose(answer, default_answer, rel_tol=1e-6):
        stale["answer"] = default_answer
    found = []
    for where, template in text_fields(item):
        for token in LITERAL.findall(PLACEHOLDER.sub(" ", template)):
            if float(token.replace(",", "")) in item.fixed_numbers:
                continue
            found += [f"{where}: {token} is the default {name}" for name, value in stale.items()
                      if states(token, value)]
    return found


def flat(text: str) -> str:
    """Comment text with its '#' prefixes and line wrapping removed."""
    lines = (line.lstrip("#").strip() for line in text.splitlines())
    return " ".join(" ".join(lines).split())


def release(tmp_path: Path, mode: str = "graded", students: list[str] = STUDENTS,
            items: object = None) -> Path:
    folder = tmp_path / "spec"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "roster.txt").write_text("student_id\n" + "\n".join(students) + "\n")
    spec = folder / "ps.yaml"
    spec.write_text(yaml.safe_dump({"name": "variants", "mode": mode, "variants": "per-student",
                                    "roster": "roster.txt", "items": items or [{"type": "derive"}]}))
    out = tmp_path / "release"
    result = grade("assign", spec, "--out", out)
    assert result.exit_code == 0, result.output
    return out


# ----------------------------------------------------------------------------- a release


def test_a_release_of_30_students_reads_true_for_every_item(tmp_path, bank: Bank):
    out = release(tmp_path)
    keys = json.loads((out / "instructor/keys.json").read_text())
    derive = [i for i in bank.items.values() if i.type == "derive"]
    assert sorted(keys) == STUDENTS and len(derive) == 38
    defaults = {i.id: keys_answer(i) for i in derive}
    varied = 0
    for student in STUDENTS:
        folder = out / "students" / student
        manifest = read_manifest(folder / "grade.yaml")
        answers_file = (folder / "answers.yaml").read_text("utf-8")
        assert "{" not in answers_file.replace("{}", ""), student  # no placeholder left
        sheet = flat(answers_file)
        for item in derive:
            params = dict(manifest.item(item.id).params)
            answer = keys[student][item.id]["answer"]
            text = instantiate(item, params).text
            # what the student's answers.yaml shows is the prompt at their own numbers
            assert flat(text.prompt) in sheet, (student, item.id)
            assert f"{item.id}  {item.title}  [derive" in answers_file
            # every placeholder shows the variant's value: parameters as grade.yaml holds them,
            # the answer as the key says, other quantities as computed at these parameters
            values, _ = quantities(item, params)
            rendered = [text.title, text.prompt, *text.hints, text.derivation, *text.feedback]
            for (where, template), shown in zip(text_fields(item), rendered, strict=True):
                for name, written in placeholder_values(template, shown):
                    derived = item.derived.get(name)
                    truth = (params[name] if name in params else
                             answer if name == "answer" or (derived and derived.expr == "answer")
                             else values[name])
                    error = abs(shown_value(written) - truth)
                    assert error <= shown_tolerance(written) + 1e-9 * abs(truth), \
                        (student, item.id, where, name, written, truth)
            # no number of the bank's default remains where this variant differs
            assert default_only_numbers(item, params, answer, defaults[item.id]) == [], (student, item.id)
            # the relations the text states hold
            assert broken(item.facts, values) == [], (student, item.id, params)
            # what grading says about a known mistake is a mistake's feedback at these numbers
            # (the one it matched: two mistakes may coincide within the tolerance)
            told = dict(zip((m.label for m in item.known_mistakes), text.feedback, strict=True))
            for mistake in item.known_mistakes:
                result = grade_response(item, _known_wrong_answer(item, params, mistake.label), params)
                assert told[str(result.matched)] in "\n".join(result.feedback), (student, item.id)
            varied += params != item.defaults()
    assert varied == len(STUDENTS) * len(derive)  # every student got their own numbers everywhere


def keys_answer(item: Item) -> float:
    values, _ = quantities(item)
    return values["answer"]


def _known_wrong_answer(item: Item, params: dict[str, float], label: str) -> float:
    from grader.items.instance import numeric_key

    key = numeric_key(item, params)
    wrong = next(value for lab, _fb, value in key.mistakes if lab == label)
    return wrong / key.asked_unit().factor


def test_the_chinchilla_budget_spends_what_the_text_says(tmp_path, bank: Bank):
    """1.6 once paired a 10^22 budget with a 59B model on 1,180B tokens (4.2 x 10^23 FLOPs):
    the budget now follows from the model, so 6ND fits in it for every student."""
    out = release(tmp_path, items=["1.6"])
    keys = json.loads((out / "instructor/keys.json").read_text())
    for student in STUDENTS:
        prompt = flat((out / "students" / student / "answers.yaml").read_text("utf-8"))
        budget_exp = int(re.search(r"budget of 10\^(\d+) FLOPs", prompt).group(1))
        n_b = shown_value(re.search(r"settled on an? ([\d.,]+)-billion-parameter", prompt).group(1))
        d_b = keys[student]["1.6"]["answer"]
        assert 6 * n_b * 1e9 * d_b * 1e9 <= 10.0 ** budget_exp, (student, n_b, d_b, budget_exp)


def test_a_practice_variant_shows_its_own_numbers_in_feedback_hints_and_solution(tmp_path, bank: Bank):
    out = release(tmp_path, mode="practice", students=["ann"], items=["1.3", "1.6"])
    ws = out / "students/ann"
    params = {i: dict(read_manifest(ws / "grade.yaml").item(i).params) for i in ("1.3", "1.6")}
    item = bank.items["1.6"]
    quantities_16, displays = quantities(item, params["1.6"])
    pct = displays["budget_pct"].format(quantities_16["budget_pct"])
    write_answers(ws, {"1.6": f"{_known_wrong_answer(item, params['1.6'], 'spent the whole budget')!r} "
                             "billion tokens", "1.3": "1 GB"})
    result = grade("check", ws)
    assert result.exit_code == 0, result.output
    assert f"{pct}% of the budget" in flat(result.output)  # the known mistake's feedback, as printed
    assert "Hint 1/3" in result.output
    size = params["1.3"]["n_params_b"]
    total = quantities(bank.items["1.3"], params["1.3"])[0]["answer"]
    write_answers(ws, {"1.3": f"{total!r} GB"})
    report = check_json(ws)
    derivation = report["items"]["1.3"]["feedback"]
    assert f"x {Display().format(size)} x 10^9 params" in derivation
    assert " 7 x 10^9" not in derivation and "112 GB" not in derivation


# ----------------------------------------------------------------------------- grade validate


def test_validate_samples_100_variants_per_item_by_default(bank_copy):
    code, output = _validate(bank_copy)
    assert code == 0, output
    assert "100 variants per derive item" in output


def test_a_default_written_as_a_literal_is_refused(bank_copy):
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml", lambda d: item_in(d, "1.3").update(
        derivation=item_in(d, "1.3")["derivation"].replace("x {n_params_b} x 10^9", "x 7 x 10^9")))
    code, output = _validate(bank_copy)
    assert code == 1
    assert ("item 1.3: $.derivation: '7' is the default of n_params_b (7), which changes between "
            "variants: write {n_params_b}") in output


def test_a_default_answer_written_out_is_refused_and_fixed_numbers_let_a_literal_stay(bank_copy):
    def quote_the_answer(doc):
        item = item_in(doc, "1.1")
        item["hints"] = [*item["hints"], "For 1024 x 4096 x 4096 that is 34.4 GFLOPs."]
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml", quote_the_answer)
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 1.1: $.hints[3]: '34.4' is the default of answer" in output
    assert "item 1.1: $.hints[3]: '1024' is the default of m" in output
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml",
          lambda d: item_in(d, "1.1").update(fixed_numbers=[1024, 4096, 34.4]))
    code, output = _validate(bank_copy)
    assert code == 0, output


def test_facts_that_a_sampled_variant_breaks_are_refused(bank_copy):
    """1.6 with the budget drawn apart from the model: the text's 6ND no longer fits it."""
    def fixed_budget(doc):
        del item_in(doc, "1.6")["params"]["budget_exp"]["expr"]
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml", fixed_budget)
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 1.6: $.facts: a sampled variant contradicts itself: the text states run_flops <= budget" \
        in output


@pytest.mark.parametrize(("field", "text", "message"), [
    ("title", "AdamW memory for {n_params_b}B", "$.title: a title is the same for every variant"),
    ("prompt", "How much? ({total_gb} GB)", "$.prompt: total_gb reveal(s) the answer: only the derivation"),
    ("prompt", "How much for {n_params}?", "$.prompt: uses undeclared quantity(s): n_params"),
])
def test_placeholders_a_text_may_not_show_are_refused(bank_copy, field, text, message):
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml", lambda d: item_in(d, "1.3").update({field: text}))
    code, output = _validate(bank_copy)
    assert code == 1
    assert f"item 1.3: {message}" in output


def test_bad_derived_quantities_and_computed_parameters_are_refused(bank_copy):
    def break_them(doc):
        item = item_in(doc, "1.6")
        item["derived"]["run_flops"]["expr"] = "6 * n_params * 10^9"
        item["params"]["budget_exp"]["default"] = 21
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml", break_them)
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 1.6: $.params.budget_exp: default 21 is not its expr at the defaults (22)" in output
    assert ("item 1.6: $.derived.run_flops: uses n_params, which is not a parameter, 'answer' or a "
            "quantity declared above it") in output


def test_a_derived_expression_is_read_by_the_safe_grammar_only(bank_copy):
    edit_yaml(bank_copy, "ch01_resource_accounting.yaml",
          lambda d: item_in(d, "1.6")["derived"].update(tokens_b={"expr": "__import__(os)"}))
    code, output = _validate(bank_copy)
    assert code == 1
    assert "item 1.6: $.derived.tokens_b: uses __import__, os, which is not a parameter" in output


# ----------------------------------------------------------------------------- the pieces


def test_bank_expressions_know_names_and_a_few_functions_and_nothing_else():
    names = {"n": 3.0, "budget": 1e22}
    assert evaluate("sqrt(budget / (6 * 20)) / 10^9", names) == pytest.approx(9.1287, rel=1e-4)
    assert evaluate("ceil(log10(2 * 120 * n^2 * 10^18))", names) == 22
    for text, why in [("m * 2", "unknown name 'm'"), ("open(1)", "unknown function 'open'"),
                      ("log10(0)", "log10(0) is not defined"), ("n n", "unexpected 'n'")]:
        with pytest.raises(ExpressionError, match=re.escape(why)):
            evaluate(text, names)


def test_students_answers_still_get_no_names():
    from grader.responses.expression import parse_expression

    assert parse_expression("3 x 10^4 GB").rest == "GB"
    with pytest.raises(ExpressionError, match="function calls are not allowed"):
        parse_expression("sqrt(4)")


@pytest.mark.parametrize(("display", "value", "text"), [
    (Display(digits=3), 34359.738, "34,400"), (Display(digits=5), 34359.738, "34,360"),
    (Display(digits=3), 0.25, "0.25"), (Display(digits=4), 2.0281, "2.028"),
    (Display(decimals=2), 4.0, "4.00"), (Display(scientific=True, digits=3), 2.028e20, "2.03 x 10^20"),
    (Display(scientific=True), 6.4551e-9, "6.46 x 10^-9"), (Display(), 32000.0, "32,000"),
])
def test_displays_print_as_people_write_numbers(display, value, text):
    assert display.format(value) == text
