"""Helpers shared by the audit-document step modules: the repository root, the scenario
context, the in-process ``corridor docs`` runs, and Python's HTML parser listing the elements
a browser would see in a page.
"""

from __future__ import annotations

import html.parser
from dataclasses import dataclass, field
from pathlib import Path

from verification.command_run import run_corridor

ROOT = Path(__file__).parents[2]
"""The repository, whose records the documents are made from."""


@dataclass
class Case:
    """What one scenario built and what the commands did."""

    root: Path
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    validation: Path | None = None
    project: Path | None = None
    outs: list[Path] = field(default_factory=list)


def run_command(case: Case, argv: list[str]) -> None:
    """``corridor ARGV...`` in process, its outcome kept in the context."""
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr


class Elements(html.parser.HTMLParser):
    """The start tags of a page, as Python's HTML parser (and a browser) sees elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
