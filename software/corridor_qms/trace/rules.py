"""The trace check's rules.

Each rule is a pure function of a :class:`~corridor_qms.trace.index.TraceIndex`
that yields :class:`~corridor_qms.findings.Finding` objects; nothing here prints,
raises for a rule violation, or writes a file.  :data:`CATALOGUE` lists every
rule identifier this check can report, with its severity and meaning; the
development plan's list of enforced links is reconciled against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from corridor_qms.findings import Finding, Severity
from corridor_qms.records.enum import (
    Acceptability,
    ProblemStatus,
    RiskControlOption,
    SoftwareSafetyClass,
)
from corridor_qms.records.model import HAZARD_ID, NEED_ID, RC_ID, SRS_ID, TRACE_ID, RiskControl
from corridor_qms.records.project import LAYOUT, normalize_distribution
from corridor_qms.sbom.closure import installed_environment, parse_lock, runtime_closure
from corridor_qms.trace.index import TraceIndex, Verification, current_stamp, is_trace_tag
from corridor_qms.trace.results import Outcome

__all__ = ["CATALOGUE", "RULES", "Rule", "check"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of the rule catalogue."""

    id: str
    severity: Severity
    description: str


_E, _W, _R = Severity.ERROR, Severity.WARNING, Severity.RELEASE

CATALOGUE: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("RECORD-SYNTAX", _E, "a record or feature file is not valid YAML or Gherkin"),
        Rule("RECORD-INVALID", _E, "a record misses a field or has a value of the wrong form"),
        Rule("RECORD-MISSING", _E, "a record file the project must have does not exist"),
        Rule("ID-FORMAT", _E, "an identifier does not match its pattern"),
        Rule("ID-DUP", _E, "the same identifier (or scenario name in a feature) is defined twice"),
        Rule("ID-FILENAME", _E, "a record's file is not named after its identifier"),
        Rule("LINK-ORPHANED", _E, "a tag, parent, control, implementing requirement or problem "
             "report names an identifier or software item that does not exist"),
        Rule("LINK-UNWANTED", _E, "a link points at the wrong kind of record"),
        Rule("LINK-SUSPECT", _E, "a linked requirement or risk control changed since the link "
             "was reviewed"),
        Rule("LINK-UNREVIEWED", _E, "a scenario's link to a requirement or risk control was "
             "never reviewed"),
        Rule("LINK-REVIEW-STALE", _W, "a link review names a link that no longer exists"),
        Rule("REQ-NO-PARENT", _E, "a requirement has no parent and is not derived"),
        Rule("REQ-NO-VERIFICATION", _E, "no scenario verifies a requirement"),
        Rule("REQ-VERIFICATION-FAILED", _E, "a scenario verifying a requirement failed or errored"),
        Rule("REQ-VERIFICATION-NOT-RUN", _E, "a scenario verifying a requirement was skipped or "
             "has no result"),
        Rule("REQ-CLASS-MISMATCH", _E, "a requirement's safety class differs from its software "
             "item's"),
        Rule("REQ-DUPLICATE-STATEMENT", _E, "two requirements have the same statement"),
        Rule("SCN-UNTAGGED", _E, "a scenario verifies nothing"),
        Rule("SCN-NO-RESULT", _E, "a scenario from the feature files has no result, or was "
             "skipped"),
        Rule("SCN-FAILED", _E, "a scenario failed or errored"),
        Rule("HAZ-SCALE", _E, "a severity or probability (of a hazard or problem report) is "
             "not on the plan's scale"),
        Rule("HAZ-UNCONTROLLED", _E, "a hazard's initial risk is unacceptable and it has no "
             "risk control"),
        Rule("HAZ-RESIDUAL-UNACCEPTABLE", _E, "a hazard's residual risk is unacceptable and it "
             "has no benefit-risk analysis"),
        Rule("HAZ-RESIDUAL-INCREASE", _E, "a residual severity or probability is higher than "
             "the initial one"),
        Rule("RC-NOT-IMPLEMENTED", _E, "a risk control is implemented by no requirement"),
        Rule("RC-NOT-VERIFIED", _E, "a risk control's implementing requirements are not all "
             "verified (and passing, given results)"),
        Rule("RC-ONLY-IFS", _W, "a hazard is controlled only by information for safety without "
             "an option analysis"),
        Rule("RC-NEW-HAZARD-UNLINKED", _E, "a risk control introduces a new hazard but names "
             "none"),
        Rule("MATRIX-INCOMPLETE", _E, "the acceptability matrix leaves a cell undefined or names "
             "an unknown level"),
        Rule("MATRIX-NONMONOTONE", _E, "the matrix accepts a cell more severe or more probable "
             "than one it rejects"),
        Rule("SOUP-UNDECLARED", _E, "a runtime dependency has no SOUP record"),
        Rule("SOUP-STALE", _E, "a SOUP record names no runtime dependency, or another version"),
        Rule("SBOM-COMPONENT-UNDECLARED", _E, "a component of the runtime closure (the SBOM) "
             "is neither a SOUP record's package nor pulled in by one (checked when "
             "requirements.lock exists)"),
        Rule("SBOM-COMPONENT-UNLOCKED", _E, "a component of the runtime closure has no exact "
             "pin in requirements.lock"),
        Rule("SBOM-ENVIRONMENT-MISMATCH", _W, "a component of the runtime closure is pinned but "
             "not installed here, or installed at another version, so what it pulls in is "
             "unknown or read from another version (a warning: it is about the environment "
             "the check runs in, not the records)"),
        Rule("SBOM-VERSION-OUTSIDE", _E, "a SOUP package's locked version is outside its SOUP "
             "record's version range"),
        Rule("PR-FIELD-MISSING", _E, "a problem report lacks a field its status needs (every "
             "status: hazard_evaluation; deferred: deferral_rationale, users_told; closed: "
             "resolution, change)"),
        Rule("PR-CLOSED-UNVERIFIED", _E, "a closed problem report has no scenario tagged with "
             "its ID, or (given results) one that did not pass"),
        Rule("PCCP-MISSING", _E, "a model package of the device has no predetermined change "
             "control plan"),
        Rule("PCCP-BOUND-UNMEASURED", _E, "a performance bound of a change control plan names "
             "a label its model does not output, or a requirement that no scenario verifies"),
        Rule("PR-OPEN-BLOCKS-RELEASE", _R, "an open problem report touches a class C software "
             "item (fails only the release gate, --release)"),
    )
}
"""Every rule the check can report."""

_Check = Callable[[TraceIndex], Iterator[Finding]]


def _f(rule: str, item: str, path: PurePosixPath, line: int | None, message: str) -> Finding:
    return Finding(path, line, rule, item, message, CATALOGUE[rule].severity)


def _identity(index: TraceIndex) -> Iterator[Finding]:
    for item_id, places in index.definitions.items():
        for path, line in places[1:]:
            first_path, first_line = places[0]
            yield _f("ID-DUP", item_id, path, line,
                     f"{item_id} is already defined at {first_path}:{first_line}")
    records = index.records
    for group in (records.needs, records.requirements, records.hazards, records.soup,
                  records.problems):
        for located in group:
            if located.path.stem != located.record.id:
                yield _f("ID-FILENAME", located.record.id, located.path, located.line("id"),
                         f"file is named {located.path.name!r}, expected "
                         f"'{located.record.id}{located.path.suffix}'")


def _requirements(index: TraceIndex) -> Iterator[Finding]:
    statements: dict[str, str] = {}
    for req_id, located in sorted(index.requirements.items()):
        req, path = located.record, located.path
        for parent in req.parents:
            if NEED_ID.fullmatch(parent):
                if parent not in index.needs:
                    yield _f("LINK-ORPHANED", req_id, path, located.line("parents"),
                             f"parent {parent} does not exist (expected a user need in "
                             f"{LAYOUT.needs}/)")
            else:
                yield _f("LINK-UNWANTED", req_id, path, located.line("parents"),
                         f"parent {parent!r} is not a user need (expected UN-NNN)")
        if not req.parents and not req.derived:
            yield _f("REQ-NO-PARENT", req_id, path, located.line("parents"),
                     "no parent user need (expected parents: [UN-NNN], or derived: true with "
                     "the reason in rationale)")
        item_class = index.software_items.get(req.software_item)
        if item_class is None:
            yield _f("LINK-ORPHANED", req_id, path, located.line("software_item"),
                     f"software item {req.software_item!r} is not in {LAYOUT.software_items}")
        elif item_class != req.safety_class.value:
            yield _f("REQ-CLASS-MISMATCH", req_id, path, located.line("safety_class"),
                     f"safety class {req.safety_class.value}, expected {item_class} "
                     f"(the class of software item {req.software_item})")
        if req.statement in statements:
            yield _f("REQ-DUPLICATE-STATEMENT", req_id, path, located.line("statement"),
                     f"same statement as {statements[req.statement]}")
        statements.setdefault(req.statement, req_id)
        yield from _verification(index, req_id, path, located.line("id"))


def _verification(
    index: TraceIndex, item_id: str, path: PurePosixPath, line: int
) -> Iterator[Finding]:
    state = index.verification(item_id)
    scenarios = index.verified_by.get(item_id, [])
    located = index.requirements[item_id]
    for evidence in located.record.evidence:
        if not index.records.evidence_present.get(evidence, False):
            yield _f("LINK-ORPHANED", item_id, path, located.line("evidence"),
                     f"evidence file {evidence!r} does not exist")
    if state is Verification.UNVERIFIED:
        yield _f("REQ-NO-VERIFICATION", item_id, path, line,
                 f"no scenario in {LAYOUT.features}/ is tagged @{item_id}, and no recorded "
                 "evidence is named")
    elif state is Verification.FAILED:
        bad = [s.name for s in scenarios if index.outcome(s) in (Outcome.FAILED, Outcome.ERRORED)]
        yield _f("REQ-VERIFICATION-FAILED", item_id, path, line,
                 f"verifying scenario(s) failed: {'; '.join(bad)}")
    elif state is Verification.NOT_RUN:
        bad = [f"{s.name} ({(index.outcome(s) or Outcome.NOT_RUN).value})" for s in scenarios
               if index.outcome(s) is not Outcome.PASSED]
        yield _f("REQ-VERIFICATION-NOT-RUN", item_id, path, line,
                 f"verifying scenario(s) did not pass: {'; '.join(bad)}")


def _scenarios(index: TraceIndex) -> Iterator[Finding]:
    for scenario in index.records.scenarios:
        trace_tags = [t for t in scenario.tags if is_trace_tag(t.name)]
        if not trace_tags:
            yield _f("SCN-UNTAGGED", scenario.key, scenario.path, scenario.line,
                     "the scenario is tagged with no requirement, risk control or problem "
                     "report (expected a tag such as @SRS-TRC-001, @RC-001 or @PR-001)")
        for tag in trace_tags:
            name = tag.name
            if not TRACE_ID.fullmatch(name):
                yield _f("ID-FORMAT", scenario.key, scenario.path, tag.line,
                         f"tag @{name} is not a trace identifier (expected @SRS-<ITEM>-NNN, "
                         "@RC-NNN or @PR-NNN)")
                continue
            kind = index.kind(name)
            if kind is None:
                yield _f("LINK-ORPHANED", scenario.key, scenario.path, tag.line,
                         f"tag @{name} names no existing requirement, risk control or problem "
                         "report")
            elif kind not in ("requirement", "risk control", "problem report"):
                yield _f("LINK-UNWANTED", scenario.key, scenario.path, tag.line,
                         f"tag @{name} names a {kind}; scenarios verify requirements, risk "
                         "controls and the resolution of problem reports only")
        outcome = index.outcome(scenario)
        if outcome in (Outcome.NOT_RUN, Outcome.SKIPPED):
            yield _f("SCN-NO-RESULT", scenario.key, scenario.path, scenario.line,
                     f"the results have no passing run of this scenario ({outcome.value})")
        elif outcome in (Outcome.FAILED, Outcome.ERRORED):
            yield _f("SCN-FAILED", scenario.key, scenario.path, scenario.line,
                     f"the scenario {outcome.value}")


def _link_reviews(index: TraceIndex) -> Iterator[Finding]:
    records = index.records
    live: set[tuple[str, str]] = set()
    for scenario in records.scenarios:
        first_by_name = {t.name: t for t in reversed(scenario.tags) if TRACE_ID.fullmatch(t.name)}
        for tag in sorted(first_by_name.values(), key=lambda t: t.line):
            now = current_stamp(index, tag.name)
            if now is None:
                continue
            key = (scenario.key, tag.name)
            live.add(key)
            reviewed = records.link_reviews.get(key)
            if reviewed is None:
                yield _f("LINK-UNREVIEWED", scenario.key, scenario.path, tag.line,
                         f"link to {tag.name} was never reviewed "
                         f"(run `corridor trace review {tag.name}` after reviewing it)")
            elif reviewed != now:
                yield _f("LINK-SUSPECT", scenario.key, scenario.path, tag.line,
                         f"{tag.name} changed since this link was reviewed (stamp {reviewed[:8]}… "
                         f"now {now[:8]}…); re-review the scenario, then "
                         f"`corridor trace review {tag.name}`")
    for key in sorted(set(records.link_reviews) - live):
        yield _f("LINK-REVIEW-STALE", key[1], LAYOUT.link_reviews,
                 records.link_review_lines.get(key), f"reviewed link {key[0]} → {key[1]} no "
                 "longer exists (run `corridor trace review` to prune it)")


def _risk_plan(index: TraceIndex) -> Iterator[Finding]:
    plan_located = index.records.risk_plan
    if plan_located is None:
        return
    plan, path = plan_located.record, plan_located.path
    severities = [s.id for s in plan.severity]
    probabilities = [p.id for p in plan.probability]
    for sev in plan.matrix:
        if sev not in severities:
            yield _f("MATRIX-INCOMPLETE", "risk-plan", path, plan_located.line(f"matrix.{sev}"),
                     f"matrix row {sev!r} is not a severity level (expected one of "
                     f"{', '.join(severities)})")
    for sev in severities:
        row = plan.matrix.get(sev, {})
        for prob in row:
            if prob not in probabilities:
                yield _f("MATRIX-INCOMPLETE", "risk-plan", path,
                         plan_located.line(f"matrix.{sev}.{prob}"),
                         f"matrix cell {sev}/{prob}: {prob!r} is not a probability level")
        for prob in probabilities:
            if prob not in row:
                yield _f("MATRIX-INCOMPLETE", "risk-plan", path, plan_located.line(f"matrix.{sev}"),
                         f"matrix cell {sev}/{prob} is undefined (expected acceptable or "
                         "unacceptable)")
    unacceptable = Acceptability.UNACCEPTABLE
    for i, sev in enumerate(severities):
        for j, prob in enumerate(probabilities):
            if plan.evaluate(sev, prob) is not Acceptability.ACCEPTABLE:
                continue
            for i2 in range(i + 1):
                for j2 in range(j + 1):
                    if plan.evaluate(severities[i2], probabilities[j2]) is unacceptable:
                        yield _f("MATRIX-NONMONOTONE", "risk-plan", path,
                                 plan_located.line(f"matrix.{sev}.{prob}"),
                                 f"{sev}/{prob} is acceptable but the lower-risk cell "
                                 f"{severities[i2]}/{probabilities[j2]} is unacceptable")


def _hazards(index: TraceIndex) -> Iterator[Finding]:
    plan = index.records.risk_plan
    for haz_id, located in sorted(index.hazards.items()):
        hazard, path = located.record, located.path
        if hazard.software_item not in index.software_items:
            yield _f("LINK-ORPHANED", haz_id, path, located.line("software_item"),
                     f"software item {hazard.software_item!r} is not in {LAYOUT.software_items}")
        on_scale = True
        if plan is not None:
            for field_name, scale in (("severity", "severity"), ("probability", "probability"),
                                      ("residual_severity", "severity"),
                                      ("residual_probability", "probability")):
                value = getattr(hazard, field_name)
                if plan.record.rank(scale, value) is None:
                    on_scale = False
                    levels = ", ".join(lvl.id for lvl in getattr(plan.record, scale))
                    yield _f("HAZ-SCALE", haz_id, path, located.line(field_name),
                             f"{field_name} {value!r} is not on the plan's {scale} scale "
                             f"(expected one of {levels})")
        if plan is not None and on_scale:
            rank = plan.record.rank
            for scale, initial, residual in (
                ("severity", hazard.severity, hazard.residual_severity),
                ("probability", hazard.probability, hazard.residual_probability),
            ):
                if (rank(scale, residual) or 0) > (rank(scale, initial) or 0):
                    yield _f("HAZ-RESIDUAL-INCREASE", haz_id, path,
                             located.line(f"residual_{scale}"),
                             f"residual {scale} {residual!r} is higher than initial {initial!r}")
            initial_ok = index.acceptability(hazard, residual=False)
            if initial_ok is Acceptability.UNACCEPTABLE and not hazard.risk_controls:
                yield _f("HAZ-UNCONTROLLED", haz_id, path, located.line("risk_controls"),
                         f"initial risk {hazard.severity}/{hazard.probability} is unacceptable "
                         "and no risk control is recorded")
            if (index.acceptability(hazard, residual=True) is Acceptability.UNACCEPTABLE
                    and hazard.benefit_risk is None):
                yield _f("HAZ-RESIDUAL-UNACCEPTABLE", haz_id, path,
                         located.line("residual_probability"),
                         f"residual risk {hazard.residual_severity}/"
                         f"{hazard.residual_probability} is unacceptable and no benefit_risk "
                         "analysis is recorded")
        options = {c.option for c in hazard.risk_controls}
        if options == {RiskControlOption.INFORMATION_FOR_SAFETY} and not hazard.option_analysis:
            yield _f("RC-ONLY-IFS", haz_id, path, located.line("risk_controls"),
                     "controlled only by information for safety; expected an option_analysis "
                     "saying why design or protective measures are not practicable")
        for i, control in enumerate(hazard.risk_controls):
            yield from _control(index, located.path, located.line(f"risk_controls.{i}.id"),
                                located.line(f"risk_controls.{i}.implemented_by"), control)


def _control(index: TraceIndex, path: PurePosixPath, line: int, impl_line: int,
             control: RiskControl) -> Iterator[Finding]:
    rc = control.id
    if not control.implemented_by:
        yield _f("RC-NOT-IMPLEMENTED", rc, path, line,
                 "no requirement implements this risk control (expected implemented_by: "
                 "[SRS-…])")
    for req_id in control.implemented_by:
        if not SRS_ID.fullmatch(req_id):
            yield _f("LINK-UNWANTED", rc, path, impl_line,
                     f"implemented_by {req_id!r} is not a software requirement")
        elif req_id not in index.requirements:
            yield _f("LINK-ORPHANED", rc, path, impl_line,
                     f"implementing requirement {req_id} does not exist")
        else:
            state = index.verification(req_id)
            wanted = Verification.NO_RESULTS if index.outcomes is None else Verification.PASSED
            if state not in (wanted, Verification.EVIDENCE):
                yield _f("RC-NOT-VERIFIED", rc, path, impl_line,
                         f"implementing requirement {req_id} is {state.value}")
    if control.introduces_new_hazard and not control.new_hazards:
        yield _f("RC-NEW-HAZARD-UNLINKED", rc, path, line,
                 "introduces_new_hazard is true but new_hazards names no HAZ-NNN")
    for haz in control.new_hazards:
        if not HAZARD_ID.fullmatch(haz):
            yield _f("LINK-UNWANTED", rc, path, line, f"new hazard {haz!r} is not a HAZ-NNN")
        elif haz not in index.hazards:
            yield _f("LINK-ORPHANED", rc, path, line, f"new hazard {haz} does not exist")
    if (RC_ID.fullmatch(rc) and rc in index.verified_by and index.outcomes is not None
            and index.verification(rc) is not Verification.PASSED):
        yield _f("RC-NOT-VERIFIED", rc, path, line,
                 f"a scenario tagged @{rc} is {index.verification(rc).value}")


def _soup(index: TraceIndex) -> Iterator[Finding]:
    records = index.records
    declared = {normalize_distribution(s.record.package): s for s in records.soup}
    for name, spec in sorted(records.dependencies.items()):
        entry = declared.get(name)
        if entry is None:
            yield _f("SOUP-UNDECLARED", f"SOUP-{name}", LAYOUT.pyproject, None,
                     f"runtime dependency {name!r} has no SOUP record in {LAYOUT.soup}/")
        elif entry.record.version != spec:
            yield _f("SOUP-STALE", entry.record.id, entry.path, entry.line("version"),
                     f"version {entry.record.version!r}, expected {spec!r} as in "
                     f"{LAYOUT.pyproject}")
    for name, entry in sorted(declared.items()):
        if name not in records.dependencies:
            yield _f("SOUP-STALE", entry.record.id, entry.path, entry.line("package"),
                     f"package {entry.record.package!r} is not a runtime dependency in "
                     f"{LAYOUT.pyproject}")


def _sbom(index: TraceIndex) -> Iterator[Finding]:
    """The SBOM's components against the SOUP records and the lock.

    The one rule that reads more than the records: the packages each component requires come
    from the installed distributions' metadata (:func:`installed_environment`), which is why
    a component not installed, or installed at another version than the locked one, is a
    finding (a warning: it is about this environment, which tox installs with the lock).
    """
    records = index.records
    if records.lock_text is None:
        return
    lock = parse_lock(records.lock_text)
    declared = {normalize_distribution(s.record.package): s for s in records.soup}
    closure = runtime_closure(records.dependencies,
                              {k: v.record.id for k, v in declared.items()}, lock,
                              installed_environment())
    for root in closure.undeclared_roots():
        brings = [closure.components[k] for k in closure.reached_from(root.key)]
        unsourced = [c.name for c in brings if not c.pulled_in_by and c.soup_id is None]
        also = f" (with what it alone pulls in: {', '.join(unsourced)})" if unsourced else ""
        yield _f("SBOM-COMPONENT-UNDECLARED", root.name, LAYOUT.pyproject, None,
                 f"runtime component {root.name!r}{also} is neither a SOUP record's package nor "
                 f"pulled in by one (expected a SOUP record in {LAYOUT.soup}/)")
    for component in closure.components.values():
        parents = [closure.components[k].name for k in component.required_by]
        via = (f"required by {', '.join(parents)}" if parents
               else f"declared in {LAYOUT.pyproject}")
        if component.pin is None:
            yield _f("SBOM-COMPONENT-UNLOCKED", component.name, LAYOUT.lock, None,
                     f"runtime component {component.name!r} ({via}) has no exact pin in "
                     f"{LAYOUT.lock} (expected a line '{component.name}==VERSION'; regenerate "
                     "the lock)")
        elif component.installed is None:
            yield _f("SBOM-ENVIRONMENT-MISMATCH", component.name, LAYOUT.lock,
                     component.pin.line,
                     f"runtime component {component.name!r} ({via}) is pinned at "
                     f"{component.pin.version} but not installed, so the packages it pulls in "
                     "are unknown (install with the lock as constraints)")
        elif component.installed.version != component.pin.version:
            yield _f("SBOM-ENVIRONMENT-MISMATCH", component.name, LAYOUT.lock,
                     component.pin.line,
                     f"runtime component {component.name!r} is installed at "
                     f"{component.installed.version}, expected {component.pin.version} as "
                     "locked (the packages it pulls in are read from the installed one)")
    for key, entry in sorted(declared.items()):
        pin = lock.get(key)
        if key not in records.dependencies or pin is None:
            continue
        try:
            inside = SpecifierSet(entry.record.version).contains(pin.version, prereleases=True)
        except InvalidSpecifier:
            inside = False
        if not inside:
            yield _f("SBOM-VERSION-OUTSIDE", entry.record.id, entry.path, entry.line("version"),
                     f"{entry.record.package} is locked at {pin.version} ({LAYOUT.lock}:"
                     f"{pin.line}), outside the record's version range {entry.record.version!r}")


_NEEDED_FOR = {
    "hazard_evaluation": "its impact on safety and effectiveness, naming the hazards it "
                         "touches or saying why it touches none",
    "deferral_rationale": "why a release may go ahead with it unresolved",
    "users_told": "what users are told about it, and where",
    "resolution": "how it was resolved",
    "change": "the change that resolved it (a commit or an issue)",
}
"""What each status-dependent field of a problem report holds, for the finding's message."""


def _problems(index: TraceIndex) -> Iterator[Finding]:
    plan = index.records.risk_plan
    for pr_id, located in sorted(index.problems.items()):
        report, path = located.record, located.path
        status = report.status.value
        for name in report.missing_fields():
            yield _f("PR-FIELD-MISSING", pr_id, path, located.line("status"),
                     f"field '{name}' is missing: a {status} problem report needs "
                     f"{_NEEDED_FOR[name]}")
        if plan is not None and plan.record.rank("severity", report.severity) is None:
            levels = ", ".join(level.id for level in plan.record.severity)
            yield _f("HAZ-SCALE", pr_id, path, located.line("severity"),
                     f"severity {report.severity!r} is not on the plan's severity scale "
                     f"(expected one of {levels})")
        for item in report.software_items:
            if item not in index.software_items:
                yield _f("LINK-ORPHANED", pr_id, path, located.line("software_items"),
                         f"software item {item!r} is not in {LAYOUT.software_items}")
        for hazard in report.hazards:
            if hazard not in index.hazards:
                yield _f("LINK-ORPHANED", pr_id, path, located.line("hazards"),
                         f"hazard {hazard} does not exist (expected a hazard in "
                         f"{LAYOUT.hazards}/)")
        class_c = [item for item in report.software_items
                   if index.software_items.get(item) == SoftwareSafetyClass.C.value]
        if report.status is ProblemStatus.OPEN and class_c:
            yield _f("PR-OPEN-BLOCKS-RELEASE", pr_id, path, located.line("status"),
                     f"open problem in class C software item(s) {', '.join(class_c)}: a release "
                     "needs it closed (resolved and verified) or deferred (evaluated, with "
                     "deferral_rationale and users_told)")
        if report.status is ProblemStatus.CLOSED:
            yield from _closed_verification(index, pr_id, path, located.line("status"))


def _closed_verification(
    index: TraceIndex, pr_id: str, path: PurePosixPath, line: int
) -> Iterator[Finding]:
    scenarios = index.verified_by.get(pr_id, [])
    state = index.verification(pr_id)
    if not scenarios:
        yield _f("PR-CLOSED-UNVERIFIED", pr_id, path, line,
                 f"closed, but no scenario in {LAYOUT.features}/ is tagged @{pr_id} (expected "
                 "the scenario that shows the problem resolved)")
    elif state in (Verification.FAILED, Verification.NOT_RUN):
        bad = [f"{s.name} ({(index.outcome(s) or Outcome.NOT_RUN).value})" for s in scenarios
               if index.outcome(s) is not Outcome.PASSED]
        yield _f("PR-CLOSED-UNVERIFIED", pr_id, path, line,
                 f"closed, but its verifying scenario(s) did not pass: {'; '.join(bad)}")


def _change_plans(index: TraceIndex) -> Iterator[Finding]:
    """Each model package has a plan; each plan names an existing package, requirements and
    risk controls, and each of its bounds a label of that model and a verified requirement."""
    records = index.records
    planned = {p.record.model for p in records.change_plans}
    for model in sorted(set(records.model_packages) - planned):
        yield _f("PCCP-MISSING", model, LAYOUT.models / model / "manifest.json", None,
                 f"model package {model!r} has no predetermined change control plan (expected "
                 f"{LAYOUT.change_plans / model}.yaml)")
    for located in records.change_plans:
        plan, path = located.record, located.path
        if path.stem != plan.model:
            yield _f("ID-FILENAME", plan.model, path, located.line("model"),
                     f"file is named {path.name!r}, expected '{plan.model}{path.suffix}'")
        labels = records.model_packages.get(plan.model)
        if labels is None:
            yield _f("LINK-ORPHANED", plan.model, path, located.line("model"),
                     f"model package {plan.model!r} does not exist (expected a folder with a "
                     f"manifest.json in {LAYOUT.models}/)")
        for field_name, known in (("requirements", index.requirements),
                                  ("risk_controls", index.controls)):
            for ref in getattr(plan, field_name):
                if ref not in known:
                    yield _f("LINK-ORPHANED", plan.model, path, located.line(field_name),
                             f"{field_name.replace('_', ' ')}: {ref} does not exist")
        for i, bound in enumerate(plan.protocol.performance_bounds):
            line = located.line(f"protocol.performance_bounds.{i}")
            if labels is not None and bound.label is not None and bound.label not in labels:
                yield _f("PCCP-BOUND-UNMEASURED", plan.model, path, line,
                         f"bound '{bound.describe()}': label {bound.label!r} is not an output "
                         f"of {plan.model} (expected one of {', '.join(labels)})")
            if bound.measured_by not in index.requirements:
                yield _f("LINK-ORPHANED", plan.model, path, line,
                         f"bound '{bound.describe()}': measured_by {bound.measured_by} does not "
                         "exist")
            elif not index.verified_by.get(bound.measured_by):
                yield _f("PCCP-BOUND-UNMEASURED", plan.model, path, line,
                         f"bound '{bound.describe()}': no scenario verifies "
                         f"{bound.measured_by}, so nothing measures the bound")


RULES: tuple[_Check, ...] = (
    _identity, _requirements, _scenarios, _link_reviews, _risk_plan, _hazards, _soup,
    _sbom, _problems, _change_plans,
)
"""The checks, in the order they run."""


def check(index: TraceIndex) -> list[Finding]:
    """Run every rule plus the loading findings; return findings sorted by place.

    Parameters
    ----------
    index
        The resolved trace graph (with outcomes if a results file was given).

    Returns
    -------
    list of Finding
        Empty when every rule holds.
    """
    findings = list(index.records.findings)
    for rule in RULES:
        findings.extend(rule(index))
    return sorted(findings, key=Finding.sort_key)
