"""Reading submissions: folders and archives, and every malformed or hostile one refused."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from grader.intake import IntakeError, Submission, list_submissions, unpack


def make_zip(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, target)
    return path


def make_tar(path: Path, members: dict[str, bytes], kinds: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, kind in (kinds or {}).items():
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "/etc/passwd"
            archive.addfile(info)
    return path


ANSWERS = {"ws/grade.yaml": b"format: 1\n", "ws/answers.yaml": b'"1.1": 34360\n'}


def test_lists_folders_and_archives_by_student_id(tmp_path: Path):
    (tmp_path / "alice").mkdir()
    make_zip(tmp_path / "bob.zip", ANSWERS)
    make_tar(tmp_path / "carol.tar.gz", ANSWERS)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "bad name!.zip").write_bytes(b"")
    subs, warnings = list_submissions(tmp_path)
    assert [(s.student, s.kind) for s in subs] == [("alice", "folder"), ("bob", "zip"), ("carol", "tar.gz")]
    assert len(warnings) == 2


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_single_top_folder_is_the_workspace(tmp_path: Path, kind):
    path = tmp_path / f"s.{kind}"
    (make_zip if kind == "zip" else make_tar)(path, ANSWERS)
    root = unpack(Submission("s", path, kind), tmp_path / "out")
    assert (root / "answers.yaml").read_bytes() == ANSWERS["ws/answers.yaml"]


@pytest.mark.parametrize("build, message", [
    (lambda p: make_zip(p, {"../../evil.py": b"x"}), "leaves its folder"),
    (lambda p: make_zip(p, {"/etc/cron.d/x": b"x"}), "absolute path"),
    (lambda p: make_zip(p, {"a.txt": b"x"}, links={"link": "/etc/passwd"}), "symbolic link"),
    (lambda p: make_zip(p, {"bomb.bin": b"\0" * (50 << 20)}), "bytes unpacked"),
    (lambda p: make_zip(p, {f"f{i}": b"x" for i in range(300)}), "300 files"),
    (lambda p: p.write_bytes(b"PK\x03\x04 this is not really a zip " * 10), "not a readable .zip"),
    (lambda p: make_zip(p, {}), "empty"),
])
def test_hostile_zips_are_refused_with_a_reason(tmp_path: Path, build, message):
    path = tmp_path / "x.zip"
    build(path)
    out = tmp_path / "out"
    with pytest.raises(IntakeError, match=message):
        unpack(Submission("x", path, "zip"), out)
    assert not (tmp_path / "evil.py").exists() and not (tmp_path.parent / "evil.py").exists()


@pytest.mark.parametrize("build, message", [
    (lambda p: make_tar(p, {"../evil.py": b"x"}), "leaves its folder"),
    (lambda p: make_tar(p, {"/abs.py": b"x"}), "absolute path"),
    (lambda p: make_tar(p, {}, kinds={"link": tarfile.SYMTYPE}), "link"),
    (lambda p: make_tar(p, {}, kinds={"hard": tarfile.LNKTYPE}), "link"),
    (lambda p: make_tar(p, {}, kinds={"dev": tarfile.CHRTYPE}), "special file"),
    (lambda p: p.write_bytes(b"\x1f\x8b\x08 junk junk junk"), "not a readable .tar.gz"),
])
def test_hostile_tars_are_refused_with_a_reason(tmp_path: Path, build, message):
    path = tmp_path / "x.tar.gz"
    build(path)
    with pytest.raises(IntakeError, match=message):
        unpack(Submission("x", path, "tar.gz"), tmp_path / "out")


def test_folders_with_links_or_nothing_are_refused(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IntakeError, match="empty"):
        unpack(Submission("empty", empty, "folder"), tmp_path / "o1")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "answers.yaml").symlink_to("/etc/passwd")
    with pytest.raises(IntakeError, match="symbolic link"):
        unpack(Submission("linked", linked, "folder"), tmp_path / "o2")


def test_names_that_are_not_text_and_case_clashes(tmp_path: Path):
    path = tmp_path / "x.tar.gz"
    with tarfile.open(path, "w:gz", encoding="latin-1", format=tarfile.GNU_FORMAT) as archive:
        info = tarfile.TarInfo("\xff.py")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(IntakeError) as exc:
        unpack(Submission("x", path, "tar.gz"), tmp_path / "out")
    str(exc.value).encode("utf-8")  # the reason is always writable text
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "Alice").mkdir()
    (subs / "alice").mkdir()
    (subs / "CON.zip").write_bytes(b"")
    found, warnings = list_submissions(subs)
    assert [s.student for s in found] == ["Alice"] and len(warnings) == 2


def test_tar_caps_apply_while_streaming(tmp_path: Path):
    path = tmp_path / "many.tar.gz"
    make_tar(path, {f"f{i}": b"" for i in range(1000)})
    with pytest.raises(IntakeError, match="more than 200 files"):
        unpack(Submission("many", path, "tar.gz"), tmp_path / "out")
