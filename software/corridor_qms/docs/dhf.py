"""The design-history report: one self-contained HTML document an auditor can follow end to end.

Everything is generated from the repository and the given results, never typed: document
control (version, commit, commit date, SHA-256 of every source artefact), the development plan
and safety classification, the requirements, the architecture (software items, SOUP with the
installed versions), the risk-management report (matrix before and after control, every
hazard with its controls and their verification status, residual risk), the verification
report (every scenario with its result, by requirement), the traceability matrix, the
validation report, the model card, known anomalies (the problem reports, with every field the
FDA asks of an unresolved anomaly, and every scenario that did not pass) and the release notes
(git history).
Every ID links to its definition.  Dates come from the commit, never the clock, so the same
repository state and results give the same bytes.
"""

from __future__ import annotations

import re
from collections import Counter
from importlib.metadata import PackageNotFoundError, metadata, version
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from corridor.provenance import sha256_file
from corridor_qms.docs.gitinfo import git
from corridor_qms.docs.markdown import render_markdown
from corridor_qms.findings import Finding
from corridor_qms.records.enum import ProblemStatus
from corridor_qms.records.model import TRACE_ID
from corridor_qms.trace.index import TraceIndex
from corridor_qms.trace.results import Outcome

__all__ = ["CONTENT_NAME", "DHF_NAME", "DOCUMENT_ID", "build_dhf_context", "content_manifest",
           "render_dhf"]

DHF_NAME = "design-history.html"

DOCUMENT_ID = "CORRIDOR-DHF"
"""The report's document ID, on its title page and in every page's header and footer."""

CONTENT_NAME = "design-history.sha256"
"""The report's content manifest, written beside it: what a release's signatures sign."""

_DOCUMENTS = ("requirements_spec/software_development_plan.md",
              "requirements_spec/safety_classification.md",
              "requirements_spec/architecture.md",
              "risk_management/risk_management_plan.md")


def _git(root: Path, *args: str) -> str | None:
    """:func:`~corridor_qms.docs.gitinfo.git`, ``None`` also when git printed nothing."""
    return git(root, *args) or None


def _artefacts(root: Path, extra: list[Path]) -> list[dict[str, str]]:
    folders = ("requirements_spec", "risk_management", "verification/features")
    paths = sorted(p for folder in folders for p in (root / folder).rglob("*")
                   if p.is_file() and p.suffix in (".yaml", ".md", ".feature"))
    rows = [{"file": p.relative_to(root).as_posix(),
             "sha256": sha256_file(p)} for p in paths]
    rows += [{"file": p.name, "sha256": sha256_file(p)}
             for p in extra]
    return rows


def content_manifest(root: Path, results: Path | None, validation_path: Path | None) -> str:
    """The report's content, in ``sha256sum`` form (``<sha256>  <file>`` lines): every artefact
    of its document control (records, features, plans, results, validation, lock), plus
    ``pyproject.toml`` and every file of the source below ``software/`` (caches, build
    metadata and, in a git checkout, the files git ignores, such as the build stamp a reinstall
    rewrites, left out).

    The SHA-256 of these bytes is what a release's signatures sign.  Neither the commit nor the
    date is in it, and the signatures live outside it (``traceability/signatures/``), so that
    committing a signature does not change what was signed; a change to any record, result or
    source file does.
    """
    extra = [p for p in (results, validation_path, root / LOCK) if p is not None and p.is_file()]
    rows = _artefacts(root, extra)
    ignored = _git(root, "ls-files", "--others", "--ignored", "--exclude-standard", "--",
                   "software")
    built = {root / name for name in (ignored.splitlines() if ignored else [])}
    sources = sorted(p for p in (root / "software").rglob("*") if p.is_file()
                     and "__pycache__" not in p.parts and p.suffix != ".pyc"
                     and not any(part.endswith(".egg-info") for part in p.parts)
                     and p not in built)
    for path in [root / "pyproject.toml", *sources]:
        if path.is_file():
            rows.append({"file": path.relative_to(root).as_posix(), "sha256": sha256_file(path)})
    return "".join(f"{row['sha256']}  {row['file']}\n" for row in rows)


LOCK = "requirements.lock"
"""The locked versions (pip constraints) every tox environment installs with."""


def _locked(root: Path) -> dict[str, str] | None:
    path = root / LOCK
    if not path.is_file():
        return None
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, pinned = line.strip().partition("==")
        if sep and not name.startswith("#"):
            found[name.lower().replace("_", "-")] = pinned
    return found


def _installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _summary() -> str | None:
    """The product's one-line description (the installed distribution's ``Summary``)."""
    try:
        return metadata("corridor")["Summary"]
    except (PackageNotFoundError, KeyError):
        return None


_TITLE = re.compile(r"\A\s*# +(?P<title>[^\n]*?)[ #]*(?:\n|\Z)")
"""A document's leading ATX level-1 heading: its title, shown as the report's own heading."""


def _document(root: Path, name: str) -> dict[str, str]:
    """A plan's path, title (its leading ``# `` heading, else its path) and the Markdown after
    the title."""
    text = (root / name).read_text(encoding="utf-8")
    found = _TITLE.match(text)
    if found is None or not found["title"]:
        return {"file": name, "title": name, "text": text}
    return {"file": name, "title": found["title"], "text": text[found.end():]}


def _risk(index: TraceIndex) -> dict[str, Any]:
    plan = index.records.risk_plan
    severities = [level.id for level in plan.record.severity] if plan else []
    probabilities = [level.id for level in plan.record.probability] if plan else []
    before = Counter((h.record.severity, h.record.probability) for h in index.hazards.values())
    after = Counter((h.record.residual_severity, h.record.residual_probability)
                    for h in index.hazards.values())

    def matrix(counts: Counter[tuple[str, str]]) -> list[dict[str, Any]]:
        rows = []
        for severity in reversed(severities):
            cells = []
            for probability in probabilities:
                acceptability = plan.record.evaluate(severity, probability) if plan else None
                cells.append({"count": counts.get((severity, probability), 0),
                              "acceptability": acceptability.value if acceptability else "?"})
            rows.append({"severity": severity, "cells": cells})
        return rows

    hazards = []
    for hazard_id, located in sorted(index.hazards.items()):
        hazard = located.record
        before_level = index.acceptability(hazard, residual=False)
        after_level = index.acceptability(hazard, residual=True)
        hazards.append({
            "id": hazard_id, "title": hazard.title, "item": hazard.software_item,
            "situation": hazard.hazardous_situation, "harm": hazard.harm,
            "before": f"{hazard.severity} / {hazard.probability}",
            "before_acceptability": before_level.value if before_level else "?",
            "after": f"{hazard.residual_severity} / {hazard.residual_probability}",
            "after_acceptability": after_level.value if after_level else "?",
            "benefit_risk": hazard.benefit_risk,
            "controls": [{"id": c.id, "description": c.description, "option": c.option.value,
                          "implemented_by": list(c.implemented_by),
                          "verification": index.verification(c.id).value}
                         for c in hazard.risk_controls]})
    unacceptable = [h for h in hazards if h["after_acceptability"] == "unacceptable"]
    return {"severities": severities, "probabilities": probabilities,
            "before": matrix(before), "after": matrix(after), "hazards": hazards,
            "residual": {"hazards": len(hazards), "unacceptable_after_control": len(unacceptable),
                         "without_benefit_risk": [h["id"] for h in unacceptable
                                                  if not h["benefit_risk"]]}}


def _anomalies(index: TraceIndex) -> dict[str, Any]:
    """Known anomalies: the problem reports (unresolved ones with the FDA's fields, closed ones
    with their resolution and verifying scenarios) and every scenario that did not pass."""
    unresolved: list[dict[str, Any]] = []
    closed: list[dict[str, Any]] = []
    for pr_id, located in sorted(index.problems.items()):
        report = located.record
        found = f"{report.found.activity}, {report.found.date.isoformat()}"
        if report.found.commit:
            found += f", at {report.found.commit}"
        scenarios = []
        for scenario in index.verified_by.get(pr_id, []):
            outcome = index.outcome(scenario)
            scenarios.append({"name": scenario.name, "feature": str(scenario.path),
                              "outcome": outcome.value if outcome is not None else "no-results"})
        entry = {"id": pr_id, "title": report.title, "status": report.status.value,
                 "description": report.description, "found": found,
                 "root_cause": report.root_cause, "severity": report.severity,
                 "software_items": [{"id": item, "class": index.software_items.get(item, "?")}
                           for item in report.software_items],
                 "hazards": list(report.hazards),
                 "hazard_evaluation": report.hazard_evaluation,
                 "deferral_rationale": report.deferral_rationale,
                 "users_told": report.users_told, "resolution": report.resolution,
                 "change": report.change, "scenarios": scenarios,
                 "verification": index.verification(pr_id).value}
        (closed if report.status is ProblemStatus.CLOSED else unresolved).append(entry)
    not_passed = []
    if index.outcomes is not None:
        for scenario in index.records.scenarios:
            outcome = index.outcome(scenario) or Outcome.NOT_RUN
            if outcome is not Outcome.PASSED:
                not_passed.append({"feature": str(scenario.path), "name": scenario.name,
                                   "outcome": outcome.value,
                                   "verifies": [t for t in dict.fromkeys(scenario.tag_names)
                                                if TRACE_ID.fullmatch(t)]})
    reviews = sorted(s.record.reviewed for s in index.records.soup)
    return {"unresolved": unresolved, "closed": closed, "scenarios": not_passed,
            "results": index.outcomes is not None,
            "soup_reviewed": {"count": len(reviews),
                              "oldest": reviews[0].isoformat() if reviews else None}}


def _change_plans(index: TraceIndex) -> list[dict[str, Any]]:
    """The predetermined change control plans (section 9), each bound with the verification
    state of the requirement that measures it."""
    plans = []
    for located in sorted(index.records.change_plans, key=lambda p: p.record.model):
        plan = located.record
        data = plan.model_dump(mode="json")
        data["file"] = str(located.path)
        data["bounds"] = [{"text": b.describe(), "measured_by": b.measured_by,
                           "measured_on": b.measured_on,
                           "verification": index.verification(b.measured_by).value
                           if b.measured_by in index.requirements else "unverified"}
                          for b in plan.protocol.performance_bounds]
        plans.append(data)
    return plans


def build_dhf_context(root: Path, index: TraceIndex, findings: list[Finding], *,
                      draft: bool, results: Path | None, validation: dict[str, Any] | None,
                      validation_path: Path | None, model_card: dict[str, Any] | None,
                      signatures: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the report shows, as data (no clock, no environment beyond git and the
    installed versions of the SOUP).  ``signatures`` is the approvals page
    (:func:`corridor_qms.docs.signatures.approval_page`), ``None`` when none were given."""
    records = index.records
    requirements: list[dict[str, Any]] = []
    for req_id, located in sorted(index.requirements.items()):
        record = located.record
        scenarios = []
        for scenario in index.verified_by.get(req_id, []):
            outcome = index.outcome(scenario)
            scenarios.append({"key": scenario.key, "name": scenario.name,
                              "outcome": outcome.value if outcome is not None else "no-results"})
        requirements.append({"id": req_id, "title": record.title, "statement": record.statement,
                             "item": record.software_item, "class": record.safety_class.value,
                             "type": record.type.value, "parents": list(record.parents),
                             "controls": index.implements.get(req_id, []),
                             "verification": index.verification(req_id).value,
                             "scenarios": scenarios})
    locked = _locked(root)
    soup = [{"id": s.record.id, "package": s.record.package, "declared": s.record.version,
             "locked": (locked or {}).get(s.record.package.lower().replace("_", "-")),
             "installed": _installed(s.record.package), "manufacturer": s.record.manufacturer,
             "purpose": s.record.purpose, "requirements": s.record.requirements,
             "anomaly_list": s.record.anomaly_list,
             "reviewed": str(s.record.reviewed), "risk_assessment": s.record.risk_assessment}
            for s in sorted(records.soup, key=lambda s: s.record.id)]
    items = [{"id": s.record.id, "class": s.record.safety_class.value,
              "description": s.record.description}
             for s in records.software_items]
    documents = [_document(root, name) for name in _DOCUMENTS if (root / name).is_file()]
    log = _git(root, "log", "--format=%h%x09%cs%x09%s", "-n", "200")
    releases = [dict(zip(("commit", "date", "subject"), line.split("\t", 2), strict=False))
                for line in (log.splitlines() if log else [])]
    extra = [p for p in (results, validation_path, root / LOCK)
             if p is not None and p.is_file()]
    gaps = []
    if locked is None:
        gaps.append(f"SOUP versions: no lock file ({LOCK}); the installed versions are shown")
    else:
        gaps += [f"SOUP {item['package']}: not in {LOCK}" for item in soup
                 if item["locked"] is None]
        gaps += [f"SOUP {item['package']}: installed {item['installed']}, locked "
                 f"{item['locked']}" for item in soup
                 if item["locked"] is not None and item["installed"] not in (None,
                                                                              item["locked"])]
    if index.outcomes is None:
        gaps.append("no test results: verification states are 'no-results'")
    if validation is None:
        gaps.append("validation report: no validation results given (--validation)")
    if model_card is None:
        gaps.append("model card: no model package given (--model)")
    if signatures is None:
        gaps.append("approvals: no signatures given (--signatures); this version is not "
                    "approved")
    else:
        if signatures["invalid"]:
            gaps.append(f"approvals: {signatures['invalid']} invalid signature(s)")
        if signatures["missing"]:
            gaps.append("approvals: no valid approval by "
                        + ", ".join(signatures["missing"]))
    commit = _git(root, "rev-parse", "HEAD")
    return {
        "draft": draft,
        "control": {"product": "Corridor", "version": _installed("corridor"),
                    "document": DOCUMENT_ID, "summary": _summary(),
                    "commit": commit, "short_commit": commit[:12] if commit else None,
                    "date": _git(root, "log", "-1", "--format=%cs"),
                    "results": None if results is None else results.name,
                    "artefacts": _artefacts(root, extra)},
        "documents": documents,
        "needs": sorted(index.needs),
        "requirements": requirements,
        "software_items": items,
        "soup": soup,
        "risk": _risk(index),
        "findings": [f.format() for f in findings],
        "validation": validation,
        "model_card": model_card,
        "change_plans": _change_plans(index),
        "anomalies": _anomalies(index),
        "releases": releases,
        "gaps": gaps,
        "signatures": signatures,
    }


_ID = re.compile(r"\b(?:UN-\d{3}|SRS-[A-Z]{3}-\d{3}|HAZ-\d{3}|RC-\d{3}|PR-\d{3}"
                 r"|SOUP-[A-Za-z0-9._-]+)\b")


_DOCUMENT_DEMOTE = 3
"""A plan's ``#`` heading becomes ``h4``: below the report's title (h1), its sections (h2) and
the document's own entry (h3)."""


def render_dhf(context: dict[str, Any]) -> str:
    """The report's HTML: every value escaped, then every ID the report defines made a link
    to its definition; the plans rendered from their Markdown."""
    defined = set(context["needs"]) | {r["id"] for r in context["requirements"]}
    defined |= {s["id"] for s in context["soup"]}
    anomalies = context["anomalies"]
    defined |= {p["id"] for p in (*anomalies["unresolved"], *anomalies["closed"])}
    hazard_of: dict[str, str] = {}
    for hazard in context["risk"]["hazards"]:
        defined.add(hazard["id"])
        for control in hazard["controls"]:
            defined.add(control["id"])
            hazard_of[control["id"]] = hazard["id"]

    def link_escaped(text: str) -> str:
        return _ID.sub(lambda m: (f'<a href="#{m.group(0)}">{m.group(0)}</a>'
                                  if m.group(0) in defined else m.group(0)), text)

    def link(value: object) -> Markup:
        return Markup(link_escaped(str(escape(value))))

    def markdown(source: str) -> Markup:
        return render_markdown(source, link_ids=link_escaped, demote=_DOCUMENT_DEMOTE)

    def hazards_of(controls: str) -> str:
        return ", ".join(dict.fromkeys(hazard_of[c] for c in controls.split() if c in hazard_of))

    environment = Environment(loader=PackageLoader("corridor_qms", "templates"), autoescape=True,
                              undefined=StrictUndefined, keep_trailing_newline=True)
    environment.filters["link"] = link
    environment.filters["hazards_of"] = hazards_of
    environment.filters["markdown"] = markdown
    return environment.get_template("dhf.html.j2").render(d=context)
