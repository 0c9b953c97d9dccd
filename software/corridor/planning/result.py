"""The planning stage's result: the plan and its risk map, and the plan folder they make.

A plan folder holds ``plan.json``, the implant as ``implant.stl`` and the risk map as
``risk-map.png``.  The implant surface is written only for a ``safe`` plan: a best candidate
that failed a constraint (or the re-check) is described in ``plan.json`` but never handed out as
a surface a navigation system could load.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridor.planning.model import Plan, Verdict
from corridor.planning.outputs import (
    IMPLANT_NAME,
    PLAN_NAME,
    RISK_MAP_NAME,
    write_implant,
    write_risk_map,
)
from corridor.planning.riskmap import RiskMap
from corridor.planning.uncertainty import PlanUncertainty
from corridor.staging import staged_folder

__all__ = ["PlanResult"]


@dataclass(frozen=True, slots=True, eq=False)
class PlanResult:
    """What planning one case returns: the plan, and the risk map around its trajectory.

    Attributes
    ----------
    plan
        The plan, with what it was made from and by.
    risk_map
        The clearance margin over the cone of directions at the trajectory's entry point;
        ``None`` exactly when the plan has no trajectory (no line entered the corridor).
    uncertainty
        The trajectory's clearances under the segmentation's plausible alternatives, and
        whether the verdict could flip; ``None`` when no alternatives were given.

    Raises
    ------
    ValueError
        A risk map without a trajectory, or a trajectory without a risk map.
    """

    plan: Plan
    risk_map: RiskMap | None
    uncertainty: PlanUncertainty | None = None

    def __post_init__(self) -> None:
        if (self.risk_map is None) != (self.plan.trajectory is None):
            raise ValueError(f"risk map {'absent' if self.risk_map is None else 'present'} for "
                             f"a plan {'without' if self.plan.trajectory is None else 'with'} a "
                             "trajectory; expected one exactly when there is a trajectory")

    def write(self, folder: Path, *, timings_s: Mapping[str, float] | None = None
              ) -> dict[str, Any]:
        """Write the plan folder (new or empty) all or nothing; return the plan document.

        Parameters
        ----------
        folder
            The plan folder to create (or an empty folder to fill).
        timings_s
            Seconds spent by the run that made the plan (e.g. ``read_s``, ``plan_s``),
            recorded as the document's top-level ``timings_s`` (rounded to 0.1 ms).

        Returns
        -------
        dict
            The document written as ``plan.json``: :meth:`Plan.to_json`, the risk map's
            summary (``risk_map``), the uncertainty block (``uncertainty``, when
            assessed), the files written (``files``) and ``timings_s`` if given.

        Raises
        ------
        OutputFolderError
            ``folder`` exists and is not an empty folder (nothing is written).
        """
        plan = self.plan
        document = plan.to_json()
        files: list[dict[str, str]] = [{"name": PLAN_NAME, "holds": "the plan"}]
        with staged_folder(folder) as staging:
            if plan.verdict is Verdict.SAFE and plan.trajectory is not None:
                write_implant(staging / IMPLANT_NAME, plan.trajectory)
                files.append({"name": IMPLANT_NAME,
                              "holds": "implant surface, LPS mm (binary STL)"})
            if self.risk_map is not None:
                write_risk_map(staging / RISK_MAP_NAME, self.risk_map, plan)
                files.append({"name": RISK_MAP_NAME,
                              "holds": "clearance margin over the cone of directions (PNG)"})
                document["risk_map"] = {"file": RISK_MAP_NAME, **self.risk_map.to_json()}
            if self.uncertainty is not None:
                document["uncertainty"] = self.uncertainty.to_json()
            document["files"] = files
            if timings_s is not None:
                document["timings_s"] = {k: round(v, 4) for k, v in timings_s.items()}
            (staging / PLAN_NAME).write_text(
                json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return document
