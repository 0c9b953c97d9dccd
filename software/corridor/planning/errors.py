"""Errors of the planning stage: each names the field, what was found and what was expected."""

from __future__ import annotations

from corridor.errors import CorridorError

__all__ = ["PlanningError", "StalePlanError"]


class PlanningError(CorridorError, ValueError):
    """A procedure template, landmark, label map or parameter the planner cannot use.

    Attributes
    ----------
    field, found, expected
        What was wrong, the value found and what was expected.
    """

    def __init__(self, field: str, found: object, expected: str) -> None:
        self.field, self.found, self.expected = field, found, expected
        super().__init__(f"{field}: found {found!r}, expected {expected}")


class StalePlanError(CorridorError, RuntimeError):
    """A plan no longer matches its inputs (label map or procedure changed since planning).

    Attributes
    ----------
    differences
        Each input that changed, with the fingerprint recorded and the one found now.
    """

    def __init__(self, differences: list[str]) -> None:
        self.differences = list(differences)
        super().__init__("stale plan: " + "; ".join(differences)
                         + " (re-plan on the current inputs)")
