"""Gradescope: the autograder zip (``grade gradescope-autograder``) and the grading of one
submission inside it (``grade gradescope-grade``, which ``run_autograder`` calls).

The zip holds ``setup.sh``, ``run_autograder``, the assignment spec (and its roster), the
grader's wheel in ``dist/`` (which ``setup.sh`` installs) and the course it grades from in
``course/`` (the bank and the solutions and code files beside it), so the image grades exactly
as this grader does. The zip is deterministic: same inputs, same bytes.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path, PurePosixPath
from string import Template
from typing import Any

from grader.assignments.assignment import Assignment, student_manifest
from grader.assignments.roster import Roster, valid_student_id
from grader.batch.adjustments import Adjustments, StudentTime
from grader.batch.intake import Submission
from grader.batch.run import (
    MissingRequirementError,
    RunnerPool,
    error_document,
    grade_submission,
    require_runnable,
    runs_student_code,
    write_atomic,
)
from grader.batch.settle import settle
from grader.batch.sources import iso_time
from grader.core.fileio import atomic_file
from grader.integrations.distribution import WheelError, add_member, grader_wheel
from grader.items.code_runs import TORCH_CPU_INDEX
from grader.model.bank import Bank
from grader.reporters.gradescope_results import gradescope_results
from grader.results.points import points_phrase
from grader.results.status import Status
from grader.sandbox.isolation import WeakSandboxError, require_strong

BANK_FOLDERS = ("solutions", "student_templates")  # beside the bank: hidden tests, code files
COURSE_SUFFIXES = (".yaml", ".py")  # the bank, solvers, tests, templates and mutant patches
ID_FIELDS = ("sid", "email", "id")


class AutograderError(ValueError):
    """The zip cannot be built (e.g. a roster outside the spec's folder)."""


def _tree(folder: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """The course's own files under ``folder``: YAML and Python only, no hidden files or
    backups (an instructor's .env or notes.py~ stay out); a symbolic link is refused."""
    if not folder.is_dir():
        raise AutograderError(f"{folder} is missing: the autograder would not install")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_symlink():
            raise AutograderError(f"{path} is a symbolic link: the autograder takes no links")
        if (path.is_file() and path.suffix in COURSE_SUFFIXES
                and not any(part.startswith(".") or part == "__pycache__" for part in rel.parts)):
            yield f"{prefix}/{rel.as_posix()}", path


def _course_files(bank_dir: Path) -> Iterator[tuple[str, Path]]:
    """The bank (as ``course/bank/``) and the solutions and code files from beside
    ``bank_dir``, which may be a course's own copy."""
    yield from _tree(bank_dir, "course/bank")
    for folder in BANK_FOLDERS:
        yield from _tree(bank_dir.parent / folder, f"course/{folder}")


def _script(name: str, **values: str) -> str:
    text = resources.files("grader").joinpath(f"data/gradescope/{name}").read_text("utf-8")
    return Template(text).safe_substitute(values)  # shell variables stay as they are


def build_autograder(bank: Bank, assignment: Assignment, spec: Path, out: Path,
                     bank_dir: Path, allow_weak: bool = False, wheel: Path | None = None) -> list[str]:
    """Write the autograder zip; return the names it holds. ``allow_weak``: its run_autograder
    grades code even where the sandbox cannot isolate it. ``wheel``: the grader's wheel to
    install (default: this grader, repacked or built)."""
    needs_torch = bool(assignment.kernels) or any(
        "torch" in code.requires for i in assignment.items if (code := bank.items[i].code) is not None)
    torch_line = ('# CPU torch from PyTorch\'s CPU index: the default index would fetch GBs of CUDA\n'
                  f'$PY -m pip install --index-url {TORCH_CPU_INDEX} '
                  '"torch>=2.1,<2.14"') if needs_torch else "# no item needs torch"
    roster = _roster_entry(assignment, spec)
    with tempfile.TemporaryDirectory(prefix="grade-wheel-") as scratch:
        try:
            wheel = grader_wheel(Path(scratch), wheel)
        except WheelError as exc:
            raise AutograderError(str(exc)) from None
        wheel_entry = (f"dist/{wheel.name}", wheel.read_bytes(), False)
    extras = ("[code,kernels]" if assignment.kernels else "[code]") if needs_torch else ""
    entries: list[tuple[str, bytes, bool]] = [
        ("setup.sh", _script("setup.sh", torch_line=torch_line,
                             requirement=f"./{wheel_entry[0]}{extras}").encode(), True),
        ("run_autograder", _script("run_autograder", weak_flag="--allow-weak-sandbox" if allow_weak
                                   else "").encode(), True),
        ("assignment.yaml", spec.read_bytes(), False),
    ]
    if roster is not None:
        entries.append((roster[0], roster[1].read_bytes(), False))
    entries.append(wheel_entry)
    entries += [(name, path.read_bytes(), False) for name, path in _course_files(bank_dir.resolve())]
    with atomic_file(out, parents=True) as fh, zipfile.ZipFile(fh, "w") as archive:
        for name, data, executable in entries:
            add_member(archive, name, data, executable)
    return [name for name, _data, _x in entries]


def _roster_entry(assignment: Assignment, spec: Path) -> tuple[str, Path] | None:
    """Where the spec's roster goes in the zip: the same path, relative to the spec."""
    rel = assignment.roster_file
    if not rel:
        return None
    pure = PurePosixPath(str(rel).replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts:
        raise AutograderError(f"roster {rel!r} must lie in the spec's folder to be bundled")
    return pure.as_posix(), spec.parent / rel


def student_from_metadata(metadata: Mapping[str, Any], fields: tuple[str, ...] = ID_FIELDS,
                          roster: Roster | None = None) -> str:
    """The submitter's id from Gradescope's submission_metadata.json: the roster line its email
    or SID names, else the first of ``fields`` that is a usable id."""
    users = metadata.get("users") if isinstance(metadata, Mapping) else None
    if not isinstance(users, list) or not users or not isinstance(users[0], Mapping):
        raise ValueError("submission_metadata.json names no user")
    user = users[0]
    tries = [("email", "email"), ("sis_id", "sid"), *(("id", f) for f in fields)]
    entry = next((e for column, key in tries if roster and isinstance(user.get(key), str | int)
                  and (e := roster.find(column, str(user.get(key)))) is not None), None)
    if entry is not None:
        return entry.id
    for field in fields:
        value = users[0].get(field)
        if value is not None and valid_student_id(str(value)):
            return str(value)
    raise ValueError(f"submission_metadata.json gives no usable student id in {', '.join(fields)}")


FORMAT_TEST = "Format check (shown now; scores after the due date)"


def format_test(doc: Mapping[str, Any], notes: list[str], problems: list[str]) -> dict[str, Any]:
    """Graded mode's one test a student sees on upload (Gradescope shows each test at its own
    ``visibility``): who was graded, the roster's ``problems``, and for each item what graded
    mode's ``grade check`` says (whether the answer can be read, whether the files are there),
    never a score. It passes when nothing is wrong."""
    wrong = [*problems, *([f"Your submission could not be read: {doc['error']}"] if doc.get("error") else [])]
    for item_id, check in (doc.get("format") or {}).items():
        if check.get("status") != Status.PENDING.label:
            status = str(check.get("status")).replace("_", " ")
            wrong.append(f"{item_id}: {status}: {check.get('feedback', '')}")
    lines = [notes[0], *wrong] if wrong else [notes[0], "Every answer can be read and every file is there."]
    return {"name": FORMAT_TEST, "score": 0, "max_score": 0, "status": "failed" if wrong else "passed",
            "output": "\n".join(lines), "visibility": "visible"}


def with_late_policy(doc: dict[str, Any], assignment: Assignment, metadata: object) -> dict[str, Any]:
    """The result with the spec's late policy applied to the submission's time (Gradescope's
    ``created_at``): the score is the final one (``grader.batch.settle``)."""
    submitted = iso_time(metadata.get("created_at")) if isinstance(metadata, dict) else None
    times = {str(doc.get("student", "")).lower(): StudentTime(submitted)} if submitted else {}
    return settle({**doc, "assignment": assignment.record()}, Adjustments(overrides={}, times=times))


def late_output(doc: Mapping[str, Any]) -> str:
    """results.json's top-level output: why the submission could not be graded, and what lateness
    cost (said only of a late submission, which comes after the due date)."""
    said = [f"Your submission could not be graded: {doc['error']}"] if doc.get("error") else []
    late: Mapping[str, Any] = doc["late"] if isinstance(doc.get("late"), dict) else {}
    days = late.get("days_late")
    if days:
        said.append(f"Submitted {late.get('submitted_at')}, due {late.get('due')}: {days} day"
                    f"{'s' * (days != 1)} late; the late policy ({late.get('policy')}) took "
                    f"{points_phrase(late.get('penalty', 0))} off.")
    return " ".join(said)


def grade_one(bank: Bank, assignment: Assignment, submission: Path, metadata_path: Path,
              out: Path, fields: tuple[str, ...] = ID_FIELDS, allow_weak: bool = False) -> dict[str, Any]:
    """Grade one Gradescope submission and write results.json; never raises for bad input.
    Student code is not run where the sandbox is weak, unless ``allow_weak``."""
    if runs_student_code(bank, assignment):
        try:
            require_runnable(bank, assignment)  # the image lacks torch, say: every student would fail
            require_strong(allow_weak, private=(bank.root,))
        except (MissingRequirementError, WeakSandboxError) as exc:
            fix = ("(Rebuild the autograder with 'grade gradescope-autograder --allow-weak-sandbox' to "
                   "accept that.)" if isinstance(exc, WeakSandboxError) else
                   "(The autograder's image lacks it: please tell your instructor.)")
            results: dict[str, Any] = {"score": 0, "output": f"The autograder did not grade this submission. "
                                                             f"{exc} {fix}"}
            write_atomic(out, json.dumps(results, indent=2) + "\n")
            return results
    try:
        metadata = json.loads(metadata_path.read_text("utf-8"))
        student = student_from_metadata(metadata, fields, assignment.people)
    except (OSError, ValueError) as exc:
        results = {"score": 0, "output": f"Could not tell who submitted: {exc}. "
                                          "Please tell your instructor."}
        write_atomic(out, json.dumps(results, indent=2) + "\n")
        return results
    entries = []
    graded = assignment.mode == "graded"
    pool = RunnerPool(bank.root)
    try:
        entries = list(student_manifest(bank, assignment, student).entries)
        with tempfile.TemporaryDirectory(prefix="grade-gs-") as scratch:
            doc = grade_submission(Submission(student, submission, "folder"), bank, entries, pool,
                                   Path(scratch), format_view=graded)
    except Exception as exc:  # the student still gets a results.json
        doc = error_document(student, f"the grader failed ({type(exc).__name__})", entries)
    finally:
        pool.close()
    doc = with_late_policy(doc, assignment, metadata)
    # graded mode: results (and known-mistake feedback) show after the due date, not on upload
    visibility = "after_due_date" if graded else "visible"
    results = gradescope_results(doc, {e.id: e.title for e in entries}, visibility)
    results["output"] = late_output(doc)  # never the score: graded mode's output shows at once
    problems = []
    if assignment.roster and not assignment.lists(student):
        problems.append(f"{student} is not on the course roster" + (
            ", so these numbers may not be the ones you were given" if assignment.per_student else "")
            + ": please tell your instructor.")
    notes = [f"Assignment {assignment.name}, graded as {student}.", *problems]
    if graded:  # what is wrong with the format or the roster shows at once; scores wait
        results["tests"] = [format_test(doc, notes, problems), *results["tests"]]
    results["output"] = " ".join([*notes, str(results.get("output", ""))]).strip()
    write_atomic(out, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results
