"""The predetermined change control plan of a model package, as a validated record.

One plan per model package of the device (``requirements_spec/change_control_plans/<model>.yaml``),
in the three parts the FDA's PCCP guidance (December 2024) names: the description of the
modifications allowed (each with an ID, bounded) and those not allowed; the modification
protocol (data management, retraining, the verification and validation rerun, the performance
bounds a modified model must meet before release, the update procedure); and the impact
assessment.  The monitoring of the model in use comes first, since it is what triggers a
modification.  Rules that need other records (the model package exists, each bound is
measured by a verified requirement) live in :mod:`corridor_qms.trace.rules`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "MOD_ID",
    "Bound",
    "ChangeControlPlan",
    "Metric",
    "Modification",
    "ModificationProtocol",
    "Monitoring",
    "PerformanceBound",
    "UpdateProcedure",
]

MOD_ID = re.compile(r"MOD-\d{3}")
"""A modification the plan allows: ``MOD-NNN`` (unique within its plan)."""

_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_SrsId = Annotated[str, StringConstraints(pattern=r"^SRS-[A-Z]{2,5}-\d{3}$")]
_RcId = Annotated[str, StringConstraints(pattern=r"^RC-\d{3}$")]
_ModId = Annotated[str, StringConstraints(pattern=rf"^{MOD_ID.pattern}$")]


class Metric(StrEnum):
    """A performance metric a bound may name: those the verification measures."""

    DICE = "dice"
    """Dice similarity coefficient of one label against the phantom's ground truth (0 to 1)."""
    HD95_MM = "hd95-mm"
    """95th percentile Hausdorff distance of one label's surface, in mm."""
    ASSD_MM = "assd-mm"
    """Average symmetric surface distance of one label, in mm."""
    ECE = "ece"
    """Expected calibration error of the most probable class (15 equal-width bins)."""
    AUC = "auc"
    """Reader-averaged area under the ROC curve of a validation-study endpoint."""
    SENSITIVITY = "sensitivity"
    """Reader-averaged sensitivity of a validation-study endpoint."""
    SPECIFICITY = "specificity"
    """Reader-averaged specificity of a validation-study endpoint."""


class Bound(StrEnum):
    """Which side of its limit a metric must stay."""

    AT_LEAST = "at-least"
    AT_MOST = "at-most"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Monitoring(_Part):
    """What is watched while the model is in use, how often it is reviewed, and what starts a
    modification or a field action."""

    watched: list[_Text] = Field(min_length=1)
    review_cadence: _Text
    triggers: list[_Text] = Field(min_length=1)


class Modification(_Part):
    """One modification the plan allows, bounded."""

    id: _ModId
    description: _Text
    bounds: _Text
    """What stays fixed while this modification is made (the limits of the change)."""


class PerformanceBound(_Part):
    """A limit a modified model must meet before release, and the requirement that measures it.

    ``label`` names the output label measured (segmentation metrics); it is ``None`` for a
    figure of merit of a validation-study endpoint.
    """

    metric: Metric
    label: _Text | None = None
    bound: Bound
    limit: float = Field(allow_inf_nan=False)
    measured_by: _SrsId
    """The requirement whose verification scenarios measure the metric."""
    measured_on: _Text
    """Where it is measured (the held-out phantoms, the validation study's endpoint)."""

    def describe(self) -> str:
        """``dice of bone at least 0.95`` (for cards and reports)."""
        what = f"{self.metric.value} of {self.label}" if self.label else self.metric.value
        return f"{what} {self.bound.value.replace('-', ' ')} {self.limit:g}"


class ModificationProtocol(_Part):
    """How a modification is made and shown acceptable (the PCCP's modification protocol)."""

    data_management: _Text
    retraining: _Text
    verification: list[_Text] = Field(min_length=1)
    """What is rerun before release: feature files, benchmarks, the validation study."""
    performance_bounds: list[PerformanceBound] = Field(min_length=1)


class UpdateProcedure(_Part):
    """How a modified model is released and users are told."""

    release: _Text
    labelling: _Text
    users_told: _Text


class ChangeControlPlan(_Part):
    """The predetermined change control plan of one model package.

    ``model`` is the package's name (its manifest's ``name`` and folder); the plan's file is
    named after it.  ``requirements`` and ``risk_controls`` are those the plan relates to (the
    monitoring and the bounds rely on them).
    """

    model: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]*$")]
    model_version: _Text
    """The package version the plan was written for (a modified model gets another)."""
    summary: _Text
    monitoring: Monitoring
    modifications: list[Modification] = Field(min_length=1)
    not_allowed: list[_Text] = Field(min_length=1)
    """Changes outside the plan: each needs a new plan and a new regulatory review."""
    protocol: ModificationProtocol
    update_procedure: UpdateProcedure
    impact_assessment: _Text
    requirements: list[_SrsId] = Field(default_factory=list)
    risk_controls: list[_RcId] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_modifications(self) -> ChangeControlPlan:
        ids = [m.id for m in self.modifications]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"modification ID(s) {', '.join(twice)} given twice; expected "
                             "each MOD-NNN once")
        return self
