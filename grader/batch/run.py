"""``grade batch``: grade a whole class, one result file per student, resumable.

Every submission is unpacked safely (``grader.batch.intake``), its answers graded against the
bank, and its code run in the sandbox through warm runners shared by the workers. A
student's result is written atomically the moment it is known, so a killed run loses
nothing already graded and ``--resume`` grades only what is missing. The aggregate files
are rebuilt from the result files, sorted by student id, so they are the same however
the run was split or interrupted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader import DISTRIBUTION
from grader.assignments.assignment import Assignment, student_manifest
from grader.assignments.roster import Roster
from grader.batch.intake import (
    MANIFEST,
    MAX_MANIFEST_BYTES,
    IntakeError,
    Submission,
    arrange_flat,
    manifest_bytes,
    unpack,
)
from grader.batch.sources import Unmatched, read_submissions
from grader.core import fileio
from grader.core.fileio import WorkspaceError, YamlError, read_yaml
from grader.core.paths import COURSE_ROOT
from grader.grading.pipeline import check_format, grade_entries
from grader.grading.report import CheckReport, ItemOutcome
from grader.items import PENDING, for_type
from grader.items.code_runs import missing_requirements
from grader.items.kernel_runs import KERNEL_MODULES, KERNEL_REFERENCES
from grader.model.bank import Bank, Item
from grader.responses.answers_file import AnswerSheet, read_answers
from grader.results.result import GRADER_FAULT, Result, error
from grader.results.status import Status
from grader.rules.code import sandbox_unavailable
from grader.sandbox.isolation import require_strong
from grader.sandbox.limits import Limits
from grader.sandbox.runner import WarmRunner
from grader.workspace.manifest import ManifestItem, manifest_item

RESULTS = "results"
INTAKE = "intake.json"  # what the submissions folder held that is no student's submission
GRADER_FAILED = "the grader failed"


def bank_entries(bank: Bank) -> list[ManifestItem]:
    """What a batch grades: every item of the bank at its default parameters."""
    return [manifest_item(item) for item in bank.items.values()]


def entries_for(bank: Bank, assignment: Assignment | None) -> Callable[[str], list[ManifestItem]]:
    """Student id -> what that student is graded on: the assignment's items at the student's
    variant (never the submission's own grade.yaml), or the whole bank at its defaults."""
    if assignment is None:
        everything = bank_entries(bank)
        return lambda _student: everything
    return lambda student: list(student_manifest(bank, assignment, student).entries)


class RunnerPool:
    """Warm runners per code item, lent to one worker at a time and reused across students."""

    def __init__(self, root: Path = COURSE_ROOT, timeout_s: float | None = None) -> None:
        self.root, self.timeout_s = root, timeout_s
        self._idle: dict[str, queue.SimpleQueue[WarmRunner]] = {}
        self._all: list[WarmRunner] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def runner(self, item: Item) -> Iterator[WarmRunner]:
        spec = item.code
        assert spec is not None
        with self._lock:
            idle = self._idle.setdefault(item.id, queue.SimpleQueue())
        try:
            warm = idle.get_nowait()
        except queue.Empty:
            limits = Limits().with_timeout(self.timeout_s or spec.timeout_s)
            warm = WarmRunner(self.root / spec.hidden_tests, Path(spec.template).stem,
                              tuple(spec.requires), limits)
            with self._lock:
                self._all.append(warm)
        try:
            yield warm
        finally:
            idle.put(warm)

    def close(self) -> None:
        for warm in self._all:
            warm.close()


def error_document(student: str, reason: str, entries: list[ManifestItem], status: str = "error") -> dict:
    """The result of a student who could not be graded: every item zero, with the reason."""
    report = CheckReport("batch", [ItemOutcome(e, error(reason) if status == "error" else
                                               Result("unanswered", 0.0, (reason,))) for e in entries])
    return {"student": student, "status": status, "error": reason, **report.to_json(), "analysis": {}}


def grade_submission(sub: Submission, bank: Bank, entries: list[ManifestItem], pool: RunnerPool,
                     scratch: Path, format_view: bool = False) -> dict[str, Any]:
    """One student's result document (the shape of ``grade check --json`` plus student/status).
    ``format_view``: the document's ``format`` also holds what graded mode's ``grade check``
    would show of each item (whether it can be read, never whether it is right)."""
    folder = Path(tempfile.mkdtemp(dir=scratch))
    try:
        try:
            root = unpack(sub, folder / "files")
            arrange_flat(root, [f for e in entries for f in e.files])
            sheet = read_answers(root / "answers.yaml") if (root / "answers.yaml").exists() \
                else AnswerSheet()
        except (IntakeError, WorkspaceError) as exc:
            return error_document(sub.student, str(exc), entries)
        report = CheckReport("batch")
        if not (root / "answers.yaml").exists():
            report.warnings.append("the submission has no answers.yaml")
        analysis: dict[str, dict[str, Any]] = {}
        # code items and kernel tasks: their files run in the sandbox, on the pool's warm runners
        results = grade_entries(entries, sheet.answers, bank, lambda code: {
            e.id: for_type(e.type).run_batch(bank, e, root, pool) for e in code})
        for entry, result in results:
            response = sheet.answers.get(entry.id)
            if not entry.files and response is not None:
                analysis[entry.id] = {"answer": str(response)[:200], "matched": result.matched}
            report.outcomes.append(ItemOutcome(entry, result))
        failed = [e.id for e, r in results if r.matched == GRADER_FAULT]  # redone by --resume
        doc = {"student": sub.student, "status": "graded", "error": None, **report.to_json(),
               "analysis": analysis, **({"grader_failed": failed} if failed else {})}
        if format_view:
            doc["format"] = {e.id: ItemOutcome(e, handed_in(r) if e.files else
                                               check_format(e, sheet.answers.get(e.id))).to_json()
                             for e, r in results}
        return doc
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def handed_in(result: Result) -> Result:
    """Graded mode's view of a run of the hidden tests before the due date: files missing or
    still the template are said at once; how the code fared waits for the due date."""
    return result if result.status is Status.UNANSWERED else Result(Status.PENDING, 0.0, (PENDING,))


def write_atomic(path: Path, text: str) -> None:
    """Write one of the class's files (results, grades, reports) with ``grader.core.fileio.
    write_atomic``: a reader never sees half a file; missing folders are created, and the file
    is readable by the grader's user only."""
    fileio.write_atomic(path, text, mode=0o600, parents=True)


def result_path(out: Path, student: str) -> Path:
    return out / RESULTS / f"{student}.json"


def bank_fingerprint(bank: Bank) -> str:
    """A short digest of what grades a class: the bank's YAML, the code items' tests, the grader.

    Stored in every result, so ``--resume`` never mixes results made with another bank.
    """
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    with contextlib.suppress(PackageNotFoundError):
        digest.update(version(DISTRIBUTION).encode())
    chapters = sorted({Path(c.source) for c in bank.chapters})
    tests = sorted({bank.root / i.code.hidden_tests for i in bank.items.values() if i.code is not None})
    references = [bank.root / KERNEL_REFERENCES] if bank.kernels else []
    for path in [*chapters, *tests, *references]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(json.dumps([asdict(t) for t in bank.kernels.values()], sort_keys=True).encode())
    return digest.hexdigest()[:16]


def has_result(out: Path, student: str, submitted: bool = True, fingerprint: str | None = None) -> bool:
    """Whether ``--resume`` may keep this student's result.

    Kept: a graded result, or an error about the submission itself. Redone: a missing or
    unreadable file, a grader failure (of the whole submission or of one of its items), and a
    "no submission" row for a student who has since submitted.
    """
    try:
        doc = json.loads(result_path(out, student).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(doc, dict) or doc.get("student") != student:
        return False
    if fingerprint is not None and doc.get("bank") != fingerprint:
        return False
    if doc.get("status") == "no submission":
        return not submitted
    if doc.get("grader_failed"):
        return False
    return doc.get("status") == "graded" or (
        doc.get("status") == "error" and not str(doc.get("error", "")).startswith(GRADER_FAILED))


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


@dataclass
class BatchSummary:
    graded: int = 0
    errors: int = 0
    missing: int = 0
    skipped: int = 0
    seconds: float = 0.0
    scores: list[float] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    unmatched: list[Unmatched] = field(default_factory=list)  # entries matched to no student

    @property
    def rate(self) -> float:
        done = self.graded + self.errors
        return done / self.seconds if self.seconds else 0.0


def in_shard(student: str, shard: tuple[int, int] | None) -> bool:
    """Shard K of N (1-based) by a stable hash of the id, so every run splits the class alike."""
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(student.encode()).hexdigest(), 16) % n == k - 1


def runs_student_code(bank: Bank, assignment: Assignment | None) -> bool:
    """Whether grading runs code items or kernel tasks (the whole bank, or the assignment's)."""
    if assignment is None:
        return any(item.code is not None for item in bank.items.values())
    return bool(assignment.kernels) or any(
        i in bank.items and bank.items[i].code is not None for i in assignment.items)


class MissingRequirementError(RuntimeError):
    """Grading would run student code where it cannot run: not Linux, or without a module it
    needs (torch, Triton)."""


def require_runnable(bank: Bank, assignment: Assignment | None) -> None:
    """Refuse before grading anything when student code cannot run here: not Linux (no
    sandbox), or a module an item or kernel task graded here needs is not installed. Every
    student would get the same error on it."""
    unavailable = sandbox_unavailable()
    if unavailable is not None:
        raise MissingRequirementError(f"Refusing to grade: {unavailable.feedback[0]}")
    ids = assignment.items if assignment is not None else list(bank.items)
    code = [(i, item.code) for i in ids if (item := bank.items.get(i)) is not None and item.code is not None]
    needs = [missing_requirements(f"Item {i}", spec.requires, "code") for i, spec in code]
    if assignment is not None and assignment.kernels:
        needs.append(missing_requirements("The kernel check", KERNEL_MODULES, "kernels"))
    problem = next((n for n in needs if n is not None), None)
    if problem is not None:
        raise MissingRequirementError(f"Refusing to grade: {problem.feedback[0]}")


class AssignmentRequiredError(ValueError):
    """The submissions were made for an assignment, and no spec was given to grade them by."""


class UnknownStudentError(ValueError):
    """An option (--regrade, an overrides or times file) names a student the class does not have."""


def assignment_named(subs: list[Submission]) -> tuple[str, str] | None:
    """(the assignment, the student whose grade.yaml names it) for the first submission whose
    grade.yaml says which assignment it was made for; None when none does."""
    for sub in subs:
        data = manifest_bytes(sub)
        try:
            doc = read_yaml(data, label=MANIFEST, max_bytes=MAX_MANIFEST_BYTES, timestamps=False) \
                if data is not None else None
        except YamlError:
            continue
        record = doc.get("assignment") if isinstance(doc, dict) else None
        name = record.get("name") if isinstance(record, dict) else None
        if isinstance(name, str) and name.strip():
            return name, sub.student
    return None


def student_fields(student: str, roster: Roster | None, sub: Submission | None = None) -> dict[str, Any]:
    """What a result records of who the student is and where the submission came from:
    ``identity`` (the LMS's names for them: the roster's, else the download's), ``submission``
    (an LMS download's source, entry, time and late mark) and ``on_roster`` (false when a roster
    was given and lacks them). Nothing for a plain entry without a roster's extra columns."""
    entry = roster.entry(student) if roster else None
    identity = {**(sub.identity if sub else {}), **(entry.identity() if entry else {})}
    out: dict[str, Any] = {"identity": dict(sorted(identity.items()))} if identity else {}
    if sub is not None and sub.record():
        out["submission"] = sub.record()
    if roster and entry is None:
        out["on_roster"] = False
    return out


def run_batch(submissions: Path, out: Path, bank: Bank, workers: int = 2, resume: bool = False,
              roster: Roster | None = None, timeout_s: float | None = None,
              on_done: Callable[[str, dict[str, Any]], None] | None = None,
              shard: tuple[int, int] | None = None, assignment: Assignment | None = None,
              on_start: Callable[[int], None] | None = None, allow_weak: bool = False,
              regrade: Collection[str] = (), named_ids: Mapping[str, str] | None = None,
              finish: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> BatchSummary:
    """Grade every submission into ``out/results/``; aggregates are built by ``write_aggregates``.
    ``regrade``: students graded again even where ``resume`` would keep their result (every other
    result is kept, as with ``resume``); ``named_ids``: the students the caller's options name (the
    student -> where), each refused with ``UnknownStudentError`` before grading unless the class
    has them; ``finish``: applied to each result document before it is written (the late
    penalty and overrides, ``grader.batch.settle``).
    Each entry of ``submissions`` is matched to a ``roster`` id (``grader.batch.sources``); what
    matches no student is listed in ``out/intake.json`` and the summary, never graded. Raises,
    before grading anything, ``AssignmentRequiredError`` when no ``assignment`` is given for
    submissions made for one, ``WeakSandboxError`` when student code would run with weak
    isolation and ``allow_weak`` is not set, ``MissingRequirementError`` when it would need a
    module that is not installed."""
    intake = read_submissions(submissions, roster)
    class_ids = {s.student.lower() for s in intake.submissions} | {r.lower() for r in (roster.ids if roster
                                                                                       else ())}
    strangers = [f"{student} ({where})" for student, where in (named_ids or {}).items()
                 if student.lower() not in class_ids]
    if strangers:
        raise UnknownStudentError(
            f"Refusing to grade: no student {', '.join(strangers[:10])}{', ...' * (len(strangers) > 10)} in "
            f"this class: neither on the roster nor with a submission in {submissions}.")
    redo = {s.lower() for s in regrade}
    resume = resume or bool(redo)
    named = assignment_named(intake.submissions) if assignment is None else None
    if named is not None:
        raise AssignmentRequiredError(
            f"Refusing to grade: these submissions were made for assignment {named[0]!r} ({named[1]}'s "
            f"grade.yaml names it). Add --assignment with the spec of {named[0]!r}; without it every item "
            "of the bank would be graded at its default numbers.")
    if runs_student_code(bank, assignment):
        require_runnable(bank, assignment)
        require_strong(allow_weak, private=(submissions, out, bank.root))  # root: bank/, solutions/
    start = time.monotonic()
    entries = entries_for(bank, assignment)
    fingerprint = bank_fingerprint(bank) + (f"-{assignment.fingerprint()}" if assignment else "")
    record = {"assignment": assignment.record()} if assignment else {}
    subs = intake.submissions
    summary = BatchSummary(warnings=intake.warnings, unmatched=intake.unmatched)
    present = {s.student.lower() for s in subs}
    summary.warnings += [f"{s} is not on the roster; graded against the variant its id seeds"
                         for s in intake.not_on_roster]
    if intake.unmatched:
        write_atomic(out / INTAKE, json.dumps(intake.record(), indent=1, ensure_ascii=False) + "\n")
    else:  # a run before this one may have left its list
        (out / INTAKE).unlink(missing_ok=True)
    subs = [s for s in subs if in_shard(s.student, shard)]
    for student in sorted(r for r in (roster.ids if roster else ()) if r.lower() not in present
                          and in_shard(r, shard)):
        if student.lower() in redo or not (resume and has_result(out, student, submitted=False,
                                                                 fingerprint=fingerprint)):
            doc = error_document(student, "no submission", entries(student), "no submission")
            doc = {**doc, **record, **student_fields(student, roster), "bank": fingerprint}
            write_atomic(result_path(out, student), dump(finish(doc) if finish else doc))
        summary.missing += 1
    todo = [s for s in subs if s.student.lower() in redo
            or not (resume and has_result(out, s.student, fingerprint=fingerprint))]
    summary.skipped = len(subs) - len(todo)
    if on_start is not None:
        on_start(len(todo))
    pool = RunnerPool(bank.root, timeout_s)
    scratch = Path(tempfile.mkdtemp(prefix="grade-batch-"))
    executor = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        started: dict[str, float] = {}

        def timed_grade(sub: Submission) -> dict[str, Any]:
            started[sub.student] = time.monotonic()
            return grade_submission(sub, bank, entries(sub.student), pool, scratch)

        futures = {executor.submit(timed_grade, s): s for s in todo}
        for future in as_completed(futures):
            sub = futures[future]
            try:
                doc = future.result()
            except Exception as exc:
                doc = error_document(sub.student, f"{GRADER_FAILED} ({type(exc).__name__}: "
                                     f"{ascii(str(exc))[1:-1][:200]})", entries(sub.student))
            about = student_fields(sub.student, roster, sub)
            doc.update(record, **about, bank=fingerprint)
            if finish is not None:
                doc = finish(doc)
            try:
                write_atomic(result_path(out, sub.student), dump(doc))
            except (OSError, ValueError) as exc:  # e.g. text that cannot be encoded
                doc = error_document(sub.student, f"{GRADER_FAILED} writing the result "
                                     f"({type(exc).__name__})", entries(sub.student))
                doc.update(record, **about, bank=fingerprint)
                write_atomic(result_path(out, sub.student), dump(doc))
            summary.timings[sub.student] = round(time.monotonic() - started[sub.student], 3) \
                if sub.student in started else 0.0
            if doc["status"] == "graded":
                summary.graded += 1
                summary.scores.append(doc["total"])
            else:
                summary.errors += 1
            if on_done is not None:
                on_done(sub.student, doc)
    except KeyboardInterrupt:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        pool.close()
        shutil.rmtree(scratch, ignore_errors=True)
        summary.seconds = time.monotonic() - start
    return summary
