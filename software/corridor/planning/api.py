"""The planning stage's entry: plan one trajectory on a label map and return one complete result.

Steps (each in its own module):

1. Check the case's side and landmarks against the template (:mod:`~corridor.planning.inputs`).
2. Resolve the template's regions for the case, crop a region of interest and build the
   corridor depth and one distance field per risk structure on it
   (:mod:`~corridor.planning.prepare`).
3. Coarse search over entry seeds and a cone of directions, then pattern-search refinement of
   the best few (:mod:`~corridor.planning.search`).
4. Judge the best line again at the final step and measure its clearances
   (:mod:`~corridor.planning.clearance`).
5. When the segmentation's plausible alternatives are given, measure that line again on each
   and say whether the verdict could flip (:mod:`~corridor.planning.uncertainty`); when it
   could, search again for a line safe on the nominal segmentation and under every
   alternative, and prefer it (:mod:`~corridor.planning.robust`).
6. The line chosen, if it meets every constraint, is re-checked by VTK surface distances
   (:mod:`~corridor.planning.recheck`), and disagreement rejects it.
7. Map the clearance margin over the cone of directions at the entry
   (:mod:`~corridor.planning.riskmap`).

The result (:class:`~corridor.planning.result.PlanResult`) carries the plan with its inputs'
identities and the software's, and the risk map; it writes its own folder.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.images import LabelMap
from corridor.planning.clearance import measure_clearances
from corridor.planning.errors import PlanningError
from corridor.planning.fields import uncertainty_mm
from corridor.planning.model import Clearance, Plan, PlanInputs, Trajectory, Verdict
from corridor.planning.prepare import PreparedCase, prepare_case
from corridor.planning.procedure import LoadedProcedure, Side
from corridor.planning.recheck import RecheckResult, StructureMask, recheck_plan
from corridor.planning.regions import Landmark
from corridor.planning.result import PlanResult
from corridor.planning.riskmap import risk_map
from corridor.planning.robust import Choice, TrajectoryChoice, conservative_fields
from corridor.planning.roles import SegmentCode
from corridor.planning.search import (
    Constraint,
    Problem,
    SearchOptions,
    SearchResult,
    evaluate,
    inward_normals,
    search,
)
from corridor.planning.uncertainty import (
    PlanUncertainty,
    measure_alternatives,
    prepare_alternatives,
)
from corridor.planning.vectors import angle_deg
from corridor.provenance import FileRecord, software_identity

__all__ = ["plan_trajectory"]

_log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class _Best:
    """The search's best line, judged at the final step (before the re-check).

    ``trajectory`` is ``None`` when no line entered the corridor; ``failed`` is empty when the
    line meets every constraint.
    """

    trajectory: Trajectory | None
    clearances: tuple[Clearance, ...]
    checks: dict[str, Any]
    failed: tuple[str, ...]


def _entry_angle_deg(problem: Problem, trajectory: Trajectory) -> float:
    """Angle between the trajectory and the corridor surface's inward normal at its entry."""
    normal = inward_normals(problem.corridor, problem.roi, trajectory.entry[None, :])[0]
    return float(angle_deg(normal, trajectory.direction))


def _judge_best(prepared: PreparedCase, procedure: LoadedProcedure, found: SearchResult,
                options: SearchOptions) -> _Best:
    """Judge the refined lines at the final step, keep the best, measure its clearances."""
    problem, template = prepared.problem, procedure.procedure
    # The refined lines are judged again at the final step and the best kept: a line on a
    # rim can pass a check at the refining step and fail it at the finer one.
    final = evaluate(problem, found.anchors, found.directions, step_mm=options.final_step_mm)
    index, value = final.choice()
    line = int(np.argmax(value))
    length = int(index[line])
    failed = final.failed(line, length)
    if not np.isfinite(value[line]) or not np.all(np.isfinite(final.entry[line])):
        return _Best(None, (), {}, failed or (Constraint.ENTRY.value,))
    trajectory = Trajectory(final.entry[line].copy(), found.directions[line].copy(),
                            float(problem.lengths_mm[length]), template.implant.diameter_mm)
    clearances = measure_clearances(problem, trajectory, step_mm=options.final_step_mm,
                                    cap_mm=prepared.cap_mm)

    def passed(constraint: Constraint) -> bool:
        return bool(final.checks[constraint][line, length])

    checks = {
        "entry_angle_deg": round(_entry_angle_deg(problem, trajectory), 3),
        "max_entry_angle_deg": template.angles.max_entry_angle_deg,
        "deviation_deg": round(float(angle_deg(trajectory.direction, problem.reference)), 3),
        "max_deviation_deg": template.angles.max_deviation_deg,
        "laterality": {**_laterality_record(prepared),
                       "passed": passed(Constraint.LATERALITY)},
        "tip_in_target_region": passed(Constraint.TARGET_REGION),
        "entry_in_entry_region": passed(Constraint.ENTRY_REGION),
        "length_range_mm": [float(problem.lengths_mm[0]), float(problem.lengths_mm[-1])],
    }
    return _Best(trajectory, clearances, checks, failed)


def _recheck(prepared: PreparedCase, procedure: LoadedProcedure, best: _Best,
             trajectory: Trajectory) -> RecheckResult:
    """The independent re-check of the best line (VTK surface distances)."""
    problem = prepared.problem
    corridor = StructureMask(Constraint.CORTEX.value, prepared.corridor_mask,
                             procedure.procedure.corridor.clearance_mm)
    result = recheck_plan(geometry=problem.roi.geometry, corridor=corridor,
                          risks=prepared.risk_masks,
                          search_estimates={c.structure: c.estimate_mm for c in best.clearances},
                          entry=trajectory.entry, direction=trajectory.direction,
                          length_mm=trajectory.length_mm, radius_mm=problem.radius_mm,
                          entry_zone_mm=problem.entry_zone_mm,
                          tip_to_cortex_mm=problem.tip_to_cortex_mm,
                          cap_mm=prepared.cap_mm - problem.radius_mm)
    if not result.passed:
        _log.warning("the independent re-check rejected the plan: %s",
                     "; ".join(result.reasons()))
    return result


def _laterality_record(prepared: PreparedCase) -> dict[str, Any]:
    """The wrong-side check as resolved, with the corridor voxels in the target region."""
    return {**prepared.problem.laterality.to_json(), "target_voxels": prepared.target_voxels}


def _search_record(prepared: PreparedCase, options: SearchOptions,
                   statistics: Mapping[str, int], timings: Mapping[str, float]
                   ) -> dict[str, Any]:
    """The ``search`` block of ``plan.json``: how the search ran and how long each step took."""
    problem = prepared.problem
    return {"options": dataclasses.asdict(options),
            "roi_shape_ijk": list(problem.roi.labels.shape),
            "roi_start_ijk": list(problem.roi.start),
            "entry_seeds": len(prepared.seeds),
            "reference_direction_lps": [round(float(v), 6) for v in problem.reference],
            "uncertainty_mm": round(uncertainty_mm(problem.roi.geometry.spacing,
                                                   options.final_step_mm), 4),
            "distance_cap_mm": prepared.cap_mm,
            "laterality": _laterality_record(prepared),
            **statistics,
            "timings_s": {k: round(v, 4) for k, v in timings.items()}}


def _shortfall_mm(clearances: tuple[Clearance, ...]) -> float | None:
    """How far the smallest margin falls below zero (mm), or ``None`` when none does."""
    smallest = min((c.margin_mm for c in clearances), default=0.0)
    return -smallest if smallest < 0 else None


def _same_structures(prepared: PreparedCase, best: _Best, recheck: RecheckResult | None) -> None:
    """The search and the re-check checked the same risk structures, and neither one a
    structure reported as not checked (HAZ-041); a disagreement is a defect."""
    searched = {field.name for field, _ in prepared.problem.risks}
    skipped = {str(item["structure"]) for item in prepared.not_checked}
    measured = {c.structure for c in best.clearances} - {Constraint.CORTEX.value,
                                                         Constraint.TIP_TO_CORTEX.value}
    rechecked = (None if recheck is None else {i.name for i in recheck.items}
                 - {Constraint.CORTEX.value, Constraint.TIP_TO_CORTEX.value})
    if searched & skipped or (measured and measured != searched) or (
            rechecked is not None and rechecked != searched):
        raise AssertionError(f"structures checked: search {sorted(searched)}, measured "
                             f"{sorted(measured)}, re-check {sorted(rechecked or ())}, not "
                             f"checked {sorted(skipped)}: expected the same set, disjoint from "
                             "the structures not checked")


@dataclass(frozen=True, slots=True, eq=False)
class _Alternatives:
    """The segmentation's alternatives, prepared once, and what measuring a line on them
    needs."""

    maps: Mapping[str, LabelMap]
    prepared: Mapping[str, PreparedCase | str]
    procedure: LoadedProcedure
    side: Side | None
    landmarks: Mapping[str, Landmark]
    codes: Mapping[int, SegmentCode] | None
    step_mm: float

    def assess(self, best: _Best) -> PlanUncertainty:
        """The line's clearances under each alternative (the flag's own measurement, as
        :func:`~corridor.planning.uncertainty.assess_uncertainty` makes it)."""
        assert best.trajectory is not None
        return measure_alternatives(best.trajectory, best.clearances, self.prepared,
                                    step_mm=self.step_mm)


def _smallest_alternative_margin(uncertainty: PlanUncertainty) -> float | None:
    """The smallest margin of any clearance under any alternative (mm)."""
    margins = [c.margin_mm for a in uncertainty.alternatives for c in a.clearances]
    return round(min(margins), 4) if margins else None


def _prefer_robust(prepared: PreparedCase, nominal: _Best, uncertainty: PlanUncertainty,
                   alternatives: _Alternatives, options: SearchOptions,
                   lines: tuple[FloatArray, FloatArray] | None, timings: dict[str, float]
                   ) -> tuple[_Best, PlanUncertainty, RecheckResult | None]:
    """The line the plan judges: the nominal best, or a robust line found by a second search
    (over ``lines``, the first search's admissible coarse lines).

    Returns the line, its uncertainty (with the :class:`TrajectoryChoice` attached) and, when
    the robust line was chosen, its re-check (which it passed).
    """
    def keep(robust: bool, reason: str, search: Mapping[str, Any] | None = None
             ) -> tuple[_Best, PlanUncertainty, None]:
        choice = TrajectoryChoice(Choice.NOMINAL_BEST, robust, reason, None, search)
        return nominal, dataclasses.replace(uncertainty, choice=choice), None

    if nominal.failed or nominal.trajectory is None:
        return keep(False, "the nominal best fails a requirement on the nominal segmentation; "
                           "no robust line is sought")
    if not uncertainty.flagged:
        return keep(True, "the nominal best meets every clearance under every alternative")
    refused = [a.name for a in uncertainty.alternatives if a.refused is not None]
    if refused:
        return keep(False, f"alternative {', '.join(refused)} cannot be judged; no robust line "
                           "can be sought")
    clock = time.perf_counter()
    try:
        fields = conservative_fields(prepared, alternatives.maps, alternatives.procedure,
                                     side=alternatives.side, landmarks=alternatives.landmarks,
                                     codes=alternatives.codes)
    except PlanningError as exc:
        return keep(False, f"no robust line can be sought: {exc}")
    robust_case = dataclasses.replace(
        prepared, problem=dataclasses.replace(prepared.problem, conservative=fields))
    found = search(robust_case.problem, prepared.seeds, options, lines=lines)
    candidate = _judge_best(robust_case, alternatives.procedure, found, options)
    timings["robust_search_s"] = time.perf_counter() - clock
    record: dict[str, Any] = {"alternatives": list(fields.alternatives),
                              "coarse_lines_sampled": found.coarse_lines,
                              "refined_lines": found.refined_lines,
                              "refine_iterations": found.refine_iterations,
                              "seconds": round(timings["robust_search_s"], 4)}
    if candidate.failed or candidate.trajectory is None:
        return keep(False, "the second search found no line safe on the nominal segmentation; "
                           "the nominal best is kept", record)
    measured = alternatives.assess(candidate)
    record["best_line_smallest_margin_mm"] = _smallest_alternative_margin(measured)
    if measured.flagged:
        return keep(False, "no line found meets every clearance under every alternative (the "
                           "best falls short by "
                           f"{-(record['best_line_smallest_margin_mm'] or 0.0):.2f} mm); the "
                           "nominal best is kept", record)
    clock = time.perf_counter()
    recheck = _recheck(prepared, alternatives.procedure, candidate, candidate.trajectory)
    timings["recheck_s"] = time.perf_counter() - clock
    if not recheck.passed:
        return keep(False, "the robust line found was rejected by the independent re-check; "
                           "the nominal best is kept", record)
    choice = TrajectoryChoice.moved(nominal.trajectory, candidate.trajectory,
                                    {"clearances": uncertainty.margins_json(),
                                     "could_flip": uncertainty.flips()}, record)
    return candidate, dataclasses.replace(measured, choice=choice), recheck


def plan_trajectory(label_map: LabelMap, procedure: LoadedProcedure, *, side: Side | None,
                    landmarks: Mapping[str, Landmark], label_map_file: FileRecord,
                    options: SearchOptions | None = None,
                    codes: Mapping[int, SegmentCode] | None = None,
                    segmentation: Mapping[str, Any] | None = None,
                    alternatives: Mapping[str, LabelMap] | None = None) -> PlanResult:
    """Plan one trajectory on a label map (see the module docstring for the steps).

    Parameters
    ----------
    label_map
        The case's labels, with their names and geometry (LPS mm).
    procedure
        The template, with its source and SHA-256.
    side
        The side planned (``None`` for an unsided template).
    landmarks
        The case's landmarks by name (LPS mm).
    label_map_file
        The file ``label_map`` was read from, as the plan's record names it, and its SHA-256.
    options
        Search resolution (default :class:`~corridor.planning.search.SearchOptions`).
    codes
        DICOM SEG segment codes by label value (a label's role by its code before its name).
    segmentation
        Where a label map made elsewhere came from (recorded as plan.json's
        ``segmentation``), or ``None``.
    alternatives
        The segmentation's plausible alternatives by name (label maps with ``label_map``'s
        names and geometry), on which the trajectory is measured again; when the search's
        best line could flip under one, a line safe on the nominal map and under every
        alternative is preferred (:mod:`~corridor.planning.robust`); ``None`` or empty: no
        uncertainty assessment.

    Returns
    -------
    PlanResult
        The plan (verdict ``safe`` only when the search and the re-check agree it meets
        every constraint and every risk structure was segmented; ``not-fully-checked`` when
        they agree but a risk structure is not segmented; always judged on ``label_map``),
        complete with its inputs' and the software's identity, the risk map around its
        trajectory (``None`` when no line entered the corridor), and with alternatives the
        uncertainty block with how the trajectory was chosen.

    Raises
    ------
    PlanningError
        Inputs the planner cannot use (see :func:`~corridor.planning.prepare.prepare_case`).
    """
    software = software_identity()
    options = options or SearchOptions()
    inputs = PlanInputs.from_case(label_map, label_map_file=label_map_file, procedure=procedure,
                                  landmarks=landmarks)
    prepared = prepare_case(label_map, procedure, side=side, landmarks=landmarks, codes=codes)
    timings = dict(prepared.timings)
    lines = None
    if not len(prepared.seeds):
        timings["search_s"] = 0.0
        statistics = {"candidates": 0}
        best = _Best(None, (), {}, (Constraint.ENTRY_REGION.value,))
    else:
        clock = time.perf_counter()
        found = search(prepared.problem, prepared.seeds, options)
        timings["search_s"] = time.perf_counter() - clock
        statistics = {"candidates": found.coarse_candidates,
                      "coarse_lines_sampled": found.coarse_lines,
                      "coarse_safe_lines": found.coarse_safe_lines,
                      "refined_lines": found.refined_lines,
                      "refine_iterations": found.refine_iterations}
        clock = time.perf_counter()
        best = _judge_best(prepared, procedure, found, options)
        timings["final_s"] = time.perf_counter() - clock
        lines = found.admissible_lines

    recheck, shortfall, uncertainty = None, None, None
    if alternatives and best.trajectory is not None:
        given = _Alternatives(alternatives,
                              prepare_alternatives(alternatives, procedure, side=side,
                                                   landmarks=landmarks),
                              procedure, side, landmarks, codes, options.final_step_mm)
        best, uncertainty, recheck = _prefer_robust(prepared, best, given.assess(best), given,
                                                    options, lines, timings)
    if best.failed or best.trajectory is None:
        verdict = Verdict.NO_SAFE_TRAJECTORY
        shortfall = _shortfall_mm(best.clearances)
    else:
        if recheck is None:
            clock = time.perf_counter()
            recheck = _recheck(prepared, procedure, best, best.trajectory)
            timings["recheck_s"] = time.perf_counter() - clock
        verdict = Verdict.SAFE if recheck.passed else Verdict.REJECTED_BY_RECHECK
        if verdict is Verdict.SAFE and prepared.not_checked:
            verdict = Verdict.NOT_FULLY_CHECKED  # HAZ-041: what is not segmented is not clear
    _same_structures(prepared, best, recheck)
    plan = Plan(side, verdict, best.trajectory, best.clearances, best.checks, best.failed,
                shortfall, recheck,
                _search_record(prepared, options, statistics, timings), inputs, software,
                prepared.not_checked,
                None if prepared.roles is None else prepared.roles.to_json(), segmentation)
    riskmap = (None if plan.trajectory is None
               else risk_map(prepared.problem, plan.trajectory))
    return PlanResult(plan, riskmap, uncertainty)
