"""Clearance measurement of one trajectory: each clearance's minimum and where along the axis.

The search judges candidates in batches and keeps only margins
(:class:`~corridor.planning.search.Evaluation`); the plan reports, for the one trajectory
chosen, each clearance with the axis point where its minimum lies.  Both read the same distance
fields the same way (trilinear, along the axis, less the implant radius and the stated
uncertainty), here at the final sampling step.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from corridor.planning.fields import uncertainty_mm
from corridor.planning.model import Clearance, Trajectory
from corridor.planning.search import Constraint, Problem

__all__ = ["CAP_TOLERANCE_MM", "measure_clearances"]

CAP_TOLERANCE_MM = 1e-3
"""A sampled distance within this of the fields' cap counts as capped (the structure is
farther): trilinear interpolation between capped voxels can land a rounding error short of it."""


def _samples(length_mm: float, step_mm: float) -> NDArray[np.float64]:
    """Distances along an axis from 0 to ``length_mm`` inclusive, at most ``step_mm`` apart."""
    return np.linspace(0.0, length_mm, math.ceil(length_mm / step_mm) + 1)


def measure_clearances(problem: Problem, trajectory: Trajectory, *, step_mm: float,
                       cap_mm: float) -> tuple[Clearance, ...]:
    """Each clearance of one trajectory, with where along the axis its minimum lies.

    Parameters
    ----------
    problem
        The case's fields and requirements (LPS mm).
    trajectory
        The implant measured.
    step_mm
        Sampling step along the axis (mm); it enters the stated uncertainty.
    cap_mm
        The distance fields' cap (mm); a minimum at the cap is reported ``capped``.

    Returns
    -------
    tuple of Clearance
        Each risk structure in the template's order, then ``cortex`` (implant surface to the
        corridor surface beyond the entry zone), then ``tip-to-cortex`` (corridor depth along
        the axis up to the template's allowance beyond the tip).
    """
    roi, radius = problem.roi, problem.radius_mm
    uncertainty = uncertainty_mm(roi.geometry.spacing, step_mm)
    capped_from = cap_mm - CAP_TOLERANCE_MM
    length = trajectory.length_mm
    t = _samples(length, step_mm)
    axis = trajectory.entry + t[:, None] * trajectory.direction
    index = roi.index_of(axis)
    found: list[Clearance] = []
    for field, required in problem.risks:
        values = field.sample(index, order=1).astype(np.float64)
        n = int(np.argmin(values))
        found.append(Clearance(field.name, required, float(values[n]) - radius,
                               float(values[n]) - radius - uncertainty, axis[n], float(t[n]),
                               bool(values[n] >= capped_from)))
    depth = problem.corridor.sample(index, order=1).astype(np.float64)
    deep = t >= min(problem.entry_zone_mm, length)
    n = int(np.flatnonzero(deep)[np.argmin(depth[deep])])
    found.append(Clearance(Constraint.CORTEX.value, problem.corridor_clearance_mm,
                           float(depth[n]) - radius, float(depth[n]) - radius - uncertainty,
                           axis[n], float(t[n]), bool(depth[n] >= capped_from)))
    beyond_t = length + _samples(problem.tip_to_cortex_mm, step_mm)
    beyond = trajectory.entry + beyond_t[:, None] * trajectory.direction
    ahead = problem.corridor.sample(roi.index_of(beyond), order=1).astype(np.float64)
    n = int(np.argmin(ahead))
    found.append(Clearance(Constraint.TIP_TO_CORTEX.value, 0.0, float(ahead[n]),
                           float(ahead[n]) - uncertainty, beyond[n], float(beyond_t[n]),
                           bool(ahead[n] >= capped_from)))
    return tuple(found)
