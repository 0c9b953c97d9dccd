"""Plan one trajectory: resolve the template for the case, search, re-check, judge.

Steps (each in its own module):

1. Resolve the template's regions with the case's landmarks, side and label names
   (:mod:`~corridor.planning.regions`); refuse risk structures with no voxels at all.
2. Crop a region of interest holding every entry and target point, grown by the
   distance-field cap and the lead-in; build the corridor depth and one distance field per
   risk structure on it (:mod:`~corridor.planning.fields`).
3. Coarse search over entry seeds (corridor surface voxels in the entry region) and a
   cone of directions, then pattern-search refinement of the best few
   (:mod:`~corridor.planning.search`).
4. Evaluate the best trajectory finely, judge it, and have it re-checked by VTK surface
   distances (:mod:`~corridor.planning.recheck`); disagreement rejects it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap
from corridor.planning.errors import PlanningError
from corridor.planning.fields import (
    DistanceField,
    corridor_field,
    region_of_interest,
    risk_field,
    uncertainty_mm,
)
from corridor.planning.model import Clearance, Plan, Trajectory, Verdict
from corridor.planning.procedure import LateralityCheck, LoadedProcedure, Side
from corridor.planning.recheck import RecheckResult, StructureMask, recheck_plan
from corridor.planning.regions import Landmark, ResolvedRegion, label_values, resolve_region
from corridor.planning.search import (
    Constraint,
    Laterality,
    Problem,
    SearchOptions,
    evaluate,
    inward_normals,
    search,
)
from corridor.planning.vectors import angle_deg, projected_basis, unit

__all__ = ["CLEARANCE_BAND_MM", "PreparedCase", "RiskMap", "check_case_inputs",
           "plan_trajectory", "prepare_case", "risk_map"]

_log = logging.getLogger(__name__)

CLEARANCE_BAND_MM = 10.0
"""Distance fields are exact up to the largest required clearance plus the implant radius
plus this band; farther structures are reported as "at least" that (``capped``)."""


@dataclass(frozen=True, slots=True, eq=False)
class PreparedCase:
    """A case resolved for a template: the search problem and what the re-check needs."""

    problem: Problem
    seeds: NDArray[np.float64]
    corridor_mask: NDArray[np.bool_]
    risk_masks: tuple[StructureMask, ...]
    cap_mm: float
    laterality: dict[str, Any]
    timings: dict[str, float]


def _label_counts(label_map: LabelMap) -> NDArray[np.int64]:
    """Voxels per label value (slice by slice: ``bincount`` of the whole map would copy it
    to 64-bit integers)."""
    labels = label_map.labels
    counts = np.zeros(256, dtype=np.int64)
    for k in range(labels.shape[2]):
        counts += np.bincount(labels[:, :, k].ravel(), minlength=256)
    return counts


_BOUNDS_STRIDE = 4
"""Regions are bounded on every 4th voxel along each axis, then grown by 4 voxels."""


def _region_bounds(label_map: LabelMap, region: ResolvedRegion, corridor: tuple[int, ...]
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """LPS box of the corridor voxels in a region (found on a strided grid, grown by the
    stride so no voxel between the strided ones is missed); ``None`` if there are none."""
    stride = _BOUNDS_STRIDE
    labels = label_map.labels[::stride, ::stride, ::stride]
    affine = label_map.geometry.affine.copy()
    affine[:3, :3] *= stride
    strided = ImageGeometry(affine, labels.shape)
    lookup = np.zeros(256, dtype=bool)
    lookup[list(corridor)] = True
    found = np.argwhere(lookup[labels] & region.mask(labels, strided))
    if not len(found):
        return None
    low, high = found.min(axis=0) * stride - stride, found.max(axis=0) * stride + stride
    corners = np.array([[i, j, k] for i in (low[0], high[0]) for j in (low[1], high[1])
                        for k in (low[2], high[2])], dtype=np.float64)
    lps = label_map.geometry.index_to_lps(corners)
    return lps.min(axis=0), lps.max(axis=0)


def _laterality(loaded: LoadedProcedure, side: Side | None,
                landmarks: Mapping[str, Landmark]) -> tuple[Laterality, dict[str, Any]]:
    procedure = loaded.procedure
    check = procedure.laterality_check
    if check is LateralityCheck.MIDLINE:
        name = procedure.laterality_landmark
        pair = [f"{s.value}-{name}" for s in Side]
        missing = [p for p in pair if p not in landmarks]
        if missing:
            raise PlanningError("landmarks", ", ".join(missing) + " missing",
                                f"both {pair[0]} and {pair[1]}: the midline lies half-way "
                                "between them (wrong-side check)")
        left, right = (landmarks[p].centre_lps_mm[0] for p in pair)
        if not left > right:
            raise PlanningError("landmarks", f"{pair[0]} x {left:.1f} mm, {pair[1]} x "
                                f"{right:.1f} mm", f"{pair[0]} to the patient's left (larger "
                                f"LPS x) of {pair[1]}: are the landmarks swapped?")
        laterality = Laterality(check, side, 0.5 * (left + right), (pair[0], pair[1]))
        return laterality, laterality.to_json()
    return Laterality(check, side), {"check": check.value}


def check_case_inputs(loaded: LoadedProcedure, *, side: Side | None,
                      landmarks: Mapping[str, Landmark]) -> None:
    """The checks of a case's inputs that need no image: run them before any stage.

    Raises
    ------
    PlanningError
        A risk structure named ``cortex`` or ``tip-to-cortex`` (the names of the corridor's
        clearances), side given for an unsided template or missing for a sided one, a
        landmark the template names (with the side's prefix) missing, or the wrong-side
        check's landmark pair missing or swapped.
    """
    procedure = loaded.procedure
    reserved = (Constraint.CORTEX.value, Constraint.TIP_TO_CORTEX.value)
    for risk in procedure.risk_structures:
        if risk.name in reserved:
            raise PlanningError(f"risk structure {risk.name}", risk.name,
                                f"a name other than {' and '.join(reserved)}, which name the "
                                "corridor's own clearances in the plan")
    if procedure.sided and side is None:
        raise PlanningError("side", None, f"left or right: {procedure.name} is sided")
    if not procedure.sided and side is not None:
        raise PlanningError("side", side.value, f"no side: {procedure.name} is not sided")
    prefix = "" if side is None else f"{side.value}-"
    missing = sorted(f"{prefix}{name}" for name in procedure.landmarks()
                     if f"{prefix}{name}" not in landmarks)
    if missing:
        raise PlanningError("landmarks", ", ".join(missing) + " missing",
                            f"every landmark {procedure.name} names; given: "
                            + (", ".join(sorted(landmarks)) or "none"))
    _laterality(loaded, side, landmarks)


def prepare_case(label_map: LabelMap, loaded: LoadedProcedure, *, side: Side | None,
                 landmarks: Mapping[str, Landmark], lead_in_mm: float = 3.0) -> PreparedCase:
    """Resolve the template for a case and build the distance fields on the ROI.

    Raises
    ------
    PlanningError
        Side given for an unsided template or missing for a sided one, landmarks
        missing, labels the map lacks, a risk structure with no voxels in the whole label
        map, or a grid the planner cannot use.
    """
    procedure = loaded.procedure
    clock = time.perf_counter()
    check_case_inputs(loaded, side=side, landmarks=landmarks)
    names = label_map.names
    counts = _label_counts(label_map)
    corridor_values = label_values(procedure.corridor.labels, names, "corridor")
    if not counts[list(corridor_values)].sum():
        raise PlanningError("corridor", f"no voxels labelled {procedure.corridor.labels}",
                            "a label map in which the corridor is segmented")

    def resolve(region: Any, what: str) -> ResolvedRegion:
        return resolve_region(region, landmarks=landmarks, side=side, label_names=names,
                              what=what)

    entry_region = resolve(procedure.entry, "entry")
    target_region = resolve(procedure.target, "target")
    risks: list[tuple[str, ResolvedRegion, float]] = []
    for risk in procedure.risk_structures:
        region = resolve(risk.region, f"risk structure {risk.name}")
        if region.labels is not None and not counts[list(region.labels)].sum():
            raise PlanningError(f"risk structure {risk.name}",
                                f"no voxels labelled {risk.region.labels} in the label map",
                                "every risk structure segmented (planning would ignore it)")
        risks.append((risk.name, region, risk.clearance_mm))
    laterality, laterality_record = _laterality(loaded, side, landmarks)

    implant = procedure.implant
    radius = implant.radius_mm
    largest = max([procedure.corridor.clearance_mm, *(r[2] for r in risks)])
    cap = largest + radius + CLEARANCE_BAND_MM
    reach = max(lead_in_mm, implant.tip_to_cortex_mm) + 2.0 * max(label_map.geometry.spacing)
    boxes = [_region_bounds(label_map, region, corridor_values)
             for region in (entry_region, target_region)]
    if boxes[0] is None or boxes[1] is None:
        missing = "entry" if boxes[0] is None else "target"
        raise PlanningError(f"{missing} region", "no corridor voxels in it",
                            f"a {missing} region holding part of the corridor "
                            f"({', '.join(procedure.corridor.labels)}): check the landmarks")
    roi = region_of_interest(label_map, boxes, cap + reach)  # type: ignore[arg-type]
    timings = {"resolve_s": time.perf_counter() - clock}

    clock = time.perf_counter()
    lookup = np.zeros(256, dtype=bool)
    lookup[list(corridor_values)] = True
    corridor_mask = lookup[roi.labels]
    corridor = corridor_field(corridor_mask, roi.geometry)
    corridor = DistanceField(corridor.name, np.minimum(corridor.values, np.float32(cap)),
                             corridor.geometry, corridor.outside_value)
    fields: list[tuple[DistanceField, float]] = []
    masks: list[StructureMask] = []
    for name, region, required in risks:
        mask = region.mask(roi.labels, roi.geometry)
        fields.append((risk_field(name, mask, roi.geometry, cap), required))
        masks.append(StructureMask(name, mask, required))
    timings["distance_fields_s"] = time.perf_counter() - clock

    surface = corridor_mask & ~ndimage.binary_erosion(corridor_mask)
    seeds_mask = surface & entry_region.mask(roi.labels, roi.geometry)
    seeds = roi.geometry.index_to_lps(np.argwhere(seeds_mask).astype(np.float64))
    target_mask = corridor_mask & target_region.mask(roi.labels, roi.geometry)
    if len(seeds) and target_mask.any():
        target_centre = roi.geometry.index_to_lps(np.argwhere(target_mask).mean(axis=0))
        reference = unit(target_centre - seeds.mean(axis=0))
    else:
        reference = np.array([0.0, 0.0, 1.0])
    problem = Problem(
        roi=roi, corridor=corridor, risks=tuple(fields), radius_mm=radius,
        corridor_clearance_mm=procedure.corridor.clearance_mm,
        entry_zone_mm=procedure.corridor.entry_zone_mm,
        tip_to_cortex_mm=implant.tip_to_cortex_mm,
        lengths_mm=np.asarray(implant.length_mm.lengths()), entry_region=entry_region,
        target_region=target_region, reference=reference,
        max_deviation_deg=procedure.angles.max_deviation_deg,
        max_entry_angle_deg=procedure.angles.max_entry_angle_deg, laterality=laterality,
        lead_in_mm=lead_in_mm)
    laterality_record["target_voxels"] = int(target_mask.sum())
    return PreparedCase(problem, seeds, corridor_mask, tuple(masks), cap, laterality_record,
                        timings)


def _clearances(problem: Problem, trajectory: Trajectory, step_mm: float,
                cap: float) -> tuple[Clearance, ...]:
    """Each clearance of one trajectory, with where along the axis its minimum lies."""
    roi, radius = problem.roi, problem.radius_mm
    unc = uncertainty_mm(roi.geometry.spacing, step_mm)
    length = trajectory.length_mm
    t = np.linspace(0.0, length, math.ceil(length / step_mm) + 1)
    axis = trajectory.entry + t[:, None] * trajectory.direction
    index = roi.index_of(axis)
    found: list[Clearance] = []
    for field, required in problem.risks:
        values = field.sample(index, order=1).astype(np.float64)
        n = int(np.argmin(values))
        found.append(Clearance(field.name, required, float(values[n]) - radius,
                               float(values[n]) - radius - unc, axis[n], float(t[n]),
                               bool(values[n] >= cap - 1e-3)))
    depth = problem.corridor.sample(index, order=1).astype(np.float64)
    deep = t >= min(problem.entry_zone_mm, length)
    n = int(np.flatnonzero(deep)[np.argmin(depth[deep])])
    found.append(Clearance(Constraint.CORTEX.value, problem.corridor_clearance_mm,
                           float(depth[n]) - radius, float(depth[n]) - radius - unc, axis[n],
                           float(t[n]),
                           bool(depth[n] >= cap - 1e-3)))
    beyond_t = length + np.linspace(0.0, problem.tip_to_cortex_mm,
                                    math.ceil(problem.tip_to_cortex_mm / step_mm) + 1)
    beyond = trajectory.entry + beyond_t[:, None] * trajectory.direction
    ahead = problem.corridor.sample(roi.index_of(beyond), order=1).astype(np.float64)
    n = int(np.argmin(ahead))
    found.append(Clearance(Constraint.TIP_TO_CORTEX.value, 0.0, float(ahead[n]),
                           float(ahead[n]) - unc, beyond[n], float(beyond_t[n]),
                           bool(ahead[n] >= cap - 1e-3)))
    return tuple(found)


_DIRECTION_NAMES = (("left", "right"), ("posterior", "anterior"), ("superior", "inferior"))


def direction_name(vector: NDArray[np.float64]) -> str:
    """The patient direction (LPS) a vector points most along, e.g. ``superior``."""
    axis = int(np.argmax(np.abs(vector)))
    return _DIRECTION_NAMES[axis][0 if vector[axis] > 0 else 1]


def _azimuth_axes(reference: NDArray[np.float64]) -> tuple[NDArray[np.float64],
                                                            NDArray[np.float64]]:
    """Azimuth 0 towards the patient's head (superior, +z LPS) seen along the reference
    direction, or towards the left (+x) when the reference is nearly head to foot."""
    toward = np.array([0.0, 0.0, 1.0]) if abs(reference[2]) < 0.95 else np.array([1.0, 0, 0])
    return projected_basis(reference, toward)


@dataclass(frozen=True, slots=True, eq=False)
class RiskMap:
    """Smallest clearance margin (mm) over directions through the plan's entry point.

    ``values[a, b]`` is for the direction at polar angle ``polar_deg[a]`` from the
    reference direction and azimuth ``azimuth_deg[b]`` about it; NaN where the direction
    is not admissible (outside the corridor, entry angle, target, side).
    """

    polar_deg: NDArray[np.float64]
    azimuth_deg: NDArray[np.float64]
    values: NDArray[np.float64]
    planned: tuple[float, float]
    """Polar angle and azimuth of the planned direction (degrees)."""
    azimuth_names: tuple[str, str]
    """Patient directions of azimuth 0 and 90 degrees (e.g. ``superior``, ``left``)."""


def risk_map(problem: Problem, trajectory: Trajectory, *, polar_steps: int = 24,
             azimuth_steps: int = 72, step_mm: float = 0.5) -> RiskMap:
    """Clearance margin at the planned length over the cone of directions at the entry."""
    reference = problem.reference
    u, v = _azimuth_axes(reference)
    polar = np.linspace(0.0, problem.max_deviation_deg, polar_steps)
    azimuth = np.linspace(0.0, 360.0, azimuth_steps, endpoint=False)
    p, a = np.meshgrid(np.radians(polar), np.radians(azimuth), indexing="ij")
    directions = (np.cos(p)[..., None] * reference + np.sin(p)[..., None]
                  * (np.cos(a)[..., None] * u + np.sin(a)[..., None] * v)).reshape(-1, 3)
    anchors = np.repeat(trajectory.entry[None, :], len(directions), axis=0)
    single = Problem(**{**{f: getattr(problem, f) for f in Problem.__dataclass_fields__},
                        "lengths_mm": np.array([trajectory.length_mm])})
    evaluation = evaluate(single, anchors, directions, step_mm=step_mm)
    values = np.where(evaluation.admissible[:, 0], evaluation.worst()[:, 0], np.nan)
    d = trajectory.direction
    planned_polar = float(angle_deg(d, reference))
    planned_azimuth = math.degrees(math.atan2(float(d @ v), float(d @ u))) % 360.0
    return RiskMap(polar, azimuth, values.reshape(p.shape), (planned_polar, planned_azimuth),
                   (direction_name(u), direction_name(v)))


def plan_trajectory(label_map: LabelMap, loaded: LoadedProcedure, *, side: Side | None,
                    landmarks: Mapping[str, Landmark],
                    options: SearchOptions | None = None) -> tuple[Plan, PreparedCase]:
    """Plan one trajectory on a label map (see the module docstring for the steps).

    Returns
    -------
    tuple
        The plan (verdict ``safe`` only when the search and the re-check agree it meets
        every constraint) and the prepared case (for the risk map and the outputs).

    Raises
    ------
    PlanningError
        Inputs the planner cannot use (see :func:`prepare_case`).
    """
    options = options or SearchOptions()
    procedure = loaded.procedure
    prepared = prepare_case(label_map, loaded, side=side, landmarks=landmarks)
    problem = prepared.problem
    timings = dict(prepared.timings)
    search_record: dict[str, Any] = {"options": {k: getattr(options, k) for k in
                                                 SearchOptions.__dataclass_fields__},
                                     "roi_shape_ijk": list(problem.roi.labels.shape),
                                     "roi_start_ijk": list(problem.roi.start),
                                     "entry_seeds": len(prepared.seeds),
                                     "reference_direction_lps": [round(float(v), 6) for v
                                                                 in problem.reference],
                                     "uncertainty_mm": round(uncertainty_mm(
                                         problem.roi.geometry.spacing, options.final_step_mm), 4),
                                     "distance_cap_mm": prepared.cap_mm,
                                     "laterality": prepared.laterality}
    side_name = None if side is None else side.value

    def plan(verdict: Verdict, *, trajectory: Trajectory | None = None,
             clearances: tuple[Clearance, ...] = (), checks: dict[str, Any] | None = None,
             failed: tuple[str, ...] = (), shortfall: float | None = None,
             recheck: RecheckResult | None = None) -> tuple[Plan, PreparedCase]:
        search_record["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
        return Plan(procedure.name, side_name, verdict, trajectory, clearances, checks or {},
                    failed, shortfall, recheck, search_record), prepared

    if not len(prepared.seeds):
        timings["search_s"] = 0.0
        search_record["candidates"] = 0
        return plan(Verdict.NO_SAFE_TRAJECTORY, failed=(Constraint.ENTRY_REGION.value,))

    clock = time.perf_counter()
    found = search(problem, prepared.seeds, options)
    timings["search_s"] = time.perf_counter() - clock
    search_record.update({"candidates": found.coarse_candidates,
                          "coarse_lines_sampled": found.coarse_lines,
                          "coarse_safe_lines": found.coarse_safe_lines,
                          "refined_lines": found.refined_lines,
                          "refine_iterations": found.refine_iterations})

    clock = time.perf_counter()
    # The refined lines are judged again at the final step and the best kept: a line on a
    # rim can pass a check at the refining step and fail it at the finer one.
    final = evaluate(problem, found.anchors, found.directions, step_mm=options.final_step_mm)
    index, value = final.choice()
    best = int(np.argmax(value))
    length_index = int(index[best])
    failed = final.failed(best, length_index)
    if not np.isfinite(value[best]) or not np.all(np.isfinite(final.entry[best])):
        timings["final_s"] = time.perf_counter() - clock
        return plan(Verdict.NO_SAFE_TRAJECTORY, failed=failed or (Constraint.ENTRY.value,))
    trajectory = Trajectory(final.entry[best].copy(), found.directions[best].copy(),
                            float(problem.lengths_mm[length_index]),
                            procedure.implant.diameter_mm)
    clearances = _clearances(problem, trajectory, options.final_step_mm, prepared.cap_mm)
    checks = {
        "entry_angle_deg": round(_entry_angle(problem, trajectory), 3),
        "max_entry_angle_deg": procedure.angles.max_entry_angle_deg,
        "deviation_deg": round(float(angle_deg(trajectory.direction, problem.reference)), 3),
        "max_deviation_deg": procedure.angles.max_deviation_deg,
        "laterality": {**prepared.laterality,
                       "passed": bool(final.checks[Constraint.LATERALITY][best, length_index])},
        "tip_in_target_region": bool(final.checks[Constraint.TARGET_REGION][best, length_index]),
        "entry_in_entry_region": bool(final.checks[Constraint.ENTRY_REGION][best, length_index]),
        "length_range_mm": [float(problem.lengths_mm[0]), float(problem.lengths_mm[-1])],
    }
    timings["final_s"] = time.perf_counter() - clock
    if failed:
        smallest = min(c.margin_mm for c in clearances)
        return plan(Verdict.NO_SAFE_TRAJECTORY, trajectory=trajectory, clearances=clearances,
                    checks=checks, failed=failed,
                    shortfall=-smallest if smallest < 0 else None)

    clock = time.perf_counter()
    corridor_mask = StructureMask(Constraint.CORTEX.value, prepared.corridor_mask,
                                  procedure.corridor.clearance_mm)
    result = recheck_plan(geometry=problem.roi.geometry, corridor=corridor_mask,
                          risks=prepared.risk_masks,
                          search_estimates={c.structure: c.estimate_mm for c in clearances},
                          entry=trajectory.entry, direction=trajectory.direction,
                          length_mm=trajectory.length_mm, radius_mm=problem.radius_mm,
                          entry_zone_mm=problem.entry_zone_mm,
                          tip_to_cortex_mm=problem.tip_to_cortex_mm,
                          cap_mm=prepared.cap_mm - problem.radius_mm)
    timings["recheck_s"] = time.perf_counter() - clock
    if not result.passed:
        _log.warning("the independent re-check rejected the plan: %s",
                     "; ".join(result.reasons()))
    return plan(Verdict.SAFE if result.passed else Verdict.REJECTED_BY_RECHECK,
                trajectory=trajectory, clearances=clearances, checks=checks, recheck=result)


def _entry_angle(problem: Problem, trajectory: Trajectory) -> float:
    normal = inward_normals(problem.corridor, problem.roi, trajectory.entry[None, :])[0]
    return float(angle_deg(normal, trajectory.direction))
