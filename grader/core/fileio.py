"""Reading and writing files the grader does not trust: one YAML loader, one atomic write, one
lock, one schema check. A leaf module: it imports nothing from the grader but
``core.yaml_mistakes`` (where a YAML mistake really is).

- ``read_yaml`` (and ``compose_yaml``/``construct_yaml`` for a caller that needs the nodes) is
  the only YAML loader for the bank, manifests, assignment specs and answers files. It caps the
  size before parsing, decodes UTF-8 (a byte-order mark is allowed), refuses anchors and aliases
  (a few nested ``*refs`` in a kilobyte can expand to gigabytes) and nesting deeper than
  ``MAX_DEPTH`` (libyaml's own composer recurses in C and crashes the interpreter on a few
  hundred thousand ``[``), integers over ``MAX_DIGITS`` digits, YAML 1.1's base-60 numbers,
  keys given twice in one mapping, and ``.nan``/``.inf`` unless the caller allows them. Tokens
  come from libyaml when PyYAML has it; nodes are composed in Python, where those checks run.
  Every failure is a ``YamlError`` with its line and column: the line to fix, where a quote
  or bracket left open or a line indented too deep made the parser fail further on.
- ``write_atomic`` (and ``atomic_file``) writes a unique temporary file in the target's folder,
  fsyncs it and renames it over the target: readers see the old file or the new one, never
  half of one, and threads and processes writing the same path at once each leave a complete
  file and no temporary.
- ``exclusive`` holds a lock across threads and processes for a read-modify-write.
- ``schema_problems`` checks a document against a JSON Schema and locates each violation as
  ``$.items[2].answer.unit``. jsonschema is imported only when a schema is checked.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import stat
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import yaml
from yaml.composer import Composer
from yaml.constructor import BaseConstructor, SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import BaseResolver, Resolver

from grader.core.yaml_mistakes import locate

try:  # libyaml's tokens and events when PyYAML was built with it (about 7x faster)
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]

    _C_PARSER = True
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)

    _C_PARSER = False

MAX_DEPTH = 64
MAX_DIGITS = 100
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


# -- YAML ------------------------------------------------------------------------------------
class WorkspaceError(Exception):
    """A workspace that cannot be used: missing, unreadable or malformed files."""


class YamlError(ValueError):
    """A YAML file that cannot be used: too large, not UTF-8, not valid YAML, or using what the
    grader refuses (anchors, aliases, deep nesting). ``line`` and ``column`` count from 1."""

    def __init__(self, label: str, kind: str, problem: str, line: int | None = None,
                 column: int | None = None) -> None:
        self.label, self.kind, self.problem, self.line, self.column = label, kind, problem, line, column
        super().__init__(str(self))

    @property
    def where(self) -> str:
        """``line 3, column 7`` (empty when the position is not known)."""
        return f"line {self.line}, column {self.column}" if self.line is not None else ""

    @property
    def detail(self) -> str:
        """The message without the file's name: ``line 3, column 7: problem``."""
        return f"{self.where}: {self.problem}" if self.where else self.problem

    def __str__(self) -> str:
        if self.kind != "yaml":  # "too large (...)", "not UTF-8 text (...)"
            return f"{self.label} is {self.problem}"
        return f"{self.label}{' ' + self.where if self.where else ''} is not valid YAML: {self.problem}"


class _Guarded(Composer, _Parser):
    """Events from the parser, composed in Python without anchors, aliases or deep nesting."""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        Composer.__init__(self)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event: Any = self.peek_event()
        if isinstance(event, AliasEvent) or event.anchor is not None:
            raise yaml.MarkedYAMLError(problem="anchors (&name) and aliases (*name) are not allowed",
                                       problem_mark=event.start_mark)
        if self._depth >= MAX_DEPTH:
            raise yaml.MarkedYAMLError(problem=f"nested more than {MAX_DEPTH} levels deep",
                                       problem_mark=event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _refuse(node: Any, problem: str) -> Any:
    """A construction failure at ``node``, located like a parser's."""
    return yaml.constructor.ConstructorError(problem=problem, problem_mark=node.start_mark)


class _SafeLoader(_Guarded, SafeConstructor, Resolver):
    """YAML's safe types, without what a number or a mapping can hide: integers longer than
    ``MAX_DIGITS`` digits (Python's int() refuses 4,300 and big ones overflow a float later),
    YAML 1.1's base-60 numbers (``1:30``: quadratic to build, and never meant), non-finite
    floats (``.nan``, ``.inf``: no score or parameter is one; ``nonfinite`` allows them), and a
    key written twice in one mapping (the first value would be dropped silently)."""

    nonfinite = False

    def __init__(self, stream: str) -> None:
        _Guarded.__init__(self, stream)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def construct_yaml_int(self, node: Any) -> Any:
        text = str(node.value)
        if ":" in text:
            raise _refuse(node, f"base-60 number {_shown(text)!r} is not allowed (quote it if it is text)")
        body = text.lstrip("+-").replace("_", "")
        if body[:2].lower() in ("0x", "0o", "0b"):
            body = body[2:]
        if len(body) > MAX_DIGITS:
            raise _refuse(node, f"integer with {len(body)} digits (at most {MAX_DIGITS})")
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: Any) -> Any:
        text = str(node.value)
        if ":" in text:
            raise _refuse(node, f"base-60 number {_shown(text)!r} is not allowed (quote it if it is text)")
        digits = sum(ch.isdigit() for ch in text.partition("e")[0].partition("E")[0])
        if digits > MAX_DIGITS:
            raise _refuse(node, f"number with {digits} digits (at most {MAX_DIGITS})")
        value = super().construct_yaml_float(node)
        if not self.nonfinite and not math.isfinite(value):
            raise _refuse(node, f"{_shown(text)!r} is not a finite number (no .nan or .inf, nothing "
                                "beyond about 1.8e308)")
        return value

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # a list or mapping as a key: refused when the mapping is built
                key = self.construct_object(key_node)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue
                if first is not None:
                    raise _refuse(key_node, f"duplicate key {_shown(str(key_node.value))!r} (first given "
                                            f"on line {first.start_mark.line + 1})")
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


_SafeLoader.yaml_constructors = {
    **SafeConstructor.yaml_constructors,
    "tag:yaml.org,2002:int": _SafeLoader.construct_yaml_int,
    "tag:yaml.org,2002:float": _SafeLoader.construct_yaml_float,
}


def _shown(text: str) -> str:
    """``text`` shortened for a message."""
    return text if len(text) <= 40 else text[:37] + "..."


class _NoTimestampLoader(_SafeLoader):
    """Dates stay the text that was written."""


_NoTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}


class _StringLoader(_Guarded, BaseConstructor, BaseResolver):
    """Every scalar a string: no tag is resolved or constructed."""

    def __init__(self, stream: str) -> None:
        _Guarded.__init__(self, stream)
        BaseConstructor.__init__(self)
        BaseResolver.__init__(self)


def _loader_class(strings: bool, timestamps: bool) -> Any:
    return _StringLoader if strings else _SafeLoader if timestamps else _NoTimestampLoader


def read_capped(path: str | Path, *, label: str, max_bytes: int) -> bytes:
    """The bytes of ``path``, read no further than ``max_bytes`` (YamlError beyond, and for
    anything but a regular file: a folder, or a FIFO that would block the read forever)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _BINARY)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise YamlError(label, "size", "not a regular file")
    with os.fdopen(fd, "rb") as fh:
        size = info.st_size
        data = fh.read(max_bytes + 1) if size <= max_bytes else b""
    if size > max_bytes or len(data) > max_bytes:
        raise YamlError(label, "size", f"too large ({max(size, len(data))} bytes; at most {max_bytes})")
    return data


def _text(source: bytes | str | Path, label: str, max_bytes: int) -> str:
    """The text of ``source`` (a path, its bytes, or text), capped at ``max_bytes``."""
    if isinstance(source, Path):
        source = read_capped(source, label=label, max_bytes=max_bytes)
    if isinstance(source, str):
        size = len(source.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise YamlError(label, "size", f"too large ({size} bytes; at most {max_bytes})")
        return source
    if len(source) > max_bytes:
        raise YamlError(label, "size", f"too large ({len(source)} bytes; at most {max_bytes})")
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlError(label, "encoding", f"not UTF-8 text (byte 0x{source[exc.start]:02x} at "
                                           f"offset {exc.start})") from None


def _error(exc: Exception, text: str, label: str) -> YamlError:
    """The YamlError of a failure inside PyYAML (or Python's recursion limit)."""
    if isinstance(exc, RecursionError):
        return YamlError(label, "yaml", "nested too deeply")
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        position = exc.position
        before = text.encode("utf-8", "surrogatepass")[:position].decode("utf-8", "ignore") \
            if _C_PARSER else text[:position]
        line = before.count("\n") + 1
        return YamlError(label, "yaml", str(exc).splitlines()[0], line, len(before.rpartition("\n")[2]) + 1)
    if isinstance(exc, yaml.scanner.ScannerError | yaml.parser.ParserError) and text:  # the parser's own
        located = locate(exc, text, _Parser(text))
        if located is not None:
            return YamlError(label, "yaml", located.problem, located.line + 1, located.column + 1)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return YamlError(label, "yaml", problem)
    return YamlError(label, "yaml", problem, mark.line + 1, mark.column + 1)


def _load(cls: Any, text: str, label: str, step: str, *args: Any, nonfinite: bool = False) -> Any:
    """``cls(text).step(*args)``, every failure a YamlError."""
    loader = None
    try:
        loader = cls(text)  # the pure-Python reader checks the characters here already
        loader.nonfinite = nonfinite
        return getattr(loader, step)(*args)
    except (yaml.YAMLError, RecursionError) as exc:
        raise _error(exc, text, label) from None
    except TypeError as exc:  # an unhashable mapping key, in older PyYAML
        raise YamlError(label, "yaml", str(exc)) from None
    finally:
        if loader is not None:
            loader.dispose()


def compose_yaml(source: bytes | str | Path, *, label: str, max_bytes: int,
                 strings: bool = False) -> yaml.Node | None:
    """The node tree of a single-document YAML ``source`` (None when it is empty), with the
    marks of every node. ``construct_yaml`` turns a node of it into values."""
    text = _text(source, label, max_bytes)
    return _load(_loader_class(strings, True), text, label, "get_single_node")


def construct_yaml(node: yaml.Node, *, label: str, strings: bool = False,
                   timestamps: bool = True, nonfinite: bool = False) -> Any:
    """The value of ``node`` (from ``compose_yaml``): safe types only, or strings only
    (``nonfinite``: allow ``.nan`` and ``.inf``)."""
    return _load(_loader_class(strings, timestamps), "", label, "construct_document", node,
                 nonfinite=nonfinite)


def read_yaml(source: bytes | str | Path, *, label: str, max_bytes: int, strings: bool = False,
              timestamps: bool = True, nonfinite: bool = False) -> Any:
    """Parse one YAML document safely: ``source`` is a path, its bytes or its text (a path is
    read no further than the cap). Only YAML's safe types are built (``strings``: every scalar
    a string; ``timestamps=False``: dates stay text). Refused like anchors: integers over
    ``MAX_DIGITS`` digits, base-60 numbers, a key given twice in one mapping, and (unless
    ``nonfinite``) ``.nan``/``.inf``. Raises YamlError, or OSError for a path that cannot be
    read."""
    text = _text(source, label, max_bytes)
    return _load(_loader_class(strings, timestamps), text, label, "get_single_data", nonfinite=nonfinite)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a value used twice is written twice: read_yaml refuses aliases


def dump_yaml(doc: Any, **options: Any) -> str:
    """``doc`` as YAML that ``read_yaml`` reads back: safe types only, never an anchor or
    alias (``options``: PyYAML's, e.g. ``sort_keys=False``)."""
    return yaml.dump(doc, Dumper=_Dumper, **options)


# -- writing -----------------------------------------------------------------------------------
def _replace(tmp: str | Path, target: str | Path, dir_fd: int | None) -> None:
    """Rename over the target. Windows refuses while another writer's rename of the same file
    is in flight (or a reader holds it open): a short retry rides that out."""
    for attempt in range(50):
        try:
            if dir_fd is not None:
                os.rename(tmp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            else:
                os.replace(tmp, target)
            return
        except PermissionError:
            if os.name != "nt" or attempt == 49:
                raise
            time.sleep(0.01 * (attempt + 1))


@contextlib.contextmanager
def atomic_file(path: str | Path, *, mode: int = 0o666, parents: bool = False,
                dir_fd: int | None = None, durable: bool = True) -> Iterator[IO[bytes]]:
    """A binary file to write that replaces ``path`` when the block ends without an error.

    The data goes to a fresh temporary file in the same folder (``.NAME.RANDOM.tmp``, created
    exclusively, never through a link), is fsynced, and is renamed over ``path``; on any
    failure (Ctrl-C included) the temporary is removed and ``path`` is untouched. ``mode``:
    the new file's permissions, less the umask. ``parents``: create missing folders.
    ``dir_fd``: ``path`` is a name in that open folder. ``durable=False`` skips the fsync: a
    reader still never sees half a file, but a crash of the machine may lose it; for the many
    files a command can write again (a fsync each made a class's outputs wait on the disk).
    """
    path = Path(path)
    if dir_fd is None:
        if parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        target: str | Path = path
    else:
        target = path.name
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY
    for attempt in range(100):
        name = f".{path.name}.{secrets.token_hex(8)}.tmp"
        tmp: str | Path = name if dir_fd is not None else path.with_name(name)
        try:
            fd = os.open(tmp, flags, mode, dir_fd=dir_fd) if dir_fd is not None else os.open(tmp, flags, mode)
            break
        except FileExistsError:
            if attempt == 99:
                raise
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        _replace(tmp, target, dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            if dir_fd is not None:
                os.unlink(tmp, dir_fd=dir_fd)
            else:
                os.unlink(tmp)
        raise


def write_atomic(path: str | Path, data: bytes | str, *, mode: int = 0o666, parents: bool = False,
                 dir_fd: int | None = None, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8, newlines as given) atomically:
    see ``atomic_file``."""
    with atomic_file(path, mode=mode, parents=parents, dir_fd=dir_fd, durable=durable) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


# -- locking -----------------------------------------------------------------------------------
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def exclusive(fd: int, key: str) -> Iterator[None]:
    """Hold an exclusive lock for a read-modify-write: the threads of this process that use
    the same ``key`` one at a time, and (``fd``: an open lock file) other processes too, with
    with ``flock`` where there is one (Linux, macOS). Where there is none (Windows) or the file
    system refuses it, threads are still excluded."""
    with _THREAD_LOCKS_GUARD:
        thread_lock = _THREAD_LOCKS.setdefault(key, threading.Lock())
    with thread_lock:
        unlock = _lock_file(fd)
        try:
            yield
        finally:
            if unlock is not None:
                with contextlib.suppress(OSError):
                    unlock()


def _lock_file(fd: int) -> Any:
    """Lock ``fd`` across processes (``flock``, blocking); returns the unlock, or None where
    there is no ``fcntl`` (Windows) or the file system refuses the lock."""
    try:
        import fcntl  # here, not at import: Windows has no fcntl
    except ImportError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # e.g. a network file system without locks: threads only
        return None
    return lambda: fcntl.flock(fd, fcntl.LOCK_UN)


# -- JSON Schema -------------------------------------------------------------------------------
_VALIDATORS: dict[int, tuple[Any, Any]] = {}


def json_path(parts: Iterable[str | int]) -> str:
    """The one way a place in a document is written: ``$.items[2].answer.unit``."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _validator(schema: dict[str, Any]) -> Any:
    """The validator of ``schema`` (a dict the caller keeps: it is remembered by identity)."""
    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        # jsonschema imports rfc3987_syntax, when installed (the Jupyter stack brings it), for its
        # "iri" format checker: 0.7 s building a grammar. No schema of the grader uses formats.
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
        import jsonschema  # type: ignore[import-untyped]  # here only: a cached bank and a known manifest need none

        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        if len(_VALIDATORS) >= 64:
            _VALIDATORS.clear()
        entry = _VALIDATORS[id(schema)] = (schema, cls(schema))  # the schema kept: its id stays its own
    return entry[1]


_SCHEMAS: dict[str, dict[str, Any]] = {}


def grader_schema(name: str) -> dict[str, Any]:
    """One of the grader's JSON Schemas (``grader/schemas/NAME.schema.json``), read once."""
    if name not in _SCHEMAS:
        import json
        from importlib import resources

        text = resources.files("grader").joinpath(f"schemas/{name}.schema.json").read_text("utf-8")
        _SCHEMAS[name] = json.loads(text)
    return _SCHEMAS[name]


def schema_errors(instance: Any, schema: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every violation of ``schema`` as (path parts, message), ordered by place (list indexes
    before keys, so the order never compares an int with a str)."""
    found = [(tuple(err.absolute_path), err.message) for err in _validator(schema).iter_errors(instance)]
    return sorted(found, key=lambda e: [(isinstance(p, str), p) for p in e[0]])


def schema_problems(instance: Any, schema: dict[str, Any], *,
                    prefix: Sequence[str | int] = ()) -> list[tuple[str, str]]:
    """Every violation of ``schema`` as (``$.path.to[0].value``, message), in place order;
    ``prefix``: where ``instance`` sits in a larger document."""
    return [(json_path([*prefix, *parts]), message) for parts, message in schema_errors(instance, schema)]
