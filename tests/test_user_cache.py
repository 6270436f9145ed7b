"""The user's cache of the validated bank and manifests (grader.bank.user_cache): used only by the
student commands, invalidated by any edit, ignored when corrupt, and never a change in results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader.bank import loader, user_cache
from grader.bank.loader import load_bank
from grader.cli import main
from grader.core.fileio import WorkspaceError
from grader.workspace import manifest
from grader.workspace.manifest import read_manifest
from tests.workspace_helpers import CHECKOUT, check_json, grade, write_answers

STUDENT_COMMANDS = {"check", "progress", "init", "list", "show", "errata", "serve"}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GRADE_CACHE_DIR", str(folder))
    monkeypatch.delenv("GRADE_NO_CACHE", raising=False)
    return folder


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The chapter files whose schema is checked (a cached bank checks none)."""
    seen: list[str] = []
    real = loader.schema_problems

    def counting(doc, file):
        seen.append(Path(file).name)
        return real(doc, file)

    monkeypatch.setattr(loader, "schema_problems", counting)
    return seen


def cached_load(bank_dir: Path) -> loader.LoadResult:
    with user_cache.user_cache():
        return load_bank(bank_dir)


def entry(cache: Path) -> Path:
    [path] = cache.glob("bank-*.json")
    return path


def test_a_cached_bank_is_the_bank_and_skips_only_parsing_and_the_schema(bank_copy, cache, validations):
    plain = load_bank(bank_copy)
    assert plain.problems == [] and not cache.exists()  # off outside user_cache()
    assert len(validations) == 10
    first = cached_load(bank_copy)
    assert len(validations) == 20 and entry(cache).is_file()
    second = cached_load(bank_copy)
    assert len(validations) == 20  # from the cache: no YAML parsed, no schema checked
    assert first.bank == second.bank == plain.bank and second.problems == []
    assert second.bank.kernels and second.bank.kernels == plain.bank.kernels
    if hasattr(os, "getuid"):
        assert oct(entry(cache).stat().st_mode & 0o777) == "0o600"


def test_an_edited_bank_file_is_validated_again(bank_copy, cache, validations):
    cached_load(bank_copy)
    chapter = bank_copy / "ch01_resource_accounting.yaml"
    text = chapter.read_text("utf-8")
    chapter.write_text(text.replace("\ntitle: ", "\ntitle: Edited ", 1), "utf-8")
    edited = cached_load(bank_copy)
    assert edited.problems == [] and edited.bank.chapter(1).title.startswith("Edited ")
    assert len(validations) == 20  # every file again: the bank's key is all of its files

    chapter.write_text(text.replace("\ntitle: ", "\ntitle: 7\nx_unknown: ", 1), "utf-8")
    broken = cached_load(bank_copy)
    assert broken.problems and broken.problems == load_bank(bank_copy).problems
    assert 1 not in {c.number for c in broken.bank.chapters}
    chapter.write_text(text, "utf-8")  # back to the bytes cached before: the first entry is gone
    assert cached_load(bank_copy).bank == load_bank(bank_copy).bank


def test_an_edited_kernel_task_is_validated_again(bank_copy, cache):
    cached_load(bank_copy)
    kernels = bank_copy / "kernels" / "kernels.yaml"
    kernels.write_text(kernels.read_text("utf-8").replace("bound: ", "bound: nowhere_", 1), "utf-8")
    assert cached_load(bank_copy).problems == load_bank(bank_copy).problems != []


def test_files_a_cached_bank_points_to_are_still_checked(bank_copy, cache):
    first = cached_load(bank_copy)
    task = next(iter(first.bank.kernels.values()))
    (bank_copy.parent / task.template).unlink()
    again = cached_load(bank_copy)
    assert again.problems == load_bank(bank_copy).problems and task.id not in again.bank.kernels


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated", "flipped", "other key", "shape",
                                    "missing field"])
def test_a_corrupt_entry_falls_back_to_the_full_load(bank_copy, cache, validations, damage):
    plain = load_bank(bank_copy).bank
    cached_load(bank_copy)
    path = entry(cache)
    data = path.read_bytes()
    head, _, body = data.partition(b"\n")
    header = json.loads(head)
    damaged = {
        "empty": b"",
        "garbage": os.urandom(4096),
        "truncated": data[: len(data) // 2],
        "flipped": head + b"\n" + body.replace(b'"title":"', b'"title":"X', 1),  # checksum fails
        "other key": json.dumps({**header, "key": "0" * 64}).encode() + b"\n" + body,
        "shape": user_cache._pack(header["key"], {"chapters": [], "kernels": None}),
        # well formed, checksum and all, but not what a load stores (found by review: a traceback)
        "missing field": user_cache._pack(header["key"], {
            "chapters": [{**d, "items": [{k: v for k, v in d["items"][0].items() if k != "type"},
                                         *d["items"][1:]]} for d in _documents(bank_copy)],
            "kernels": yaml.safe_load((bank_copy / "kernels/kernels.yaml").read_text("utf-8"))}),
    }[damage]
    path.write_bytes(damaged)
    before = len(validations)
    result = cached_load(bank_copy)
    assert len(validations) == before + 10  # a miss: the whole bank parsed and validated
    assert result.bank == plain and result.problems == []
    assert path.read_bytes() == data  # and the entry written again
    assert cached_load(bank_copy).bank == plain and len(validations) == before + 10


def _documents(bank_dir):
    return [yaml.safe_load(f.read_text("utf-8")) for f in sorted(bank_dir.glob("*.yaml"))]


def test_only_json_plain_documents_are_stored():
    assert user_cache.is_plain({"a": [1, 2.5, "x", True, None, {"b": float("inf")}]})
    import datetime

    for odd in ({1: "int key"}, {"d": datetime.date(2024, 1, 1)}, {"t": (1, 2)}, {"b": b"x"}, {"s": {1}}):
        assert not user_cache.is_plain(odd)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_a_cache_folder_others_can_write_is_not_used(bank_copy, cache, validations, monkeypatch):
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    cached_load(bank_copy)
    cached_load(bank_copy)
    assert len(validations) == 20 and not list(cache.iterdir())
    link = cache.parent / "link"
    cache.chmod(0o700)
    link.symlink_to(cache)
    monkeypatch.setenv("GRADE_CACHE_DIR", str(link))  # a link is not the folder itself
    cached_load(bank_copy)
    assert len(validations) == 30 and not list(cache.iterdir())


def test_no_cache_setting_turns_it_off(bank_copy, cache, monkeypatch, validations):
    monkeypatch.setenv("GRADE_NO_CACHE", "1")
    cached_load(bank_copy)
    cached_load(bank_copy)
    assert len(validations) == 20 and not cache.exists()


def test_outside_the_student_commands_a_planted_entry_is_never_read(bank_copy, cache, validations):
    """grade batch, validate and the Gradescope commands load the bank themselves: a cache
    entry made to say something else changes nothing there."""
    cached_load(bank_copy)
    path = entry(cache)
    header = json.loads(path.read_bytes().partition(b"\n")[0])
    payload = json.loads(path.read_bytes().partition(b"\n")[2])
    payload["chapters"][1]["title"] = "Planted"
    path.write_bytes(user_cache._pack(header["key"], payload))
    assert load_bank(bank_copy).bank.chapter(1).title != "Planted"
    assert cached_load(bank_copy).bank.chapter(1).title == "Planted"  # the user's own cache, in use


def test_only_the_student_commands_use_the_cache():
    wrapped = {name for name, command in main.commands.items()
               if getattr(command.callback, "uses_user_cache", False)}
    assert wrapped == STUDENT_COMMANDS


# -- manifests ----------------------------------------------------------------------------
def test_a_manifest_is_validated_once_per_exact_bytes(tmp_path, cache, monkeypatch):
    assert grade("init", tmp_path / "ws", "--items", "1.1,1.5").exit_code == 0
    path = tmp_path / "ws" / "grade.yaml"
    schema_checks: list[int] = []
    real = manifest.schema_problems

    def counting(doc, schema):
        schema_checks.append(1)
        return real(doc, schema)

    monkeypatch.setattr(manifest, "schema_problems", counting)
    plain = read_manifest(path)
    with user_cache.user_cache():
        assert read_manifest(path) == plain  # validated, remembered
        assert read_manifest(path) == plain
    assert len(schema_checks) == 2
    path.write_text(path.read_text("utf-8").replace("mode: practice", "mode: nonsense"), "utf-8")
    with pytest.raises(WorkspaceError) as plain_error:
        read_manifest(path)
    with user_cache.user_cache(), pytest.raises(WorkspaceError) as cached_error:
        read_manifest(path)
    assert str(cached_error.value) == str(plain_error.value)
    with user_cache.user_cache(), pytest.raises(WorkspaceError):
        read_manifest(path)  # an invalid manifest is never remembered
    assert len(schema_checks) == 5


def test_a_corrupt_manifest_list_is_a_miss(tmp_path, cache):
    assert grade("init", tmp_path / "ws", "--items", "1.1").exit_code == 0
    (cache / user_cache.MANIFESTS_ENTRY).write_bytes(b"\x00not json")
    with user_cache.user_cache():
        assert read_manifest(tmp_path / "ws" / "grade.yaml").items[0].id == "1.1"


# -- grade check --------------------------------------------------------------------------
def test_check_gives_the_same_results_with_and_without_the_cache(tmp_path, bank, cache, monkeypatch):
    ws = tmp_path / "ws"
    monkeypatch.setenv("GRADE_NO_CACHE", "1")
    assert grade("init", ws).exit_code == 0
    write_answers(ws, {"1.1": "17180", "1.5": "B", "2.5": "ABZ", "3.1": "3,4.5"})
    without = check_json(ws)
    assert not cache.exists()
    monkeypatch.delenv("GRADE_NO_CACHE")
    filled = check_json(ws)  # fills the cache
    hit = check_json(ws)
    assert entry(cache).is_file() and (cache / user_cache.MANIFESTS_ENTRY).is_file()
    for doc in (filled, hit):  # progress counts checks, so hints may move on: compare statuses
        assert {i: (r["status"], r["score"]) for i, r in doc["items"].items()} == \
            {i: (r["status"], r["score"]) for i, r in without["items"].items()}
        assert doc["warnings"] == without["warnings"] and doc["chapters"] == without["chapters"]
    assert grade("check", ws).output == grade("check", ws).output


def test_a_cached_check_imports_neither_jsonschema_rich_nor_the_sandbox(tmp_path, cache):
    ws = tmp_path / "ws"
    assert grade("init", ws).exit_code == 0
    probe = ("import sys, runpy; sys.argv = ['grade', 'check', sys.argv[1], '--json']\n"
             "try: runpy.run_module('grader', run_name='__main__')\n"
             "except SystemExit: pass\n"
             "print(sorted(m for m in ('jsonschema', 'rich', 'grader.sandbox.runner', 'torch', 'numpy', "
             "'sympy') if m in sys.modules), file=sys.stderr)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(CHECKOUT), os.environ.get("PYTHONPATH", "")])}
    runs = [subprocess.run([sys.executable, "-c", probe, str(ws)], capture_output=True, text=True,
                           env=env, check=True, cwd=tmp_path) for _ in range(2)]
    assert "'jsonschema'" in runs[0].stderr  # the manifest is new: its schema is checked
    assert runs[1].stderr.strip() == "[]", runs[1].stderr
    assert json.loads(runs[1].stdout)["max_total"] == json.loads(runs[0].stdout)["max_total"]
