"""Student workspaces: create one (``grade init``), find one, and open one."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from grader.core.fileio import WorkspaceError
from grader.items import for_type
from grader.items.kernel_runs import KERNEL_FOLDER, kernel_entry
from grader.model.bank import Bank
from grader.workspace.answers_template import render_answers_file
from grader.workspace.manifest import (
    MANIFEST_NAME,
    Manifest,
    manifest_item,
    read_manifest,
    write_manifest,
)

ANSWERS_NAME = "answers.yaml"
STATE_DIR = ".grade"


@dataclass(frozen=True)
class Workspace:
    root: Path
    manifest: Manifest

    @property
    def answers_path(self) -> Path:
        return self.root / ANSWERS_NAME

    @property
    def state_dir(self) -> Path:
        """Where checks keep progress and cached code results; read and written only through
        ``grader.core.state``, which never follows a link there."""
        return self.root / STATE_DIR


def select_items(bank: Bank, chapters: Iterable[int] = (), ids: Iterable[str] = ()) -> list[str]:
    """Item ids in bank order: the given chapters and ids, or the whole bank when both are empty.

    Raises ValueError naming an unknown chapter or id.
    """
    chapters, ids = list(chapters), [i.strip() for i in ids if i.strip()]
    known_chapters = {c.number for c in bank.chapters}
    bad_chapters = [c for c in chapters if c not in known_chapters]
    if bad_chapters:
        raise ValueError(f"no chapter {', '.join(map(str, bad_chapters))}; chapters are "
                         f"{min(known_chapters)}-{max(known_chapters)}")
    unknown = [i for i in ids if i not in bank.items]
    if unknown:
        raise ValueError(f"no item {', '.join(repr(u) for u in unknown)}; 'grade list' shows the ids")
    if not chapters and not ids:
        return list(bank.items)
    wanted = set(ids)
    return [i for i, item in bank.items.items() if item.chapter in chapters or i in wanted]


def select_kernels(bank: Bank, names: Iterable[str]) -> list[str]:
    """Kernel task ids in bank order (``all`` for every one); ValueError names an unknown one."""
    names = [n.strip() for n in names if n.strip()]
    if "all" in names:
        return list(bank.kernels)
    unknown = [n for n in names if n not in bank.kernels]
    if unknown:
        raise ValueError(f"no kernel task {', '.join(repr(u) for u in unknown)}; "
                         "'grade kernel list' shows them")
    return [k for k in bank.kernels if k in names]


def _readme(title: str, manifest: Manifest) -> str:
    code = [i for i in manifest.items if i.files]
    code_note = "".join(f"- `{i.files[0].split('/')[0]}/`: item {i.id} ({i.type}): the code you "
                        f"write and its public tests.\n" for i in code)
    if manifest.kernels:
        code_note += (f"- `{KERNEL_FOLDER}/`: GPU kernel task(s) {', '.join(k.id for k in manifest.kernels)}"
                      ": one file per kernel;\n  `grade check` runs each against an fp32 reference "
                      "(and times it against the roofline on a CUDA GPU).\n")
    code_note = code_note.rstrip("\n")
    if manifest.mode == "practice":
        mode_note = ("Practice mode: `grade check` checks correctness here, instantly, and gives the "
                     "next hint on a wrong answer and the worked solution once you are right.")
    else:
        mode_note = ("Graded mode: `grade check` checks that every answer can be read and runs the "
                     "public tests; correctness is graded when you submit.")
    info = manifest.assignment or {}
    facts = [f"Assignment `{info['name']}`" if info.get("name") else "",
             f"for student `{info['student']}`" if info.get("student") else "",
             f"due **{info['due']}**" if info.get("due") else ""]
    assignment_note = " ".join(f for f in facts if f)
    if info.get("late_policy"):
        assignment_note += f". Late policy: {info['late_policy']}"
    template = resources.files("grader").joinpath("data/workspace_readme.md").read_text("utf-8")
    return Template(template).substitute(title=title, mode=manifest.mode, count=len(manifest.entries),
                                         code_note=code_note, mode_note=mode_note,
                                         assignment_note=assignment_note + "." if assignment_note else "")


def write_workspace(dest: Path, bank: Bank, manifest: Manifest) -> Workspace:
    """Write manifest, answers file, README and code templates (from the bank's course) into the
    empty folder ``dest``."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise WorkspaceError(f"{dest} exists and is not an empty folder; choose a new one "
                             "(your answers are never overwritten)")
    dest.mkdir(parents=True, exist_ok=True)
    title = manifest.title or "LM workbook practice"
    write_manifest(dest / MANIFEST_NAME, manifest)
    (dest / ANSWERS_NAME).write_text(render_answers_file(bank, manifest.items, title), encoding="utf-8")
    (dest / "README.md").write_text(_readme(title, manifest), encoding="utf-8")
    for entry in manifest.entries:
        for source, target in for_type(entry.type).starter_files(bank, entry):
            (dest / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest / target)
    return Workspace(dest, manifest)


def init_workspace(dest: Path, bank: Bank, item_ids: Sequence[str],
                   bank_dir: Path | None = None, kernel_ids: Sequence[str] = ()) -> Workspace:
    """A practice workspace for ``item_ids`` at their default parameters, and the kernel
    tasks ``kernel_ids``."""
    manifest = Manifest(mode="practice", title="LM workbook practice",
                        items=tuple(manifest_item(bank.items[i]) for i in item_ids),
                        bank=str(bank_dir.resolve()) if bank_dir else None,
                        kernels=tuple(kernel_entry(bank.kernels[k]) for k in kernel_ids))
    return write_workspace(dest, bank, manifest)


def find_workspace(start: Path) -> Path:
    """``start`` or the nearest parent holding a manifest; WorkspaceError when none does."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / MANIFEST_NAME).is_file():
            return folder
    raise WorkspaceError(f"no {MANIFEST_NAME} in {start} or its parents: not a workspace "
                         "('grade init DIR' creates one)")


def open_workspace(root: Path) -> Workspace:
    if not root.is_dir():
        raise WorkspaceError(f"{root} is not a folder")
    return Workspace(root, read_manifest(root / MANIFEST_NAME))

