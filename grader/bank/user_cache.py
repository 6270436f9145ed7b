"""The running user's cache of what every student command would otherwise redo: the bank's
files parsed and schema-validated, and the digests of workspace manifests that passed their
schema. With it a ``grade check`` of unchanged files imports neither jsonschema nor its
format modules.

It is off unless a caller turns it on (``with user_cache():``). Only the student-side commands
of the CLI do (``check``, ``progress``, ``init``, ``list``, ``show``, ``errata``): ``grade
validate``, ``grade batch``, the Gradescope commands and every library call load and validate
everything, so nothing in a cache folder ever reaches grading.

What is trusted, and why:

- The folder is the running user's (``$GRADE_CACHE_DIR``, else the platform's user cache
  folder): whoever can write there can already edit the bank and the workspace it speeds up.
  It must be a real folder owned by the user and closed to writes by others, and each file a
  regular file of the user's, or it is not used.
- Entries are JSON (never pickle) in an envelope ``{"format", "key", "sha256"}`` followed by the
  payload: an entry is used only when its format, its key and the payload's checksum match.
- A bank's key is the digest of the bytes of every chapter file and of ``kernels/kernels.yaml``,
  the schemas, the grader's version, the sources that parse and validate the bank, and PyYAML's
  version: editing any of them is a miss. The bank is stored only after a load that found no
  problem, and only the documents whose values are JSON's own (so they come back identical).
- A miss, an unreadable or corrupt entry, or a folder that cannot be written is never an
  error: the bank is loaded and validated in full, exactly as without the cache.

``GRADE_NO_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from grader import DISTRIBUTION, __version__
from grader.core.fileio import YamlError, read_capped, write_atomic
from grader.core.problems import MAX_FILE_BYTES  # a bank file over it is a problem, never cached

FORMAT = 1
APP = DISTRIBUTION
MAX_ENTRY_BYTES = 32 << 20
MAX_MANIFESTS = 64  # digests of valid manifests remembered, newest first

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_active = False


@contextlib.contextmanager
def user_cache() -> Iterator[None]:
    """Within it, ``load_bank`` and ``read_manifest`` use the running user's cache."""
    global _active
    previous, _active = _active, True
    try:
        yield
    finally:
        _active = previous


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is off (or there is no home to put it in)."""
    if not _active or os.environ.get("GRADE_NO_CACHE", "") not in ("", "0"):
        return None
    if os.environ.get("GRADE_CACHE_DIR"):
        return Path(os.environ["GRADE_CACHE_DIR"])
    try:
        if sys.platform == "win32":
            base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
            return base / APP / "Cache"
        if sys.platform == "darwin":
            return Path.home() / "Library" / "Caches" / APP
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / APP
    except RuntimeError:  # no home folder
        return None


def _owned(st: os.stat_result) -> bool:
    """The user's own, and (POSIX) not writable by anyone else."""
    if not hasattr(os, "getuid"):
        return True
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _folder(create: bool) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
    except OSError:
        return None
    return folder if stat.S_ISDIR(st.st_mode) and _owned(st) else None


def _read(name: str) -> bytes | None:
    folder = _folder(create=False)
    if folder is None:
        return None
    try:
        fd = os.open(folder / name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _BINARY)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not _owned(st) or st.st_size > MAX_ENTRY_BYTES:
            return None
        try:
            return fh.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None


def _write(name: str, data: bytes) -> None:
    """Replace the entry atomically (``grader.core.fileio.write_atomic``); failures are ignored."""
    folder = _folder(create=True)
    if folder is None:
        return
    with contextlib.suppress(OSError):
        write_atomic(folder / name, data, mode=0o600)


def _pack(key: str, payload: Any) -> bytes:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    head = json.dumps({"format": FORMAT, "key": key, "sha256": hashlib.sha256(body).hexdigest()})
    return head.encode("utf-8") + b"\n" + body


_MISS = object()


def _unpack(data: bytes | None, key: str) -> Any:
    """The payload of an entry stored under ``key``; ``_MISS`` for anything else."""
    if not data:
        return _MISS
    head, _, body = data.partition(b"\n")
    try:
        header = json.loads(head)
        if header != {"format": FORMAT, "key": key, "sha256": hashlib.sha256(body).hexdigest()}:
            return _MISS
        return json.loads(body)
    except (ValueError, RecursionError):
        return _MISS


def is_plain(value: Any) -> bool:
    """Only JSON's own types (dicts with string keys, lists, str, int, float, bool, None): such
    a value comes back from JSON exactly as it went in."""
    kind = type(value)
    try:
        if kind is dict:
            return all(type(k) is str and is_plain(v) for k, v in value.items())
        if kind is list:
            return all(is_plain(v) for v in value)
    except RecursionError:
        return False
    return kind in (str, int, float, bool, type(None))


def _schema(name: str) -> bytes:
    return resources.files("grader").joinpath(f"schemas/{name}").read_bytes()


def _source(module: str) -> bytes:
    """The source of a module of the grader that parses or validates what is cached."""
    try:
        spec = importlib.util.find_spec(module)
        return Path(spec.origin).read_bytes() if spec and spec.origin else b""
    except (OSError, ImportError, ValueError):  # a miss is never an error
        return b""


@dataclass
class BankSnapshot:
    """The bytes of a bank's files as read once, and the key they give."""

    entry: str  # the cache file's name, one per bank folder
    key: str
    data: dict[Path, bytes] = field(default_factory=dict)
    kernels: Path | None = None  # kernels/kernels.yaml, when the bank has one


@dataclass
class CachedBank:
    chapters: list[dict[str, Any]]  # the documents of the chapter files, in order
    kernels: dict[str, Any] | None  # the kernels document


def bank_snapshot(bank_dir: Path, files: Sequence[Path], kernels_file: Path) -> BankSnapshot | None:
    """Read the bank's files once and key them; None when the cache is off or a file is not a
    readable file under the loader's size limit (the plain load then reports it)."""
    if cache_dir() is None:
        return None
    import yaml

    import grader.kernels.spec  # noqa: F401 - its source is part of the key

    h = hashlib.sha256(f"bank {FORMAT} {__version__} {yaml.__version__} "
                       f"{getattr(yaml, '__with_libyaml__', False)}\0".encode())
    for part in (_schema("chapter.schema.json"), _schema("kernels.schema.json"),
                 _source("grader.core.fileio"), _source("grader.core.problems"),
                 _source("grader.bank.loader"), _source("grader.kernels.spec")):
        h.update(hashlib.sha256(part).digest())
    snapshot = BankSnapshot(entry="", key="")
    try:
        has_kernels = kernels_file.is_file()
        for path in (*files, *((kernels_file,) if has_kernels else ())):
            if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
                return None  # a device or FIFO named like a chapter reports size 0: never read it whole
            data = read_capped(path, label=str(path), max_bytes=MAX_FILE_BYTES)
            snapshot.data[path] = data
            name = path.relative_to(bank_dir).as_posix()
            h.update(name.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
        folder = str(bank_dir.resolve())
    except (OSError, ValueError, YamlError):
        return None
    h.update(b"kernels" if has_kernels else b"no kernels")
    snapshot.kernels = kernels_file if has_kernels else None
    snapshot.key = h.hexdigest()
    snapshot.entry = f"bank-{hashlib.sha256(folder.encode('utf-8')).hexdigest()[:16]}.json"
    return snapshot


def cached_bank(snapshot: BankSnapshot, chapters: int) -> CachedBank | None:
    """The validated documents stored for exactly these bytes, or None."""
    payload = _unpack(_read(snapshot.entry), snapshot.key)
    if not isinstance(payload, dict) or set(payload) != {"chapters", "kernels"}:
        return None
    docs, kernels = payload["chapters"], payload["kernels"]
    if not isinstance(docs, list) or len(docs) != chapters or not all(isinstance(d, dict) for d in docs):
        return None
    if (kernels is None) != (snapshot.kernels is None) or not isinstance(kernels, (dict, type(None))):
        return None
    return CachedBank(docs, kernels)


def store_bank(snapshot: BankSnapshot, chapters: list[Any], kernels: Any) -> None:
    """Remember the documents of a bank that loaded without a problem (only plain JSON ones)."""
    payload = {"chapters": chapters, "kernels": kernels}
    if is_plain(payload):
        _write(snapshot.entry, _pack(snapshot.key, payload))


def manifest_key(data: bytes) -> str | None:
    """The key of a manifest's bytes (with its schema and the grader's version); None when
    the cache is off."""
    if cache_dir() is None:
        return None
    h = hashlib.sha256(f"manifest {FORMAT} {__version__}\0".encode())
    for part in (_schema("manifest.schema.json"), _source("grader.core.fileio"),
                 _source("grader.workspace.manifest"), data):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


MANIFESTS_ENTRY = "manifests.json"


def _known_manifests() -> list[str]:
    payload = _unpack(_read(MANIFESTS_ENTRY), "manifests")
    return [d for d in payload if isinstance(d, str)] if isinstance(payload, list) else []


def manifest_known_valid(key: str) -> bool:
    """A manifest of exactly these bytes passed the schema before."""
    return key in _known_manifests()


def remember_valid_manifest(key: str) -> None:
    known = [key, *(k for k in _known_manifests() if k != key)][:MAX_MANIFESTS]
    _write(MANIFESTS_ENTRY, _pack("manifests", known))
