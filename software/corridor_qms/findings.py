"""Findings: what a check yields instead of raising or printing.

A check is a generator of :class:`Finding`; the caller (the CLI, a test)
decides what to do with them.  Nothing that yields findings writes files.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

__all__ = ["Finding", "Severity"]


class Severity(StrEnum):
    """How bad a finding is, and which runs of the check it fails (:meth:`fails`).

    ``ERROR`` fails every run.  ``WARNING`` fails under ``--strict`` and at the release
    gate.  ``RELEASE`` is reported like a warning in everyday runs (a state a development
    branch may be in, such as an open problem report) and fails only the release gate
    (``corridor trace check --release``).
    """

    WARNING = "warning"
    RELEASE = "release"
    ERROR = "error"

    def fails(self, *, strict: bool = False, release: bool = False) -> bool:
        """Whether a finding of this severity fails a check run.

        Parameters
        ----------
        strict
            Warnings fail too (``--strict``).
        release
            The release gate (``--release``): every finding fails, warnings and release-only
            findings included.
        """
        if self is Severity.ERROR or release:
            return True
        return strict and self is Severity.WARNING


@dataclass(frozen=True, slots=True)
class Finding:
    """One violated rule about one item.

    Attributes
    ----------
    path
        File the finding is anchored in, relative to the project root (POSIX form).
    line
        1-based line in ``path``, or ``None`` when the finding is about the file.
    rule
        Rule identifier from the catalogue, e.g. ``REQ-NO-VERIFICATION``.
    item
        Identifier of the item concerned (``SRS-TRC-001``, ``HAZ-003``, a scenario key).
    message
        What was found and what was expected.
    severity
        :class:`Severity`.
    """

    path: PurePosixPath
    line: int | None
    rule: str
    item: str
    message: str
    severity: Severity = Severity.ERROR

    def sort_key(self) -> tuple[str, int, str, str, str]:
        """Key that orders findings by file, line, rule and item (deterministic output)."""
        return (str(self.path), self.line or 0, self.rule, self.item, self.message)

    def format(self) -> str:
        """Render as ``RULE-ID  ITEM-ID  file:line  message``."""
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{self.rule}  {self.item}  {where}  {self.message}"
