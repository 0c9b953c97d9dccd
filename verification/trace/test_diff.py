"""Step definitions of ``verification/features/trace/diff.feature``.

Verifies change-impact analysis (``corridor trace diff``): what changed since a release, and
which verification and hazards that puts in doubt.  The project is committed to a real git
repository here, and the output is compared line by line.

Oracle: the output and exit statuses the feature file states, written there by hand and
never derived from the checker, on a copy of the minimal consistent project
(``verification/fixtures/minimal``) with changes made through real file edits.
"""

from __future__ import annotations

import os
import subprocess

from pytest_bdd import given, scenarios, then

from verification.trace.helpers import Project

scenarios("trace/diff.feature")


_ENV = {"GIT_AUTHOR_NAME": "Verifier", "GIT_AUTHOR_EMAIL": "v@example.invalid",
        "GIT_COMMITTER_NAME": "Verifier", "GIT_COMMITTER_EMAIL": "v@example.invalid"}


@given("the project is committed to a new git repository")
def git_commit(project: Project) -> None:
    """Make the project a git repository with one commit."""
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "commit", "-q", "-m", "baseline"]):
        subprocess.run(command, cwd=project.root, check=True, env={**os.environ, **_ENV})


@given("the changes are committed")
def git_commit_changes(project: Project) -> None:
    """A second commit: the revision the diff compares against."""
    for command in (["git", "add", "-A"], ["git", "commit", "-q", "-m", "changes"]):
        subprocess.run(command, cwd=project.root, check=True, env={**os.environ, **_ENV})


@then("standard output is exactly:")
def stdout_exactly(project: Project, docstring: str) -> None:
    """Standard output, line by line."""
    assert project.last.stdout.splitlines() == docstring.splitlines(), project.last.stdout
