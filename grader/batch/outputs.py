"""The files TAs upload, rebuilt from ``results/*.json`` in student-id order, in one pass.

Being derived only from the per-student results, they are byte-identical whether the
class was graded in one run, resumed after a crash, or graded in shards and merged.
Each file's format is a reporter (``grader.reporters``): this module lists the result files
(names only: a MOOC's 100,000 results are never held at once), reads them one at a time in
student-id order, and hands each to every reporter; the files those write go into the
output folder, replaced atomically, the per-student ones by a few threads so that their
writes overlap the reading.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO

from grader.batch.run import INTAKE, RESULTS, write_atomic
from grader.core import fileio
from grader.model.bank import Bank
from grader.reporters import ItemInfo, StudentResult, reporters
from grader.reporters.stream import write_class

WRITERS = 4  # threads writing whole files: their waits on the disk overlap the reading
QUEUED = 64  # whole files waiting for a writer, at most (each is one student's)
PARALLEL_FROM = 5000  # students: a smaller class is one pass (a process costs more than it saves)
PASSES = 8  # processes at most for the per-student files


class _TextSink:
    """A streamed file's text, encoded as UTF-8 into its temporary file."""

    def __init__(self, binary: IO[bytes]) -> None:
        self.binary = binary

    def write(self, text: str) -> int:
        return self.binary.write(text.encode("utf-8"))


class FolderOutput:
    """The output folder as the reporters' ``Output``. A streamed file is written to a temporary
    that replaces the file when the pass ends without an error (on an error the old file stays);
    whole files go to ``WRITERS`` threads, each written atomically and readable by the grader's
    user only, as ``grader.batch.run.write_atomic`` writes the class's files, but not fsynced one
    by one (100,000 fsyncs kept the pass waiting on the disk for minutes; a crash of the machine
    can lose some, and the command that wrote them writes them again)."""

    def __init__(self, root: Path, streams: contextlib.ExitStack, writers: ThreadPoolExecutor) -> None:
        self.root, self.streams, self.writers = root, streams, writers
        self.slots = threading.BoundedSemaphore(QUEUED)
        self.failure: BaseException | None = None

    def stream(self, relative: str) -> _TextSink:
        target = self.root / relative
        return _TextSink(self.streams.enter_context(fileio.atomic_file(target, mode=0o600, parents=True)))

    def write(self, relative: str, text: str | bytes) -> None:
        if self.failure is not None:
            raise self.failure
        self.slots.acquire()
        future = self.writers.submit(fileio.write_atomic, self.root / relative, text, mode=0o600,
                                     parents=True, durable=False)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        self.slots.release()
        if future.exception() is not None and self.failure is None:
            self.failure = future.exception()


@contextlib.contextmanager
def folder_output(root: Path) -> Iterator[FolderOutput]:
    """``root`` as an ``Output`` for one pass: on leaving, every whole file is written and every
    streamed file in place, or, after an error, none of the streamed files replaced."""
    with contextlib.ExitStack() as streams:
        with ThreadPoolExecutor(WRITERS, thread_name_prefix="outputs") as writers:
            out = FolderOutput(root, streams, writers)
            yield out
        if out.failure is not None:
            raise out.failure


def result_files(folder: Path) -> dict[str, str]:
    """The result files in ``folder/results/`` (their paths: text, the lightest to keep 100,000 of),
    by student id (the file's name less ``.json``)."""
    try:
        entries = list(os.scandir(folder / RESULTS))
    except FileNotFoundError:
        return {}
    return {e.name[:-5]: e.path for e in entries if e.name.endswith(".json")}


def read_results(files: Iterable[tuple[str, str]], warnings: list[str] | None = None,
                 copy: Callable[[str, str, bytes], None] | None = None) -> Iterator[StudentResult]:
    """Each (student id, path)'s result, one at a time, in the order given; unreadable files are
    skipped (and named in ``warnings``). ``copy``: called with each file's bytes as it is read."""
    for student, path in files:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            if copy is not None:
                copy(student, path, data)
            doc = json.loads(data)
            if not isinstance(doc, dict) or doc.get("student") != student:
                raise ValueError("not a result document")
            result = StudentResult.from_json(doc)
        except (OSError, ValueError) as exc:
            if warnings is not None:
                warnings.append(f"skipped {os.path.basename(path)}: {exc}")
            continue
        yield result


def item_infos(bank: Bank) -> dict[str, ItemInfo]:
    """What the reports say of each bank item: its title and, for one answered by choosing
    options, their ids and the right ones."""
    return {i: ItemInfo(item.title, tuple(o.id for o in item.options),
                        frozenset(o.id for o in item.options if o.correct)) for i, item in bank.items.items()}


def unmatched_entries(out: Path) -> list[tuple[str, str]]:
    """The submissions ``grade batch`` matched to no student (entry, why), from ``out/intake.json``."""
    try:
        doc = json.loads((out / INTAKE).read_bytes())
        return [(str(u["entry"]), str(u["reason"])) for u in doc["unmatched"]]
    except (OSError, ValueError, TypeError, KeyError):
        return []


def write_aggregates(out: Path, warnings: list[str] | None = None,
                     items: Mapping[str, ItemInfo] | None = None) -> list[str]:
    """Write every reporter's files from ``out/results/`` (and ``out/intake.json``); returns the
    reporters' names."""
    return write_passes(out, sorted(result_files(out).items()), warnings, items, unmatched_entries(out))


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def write_passes(root: Path, files: list[tuple[str, str]], warnings: list[str] | None = None,
                 items: Mapping[str, ItemInfo] | None = None, unmatched: Sequence[tuple[str, str]] = (),
                 copy: bool = False) -> list[str]:
    """Every reporter's files for the results ``files`` (student id, path; in student-id order)
    into ``root``; ``copy``: each file not in ``root/results/`` is copied there.

    A class of ``PARALLEL_FROM`` students or more is shared out among processes, so that every
    core works: one reads the whole class for the reporters of class files, and one per core
    reads its share of the students (every k-th) for the reporters of per-student files
    (``Reporter.per_student``) and the copies. The files are the same either way. Returns the
    reporters' names."""
    split = len(files) >= PARALLEL_FROM and any(r.per_student for r in reporters())
    shares = min(PASSES, _cores()) if split else 0
    class_files = [r.name for r in reporters() if not (split and r.per_student)]
    student_files = [r.name for r in reporters() if split and r.per_student]
    item_ids = _first_items(files) if split else None
    with contextlib.ExitStack() as stack:
        others = []
        if shares:  # started before this process has any thread of its own
            import multiprocessing  # here only: a command that refuses first need not load it
            from concurrent.futures import ProcessPoolExecutor

            fork = "fork" in multiprocessing.get_all_start_methods()  # the fastest start, where there is one
            pool = stack.enter_context(ProcessPoolExecutor(
                shares, mp_context=multiprocessing.get_context("fork" if fork else None)))
            others = [pool.submit(_pass, root, files[k::shares], items, unmatched, student_files, item_ids,
                                  copy) for k in range(shares)]
        with folder_output(root) as folder:
            write_class(read_results(files, warnings, _copier(folder, copy and not shares)), folder,
                        items, unmatched, class_files, item_ids)
        for other in others:
            other.result()
    return [r.name for r in reporters()]


def _first_items(files: list[tuple[str, str]]) -> tuple[str, ...]:
    """The items of the first readable result, in its order: every pass's ``ClassInfo.item_ids``."""
    first = next(read_results(files), None)
    return tuple(first.items) if first is not None else ()


def _copier(folder: FolderOutput, copy: bool) -> Callable[[str, str, bytes], None] | None:
    """``read_results``'s ``copy`` (where ``copy``): each file not in ``folder/results/`` into it."""
    into = os.path.realpath(folder.root / RESULTS)
    elsewhere: dict[str, bool] = {}  # by the file's folder: one per shard

    def copied(student: str, path: str, data: bytes) -> None:
        where = os.path.dirname(path)
        if where not in elsewhere:
            elsewhere[where] = os.path.realpath(where) != into
        if elsewhere[where]:
            folder.write(f"{RESULTS}/{os.path.basename(path)}", data)

    return copied if copy else None


def _pass(root: Path, files: list[tuple[str, str]], items: Mapping[str, ItemInfo] | None,
          unmatched: Sequence[tuple[str, str]], names: list[str], item_ids: Sequence[str] | None,
          copy: bool) -> None:
    """One process's pass: the reporters ``names`` over ``files``, and (``copy``) their copies
    (a child of ``write_passes``)."""
    with folder_output(root) as folder:
        results = read_results(files, None, _copier(folder, copy))
        write_class(results, folder, items, unmatched, names, item_ids)


_BANK_LINE = b'\n  "bank": '


def _bank(path: str) -> str | None:
    """A result file's "bank" (its top-level key, on a line of its own as ``dump`` writes it),
    without parsing the whole document where that line is there; None for a file that is no
    result (the pass skips it, saying so)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        at = data.rfind(_BANK_LINE)
        if at >= 0:
            end = data.find(b"\n", at + len(_BANK_LINE))
            line = data[at + len(_BANK_LINE):end if end >= 0 else None].rstrip(b",")
            with contextlib.suppress(ValueError):
                return json.dumps(json.loads(line))
        doc = json.loads(data)
    except (OSError, ValueError):
        return None
    return json.dumps(doc.get("bank")) if isinstance(doc, dict) else None


def merge(outs: list[Path], target: Path, items: Mapping[str, ItemInfo] | None = None,
          warnings: list[str] | None = None) -> int:
    """Combine shard outputs: the union of their results copied into ``target`` (beside any it
    holds that no shard has), and the aggregates rebuilt from them, in the same pass."""
    shards: dict[str, str] = {}
    for out in outs:
        for student, path in sorted(result_files(out).items()):
            if student in shards and Path(shards[student]).read_bytes() != Path(path).read_bytes():
                raise ValueError(f"{student} has different results in {Path(shards[student]).parent.parent} "
                                 f"and {out}: were these shards of one run?")
            shards[student] = path
    banks = {bank for path in shards.values() if (bank := _bank(path)) is not None}
    if len(banks) > 1:
        raise ValueError("the shards were graded with different banks or grader versions; "
                         "regrade them with one")
    intake = _merged_intake(outs)
    if intake is not None:
        write_atomic(target / INTAKE, intake)
    count, everyone = len(shards), result_files(target)
    everyone.update(shards)
    files = sorted(everyone.items())
    del shards, everyone  # a MOOC's names: held once
    write_passes(target, files, warnings, items, unmatched_entries(target), copy=True)
    return count


def _merged_intake(outs: list[Path]) -> str | None:
    """The shards' ``intake.json`` (each run of a shard lists the whole folder's entries): the one
    they share, or the union of theirs."""
    texts = {text for out in outs if (text := _read_text(out / INTAKE)) is not None}
    if len(texts) <= 1:
        return next(iter(texts), None)
    unmatched: dict[str, dict[str, str]] = {}
    not_on_roster: set[str] = set()
    for text in sorted(texts):
        with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
            doc = json.loads(text)
            unmatched.update({json.dumps(u, sort_keys=True): u for u in doc["unmatched"]})
            not_on_roster.update(doc["not_on_roster"])
    union = {"unmatched": [unmatched[k] for k in sorted(unmatched)], "not_on_roster": sorted(not_on_roster)}
    return json.dumps(union, indent=1, ensure_ascii=False) + "\n"


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except (OSError, ValueError):
        return None
