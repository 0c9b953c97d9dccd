"""Run the real ``corridor`` command in the test process, capturing what it prints.

Shared by every step module that runs a command (``from verification.command_run import
run_corridor``), so that no module keeps its own copy of the redirection.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

from corridor.cli import main as corridor_main

__all__ = ["Run", "run_corridor"]


@dataclass(frozen=True)
class Run:
    """Outcome of one command: exit status and captured streams."""

    status: int
    stdout: str
    stderr: str


def run_corridor(argv: Sequence[str]) -> Run:
    """``corridor ARGV...`` in process; argparse's exit (usage error, ``--help``) is a status."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = corridor_main(list(argv))
        except SystemExit as exc:
            status = int(exc.code or 0)
    return Run(status, out.getvalue(), err.getvalue())
