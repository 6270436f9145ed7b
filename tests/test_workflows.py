"""The repository's GitHub Actions workflows and the CI examples it ships are valid workflows,
checked against GitHub's workflow schema as check-jsonschema bundles it (offline: nothing is
fetched), and the check fails on a workflow that is not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.workspace_helpers import CHECKOUT

pytestmark = pytest.mark.slow  # runs check-jsonschema on the workflows in a subprocess

pytest.importorskip("check_jsonschema", reason="the workflow linter: pip install '.[test]'")

WORKFLOWS = sorted(p for folder in (".github/workflows", "examples/ci")
                   for pattern in ("*.yml", "*.yaml") for p in (CHECKOUT / folder).glob(pattern))
# Any download would go through this proxy, which refuses: the bundled schema must suffice.
OFFLINE = {name: "http://127.0.0.1:9" for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}, **OFFLINE}
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", *map(str, paths)],
                          capture_output=True, text=True, timeout=300, env=env)


def test_the_workflows_and_ci_examples_are_valid():
    names = {p.relative_to(CHECKOUT).as_posix() for p in WORKFLOWS}
    assert {".github/workflows/tests.yml", "examples/ci/grade-class.yml"} <= names, names
    done = lint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_tests_run_on_linux_macos_and_windows():
    workflow = yaml.safe_load((CHECKOUT / ".github/workflows/tests.yml").read_text("utf-8"))
    matrix = workflow["jobs"]["test"]["strategy"]["matrix"]
    assert {"ubuntu-latest", "macos-latest", "windows-latest"} <= set(matrix["os"])


BROKEN = {
    "no runs-on": "jobs:\n  t:\n    steps:\n      - run: echo\n",
    "unknown event": "on: pusj\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n",
    "steps not a list": "jobs:\n  t:\n    runs-on: ubuntu-latest\n    steps: echo\n",
    "uses and run in one step": "jobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                                "      - uses: actions/checkout@v4\n        run: echo\n",
}


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_workflow_fails_the_check(tmp_path: Path, text: str):
    workflow = tmp_path / "broken.yml"
    workflow.write_text(("name: broken\n" + ("" if text.startswith("on:") else "on: push\n") + text), "utf-8")
    done = lint(workflow)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "broken.yml::$." in done.stdout, done.stdout
