"""Exceptions of the quality tooling.

Every error carries where it happened and what was wrong as attributes, so
that the CLI and tests can use them without parsing messages.  Problems in
record files are not exceptions but findings (:mod:`corridor_qms.findings`), so
that one run reports them all.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["GitError", "ProjectNotFoundError", "QmsError", "ResultsError"]


class QmsError(Exception):
    """Base class of every error raised on purpose by the quality tooling."""


class ResultsError(QmsError, ValueError):
    """A test-results file (JUnit XML or cucumber JSON) that cannot be read."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class GitError(QmsError, RuntimeError):
    """A git command needed for change-impact analysis failed."""

    def __init__(self, command: list[str], stderr: str) -> None:
        self.command = command
        self.stderr = stderr
        super().__init__(f"`{' '.join(command)}` failed: {stderr.strip()}")


class ProjectNotFoundError(QmsError, FileNotFoundError):
    """No Corridor project root (``requirements_spec/`` and ``risk_management/``) was found."""

    def __init__(self, start: Path, *, searched_parents: bool = True) -> None:
        self.start = start
        where = "no enclosing folder holds" if searched_parents else "the folder lacks"
        super().__init__(
            f"{start}: {where} requirements_spec/ and risk_management/ "
            "(expected a Corridor project root)"
        )

    def __str__(self) -> str:
        return str(self.args[0])
