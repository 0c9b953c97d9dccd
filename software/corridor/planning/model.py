"""Value objects the planning stage returns: a trajectory, its clearances, the plan, its verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.planning.recheck import RecheckResult

__all__ = ["Clearance", "Plan", "Trajectory", "Verdict"]

FloatArray = NDArray[np.float64]


def _point(values: FloatArray) -> list[float]:
    return [round(float(v), 4) for v in values]


class Verdict(StrEnum):
    """What the planner concluded."""

    SAFE = "safe"
    """A trajectory meets every constraint, and the independent re-check confirms it."""
    NO_SAFE_TRAJECTORY = "no-safe-trajectory"
    """No candidate meets every constraint; the best one and what it lacks are reported."""
    REJECTED_BY_RECHECK = "rejected-by-recheck"
    """The search found a trajectory but the independent re-check does not confirm it."""


@dataclass(frozen=True, slots=True, eq=False)
class Trajectory:
    """A straight implant: entry point, unit direction and length (LPS mm)."""

    entry: FloatArray
    direction: FloatArray
    length_mm: float
    diameter_mm: float

    @property
    def tip(self) -> FloatArray:
        """The implant's tip (LPS mm)."""
        return np.asarray(self.entry + self.length_mm * self.direction)

    def to_json(self) -> dict[str, Any]:
        """Entry, tip, direction, length and diameter."""
        return {"entry_lps_mm": _point(self.entry), "tip_lps_mm": _point(self.tip),
                "direction_lps": [round(float(v), 6) for v in self.direction],
                "length_mm": round(self.length_mm, 3), "diameter_mm": self.diameter_mm}


@dataclass(frozen=True, slots=True, eq=False)
class Clearance:
    """The smallest clearance of the implant to one structure, and where it occurs.

    Attributes
    ----------
    structure
        Risk structure name, ``cortex`` (implant surface to the corridor surface, beyond
        the entry zone) or ``tip-to-cortex`` (corridor depth along the axis beyond the tip).
    required_mm
        The template's requirement.
    estimate_mm
        The search's estimate (distance transform, trilinear, along the axis, less the
        radius); capped values mean "at least this".
    guaranteed_mm
        ``estimate_mm`` less the stated uncertainty: a lower bound on the true clearance
        to the structure's voxels.
    at_lps_mm, depth_mm
        The axis point where the minimum occurs, and its distance from the entry point.
    capped
        The estimate reached the distance field's cap (the structure is farther).
    """

    structure: str
    required_mm: float
    estimate_mm: float
    guaranteed_mm: float
    at_lps_mm: FloatArray
    depth_mm: float
    capped: bool

    @property
    def margin_mm(self) -> float:
        """Guaranteed clearance less required (>= 0: met)."""
        return self.guaranteed_mm - self.required_mm

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"structure": self.structure, "required_mm": self.required_mm,
                "clearance_mm": round(self.estimate_mm, 4),
                "guaranteed_min_mm": round(self.guaranteed_mm, 4),
                "margin_mm": round(self.margin_mm, 4), "met": self.margin_mm >= 0,
                "at_lps_mm": _point(self.at_lps_mm), "depth_from_entry_mm": round(self.depth_mm, 3),
                "capped": self.capped}


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """The planner's answer for one case and procedure.

    ``trajectory`` is the proposed implant when the verdict is ``safe``; otherwise it
    is the best candidate found (never to be used), with ``failed`` naming what it lacks.
    """

    procedure: str
    side: str | None
    verdict: Verdict
    trajectory: Trajectory | None
    clearances: tuple[Clearance, ...]
    checks: dict[str, Any]
    failed: tuple[str, ...]
    shortfall_mm: float | None
    recheck: RecheckResult | None
    search: dict[str, Any]
    record: dict[str, Any] = field(default_factory=dict)
    """Provenance: software, inputs and their SHA-256, template, landmarks, parameters."""

    def to_json(self) -> dict[str, Any]:
        """The plan document (``plan.json``)."""
        implant_key = "trajectory" if self.verdict is Verdict.SAFE else "best_candidate"
        return {
            "format": "corridor-plan/1",
            "procedure": self.procedure,
            "side": self.side,
            "verdict": self.verdict.value,
            implant_key: None if self.trajectory is None else self.trajectory.to_json(),
            "failed_constraints": list(self.failed),
            "shortfall_mm": None if self.shortfall_mm is None else round(self.shortfall_mm, 4),
            "clearances": [c.to_json() for c in self.clearances],
            "checks": self.checks,
            "recheck": None if self.recheck is None else self.recheck.to_json(),
            "search": self.search,
            **self.record,
        }
