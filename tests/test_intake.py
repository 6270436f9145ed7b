"""Reading submissions: folders and archives, and every malformed or hostile one refused."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from grader.batch.intake import (
    EXTENSION_BYTES,
    MAX_ARCHIVE_BYTES,
    IntakeError,
    Submission,
    unpack,
)
from grader.batch.sources import read_submissions


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
    intake = read_submissions(tmp_path)
    assert [(s.student, s.kind) for s in intake.submissions] == [("alice", "folder"), ("bob", "zip"),
                                                                 ("carol", "tar.gz")]
    assert [u.entry for u in intake.unmatched] == ["bad name!.zip", "notes.txt"]  # named, not graded


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
    intake = read_submissions(subs)
    assert [s.student for s in intake.submissions] == ["Alice"]
    assert [(u.entry, u.reason) for u in intake.unmatched] == [
        ("CON.zip", "not a folder, .zip or .tar.gz with a plain name"),
        ("alice", "a second submission of Alice (Alice is graded)")]


def test_tar_caps_apply_while_streaming(tmp_path: Path):
    path = tmp_path / "many.tar.gz"
    make_tar(path, {f"f{i}": b"" for i in range(1000)})
    with pytest.raises(IntakeError, match="more than 200 files"):
        unpack(Submission("many", path, "tar.gz"), tmp_path / "out")


# Hostile archives whose headers, not their files, are the bomb.

def raw_header(name: str, kind: bytes, size: int) -> bytes:
    """One tar header block; ``size`` in GNU base-256, so it may be any size at all."""
    info = tarfile.TarInfo(name)
    info.type = kind
    block = bytearray(info.tobuf(tarfile.GNU_FORMAT))
    block[124:136] = b"\x80" + size.to_bytes(11, "big") if size >= 0 \
        else b"\xff" + (size + (1 << 88)).to_bytes(11, "big")
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def gz_stream(path: Path, head: bytes, zeros: int = 0, tail: bytes = b"") -> Path:
    """A gzip file holding ``head``, ``zeros`` zero bytes and ``tail``, written without ever
    holding the zeros: one compressed MiB of zeros, repeated (a full flush makes each copy
    independent). 1 GiB of zeros is a 1 MB file."""
    chunk = 1 << 20
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    with path.open("wb") as out:
        out.write(b"\x1f\x8b\x08\0\0\0\0\0\x02\xff")
        out.write(packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH))
        crc = zlib.crc32(head)
        if zeros:
            block = packer.compress(b"\0" * chunk) + packer.flush(zlib.Z_FULL_FLUSH)
            for _ in range(zeros // chunk):
                out.write(block)
                crc = zlib.crc32(b"\0" * chunk, crc)
        out.write(packer.compress(tail) + packer.flush(zlib.Z_FINISH))
        out.write(struct.pack("<II", zlib.crc32(tail, crc), (len(head) + zeros + len(tail)) & 0xFFFFFFFF))
    return path


def header_bomb(path: Path, kind: bytes = b"L") -> Path:
    """A 1 MB .tar.gz: a long-name (or pax) header declaring 1 GiB, and the GiB of zeros."""
    return gz_stream(path, raw_header("././@LongLink", kind, 1 << 30), 1 << 30)


def pax_body(records: dict[str, str]) -> bytes:
    out = b""
    for key, value in records.items():
        text = f" {key}={value}\n".encode()
        length = len(text) + 1
        length = len(text) + len(str(length + len(str(length)) - 1))
        out += str(length).encode() + text
    return out


def pax_member(body: bytes) -> bytes:
    return raw_header("././@PaxHeader", b"x", len(body)) + body + b"\0" * (-len(body) % 512)


def file_member(name: str, data: bytes) -> bytes:
    return raw_header(name, b"0", len(data)) + data + b"\0" * (-len(data) % 512)


def keyword_bomb(path: Path) -> Path:
    """A 32 KiB pax header of records "2 " that all run to one far "=": tarfile keeps every
    record's keyword, the rest of the header, so about 270 MB from 200 bytes of gzip."""
    return gz_stream(path, pax_member(b"2 " * 16384 + b"=\n") + file_member("a.txt", b"x") + b"\0" * 1024)


def directory_bomb(path: Path, entries: int = 180_000) -> Path:
    """A 9 MB zip whose central directory lists 180,000 names (zipfile keeps a ZipInfo each,
    100 MB) that all point at one local header."""
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, 1, 0) + b"a"
    rows = b"".join(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0,
                                len(b"f%d" % i), 0, 0, 0, 0, 0, 0) + b"f%d" % i for i in range(entries))
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(rows), len(local), 0)
    path.write_bytes(local + rows + end)
    return path


UNPACK_AND_MEASURE = """
import resource, sys
from pathlib import Path
from grader.batch.intake import IntakeError, Submission, unpack
try:
    unpack(Submission("x", Path(sys.argv[1]), sys.argv[2]), Path(sys.argv[3]))
    print("unpacked")
except IntakeError as exc:
    print(exc)
try:  # this process image's own peak (ru_maxrss also counts the forked parent's pages)
    status = Path("/proc/self/status").read_text()
    print(int(status.split("VmHWM:")[1].split()[0]) * 1024)
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(peak * 1024 if sys.platform != "darwin" else peak)
"""


@pytest.mark.parametrize("build, kind, message", [
    (header_bomb, "tar.gz", "long-name (././@LongLink) header declares 1073741824 bytes (at most 65536)"),
    (lambda p: header_bomb(p, b"x"), "tar.gz", "pax header declares 1073741824 bytes (at most 65536)"),
    (lambda p: header_bomb(p, b"g"), "tar.gz", "global pax header declares 1073741824 bytes"),
    (keyword_bomb, "tar.gz", "malformed pax header"),
    (directory_bomb, "zip", "central directory declares 9428890 bytes (at most 1048576)"),
], ids=["long-name", "pax", "global pax", "pax keywords", "zip directory"])
def test_header_bombs_are_refused_in_little_memory(tmp_path: Path, build, kind, message):
    """tarfile and zipfile read a header's whole declared body before any cap can apply (1.1 GB
    for the long-name bomb); intake refuses it from the size field, in a fresh process whose
    peak memory is measured."""
    pytest.importorskip("resource")
    path = build(tmp_path / f"x.{kind}")
    assert path.stat().st_size < 10 << 20
    done = subprocess.run([sys.executable, "-c", UNPACK_AND_MEASURE, str(path), kind, str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    reason, peak = done.stdout.splitlines()
    assert message in reason
    assert int(peak) < 200 << 20, f"peak memory {int(peak) >> 20} MB"


def test_extension_headers_are_capped_in_number_and_in_total(tmp_path: Path):
    comment = pax_body({"comment": "c" * (EXTENSION_BYTES - 100)})
    chain = gz_stream(tmp_path / "chain.tar.gz", pax_member(comment) * 9 + file_member("a", b"x"))
    with pytest.raises(IntakeError, match="more than 8 extension headers in a row"):
        unpack(Submission("x", chain, "tar.gz"), tmp_path / "o1")
    group = pax_member(comment) * 8
    many = gz_stream(tmp_path / "many.tar.gz",
                     b"".join(group + file_member(f"f{i}", b"x") for i in range(40)))
    with pytest.raises(IntakeError, match="more than 10485760 bytes, headers included"):
        unpack(Submission("x", many, "tar.gz"), tmp_path / "o2")


@pytest.mark.parametrize("stream, message", [
    (raw_header("big.bin", b"0", 1 << 40), "big.bin is 1099511627776 bytes unpacked"),
    (pax_member(pax_body({"size": str(1 << 40)})) + raw_header("big.bin", b"0", 1),
     "big.bin is 1099511627776 bytes unpacked"),
    (raw_header("neg", b"0", -1), "declares -1 bytes for neg"),
    (raw_header("sparse", b"S", 10), "special file (sparse)"),
    (pax_member(pax_body({"GNU.sparse.map": "0,1"})) + raw_header("s", b"0", 1), "special file (s)"),
    (raw_header("cut", b"0", 1000) + b"x" * 100, "cut short"),
    (raw_header("a", b"0", 1)[:-1] + b"!", "checksum is wrong at byte 0"),
    (pax_member(b"5 path=x\n"), "malformed pax header"),
    (pax_member(pax_body({"path": "../up.py"})) + file_member("fine", b"x"), "leaves its folder"),
], ids=["huge", "pax size", "negative", "sparse", "pax sparse", "cut", "checksum", "pax record", "pax path"])
def test_malformed_tar_headers_are_refused(tmp_path: Path, stream, message):
    path = gz_stream(tmp_path / "x.tar.gz", stream)
    with pytest.raises(IntakeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        unpack(Submission("x", path, "tar.gz"), tmp_path / "out")


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_long_and_unicode_names_in_every_tar_format(tmp_path: Path, fmt):
    deep = "ws/" + "d" * 90 + "/notes.txt"  # over 100 characters: a long name, a pax path or a prefix
    members = {**ANSWERS, deep: b"n" * 700, "ws/caf\u00e9.txt": b"u", "ws/empty": b""}
    if fmt != tarfile.USTAR_FORMAT:
        members["ws/" + "f" * 150 + ".py"] = b"f"
    path = tmp_path / "s.tar.gz"
    with tarfile.open(path, "w:gz", format=fmt) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    root = unpack(Submission("s", path, "tar.gz"), tmp_path / "out")
    unpacked = {str(p.relative_to(root.parent)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert unpacked == members


def test_an_upload_over_the_archive_cap_is_refused_unread(tmp_path: Path):
    path = tmp_path / "huge.zip"
    with path.open("wb") as f:
        f.truncate(MAX_ARCHIVE_BYTES + 1)
    with pytest.raises(IntakeError, match=f"the archive is {MAX_ARCHIVE_BYTES + 1} bytes"):
        unpack(Submission("x", path, "zip"), tmp_path / "out")
