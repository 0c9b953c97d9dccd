"""The trace graph: every link between the records, resolved once.

The rules (:mod:`corridor_qms.trace.rules`) and the matrix
(:mod:`corridor_qms.trace.matrix`) both read this index, so the two never
disagree about what links to what.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath

from corridor_qms.records.enum import Acceptability
from corridor_qms.records.io import Located
from corridor_qms.records.model import (
    TRACE_ID,
    Hazard,
    ProblemReport,
    Requirement,
    RiskControl,
)
from corridor_qms.records.project import RecordSet, iter_ids
from corridor_qms.records.scenario import Scenario
from corridor_qms.trace.results import Outcome, worst
from corridor_qms.trace.stamps import stamp

__all__ = [
    "ControlRef",
    "TraceIndex",
    "Verification",
    "build_index",
    "current_stamp",
    "is_trace_tag",
]

_TRACE_PREFIXES = ("SRS-", "RC-", "HAZ-", "UN-", "PR-")


def is_trace_tag(tag: str) -> bool:
    """Whether a tag is meant as a trace link (it starts with a trace ID prefix)."""
    return tag.startswith(_TRACE_PREFIXES)


class Verification(StrEnum):
    """Verification state of a requirement, risk control or closed problem report."""

    PASSED = "passed"
    """Every verifying scenario passed."""
    FAILED = "failed"
    """A verifying scenario failed or errored."""
    NOT_RUN = "not-run"
    """A verifying scenario was skipped or has no result."""
    NO_RESULTS = "no-results"
    """Verified by scenarios, but no results were given to the check."""
    EVIDENCE = "evidence"
    """Verified by analysis, inspection or demonstration, with recorded evidence."""
    UNVERIFIED = "unverified"
    """No scenario verifies it."""


@dataclass(frozen=True, slots=True)
class ControlRef:
    """A risk control with the hazard that defines it."""

    control: RiskControl
    hazard: Located[Hazard]
    index: int

    def line(self, field_name: str = "id") -> int:
        """Line of one of the control's fields in the hazard file."""
        return self.hazard.line(f"risk_controls.{self.index}.{field_name}")


@dataclass(slots=True)
class TraceIndex:
    """Resolved links of a :class:`RecordSet`, with optional test outcomes."""

    records: RecordSet
    outcomes: dict[str, Outcome] | None
    definitions: dict[str, list[tuple[PurePosixPath, int]]] = field(default_factory=dict)
    requirements: dict[str, Located[Requirement]] = field(default_factory=dict)
    hazards: dict[str, Located[Hazard]] = field(default_factory=dict)
    controls: dict[str, ControlRef] = field(default_factory=dict)
    problems: dict[str, Located[ProblemReport]] = field(default_factory=dict)
    needs: set[str] = field(default_factory=set)
    software_items: dict[str, str] = field(default_factory=dict)
    verified_by: dict[str, list[Scenario]] = field(default_factory=dict)
    implements: dict[str, list[str]] = field(default_factory=dict)
    stamps: dict[str, str] = field(default_factory=dict)
    """Current stamp of each requirement and risk control, computed once."""

    def outcome(self, scenario: Scenario) -> Outcome | None:
        """The scenario's outcome, or ``None`` when no results were given."""
        if self.outcomes is None:
            return None
        return self.outcomes.get(scenario.key, Outcome.NOT_RUN)

    def verification(self, item_id: str) -> Verification:
        """Verification state of a requirement, risk control or problem report from its
        scenarios."""
        scenarios = self.verified_by.get(item_id, [])
        if not scenarios:
            located = self.requirements.get(item_id)
            if located is not None and located.record.evidence and all(
                self.records.evidence_present.get(e, False) for e in located.record.evidence
            ):
                return Verification.EVIDENCE
            return Verification.UNVERIFIED
        if self.outcomes is None:
            return Verification.NO_RESULTS
        outcome = worst(self.outcome(s) or Outcome.NOT_RUN for s in scenarios)
        if outcome in (Outcome.FAILED, Outcome.ERRORED):
            return Verification.FAILED
        if outcome is Outcome.PASSED:
            return Verification.PASSED
        return Verification.NOT_RUN

    def acceptability(self, hazard: Hazard, *, residual: bool) -> Acceptability | None:
        """Risk acceptability computed from the plan's matrix (``None`` if undefined)."""
        plan = self.records.risk_plan
        if plan is None:
            return None
        if residual:
            return plan.record.evaluate(hazard.residual_severity, hazard.residual_probability)
        return plan.record.evaluate(hazard.severity, hazard.probability)

    def kind(self, item_id: str) -> str | None:
        """``requirement``, ``need``, ``hazard``, ``risk control`` or ``problem report`` for an
        existing ID."""
        if item_id in self.requirements:
            return "requirement"
        if item_id in self.controls:
            return "risk control"
        if item_id in self.problems:
            return "problem report"
        if item_id in self.hazards:
            return "hazard"
        if item_id in self.needs:
            return "need"
        return None


def build_index(records: RecordSet, outcomes: dict[str, Outcome] | None = None) -> TraceIndex:
    """Resolve every link of ``records`` once.

    Parameters
    ----------
    records
        The loaded records.
    outcomes
        Scenario outcomes from a results file, or ``None`` when none was given.
    """
    index = TraceIndex(records=records, outcomes=outcomes)
    definitions: dict[str, list[tuple[PurePosixPath, int]]] = defaultdict(list)
    for item_id, path, line in iter_ids(records):
        definitions[item_id].append((path, line))
    index.definitions = dict(definitions)
    index.requirements = {r.record.id: r for r in records.requirements}
    index.hazards = {h.record.id: h for h in records.hazards}
    index.problems = {p.record.id: p for p in records.problems}
    index.needs = {n.record.id for n in records.needs}
    index.software_items = {
        s.record.id: s.record.safety_class.value for s in records.software_items
    }
    for hazard in records.hazards:
        for i, control in enumerate(hazard.record.risk_controls):
            index.controls.setdefault(control.id, ControlRef(control, hazard, i))
            for req_id in control.implemented_by:
                index.implements.setdefault(req_id, []).append(control.id)
    verified_by: dict[str, list[Scenario]] = defaultdict(list)
    for scenario in records.scenarios:
        for tag in dict.fromkeys(scenario.tag_names):
            if TRACE_ID.fullmatch(tag):
                verified_by[tag].append(scenario)
    index.verified_by = dict(verified_by)
    index.stamps = {i: stamp(r.record) for i, r in index.requirements.items()}
    index.stamps.update({i: stamp(c.control) for i, c in index.controls.items()})
    return index


def current_stamp(index: TraceIndex, item_id: str) -> str | None:
    """Stamp of a requirement or risk control as it is now, or ``None``."""
    return index.stamps.get(item_id)

