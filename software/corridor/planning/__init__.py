"""Trajectory planning: the implant path with the most clearance, re-checked independently."""

from corridor.planning.api import plan_trajectory
from corridor.planning.errors import PlanningError, StalePlanError
from corridor.planning.inputs import check_case_inputs, check_case_request
from corridor.planning.landmarks import (
    FINDABLE_LANDMARKS,
    LandmarkNotFoundError,
    LandmarkRefusal,
    complete_landmarks,
    find_femoral_head,
    find_femoral_heads,
)
from corridor.planning.model import Clearance, Plan, PlanInputs, Trajectory, Verdict
from corridor.planning.procedure import (
    SHIPPED_PROCEDURES,
    LoadedProcedure,
    Procedure,
    Side,
    load_procedure,
)
from corridor.planning.recheck import RecheckResult
from corridor.planning.regions import Landmark, LandmarkSource, SphereFitQuality, load_landmarks
from corridor.planning.result import PlanResult
from corridor.planning.riskmap import RiskMap
from corridor.planning.search import SearchOptions

__all__ = [
    "FINDABLE_LANDMARKS",
    "SHIPPED_PROCEDURES",
    "Clearance",
    "Landmark",
    "LandmarkNotFoundError",
    "LandmarkRefusal",
    "LandmarkSource",
    "LoadedProcedure",
    "Plan",
    "PlanInputs",
    "PlanResult",
    "PlanningError",
    "Procedure",
    "RecheckResult",
    "RiskMap",
    "SearchOptions",
    "Side",
    "SphereFitQuality",
    "StalePlanError",
    "Trajectory",
    "Verdict",
    "check_case_inputs",
    "check_case_request",
    "complete_landmarks",
    "find_femoral_head",
    "find_femoral_heads",
    "load_landmarks",
    "load_procedure",
    "plan_trajectory",
]
