"""The risk map of a plan: the smallest clearance margin over the cone of directions at its entry.

Every direction within the template's largest deviation from the reference direction is judged
through the plan's entry point at the plan's length, by the same evaluation as the search
(:func:`~corridor.planning.search.evaluate`), so the map shows how much room the surgeon has
around the planned direction.  Directions are given as a polar angle from the reference
direction and an azimuth about it, azimuth 0 towards the patient's head (LPS +z).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.planning.model import Trajectory
from corridor.planning.search import Problem, evaluate
from corridor.planning.vectors import angle_deg, projected_basis

__all__ = ["RiskMap", "direction_name", "risk_map"]

FloatArray = NDArray[np.float64]

_DIRECTION_NAMES = (("left", "right"), ("posterior", "anterior"), ("superior", "inferior"))
"""Patient directions of the LPS axes, positive then negative."""

_HEAD_TO_FOOT_COSINE = 0.95
"""A reference direction whose z component exceeds this (about 18 degrees from head to foot)
takes azimuth 0 towards the patient's left instead of the head."""


def direction_name(vector: FloatArray) -> str:
    """The patient direction (LPS) a vector points most along, e.g. ``superior``."""
    axis = int(np.argmax(np.abs(vector)))
    return _DIRECTION_NAMES[axis][0 if vector[axis] > 0 else 1]


def _azimuth_axes(reference: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Azimuth 0 towards the patient's head (superior, +z LPS) seen along the reference
    direction, or towards the left (+x) when the reference is nearly head to foot."""
    toward = (np.array([0.0, 0.0, 1.0]) if abs(reference[2]) < _HEAD_TO_FOOT_COSINE
              else np.array([1.0, 0, 0]))
    return projected_basis(reference, toward)


@dataclass(frozen=True, slots=True, eq=False)
class RiskMap:
    """Smallest clearance margin (mm) over directions through the plan's entry point.

    ``values[a, b]`` is for the direction at polar angle ``polar_deg[a]`` from the
    reference direction and azimuth ``azimuth_deg[b]`` about it; NaN where the direction
    is not admissible (outside the corridor, entry angle, target, side).

    Attributes
    ----------
    polar_deg, azimuth_deg
        The grid's polar angles and azimuths (degrees).
    values
        ``(polar, azimuth)`` smallest margin, guaranteed clearance less required, over the
        risk structures and the cortex (mm; NaN: not admissible).
    planned
        Polar angle and azimuth of the planned direction (degrees).
    azimuth_names
        Patient directions of azimuth 0 and 90 degrees (e.g. ``superior``, ``left``).
    """

    polar_deg: FloatArray
    azimuth_deg: FloatArray
    values: FloatArray
    planned: tuple[float, float]
    azimuth_names: tuple[str, str]

    def to_json(self) -> dict[str, Any]:
        """The map's summary for ``plan.json``: grid size, admissible share, best margin,
        where the plan lies on it and what azimuth 0 and 90 degrees point towards."""
        admissible = np.isfinite(self.values)
        return {"polar_steps": len(self.polar_deg), "azimuth_steps": len(self.azimuth_deg),
                "admissible_fraction": round(float(np.mean(admissible)), 4),
                "best_margin_mm": (None if not admissible.any()
                                   else round(float(np.nanmax(self.values)), 4)),
                "planned_polar_deg": round(self.planned[0], 4),
                "planned_azimuth_deg": round(self.planned[1], 4),
                "azimuth_0_deg_towards": self.azimuth_names[0],
                "azimuth_90_deg_towards": self.azimuth_names[1]}


def risk_map(problem: Problem, trajectory: Trajectory, *, polar_steps: int = 24,
             azimuth_steps: int = 72, step_mm: float = 0.5) -> RiskMap:
    """Clearance margin at the planned length over the cone of directions at the entry.

    Parameters
    ----------
    problem
        The case's fields and requirements (LPS mm); its reference direction is the cone's
        axis and its largest deviation the cone's half-angle.
    trajectory
        The plan's implant: its entry point and length are kept, its direction marked.
    polar_steps, azimuth_steps
        Grid size (polar angles from 0 to the largest deviation; azimuths every
        ``360 / azimuth_steps`` degrees).
    step_mm
        Sampling step along each direction (mm).
    """
    reference = problem.reference
    u, v = _azimuth_axes(reference)
    polar = np.linspace(0.0, problem.max_deviation_deg, polar_steps)
    azimuth = np.linspace(0.0, 360.0, azimuth_steps, endpoint=False)
    p, a = np.meshgrid(np.radians(polar), np.radians(azimuth), indexing="ij")
    directions = (np.cos(p)[..., None] * reference + np.sin(p)[..., None]
                  * (np.cos(a)[..., None] * u + np.sin(a)[..., None] * v)).reshape(-1, 3)
    anchors = np.repeat(trajectory.entry[None, :], len(directions), axis=0)
    single = dataclasses.replace(problem, lengths_mm=np.array([trajectory.length_mm]))
    evaluation = evaluate(single, anchors, directions, step_mm=step_mm)
    values = np.where(evaluation.admissible[:, 0], evaluation.worst()[:, 0], np.nan)
    d = trajectory.direction
    planned_polar = float(angle_deg(d, reference))
    planned_azimuth = math.degrees(math.atan2(float(d @ v), float(d @ u))) % 360.0
    return RiskMap(polar, azimuth, values.reshape(p.shape), (planned_polar, planned_azimuth),
                   (direction_name(u), direction_name(v)))
