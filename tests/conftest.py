"""Shared fixtures: the shipped bank, loaded once. And the ``linux_only`` marker: tests of the
sandbox (bubblewrap, namespaces, Landlock, seccomp, uid switching, /proc), which code items and
kernel tasks run in, skip elsewhere with the reason. A module marks itself whole with the line
``pytestmark = pytest.mark.linux_only`` (or a list holding it); elsewhere it is then skipped
without being imported (its imports and skip conditions may use what only Linux has).

Stage markers (registered in pyproject.toml): ``slow`` (whole modules of end-to-end tests: the
quick loop is ``pytest -m "not slow"``), ``sandbox`` (runs student code), ``nbgrader`` (runs the
real nbgrader), ``gpu`` (needs CUDA). CI runs everything."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.bank.loader import load_bank
from grader.core.paths import COURSE_ROOT
from grader.model.bank import Bank

BANK_DIR = COURSE_ROOT / "bank"


@pytest.fixture(autouse=True, scope="session")
def _session_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The student commands' cache of the validated bank and manifests (grader.bank.user_cache) is a
    folder of this test session, never the cache of the user running the tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADE_CACHE_DIR", str(tmp_path_factory.mktemp("user-cache")))
        yield


@pytest.fixture(scope="session")
def bank() -> Bank:
    result = load_bank(BANK_DIR)
    assert result.problems == []
    return result.bank


@pytest.fixture
def bank_copy(tmp_path: Path) -> Path:
    """A writable copy of the bank (and the code files it points to) to break."""
    root = tmp_path / "repo"
    shutil.copytree(BANK_DIR, root / "bank")
    for folder in ("student_templates", "solutions"):
        shutil.copytree(COURSE_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root / "bank"


LINUX = sys.platform.startswith("linux")
LINUX_ONLY = (f"needs Linux (this is {sys.platform}): code items and kernel tasks run in its sandbox "
              "(bubblewrap, namespaces, Landlock, seccomp, uid switching, /proc)")
_MODULE_MARK = re.compile(r"^pytestmark = .*\bpytest\.mark\.linux_only\b", re.M)


class _LinuxOnlyModule(pytest.Module):
    def collect(self):
        pytest.skip(f"{self.path.name} {LINUX_ONLY}", allow_module_level=True)


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if not LINUX and _MODULE_MARK.search(module_path.read_text("utf-8")):
        return _LinuxOnlyModule.from_parent(parent, path=module_path)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not LINUX:
        for item in items:
            if item.get_closest_marker("linux_only"):
                item.add_marker(pytest.mark.skip(reason=LINUX_ONLY))
