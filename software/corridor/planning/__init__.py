"""Trajectory planning: the implant path with the most clearance, re-checked independently."""

from corridor.planning.api import plan_trajectory
from corridor.planning.errors import PlanningError, StalePlanError
from corridor.planning.inputs import check_case_inputs
from corridor.planning.model import Clearance, Plan, PlanInputs, Trajectory, Verdict
from corridor.planning.procedure import (
    SHIPPED_PROCEDURES,
    LoadedProcedure,
    Procedure,
    Side,
    load_procedure,
)
from corridor.planning.recheck import RecheckResult
from corridor.planning.regions import Landmark, load_landmarks
from corridor.planning.result import PlanResult
from corridor.planning.riskmap import RiskMap
from corridor.planning.search import SearchOptions

__all__ = [
    "SHIPPED_PROCEDURES",
    "Clearance",
    "Landmark",
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
    "StalePlanError",
    "Trajectory",
    "Verdict",
    "check_case_inputs",
    "load_landmarks",
    "load_procedure",
    "plan_trajectory",
]
