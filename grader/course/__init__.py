"""The course the grader ships: the bank, its reference solvers, the student templates, the
hidden tests and the kernel tasks.

In the repository they live at the top (``bank/``, ``solutions/``, ``student_templates/``); the
wheel carries the same folders inside this package. ``COURSE_ROOT`` is the folder holding
them either way, and ``grader.course.solutions`` imports the solvers either way.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parents[1]

# Installed from a wheel or sdist, the course lies beside this file; in a checkout (editable
# install, or the source tree on sys.path) it lies at the repository's top.
COURSE_ROOT: Path = _HERE if (_HERE / "bank").is_dir() else _CHECKOUT

if COURSE_ROOT != _HERE:
    __path__.append(str(COURSE_ROOT))  # grader.course.solutions
