"""A workspace's state folder, ``.grade``: every read and write under it, never through a link.

A workspace is a folder anyone may have filled, so ``.grade`` (or a file in it) can be a
symbolic link that would make ``grade check`` write its progress somewhere else, or read a
file from elsewhere as its own. Nothing under ``.grade`` is used except through this module:

- ``.grade`` is checked with ``os.lstat`` and opened with ``O_DIRECTORY | O_NOFOLLOW``; files
  are opened relative to that descriptor with ``O_NOFOLLOW`` (and ``O_NONBLOCK``, so a FIFO
  cannot hang a check), and must be regular files.
- A write goes to a fresh temporary name (``O_CREAT | O_EXCL``) that is then renamed over the
  file (``grader.core.fileio.write_atomic``): a rename replaces a link, it never writes through one.
- ``update_state`` reads, changes and writes a file under a lock (``.NAME.lock`` beside it)
  that threads and processes take in turn, so concurrent updates all keep their change;
  ``state_lock`` holds that lock around a longer read-modify-write.
- A link, or something that is not a folder or a file, is refused with a ``StateError`` (a
  ``WorkspaceError``, so the CLI prints it and exits 2) before anything is read or written.

Windows has neither ``O_NOFOLLOW`` nor ``dir_fd``: there the same ``os.lstat`` checks (links
and junctions) are made just before each use, with the paths themselves.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from grader.core.fileio import WorkspaceError, exclusive, write_atomic

MAX_STATE_BYTES = 16 << 20

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_DIR_FD = bool(_NOFOLLOW and _DIRECTORY) and {os.open, os.rename, os.unlink, os.stat} <= os.supports_dir_fd
# Windows: symbolic links and junctions (not every reparse point: OneDrive's files are some)
_LINK_TAGS = {getattr(stat, "IO_REPARSE_TAG_SYMLINK", -1), getattr(stat, "IO_REPARSE_TAG_MOUNT_POINT", -1)}


class StateError(WorkspaceError):
    """``.grade`` or a file in it is a link, or not a folder or file: nothing there is used."""


def _lstat(path: Path, dir_fd: int | None = None) -> os.stat_result | None:
    try:
        if dir_fd is not None:
            return os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False)
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _refuse(path: Path, st: os.stat_result | None, folder: bool) -> None:
    if st is None:
        return
    if stat.S_ISLNK(st.st_mode) or getattr(st, "st_reparse_tag", 0) in _LINK_TAGS:
        raise StateError(f"{path} is a symbolic link; remove it (grade keeps its state in a "
                         "real folder and never reads or writes through a link)")
    if folder and not stat.S_ISDIR(st.st_mode):
        raise StateError(f"{path} is not a folder; remove it (grade keeps its state there)")
    if not folder and not stat.S_ISREG(st.st_mode):
        raise StateError(f"{path} is not a regular file; remove it")


def check_state(state_dir: Path, *names: str) -> None:
    """Refuse ``state_dir`` or any of the files ``names`` in it that is a link, or not a
    folder or file; a missing one is fine (it is created when first written)."""
    st = _lstat(state_dir)
    _refuse(state_dir, st, folder=True)
    if st is not None:
        for name in names:
            _refuse(state_dir / name, _lstat(state_dir / name), folder=False)


@contextlib.contextmanager
def _folder(state_dir: Path) -> Iterator[int | None]:
    """A descriptor of the real folder ``state_dir`` (None where ``dir_fd`` is not supported)."""
    _refuse(state_dir, _lstat(state_dir), folder=True)
    if not _DIR_FD:
        yield None
        return
    try:
        fd = os.open(state_dir, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
    except OSError:  # a link swapped in since the check: ELOOP (Linux, macOS), EMLINK (BSD)
        _refuse(state_dir, _lstat(state_dir), folder=True)
        raise
    try:
        yield fd
    finally:
        os.close(fd)


def _open(state_dir: Path, name: str, flags: int, dir_fd: int | None) -> int:
    path = state_dir / name
    if dir_fd is None:
        _refuse(path, _lstat(path), folder=False)
    try:
        if dir_fd is not None:
            return os.open(name, flags | _NOFOLLOW | _BINARY, 0o644, dir_fd=dir_fd)
        return os.open(path, flags | _NOFOLLOW | _BINARY, 0o644)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENXIO, errno.EISDIR):
            _refuse(path, _lstat(path, dir_fd), folder=False)
        raise


def read_state(state_dir: Path, name: str) -> str | None:
    """The text of ``state_dir/name``, or None when it does not exist.

    Raises StateError for a link or a non-file, ValueError when it is too large or not UTF-8.
    """
    if _lstat(state_dir) is None:
        return None
    with _folder(state_dir) as dir_fd:
        try:
            fd = _open(state_dir, name, os.O_RDONLY | _NONBLOCK, dir_fd)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as fh:
            _refuse(state_dir / name, os.fstat(fd), folder=False)
            data = fh.read(MAX_STATE_BYTES + 1)
    if len(data) > MAX_STATE_BYTES:
        raise ValueError(f"{state_dir / name} is over {MAX_STATE_BYTES} bytes")
    return data.decode("utf-8")


def write_state(state_dir: Path, name: str, text: str) -> None:
    """Replace ``state_dir/name`` with ``text`` atomically, creating ``state_dir`` if needed."""
    check_state(state_dir, name)
    with contextlib.suppress(FileExistsError):
        os.mkdir(state_dir)
    with _folder(state_dir) as dir_fd:
        if dir_fd is not None:
            write_atomic(name, text, mode=0o644, dir_fd=dir_fd)
        else:
            write_atomic(state_dir / name, text, mode=0o644)


@contextlib.contextmanager
def state_lock(state_dir: Path, name: str) -> Iterator[None]:
    """Hold the lock of ``state_dir/name`` (``.NAME.lock`` beside it), which threads and
    processes take in turn, for a read-modify-write of it: ``update_state``'s, or one that runs
    for a while in between (``grade check``: load the progress, check, save it)."""
    check_state(state_dir, name)
    with contextlib.suppress(FileExistsError):
        os.mkdir(state_dir)
    lock = f".{name}.lock"
    with _folder(state_dir) as dir_fd:
        fd = _open(state_dir, lock, os.O_RDWR | os.O_CREAT, dir_fd)
    try:
        _refuse(state_dir / lock, os.fstat(fd), folder=False)
        with exclusive(fd, os.path.realpath(state_dir / name)):
            yield
    finally:
        os.close(fd)


def update_state(state_dir: Path, name: str, change: Callable[[str | None], str]) -> None:
    """Replace ``state_dir/name`` with ``change(its text)`` (None when it is missing, too large
    or not UTF-8) while holding its lock, so that threads and processes updating it at once
    each keep their change."""
    with state_lock(state_dir, name):
        try:
            text = read_state(state_dir, name)
        except ValueError:
            text = None
        write_state(state_dir, name, change(text))
