"""grader.core.fileio, the one leaf IO module: one YAML loader (no anchors or aliases, size and
depth caps) behind every file the grader reads, one atomic write that threads and processes
can share, one schema check with one way to write a path, and a code-results cache that keeps
every entry when items finish together."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from grader.assignments.assignment import MAX_SPEC_BYTES, AssignmentError, load_assignment
from grader.bank.loader import load_bank
from grader.bank.loader import schema_problems as chapter_problems
from grader.core import fileio
from grader.core.fileio import (
    WorkspaceError,
    YamlError,
    grader_schema,
    read_yaml,
    schema_problems,
    write_atomic,
)
from grader.core.problems import MAX_FILE_BYTES
from grader.items import code_runs
from grader.kernels.spec import KERNELS_FILE, load_kernel_tasks
from grader.responses.answers_file import MAX_ANSWERS_BYTES, parse_answers, read_answers
from grader.results.result import Result
from grader.workspace.manifest import MAX_MANIFEST_BYTES, read_manifest
from tests.workspace_helpers import CHECKOUT, grade

ALIAS = "anchors (&name) and aliases (*name) are not allowed"
ALIAS_RE = re.escape(ALIAS)
BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]\n" for n in range(1, 8))  # 10^8 if expanded
DEEP = "[" * 120_000 + "]" * 120_000  # under every size cap; libyaml's composer crashed on it


# -- the loader --------------------------------------------------------------------------------
@pytest.mark.parametrize("text, line, column", [
    ("a: &x 1\nb: *x\n", 1, 4),  # the anchor is refused where it is set
    ("a: 1\nb: *x\n", 2, 4),  # an alias, defined or not
    ("items: &all [1, 2]\n", 1, 8),
])
def test_anchors_and_aliases_are_refused_with_their_place(text, line, column):
    with pytest.raises(YamlError) as info:
        read_yaml(text, label="f.yaml", max_bytes=1000)
    assert (info.value.line, info.value.column, info.value.problem) == (line, column, ALIAS)
    assert str(info.value) == f"f.yaml line {line}, column {column} is not valid YAML: {ALIAS}"


def test_size_encoding_depth_and_syntax_are_one_error_type(tmp_path: Path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * 101)
    for source in (path, b"#" * 101, "#" * 101, "é" * 51):  # the cap counts bytes, not characters
        with pytest.raises(YamlError, match=r"big\.yaml is too large \(\d+ bytes; at most 100\)"):
            read_yaml(source, label="big.yaml", max_bytes=100)
    with pytest.raises(YamlError, match=r"f is not UTF-8 text \(byte 0xff at offset 3\)"):
        read_yaml(b"a: \xff", label="f", max_bytes=100)
    with pytest.raises(YamlError, match=r"f line 1, column 65 is not valid YAML: nested more than 64"):
        read_yaml(DEEP, label="f", max_bytes=1 << 20)
    nested: list = []
    for _ in range(63):
        nested = [nested]
    assert read_yaml("[" * 64 + "]" * 64, label="f", max_bytes=1000) == nested  # 64 levels are allowed
    with pytest.raises(YamlError) as info:
        read_yaml("a: [1\n", label="f", max_bytes=100)
    assert (info.value.line, info.value.column, info.value.detail) == (  # where the [ was left open
        1, 4, "line 1, column 4: the bracket [ opened here is not closed on this line, so YAML read on to "
              "the end of the file")
    with pytest.raises(YamlError, match=r"line 1, column 5 .*unacceptable character #x0000"):
        read_yaml('é: "\x00"', label="f", max_bytes=100)  # libyaml counts bytes: still column 5


def test_the_loader_builds_what_the_safe_loader_built():
    for path in [*sorted((CHECKOUT / "bank").glob("*.yaml")), CHECKOUT / "bank" / KERNELS_FILE,
                 CHECKOUT / "grader/data/units.yaml", CHECKOUT / "grader/data/devices.yaml"]:
        assert read_yaml(path, label=path.name, max_bytes=1 << 20) == yaml.safe_load(path.read_text("utf-8"))
    text = "\ufeffdue: 2026-12-01\nn: 0x1F\ntag: !!python/object/apply:os.system [id]\n"
    with pytest.raises(YamlError, match="could not determine a constructor"):
        read_yaml(text, label="f", max_bytes=1000)
    assert read_yaml(text.rpartition("tag")[0], label="f", max_bytes=1000, timestamps=False) == {
        "due": "2026-12-01", "n": 31}
    assert read_yaml(text, label="f", max_bytes=1000, strings=True) == {
        "due": "2026-12-01", "n": "0x1F", "tag": ["id"]}


def test_what_the_grader_dumps_it_reads_back():
    shared = {"atol": 0.1}
    doc = {"a": shared, "b": shared, "c": [shared]}
    assert "&" not in fileio.dump_yaml(doc) and "*" not in fileio.dump_yaml(doc)
    assert read_yaml(fileio.dump_yaml(doc), label="f", max_bytes=1000) == doc


# -- every entry point refuses aliases and oversized files ---------------------------------------
def _chapter(bank_dir: Path) -> Path:
    return bank_dir / "ch01_resource_accounting.yaml"


def test_a_bank_chapter_or_kernel_section_with_aliases_or_too_large_is_a_problem(bank_copy: Path):
    chapter = _chapter(bank_copy)
    original = chapter.read_text("utf-8")
    chapter.write_text(original + "x-defaults: &d {a: 1}\nx-more: *d\n", "utf-8")
    lines = original.count("\n")
    [problem] = load_bank(bank_copy).problems
    assert str(problem) == f"{chapter}: invalid YAML: line {lines + 1}, column 13: {ALIAS}"
    chapter.write_text(original + "#" * MAX_FILE_BYTES, "utf-8")
    [problem] = load_bank(bank_copy).problems
    assert f"file is too large ({len(original) + MAX_FILE_BYTES} bytes; at most {MAX_FILE_BYTES})" \
        in problem.message
    chapter.write_text(DEEP, "utf-8")
    assert "nested more than 64 levels deep" in str(load_bank(bank_copy).problems[0])
    chapter.write_text(original, "utf-8")

    kernels = bank_copy / KERNELS_FILE
    kernels.write_text(kernels.read_text("utf-8") + "x: &k 1\n", "utf-8")
    tasks, [problem] = load_kernel_tasks(bank_copy)
    assert tasks == {} and ALIAS in str(problem) and str(problem).startswith(str(KERNELS_FILE))


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    assert grade("init", folder, "--items", "1.1,1.5").exit_code == 0
    return folder


def test_a_manifest_with_aliases_or_too_large_is_refused(ws: Path):
    manifest = ws / "grade.yaml"
    original = manifest.read_text("utf-8")
    manifest.write_text(original.replace("mode: practice", "mode: &m practice"), "utf-8")
    refused = rf"grade\.yaml line \d+, column 7 is not valid YAML: {ALIAS_RE}"
    with pytest.raises(WorkspaceError, match=refused):
        read_manifest(manifest)
    result = grade("check", ws)
    assert result.exit_code == 2 and ALIAS in result.output
    manifest.write_text(original + "#" * MAX_MANIFEST_BYTES, "utf-8")
    result = grade("check", ws)
    size = len(original) + MAX_MANIFEST_BYTES
    assert result.exit_code == 2
    assert f"grade.yaml is too large ({size} bytes; at most {MAX_MANIFEST_BYTES})" in result.output


def test_answers_with_aliases_too_large_or_too_deep_are_refused(ws: Path):
    answers = ws / "answers.yaml"
    answers.write_text('"1.1": &a 34360 GB\n"1.5": *a\n', "utf-8")
    result = grade("check", ws)
    assert result.exit_code == 2
    assert f"answers.yaml line 1, column 8 is not valid YAML: {ALIAS}. Put quotes around" in result.output
    with pytest.raises(WorkspaceError, match=ALIAS_RE):
        parse_answers(BOMB)
    with pytest.raises(WorkspaceError, match="too large"):
        parse_answers("#" * (MAX_ANSWERS_BYTES + 1))
    answers.write_bytes(b"#" * (MAX_ANSWERS_BYTES + 1))
    too_large = rf"answers\.yaml is too large \({MAX_ANSWERS_BYTES + 1} bytes; at most {MAX_ANSWERS_BYTES}\)"
    with pytest.raises(WorkspaceError, match=too_large):
        read_answers(answers)
    answers.write_text(DEEP, "utf-8")  # in a process of its own: this crashed Python
    done = subprocess.run([sys.executable, "-m", "grader", "check", str(ws)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "nested more than 64 levels deep" in done.stderr + done.stdout, done


def test_a_spec_with_aliases_or_too_large_is_refused(tmp_path: Path, bank):
    spec = tmp_path / "ps.yaml"
    spec.write_text(f"name: bomb\n{BOMB}items: *a7\n", "utf-8")
    refused = rf"ps\.yaml is not readable YAML: line 2, column 5: {ALIAS_RE}"
    with pytest.raises(AssignmentError, match=refused):
        load_assignment(spec, bank)
    spec.write_text("name: ps\nitems: [1.1]\n" + "#" * MAX_SPEC_BYTES, "utf-8")
    too_large = rf"ps\.yaml is too large \(\d+ bytes; at most {MAX_SPEC_BYTES}\)"
    with pytest.raises(AssignmentError, match=too_large):
        load_assignment(spec, bank)
    spec.write_text("name: ps\ndue: 2026-12-01\nitems: ['1.1']\n", "utf-8")
    assert load_assignment(spec, bank).due == "2026-12-01"  # dates stay the text written


# -- one schema check, one path format ------------------------------------------------------------
def test_every_validator_writes_paths_the_same_way(tmp_path: Path, bank_copy: Path, bank):
    doc = {"chapter": 1, "title": "t", "items": [{"id": "1.1", "type": "nonsense"}]}
    assert schema_problems({"a": [{"b": 1}]}, {"properties": {"a": {"items": {"properties": {
        "b": {"type": "string"}}}}}}) == [("$.a[0].b", "1 is not of type 'string'")]
    found = {
        "chapter": [p.path for p in chapter_problems(doc, "ch.yaml")],
        "manifest": [w for w, _ in schema_problems({"format": 1, "mode": "practice", "items": [{}]},
                                                    grader_schema("manifest"))],
        "assignment": [w for w, _ in schema_problems({"name": "x", "items": [{"id": 3}]},
                                                      grader_schema("assignment"))],
        "kernels": [w for w, _ in schema_problems({"tasks": [{"id": "t"}]}, grader_schema("kernels"))],
    }
    assert found["chapter"] == ["$.type"]  # inside the item, named by its id
    assert all(w.startswith("$.items[0]") for w in found["manifest"]), found
    assert all(w.startswith("$.items[0]") for w in found["assignment"]), found
    assert all(w.startswith("$.tasks[0]") for w in found["kernels"]), found
    kernels = bank_copy / KERNELS_FILE
    kernels.write_text(kernels.read_text("utf-8").replace("bound: memory", "bound: nowhere", 1), "utf-8")
    _, [problem] = load_kernel_tasks(bank_copy)
    assert str(problem).startswith(f"{KERNELS_FILE}: $.tasks[0].bound: 'nowhere' is not one of")
    spec = tmp_path / "ps.yaml"
    spec.write_text("name: ps\nitems: [{id: 1.1}]\n", "utf-8")
    with pytest.raises(AssignmentError, match=r"ps\.yaml: \$\.items\[0\]"):
        load_assignment(spec, bank)


# -- the atomic write ------------------------------------------------------------------------------
GO = """
go = Path(sys.argv[1])
while not go.exists():  # start with the threads of the test
    time.sleep(0.001)
"""
WRITER = """
import sys, time
from pathlib import Path
from grader.core.fileio import write_atomic
""" + GO + """
path, tag = Path(sys.argv[2]), sys.argv[3]
for n in range(60):
    write_atomic(path, (tag * 50_000 + f"{n}").encode())
"""


def _start(script: str, go: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", script, str(go), *args])


def _release(go: Path, threads: list[threading.Thread]) -> None:
    """Start the threads, then let the processes (waiting for ``go``) run with them."""
    for t in threads:
        t.start()
    go.touch()
    for t in threads:
        t.join()


def _complete(data: bytes) -> bool:
    return data[:50_000] == data[:1] * 50_000 and data[50_000:].isdigit()


def test_threads_and_processes_writing_one_file_leave_it_whole_and_no_temporaries(tmp_path: Path):
    path = tmp_path / "out" / "shared.txt"
    path.parent.mkdir()
    write_atomic(path, b"I" * 50_000 + b"0")
    torn: list[bytes] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            data = path.read_bytes()
            if not _complete(data):
                torn.append(data[:20])

    go = tmp_path / "go"

    def write(tag: str) -> None:
        while not go.exists():
            pass
        for n in range(60):
            write_atomic(path, tag * 50_000 + f"{n}")

    reader = threading.Thread(target=read)
    reader.start()
    procs = [_start(WRITER, go, str(path), tag) for tag in "WXYZ"]
    time.sleep(0.3)  # the processes are waiting
    _release(go, [threading.Thread(target=write, args=(tag,)) for tag in "ABCDEFGH"])
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    stop.set()
    reader.join()
    assert torn == []
    assert _complete(path.read_bytes())
    assert [p.name for p in path.parent.iterdir()] == ["shared.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path):
    path = tmp_path / "f.json"
    write_atomic(path, "old")
    with pytest.raises(RuntimeError), fileio.atomic_file(path) as fh:
        fh.write(b"half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.json"]
    write_atomic(tmp_path / "new" / "f.txt", "é\n", parents=True)
    assert (tmp_path / "new" / "f.txt").read_bytes() == "é\n".encode()


# -- the code-results cache -----------------------------------------------------------------------
REMEMBER = """
import sys, time
from pathlib import Path
from grader.items import code_runs
from grader.results.result import Result
""" + GO + """
cache, who = Path(sys.argv[2]), sys.argv[3]
for n in range(15):
    code_runs.remember_result(cache, f"{who}.{n}", "d", Result("correct", 1.0, ("ok",)))
"""


def test_code_items_finishing_together_keep_every_cache_entry(tmp_path: Path):
    (tmp_path / "ws").mkdir()
    cache = tmp_path / "ws" / ".grade" / code_runs.CODE_RESULTS
    done = Result("correct", 1.0, ("Tests: 5/5 pass.",))
    go = tmp_path / "go"

    def finish(item: int) -> None:
        while not go.exists():
            pass
        for n in range(15):
            code_runs.remember_result(cache, f"t{item}.{n}", f"digest{item}", done)

    procs = [_start(REMEMBER, go, str(cache), f"p{i}") for i in range(4)]
    time.sleep(0.5)  # the processes have imported the grader and are waiting
    _release(go, [threading.Thread(target=finish, args=(i,)) for i in range(8)])
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    entries = json.loads(cache.read_text("utf-8"))
    expected = {f"t{i}.{n}" for i in range(8) for n in range(15)} | {f"p{i}.{n}" for i in range(4)
                                                                     for n in range(15)}
    assert set(entries) == expected
    assert code_runs.cached_result(cache, "t3.7", "digest3") == done
    assert sorted(p.name for p in cache.parent.iterdir()) == [f".{cache.name}.lock", cache.name]


@pytest.mark.parametrize("name", ["answers.yaml", "grade.yaml"])
@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_workspace_file_that_is_not_a_regular_file_is_refused_not_read(tmp_path, name, kind):
    """Found by review: a folder gave a traceback and a FIFO blocked grade check for ever."""
    if kind == "fifo" and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "1.1").exit_code == 0
    (ws / name).unlink()
    (ws / name).mkdir() if kind == "folder" else os.mkfifo(ws / name)
    result = grade("check", ws)
    assert result.exit_code == 2 and f"{name} is not a regular file" in result.output, result.output
