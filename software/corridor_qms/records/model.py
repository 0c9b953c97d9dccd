"""Pydantic models of the project's quality records.

Each model is valid once constructed: unknown fields are refused, closed sets
are enums, identifiers match their pattern.  Rules that need more than one
record (dangling links, coverage, risk acceptability) live in
:mod:`corridor_qms.trace.rules`, not here.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from corridor_qms.records.enum import (
    Acceptability,
    HazardCause,
    ProblemStatus,
    RequirementStatus,
    RequirementType,
    RiskControlOption,
    SoftwareSafetyClass,
    VerificationMethod,
)

__all__ = [
    "HAZARD_ID",
    "NEED_ID",
    "PR_ID",
    "RC_ID",
    "SOUP_ID",
    "SRS_ID",
    "TRACE_ID",
    "Discovery",
    "Hazard",
    "ProblemReport",
    "Requirement",
    "RiskControl",
    "RiskLevel",
    "RiskPlan",
    "SoftwareItem",
    "SoupItem",
    "UserNeed",
]

SRS_ID = re.compile(r"SRS-[A-Z]{2,5}-\d{3}")
"""Software requirement: ``SRS-<ITEM>-NNN``."""
NEED_ID = re.compile(r"UN-\d{3}")
"""User need: ``UN-NNN``."""
HAZARD_ID = re.compile(r"HAZ-\d{3}")
"""Hazard: ``HAZ-NNN``."""
RC_ID = re.compile(r"RC-\d{3}")
"""Risk control measure: ``RC-NNN``."""
SOUP_ID = re.compile(r"SOUP-[A-Za-z0-9][A-Za-z0-9._-]*")
"""Software of unknown provenance: ``SOUP-<distribution name>``."""
PR_ID = re.compile(r"PR-\d{3}")
"""Problem report: ``PR-NNN``."""
TRACE_ID = re.compile(r"(?:SRS-[A-Z]{2,5}|UN|HAZ|RC|PR)-\d{3}")
"""Any identifier a verification scenario tag may name (a subset is wanted)."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""Non-empty text."""


SrsId = Annotated[str, StringConstraints(pattern=rf"^{SRS_ID.pattern}$")]
NeedId = Annotated[str, StringConstraints(pattern=rf"^{NEED_ID.pattern}$")]
HazardId = Annotated[str, StringConstraints(pattern=rf"^{HAZARD_ID.pattern}$")]
RcId = Annotated[str, StringConstraints(pattern=rf"^{RC_ID.pattern}$")]
PrId = Annotated[str, StringConstraints(pattern=rf"^{PR_ID.pattern}$")]
SoupId = Annotated[str, StringConstraints(pattern=rf"^{SOUP_ID.pattern}$")]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class UserNeed(_Record):
    """A user need, the parent of software requirements (IEC 62304 §5.2.1)."""

    id: NeedId
    title: Text
    statement: Text


class SoftwareItem(_Record):
    """A software item of the architecture (IEC 62304 §5.3) with its safety class."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_.]*$")]
    description: Text
    safety_class: SoftwareSafetyClass
    class_rationale: Text


class Requirement(_Record):
    """A software requirement (IEC 62304 §5.2).

    ``parents`` name user needs; a requirement that comes from the
    architecture rather than a user need is ``derived`` and says why in its
    ``rationale``.  A requirement verified other than by test names the
    recorded ``evidence`` (repository paths).
    """

    id: SrsId
    title: Text
    statement: Text
    rationale: Text
    type: RequirementType
    software_item: Text
    safety_class: SoftwareSafetyClass
    parents: list[Text] = Field(default_factory=list)
    derived: bool = False
    acceptance_criteria: list[Text] = Field(min_length=1)
    verification_method: VerificationMethod = VerificationMethod.TEST
    evidence: list[Text] = Field(default_factory=list)
    status: RequirementStatus

    @model_validator(mode="after")
    def _evidence_matches_method(self) -> Requirement:
        if self.verification_method is not VerificationMethod.TEST and not self.evidence:
            raise ValueError(
                f"verification_method {self.verification_method.value!r} needs 'evidence': "
                "the repository paths of the recorded evidence"
            )
        return self

    @field_validator("statement")
    @classmethod
    def _normative(cls, value: str) -> str:
        if not re.search(r"\bshall\b", value):
            raise ValueError("a requirement statement must be normative: 'The software shall ...'")
        return value


class RiskControl(_Record):
    """A risk control measure (ISO 14971 §7.1) with the requirements implementing it.

    ``effectiveness`` says how the control was shown to work (ISO 14971 §7.2),
    separately from the verification of its implementation.
    """

    id: RcId
    description: Text
    option: RiskControlOption
    implemented_by: list[Text] = Field(default_factory=list)
    effectiveness: Text
    introduces_new_hazard: bool = False
    new_hazards: list[Text] = Field(default_factory=list)


class Hazard(_Record):
    """A hazard with its ISO 14971 chain and risk estimates.

    Acceptability before and after control is computed from the plan's
    matrix by the trace check; it is never a field here.
    """

    id: HazardId
    title: Text
    hazard: Text
    software_item: Text
    cause: HazardCause
    sequence_of_events: list[Text] = Field(min_length=1)
    hazardous_situation: Text
    harm: Text
    severity: Text
    probability: Text
    risk_controls: list[RiskControl] = Field(default_factory=list)
    residual_severity: Text
    residual_probability: Text
    option_analysis: Text | None = None
    benefit_risk: Text | None = None


class RiskLevel(_Record):
    """One step of a severity or probability scale."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]*$")]
    name: Text
    description: Text


class RiskPlan(_Record):
    """The risk management plan's scales and acceptability matrix, as data.

    ``severity`` and ``probability`` list their levels from lowest to highest;
    ``matrix[severity][probability]`` is the acceptability of that cell.
    """

    severity: list[RiskLevel] = Field(min_length=1)
    probability: list[RiskLevel] = Field(min_length=1)
    matrix: dict[str, dict[str, Acceptability]]

    def evaluate(self, severity: str, probability: str) -> Acceptability | None:
        """Return the acceptability of a cell, or ``None`` if the cell is undefined."""
        return self.matrix.get(severity, {}).get(probability)

    def rank(self, scale: str, level: str) -> int | None:
        """Position of ``level`` on the ``severity`` or ``probability`` scale."""
        ids = [lvl.id for lvl in getattr(self, scale)]
        return ids.index(level) if level in ids else None


class SoupItem(_Record):
    """Software of unknown provenance (IEC 62304 §5.3.3, §5.3.4, §7.1.3, §8.1.2)."""

    id: SoupId
    title: Text
    package: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    manufacturer: Text
    version: Text
    purpose: Text
    requirements: Text
    platform: Text
    anomaly_list: Text
    reviewed: date
    risk_assessment: Text
    justification: Text


class Discovery(_Record):
    """How and when a problem was found (IEC 62304 §9.1; FDA: "how it was found")."""

    activity: Text
    """The activity that found it: code review, verification, validation, field use, …"""
    date: date
    commit: Text | None = None
    """The commit or version it was found in, when known."""


class ProblemReport(_Record):
    """A problem report (IEC 62304 §9), also the record of a known anomaly (§5.8.2, §5.8.3).

    The fields are those the FDA lists for unresolved software anomalies (description, how
    found, root cause if known, impact on safety and effectiveness, outcome, rationale for
    deferral, what users are told) plus the resolution of a closed report.  Which of the
    optional fields a report needs depends on its ``status``
    (:attr:`REQUIRED_BY_STATUS`); the trace check reports one that is missing
    (``PR-FIELD-MISSING``) rather than refusing the record, so that the rest of the report
    is still checked and shown.  A closed report is verified by the scenarios tagged with
    its ID.
    """

    REQUIRED_BY_STATUS: ClassVar[dict[ProblemStatus, tuple[str, ...]]] = {
        ProblemStatus.OPEN: ("hazard_evaluation",),
        ProblemStatus.DEFERRED: ("hazard_evaluation", "deferral_rationale", "users_told"),
        ProblemStatus.CLOSED: ("hazard_evaluation", "resolution", "change"),
    }
    """The optional fields each status needs."""

    id: PrId
    title: Text
    description: Text
    found: Discovery
    severity: Text
    """A level of the risk plan's severity scale: the worst harm the problem could lead to."""
    software_items: list[Text] = Field(min_length=1)
    hazards: list[HazardId] = Field(default_factory=list)
    hazard_evaluation: Text | None = None
    """Impact on safety and effectiveness, with the hazards touched (or why none is)."""
    root_cause: Text | None = None
    status: ProblemStatus
    deferral_rationale: Text | None = None
    """Why a release may go ahead with the problem unresolved (``deferred``)."""
    users_told: Text | None = None
    """What users are told about it, and where (``deferred``)."""
    resolution: Text | None = None
    """How it was resolved (``closed``)."""
    change: Text | None = None
    """The change that resolved it: a commit or an issue (``closed``)."""

    def missing_fields(self) -> tuple[str, ...]:
        """The fields its status needs that it lacks, in the order of :attr:`REQUIRED_BY_STATUS`."""
        return tuple(name for name in self.REQUIRED_BY_STATUS[self.status]
                     if getattr(self, name) is None)
