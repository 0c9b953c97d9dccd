"""Errors of the planning stage: each names the field, what was found and what was expected."""

from __future__ import annotations

from corridor.errors import FieldError, SafetyRefusalError

__all__ = ["PlanningError", "StalePlanError"]


class PlanningError(FieldError):
    """A procedure template, landmark, label map or parameter the planner cannot use.

    Attributes
    ----------
    field, found, expected
        What was wrong, the value found and what was expected.
    """


class StalePlanError(SafetyRefusalError):
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
