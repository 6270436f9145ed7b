"""grade serve's writes into a workspace (grader.workspace.edits): one answer in answers.yaml,
only its value changed, read back by the answers file's own reader; a code item's file only
inside the workspace and through no link. And the day streak that each saved check records."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from grader.core.fileio import WorkspaceError
from grader.responses.answers_file import parse_answers
from grader.workspace.edits import code_path, read_code, set_answer, with_answer, write_code
from grader.workspace.progress import Progress, day_streak, load_progress, save_progress
from tests.workspace_helpers import check_json, grade

SHEET = """\
# head comment
"1.1": 5.2·10⁴  # my working: 2*1024*...
"1.2":
  - A
  - C

# a comment between two items
"1.3": |
  5

# another
"1.4":
# the last item
"1.5": [A, B]  # why
"1.6":   # still thinking
"""


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=False) if a != b]


@pytest.mark.parametrize(("item_id", "value", "line"), [
    ("1.1", "34360", '"1.1": 34360  # my working: 2*1024*...'),
    ("1.4", "7 GB", '"1.4": 7 GB'),
    ("1.6", "3 x 10^4", '"1.6": 3 x 10^4   # still thinking'),
    ("1.5", ["C"], '"1.5": [C]  # why'),
    ("1.4", "a: b", '"1.4": "a: b"'),  # plain would be a mapping: quoted
    ("1.4", "4 # not a comment", '"1.4": "4 # not a comment"'),
    ("1.4", "[A", '"1.4": "[A"'),
    ("1.5", "", '"1.5":  # why'),  # emptied: skipped
])
def test_one_value_changes_and_every_comment_stays(item_id, value, line):
    after = with_answer(SHEET, item_id, value)
    old = next(x for x in SHEET.splitlines() if x.startswith(f'"{item_id}"'))
    assert _changed_lines(SHEET, after) == [(old, line)]
    answers = parse_answers(after).answers
    assert answers[item_id] == (value or None)
    assert {k: v for k, v in answers.items() if k != item_id} == \
        {k: v for k, v in parse_answers(SHEET).answers.items() if k != item_id}


def test_a_block_value_is_replaced_without_the_comments_after_it():
    after = with_answer(SHEET, "1.2", ["B", "A"])
    assert '"1.2": [B, A]\n\n# a comment between two items\n' in after
    after = with_answer(SHEET, "1.3", "6")
    assert '"1.3": 6\n\n# another\n"1.4":' in after
    assert parse_answers(after).answers["1.3"] == "6"


def test_an_item_missing_from_the_file_is_added_at_its_end():
    after = with_answer(SHEET, "2.1", "12")
    assert after == SHEET + '"2.1": 12\n'
    assert with_answer("# only a comment", "2.1", "12") == '# only a comment\n"2.1": 12\n'


def test_an_answer_given_twice_changes_the_graded_last_one():
    text = '"1.1": 1\n"1.1": 2\n'
    assert with_answer(text, "1.1", "3") == '"1.1": 1\n"1.1": 3\n'


@pytest.mark.parametrize("value", ["1\n2", "1\x00", "x" * 1001, "a\u2028b"])
def test_an_answer_is_one_line_of_text(value):
    with pytest.raises(WorkspaceError, match=r"one line of text|at most 1000 characters"):
        with_answer(SHEET, "1.1", value)


def test_an_unreadable_answers_file_is_not_written_and_says_why(tmp_path: Path):
    path = tmp_path / "answers.yaml"
    path.write_text('"1.1": [1, 2\n"1.2": 3\n', "utf-8")
    with pytest.raises(WorkspaceError, match="line 1"):
        set_answer(path, "1.2", "4")
    assert path.read_text("utf-8") == '"1.1": [1, 2\n"1.2": 3\n'


def test_set_answer_keeps_the_byte_order_mark_and_the_permissions(tmp_path: Path):
    path = tmp_path / "answers.yaml"
    path.write_bytes("\ufeff# é\n\"1.1\":\n".encode())
    path.chmod(0o600)
    set_answer(path, "1.1", "≈ 52 000")
    assert path.read_bytes() == "\ufeff# é\n\"1.1\": ≈ 52 000\n".encode()
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["answers.yaml"]  # no temporary left


def test_grade_check_reads_what_the_page_wrote(tmp_path: Path):
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "0.1,0.4,2.5").exit_code == 0
    original = (ws / "answers.yaml").read_text("utf-8")
    set_answer(ws / "answers.yaml", "0.1", "32,256 tokens")
    set_answer(ws / "answers.yaml", "2.5", ["C", "A", "D", "B"])
    after = (ws / "answers.yaml").read_text("utf-8")
    assert len(_changed_lines(original, after)) == 2 and len(after.splitlines()) == len(original.splitlines())
    items = check_json(ws)["items"]
    assert items["0.1"]["status"] == "correct" and items["0.4"]["status"] == "unanswered"
    assert items["2.5"]["status"] in ("correct", "partial", "incorrect")


# -- code files ---------------------------------------------------------------------------------
def test_a_code_file_is_read_and_written_inside_the_workspace(tmp_path: Path):
    (tmp_path / "count_pairs").mkdir()
    write_code(tmp_path, "count_pairs/count_pairs.py", "def count_pairs(s):\n    return {}\n")
    assert read_code(tmp_path, "count_pairs/count_pairs.py") == "def count_pairs(s):\n    return {}\n"
    assert read_code(tmp_path, "count_pairs/missing.py") == ""


@pytest.mark.parametrize("relative", ["../outside.py", "/etc/passwd", "a/../../x.py", ""])
def test_a_path_that_leaves_the_workspace_is_refused(tmp_path: Path, relative: str):
    with pytest.raises(WorkspaceError, match="not a path inside the workspace"):
        code_path(tmp_path / "ws", relative)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_a_code_file_reached_through_a_link_is_neither_read_nor_written(tmp_path: Path):
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    ws.mkdir(), outside.mkdir()
    (outside / "secret.py").write_text("kept", "utf-8")
    (ws / "folder").symlink_to(outside, target_is_directory=True)
    (ws / "file.py").symlink_to(outside / "secret.py")
    for relative in ("folder/secret.py", "file.py"):
        with pytest.raises(WorkspaceError, match="symbolic link"):
            read_code(ws, relative)
        with pytest.raises(WorkspaceError, match="symbolic link"):
            write_code(ws, relative, "stolen")
    assert (outside / "secret.py").read_text("utf-8") == "kept"


@pytest.mark.parametrize("relative", ["x/y.py", "x/x"])  # x/x: a folder part named as the file
def test_a_code_file_under_a_file_is_refused(tmp_path: Path, relative: str):
    (tmp_path / "x").write_text("a file", "utf-8")
    for act in (lambda: read_code(tmp_path, relative), lambda: write_code(tmp_path, relative, "x")):
        with pytest.raises(WorkspaceError, match=f"{relative}: x is not a folder"):
            act()
    assert (tmp_path / "x").read_text("utf-8") == "a file"


def test_a_code_file_over_the_size_a_run_reads_is_refused(tmp_path: Path):
    (tmp_path / "f").mkdir()
    with pytest.raises(WorkspaceError, match="over 256 KiB"):
        write_code(tmp_path, "f/x.py", "#" * (257 * 1024))
    assert not (tmp_path / "f/x.py").exists()


# -- the day streak ------------------------------------------------------------------------------
def test_the_day_streak_counts_days_in_a_row_up_to_today_or_yesterday():
    progress = Progress(days=["2026-03-01", "2026-03-03", "2026-03-04", "2026-03-05"])
    assert day_streak(progress, date(2026, 3, 5)) == 3
    assert day_streak(progress, date(2026, 3, 6)) == 3  # not broken before the day is over
    assert day_streak(progress, date(2026, 3, 7)) == 0
    assert day_streak(Progress(), date(2026, 3, 7)) == 0


def test_each_saved_check_records_its_day(tmp_path: Path):
    state = tmp_path / ".grade"
    progress = Progress()
    save_progress(state, progress, today=date(2026, 3, 4))
    save_progress(state, progress, today=date(2026, 3, 5))
    save_progress(state, progress, today=date(2026, 3, 5))
    loaded, warning = load_progress(state)
    assert warning is None and loaded.days == ["2026-03-04", "2026-03-05"]
    assert day_streak(loaded, date(2026, 3, 5)) == 2


def test_grade_check_records_today_and_a_bad_day_is_an_unreadable_file(tmp_path: Path):
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "1.1").exit_code == 0
    check_json(ws)
    loaded, _ = load_progress(ws / ".grade")
    assert loaded.days == [str(date.today())] and day_streak(loaded) == 1
    assert "Day streak: 1 day in a row with a check" in grade("progress", ws).output
    assert '"day_streak": 1' in grade("progress", ws, "--json").output
    text = (ws / ".grade/progress.json").read_text("utf-8").replace(str(date.today()), "yesterday")
    (ws / ".grade/progress.json").write_text(text, "utf-8")
    assert "unreadable" in (load_progress(ws / ".grade")[1] or "")
