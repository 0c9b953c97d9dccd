"""Candidate trajectories, evaluated many at a time: sampling, constraints, coarse-to-fine search.

A candidate is a line (an anchor point and a unit direction, LPS).  Its entry point
is where the line first passes into the corridor; the implant runs from there along
the direction for one of the template's lengths.  Every candidate of a batch is
sampled at the same steps along its line, so the whole batch is a few array
operations: field lookups, running minima from the entry point, and one index per
length.  There is no Python loop over candidates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.planning.fields import DistanceField, Roi, uncertainty_mm
from corridor.planning.procedure import LateralityCheck, Side
from corridor.planning.regions import ResolvedRegion
from corridor.planning.vectors import angle_deg, perpendicular_basis, unit

__all__ = ["GEOMETRIC_CONSTRAINTS", "ConservativeFields", "Constraint", "Evaluation",
           "Laterality", "Problem", "SearchOptions", "SearchResult", "cone_directions",
           "evaluate", "inward_normals", "margin_columns", "search"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_MAX_POINTS_PER_BATCH = 2_000_000
"""Sample points looked up at once (memory: about 40 bytes a point)."""

_INFEASIBLE_PENALTY = 1e3
"""Subtracted from an admissible but unsafe candidate's margin when ranking, so every safe
candidate ranks above every unsafe one (margins are millimetres, far below this)."""

_ROBUST_FLOOR = -0.5 * _INFEASIBLE_PENALTY
"""Lowest rank value of a safe line that is not robust (its conservative shortfall, mm): above
every unsafe line, below every robust one."""


class Constraint(StrEnum):
    """Why a candidate can fail, in the order they are reported."""

    ENTRY = "entry"
    """The line does not pass into the corridor from outside."""
    ENTRY_REGION = "entry-region"
    """The entry point lies outside the template's entry region."""
    ENTRY_ANGLE = "entry-angle"
    """The line meets the corridor surface more steeply than the template allows."""
    DEVIATION = "deviation"
    """The line deviates from the reference direction more than the template allows."""
    TARGET_REGION = "target-region"
    """The tip lies outside the template's target region."""
    LATERALITY = "laterality"
    """The entry or the tip lies on the wrong side (:class:`Laterality`)."""
    CORTEX = "cortex"
    """The implant surface comes closer to the corridor surface than required (beyond the
    entry zone)."""
    TIP_TO_CORTEX = "tip-to-cortex"
    """The corridor does not continue the template's allowance beyond the tip."""


GEOMETRIC_CONSTRAINTS = (Constraint.ENTRY, Constraint.ENTRY_REGION, Constraint.ENTRY_ANGLE,
                         Constraint.DEVIATION, Constraint.TARGET_REGION, Constraint.LATERALITY)
"""The constraints judged as pass or fail (:attr:`Evaluation.checks`), in reporting order;
the others are clearance margins (:attr:`Evaluation.margins`)."""

_DISTINCT_DIRECTION_DEG = 3.0
"""Two coarse candidates closer than twice the seed spacing are refined both only when their
directions differ by at least this (one coarse direction step)."""


@dataclass(frozen=True, slots=True)
class Laterality:
    """The wrong-side check for one case.

    Attributes
    ----------
    check
        The template's check.
    side
        The side planned (``None`` for an unsided template).
    midline_x_mm
        For the ``midline`` check: LPS x of the patient's sagittal midline (mm).
    midline_landmarks
        For the ``midline`` check: the left and right landmark it was taken from.
    """

    check: LateralityCheck
    side: Side | None
    midline_x_mm: float | None = None
    midline_landmarks: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        midline = self.check is LateralityCheck.MIDLINE
        if midline != (self.midline_x_mm is not None) or midline != (
                self.midline_landmarks is not None):
            raise ValueError(f"laterality check {self.check.value}: midline_x_mm "
                             f"{self.midline_x_mm} and midline_landmarks "
                             f"{self.midline_landmarks} given; expected both for, and only "
                             "for, the midline check")

    def allows(self, entry: FloatArray, tip: FloatArray) -> BoolArray:
        """Whether entry and tip points (``(..., 3)``, LPS) are on the requested side."""
        if self.check is LateralityCheck.NONE or self.side is None:
            shape = np.broadcast_shapes(entry.shape, tip.shape)[:-1]
            return np.ones(shape, dtype=bool)
        sign = 1.0 if self.side is Side.LEFT else -1.0  # LPS +x is the patient's left
        if self.midline_x_mm is not None:  # the midline check (see __post_init__)
            return np.asarray((sign * (entry[..., 0] - self.midline_x_mm) > 0)
                              & (sign * (tip[..., 0] - self.midline_x_mm) > 0))
        return np.asarray(sign * (tip[..., 0] - entry[..., 0]) < 0)  # tip medial to entry

    def to_json(self) -> dict[str, Any]:
        """The check, and for ``midline`` the midline's LPS x (mm) and its landmarks."""
        if self.midline_x_mm is None or self.midline_landmarks is None:
            return {"check": self.check.value}
        return {"check": self.check.value, "midline_x_mm": round(float(self.midline_x_mm), 3),
                "from_landmarks": list(self.midline_landmarks)}


@dataclass(frozen=True, slots=True, eq=False)
class ConservativeFields:
    """The segmentation's plausible alternatives folded into one set of fields (mm, LPS).

    On the problem's region of interest, at every voxel, the smallest corridor depth and the
    smallest distance to each risk structure found on any alternative.  A line's margins read
    on them are at most its smallest margins over the alternatives (a minimum along the axis
    of a voxelwise minimum, and trilinear interpolation of a minimum is at most the minimum
    of the interpolations), so a line meeting every requirement on them meets it under every
    alternative, as far as the fields go; the plan measures each alternative again.

    Attributes
    ----------
    corridor
        The smallest corridor depth.
    risks
        The smallest distance to each risk structure, in the problem's order.
    alternatives
        The alternatives folded in, by name.
    """

    corridor: DistanceField
    risks: tuple[DistanceField, ...]
    alternatives: tuple[str, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Problem:
    """Everything a candidate is judged by, resolved for one case (mm, LPS).

    With :attr:`conservative` fields, every candidate is also measured on them and the search
    prefers, among the lines safe on the nominal fields, one that is safe on them too
    (:meth:`Evaluation.choice`); the nominal fields alone decide what a line fails.

    Raises
    ------
    ValueError
        Conservative fields on another grid, or for other risk structures.
    """

    roi: Roi
    corridor: DistanceField
    risks: tuple[tuple[DistanceField, float], ...]
    """Each risk structure's field and its required clearance."""
    radius_mm: float
    corridor_clearance_mm: float
    entry_zone_mm: float
    tip_to_cortex_mm: float
    lengths_mm: FloatArray
    entry_region: ResolvedRegion
    target_region: ResolvedRegion
    reference: FloatArray
    """Unit reference direction (entry region centre to target region centre)."""
    max_deviation_deg: float
    max_entry_angle_deg: float
    laterality: Laterality
    lead_in_mm: float
    """How far before its anchor a line is sampled, to see it pass into the corridor."""
    conservative: ConservativeFields | None = None
    """The alternatives' conservative fields, when the search is to prefer robust lines."""

    def __post_init__(self) -> None:
        if self.conservative is None:
            return
        fields = (self.conservative.corridor, *self.conservative.risks)
        names = [f.name for f in self.conservative.risks]
        expected = [f.name for f, _ in self.risks]
        if names != expected or any(f.values.shape != self.corridor.values.shape
                                    for f in fields):
            raise ValueError(f"conservative fields for {names} of shapes "
                             f"{[f.values.shape for f in fields]}; expected the risk structures "
                             f"{expected} on the region of interest "
                             f"{self.corridor.values.shape}")


def margin_columns(problem: Problem) -> tuple[str, ...]:
    """The clearances every candidate is measured for, in the order of the margin columns.

    Each risk structure by name, then ``cortex`` and ``tip-to-cortex``
    (:attr:`Constraint.CORTEX`, :attr:`Constraint.TIP_TO_CORTEX`); the template refuses risk
    structures with those two names, so every column's name is unique.
    """
    return (*(field.name for field, _ in problem.risks), Constraint.CORTEX.value,
            Constraint.TIP_TO_CORTEX.value)


@dataclass(frozen=True, slots=True, eq=False)
class Evaluation:
    """A batch of candidates, judged at every length (``n`` lines, ``m`` lengths).

    The clearances are the ``c`` columns of :attr:`margins` and :attr:`estimates`, named by
    :attr:`columns` (:func:`margin_columns`); read one with :meth:`margin` or :meth:`estimate`.
    """

    anchors: FloatArray
    directions: FloatArray
    entry: FloatArray
    """``(n, 3)`` entry points (NaN where the line does not pass into the corridor)."""
    checks: dict[Constraint, BoolArray]
    """Geometric checks (:data:`GEOMETRIC_CONSTRAINTS`), each ``(n, m)``: True where met."""
    columns: tuple[str, ...]
    """Name of each clearance column: each risk structure, ``cortex``, ``tip-to-cortex``."""
    margins: NDArray[np.float64]
    """``(n, m, c)``: guaranteed clearance less required, per column (mm; >= 0 met)."""
    estimates: NDArray[np.float64]
    """``(n, m, c)``: the clearance estimates (mm) the margins come from."""
    uncertainty_mm: float
    conservative_margins: NDArray[np.float64] | None = None
    """``(n, m, c)``: the same margins read on the conservative fields
    (:attr:`Problem.conservative`; ``-inf`` on a line with no safe length: not read, since
    :meth:`choice` reads them only where a line is safe), or ``None`` when the problem has
    none."""

    def __post_init__(self) -> None:
        if (self.columns[-2:] != (Constraint.CORTEX.value, Constraint.TIP_TO_CORTEX.value)
                or len(set(self.columns)) != len(self.columns)
                or self.margins.shape[2:] != (len(self.columns),)
                or self.estimates.shape != self.margins.shape
                or (self.conservative_margins is not None
                    and self.conservative_margins.shape != self.margins.shape)):
            raise ValueError(f"clearance columns {self.columns} for margins of shape "
                             f"{self.margins.shape}, estimates of shape {self.estimates.shape} "
                             "and conservative margins of shape "
                             f"{getattr(self.conservative_margins, 'shape', None)}; expected "
                             "unique names ending in cortex, tip-to-cortex, one per column of "
                             "each")

    def _column(self, name: str) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise KeyError(f"{name!r}: no such clearance; expected one of "
                           f"{', '.join(self.columns)}") from None

    def margin(self, name: str) -> NDArray[np.float64]:
        """``(n, m)``: one clearance's margin, guaranteed less required (mm; >= 0 met).

        Raises
        ------
        KeyError
            ``name`` is not one of :attr:`columns`.
        """
        return np.asarray(self.margins[:, :, self._column(name)])

    def estimate(self, name: str) -> NDArray[np.float64]:
        """``(n, m)``: one clearance's estimate (mm), as :meth:`margin`."""
        return np.asarray(self.estimates[:, :, self._column(name)])

    @property
    def admissible(self) -> BoolArray:
        """``(n, m)``: every geometric check met."""
        result = np.ones(self.margins.shape[:2], dtype=bool)
        for passed in self.checks.values():
            result &= passed
        return result

    @property
    def safe(self) -> BoolArray:
        """``(n, m)``: admissible and every margin >= 0."""
        return np.asarray(self.admissible & np.all(self.margins >= 0.0, axis=2), dtype=bool)

    def worst(self) -> NDArray[np.float64]:
        """``(n, m)``: smallest clearance margin (risk structures and cortex; mm).

        The tip-to-cortex depth is left out: it decides whether a length is safe, not how far
        the implant keeps from what it must avoid.
        """
        # The last column is tip-to-cortex (checked in __post_init__): a slice, not a copy.
        return np.asarray(np.min(self.margins[:, :, :self._column(Constraint.TIP_TO_CORTEX)],
                                 axis=2))

    def failed(self, line: int, length: int) -> tuple[str, ...]:
        """What one line at one length (indices) fails: geometric checks, then clearances.

        Returns
        -------
        tuple of str
            :class:`Constraint` values in :data:`GEOMETRIC_CONSTRAINTS` order, then the
            :attr:`columns` whose margin is negative (risk structure names, ``cortex``,
            ``tip-to-cortex``); empty when the line is safe at that length.
        """
        failed = [c.value for c in GEOMETRIC_CONSTRAINTS if not self.checks[c][line, length]]
        margins = self.margins[line, length]
        failed += [name for name, margin in zip(self.columns, margins, strict=True)
                   if margin < 0.0]
        return tuple(failed)

    @property
    def robust(self) -> BoolArray:
        """``(n, m)``: safe, and every conservative margin >= 0 (all False without
        :attr:`conservative_margins`)."""
        if self.conservative_margins is None:
            return np.zeros(self.margins.shape[:2], dtype=bool)
        return np.asarray(self.safe & np.all(self.conservative_margins >= 0.0, axis=2),
                          dtype=bool)

    def choice(self) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Per line: the length chosen and the rank value.

        The longest safe length; if none is safe, the admissible length with the
        largest smallest margin (tip-to-cortex included), ranked below every safe line;
        lines with no admissible length rank last (``-inf``).

        With :attr:`conservative_margins`, robust lines (:attr:`robust`) rank first, at their
        longest robust length, by the smaller of their smallest nominal and conservative
        margins (>= 0); then lines safe but not robust, at the safe length whose smallest
        conservative margin (tip-to-cortex included) is largest, by that margin (< 0, so
        that refinement climbs towards robustness); then the rest as above.  A line ranked
        by its conservative margins is always safe at the length chosen.
        """
        safe, admissible = self.safe, self.admissible
        worst = self.worst()
        overall = np.minimum(worst, self.margin(Constraint.TIP_TO_CORTEX))
        m = safe.shape[1]

        def longest(where: BoolArray) -> NDArray[np.intp]:
            return np.asarray(m - 1 - np.argmax(where[:, ::-1], axis=1), dtype=np.intp)

        fallback = np.argmax(np.where(admissible, overall, -np.inf), axis=1)
        has_safe = safe.any(axis=1)
        index = np.where(has_safe, longest(safe), fallback)
        rows = np.arange(len(index))
        value = np.where(has_safe, worst[rows, index],
                         np.where(admissible.any(axis=1),
                                  overall[rows, index] - _INFEASIBLE_PENALTY, -np.inf))
        if self.conservative_margins is not None:
            tip = self._column(Constraint.TIP_TO_CORTEX)
            kept = np.minimum(worst, np.min(self.conservative_margins[:, :, :tip], axis=2))
            shortfall = np.min(self.conservative_margins, axis=2)
            robust = self.robust
            has_robust = robust.any(axis=1)
            closest = np.argmax(np.where(safe, shortfall, -np.inf), axis=1)
            index = np.where(has_robust, longest(robust), np.where(has_safe, closest, index))
            value = np.where(
                has_robust, kept[rows, index],
                np.where(has_safe, np.maximum(shortfall[rows, index], _ROBUST_FLOOR), value))
        return index.astype(np.intp), np.asarray(value, dtype=np.float64)


def _running_min_from(values: NDArray[np.float32], start: NDArray[np.intp]) -> NDArray[np.float32]:
    """``out[r, j] = min(values[r, start[r]:j + 1])`` (``inf`` before ``start``)."""
    columns = np.arange(values.shape[1])
    masked = np.where(columns[None, :] >= start[:, None], values, np.float32(np.inf))
    return np.minimum.accumulate(masked, axis=1)


def _forward_window_min(values: NDArray[np.float32], width: int) -> NDArray[np.float32]:
    """``out[r, j] = min(values[r, j:j + width + 1])`` (the window cut at the end)."""
    result = values.copy()
    for shift in range(1, width + 1):
        np.minimum(result[:, :-shift], values[:, shift:], out=result[:, :-shift])
    return result


def inward_normals(field: DistanceField, roi: Roi, points: FloatArray) -> FloatArray:
    """Unit gradient of the corridor depth at LPS points (zero vector where flat)."""
    delta = 0.5 * min(roi.geometry.spacing)
    offsets = np.vstack([np.eye(3), -np.eye(3)]) * delta
    probes = points[:, None, :] + offsets[None, :, :]
    values = field.sample(roi.index_of(probes.reshape(-1, 3)), order=1).reshape(-1, 6)
    gradient = values[:, :3].astype(np.float64) - values[:, 3:]
    norm = np.linalg.norm(gradient, axis=1, keepdims=True)
    return np.asarray(np.where(norm > 0, gradient / np.where(norm > 0, norm, 1.0), 0.0))


def _evaluate_batch(problem: Problem, anchors: FloatArray, directions: FloatArray,
                    step_mm: float, order: int) -> Evaluation:
    roi, lengths = problem.roi, problem.lengths_mm
    radius = problem.radius_mm
    uncertainty = uncertainty_mm(roi.geometry.spacing, step_mm)
    reach = problem.lead_in_mm + float(lengths[-1]) + problem.tip_to_cortex_mm + 2 * step_mm
    samples = math.ceil(reach / step_mm) + 1
    t = -problem.lead_in_mm + step_mm * np.arange(samples)
    n = len(anchors)
    points = anchors[:, None, :] + t[None, :, None] * directions[:, None, :]
    index = roi.index_of(points.reshape(-1, 3))
    depth = problem.corridor.sample(index, order=order).reshape(n, samples)

    inside = depth >= 0.0
    first = np.argmax(inside, axis=1)
    entered = inside.any(axis=1) & ~inside[:, 0]
    j = np.maximum(first, 1)
    rows = np.arange(n)
    before, after = depth[rows, j - 1].astype(np.float64), depth[rows, j].astype(np.float64)
    fraction = np.clip(-before / np.where(after > before, after - before, 1.0), 0.0, 1.0)
    t_entry = t[j - 1] + step_mm * fraction
    entry = anchors + t_entry[:, None] * directions
    entry[~entered] = np.nan

    last_outside = (j - 1).astype(np.intp)
    end = np.clip(np.ceil((t_entry[:, None] + lengths[None, :] - t[0]) / step_mm),
                  0, samples - 1).astype(np.intp)
    zone = np.floor((t_entry + problem.entry_zone_mm - t[0]) / step_mm).astype(np.intp)

    def clearances(depth: NDArray[np.float32], risks: tuple[DistanceField, ...],
                   index: FloatArray, lines: NDArray[np.intp]) -> tuple[FloatArray, FloatArray]:
        """Estimates and margins ``(len(lines), m, c)`` of some lines of the batch on one set
        of fields (``depth`` and ``index``: those lines' samples)."""
        count = len(lines)
        estimates = np.empty((count, len(lengths), len(problem.risks) + 2))
        for column, field in enumerate(risks):
            distance = field.sample(index, order=order).reshape(count, samples)
            running = _running_min_from(distance, last_outside[lines])
            nearest = np.take_along_axis(running, end[lines], axis=1).astype(np.float64)
            estimates[:, :, column] = nearest - radius
        running = _running_min_from(depth, zone[lines])
        deepest = np.take_along_axis(running, end[lines], axis=1).astype(np.float64)
        estimates[:, :, -2] = np.where(zone[lines, None] > end[lines], np.inf, deepest) - radius
        window = _forward_window_min(depth, ahead)
        estimates[:, :, -1] = np.take_along_axis(window, end[lines], axis=1).astype(np.float64)
        return estimates, estimates - uncertainty - required_mm

    required_mm = np.array([*(r for _, r in problem.risks), problem.corridor_clearance_mm, 0.0])
    ahead = math.ceil(problem.tip_to_cortex_mm / step_mm)
    estimates, margins = clearances(depth, tuple(f for f, _ in problem.risks), index, rows)

    tips = entry[:, None, :] + lengths[None, :, None] * directions[:, None, :]
    flat_tips = np.nan_to_num(tips.reshape(-1, 3))
    in_target = problem.target_region.contains(
        flat_tips, roi.labels_at(flat_tips) if problem.target_region.labels else None)
    safe_entry = np.nan_to_num(entry)
    in_entry = problem.entry_region.contains(
        safe_entry, roi.labels_at(safe_entry) if problem.entry_region.labels else None) & entered
    normals = inward_normals(problem.corridor, roi, safe_entry)
    angle = angle_deg(directions, normals)
    deviation = angle_deg(directions, problem.reference[None, :])
    m = len(lengths)

    def per_length(values: BoolArray) -> BoolArray:
        return np.repeat(values[:, None], m, axis=1)

    checks = {
        Constraint.ENTRY: per_length(entered),
        Constraint.ENTRY_REGION: per_length(in_entry),
        Constraint.ENTRY_ANGLE: per_length(entered & (angle <= problem.max_entry_angle_deg)),
        Constraint.DEVIATION: per_length(deviation <= problem.max_deviation_deg),
        Constraint.TARGET_REGION: in_target.reshape(n, m) & entered[:, None],
        Constraint.LATERALITY: problem.laterality.allows(safe_entry[:, None, :], tips)
        & entered[:, None],
    }
    conservative = None
    if problem.conservative is not None:
        # Read only on lines with a safe length: the ranking reads no other line's (a robust
        # length is a safe one), and in a coarse search few lines have one.
        fields = problem.conservative
        conservative = np.full_like(margins, -np.inf)
        admissible = np.logical_and.reduce(list(checks.values()))
        lines = np.flatnonzero((admissible & np.all(margins >= 0.0, axis=2)).any(axis=1))
        at = index.reshape(3, n, samples)[:, lines].reshape(3, -1)
        _, conservative[lines] = clearances(
            fields.corridor.sample(at, order=order).reshape(len(lines), samples),
            fields.risks, at, lines)
    return Evaluation(anchors, directions, entry, checks, margin_columns(problem), margins,
                      estimates, uncertainty, conservative)


def evaluate(problem: Problem, anchors: FloatArray, directions: FloatArray, *,
             step_mm: float, order: int = 1) -> Evaluation:
    """Judge every line (``anchors``, unit ``directions``, ``(n, 3)`` LPS) at every length.

    Lines are processed in batches of at most :data:`_MAX_POINTS_PER_BATCH` sample
    points; the result is the same as one batch.
    """
    reach = problem.lead_in_mm + float(problem.lengths_mm[-1]) + problem.tip_to_cortex_mm
    per_line = math.ceil(reach / step_mm) + 3
    size = max(1, _MAX_POINTS_PER_BATCH // per_line)
    parts = [_evaluate_batch(problem, anchors[s:s + size], directions[s:s + size], step_mm, order)
             for s in range(0, len(anchors), size)]
    if len(parts) == 1:
        return parts[0]
    return Evaluation(
        anchors, directions, np.concatenate([p.entry for p in parts]),
        {key: np.concatenate([p.checks[key] for p in parts]) for key in parts[0].checks},
        parts[0].columns, np.concatenate([p.margins for p in parts]),
        np.concatenate([p.estimates for p in parts]), parts[0].uncertainty_mm,
        None if parts[0].conservative_margins is None
        else np.concatenate([p.conservative_margins for p in parts
                             if p.conservative_margins is not None]))


def cone_directions(axis: FloatArray, half_angle_deg: float, step_deg: float) -> FloatArray:
    """Unit directions covering a cone about ``axis`` about ``step_deg`` apart (Fibonacci cap)."""
    half = math.radians(half_angle_deg)
    step = math.radians(step_deg)
    count = max(1, math.ceil(2.0 * (1.0 - math.cos(half)) / (step * step) * 4.0 / math.pi))
    golden = math.pi * (3.0 - math.sqrt(5.0))
    k = np.arange(count) + 0.5
    z = 1.0 - (1.0 - math.cos(half)) * k / count
    ring = np.sqrt(np.clip(1.0 - z * z, 0.0, None))
    phi = golden * k
    local = np.column_stack([ring * np.cos(phi), ring * np.sin(phi), z])
    local = np.vstack([[0.0, 0.0, 1.0], local])
    u, v = perpendicular_basis(axis)
    return np.asarray(local @ np.vstack([u, v, axis]))


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """Search resolution (defaults used by the CLI and recorded in every plan)."""

    seed_spacing_mm: float = 3.0
    """Distance between entry seeds in the coarse search."""
    direction_step_deg: float = 3.0
    """Angle between directions in the coarse search."""
    coarse_step_mm: float = 1.0
    """Sampling step along a line in the coarse search (nearest-voxel lookups)."""
    refine_step_mm: float = 0.5
    """Sampling step while refining (trilinear lookups)."""
    final_step_mm: float = 0.1
    """Sampling step of the plan reported."""
    refine_count: int = 6
    """Best distinct coarse candidates refined."""
    refine_shift_mm: float = 1.5
    refine_tilt_deg: float = 1.5
    refine_min_shift_mm: float = 0.01
    refine_min_tilt_deg: float = 0.01
    refine_max_iterations: int = 60


@dataclass(frozen=True, slots=True, eq=False)
class SearchResult:
    """The refined lines, how they were found, and the coarse search's statistics."""

    anchors: FloatArray
    """``(k, 3)``: the refined lines' anchors, best first (judged at the refining step)."""
    directions: FloatArray
    coarse_candidates: int
    coarse_lines: int
    refined_lines: int
    refine_iterations: int
    coarse_safe_lines: int
    admissible_lines: tuple[FloatArray, FloatArray] | None = None
    """The coarse lines with an admissible length (anchors, directions): the only ones a
    second search of the same case (same geometric checks) can find safe."""


def _seeds(seeds: FloatArray, spacing_mm: float) -> FloatArray:
    """One seed per cube of ``spacing_mm`` (the first in the input order)."""
    cells = np.floor(seeds / spacing_mm).astype(np.int64)
    _, first = np.unique(cells, axis=0, return_index=True)
    return seeds[np.sort(first)]


def _distinct_best(evaluation: Evaluation, value: FloatArray, count: int,
                   min_distance_mm: float) -> list[int]:
    order = np.argsort(-value, kind="stable")
    chosen: list[int] = []
    for index in order:
        if not np.isfinite(value[index]) or len(chosen) == count:
            break
        point = evaluation.entry[index]
        if all(np.linalg.norm(point - evaluation.entry[c]) >= min_distance_mm
               or angle_deg(evaluation.directions[index], evaluation.directions[c])
               >= _DISTINCT_DIRECTION_DEG
               for c in chosen):
            chosen.append(int(index))
    return chosen


def _moves() -> FloatArray:
    """Pattern moves in (shift u, shift v, tilt u, tilt v): every axis, and every pair."""
    moves = [np.zeros(4)]
    for a in range(4):
        for sign in (1.0, -1.0):
            move = np.zeros(4)
            move[a] = sign
            moves.append(move)
    for a in range(4):
        for b in range(a + 1, 4):
            for sa in (1.0, -1.0):
                for sb in (1.0, -1.0):
                    move = np.zeros(4)
                    move[a], move[b] = sa, sb
                    moves.append(move)
    return np.asarray(moves)


def _refine(problem: Problem, anchors: FloatArray, directions: FloatArray,
            options: SearchOptions) -> tuple[FloatArray, FloatArray, int, int]:
    """Pattern search on every start line at once; returns the refined lines (best first)
    and the effort."""
    moves = _moves()
    k = len(anchors)
    shift = np.full(k, options.refine_shift_mm)
    tilt = np.full(k, math.radians(options.refine_tilt_deg))
    current = evaluate(problem, anchors, directions, step_mm=options.refine_step_mm)
    value = current.choice()[1]
    anchors = np.where(np.isfinite(current.entry), current.entry, anchors)
    lines = k
    iterations = 0
    for iterations in range(1, options.refine_max_iterations + 1):  # noqa: B007
        basis = [perpendicular_basis(d) for d in directions]
        u = np.asarray([b[0] for b in basis])
        v = np.asarray([b[1] for b in basis])
        new_anchor = (anchors[:, None, :]
                      + (moves[None, :, 0, None] * u[:, None, :]
                         + moves[None, :, 1, None] * v[:, None, :]) * shift[:, None, None])
        tilt_vector = (moves[None, :, 2, None] * u[:, None, :]
                       + moves[None, :, 3, None] * v[:, None, :])
        new_direction = unit(directions[:, None, :] + tilt_vector * np.tan(tilt)[:, None, None])
        trial = evaluate(problem, new_anchor.reshape(-1, 3), new_direction.reshape(-1, 3),
                         step_mm=options.refine_step_mm)
        lines += trial.anchors.shape[0]
        trial_value = trial.choice()[1].reshape(k, len(moves))
        best = np.argmax(trial_value, axis=1)
        improved = trial_value[np.arange(k), best] > value + 1e-9
        entries = trial.entry.reshape(k, len(moves), 3)
        for line in np.flatnonzero(improved):
            point = entries[line, best[line]]
            anchors[line] = point if np.all(np.isfinite(point)) else new_anchor[line, best[line]]
            directions[line] = new_direction[line, best[line]]
            value[line] = trial_value[line, best[line]]
        shift = np.where(improved, shift, shift / 2)
        tilt = np.where(improved, tilt, tilt / 2)
        if np.all((shift < options.refine_min_shift_mm)
                  & (tilt < math.radians(options.refine_min_tilt_deg))):
            break
    order = np.argsort(-value, kind="stable")
    return anchors[order], directions[order], lines, iterations


def search(problem: Problem, seeds: FloatArray, options: SearchOptions, *,
           lines: tuple[FloatArray, FloatArray] | None = None) -> SearchResult:
    """Coarse search over seeds x the direction cone, then refinement of the best few.

    ``seeds`` are LPS points on the corridor surface inside the entry region.  ``lines``
    (anchors, unit directions) replace seeds x the cone as the coarse lines: a second search
    of the same case samples only the first one's :attr:`SearchResult.admissible_lines`.
    """
    if lines is None:
        anchors = _seeds(seeds, options.seed_spacing_mm)
        directions = cone_directions(problem.reference, problem.max_deviation_deg,
                                     options.direction_step_deg)
        # Prune directions pointing out of the corridor at each seed before sampling: the
        # entry angle is judged later at the true entry point, so leave a generous slack.
        normals = inward_normals(problem.corridor, problem.roi, anchors)
        cosine = normals @ directions.T
        slack = math.radians(min(90.0, problem.max_entry_angle_deg + 20.0))
        seed_index, direction_index = np.nonzero(cosine >= math.cos(slack))
        coarse_candidates = len(anchors) * len(directions)
        anchors, directions = anchors[seed_index], directions[direction_index]
    else:
        anchors, directions = lines
        coarse_candidates = len(anchors)
    coarse = evaluate(problem, anchors, directions, step_mm=options.coarse_step_mm, order=0)
    value = coarse.choice()[1]
    chosen = _distinct_best(coarse, value, options.refine_count,
                            2.0 * options.seed_spacing_mm)
    coarse_safe = int(coarse.safe.any(axis=1).sum())
    admitted = coarse.admissible.any(axis=1)
    admissible = (coarse.anchors[admitted], coarse.directions[admitted])
    if not chosen:
        fallback = int(np.argmax(value)) if len(value) else None
        if fallback is None:
            return SearchResult(np.full((1, 3), np.nan), problem.reference[None, :],
                                coarse_candidates, 0, 0, 0, 0, admissible)
        chosen = [fallback]
    refined_anchors, refined_directions, refined, iterations = _refine(
        problem, coarse.anchors[chosen].copy(), coarse.directions[chosen].copy(), options)
    return SearchResult(refined_anchors, refined_directions, coarse_candidates, len(anchors),
                        refined, iterations, coarse_safe, admissible)
