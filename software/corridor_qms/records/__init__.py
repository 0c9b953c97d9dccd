"""Record models and their loading: requirements, needs, hazards, SOUP, problem reports,
scenarios."""

from corridor_qms.records.change_plan import ChangeControlPlan
from corridor_qms.records.enum import (
    Acceptability,
    HazardCause,
    ProblemStatus,
    RequirementStatus,
    RequirementType,
    RiskControlOption,
    SoftwareSafetyClass,
)
from corridor_qms.records.io import Located
from corridor_qms.records.model import (
    Discovery,
    Hazard,
    ProblemReport,
    Requirement,
    RiskControl,
    RiskLevel,
    RiskPlan,
    SoftwareItem,
    SoupItem,
    UserNeed,
)
from corridor_qms.records.project import (
    LAYOUT,
    GitRevision,
    Layout,
    RecordSet,
    WorkingTree,
    find_root,
    load_records,
)
from corridor_qms.records.scenario import Scenario, Tag

__all__ = [
    "LAYOUT",
    "Acceptability",
    "ChangeControlPlan",
    "Discovery",
    "GitRevision",
    "Hazard",
    "HazardCause",
    "Layout",
    "Located",
    "ProblemReport",
    "ProblemStatus",
    "RecordSet",
    "Requirement",
    "RequirementStatus",
    "RequirementType",
    "RiskControl",
    "RiskControlOption",
    "RiskLevel",
    "RiskPlan",
    "Scenario",
    "SoftwareItem",
    "SoftwareSafetyClass",
    "SoupItem",
    "Tag",
    "UserNeed",
    "WorkingTree",
    "find_root",
    "load_records",
]
