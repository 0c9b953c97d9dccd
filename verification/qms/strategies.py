"""Hypothesis strategies for the quality records: random *consistent* projects.

This is the one module where property-test strategies live.  Every project drawn
here is consistent, so the trace check must report nothing on it: each record
file is named after its identifier, every requirement has a parent user need (or
is derived) and the safety class of its software item, every hazard's levels are
on the plan's scales with residual risk no higher than initial risk, every risk
control is implemented by existing requirements, every requirement and risk
control is verified by a tagged scenario, every link from a scenario was
reviewed against the current stamp of its target, and every runtime dependency
has a SOUP record of the same version.

Records are built in memory as :class:`~corridor_qms.records.io.Located` objects
at the paths the project layout gives them, so the tests exercise the rules
without reading files.  Property tests plant defects into what these strategies
draw and compare the check's findings with the defects planted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TypeVar

from hypothesis import strategies as st

from corridor_qms.records.enum import (
    Acceptability,
    HazardCause,
    RequirementStatus,
    RequirementType,
    RiskControlOption,
    SoftwareSafetyClass,
)
from corridor_qms.records.io import Located
from corridor_qms.records.model import (
    Hazard,
    Requirement,
    RiskControl,
    RiskLevel,
    RiskPlan,
    SoftwareItem,
    SoupItem,
    UserNeed,
)
from corridor_qms.records.project import LAYOUT, RecordSet
from corridor_qms.records.scenario import Scenario, Tag
from corridor_qms.trace.stamps import stamp

__all__ = [
    "DEPENDENCIES",
    "NON_TRACE_TAGS",
    "PROBABILITY_LEVELS",
    "SEVERITY_LEVELS",
    "SOFTWARE_ITEMS",
    "Dependency",
    "record_sets",
    "risk_plans",
    "software_items",
]

SEVERITY_LEVELS = ("negligible", "minor", "serious", "critical")
"""Severity level identifiers a drawn plan takes its scale from, lowest first."""

PROBABILITY_LEVELS = ("improbable", "remote", "occasional", "frequent")
"""Probability level identifiers a drawn plan takes its scale from, lowest first."""

SOFTWARE_ITEMS = {
    "segmentation": "SEG",
    "mesh.export": "MSH",
    "dicom_io": "DIO",
    "report": "RPT",
}
"""Software item identifiers a project is drawn from, with their requirement ID infix."""

NON_TRACE_TAGS = ("smoke", "slow", "wip")
"""Scenario tags that are not trace links (they start with no trace ID prefix)."""


@dataclass(frozen=True, slots=True)
class Dependency:
    """A runtime dependency as ``pyproject.toml`` declares it.

    Attributes
    ----------
    distribution
        The distribution name as its SOUP record spells it.
    normalized
        Its PEP 503 normalised name, written out by hand so that it is an
        oracle independent of the code that normalises names.
    specifier
        The version specifier, as in ``pyproject.toml``.
    """

    distribution: str
    normalized: str
    specifier: str


DEPENDENCIES = (
    Dependency("PyYAML", "pyyaml", ">=6.0,<7"),
    Dependency("Jinja2", "jinja2", ">=3.1,<4"),
    Dependency("gherkin_official", "gherkin-official", ">=29"),
    Dependency("zope.interface", "zope-interface", ">=6"),
)
"""Runtime dependencies a project is drawn from."""

_VERBS = ("report", "reject", "record", "display", "export", "compute")
_OBJECTS = ("the series", "the mask", "the mesh", "the volume", "the report", "the log")


def _level(level_id: str) -> RiskLevel:
    """A scale level named after its identifier."""
    return RiskLevel(id=level_id, name=level_id.capitalize(), description=f"The {level_id} level.")


@st.composite
def _risk_plans(draw: st.DrawFn) -> RiskPlan:
    """See :func:`risk_plans`."""
    severities = SEVERITY_LEVELS[: draw(st.integers(1, len(SEVERITY_LEVELS)))]
    probabilities = PROBABILITY_LEVELS[: draw(st.integers(1, len(PROBABILITY_LEVELS)))]
    # A staircase: row i accepts its first thresholds[i] probabilities, and the
    # thresholds never grow with severity, so the matrix is monotone.  The top
    # row accepts fewer than all, so the riskiest cell is unacceptable.
    thresholds = sorted(
        draw(
            st.lists(
                st.integers(0, len(probabilities)),
                min_size=len(severities),
                max_size=len(severities),
            )
        ),
        reverse=True,
    )
    thresholds[-1] = min(thresholds[-1], len(probabilities) - 1)
    matrix = {
        sev: {
            prob: Acceptability.ACCEPTABLE if j < thresholds[i] else Acceptability.UNACCEPTABLE
            for j, prob in enumerate(probabilities)
        }
        for i, sev in enumerate(severities)
    }
    return RiskPlan(
        severity=[_level(s) for s in severities],
        probability=[_level(p) for p in probabilities],
        matrix=matrix,
    )


def risk_plans() -> st.SearchStrategy[RiskPlan]:
    """Risk management plans whose matrix is total and monotone.

    Both scales have one to four levels.  The matrix defines every cell, never
    accepts a cell while rejecting a lower-risk one, and always rejects the most
    severe, most probable cell, as any real plan does.

    Returns
    -------
    SearchStrategy of RiskPlan
    """
    return _risk_plans()


@st.composite
def _software_items(draw: st.DrawFn) -> list[SoftwareItem]:
    """See :func:`software_items`."""
    ids = draw(
        st.lists(st.sampled_from(sorted(SOFTWARE_ITEMS)), min_size=1, max_size=3, unique=True)
    )
    return [
        SoftwareItem(
            id=item_id,
            description=f"The {item_id} software item.",
            safety_class=draw(st.sampled_from(SoftwareSafetyClass)),
            class_rationale="Drawn at random for a property test.",
        )
        for item_id in ids
    ]


def software_items() -> st.SearchStrategy[list[SoftwareItem]]:
    """One to three software items of distinct identifiers, each with a safety class.

    Returns
    -------
    SearchStrategy of list of SoftwareItem
    """
    return _software_items()


_R = TypeVar("_R", UserNeed, Requirement, Hazard, SoupItem)


def _located(record: _R, folder: PurePosixPath) -> Located[_R]:
    """``record`` in its own file ``<folder>/<ID>.yaml``, without line numbers."""
    return Located(record, folder / f"{record.id}.yaml", lines={})


def _requirement(
    draw: st.DrawFn, number: int, item: SoftwareItem, need_ids: list[str]
) -> Requirement:
    """Requirement ``number`` of ``item``, with parents among ``need_ids`` unless derived."""
    derived = draw(st.booleans())
    parents = draw(st.lists(st.sampled_from(need_ids), min_size=0 if derived else 1, max_size=2,
                            unique=True))
    criteria = draw(st.lists(st.sampled_from(_OBJECTS), min_size=1, max_size=2, unique=True))
    return Requirement(
        id=f"SRS-{SOFTWARE_ITEMS[item.id]}-{number:03d}",
        title=f"Function {number}",
        # The number makes every statement unique (rule REQ-DUPLICATE-STATEMENT).
        statement=f"The software shall {draw(st.sampled_from(_VERBS))} "
        f"{draw(st.sampled_from(_OBJECTS))} ({number}).",
        rationale="Drawn at random for a property test.",
        type=draw(st.sampled_from(RequirementType)),
        software_item=item.id,
        safety_class=item.safety_class,
        parents=parents,
        derived=derived,
        acceptance_criteria=[f"The software handles {c}." for c in criteria],
        status=draw(st.sampled_from(RequirementStatus)),
    )


def _hazard(
    draw: st.DrawFn,
    hazard_id: str,
    plan: RiskPlan,
    items: list[SoftwareItem],
    req_ids: list[str],
    hazard_ids: list[str],
    first_control: int,
) -> Hazard:
    """A hazard on the plan's scales, controlled when its initial risk is unacceptable.

    Its controls are numbered from ``first_control`` and implemented by
    requirements among ``req_ids``; a residual risk that is unacceptable comes
    with a benefit-risk analysis, and information-for-safety-only control with
    an option analysis.
    """
    severities = [lvl.id for lvl in plan.severity]
    probabilities = [lvl.id for lvl in plan.probability]
    sev = draw(st.integers(0, len(severities) - 1))
    prob = draw(st.integers(0, len(probabilities) - 1))
    residual_sev = draw(st.integers(0, sev))
    residual_prob = draw(st.integers(0, prob))
    initial_ok = plan.matrix[severities[sev]][probabilities[prob]] is Acceptability.ACCEPTABLE
    residual_ok = (
        plan.matrix[severities[residual_sev]][probabilities[residual_prob]]
        is Acceptability.ACCEPTABLE
    )
    controls = []
    count = draw(st.integers(0 if initial_ok else 1, 2))
    for number in range(first_control, first_control + count):
        introduces = draw(st.booleans())
        controls.append(
            RiskControl(
                id=f"RC-{number:03d}",
                description=f"Control number {number}.",
                option=draw(st.sampled_from(RiskControlOption)),
                implemented_by=draw(
                    st.lists(st.sampled_from(req_ids), min_size=1, max_size=2, unique=True)
                ),
                effectiveness="Shown by its verifying scenario.",
                introduces_new_hazard=introduces,
                new_hazards=[draw(st.sampled_from(hazard_ids))] if introduces else [],
            )
        )
    only_ifs = bool(controls) and all(
        c.option is RiskControlOption.INFORMATION_FOR_SAFETY for c in controls
    )
    optional_text = st.one_of(st.none(), st.just("Recorded for a property test."))
    return Hazard(
        id=hazard_id,
        title=f"Hazard {hazard_id}",
        hazard="A drawn hazard.",
        software_item=draw(st.sampled_from(items)).id,
        cause=draw(st.sampled_from(HazardCause)),
        sequence_of_events=["An event.", "A consequence."],
        hazardous_situation="A drawn hazardous situation.",
        harm="A drawn harm.",
        severity=severities[sev],
        probability=probabilities[prob],
        risk_controls=controls,
        residual_severity=severities[residual_sev],
        residual_probability=probabilities[residual_prob],
        option_analysis="Design measures are not practicable." if only_ifs else draw(optional_text),
        benefit_risk="The benefit outweighs the risk." if not residual_ok else draw(optional_text),
    )


def _scenarios(
    draw: st.DrawFn, targets: list[str], max_scenarios: int, repeated_tags: bool | None
) -> list[Scenario]:
    """Scenarios in one or two feature files, each target tagged on one or two of them."""
    count = draw(st.integers(1, min(max_scenarios, len(targets))))
    tagged: list[list[str]] = [[] for _ in range(count)]
    for target in targets:
        for i in draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=2, unique=True)):
            tagged[i].append(target)
    for names in tagged:
        if not names:
            names.append(draw(st.sampled_from(targets)))
    files = [LAYOUT.features / f"feature_{k}.feature" for k in range(draw(st.integers(1, 2)))]
    next_line = dict.fromkeys(files, 3)
    scenarios = []
    for i, names in enumerate(tagged):
        extra = draw(st.lists(st.sampled_from(NON_TRACE_TAGS), max_size=1))
        path = draw(st.sampled_from(files))
        line = next_line[path]
        next_line[path] += 4
        tags = tuple(Tag(name, line - 1) for name in draw(st.permutations(names + extra)))
        repeat = draw(st.booleans()) if repeated_tags is None else repeated_tags
        if repeat:
            # The feature is tagged with it too: the scenario inherits the tag
            # from line 1 as well as carrying its own.
            tags = (Tag(draw(st.sampled_from(names)), 1), *tags)
        scenarios.append(Scenario(path, f"Feature {path.stem}", f"Scenario {i}", line, tags))
    return scenarios


@st.composite
def _record_sets(
    draw: st.DrawFn,
    min_requirements: int,
    max_requirements: int,
    min_hazards: int,
    max_hazards: int,
    min_soup: int,
    max_scenarios: int,
    repeated_tags: bool | None,
) -> RecordSet:
    """See :func:`record_sets`."""
    plan = draw(risk_plans())
    items = draw(software_items())
    needs = [
        UserNeed(id=f"UN-{n:03d}", title=f"Need {n}", statement=f"Users need outcome {n}.")
        for n in range(1, draw(st.integers(1, 3)) + 1)
    ]
    need_ids = [n.id for n in needs]
    requirements = [
        _requirement(draw, number, draw(st.sampled_from(items)), need_ids)
        for number in range(1, draw(st.integers(min_requirements, max_requirements)) + 1)
    ]
    req_ids = [r.id for r in requirements]
    hazard_ids = [f"HAZ-{n:03d}" for n in range(1, draw(st.integers(min_hazards, max_hazards)) + 1)]
    hazards: list[Hazard] = []
    for hazard_id in hazard_ids:
        first_control = 1 + sum(len(h.risk_controls) for h in hazards)
        hazards.append(_hazard(draw, hazard_id, plan, items, req_ids, hazard_ids, first_control))
    controls = [c for h in hazards for c in h.risk_controls]
    stamps = {r.id: stamp(r) for r in requirements} | {c.id: stamp(c) for c in controls}
    targets = [*req_ids, *(c.id for c in controls)]
    scenarios = _scenarios(draw, targets, max_scenarios, repeated_tags)
    records = RecordSet(
        root=Path("generated-project"),
        needs=[_located(n, LAYOUT.needs) for n in needs],
        software_items=[Located(s, LAYOUT.software_items, lines={}) for s in items],
        requirements=[_located(r, LAYOUT.requirements) for r in requirements],
        hazards=[_located(h, LAYOUT.hazards) for h in hazards],
        risk_plan=Located(plan, LAYOUT.risk_plan, lines={}),
        scenarios=scenarios,
    )
    for scenario in scenarios:
        for name in scenario.tag_names:
            if name in stamps and (scenario.key, name) not in records.link_reviews:
                records.link_reviews[(scenario.key, name)] = stamps[name]
                records.link_review_lines[(scenario.key, name)] = len(records.link_reviews) + 4
    for dependency in draw(st.lists(st.sampled_from(DEPENDENCIES), min_size=min_soup, max_size=2,
                                    unique=True)):
        soup = SoupItem(
            id=f"SOUP-{dependency.distribution}",
            title=dependency.distribution,
            package=dependency.distribution,
            manufacturer="Its maintainers",
            version=dependency.specifier,
            purpose="Drawn at random for a property test.",
            requirements="Whatever the test needs.",
            platform="CPython 3.11+, any OS.",
            anomaly_list="https://example.org/issues",
            reviewed=date(2025, 1, 1),
            risk_assessment="No hazard.",
            justification="Drawn at random.",
        )
        records.soup.append(_located(soup, LAYOUT.soup))
        records.dependencies[dependency.normalized] = dependency.specifier
    return records


def record_sets(
    *,
    min_requirements: int = 1,
    max_requirements: int = 5,
    min_hazards: int = 0,
    max_hazards: int = 3,
    min_soup: int = 0,
    max_scenarios: int = 6,
    repeated_tags: bool | None = None,
) -> st.SearchStrategy[RecordSet]:
    """Consistent projects: record sets on which the trace check reports nothing.

    Parameters
    ----------
    min_requirements, max_requirements
        Bounds on the number of software requirements (at least 1).
    min_hazards, max_hazards
        Bounds on the number of hazards; each has zero to two risk controls (at
        least one when its initial risk is unacceptable).
    min_soup
        Least number of runtime dependencies, each with its SOUP record (at most 2).
    max_scenarios
        Most verification scenarios; every requirement and risk control is
        tagged on one or two of them, and every scenario has a trace tag.
    repeated_tags
        Whether a scenario also inherits one of its trace tags from its feature
        (the same name on another line): always, never, or (``None``) drawn for
        each scenario.  Either way it is one link, reviewed once.

    Returns
    -------
    SearchStrategy of RecordSet
        Every record at ``<layout folder>/<ID>.yaml`` with no line numbers
        (findings fall back to line 1), link reviews holding the current stamps,
        no evidence and no loading findings.
    """
    return _record_sets(
        min_requirements,
        max_requirements,
        min_hazards,
        max_hazards,
        min_soup,
        max_scenarios,
        repeated_tags,
    )
