"""The grader as users install it: ``python -m build`` makes a wheel and an sdist that carry the
course; the wheel, alone in a fresh virtual environment, runs every command from a folder
outside the checkout; its Gradescope zip installs it in an image; pipx and uv install it too.
A file missing from the package data fails here."""

from __future__ import annotations

import glob
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from grader.core.paths import COURSE_ROOT
from tests.test_sandbox_isolation import _copier
from tests.workspace_helpers import CHECKOUT

# a POSIX venv (bin/), bash, the sandbox
pytestmark = [pytest.mark.linux_only, pytest.mark.slow, pytest.mark.sandbox]

REFERENCE = COURSE_ROOT / "solutions/code/count_pairs.py"
COURSE_FOLDERS = ("bank", "solutions", "student_templates")
# nothing of the checkout or of the test environment may leak into the installed grader's runs
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "VIRTUAL_ENV", "GRADE_BANK", "GRADE_SANDBOX")}


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
         timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env or CLEAN_ENV, capture_output=True,
                          text=True, timeout=timeout)


def _ok(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "Traceback" not in run.stdout + run.stderr, (run.stdout + run.stderr)[-3000:]
    return run.stdout


def _course_files() -> set[str]:
    return {p.relative_to(COURSE_ROOT).as_posix() for folder in COURSE_FOLDERS
            for p in (COURSE_ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".yaml")}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(wheel, sdist, what the build printed), as ``python -m build`` makes them."""
    out = tmp_path_factory.mktemp("dist")
    run = _run(sys.executable, "-m", "build", "--outdir", out, CHECKOUT, cwd=out)
    _ok(run)
    (wheel,), (sdist,) = out.glob("*.whl"), out.glob("*.tar.gz")
    return wheel, sdist, run.stdout + run.stderr


@pytest.fixture(scope="module")
def dists(built: tuple[Path, Path, str]) -> tuple[Path, Path]:
    return built[0], built[1]


@pytest.fixture(scope="module")
def venv(dists: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh virtual environment holding the wheel and what it requires."""
    folder = tmp_path_factory.mktemp("venv")
    _ok(_run(sys.executable, "-m", "venv", folder / "venv", cwd=folder))
    _ok(_run(folder / "venv/bin/python", "-m", "pip", "install", "-q", dists[0], cwd=folder))
    return folder / "venv/bin"


def test_the_wheel_and_the_sdist_carry_the_course_inside_the_grader(built):
    wheel, sdist, output = built
    assert "absent from the `packages` configuration" not in output  # a folder pyproject.toml misses
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"grader/course/{name}" for name in _course_files()} <= names
    assert "lm_workbook_grader-0.1.0.dist-info/licenses/LICENSE" in names
    assert {"grader/schemas/chapter.schema.json", "grader/data/gradescope/setup.sh"} <= names
    assert {f"grader/serve/static/{n}" for n in ("serve.js", "serve.css", "favicon.svg")} <= names
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"grader"}, tops  # no top-level 'solutions' (or anything else) beside it
    with tarfile.open(sdist) as archive:
        root = archive.getnames()[0].split("/")[0]
        members = {name.removeprefix(f"{root}/") for name in archive.getnames()}
    assert _course_files() <= members
    assert {"pyproject.toml", "LICENSE", "mkdocs.yml", "docs/index.md", "examples/workspace/answers.yaml",
            "tests/test_distribution.py"} <= members


def test_the_installed_wheel_runs_every_command_from_any_folder(venv: Path, tmp_path: Path):
    grade = venv / "grade"
    here = tmp_path / "elsewhere"
    here.mkdir()
    assert "Bank OK: 51 items" in _ok(_run(grade, "validate", cwd=here))
    assert "9.6" in _ok(_run(grade, "list", cwd=here))
    assert "1.1 FLOPs of one matrix multiply" in _ok(_run(grade, "show", "1.1", cwd=here))
    _ok(_run(grade, "init", "ws", "--items", "0.6,1.1", cwd=here))
    shutil.copyfile(REFERENCE, here / "ws/count_pairs/count_pairs.py")
    checked = json.loads(_ok(_run(grade, "check", "ws", "--json", cwd=here)))
    assert checked["items"]["0.6"]["status"] == "correct", checked["items"]["0.6"]
    assert checked["items"]["1.1"]["status"] == "unanswered"
    assert "✓ correct" in _ok(_run(grade, "check", "ws", cwd=here))
    assert "Mastery 1/2" in _ok(_run(grade, "progress", "ws", cwd=here))
    # a student who loads the installed reference solution gets nothing from it
    installed = venv.parent / "lib/python*/site-packages/grader/course/solutions/code/count_pairs.py"
    assert len(glob.glob(str(installed))) == 1
    (here / "ws/count_pairs/count_pairs.py").write_text(_copier([str(installed)]))
    stolen = json.loads(_ok(_run(grade, "check", "ws", "--json", cwd=here)))["items"]["0.6"]
    assert stolen["status"] != "correct" and stolen["score"] < 0.5, stolen  # {} passes a few
    # the base install has no torch: the MoE router is the grader's error, naming the install
    _ok(_run(grade, "init", "router", "--items", "3.5", cwd=here))
    shutil.copyfile(COURSE_ROOT / "solutions/code/moe_router.py", here / "router/moe_router/moe_router.py")
    router = json.loads(_ok(_run(grade, "check", "router", "--json", cwd=here)))["items"]["3.5"]
    feedback = " ".join(router["feedback"]) if isinstance(router["feedback"], list) else router["feedback"]
    command = "-m pip install 'torch<2.14,>=2.1' 'numpy>=1.24' --extra-index-url"
    assert router["status"] == "error" and command in feedback, router
    # nor Triton: a kernel task is the grader's error too, and the rest is graded
    _ok(_run(grade, "init", "kk", "--items", "1.1", "--kernel", "softmax", cwd=here))
    (here / "kk/kernels/softmax.py").write_text((here / "kk/kernels/softmax.py").read_text() + "# started\n")
    (here / "kk/answers.yaml").write_text('"1.1": 34359.74\n')
    kernel = json.loads(_ok(_run(grade, "check", "kk", "--json", cwd=here)))["items"]
    assert kernel["1.1"]["status"] == "correct" and kernel["softmax"]["status"] == "error", kernel
    (here / "ks.yaml").write_text("name: ks\ntitle: KS\nmode: practice\nitems: ['1.1']\nkernels: [softmax]\n")
    for command in (["kernel", "check", "kk"],
                    ["batch", "kk", "--out", "kk-graded", "--assignment", "ks.yaml"]):
        refused = _run(grade, *command, cwd=here)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
        assert "needs torch, triton and numpy, which are not installed" in refused.stderr, refused.stderr

    (here / "roster.txt").write_text("student_id\nalice\nbob\n")
    (here / "ps1.yaml").write_text("name: ps1\ntitle: PS1\nmode: practice\nvariants: per-student\n"
                                   "roster: roster.txt\nitems: ['1.1', '0.6']\n")
    _ok(_run(grade, "assign", "ps1.yaml", "--out", "release", cwd=here))
    shutil.copyfile(REFERENCE, here / "release/students/alice/count_pairs/count_pairs.py")
    _ok(_run(grade, "batch", "release/students", "--assignment", "ps1.yaml", "--out", "graded", cwd=here))
    results = json.loads((here / "graded/results/alice.json").read_text())
    assert results["items"]["0.6"]["status"] == "correct", results["items"]["0.6"]
    _ok(_run(grade, "export", "nbgrader", "ps1.yaml", "--out", "source/ps1", cwd=here))
    assert list((here / "source/ps1").glob("*.ipynb"))
    _ok(_run(grade, "gradescope-autograder", "ps1.yaml", "--out", "autograder.zip", cwd=here))
    assert not (CHECKOUT / "build").exists()


def test_grade_serve_runs_from_the_installed_wheel_with_its_page_files(venv: Path, tmp_path: Path):
    """The page's script and style sheet are package data: the installed grade serve serves them."""
    import http.client
    import re
    import signal

    _ok(_run(venv / "grade", "init", "ws", "--items", "1.1", cwd=tmp_path))
    server = subprocess.Popen([str(venv / "grade"), "serve", "ws", "--no-browser"], cwd=tmp_path,
                              env=CLEAN_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        match = re.search(r"127\.0\.0\.1:(\d+)/\?token=(\S+)", server.stdout.readline())
        assert match, server.stderr.read() if server.stderr else ""
        port, token = int(match.group(1)), match.group(2)
        static = CHECKOUT / "grader/serve/static"
        for path, expected in (("/static/serve.js", (static / "serve.js").read_bytes()),
                               ("/static/serve.css", (static / "serve.css").read_bytes()),
                               ("/item/1.1", b"FLOPs of one matrix multiply")):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("GET", path, headers={"Cookie": f"grade-serve-{port}={token}"})
            response = connection.getresponse()
            body = response.read()
            connection.close()
            assert response.status == 200 and expected in body, (path, response.status, body[:300])
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0 and "Stopped." in out and "Traceback" not in err, err


def test_the_gradescope_zip_of_an_installed_wheel_grades_as_gradescope_runs_it(venv: Path, tmp_path: Path):
    """An instructor without a clone: the zip carries the installed grader, repacked as a wheel;
    setup.sh installs it into a fresh environment, run_autograder grades a correct count_pairs."""
    (tmp_path / "ps.yaml").write_text("name: ps\ntitle: PS\nmode: practice\nitems: ['0.6']\n")
    _ok(_run(venv / "grade", "gradescope-autograder", "ps.yaml", "--out", "a.zip", cwd=tmp_path))
    root = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        archive.extractall(root / "source")
        assert [n for n in archive.namelist() if n.startswith("dist/")] == \
            ["dist/lm_workbook_grader-0.1.0-py3-none-any.whl"]
    env = {**CLEAN_ENV, "AUTOGRADER_ROOT": str(root)}
    _ok(_run("bash", root / "source/setup.sh", cwd=root, env=env))
    _ok(_run(venv / "grade", "init", "ws", "--items", "0.6", cwd=tmp_path))
    shutil.copytree(tmp_path / "ws", root / "submission")
    shutil.copyfile(REFERENCE, root / "submission/count_pairs/count_pairs.py")
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"sid": "s1"}]}))
    (root / "results").mkdir()
    _ok(_run("bash", root / "source/run_autograder", cwd=root, env=env))
    results = json.loads((root / "results/results.json").read_text())
    assert results["score"] == 1.0, results


def _repacked(grade: Path, folder: Path, env: dict[str, str] | None = None) -> bytes:
    """The wheel in the Gradescope zip that ``grade`` (an installed grader) builds."""
    (folder / "ps.yaml").write_text("name: ps\ntitle: PS\nmode: practice\nitems: ['1.1']\n")
    _ok(_run(grade, "gradescope-autograder", "ps.yaml", "--out", "a.zip", cwd=folder, env=env))
    with zipfile.ZipFile(folder / "a.zip") as archive:
        (name,) = [n for n in archive.namelist() if n.startswith("dist/")]
        return archive.read(name)


@pytest.mark.parametrize("installer", ["pipx", "uv"])
def test_pipx_and_uv_install_the_wheel_as_a_tool(installer: str, dists, venv: Path, tmp_path: Path):
    home, bin_dir = tmp_path / "home", tmp_path / "bin"
    env = {**CLEAN_ENV, "PIPX_HOME": str(home), "PIPX_BIN_DIR": str(bin_dir), "UV_TOOL_DIR": str(home),
           "UV_TOOL_BIN_DIR": str(bin_dir), "UV_CACHE_DIR": str(tmp_path / "cache"),
           "UV_PYTHON_DOWNLOADS": "never"}
    if installer == "pipx":
        command = [sys.executable, "-m", "pipx", "install", "--python", sys.executable, str(dists[0])]
    else:
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
        assert uv, "uv is one of the test extras"
        command = [uv, "tool", "install", "--python", sys.executable, str(dists[0])]
    _ok(_run(*command, cwd=tmp_path, env=env))
    grade = bin_dir / "grade"
    _ok(_run(grade, "init", "ws", "--items", "1.1", cwd=tmp_path, env=env))
    (tmp_path / "ws/answers.yaml").write_text('"1.1": 34359.74\n')
    checked = json.loads(_ok(_run(grade, "check", "ws", "--json", cwd=tmp_path, env=env)))
    assert checked["items"]["1.1"]["status"] == "correct", checked["items"]["1.1"]
    # the repacked wheel holds the package and the wheel's own metadata, not the installer's
    # records (uv's uv_cache.json has a time in it): the same bytes whoever installed it
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    repacked = _repacked(grade, tmp_path / "a", env)
    assert repacked == _repacked(venv / "grade", tmp_path / "b")
    names = zipfile.ZipFile(io.BytesIO(repacked)).namelist()
    assert {n.split("/")[0] for n in names} == {"grader", "lm_workbook_grader-0.1.0.dist-info"}
    assert sorted(n.split("/", 1)[1] for n in names if ".dist-info/" in n) == [
        "METADATA", "RECORD", "WHEEL", "entry_points.txt", "licenses/LICENSE", "top_level.txt"]


def test_an_image_without_torch_refuses_the_router_for_everyone_instead_of_failing_each(venv, tmp_path):
    """Found by review: gradescope-grade in an image without torch told each student their
    code crashed; now every results.json says the autograder lacks it."""
    (tmp_path / "ps.yaml").write_text("name: ps\ntitle: PS\nmode: practice\nitems: ['1.1', '3.5']\n")
    _ok(_run(venv / "grade", "init", "ws", "--items", "1.1,3.5", cwd=tmp_path))
    (tmp_path / "meta.json").write_text(json.dumps({"users": [{"sid": "s1"}]}))
    _ok(_run(venv / "grade", "gradescope-grade", "ps.yaml", "--submission", "ws", "--metadata", "meta.json",
             "--out", "results.json", cwd=tmp_path))
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == 0 and "did not grade this submission" in results["output"], results
    assert "needs torch and numpy" in results["output"] and "tell your instructor" in results["output"]
