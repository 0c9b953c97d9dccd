"""Helpers shared by the trace step modules: the minimal consistent project they copy
(``verification/fixtures/minimal``), the scenario's project and the finding lines of its last
command, edits of YAML fields by dotted path, data tables, and pytest run in a subprocess on
the copied project (for real results files).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verification.command_run import Run

FIXTURE = Path(__file__).parents[1] / "fixtures" / "minimal"
"""The minimal consistent project every scenario starts from a copy of."""


@dataclass
class Project:
    """The temporary project a scenario works on, and the last command's outcome."""

    root: Path
    run: Run | None = None
    pytest_run: Run | None = None
    fingerprint: dict[str, str] = field(default_factory=dict)

    @property
    def last(self) -> Run:
        assert self.run is not None, "no command has run yet"
        return self.run

    def findings(self) -> list[tuple[str, str, str, str]]:
        """The finding lines of the last run as (rule, item, where, message)."""
        rows = []
        for line in self.last.stdout.splitlines():
            parts = line.split("  ", 3)
            assert len(parts) == 4, f"not a finding line: {line!r}"
            rows.append((parts[0], parts[1], parts[2], parts[3]))
        return rows


def unescape(text: str) -> str:
    """A step's text with ``\\n`` and ``\\"`` turned into a newline and a quote."""
    return text.replace("\\n", "\n").replace('\\"', '"')


def set_dotted_field(data: Any, dotted: str, value: Any, *, remove: bool = False) -> None:
    """Set (or remove) the field at a dotted path (``links.0.id``) of parsed YAML."""
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if remove:
        del node[key]
    else:
        node[key] = value


def table_rows(datatable: list[list[str]]) -> list[dict[str, str]]:
    """A step's data table as one dict per row, keyed by the header."""
    header, *rows = datatable
    return [dict(zip(header, (cell.strip() for cell in row), strict=True)) for row in rows]


def run_pytest_in(project: Project, extra: list[str]) -> None:
    """Run pytest in a subprocess in the project, writing JUnit XML and cucumber JSON."""
    results = project.root / "results"
    results.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "pytest", "-q", f"--junitxml={results / 'junit.xml'}",
               f"--cucumberjson={results / 'cucumber.json'}", *extra]
    done = subprocess.run(command, cwd=project.root, capture_output=True, text=True, check=False)
    project.pytest_run = Run(done.returncode, done.stdout, done.stderr)


def one_finding(project: Project, rule: str, item: str) -> tuple[str, str, str, str]:
    """The one finding of this rule for this item in the last run's output."""
    matches = [f for f in project.findings() if f[0] == rule and f[1] == item]
    assert len(matches) == 1, project.last.stdout
    return matches[0]
