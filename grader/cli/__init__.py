"""The ``grade`` command line. Thin: it parses options and calls the library.

One module per role: ``student`` (init, check, progress, serve, list, show, errata), ``instructor``
(validate, key, assign, export, gradescope-autograder) and ``ta`` (batch, merge,
gradescope-grade, collusion, feedback); ``grade kernel`` (grader/cli/kernels.py) is imported only
when it is used or listed. ``common`` holds what they share: the context object the shared options fill
(``CliContext``), bank loading, the user-cache wrapper and the command group.

The top layer: it may import every package; nothing imports it.
"""

from __future__ import annotations

import click

from grader import DISTRIBUTION
from grader.cli import instructor, student, ta
from grader.cli.common import Group


@click.group(cls=Group, lazy={"kernel": "grader.cli.kernels:kernel"})
@click.version_option(package_name=DISTRIBUTION)
def main() -> None:
    """Exercise bank and grader for building language models from scratch."""


for _command in (*student.COMMANDS, *instructor.COMMANDS, *ta.COMMANDS):
    main.add_command(_command)

__all__ = ["main"]
