"""Step definitions of ``verification/features/trace/review.feature``.

Verifies suspect links and their review: a link remembers what its target said when it was
reviewed, a change makes it suspect until reviewed again, and a refused review writes
nothing (every file's SHA-256 compared before and after).

Oracle: the findings and exit statuses the feature file states, written there by hand and
never derived from the checker, on a copy of the minimal consistent project
(``verification/fixtures/minimal``) edited through real file edits; hashlib for the files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pytest_bdd import given, parsers, scenarios, then

from verification.trace.helpers import Project

scenarios("trace/review.feature")


def _snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@given("a fingerprint of every file in the project")
def fingerprint_files(project: Project) -> None:
    """Remember the SHA-256 of every file, to show later that nothing was written."""
    project.fingerprint = _snapshot(project.root)


@then(parsers.parse('no file outside "{out}" has changed'))
def nothing_written(project: Project, out: str) -> None:
    """Every file but those under ``out`` has the SHA-256 it had before."""
    now = {k: v for k, v in _snapshot(project.root).items() if not k.startswith(f"{out}/")}
    assert now == project.fingerprint
