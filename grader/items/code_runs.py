"""Grade a workspace's build/debug item: collect the student's files, run the item's
trusted tests against them in the sandbox, and turn the run into a Result."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shlex
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from grader import DISTRIBUTION, __version__
from grader.core.paths import COURSE_ROOT
from grader.core.state import read_state, update_state
from grader.model.bank import Item
from grader.model.entry import ManifestItem
from grader.results.result import GRADER_FAULT, Result, error, grader_error
from grader.rules.code import grade_code_run, sandbox_unavailable
from grader.sandbox.limits import Limits

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"  # CPU builds: no GBs of CUDA packages

def missing_requirements(what: str, modules: Iterable[str], extra: str) -> Result | None:
    """The grader's error (never cached, not the student's fault) when a module that ``what``
    needs is not installed: it names the command that installs it into this Python, with the
    versions the grader's ``extra`` asks for and torch's CPU index."""
    needed = list(modules)
    if "torch" in needed and "numpy" not in needed:  # tensors cross the sandbox's wire as arrays
        needed.append("numpy")
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    wanted = {}
    try:
        for line in metadata.requires(DISTRIBUTION) or []:
            spec, _, marker = line.partition(";")
            name = re.match(r"[A-Za-z0-9_.-]+", spec.strip())
            if name and f'extra == "{extra}"' in marker:
                wanted[name.group(0).lower()] = spec.strip().replace(" ", "")
    except metadata.PackageNotFoundError:
        pass
    requirements = " ".join(shlex.quote(wanted.get(m, m)) for m in missing)
    python = shlex.quote(sys.executable)
    installer = (f"{python} -m pip install" if importlib.util.find_spec("pip")
                 else f"uv pip install --python {python}")
    names = f"{', '.join(missing[:-1])} and {missing[-1]}" if len(missing) > 1 else missing[0]
    return grader_error(
        f"{what} needs {names}, which {'is' if len(missing) == 1 else 'are'} not installed "
        f"where the grader runs. This is not a problem in your code. Install the grader's [{extra}] extra, "
        f"or run: {installer} {requirements} --extra-index-url {TORCH_CPU_INDEX} (CPU builds of torch; "
        "a CUDA torch you have works too).")


CODE_RESULTS = "code_results.json"  # in the workspace's .grade folder

MAX_FILE_BYTES = 256 * 1024
MAX_FILES = 16


def submission_files(workspace: Path, entry: ManifestItem) -> dict[str, bytes] | Result:
    """The .py files of the item's folder (tests excluded), or the Result saying why not."""
    folder = (workspace / entry.files[0]).parent
    main = workspace / entry.files[0]
    if main.is_symlink() or not main.is_file():
        return Result("unanswered", 0.0, (f"{entry.files[0]} is missing.",)) \
            if not main.exists() else error(f"{entry.files[0]} is not a regular file.")
    if not folder.resolve().is_relative_to(workspace.resolve()):
        return error(f"{entry.files[0]} lies outside the workspace.")
    files: dict[str, bytes] = {}
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("test_") or path.name == "conftest.py" or path.is_symlink():
            continue
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES or len(files) >= MAX_FILES:
            return error(f"{path.name} is too large or there are too many files "
                         f"(at most {MAX_FILES} files of {MAX_FILE_BYTES >> 10} KiB).")
        files[path.name] = path.read_bytes()
    return files


def is_template(template: Path, files: dict[str, bytes]) -> bool:
    """The student's file of that name is byte-for-byte the shipped ``template``."""
    return template.is_file() and files.get(template.name) == template.read_bytes()


def is_untouched_template(item: Item, files: dict[str, bytes], root: Path = COURSE_ROOT) -> bool:
    """The student's main file is byte-for-byte the shipped template."""
    assert item.code is not None
    return is_template(root / item.code.template, files)


def not_started(entry: ManifestItem) -> Result:
    return Result("unanswered", 0.0, (f"Not started: {entry.files[0]} is still the template.",))


def files_digest(files: dict[str, bytes], grading: bytes) -> str:
    """A digest of the student's files and of what grades them (tests, task, machine, and
    the grader's version, so an upgrade regrades what it may now judge differently)."""
    h = hashlib.sha256(__version__.encode() + b"\0" + grading)
    for name, data in sorted(files.items()):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def _read_cache(cache: Path) -> dict:
    """The cache's entries; empty when missing or unreadable. A link raises StateError."""
    try:
        doc = json.loads(read_state(cache.parent, cache.name) or "{}")
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def cached_result(cache: Path | None, item_id: str, digest: str) -> Result | None:
    """The result of the last run on exactly these files and tests (a local convenience only)."""
    if cache is None:
        return None
    try:
        entry = _read_cache(cache).get(item_id, {})
        if entry.get("digest") == digest:
            return Result(entry["status"], float(entry["score"]), tuple(entry["feedback"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return None


def remember_result(cache: Path | None, item_id: str, digest: str, result: Result) -> None:
    if cache is None:
        return
    entry = {"digest": digest, "status": result.status, "score": result.score,
             "feedback": list(result.feedback)}

    def add(text: str | None) -> str:
        try:
            doc = json.loads(text or "{}")
        except ValueError:
            doc = {}
        doc = doc if isinstance(doc, dict) else {}
        doc[item_id] = entry
        return json.dumps(doc, indent=1)

    # code items and kernel tasks finish side by side (threads), and two checks of one
    # workspace may run at once (processes): the update holds the cache's lock
    update_state(cache.parent, cache.name, add)


def grade_code_item(item: Item, workspace: Path, entry: ManifestItem, hidden: bool,
                    root: Path = COURSE_ROOT, cache: Path | None = None) -> Result:
    """Run the hidden tests (``hidden``) or the public ones, from the trusted copies.

    An untouched template is "unanswered" without running anything; with ``cache``,
    files and tests identical to the last run reuse its result. Where the sandbox cannot
    run (not Linux), anything else is the grader's error that says so, and nothing of the
    sandbox is imported.
    """
    assert item.code is not None
    files = submission_files(workspace, entry)
    if isinstance(files, Result):
        return files
    if is_untouched_template(item, files, root):
        return not_started(entry)
    unavailable = sandbox_unavailable()
    if unavailable is not None:
        return unavailable
    tests = root / (item.code.hidden_tests if hidden else item.code.public_tests)
    if not tests.is_file():
        return error(f"The tests of item {item.id} are not installed ({tests.name}).")
    missing = missing_requirements(f"Item {item.id}", item.code.requires, "code")
    if missing is not None:
        return missing
    digest = files_digest(files, tests.read_bytes())
    cached = cached_result(cache, item.id, digest)
    if cached is not None:
        return cached
    from grader.sandbox.runner import run_tests  # Linux only from here on

    module = Path(item.code.template).stem
    limits = Limits().with_timeout(item.code.timeout_s)
    run = run_tests(files, module, tests, tuple(item.code.requires), limits)
    result = grade_code_run(run, show_messages=not hidden,
                            label="hidden tests" if hidden else "public tests")
    if result.matched != GRADER_FAULT:  # the grader's own failure is not the submission's result
        remember_result(cache, item.id, digest, result)
    return result
