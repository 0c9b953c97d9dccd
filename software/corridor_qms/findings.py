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
    """How bad a finding is.  ``ERROR`` fails the check; ``WARNING`` fails it under ``--strict``."""

    WARNING = "warning"
    ERROR = "error"


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
