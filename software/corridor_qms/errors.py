"""Exceptions of the quality tooling.

Every error carries where it happened (``path``, ``line``, ``field``), what was
found and what was expected, as attributes, so that the CLI and tests can use
them without parsing messages.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["GitError", "ProjectNotFoundError", "QmsError", "RecordError", "ResultsError"]


class QmsError(Exception):
    """Base class of every error raised on purpose by the quality tooling."""


class RecordError(QmsError, ValueError):
    """A record file that cannot be read as the record it claims to be.

    Parameters
    ----------
    path
        The file.
    message
        What is wrong, in words.
    line
        1-based line of the offending field where the parser gives it.
    field
        Dotted name of the offending field, if one.
    found, expected
        The value found and the form expected, if known.
    """

    def __init__(
        self,
        path: Path,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
        found: object = None,
        expected: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.found = found
        self.expected = expected
        self.message = message
        where = f"{path}:{line}" if line is not None else str(path)
        parts = [where]
        if field:
            parts.append(f"field {field!r}")
        text = f"{': '.join(parts)}: {message}"
        if expected is not None:
            text += f" (expected {expected})"
        super().__init__(text)


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
