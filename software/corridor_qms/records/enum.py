"""Closed sets used by the records, named in the standards' own words."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Acceptability",
    "HazardCause",
    "ProblemStatus",
    "RequirementStatus",
    "RequirementType",
    "RiskControlOption",
    "SoftwareSafetyClass",
    "VerificationMethod",
]


class RequirementType(StrEnum):
    """Content category of a software requirement (IEC 62304 §5.2.2)."""

    FUNCTIONAL = "functional"
    PERFORMANCE = "performance"
    SAFETY = "safety"
    SECURITY = "security"
    USABILITY = "usability"
    REGULATORY = "regulatory"


class SoftwareSafetyClass(StrEnum):
    """IEC 62304 §4.3 software safety class.

    A: no injury or damage to health is possible; B: non-serious injury is
    possible; C: death or serious injury is possible.  The order of the members
    is the order of increasing rigour.
    """

    A = "A"
    B = "B"
    C = "C"

    @property
    def rank(self) -> int:
        """0 for A, 1 for B, 2 for C."""
        return "ABC".index(self.value)


class VerificationMethod(StrEnum):
    """How a requirement is verified (the classic test, analysis, inspection, demonstration).

    ``test`` requirements are verified by tagged scenarios; the others by
    recorded evidence files (e.g. benchmark results), named in ``evidence``.
    """

    TEST = "test"
    ANALYSIS = "analysis"
    INSPECTION = "inspection"
    DEMONSTRATION = "demonstration"


class RequirementStatus(StrEnum):
    """Review state of a requirement record."""

    DRAFT = "draft"
    APPROVED = "approved"


class RiskControlOption(StrEnum):
    """ISO 14971 §7.1 risk control option, in priority order."""

    INHERENT_SAFETY_BY_DESIGN = "inherent-safety-by-design"
    PROTECTIVE_MEASURE = "protective-measure"
    INFORMATION_FOR_SAFETY = "information-for-safety"


class HazardCause(StrEnum):
    """Software cause category of a hazardous situation (IEC 62304 §7.1.2)."""

    SPECIFICATION = "specification"
    DEFECT = "defect"
    SOUP = "soup"
    UNEXPECTED_BEHAVIOUR = "unexpected-behaviour"
    MISUSE = "misuse"


class Acceptability(StrEnum):
    """Outcome of evaluating a risk against the risk management plan's matrix."""

    ACCEPTABLE = "acceptable"
    UNACCEPTABLE = "unacceptable"


class ProblemStatus(StrEnum):
    """Disposition of a problem report (IEC 62304 §9; FDA "unresolved software anomalies").

    ``open``: reported, not yet resolved nor evaluated for release; ``deferred``: evaluated,
    and a release may go ahead with it listed as a known anomaly (IEC 62304 §5.8.2, §5.8.3);
    ``closed``: resolved by a change and verified (§9.7).
    """

    OPEN = "open"
    DEFERRED = "deferred"
    CLOSED = "closed"
