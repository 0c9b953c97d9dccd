"""Plan-aware uncertainty: would the verdict hold under the segmentation's plausible alternatives?

A segmentation's uncertainty matters to a plan only where it could change the verdict: in the
risk structures and the cortex near the planned implant.  Each alternative segmentation (the
inference's label maps with each structure's boundary drawn at another probability, e.g. 0.3
and 0.7, or an ensemble member's label map) is prepared for the template exactly as the nominal
label map was (:func:`~corridor.planning.prepare.prepare_case`: same regions, same distance
fields), and the planned trajectory, unchanged, is measured on it
(:func:`~corridor.planning.clearance.measure_clearances`).  The review flag
:data:`VERDICT_UNCERTAIN` is raised only when some clearance is met on the nominal segmentation
and not under an alternative, or the reverse, or when an alternative cannot be judged at all
(e.g. a risk structure vanishes from it): uncertainty far from the implant, or too small to
cross a requirement, raises nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corridor.images import LabelMap
from corridor.planning.clearance import measure_clearances
from corridor.planning.errors import PlanningError
from corridor.planning.model import Clearance, Trajectory
from corridor.planning.prepare import PreparedCase, prepare_case
from corridor.planning.procedure import LoadedProcedure, Side
from corridor.planning.regions import Landmark
from corridor.planning.robust import TrajectoryChoice

__all__ = ["VERDICT_UNCERTAIN", "AlternativeClearances", "PlanUncertainty", "assess_uncertainty",
           "measure_alternatives", "prepare_alternatives"]

VERDICT_UNCERTAIN = "verdict-uncertain"
"""Code of the review flag raised when the verdict could flip under a plausible alternative."""


@dataclass(frozen=True, slots=True, eq=False)
class AlternativeClearances:
    """The planned trajectory's clearances under one alternative segmentation.

    Attributes
    ----------
    name
        The alternative's name (e.g. ``p>=0.3``).
    clearances
        Each clearance in the plan's order, measured on the alternative; empty when the
        alternative could not be judged.
    refused
        Why the alternative could not be prepared for the template (``None`` when it was).
    """

    name: str
    clearances: tuple[Clearance, ...]
    refused: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class PlanUncertainty:
    """The plan's clearances on the nominal segmentation and under each alternative.

    Attributes
    ----------
    nominal
        The plan's clearances.
    alternatives
        The same trajectory's clearances under each alternative.
    choice
        How the trajectory was chosen among the safe ones (robust or not), or ``None`` when
        that was not recorded.
    """

    nominal: tuple[Clearance, ...]
    alternatives: tuple[AlternativeClearances, ...]
    choice: TrajectoryChoice | None = None

    def flips(self) -> list[dict[str, Any]]:
        """Each clearance whose requirement is met on one segmentation and not on the other,
        and each alternative that could not be judged."""
        found: list[dict[str, Any]] = []
        nominal = {c.structure: c for c in self.nominal}
        for alternative in self.alternatives:
            if alternative.refused is not None:
                found.append({"alternative": alternative.name, "structure": None,
                              "why": f"not judged: {alternative.refused}"})
                continue
            for clearance in alternative.clearances:
                base = nominal.get(clearance.structure)
                if base is None:
                    continue
                was, now = base.margin_mm >= 0, clearance.margin_mm >= 0
                if was != now:
                    found.append({
                        "alternative": alternative.name, "structure": clearance.structure,
                        "why": f"margin {base.margin_mm:+.2f} mm on the nominal segmentation, "
                               f"{clearance.margin_mm:+.2f} mm on {alternative.name}",
                        "at_lps_mm": [round(float(v), 3) for v in clearance.at_lps_mm],
                        "depth_from_entry_mm": round(clearance.depth_mm, 3)})
        return found

    @property
    def flagged(self) -> bool:
        """Whether the verdict could flip (:data:`VERDICT_UNCERTAIN` is raised)."""
        return bool(self.flips())

    def flag(self) -> dict[str, str] | None:
        """The review flag (``code``, ``message``), or ``None`` when the verdict holds."""
        flips = self.flips()
        if not flips:
            return None
        reasons = "; ".join(f"{f['structure'] or 'segmentation'} ({f['alternative']}): "
                            f"{f['why']}" for f in flips)
        return {"code": VERDICT_UNCERTAIN,
                "message": "the verdict could change under a plausible alternative of the "
                           f"segmentation: {reasons}"}

    def margins_json(self) -> list[dict[str, Any]]:
        """Per clearance: the requirement, the margin on the nominal segmentation and under
        each alternative (``None`` where it could not be judged), and their range."""
        rows = []
        for base in self.nominal:
            row: dict[str, Any] = {"structure": base.structure, "required_mm": base.required_mm,
                                   "nominal_margin_mm": round(base.margin_mm, 4),
                                   "alternatives": {}}
            for alternative in self.alternatives:
                match = [c for c in alternative.clearances if c.structure == base.structure]
                row["alternatives"][alternative.name] = (
                    None if not match else {
                        "margin_mm": round(match[0].margin_mm, 4), "met": match[0].margin_mm >= 0,
                        "depth_from_entry_mm": round(match[0].depth_mm, 3),
                        "capped": match[0].capped})
            margins = [base.margin_mm, *(v["margin_mm"] for v in row["alternatives"].values()
                                         if v is not None)]
            row["margin_range_mm"] = [round(min(margins), 4), round(max(margins), 4)]
            rows.append(row)
        return rows

    def to_json(self) -> dict[str, Any]:
        """The ``uncertainty`` block of ``plan.json``: per clearance, the margin on the nominal
        segmentation and under each alternative, what could flip, the flag, and how the
        trajectory was chosen (``choice``, when recorded)."""
        return {"method": "the planned trajectory measured again, unchanged, on each plausible "
                          "alternative of the segmentation prepared as the nominal one",
                "alternatives": [{"name": a.name, "refused": a.refused}
                                 for a in self.alternatives],
                "clearances": self.margins_json(), "could_flip": self.flips(),
                "flag": self.flag(),
                **({} if self.choice is None else {"choice": self.choice.to_json()})}


def prepare_alternatives(alternatives: Mapping[str, LabelMap], procedure: LoadedProcedure, *,
                         side: Side | None, landmarks: Mapping[str, Landmark]
                         ) -> dict[str, PreparedCase | str]:
    """Each alternative prepared for the template as the nominal label map was, by name; an
    alternative the template cannot be resolved on is the planner's reason instead."""
    found: dict[str, PreparedCase | str] = {}
    for name in sorted(alternatives):
        try:
            found[name] = prepare_case(alternatives[name], procedure, side=side,
                                       landmarks=landmarks)
        except PlanningError as exc:
            found[name] = str(exc)
    return found


def measure_alternatives(trajectory: Trajectory, nominal: tuple[Clearance, ...],
                         prepared: Mapping[str, PreparedCase | str], *,
                         step_mm: float) -> PlanUncertainty:
    """The trajectory measured on alternatives already prepared (:func:`prepare_alternatives`;
    see :func:`assess_uncertainty`)."""
    found = []
    for name in sorted(prepared):
        case = prepared[name]
        if isinstance(case, str):
            found.append(AlternativeClearances(name, (), case))
            continue
        found.append(AlternativeClearances(name, measure_clearances(
            case.problem, trajectory, step_mm=step_mm, cap_mm=case.cap_mm)))
    return PlanUncertainty(nominal, tuple(found))


def assess_uncertainty(trajectory: Trajectory, nominal: tuple[Clearance, ...],
                       alternatives: Mapping[str, LabelMap], procedure: LoadedProcedure, *,
                       side: Side | None, landmarks: Mapping[str, Landmark],
                       step_mm: float) -> PlanUncertainty:
    """Measure the planned trajectory on each alternative segmentation.

    Parameters
    ----------
    trajectory
        The plan's trajectory (or best candidate), unchanged.
    nominal
        Its clearances on the nominal segmentation, as the plan reports them.
    alternatives
        The alternative label maps by name, with the nominal map's label names.
    procedure, side, landmarks
        As the plan was made with.
    step_mm
        Sampling step along the axis (mm), the plan's final step.

    Returns
    -------
    PlanUncertainty
        The nominal and alternative clearances; an alternative the template cannot be
        resolved on (a risk structure or the corridor vanishes from it) is recorded as
        refused, with the planner's reason.
    """
    return measure_alternatives(
        trajectory, nominal,
        prepare_alternatives(alternatives, procedure, side=side, landmarks=landmarks),
        step_mm=step_mm)
