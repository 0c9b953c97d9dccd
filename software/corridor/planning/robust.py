"""The robust choice: among trajectories safe on the nominal segmentation, one that stays safe
under every plausible alternative of it.

The search maximises the smallest margin on the nominal segmentation, so its best line often
grazes a requirement; where the segmentation is unsure (a bone surface drawn a voxel thinner at
probability 0.7, a faint vessel segment the model half sees), that line's verdict can flip under
an alternative, and the plan is flagged ``verdict-uncertain`` on a case where another line, a
few millimetres away, holds under every alternative.  Such a flag on a clean case is alarm
fatigue (HAZ-043); a line kept near a structure the model is unsure of is the harm the flag
exists for (HAZ-045).

So when the nominal best is flagged, the search runs again with the alternatives folded into
conservative distance fields (:class:`~corridor.planning.search.ConservativeFields`: at every
voxel the smallest corridor depth and the smallest distance to each risk structure over the
alternatives), preferring lines safe on both (:meth:`~corridor.planning.search.Evaluation.choice`).
Its best line is taken only when it is safe on the nominal segmentation, measured again on each
alternative exactly as the flag measures it, meets every clearance on each, and passes the
independent re-check; otherwise the nominal best is kept and the flag rightly fires.  The plan is
always judged on the nominal segmentation; this module only decides which safe line is judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from corridor.images import LabelMap
from corridor.planning.errors import PlanningError
from corridor.planning.fields import DistanceField
from corridor.planning.model import Trajectory
from corridor.planning.prepare import PreparedCase, prepare_case
from corridor.planning.procedure import LoadedProcedure, Side
from corridor.planning.regions import Landmark
from corridor.planning.roles import SegmentCode
from corridor.planning.search import ConservativeFields
from corridor.planning.vectors import angle_deg

__all__ = ["RULE", "Choice", "TrajectoryChoice", "conservative_fields"]

RULE = ("among trajectories meeting every requirement on the nominal segmentation, one that "
        "also meets every clearance under each plausible alternative of the segmentation; the "
        "nominal best only when no such trajectory is found")
"""How the plan's trajectory is chosen, as ``plan.json`` states it."""


class Choice(StrEnum):
    """Which line the plan judges."""

    NOMINAL_BEST = "nominal-best"
    """The search's best line on the nominal segmentation."""
    ROBUST = "robust"
    """A line safe on the nominal segmentation and under every alternative, preferred to a
    nominal best that was not."""


@dataclass(frozen=True, slots=True, eq=False)
class TrajectoryChoice:
    """How the plan's trajectory was chosen (the ``choice`` of ``plan.json``'s uncertainty).

    Attributes
    ----------
    chosen
        The nominal best, or a robust line found by the second search.
    robust
        Whether the chosen trajectory meets every clearance under every alternative (and
        on the nominal segmentation).
    reason
        Why this line, in words.
    nominal_best
        The nominal best's trajectory, and its margins on the nominal segmentation and under
        each alternative (``clearances`` rows and ``could_flip`` of the uncertainty block);
        given when the robust line was chosen instead, ``None`` otherwise (it is the plan's).
    robust_search
        How the second search ran (``seconds``, lines sampled and refined, the alternatives
        folded in), or ``None`` when it did not run.
    """

    chosen: Choice
    robust: bool
    reason: str
    nominal_best: Mapping[str, Any] | None = None
    robust_search: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if (self.chosen is Choice.ROBUST) != (self.nominal_best is not None) or (
                self.chosen is Choice.ROBUST and not self.robust):
            raise ValueError(f"choice {self.chosen.value}, robust {self.robust}, nominal best "
                             f"{'given' if self.nominal_best is not None else 'absent'}: "
                             "expected the nominal best given exactly when a robust line was "
                             "chosen instead")

    @classmethod
    def moved(cls, nominal: Trajectory, chosen: Trajectory, nominal_margins: Mapping[str, Any],
              robust_search: Mapping[str, Any]) -> TrajectoryChoice:
        """A robust line chosen instead of the nominal best (how far it moved is recorded)."""
        shift = float(np.linalg.norm(chosen.entry - nominal.entry))
        turn = float(angle_deg(chosen.direction, nominal.direction))
        return cls(Choice.ROBUST, True,
                   f"the nominal best's verdict could flip under an alternative; a trajectory "
                   f"meeting every clearance under every alternative was found, its entry "
                   f"{shift:.2f} mm and its direction {turn:.2f} deg from the nominal best's",
                   {"trajectory": nominal.to_json(), **nominal_margins,
                    "moved": {"entry_mm": round(shift, 3), "direction_deg": round(turn, 3)}},
                   robust_search)

    def to_json(self) -> dict[str, Any]:
        """``rule``, ``chosen``, ``robust``, ``reason``, ``nominal_best``, ``robust_search``."""
        return {"rule": RULE, "chosen": self.chosen.value, "robust": self.robust,
                "reason": self.reason,
                "nominal_best": None if self.nominal_best is None else dict(self.nominal_best),
                "robust_search": (None if self.robust_search is None
                                  else dict(self.robust_search))}


def _minimum(name: str, fields: list[DistanceField]) -> DistanceField:
    """The voxelwise minimum of fields on one grid (the smallest value read outside too)."""
    return DistanceField(name, np.minimum.reduce([f.values for f in fields]),
                         fields[0].geometry, min(f.outside_value for f in fields))


def conservative_fields(prepared: PreparedCase, alternatives: Mapping[str, LabelMap],
                        procedure: LoadedProcedure, *, side: Side | None,
                        landmarks: Mapping[str, Landmark],
                        codes: Mapping[int, SegmentCode] | None = None) -> ConservativeFields:
    """Fold the alternatives into conservative fields on the nominal case's region of interest.

    Each alternative is prepared for the template as the nominal label map was, on the same
    region of interest (:func:`~corridor.planning.prepare.prepare_case` with ``roi``); the
    result holds, at every voxel, the smallest corridor depth and the smallest distance to
    each risk structure over the alternatives.

    Parameters
    ----------
    prepared
        The nominal case.
    alternatives
        The alternative label maps by name (the nominal map's names and grid).
    procedure, side, landmarks, codes
        As the nominal case was prepared with.

    Returns
    -------
    ConservativeFields
        On ``prepared``'s region of interest, risk structures in its order.

    Raises
    ------
    PlanningError
        An alternative the template cannot be resolved on, or on another grid, or with other
        risk structures than the nominal case (each named with the alternative).
    """
    roi = prepared.problem.roi
    expected = [f.name for f, _ in prepared.problem.risks]
    corridors: list[DistanceField] = []
    risks: list[list[DistanceField]] = [[] for _ in expected]
    names = tuple(sorted(alternatives))
    if not names:
        raise ValueError("alternatives: expected at least one, found none")
    for name in names:
        try:
            case = prepare_case(alternatives[name], procedure, side=side, landmarks=landmarks,
                                codes=codes, roi=roi)
        except PlanningError as exc:
            raise PlanningError(f"alternative {name}", str(exc),
                                "an alternative the template resolves on") from exc
        found = [f.name for f, _ in case.problem.risks]
        if found != expected:
            raise PlanningError(f"alternative {name}", f"risk structures {found}",
                                f"the nominal segmentation's {expected}")
        corridors.append(case.problem.corridor)
        for column, (field, _) in enumerate(case.problem.risks):
            risks[column].append(field)
    return ConservativeFields(_minimum("corridor", corridors),
                              tuple(_minimum(n, f) for n, f in zip(expected, risks, strict=True)),
                              names)
