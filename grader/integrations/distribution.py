"""The grader as a wheel, for an image that installs it (the Gradescope autograder): a wheel
given by the instructor, the installed grader repacked, or, from a checkout, one built by pip."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from grader import DISTRIBUTION
from grader.course import COURSE_ROOT

ZIP_TIME = (2020, 1, 1, 0, 0, 0)
SOURCE_DATE = 1577836800  # ZIP_TIME, for a built wheel
# the metadata files a wheel carries (an installer adds its own: RECORD, INSTALLER,
# direct_url.json, uv_cache.json, ...; those describe the install, not the wheel)
WHEEL_METADATA = ("METADATA", "WHEEL", "entry_points.txt", "top_level.txt")
# a file only a wheel of this grader holds (its command line)
MARKER = "grader/cli/__init__.py"
# what pyproject.toml builds the wheel from
BUILD_INPUTS = ("pyproject.toml", "README.md", "grader", "bank", "solutions", "student_templates")


class WheelError(ValueError):
    """No wheel of the grader can be had (e.g. a file that is not one, or a failed build)."""


def grader_wheel(folder: Path, given: Path | None = None) -> Path:
    """A wheel of this grader in ``folder``: ``given`` checked, else the installed files
    repacked (installed from a wheel), else one built from the checkout."""
    if given is not None:
        return _checked(given)
    package = Path(__file__).resolve().parents[1]  # grader/
    if package / "course" == COURSE_ROOT:  # installed: the course lies inside the package
        dist = _installed(package)
        if dist is None:
            raise WheelError("the installed grader has no wheel metadata to repack: pass --wheel")
        return _repack(dist, folder)
    if not (package.parent / "pyproject.toml").is_file():
        raise WheelError("this grader is neither installed from a wheel nor a checkout: pass --wheel")
    return _build(package.parent, folder)


def _checked(path: Path) -> Path:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise WheelError(f"{path} is not a wheel: {exc}") from None
    if not path.name.endswith(".whl") or MARKER not in names:
        raise WheelError(f"{path} is not a wheel of the grader (no {MARKER} in it)")
    return path


def _installed(package: Path) -> metadata.Distribution | None:
    """The distribution whose wheel installed ``package`` (not, say, a stray egg-info)."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    if dist.read_text("WHEEL") is None:
        return None
    marker = Path(str(dist.locate_file(MARKER))).resolve()
    return dist if marker == package.parent / MARKER else None


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def _repack(dist: metadata.Distribution, folder: Path) -> Path:
    """The installed package and its metadata, as the wheel they came from (scripts are made
    again by the installer from entry_points.txt)."""
    info = f"{dist.metadata['Name'].replace('-', '_')}-{dist.version}.dist-info"
    members: list[tuple[str, bytes]] = []
    for file in sorted(dist.files or [], key=str):
        parts = file.parts
        inside = parts[0] == "grader" or (parts[0] == info and (
            parts[1:] in [(name,) for name in WHEEL_METADATA] or parts[1:2] == ("licenses",)))
        if not inside or "__pycache__" in parts or ".." in parts:
            continue
        members.append(("/".join(parts), Path(str(file.locate())).read_bytes()))
    if not any(name == MARKER for name, _ in members):
        raise WheelError("the installed grader lists no files to repack: pass --wheel")
    record = [f"{name},{_record_hash(data)},{len(data)}" for name, data in members]
    members.append((f"{info}/RECORD", ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{info.removesuffix('.dist-info')}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members:
            add_member(archive, name, data)
    return out


def add_member(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    """One file of a deterministic zip: fixed time, mode 644 (755 when ``executable``)."""
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o755 if executable else 0o644) << 16
    archive.writestr(info, data)


def _sources(checkout: Path) -> list[str]:
    """The files the wheel is built from: those git tracks under ``BUILD_INPUTS`` (an
    instructor's untracked notes, keys or backups stay out), else every file there but hidden
    ones and caches. A symbolic link is refused: it could bring in anything it points at."""
    tracked = subprocess.run(["git", "-C", str(checkout), "ls-files", "-z", "--", *BUILD_INPUTS],
                             capture_output=True, timeout=60) if shutil.which("git") else None
    if tracked is not None and tracked.returncode == 0 and tracked.stdout:
        names = [n for n in tracked.stdout.decode("utf-8", "surrogateescape").split("\0") if n]
        untracked = subprocess.run(["git", "-C", str(checkout), "ls-files", "-z", "--others",
                                    "--exclude-standard", "--", "grader"], capture_output=True, timeout=60)
        modules = [n for n in untracked.stdout.decode("utf-8", "surrogateescape").split("\0")
                   if n.endswith(".py")]
        if modules:  # the tracked code may import it: a wheel without it would fail in the image
            raise WheelError(f"{', '.join(modules)} {'is' if len(modules) == 1 else 'are'} not tracked by "
                             "git: 'git add' (or remove) before building the grader's wheel")
    else:
        roots = [checkout / name for name in BUILD_INPUTS]
        found = [p.relative_to(checkout) for root in roots
                 for p in ([root] if root.is_file() else root.rglob("*"))]
        names = [p.as_posix() for p in found
                 if not any(part.startswith(".") or part == "__pycache__" for part in p.parts)]
    for name in names:
        if (checkout / name).is_symlink():
            raise WheelError(f"{checkout / name} is a symbolic link: the grader's wheel takes no links")
    return [n for n in names if (checkout / n).is_file()]


def _build(checkout: Path, folder: Path) -> Path:
    """pip's wheel of a copy of the checkout's sources (an in-tree build/ keeps stale files),
    its members rewritten with fixed times and modes (a umask would change the bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "source"
    for name in _sources(checkout):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(checkout / name, source / name)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(SOURCE_DATE)}  # the same source, the same bytes
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder),
                          str(source)], capture_output=True, text=True, timeout=600, env=env)
    wheels = sorted(folder.glob("lm_workbook_grader-*.whl"))
    if run.returncode != 0 or not wheels:
        raise WheelError(f"could not build the grader's wheel from the files git tracks in {checkout} "
                         "('git add' a new file; or pass --wheel): "
                         f"{(run.stderr or run.stdout).strip()[-500:]}")
    with zipfile.ZipFile(wheels[-1]) as built:
        members = [(info.filename, built.read(info)) for info in built.infolist() if not info.is_dir()]
    with zipfile.ZipFile(wheels[-1], "w") as archive:
        for name, data in members:
            add_member(archive, name, data)
    return wheels[-1]
