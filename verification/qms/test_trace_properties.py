"""Property tests of the trace check on random record graphs.

A consistent project drawn by :func:`strategies.record_sets` must check clean.
Defects planted into one must be reported exactly: the multiset of ``(rule,
item)`` pairs the check yields equals the one the test expects, and that
expectation is worked out from the defects planted and the ISO 14971 / IEC
62304 trace rules as the catalogue states them, never from the check's output.

Each defect claims the records whose findings it can change (its footprint:
record IDs, scenario keys, ``risk-plan``); a defect whose footprint overlaps one
already planted is not planted, so the expected findings of several defects
are the sum of the expected findings of each.

``strategies`` is imported as a sibling module: pytest puts this folder on
``sys.path`` because it is no package.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import DEPENDENCIES, record_sets

from corridor_qms.records.enum import (
    Acceptability,
    HazardCause,
    RiskControlOption,
    SoftwareSafetyClass,
)
from corridor_qms.records.io import Located
from corridor_qms.records.model import Hazard, Requirement, RiskControl, RiskPlan, SoupItem
from corridor_qms.records.project import LAYOUT, RecordSet
from corridor_qms.records.scenario import Scenario, Tag
from corridor_qms.trace.index import build_index
from corridor_qms.trace.results import Outcome
from corridor_qms.trace.rules import CATALOGUE, check

Pair = tuple[str, str]
"""A finding reduced to ``(rule, item)``."""

T = TypeVar("T")

_TRACE_PREFIXES = ("SRS-", "RC-", "HAZ-", "UN-", "PR-")
"""A scenario tag starting with one of these is meant as a trace link."""

_RETIRED_ITEM = "retired_item"
"""A software item identifier that no drawn project defines."""


def _findings(records: RecordSet, outcomes: dict[str, Outcome] | None = None) -> Counter[Pair]:
    """Run the check; return its findings as counted ``(rule, item)`` pairs."""
    findings = check(build_index(records, outcomes))
    for finding in findings:
        assert finding.severity is CATALOGUE[finding.rule].severity
    return Counter((f.rule, f.item) for f in findings)


def _all_passed(records: RecordSet) -> dict[str, Outcome]:
    """Results in which every scenario passed, keyed by scenario key."""
    return {scenario.key: Outcome.PASSED for scenario in records.scenarios}


@dataclass
class _Planting:
    """A drawn project being given defects, with the findings they must cause.

    Attributes
    ----------
    records
        The project, changed in place.
    outcomes
        Scenario outcomes (all passed before any defect), or ``None`` for a check
        without results.
    draw
        Draws a value (``st.data().draw``).
    expected
        The ``(rule, item)`` findings the planted defects must cause, counted.
    claimed
        Footprints of the planted defects.
    serial
        Number of defects planted, for unique names (below 100).
    """

    records: RecordSet
    outcomes: dict[str, Outcome] | None
    draw: Callable[[st.SearchStrategy[Any]], Any]
    expected: Counter[Pair] = field(default_factory=Counter)
    claimed: set[str] = field(default_factory=set)
    serial: int = 0

    def pick(self, candidates: Iterable[T], footprint: Callable[[T], set[str]]) -> T | None:
        """Draw a candidate whose footprint is unclaimed and claim it; ``None`` if none is."""
        free = [c for c in candidates if self.claimed.isdisjoint(footprint(c))]
        if not free:
            return None
        choice: T = self.draw(st.sampled_from(free))
        self.claimed |= footprint(choice)
        return choice

    def expect(self, rule: str, item: str) -> None:
        """Expect one more finding of ``rule`` about ``item``."""
        self.expected[(rule, item)] += 1

    def unique(self) -> int:
        """A number not used before in this planting (< 100)."""
        self.serial += 1
        return self.serial

    # Queries on the project as it is now.

    def requirement_ids(self) -> list[str]:
        """IDs of the requirements."""
        return [r.record.id for r in self.records.requirements]

    def controls(self) -> list[RiskControl]:
        """Risk controls of every hazard."""
        return [c for h in self.records.hazards for c in h.record.risk_controls]

    def control_ids(self) -> list[str]:
        """IDs of the risk controls."""
        return [c.id for c in self.controls()]

    def hazard_ids(self) -> list[str]:
        """IDs of the hazards."""
        return [h.record.id for h in self.records.hazards]

    def requirement(self, req_id: str) -> Requirement:
        """The requirement of ID ``req_id``."""
        return next(r.record for r in self.records.requirements if r.record.id == req_id)

    def tagging(self, item_id: str) -> list[Scenario]:
        """Scenarios tagged with ``item_id``."""
        return [s for s in self.records.scenarios if item_id in s.tag_names]

    def implemented_by(self, req_id: str) -> list[str]:
        """Risk controls that ``req_id`` implements."""
        return [c.id for c in self.controls() if req_id in c.implemented_by]

    def targets(self, scenario: Scenario) -> list[str]:
        """Requirements and risk controls ``scenario`` is tagged with."""
        existing = {*self.requirement_ids(), *self.control_ids()}
        return [name for name in dict.fromkeys(scenario.tag_names) if name in existing]

    # Changes.

    def replace_requirement(self, req_id: str, **update: Any) -> None:
        """Replace a requirement by a validated copy with ``update`` applied."""
        group = self.records.requirements
        i = next(i for i, r in enumerate(group) if r.record.id == req_id)
        record = Requirement.model_validate(group[i].record.model_dump() | update)
        group[i] = dataclasses.replace(group[i], record=record)

    def replace_hazard(self, haz_id: str, **update: Any) -> None:
        """Replace a hazard by a validated copy with ``update`` applied."""
        group = self.records.hazards
        i = next(i for i, h in enumerate(group) if h.record.id == haz_id)
        record = Hazard.model_validate(group[i].record.model_dump() | update)
        group[i] = dataclasses.replace(group[i], record=record)

    def replace_control(self, rc_id: str, **update: Any) -> None:
        """Replace a risk control (in its hazard) by a validated copy with ``update`` applied."""
        hazard = next(h.record for h in self.records.hazards
                      if rc_id in [c.id for c in h.record.risk_controls])
        controls = [
            RiskControl.model_validate(c.model_dump() | update) if c.id == rc_id else c
            for c in hazard.risk_controls
        ]
        self.replace_hazard(hazard.id, risk_controls=[c.model_dump() for c in controls])

    def replace_scenario(self, key: str, tags: tuple[Tag, ...]) -> None:
        """Give the scenario of key ``key`` the tags ``tags``."""
        group = self.records.scenarios
        i = next(i for i, s in enumerate(group) if s.key == key)
        group[i] = dataclasses.replace(group[i], tags=tags)

    def expect_suspect(self, item_id: str) -> None:
        """Expect every reviewed link to ``item_id`` to turn suspect (its stamp changed)."""
        for scenario in self.tagging(item_id):
            self.expect("LINK-SUSPECT", scenario.key)


# The defects.  Each draws a subject whose footprint is free, changes the
# project, and records the findings the change must cause; it plants nothing
# when no subject is free.

def _requirement_without_parent(p: _Planting) -> None:
    """No parent and not derived: REQ-NO-PARENT."""
    req = p.pick(p.requirement_ids(), lambda r: {r})
    if req is not None:
        p.replace_requirement(req, parents=[], derived=False)
        p.expect("REQ-NO-PARENT", req)


def _parent_dangling(p: _Planting) -> None:
    """A parent that is no user need: LINK-ORPHANED if it looks like one, else LINK-UNWANTED."""
    req = p.pick(p.requirement_ids(), lambda r: {r})
    if req is not None:
        parent = p.draw(st.sampled_from([f"UN-{900 + p.unique()}", "HAZ-001", "the architecture"]))
        p.replace_requirement(req, parents=[*p.requirement(req).parents, parent])
        p.expect("LINK-ORPHANED" if parent.startswith("UN-") else "LINK-UNWANTED", req)


def _requirement_item_missing(p: _Planting) -> None:
    """A requirement of a software item not in the list: LINK-ORPHANED."""
    req = p.pick(p.requirement_ids(), lambda r: {r})
    if req is not None:
        p.replace_requirement(req, software_item=_RETIRED_ITEM)
        p.expect("LINK-ORPHANED", req)


def _class_mismatch(p: _Planting) -> None:
    """Another safety class than the item's: REQ-CLASS-MISMATCH, and its links turn suspect."""
    req = p.pick(p.requirement_ids(), lambda r: {r})
    if req is not None:
        current = p.requirement(req).safety_class
        other = p.draw(st.sampled_from([c for c in SoftwareSafetyClass if c is not current]))
        p.replace_requirement(req, safety_class=other)
        p.expect("REQ-CLASS-MISMATCH", req)
        p.expect_suspect(req)


def _statement_changed(p: _Planting) -> None:
    """A new statement without re-review: each of its links is LINK-SUSPECT."""
    req = p.pick(p.requirement_ids(), lambda r: {r})
    if req is not None:
        p.replace_requirement(req, statement=f"The software shall do revised thing {p.unique()}.")
        p.expect_suspect(req)


def _duplicate_statement(p: _Planting) -> None:
    """Two requirements say the same: the later ID is REQ-DUPLICATE-STATEMENT."""
    ids = p.requirement_ids()
    pair = p.pick([(a, b) for a in ids for b in ids if a != b], set)
    if pair is not None:
        original, copy = pair
        p.replace_requirement(copy, statement=p.requirement(original).statement)
        p.expect("REQ-DUPLICATE-STATEMENT", max(original, copy))
        p.expect_suspect(copy)


def _requirement_unverified(p: _Planting) -> None:
    """No scenario tagged with it any more (reviews pruned): REQ-NO-VERIFICATION.

    Each control it implements is RC-NOT-VERIFIED, and a scenario left with no
    trace tag is SCN-UNTAGGED.
    """
    req = p.pick(
        p.requirement_ids(),
        lambda r: {r, *(s.key for s in p.tagging(r)), *p.implemented_by(r)},
    )
    if req is None:
        return
    p.expect("REQ-NO-VERIFICATION", req)
    for control in p.implemented_by(req):
        p.expect("RC-NOT-VERIFIED", control)
    for scenario in p.tagging(req):
        tags = tuple(t for t in scenario.tags if t.name != req)
        p.replace_scenario(scenario.key, tags)
        p.records.link_reviews.pop((scenario.key, req))
        p.records.link_review_lines.pop((scenario.key, req))
        if not any(t.name.startswith(_TRACE_PREFIXES) for t in tags):
            p.expect("SCN-UNTAGGED", scenario.key)


def _tag_dangling(p: _Planting) -> None:
    """A tag naming no requirement or risk control.

    LINK-ORPHANED when nothing has that ID, LINK-UNWANTED when a need or hazard
    has it, ID-FORMAT when it is no trace ID at all.
    """
    scenario = p.pick(p.records.scenarios, lambda s: {s.key})
    if scenario is None:
        return
    n = 900 + p.unique()
    orphans = [f"SRS-ZZZ-{n}", f"RC-{n}", f"HAZ-{n}", f"UN-{n}"]
    unwanted = [*(x.record.id for x in p.records.needs), *p.hazard_ids()]
    malformed = ["SRS-1", "RC-first", "UN-1234"]
    name = p.draw(st.sampled_from([*orphans, *unwanted, *malformed]))
    p.replace_scenario(scenario.key, (*scenario.tags, Tag(name, scenario.line - 1)))
    rule = ("LINK-ORPHANED" if name in orphans
            else "LINK-UNWANTED" if name in unwanted else "ID-FORMAT")
    p.expect(rule, scenario.key)


def _scenario_untagged(p: _Planting) -> None:
    """A new scenario (passed, given results) with no trace tag: SCN-UNTAGGED."""
    n = p.unique()
    tags = p.draw(st.sampled_from([(), (Tag("smoke", 4 * n),)]))
    path = LAYOUT.features / "untagged.feature"
    scenario = Scenario(path, "Untagged", f"Untagged {n}", 4 * n + 1, tags)
    p.records.scenarios.append(scenario)
    p.claimed.add(scenario.key)
    if p.outcomes is not None:
        p.outcomes[scenario.key] = Outcome.PASSED
    p.expect("SCN-UNTAGGED", scenario.key)


def _control_not_implemented(p: _Planting) -> None:
    """``implemented_by`` emptied: RC-NOT-IMPLEMENTED, and its links turn suspect."""
    rc = p.pick(p.control_ids(), lambda c: {c})
    if rc is not None:
        p.replace_control(rc, implemented_by=[])
        p.expect("RC-NOT-IMPLEMENTED", rc)
        p.expect_suspect(rc)


def _control_reworded(p: _Planting) -> None:
    """A new description without re-review: each of its links is LINK-SUSPECT."""
    rc = p.pick(p.control_ids(), lambda c: {c})
    if rc is not None:
        p.replace_control(rc, description=f"Reworded control {p.unique()}.")
        p.expect_suspect(rc)


def _implementer_dangling(p: _Planting) -> None:
    """An implementing ID that is no requirement: LINK-ORPHANED or LINK-UNWANTED, links suspect."""
    rc = p.pick(p.control_ids(), lambda c: {c})
    if rc is not None:
        name = p.draw(st.sampled_from([f"SRS-ZZZ-{900 + p.unique()}", "UN-001", "HAZ-001"]))
        current = next(c for c in p.controls() if c.id == rc)
        p.replace_control(rc, implemented_by=[*current.implemented_by, name])
        p.expect("LINK-ORPHANED" if name.startswith("SRS-") else "LINK-UNWANTED", rc)
        p.expect_suspect(rc)


def _new_hazard_dangling(p: _Planting) -> None:
    """A new hazard not named (RC-NEW-HAZARD-UNLINKED), not existing or not a HAZ ID."""
    rc = p.pick(p.control_ids(), lambda c: {c})
    if rc is not None:
        new = p.draw(st.sampled_from([(), (f"HAZ-{900 + p.unique()}",), ("a new hazard",)]))
        p.replace_control(rc, introduces_new_hazard=True, new_hazards=list(new))
        rule = ("RC-NEW-HAZARD-UNLINKED" if not new
                else "LINK-ORPHANED" if new[0].startswith("HAZ-") else "LINK-UNWANTED")
        p.expect(rule, rc)


def _only_information_for_safety(p: _Planting) -> None:
    """Every control of a hazard made information for safety, no option analysis: RC-ONLY-IFS.

    The links to each control whose option changed turn suspect.
    """
    ifs = RiskControlOption.INFORMATION_FOR_SAFETY
    hazards = [h.record for h in p.records.hazards if h.record.risk_controls]
    hazard = p.pick(hazards, lambda h: {h.id, *(c.id for c in h.risk_controls)})
    if hazard is None:
        return
    controls = [c.model_copy(update={"option": ifs}).model_dump() for c in hazard.risk_controls]
    p.replace_hazard(hazard.id, risk_controls=controls, option_analysis=None)
    p.expect("RC-ONLY-IFS", hazard.id)
    for control in hazard.risk_controls:
        if control.option is not ifs:
            p.expect_suspect(control.id)


def _hazard_off_scale(p: _Planting) -> None:
    """A level not on the plan's scale: HAZ-SCALE (and no risk evaluation)."""
    haz = p.pick(p.hazard_ids(), lambda h: {h})
    if haz is not None:
        name = p.draw(st.sampled_from(
            ["severity", "probability", "residual_severity", "residual_probability"]))
        p.replace_hazard(haz, **{name: "unheard-of"})
        p.expect("HAZ-SCALE", haz)


def _hazard_item_missing(p: _Planting) -> None:
    """A hazard of a software item not in the list: LINK-ORPHANED."""
    haz = p.pick(p.hazard_ids(), lambda h: {h})
    if haz is not None:
        p.replace_hazard(haz, software_item=_RETIRED_ITEM)
        p.expect("LINK-ORPHANED", haz)


def _plan(p: _Planting) -> RiskPlan:
    """The project's risk management plan (drawn projects always have one)."""
    plan = p.records.risk_plan
    assert plan is not None
    return plan.record


def _residual_increase(p: _Planting) -> None:
    """A residual level one above the initial: HAZ-RESIDUAL-INCREASE.

    Also HAZ-RESIDUAL-UNACCEPTABLE when the new residual cell is unacceptable
    and the hazard has no benefit-risk analysis.
    """
    plan = _plan(p)
    scales = {"severity": [lvl.id for lvl in plan.severity],
              "probability": [lvl.id for lvl in plan.probability]}

    def raisable(hazard: Hazard) -> list[str]:
        return [scale for scale, levels in scales.items()
                if levels.index(getattr(hazard, scale)) < len(levels) - 1]

    hazards = [h.record for h in p.records.hazards
               if h.record.id not in p.claimed and raisable(h.record)]
    hazard = p.pick(hazards, lambda h: {h.id})
    if hazard is None:
        return
    scale = p.draw(st.sampled_from(raisable(hazard)))
    levels = scales[scale]
    higher = levels[levels.index(getattr(hazard, scale)) + 1]
    p.replace_hazard(hazard.id, **{f"residual_{scale}": higher})
    p.expect("HAZ-RESIDUAL-INCREASE", hazard.id)
    changed = hazard.model_copy(update={f"residual_{scale}": higher})
    cell = plan.matrix[changed.residual_severity][changed.residual_probability]
    if cell is Acceptability.UNACCEPTABLE and hazard.benefit_risk is None:
        p.expect("HAZ-RESIDUAL-UNACCEPTABLE", hazard.id)


def _hazard_uncontrolled(p: _Planting) -> None:
    """A new hazard in the riskiest cell (always unacceptable) with no control: HAZ-UNCONTROLLED."""
    plan = _plan(p)
    top_severity, top_probability = plan.severity[-1].id, plan.probability[-1].id
    assert plan.matrix[top_severity][top_probability] is Acceptability.UNACCEPTABLE
    haz = f"HAZ-{900 + p.unique()}"
    hazard = Hazard(
        id=haz, title="Uncontrolled", hazard="A planted hazard.",
        software_item=p.records.software_items[0].record.id, cause=HazardCause.DEFECT,
        sequence_of_events=["An event."], hazardous_situation="A situation.", harm="A harm.",
        severity=top_severity, probability=top_probability,
        residual_severity=top_severity, residual_probability=top_probability,
        benefit_risk="Accepted for the property test.",
    )
    p.records.hazards.append(Located(hazard, LAYOUT.hazards / f"{haz}.yaml", lines={}))
    p.claimed.add(haz)
    p.expect("HAZ-UNCONTROLLED", haz)


_Filed = Located[Any]
"""A record with its file."""


def _filed(p: _Planting) -> list[tuple[list[_Filed], _Filed]]:
    """Every record that has a file of its own, with the list that holds it."""
    records = p.records
    return [(group, located)
            for group in (records.needs, records.requirements, records.hazards, records.soup)
            for located in group]


def _footprint(located: _Filed) -> set[str]:
    """IDs a record file defines: its own, and for a hazard those of its controls."""
    record = located.record
    controls = [c.id for c in record.risk_controls] if isinstance(record, Hazard) else []
    return {record.id, *controls}


def _id_duplicate(p: _Planting) -> None:
    """A record defined twice (in a sub-folder): ID-DUP, also for each control of a hazard."""
    chosen = p.pick(_filed(p), lambda entry: _footprint(entry[1]))
    if chosen is not None:
        group, located = chosen
        group.append(dataclasses.replace(located, path=located.path.parent / "copy" /
                                         located.path.name))
        for item in sorted(_footprint(located)):
            p.expect("ID-DUP", item)


def _file_misnamed(p: _Planting) -> None:
    """A record file not named after its ID: ID-FILENAME."""
    chosen = p.pick(_filed(p), lambda entry: {entry[1].record.id})
    if chosen is not None:
        group, located = chosen
        i = group.index(located)
        path = located.path.parent / f"{located.record.id}-old.yaml"
        group[i] = dataclasses.replace(located, path=path)
        p.expect("ID-FILENAME", located.record.id)


def _link_unreviewed(p: _Planting) -> None:
    """A link's review deleted: LINK-UNREVIEWED on the scenario."""
    live = [(s.key, t) for s in p.records.scenarios for t in p.targets(s)]
    key = p.pick([k for k in live if k in p.records.link_reviews], lambda k: {k[1]})
    if key is not None:
        del p.records.link_reviews[key]
        del p.records.link_review_lines[key]
        p.expect("LINK-UNREVIEWED", key[0])


def _link_review_stale(p: _Planting) -> None:
    """A review of a link that does not exist: LINK-REVIEW-STALE on its target."""
    targets = [*p.requirement_ids(), *p.control_ids(), "SRS-ZZZ-999"]
    retired = f"{LAYOUT.features}/retired.feature::Retired {p.unique()}"
    keys = [(retired, t) for t in targets] + [
        (s.key, t) for s in p.records.scenarios for t in targets if t not in s.tag_names
    ]
    key = p.draw(st.sampled_from([k for k in keys if k not in p.records.link_reviews]))
    p.records.link_reviews[key] = "reviewed-against-an-old-stamp"
    p.records.link_review_lines[key] = 2
    p.expect("LINK-REVIEW-STALE", key[1])


def _soup_undeclared(p: _Planting) -> None:
    """A runtime dependency without a SOUP record: SOUP-UNDECLARED."""
    name = f"extra-package-{p.unique()}"
    p.records.dependencies[name] = ">=1"
    p.expect("SOUP-UNDECLARED", f"SOUP-{name}")


def _soup_stale(p: _Planting) -> None:
    """A SOUP record of another version, or of no runtime dependency: SOUP-STALE."""
    soup = p.pick([s.record.id for s in p.records.soup], lambda s: {s})
    if soup is None:
        return
    i, located = next((i, s) for i, s in enumerate(p.records.soup) if s.record.id == soup)
    if p.draw(st.booleans()):
        record = SoupItem.model_validate(located.record.model_dump() | {"version": "==0.1"})
        p.records.soup[i] = dataclasses.replace(located, record=record)
    else:
        dependency = next(d for d in DEPENDENCIES if d.distribution == located.record.package)
        del p.records.dependencies[dependency.normalized]
    p.expect("SOUP-STALE", soup)


def _matrix_incomplete(p: _Planting) -> None:
    """A matrix row or cell for a level not on the scales: MATRIX-INCOMPLETE."""
    if p.pick([LAYOUT.risk_plan], lambda _: {"risk-plan"}) is None:
        return
    plan = _plan(p)
    matrix = {sev: dict(row) for sev, row in plan.matrix.items()}
    if p.draw(st.booleans()):
        matrix["unlisted"] = {plan.probability[0].id: Acceptability.UNACCEPTABLE}
    else:
        matrix[p.draw(st.sampled_from(sorted(matrix)))]["unlisted"] = Acceptability.ACCEPTABLE
    assert p.records.risk_plan is not None
    record = RiskPlan.model_validate(plan.model_dump() | {"matrix": matrix})
    p.records.risk_plan = dataclasses.replace(p.records.risk_plan, record=record)
    p.expect("MATRIX-INCOMPLETE", "risk-plan")


def _outcome_defect(p: _Planting, outcomes: list[Outcome | None], scenario_rule: str,
                    requirement_rule: str) -> None:
    """Give a scenario one of ``outcomes`` (``None``: absent from the results)."""
    assert p.outcomes is not None

    def footprint(s: Scenario) -> set[str]:
        targets = p.targets(s)
        return {s.key, *targets, *(c for t in targets for c in p.implemented_by(t))}

    scenario = p.pick(p.records.scenarios, footprint)
    if scenario is None:
        return
    outcome = p.draw(st.sampled_from(outcomes))
    if outcome is None:
        del p.outcomes[scenario.key]
    else:
        p.outcomes[scenario.key] = outcome
    p.expect(scenario_rule, scenario.key)
    for target in p.targets(scenario):
        if target.startswith("SRS-"):
            p.expect(requirement_rule, target)
            for control in p.implemented_by(target):
                p.expect("RC-NOT-VERIFIED", control)
        else:
            p.expect("RC-NOT-VERIFIED", target)


def _scenario_failed(p: _Planting) -> None:
    """A scenario failed or errored: SCN-FAILED, its requirements REQ-VERIFICATION-FAILED.

    Each control it verifies, and each control a requirement it verifies
    implements, is RC-NOT-VERIFIED.
    """
    _outcome_defect(p, [Outcome.FAILED, Outcome.ERRORED], "SCN-FAILED", "REQ-VERIFICATION-FAILED")


def _scenario_not_run(p: _Planting) -> None:
    """A scenario skipped, not run or missing from the results: SCN-NO-RESULT.

    Its requirements are REQ-VERIFICATION-NOT-RUN, and controls as for a failure.
    """
    _outcome_defect(p, [Outcome.SKIPPED, Outcome.NOT_RUN, None], "SCN-NO-RESULT",
                    "REQ-VERIFICATION-NOT-RUN")


_Defect = Callable[[_Planting], None]

DEFECTS: dict[str, _Defect] = {
    f.__name__.lstrip("_").replace("_", "-"): f
    for f in (
        _requirement_without_parent, _parent_dangling, _requirement_item_missing, _class_mismatch,
        _statement_changed, _duplicate_statement, _requirement_unverified, _tag_dangling,
        _scenario_untagged, _control_not_implemented, _control_reworded, _implementer_dangling,
        _new_hazard_dangling, _only_information_for_safety, _hazard_off_scale,
        _hazard_item_missing, _residual_increase, _hazard_uncontrolled, _id_duplicate,
        _file_misnamed, _link_unreviewed, _link_review_stale, _soup_undeclared, _soup_stale,
        _matrix_incomplete,
    )
}
"""Defects that need no test results, by name."""

RESULT_DEFECTS: dict[str, _Defect] = {
    "scenario-failed": _scenario_failed,
    "scenario-not-run": _scenario_not_run,
}
"""Defects in the test results, by name."""


def _plant(
    data: st.DataObject, records: RecordSet, with_results: bool, names: list[str]
) -> tuple[Counter[Pair], dict[str, Outcome] | None]:
    """Plant the named defects; return the findings they must cause and the results."""
    outcomes = _all_passed(records) if with_results else None
    planting = _Planting(records, outcomes, data.draw)
    menu = DEFECTS | RESULT_DEFECTS
    for name in names:
        menu[name](planting)
    assume(planting.expected)
    return planting.expected, outcomes


def _assert_reported_exactly(
    records: RecordSet, outcomes: dict[str, Outcome] | None, expected: Counter[Pair]
) -> None:
    """Assert the check reports exactly ``expected``: the same pairs, as many times each."""
    reported = _findings(records, outcomes)
    assert set(reported) == set(expected), (
        f"missing {sorted(set(expected) - set(reported))}, "
        f"unexpected {sorted(set(reported) - set(expected))}"
    )
    assert reported == expected, (
        f"reported more often than expected: {sorted((reported - expected).items())}, "
        f"less often: {sorted((expected - reported).items())}"
    )


@settings(max_examples=60, deadline=None)
@given(records=record_sets())
def test_consistent_project_checks_clean(records: RecordSet) -> None:
    """A consistent project has no finding, without results or with every scenario passed."""
    assert _findings(records) == Counter()
    assert _findings(records, _all_passed(records)) == Counter()


@settings(max_examples=30, deadline=None)
@given(records=record_sets(), data=st.data())
def test_editorial_changes_keep_links_reviewed(records: RecordSet, data: st.DataObject) -> None:
    """Title, rationale and status are editorial: changing them turns no link suspect."""
    for i, located in enumerate(records.requirements):
        update = {"title": f"Retitled {i}", "rationale": "Reworded.",
                  "status": data.draw(st.sampled_from(["draft", "approved"]))}
        record = Requirement.model_validate(located.record.model_dump() | update)
        records.requirements[i] = dataclasses.replace(located, record=record)
    assert _findings(records, _all_passed(records)) == Counter()


@pytest.mark.parametrize("name", [*DEFECTS, *RESULT_DEFECTS])
@settings(max_examples=10, deadline=None)
@given(
    records=record_sets(min_requirements=2, min_hazards=1, min_soup=1, repeated_tags=False),
    with_results=st.booleans(),
    data=st.data(),
)
def test_each_planted_defect_is_reported_exactly(
    name: str, records: RecordSet, with_results: bool, data: st.DataObject
) -> None:
    """One defect of each kind causes exactly the findings it must.

    Tags written twice are left to the tests below, so that a fault in their
    handling shows there and not in every kind of defect.
    """
    with_results = with_results or name in RESULT_DEFECTS
    expected, outcomes = _plant(data, records, with_results, [name])
    _assert_reported_exactly(records, outcomes, expected)


@settings(max_examples=60, deadline=None)
@given(records=record_sets(), with_results=st.booleans(), data=st.data())
def test_planted_defects_are_reported_exactly(
    records: RecordSet, with_results: bool, data: st.DataObject
) -> None:
    """Several independent defects cause exactly the sum of their findings."""
    menu = sorted(DEFECTS) + (sorted(RESULT_DEFECTS) if with_results else [])
    names = data.draw(st.lists(st.sampled_from(menu), min_size=1, max_size=6), label="defects")
    expected, outcomes = _plant(data, records, with_results, names)
    _assert_reported_exactly(records, outcomes, expected)


@settings(max_examples=20, deadline=None)
@given(records=record_sets(repeated_tags=True), data=st.data())
def test_a_tag_on_feature_and_scenario_is_one_link(records: RecordSet, data: st.DataObject) -> None:
    """A scenario tagged with an ID by its feature and by itself has one link to it.

    The link is reviewed once (``link_reviews`` is keyed by scenario and ID), so
    a change to its target makes it suspect once, and a missing review is
    reported once, not once per line the tag is written on.
    """
    scenario = data.draw(st.sampled_from(records.scenarios))
    target = scenario.tags[0].name
    assert [t.name for t in scenario.tags].count(target) == 2
    planting = _Planting(records, None, data.draw)
    if data.draw(st.booleans(), label="unreviewed"):
        del records.link_reviews[(scenario.key, target)]
        del records.link_review_lines[(scenario.key, target)]
        planting.expect("LINK-UNREVIEWED", scenario.key)
    else:
        if target.startswith("SRS-"):
            planting.replace_requirement(target, statement="The software shall do it anew.")
        else:
            planting.replace_control(target, description="A reworded control.")
        planting.expect_suspect(target)
    _assert_reported_exactly(records, None, planting.expected)
