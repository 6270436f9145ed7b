"""`grade init`, `grade check` and `grade progress` as a student runs them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from grader.core.paths import COURSE_ROOT
from grader.items.instance import instantiate, key_entry
from grader.responses.answers_file import parse_answers
from grader.workspace.manifest import read_manifest
from tests.answer_forms import in_asked_unit, in_other_unit
from tests.workspace_helpers import CHECKOUT, check_json, grade, write_answers

CODE_IDS = {"0.6", "3.5"}
STATUS_KEYS = {"status", "score", "max_score", "feedback"}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    result = grade("init", folder)
    assert result.exit_code == 0, result.output
    return folder


def reference_answers(bank, form=in_asked_unit) -> dict[str, object]:
    """What a student who solved everything writes, for every non-code item."""
    out: dict[str, object] = {}
    for item_id, item in bank.items.items():
        if item.type == "derive":
            out[item_id] = form(item)
        elif item.type in ("trace", "design"):
            out[item_id] = key_entry(item)["answer"]
    return out


# -- init ---------------------------------------------------------------------------------
def test_init_writes_every_item_with_its_prompt_and_answer_format(ws: Path, bank):
    sheet = parse_answers((ws / "answers.yaml").read_text("utf-8"))
    assert set(sheet.answers) == set(bank.items) - CODE_IDS
    assert all(v is None for v in sheet.answers.values())
    text = (ws / "answers.yaml").read_text("utf-8")
    for item in bank.items.values():
        assert f"# {item.id}  {item.title}" in text
        first_line = instantiate(item).prompt.splitlines()[0]
        assert first_line.split()[0] in text
    assert "#  Answer in MFLOPs (checked within 1%)." in text
    assert "#  Answer with X in X x 10^23 FLOPs (checked to 2 decimal places)." in text
    assert "#    A. " in text and "#  Options (answer with one id, e.g. B):" in text
    assert "#  Steps (answer with all 4 letters in your order, e.g. ABCD or [A, B, C, D]):" in text
    assert "Write your code in count_pairs/count_pairs.py" in text


def test_init_copies_code_templates_and_writes_a_valid_manifest(ws: Path, bank):
    manifest = read_manifest(ws / "grade.yaml")
    assert manifest.mode == "practice" and len(manifest.items) == 51
    assert [i.id for i in manifest.items] == list(bank.items)
    for name in ("count_pairs/count_pairs.py", "count_pairs/test_count_pairs_public.py",
                 "moe_router/moe_router.py", "moe_router/test_moe_router_public.py"):
        assert (ws / name).read_bytes() == (COURSE_ROOT / "student_templates" / name).read_bytes()
    doc = yaml.safe_load((ws / "grade.yaml").read_text("utf-8"))
    allowed = {"id", "type", "chapter", "title", "points", "unit", "params", "select", "options", "files"}
    assert all(set(entry) <= allowed for entry in doc["items"])  # nothing that reveals an answer
    assert "practice" in (ws / "README.md").read_text("utf-8")


def test_init_selects_chapters_and_items(tmp_path: Path):
    result = grade("init", tmp_path / "w", "--chapter", "3", "--items", "1.1,9.4", "--items", "0.2")
    assert result.exit_code == 0, result.output
    ids = [i.id for i in read_manifest(tmp_path / "w" / "grade.yaml").items]
    assert ids == ["0.2", "1.1", "3.1", "3.2", "3.3", "3.4", "3.5", "9.4"]
    assert (tmp_path / "w" / "moe_router" / "moe_router.py").exists()
    assert not (tmp_path / "w" / "count_pairs").exists()


@pytest.mark.parametrize("args, message", [
    (["--chapter", "12"], "no chapter 12"), (["--items", "1.1,7.9"], "no item '7.9'"),
])
def test_init_refuses_unknown_selections(tmp_path: Path, args, message):
    result = grade("init", tmp_path / "w", *args)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "w").exists()


def test_init_never_overwrites_a_folder_in_use(ws: Path):
    write_answers(ws, {"1.1": "34360"})
    before = (ws / "answers.yaml").read_bytes()
    result = grade("init", ws)
    assert result.exit_code == 2 and "not an empty folder" in result.output
    assert (ws / "answers.yaml").read_bytes() == before


# -- check: correct, other units, wrong ---------------------------------------------------
def _assert_contract(doc: dict) -> None:
    assert set(doc) >= {"total", "max_total", "items"}
    assert isinstance(doc["total"], float) and isinstance(doc["max_total"], float)
    for entry in doc["items"].values():
        assert set(entry) == STATUS_KEYS
        assert entry["status"] in {"correct", "partial", "incorrect", "unanswered", "error"}
        assert isinstance(entry["score"], float) and isinstance(entry["feedback"], str)
        assert 0 <= entry["score"] <= entry["max_score"]
    assert doc["total"] == pytest.approx(sum(e["score"] for e in doc["items"].values()))
    assert doc["max_total"] == pytest.approx(sum(e["max_score"] for e in doc["items"].values()))


@pytest.mark.parametrize("form", [in_asked_unit, in_other_unit], ids=["asked-unit", "other-prefix"])
def test_reference_answers_are_all_correct(ws: Path, bank, form):
    write_answers(ws, reference_answers(bank, form))
    doc = check_json(ws)
    _assert_contract(doc)
    wrong = {i: e["feedback"] for i, e in doc["items"].items() if e["status"] != "correct"}
    assert set(wrong) == CODE_IDS, wrong
    assert doc["total"] == 49.0 and doc["max_total"] == 51.0
    for code_id in CODE_IDS:
        assert doc["items"][code_id]["status"] == "unanswered"
        assert "Not started" in doc["items"][code_id]["feedback"]
    assert "Worked solution: " in doc["items"]["1.1"]["feedback"]


def test_text_forms_from_the_issue_are_read(ws: Path):
    # 1.1 asks MFLOP; 34,359,738,368 FLOPs written in every accepted way
    for text in ("34,360", "3.436e4", "3.436 x 10^4", "3.436×10^4", "2*1024*4096*4096/10^6",
                 "34.36 GFLOPs", "2^35 FLOP"):
        write_answers(ws, {"1.1": text})
        assert check_json(ws, "--item", "1.1")["items"]["1.1"]["status"] == "correct", text
    write_answers(ws, {"0.2": "1/4 chars/token"})  # 1200 chars / 300 tokens = 4; 1/4 is wrong
    assert check_json(ws, "--item", "0.2")["items"]["0.2"]["status"] == "incorrect"


def test_wrong_answers_are_incorrect(ws: Path, bank):
    answers: dict[str, object] = {}
    for item_id, item in bank.items.items():
        entry = key_entry(item)
        if item.type == "derive":
            answers[item_id] = repr(entry["answer"] * 3.7 + 1)
        elif item.type == "trace":
            right = entry["answer"] if isinstance(entry["answer"], list) else [entry["answer"]]
            answers[item_id] = next(o.id for o in item.options if o.id not in right)
        elif item.type == "design":
            answers[item_id] = list(reversed(entry["answer"]))
    write_answers(ws, answers)
    doc = check_json(ws)
    statuses = {i: doc["items"][i]["status"] for i in answers}
    assert set(statuses.values()) == {"incorrect"}, statuses
    assert doc["total"] == 0.0


# -- unreadable input ---------------------------------------------------------------------
UNREADABLE = {
    "0.1": ("3,4.5", "could not read '3,4.5' as a number: a comma may only separate"),
    "0.2": ("__import__('os').system('touch pwned')", "function calls are not allowed"),
    "0.3": ("nan", "not a finite number"),
    "0.5": ("-inf", "not a finite number"),
    "1.1": ("9**9**9", "too large"),
    "1.2": ("1" * 10_000, "too long (10000 characters"),
    "1.3": ("٣٤٣٦٠", "use the digits 0-9"),
    "1.4": ("{a: 1}", "it is a mapping"),
    "1.6": ("[[1, 2]]", "a list that contains lists"),
    "2.1": ("true", "could not read 'true' as a number"),
    "2.2": ("open('/etc/passwd').read()", "function calls are not allowed"),
    "2.3": ("1e999", "exponent is too large"),
    "2.4": ("(1+2", "'(' is not closed"),
    "1.5": ("Z", "unknown option 'Z'"),
    "0.4": ("[A, B]", "Choose exactly one option"),
    "2.5": ("ABA", "Give every step exactly once"),
    "9.4": ("{x: y}", "it is a mapping"),
}


def test_each_unreadable_answer_gets_its_own_message_and_the_rest_still_grade(ws: Path, bank):
    answers = reference_answers(bank)
    write_answers(ws, answers)
    write_answers(ws, {i: text for i, (text, _) in UNREADABLE.items()}, raw=True)
    doc = check_json(ws)
    for item_id, (_, message) in UNREADABLE.items():
        entry = doc["items"][item_id]
        assert entry["status"] == "error", (item_id, entry)
        assert message.lower() in entry["feedback"].lower(), (item_id, entry["feedback"])
    untouched = set(answers) - set(UNREADABLE)
    assert all(doc["items"][i]["status"] == "correct" for i in untouched)
    assert not (ws / "pwned").exists() and not Path("pwned").exists()


def test_an_empty_answer_is_unanswered(ws: Path):
    write_answers(ws, {"1.1": "''", "1.2": "~", "1.3": "[]"}, raw=True)
    doc = check_json(ws)
    assert {doc["items"][i]["status"] for i in ("1.1", "1.2", "1.3", "9.6")} == {"unanswered"}


# -- workspace errors ---------------------------------------------------------------------
def test_unreadable_answers_file_exits_2_with_the_reason(ws: Path):
    (ws / "answers.yaml").write_text('"1.1": [A, B\n', "utf-8")
    result = grade("check", ws)
    assert result.exit_code == 2
    assert "answers.yaml line 1, column 8 is not valid YAML: the bracket [ opened here" in result.output
    as_json = grade("check", ws, "--json")
    assert as_json.exit_code == 2
    assert "not valid YAML" in json.loads(as_json.stdout)["error"]


def test_not_a_workspace_and_bad_manifest_exit_2(tmp_path: Path, ws: Path):
    assert grade("check", tmp_path).exit_code == 2
    assert "not a workspace" in grade("check", tmp_path).output
    doc = yaml.safe_load((ws / "grade.yaml").read_text("utf-8"))
    doc["items"][0]["files"] = ["../../etc/passwd"]
    (ws / "grade.yaml").write_text(yaml.safe_dump(doc), "utf-8")
    result = grade("check", ws)
    assert result.exit_code == 2 and "not a valid workspace manifest: $.items[0]" in result.output


def test_unknown_item_option_is_a_usage_error(ws: Path):
    result = grade("check", ws, "--item", "4.9")
    assert result.exit_code == 2 and "no item '4.9' in this workspace" in result.output


def test_unknown_and_repeated_ids_in_answers_are_warned_about(ws: Path):
    with (ws / "answers.yaml").open("a", encoding="utf-8") as fh:
        fh.write('"7.7": 12\n"1.1": 34360\n')
    doc = check_json(ws)
    assert any("'7.7' is not an item of this workspace" in w for w in doc["warnings"])
    assert any("gives 1.1 more than once" in w for w in doc["warnings"])
    assert doc["items"]["1.1"]["status"] == "correct"


def test_check_finds_the_workspace_from_a_subfolder(ws: Path, monkeypatch):
    write_answers(ws, {"1.1": "34360"})
    monkeypatch.chdir(ws / "count_pairs")
    result = grade("check", "--item", "1.1")
    assert result.exit_code == 0 and "correct" in result.output


# -- feedback, hints and progress --------------------------------------------------------
def test_hints_advance_with_each_new_wrong_answer(ws: Path, bank):
    hints = bank.items["1.1"].hints
    feedback = []
    for answer in ("100", "100", "200", "300", "400"):
        write_answers(ws, {"1.1": answer})
        feedback.append(check_json(ws, "--item", "1.1")["items"]["1.1"]["feedback"])
    assert f"Hint 1/3: {hints[0]}" in feedback[0]
    assert f"Hint 1/3: {hints[0]}" in feedback[1]  # the same answer again: the same hint
    assert f"Hint 2/3: {hints[1]}" in feedback[2]
    assert f"Hint 3/3: {hints[2]}" in feedback[3] and f"Hint 3/3: {hints[2]}" in feedback[4]
    write_answers(ws, {"1.1": "17180"})  # M*K*N: the known mistake keeps its own message
    known = check_json(ws, "--item", "1.1")["items"]["1.1"]["feedback"]
    assert known.startswith("You counted M*K*N.")


def test_terminal_table_shows_totals_and_newly_earned_solutions(ws: Path):
    write_answers(ws, {"1.1": "34360", "1.2": "21"})
    out = grade("check", ws).output
    assert "Chapter 1 · Resource Accounting" in out and "1/6" in out
    assert "Total 1 / 51" in out and "Worked solution 1.1" in out
    again = grade("check", ws).output
    assert "Worked solution 1.1" not in again and "--explain" in again
    assert "Worked solution 1.1" in grade("check", ws, "--explain").output


def test_progress_counts_mastery_per_chapter(ws: Path, bank):
    empty = json.loads(grade("progress", ws, "--json").output)
    assert empty["mastered"] == 0 and empty["total"] == 51
    write_answers(ws, {"1.1": "34360", "1.2": "21", "9.4": key_entry(bank.items["9.4"])["answer"]})
    check_json(ws)
    doc = json.loads(grade("progress", ws, "--json").output)
    assert doc["mastered"] == 2 and doc["answered"] == 3
    ch1 = next(c for c in doc["chapters"] if c["chapter"] == 1)
    assert (ch1["mastered"], ch1["answered"], ch1["total"]) == (1, 2, 6)
    assert "Mastery 2/51" in grade("progress", ws).output
    (ws / ".grade" / "progress.json").write_text("{broken", "utf-8")
    assert "unreadable" in grade("progress", ws).output


def test_bundled_example_workspace_checks_as_documented(tmp_path: Path):
    import shutil

    example = tmp_path / "example"
    shutil.copytree(CHECKOUT / "examples" / "workspace", example)
    doc = check_json(example)
    statuses = {i: e["status"] for i, e in doc["items"].items()}
    assert statuses == {"1.1": "correct", "1.2": "incorrect", "1.3": "correct", "1.4": "correct",
                        "1.5": "unanswered", "1.6": "correct", "2.1": "error", "2.2": "incorrect",
                        "2.3": "unanswered", "2.4": "unanswered", "2.5": "unanswered"}
    assert doc["items"]["2.2"]["feedback"].startswith("You rounded up")
    assert doc["warnings"] == []


# -- the .grade state folder is never used through a link ---------------------------------
def _links(ws: Path, outside: Path) -> dict[str, object]:
    """Ways a workspace's .grade can point outside it."""
    outside.mkdir()
    (outside / "progress.json").write_text("precious", "utf-8")
    return {"folder": lambda: (ws / ".grade").symlink_to(outside, target_is_directory=True),
            "dangling": lambda: (ws / ".grade").symlink_to(outside / "missing"),
            "progress": lambda: ((ws / ".grade").mkdir(), (ws / ".grade/progress.json").symlink_to(
                outside / "progress.json")),
            "cache": lambda: ((ws / ".grade").mkdir(), (ws / ".grade/code_results.json").symlink_to(
                outside / "code_results.json"))}


@pytest.mark.parametrize("kind, linked", [("folder", ".grade"), ("dangling", ".grade"),
                                          ("progress", ".grade/progress.json"),
                                          ("cache", ".grade/code_results.json")])
def test_a_linked_state_folder_is_refused_and_nothing_is_written_through_it(
        tmp_path: Path, ws: Path, kind: str, linked: str):
    outside = tmp_path / "elsewhere"
    _links(ws, outside)[kind]()
    write_answers(ws, {"1.1": "34360"})
    message = f"{ws / linked} is a symbolic link; remove it"
    commands = [("check", ws), ("check", ws, "--json")]
    if kind != "cache":  # grade progress reads progress.json only
        commands += [("progress", ws), ("progress", ws, "--json")]
    for args in commands:
        result = grade(*args)  # an unexpected exception would be raised here, not caught
        assert result.exit_code == 2 and message in result.stderr, (args, result.output)
        if "--json" in args:
            assert message in json.loads(result.stdout)["error"]
    assert sorted(p.name for p in outside.iterdir()) == ["progress.json"]
    assert (outside / "progress.json").read_text("utf-8") == "precious"
    assert (ws / linked).is_symlink()  # refused, not repaired behind the user's back
    (ws / linked).unlink()
    assert grade("check", ws).exit_code == 0 and (ws / ".grade/progress.json").is_file()
    assert sorted(p.name for p in outside.iterdir()) == ["progress.json"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_state_file_that_is_not_a_file_is_refused_without_hanging(ws: Path):
    (ws / ".grade").mkdir()
    os.mkfifo(ws / ".grade/progress.json")  # opening it for reading would wait for a writer
    result = grade("check", ws)
    assert result.exit_code == 2 and "progress.json is not a regular file; remove it" in result.stderr


def test_state_writes_go_through_a_fresh_name_and_never_follow_a_link(tmp_path: Path):
    from grader.core.state import StateError, read_state, write_state

    state = tmp_path / ".grade"
    write_state(state, "progress.json", "one")
    write_state(state, "progress.json", "two")
    assert read_state(state, "progress.json") == "two" and read_state(state, "missing.json") is None
    assert [p.name for p in state.iterdir()] == ["progress.json"]  # no temporary left behind
    target = tmp_path / "target.json"
    target.write_text("kept", "utf-8")
    (state / "code_results.json").symlink_to(target)
    with pytest.raises(StateError, match=r"code_results\.json is a symbolic link"):
        read_state(state, "code_results.json")
    with pytest.raises(StateError, match=r"code_results\.json is a symbolic link"):
        write_state(state, "code_results.json", "{}")
    assert target.read_text("utf-8") == "kept"


def test_a_course_copy_gives_its_own_templates_and_hidden_tests(tmp_path: Path, bank_copy: Path):
    """A course's own copy of the bank (--bank) brings its templates and hidden tests along:
    init copies the copy's template, check runs the copy's hidden tests."""
    course = bank_copy.parent
    template = course / "student_templates/count_pairs/count_pairs.py"
    template.write_text(template.read_text() + "# this course's own template\n")
    hidden = course / "solutions/hidden_tests/test_count_pairs_hidden.py"
    hidden.write_text(hidden.read_text() + "\n\ndef test_this_course_asks_for_more():\n    assert False\n")
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "0.6", "--bank", bank_copy).exit_code == 0
    assert (ws / "count_pairs/count_pairs.py").read_text().endswith("# this course's own template\n")
    shutil.copyfile(COURSE_ROOT / "solutions/code/count_pairs.py", ws / "count_pairs/count_pairs.py")
    item = check_json(ws)["items"]["0.6"]
    assert item["status"] == "partial" and "this course asks for more" in str(item["feedback"]), item
