"""Read a class's submissions safely: workspace folders, ``.zip`` and ``.tar.gz`` archives, and
the loose files of an LMS download (``grader.batch.sources`` says whose they are).

Archives are untrusted. Nothing is extracted that would land outside the target folder
(``../``, absolute paths), links and special files are refused, and sizes are capped
before anything is written (total bytes, member count, per-member bytes, compression
ratio), so a zip bomb costs nothing. The archive's own structure is capped too: the upload's
size, a zip's central directory, and every tar header (read by our own parser, never by
``tarfile``, whose long-name and pax handling reads a header's declared body whole), so the
grader's memory stays small whatever an archive declares. Each problem becomes a clear
reason for that student.
"""

from __future__ import annotations

import gzip
import io
import re
import shutil
import stat
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from grader.core.fileio import read_capped

MAX_TOTAL_BYTES = 8 << 20
MAX_MEMBERS = 200
MAX_MEMBER_BYTES = 2 << 20
MAX_RATIO = 200
# Archive structure, beyond the files themselves: tar headers and padding, a zip's directory.
HEADER_ALLOWANCE = 2 << 20
MAX_ARCHIVE_BYTES = MAX_TOTAL_BYTES + HEADER_ALLOWANCE  # the upload itself
READ_LIMIT = MAX_TOTAL_BYTES + HEADER_ALLOWANCE  # decompressed tar bytes read, headers included
EXTENSION_BYTES = 64 << 10  # one long-name or pax header's body
MAX_EXTENSIONS = 8  # extension headers before one member
ZIP_DIRECTORY_BYTES = 1 << 20  # a zip's central directory (200 entries need about 60 KiB)
BLOCK = 512
EXTENSIONS = {b"L": "long-name (././@LongLink)", b"K": "long-link-name", b"x": "pax",
              b"X": "pax", b"g": "global pax"}


JUNK = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}
MANIFEST, MAX_MANIFEST_BYTES = "grade.yaml", 256 << 10
SKIPPED_FOLDERS = {".git"}  # a cloned repository's history: never graded, often over the caps
ARCHIVES = (".zip", ".tar.gz", ".tgz")


class IntakeError(ValueError):
    """A submission that cannot be read; the message is the student's error row."""


@dataclass(frozen=True)
class Submission:
    """One student's entry in the submissions folder."""

    student: str
    path: Path
    kind: str  # "folder", "zip", "tar.gz", or "files": an LMS download's loose files
    files: tuple[tuple[str, Path], ...] = ()  # kind "files": (name in the workspace, the file)
    source: str = ""  # where it came from ("canvas", "gradescope", "github classroom"); "" a plain entry
    submitted_at: str | None = None  # ISO 8601, from the LMS's metadata
    late: bool | None = None  # the LMS marked it late (Canvas's LATE)
    identity: Mapping[str, str] = field(default_factory=dict)  # the LMS's names for the student

    def record(self) -> dict[str, object]:
        """What a result records about where the submission came from (empty for a plain entry)."""
        if not self.source:
            return {}
        out: dict[str, object] = {"source": self.source, "entry": shown(self.path.name)}
        if self.submitted_at:
            out["submitted_at"] = self.submitted_at
        if self.late is not None:
            out["marked_late"] = self.late
        return out


def shown(name: str) -> str:
    """A member name safe to put in a message: printable ASCII, at most 80 characters."""
    return ascii(name)[1:-1][:80]


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise IntakeError(f"the archive holds an absolute path ({shown(name)})")
    if any(part == ".." for part in path.parts):
        raise IntakeError(f"the archive holds a path that leaves its folder ({shown(name)})")
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in name) or len(name) > 255:
        raise IntakeError(f"the archive holds a file name that is too long or not text ({shown(name)})")
    return path


def _budget(members: list[tuple[str, int, int]]) -> None:
    """Refuse archives whose declared sizes break a cap: (name, size, compressed size)."""
    if len(members) > MAX_MEMBERS:
        raise IntakeError(f"the archive holds {len(members)} files (at most {MAX_MEMBERS})")
    total = 0
    for name, size, packed in members:
        if size > MAX_MEMBER_BYTES:
            raise IntakeError(f"{shown(name)} is {size} bytes unpacked (at most {MAX_MEMBER_BYTES})")
        if packed and size / packed > MAX_RATIO and size > 1 << 20:
            raise IntakeError(f"{shown(name)} expands {size // packed}x: refused as a possible zip bomb")
        total += size
    if total > MAX_TOTAL_BYTES:
        raise IntakeError(f"the archive unpacks to {total} bytes (at most {MAX_TOTAL_BYTES})")


def _write_capped(source, target: Path, limit: int) -> None:
    """Copy at most ``limit`` bytes; more means the archive lied about a size."""
    written = 0
    with target.open("wb") as out:
        while chunk := source.read(1 << 16):
            written += len(chunk)
            if written > limit:
                raise IntakeError(f"{shown(target.name)} is larger than its archive entry says")
            out.write(chunk)


def _place(dest: Path, name: PurePosixPath, is_dir: bool, open_source, size: int) -> None:
    """Create one checked archive member under ``dest``: a folder, or a file of at most ``size``."""
    target = dest.joinpath(*name.parts)
    if is_dir:
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with open_source() as source:
        _write_capped(source, target, size)


def _check_archive_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_ARCHIVE_BYTES:
        raise IntakeError(f"the archive is {size} bytes (at most {MAX_ARCHIVE_BYTES})")


class _CappedFile(io.RawIOBase):
    """A file for ``zipfile`` that refuses any single read over ``ZIP_DIRECTORY_BYTES``.

    ``zipfile`` reads the whole central directory at once, at the size the end record declares,
    and keeps a ``ZipInfo`` per entry: capping that read caps what the directory costs.
    Member data is read in small chunks and never comes near the cap.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            here = self.raw.tell()
            size = self.raw.seek(0, 2) - here
            self.raw.seek(here)
        if size > ZIP_DIRECTORY_BYTES:
            raise IntakeError(f"the archive's central directory declares {size} bytes "
                              f"(at most {ZIP_DIRECTORY_BYTES})")
        return self.raw.read(size)


def _extract_zip(path: Path, dest: Path) -> None:
    try:
        _check_archive_size(path)
        with path.open("rb") as raw, zipfile.ZipFile(_CappedFile(raw)) as archive:
            infos = archive.infolist()
            for info in infos:
                _safe_name(info.filename)
            _budget([(i.filename, i.file_size, i.compress_size) for i in infos])
            for info in infos:
                name = _safe_name(info.filename)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise IntakeError(f"the archive holds a symbolic link ({shown(info.filename)})")
                _place(dest, name, info.is_dir(), lambda info=info: archive.open(info), info.file_size)
    except IntakeError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError,
            UnicodeDecodeError, ValueError) as exc:
        raise IntakeError(f"not a readable .zip file ({type(exc).__name__}: {shown(str(exc))})") from None


class _TarStream:
    """The decompressed bytes of a ``.tar.gz``, handed out with every byte counted.

    No read is larger than ``EXTENSION_BYTES`` or 64 KiB of member data, and no more than
    ``MAX_TOTAL_BYTES + HEADER_ALLOWANCE`` bytes are read in all, headers included.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.used = raw, 0

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or fewer at the end of the stream."""
        if self.used + size > READ_LIMIT:
            raise IntakeError(f"the archive unpacks to more than {READ_LIMIT} bytes, headers included")
        self.used += size
        parts, left = [], size
        while left and (chunk := self.raw.read(left)):
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def read_exact(self, size: int, what: str) -> bytes:
        data = self.read(size)
        if len(data) < size:
            raise IntakeError(f"the archive is cut short (in {what})")
        return data


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _number(field: bytes, what: str) -> int:
    """A header number: octal text, or GNU base-256 (first byte 0x80, or 0xff when negative)."""
    if field[:1] in (b"\x80", b"\xff"):
        value = int.from_bytes(field[1:], "big")
        return value - (1 << (8 * (len(field) - 1))) if field[0] == 0xFF else value
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    if not all(48 <= c <= 55 for c in text):
        raise IntakeError(f"the archive has a header with an unreadable {what}")
    return int(text, 8)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _checksum_ok(header: bytes) -> bool:
    """The stored checksum matches the header summed as unsigned or (old tars) signed bytes."""
    stored = _number(header[148:156], "checksum")
    blanked = header[:148] + b" " * 8 + header[156:]
    return stored in (sum(blanked), sum(b - 256 if b > 127 else b for b in blanked))


def _pax_records(body: bytes) -> dict[str, str]:
    """The records of a pax header, ``"LEN key=value\\n"`` each, read strictly."""
    records, pos = {}, 0
    while pos < len(body) and body[pos]:
        space = body.find(b" ", pos, pos + 21)
        digits = body[pos:space] if space > pos else b""
        if not digits.isdigit():
            raise IntakeError("the archive has a malformed pax header")
        end = pos + int(digits)
        record = body[space + 1:end]
        key, sep, value = record[:-1].partition(b"=")
        if end > len(body) or record[-1:] != b"\n" or not sep or not key:
            raise IntakeError("the archive has a malformed pax header")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        pos = end
    return records


class _TarMember:
    """A regular member's data, read from the stream in chunks of at most 64 KiB."""

    def __init__(self, stream: _TarStream, size: int) -> None:
        self.stream, self.left = stream, size

    def __enter__(self) -> _TarMember:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read(self, size: int) -> bytes:
        data = self.stream.read_exact(min(size, self.left, 1 << 16), "a file's data")
        self.left -= len(data)
        return data


def _extract_tar(path: Path, dest: Path) -> None:
    """Read the tar stream with our own header parser, applying every cap as headers come.

    ``tarfile`` reads a long-name or pax header's whole body before anyone can check its size,
    and parses pax records in ways that cost far more memory than the header (quadratic
    keywords) and time (backtracking): it never sees a student's archive.
    """
    try:
        _check_archive_size(path)
        with gzip.open(path, "rb") as raw:
            _walk_tar(_TarStream(raw), dest)  # type: ignore[arg-type]  # a GzipFile reads bytes
    except IntakeError:
        raise
    except (EOFError, OSError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise IntakeError(f"not a readable .tar.gz file ({type(exc).__name__}: {shown(str(exc))})") from None


def _walk_tar(stream: _TarStream, dest: Path) -> None:
    count = total = extensions = 0
    long_name: str | None = None
    pax: dict[str, str] = {}
    while True:
        header = stream.read(BLOCK)
        if not header.strip(b"\0"):  # the end-of-archive block, or the end of the stream
            return
        if len(header) < BLOCK:
            raise IntakeError("the archive is cut short (in a header)")
        if not _checksum_ok(header):
            raise IntakeError("not a readable .tar.gz file (a header's checksum is wrong at byte "
                              f"{stream.used - BLOCK})")
        kind, size = header[156:157], _number(header[124:136], "size")
        if kind in EXTENSIONS:
            label = EXTENSIONS[kind]
            extensions += 1
            if not 0 <= size <= EXTENSION_BYTES:
                raise IntakeError(f"the archive's {label} header declares {size} bytes "
                                  f"(at most {EXTENSION_BYTES})")
            if extensions > MAX_EXTENSIONS:
                raise IntakeError(f"the archive has more than {MAX_EXTENSIONS} extension headers in a row")
            body = stream.read_exact(_padded(size), f"a {label} header")[:size]
            if kind == b"L":
                long_name = _text(body)
            elif kind in (b"x", b"X"):
                pax.update(_pax_records(body))
            elif kind == b"g" and {"path", "size"} & set(_pax_records(body)):
                raise IntakeError("the archive's global pax header sets a path or size")
            continue
        extensions = 0
        name = _text(header[0:100])
        if header[257:263] == b"ustar\x00" and header[345:346] != b"\0":  # POSIX: a name prefix
            name = _text(header[345:500]) + "/" + name
        name = pax.get("path", long_name if long_name is not None else name)
        if any(key.startswith("GNU.sparse") for key in pax) or kind == b"S":
            raise IntakeError(f"the archive holds a special file ({shown(name)})")
        if "size" in pax:
            if not pax["size"].isdigit() or len(pax["size"]) > 20:
                raise IntakeError(f"the archive has an unreadable size for {shown(name)}")
            size = int(pax["size"])
        long_name, pax = None, {}
        is_dir = kind == b"5" or (kind == b"\0" and name.endswith("/"))
        count += 1
        if count > MAX_MEMBERS:
            raise IntakeError(f"the archive holds more than {MAX_MEMBERS} files")
        safe = _safe_name(name)
        if kind in (b"1", b"2"):
            raise IntakeError(f"the archive holds a link ({shown(name)})")
        if not is_dir and kind not in (b"0", b"\0", b"7"):
            raise IntakeError(f"the archive holds a special file ({shown(name)})")
        if size < 0 or (is_dir and size):
            raise IntakeError(f"the archive declares {size} bytes for {shown(name)}")
        _budget([(name, size, 0)])
        total += size
        if total > MAX_TOTAL_BYTES:
            raise IntakeError(f"the archive unpacks to more than {MAX_TOTAL_BYTES} bytes")
        member = _TarMember(stream, size)
        _place(dest, safe, is_dir, lambda member=member: member, size)
        stream.read_exact(_padded(size) - size + member.left, "a file's data")


def _copy_folder(path: Path, dest: Path) -> None:
    if not path.is_dir():
        raise IntakeError(f"the submission's folder {shown(path.name)} is missing")
    files = list(_walk(path))
    _budget([(str(f.relative_to(path)), f.stat().st_size, 0) for f in files])
    for f in files:
        target = dest / f.relative_to(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)


def _place_files(files: Iterable[tuple[str, Path]], dest: Path) -> None:
    """An LMS download's loose files, each under its name in the workspace; an archive among
    them (one at most) is unpacked there too."""
    archives = [(n, p) for n, p in files if n.lower().endswith(ARCHIVES)]
    if len(archives) > 1:
        raise IntakeError(f"the submission holds {len(archives)} archives "
                          f"({', '.join(shown(n) for n, _p in archives)}): hand in one")
    plain = [(n, p) for n, p in files if not n.lower().endswith(ARCHIVES)]
    for name, path in plain:
        if path.is_symlink() or not path.is_file():
            raise IntakeError(f"{shown(name)} is not a regular file")
    _budget([(n, p.stat().st_size, 0) for n, p in plain])
    for name, path in plain:
        target = dest.joinpath(*_safe_name(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    for name, path in archives:
        (_extract_zip if name.lower().endswith(".zip") else _extract_tar)(path, dest)


def arrange_flat(root: Path, wanted: Iterable[str]) -> None:
    """A flat upload (answers.yaml and the code files side by side, as Gradescope's drag and drop
    and an LMS's file uploads give them): each ``wanted`` workspace path that is missing, with a
    file of its name at the top, gets that file."""
    for relative in wanted:
        target = root / relative
        loose = root / PurePosixPath(relative).name
        if target == loose or target.exists() or target.is_symlink() or loose.is_symlink() \
                or not loose.is_file():
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            loose.rename(target)
        except OSError:  # a file where the folder should be: left as handed in
            continue


def _walk(root: Path) -> Iterator[Path]:
    """Regular files under ``root``; links (of any kind) are refused, not followed."""
    for entry in sorted(root.rglob("*")):
        if SKIPPED_FOLDERS & set(entry.relative_to(root).parts):
            continue
        if entry.is_symlink():
            raise IntakeError(f"the submission holds a symbolic link ({shown(str(entry.relative_to(root)))})")
        if entry.is_file():
            yield entry


def manifest_bytes(submission: Submission) -> bytes | None:
    """The submission's grade.yaml, read without unpacking it: at its top or in its one top
    folder (a folder's, a zip's), or among its loose files. None where there is none, or where
    it cannot be read cheaply (a .tar.gz, a file over the cap, a broken archive)."""
    try:
        if submission.kind == "folder":
            tops = [submission.path,
                    *(d for d in submission.path.iterdir() if d.is_dir() and not d.is_symlink())]
            path = next((d / MANIFEST for d in tops if (d / MANIFEST).is_file()
                         and not (d / MANIFEST).is_symlink()), None)
        elif submission.kind == "files":
            path = next((p for name, p in submission.files if name == MANIFEST), None)
        elif submission.kind == "zip":
            _check_archive_size(submission.path)
            with submission.path.open("rb") as raw, zipfile.ZipFile(_CappedFile(raw)) as archive:
                info = next((i for i in archive.infolist() if PurePosixPath(i.filename).name == MANIFEST
                             and len(PurePosixPath(i.filename).parts) <= 2), None)
                return archive.read(info) if info is not None and info.file_size <= MAX_MANIFEST_BYTES \
                    else None
        else:
            return None
        return read_capped(path, label=MANIFEST, max_bytes=MAX_MANIFEST_BYTES) if path is not None else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError, zlib.error):
        return None  # IntakeError and YamlError are ValueErrors: grading says what is wrong


def unpack(submission: Submission, dest: Path) -> Path:
    """Put the submission's files in the empty folder ``dest``; returns the workspace root.

    A single top-level folder holding the workspace (as most zip tools make) is its root.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if submission.kind == "folder":
        _copy_folder(submission.path, dest)
    elif submission.kind == "zip":
        _extract_zip(submission.path, dest)
    elif submission.kind == "files":
        _place_files(submission.files, dest)
    else:
        _extract_tar(submission.path, dest)
    entries = [e for e in dest.iterdir() if e.name not in JUNK]
    if not entries:
        raise IntakeError("the submission is empty")
    markers = ("answers.yaml", "grade.yaml")
    root = dest
    if len(entries) == 1 and entries[0].is_dir() and any((entries[0] / m).exists() for m in markers):
        root = entries[0]
    if (root / "answers.yaml").exists() and not (root / "answers.yaml").is_file():
        raise IntakeError("answers.yaml is not a file")
    return root
