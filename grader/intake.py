"""Read a class's submissions safely: workspace folders, ``.zip`` and ``.tar.gz`` archives.

Archives are untrusted. Nothing is extracted that would land outside the target folder
(``../``, absolute paths), links and special files are refused, and sizes are capped
before anything is written (total bytes, member count, per-member bytes, compression
ratio), so a zip bomb costs nothing. Each problem becomes a clear reason for that student.
"""

from __future__ import annotations

import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_TOTAL_BYTES = 8 << 20
MAX_MEMBERS = 200
MAX_MEMBER_BYTES = 2 << 20
MAX_RATIO = 200
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


JUNK = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}


class IntakeError(ValueError):
    """A submission that cannot be read; the message is the student's error row."""


@dataclass(frozen=True)
class Submission:
    """One student's entry in the submissions folder."""

    student: str
    path: Path
    kind: str  # "folder", "zip" or "tar.gz"


def student_id(entry: Path) -> tuple[str, str] | None:
    """(id, kind) for a submissions-folder entry, or None when it is not a submission."""
    name = entry.name
    if name.startswith("."):
        return None
    if entry.is_dir() and not entry.is_symlink():
        kind, sid = "folder", name
    elif name.endswith(".zip"):
        kind, sid = "zip", name[:-4]
    elif name.endswith(".tar.gz") or name.endswith(".tgz"):
        kind, sid = "tar.gz", name[: -7 if name.endswith(".tar.gz") else -4]
    else:
        return None
    return (sid, kind) if valid_student_id(sid) else None


WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                    *(f"lpt{i}" for i in range(10))}


def valid_student_id(sid: str) -> bool:
    """Plain ASCII, no path parts, safe as a file name on every OS."""
    return bool(STUDENT_ID.fullmatch(sid)) and not sid.endswith(".") \
        and sid.split(".")[0].lower() not in WINDOWS_RESERVED


def list_submissions(folder: Path) -> tuple[list[Submission], list[str]]:
    """Submissions sorted by student id, and warnings about entries that were skipped."""
    found: dict[str, Submission] = {}
    warnings = []
    for entry in sorted(folder.iterdir()):
        parsed = student_id(entry)
        if parsed is None:
            warnings.append(f"skipped {entry.name}: not a folder, .zip or .tar.gz with a plain name")
            continue
        sid, kind = parsed
        clash = next((k for k in found if k.lower() == sid.lower()), None)
        if clash is not None:  # ids differing only by case would share a file on macOS/Windows
            warnings.append(f"skipped {entry.name}: student {clash} already has {found[clash].path.name}")
            continue
        found[sid] = Submission(sid, entry, kind)
    return [found[k] for k in sorted(found)], warnings


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


def _extract_zip(path: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
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


def _extract_tar(path: Path, dest: Path) -> None:
    """Walk the members one by one, applying every cap as they come (never list them all)."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            count = total = 0
            while (member := archive.next()) is not None:
                count += 1
                total += member.size
                if count > MAX_MEMBERS:
                    raise IntakeError(f"the archive holds more than {MAX_MEMBERS} files")
                name = _safe_name(member.name)
                _budget([(member.name, member.size, 0)])
                if total > MAX_TOTAL_BYTES:
                    raise IntakeError(f"the archive unpacks to more than {MAX_TOTAL_BYTES} bytes")
                if member.issym() or member.islnk():
                    raise IntakeError(f"the archive holds a link ({shown(member.name)})")
                if not (member.isfile() or member.isdir()) or member.issparse():
                    raise IntakeError(f"the archive holds a special file ({shown(member.name)})")
                _place(dest, name, member.isdir(), lambda member=member: _tar_source(archive, member),
                       member.size)
    except IntakeError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise IntakeError(f"not a readable .tar.gz file ({type(exc).__name__}: {shown(str(exc))})") from None


def _tar_source(archive: tarfile.TarFile, member: tarfile.TarInfo):
    source = archive.extractfile(member)
    if source is None:
        raise IntakeError(f"cannot read {shown(member.name)}")
    return source


def _copy_folder(path: Path, dest: Path) -> None:
    files = list(_walk(path))
    _budget([(str(f.relative_to(path)), f.stat().st_size, 0) for f in files])
    for f in files:
        target = dest / f.relative_to(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)


def _walk(root: Path) -> Iterator[Path]:
    """Regular files under ``root``; links (of any kind) are refused, not followed."""
    for entry in sorted(root.rglob("*")):
        if entry.is_symlink():
            raise IntakeError(f"the submission holds a symbolic link ({shown(str(entry.relative_to(root)))})")
        if entry.is_file():
            yield entry


def unpack(submission: Submission, dest: Path) -> Path:
    """Put the submission's files in the empty folder ``dest``; returns the workspace root.

    A single top-level folder holding the workspace (as most zip tools make) is its root.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if submission.kind == "folder":
        _copy_folder(submission.path, dest)
    elif submission.kind == "zip":
        _extract_zip(submission.path, dest)
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
