"""Step definitions of ``features/foundation/permissions.feature``: outputs get umask modes.

Oracle: ``os.stat`` of every file and folder written (``helpers.file_modes``), against
0644/0755 (the umask 022 the scenario sets).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pytest_bdd import given, scenarios, then, when

from verification.command_run import run_corridor
from verification.foundation.helpers import file_modes

scenarios("foundation/permissions.feature")

MINIMAL = Path(__file__).resolve().parents[1] / "fixtures" / "minimal"


@dataclass
class Case:
    """The scenario's folder, the project copy and the folders written."""

    root: Path
    project: Path | None = None
    written: list[Path] = field(default_factory=list)


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


@given("a copy of the minimal project")
def minimal_copy(case: Case) -> None:
    """The fixture project, copied."""
    case.project = case.root / "project"
    shutil.copytree(MINIMAL, case.project)


@when("the traceability matrix of the copy is written as HTML, CSV and JSON")
def matrix(case: Case) -> None:
    """corridor trace matrix."""
    assert case.project is not None
    out = case.root / "matrix"
    done = run_corridor(["trace", "matrix", "--root", str(case.project), "--format", "html",
                         "--format", "csv", "--format", "json", "--out", str(out)])
    assert done.status == 0, done.stderr
    case.written.append(out)


@when("the design-history report of the copy is written as a draft")
def dhf(case: Case) -> None:
    """corridor docs dhf --draft."""
    assert case.project is not None
    out = case.root / "dhf"
    done = run_corridor(["docs", "dhf", "--root", str(case.project), "--out", str(out),
                         "--draft"])
    assert done.status == 0, done.stderr
    case.written.append(out)


@then("every file written is mode 0644 and every folder 0755")
def modes(case: Case) -> None:
    """Each output folder, and everything in it (the umask 022 the scenario set)."""
    assert len(case.written) == 2
    for top in case.written:
        files, folders = file_modes(top)
        assert files, top
        assert set(files.values()) == {0o644}, files
        assert set(folders.values()) == {0o755}, folders
