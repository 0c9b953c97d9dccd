"""The traceability matrix: requirement ↔ hazard/control ↔ scenario ↔ result, and the problem
reports with what they touch and what verifies them (HTML and JSON; the CSV is one row per
requirement and scenario).

One data model (:class:`Matrix`) is built from the trace index and rendered as
JSON, CSV or HTML.  Output is deterministic: the same records, results and
commit give identical bytes, and files are written atomically.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath

from jinja2 import Environment, PackageLoader, StrictUndefined

from corridor.staging import write_text_atomic
from corridor_qms.findings import Finding
from corridor_qms.trace.index import TraceIndex, Verification

__all__ = ["Format", "Matrix", "ProblemRow", "Provenance", "build_matrix", "render", "write_matrix"]


class Format(StrEnum):
    """Output format of the matrix."""

    HTML = "html"
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class Provenance:
    """What produced a matrix: tool version, commit, and the results file's SHA-256."""

    tool: str
    commit: str
    results: str
    results_sha256: str


@dataclass(frozen=True, slots=True)
class ScenarioCell:
    """One verifying scenario and its outcome."""

    key: str
    name: str
    source: str
    line: int
    outcome: str


@dataclass(frozen=True, slots=True)
class RequirementRow:
    """One requirement with everything it traces to."""

    id: str
    title: str
    type: str
    safety_class: str
    software_item: str
    source: str
    line: int
    parents: list[str]
    risk_controls: list[str]
    hazards: list[str]
    scenarios: list[ScenarioCell]
    evidence: list[str]
    verification: str


@dataclass(frozen=True, slots=True)
class ControlCell:
    """A risk control as shown under its hazard."""

    id: str
    option: str
    implemented_by: list[str]
    verification: str


@dataclass(frozen=True, slots=True)
class HazardRow:
    """One hazard with its initial and residual risk, computed from the matrix."""

    id: str
    title: str
    source: str
    line: int
    harm: str
    initial: str
    initial_acceptability: str
    controls: list[ControlCell]
    residual: str
    residual_acceptability: str


@dataclass(frozen=True, slots=True)
class ProblemRow:
    """One problem report: its state, what it touches and what verifies its resolution."""

    id: str
    title: str
    status: str
    severity: str
    source: str
    line: int
    software_items: list[str]
    """Each item with its safety class, ``demo.core (C)``."""
    hazards: list[str]
    scenarios: list[ScenarioCell]
    verification: str
    blocks_release: bool
    """Whether the trace check found it blocking a release (open in a class C item)."""


@dataclass(frozen=True, slots=True)
class Matrix:
    """The whole matrix: rows, coverage figures, findings and provenance."""

    provenance: Provenance
    coverage: dict[str, str]
    requirements: list[RequirementRow]
    hazards: list[HazardRow]
    findings: list[dict[str, str]] = field(default_factory=list)
    problems: list[ProblemRow] = field(default_factory=list)


def _git_commit(root: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} (with uncommitted changes)" if dirty else head


def _percent(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100.0 * part / whole:.1f} %)" if whole else "0/0"


def _control_state(index: TraceIndex, control_id: str) -> str:
    ref = index.controls[control_id]
    states = {index.verification(r) for r in ref.control.implemented_by if r in index.requirements}
    states |= {index.verification(control_id)} if control_id in index.verified_by else set()
    if not states:
        return Verification.UNVERIFIED.value
    for state in (Verification.UNVERIFIED, Verification.FAILED, Verification.NOT_RUN,
                  Verification.NO_RESULTS, Verification.EVIDENCE):
        if state in states:
            return state.value
    return Verification.PASSED.value


def build_matrix(
    index: TraceIndex, findings: list[Finding], *, tool: str, results: Path | None
) -> Matrix:
    """Assemble the matrix from the trace index and the check's findings.

    Parameters
    ----------
    index
        The resolved trace graph.
    findings
        The check's findings, listed in the matrix.
    tool
        Name and version of the producing software.
    results
        The results file used, if any (its SHA-256 is recorded).
    """
    requirements = []
    for req_id, located in sorted(index.requirements.items()):
        req = located.record
        controls = sorted(index.implements.get(req_id, []))
        hazards = sorted({index.controls[c].hazard.record.id for c in controls})
        cells = [
            ScenarioCell(s.key, s.name, str(s.path), s.line,
                         (index.outcome(s) or "no-results") if index.outcomes is not None
                         else "no-results")
            for s in sorted(index.verified_by.get(req_id, []), key=lambda s: s.key)
        ]
        requirements.append(RequirementRow(
            req_id, req.title, req.type.value, req.safety_class.value, req.software_item,
            str(located.path), located.line("id"), list(req.parents), controls, hazards, cells,
            list(req.evidence), index.verification(req_id).value,
        ))
    hazard_rows: list[HazardRow] = []
    for haz_id, hazard_located in sorted(index.hazards.items()):
        hazard = hazard_located.record
        initial = index.acceptability(hazard, residual=False)
        residual = index.acceptability(hazard, residual=True)
        controls_cells = [
            ControlCell(c.id, c.option.value, list(c.implemented_by), _control_state(index, c.id))
            for c in hazard.risk_controls if c.id in index.controls
        ]
        hazard_rows.append(HazardRow(
            haz_id, hazard.title, str(hazard_located.path), hazard_located.line("id"), hazard.harm,
            f"{hazard.severity} / {hazard.probability}",
            initial.value if initial else "undefined", controls_cells,
            f"{hazard.residual_severity} / {hazard.residual_probability}",
            residual.value if residual else "undefined",
        ))
    total = len(requirements)
    with_scenarios = sum(1 for r in requirements if r.scenarios)
    with_evidence = sum(1 for r in requirements if r.verification == Verification.EVIDENCE.value)
    passing = sum(1 for r in requirements if r.verification == Verification.PASSED.value)
    controls_all = [c for h in hazard_rows for c in h.controls]
    coverage = {
        "requirements verified by a scenario": _percent(with_scenarios, total),
        "requirements verified by recorded evidence (analysis)": _percent(with_evidence, total),
        "requirements whose scenarios all passed": (
            _percent(passing, total) if index.outcomes is not None else "no results given"
        ),
        "risk controls verified and passing": (
            _percent(sum(1 for c in controls_all if c.verification == "passed"),
                     len(controls_all)) if index.outcomes is not None else "no results given"
        ),
        "hazards with acceptable residual risk": _percent(
            sum(1 for h in hazard_rows if h.residual_acceptability == "acceptable"),
            len(hazard_rows)),
        "scenarios": str(len(index.records.scenarios)),
        "findings": str(len(findings)),
    }
    blocking = {f.item for f in findings if f.rule == "PR-OPEN-BLOCKS-RELEASE"}
    problems = [
        ProblemRow(
            pr_id, located.record.title, located.record.status.value, located.record.severity,
            str(located.path), located.line("id"),
            [f"{item} ({index.software_items.get(item, '?')})"
             for item in located.record.software_items],
            list(located.record.hazards),
            [ScenarioCell(s.key, s.name, str(s.path), s.line,
                          (index.outcome(s) or "no-results") if index.outcomes is not None
                          else "no-results")
             for s in sorted(index.verified_by.get(pr_id, []), key=lambda s: s.key)],
            index.verification(pr_id).value, pr_id in blocking)
        for pr_id, located in sorted(index.problems.items())
    ]
    digest = hashlib.sha256(results.read_bytes()).hexdigest() if results else "none"
    provenance = Provenance(tool, _git_commit(index.records.root),
                            results.name if results else "none", digest)
    return Matrix(provenance, coverage, requirements, hazard_rows,
                  [{"rule": f.rule, "item": f.item, "where": f"{f.path}:{f.line or ''}",
                    "severity": f.severity.value, "message": f.message} for f in findings],
                  problems)


def _to_json(matrix: Matrix) -> str:
    # Compact separators keep json on its C encoder (indent forces the pure-Python one,
    # several times slower on a large matrix); the HTML and CSV are the human views.
    return json.dumps(asdict(matrix), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")) + "\n"


def _to_csv(matrix: Matrix) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["requirement", "title", "type", "safety class", "software item", "parents",
                     "risk controls", "hazards", "scenario", "scenario outcome",
                     "requirement verification", "source"])
    for row in matrix.requirements:
        cells: list[ScenarioCell | None] = list(row.scenarios) or [None]
        for cell in cells:
            writer.writerow([
                row.id, row.title, row.type, row.safety_class, row.software_item,
                " ".join(row.parents), " ".join(row.risk_controls), " ".join(row.hazards),
                cell.key if cell else "", cell.outcome if cell else "", row.verification,
                row.source,
            ])
    return buffer.getvalue()


def _to_html(matrix: Matrix, out_dir: Path, root: Path) -> str:
    env = Environment(
        loader=PackageLoader("corridor_qms", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    rel_root = PurePosixPath(Path(os.path.relpath(root, out_dir)).as_posix())

    def href(source: str) -> str:
        return str(rel_root / source)

    env.filters["href"] = href
    template = env.get_template("matrix.html.j2")
    return str(template.render(m=matrix))


def render(matrix: Matrix, fmt: Format, *, out_dir: Path, root: Path) -> str:
    """Render the matrix as text in one format.

    ``out_dir`` and ``root`` make the HTML's links to source files relative, so
    the page works wherever the repository is checked out.
    """
    if fmt is Format.JSON:
        return _to_json(matrix)
    if fmt is Format.CSV:
        return _to_csv(matrix)
    return _to_html(matrix, out_dir, root)


def write_matrix(matrix: Matrix, fmt: Format, out_dir: Path, root: Path) -> Path:
    """Render and write ``traceability.<fmt>`` into ``out_dir`` atomically; return its path."""
    out_dir = out_dir.resolve()
    path = out_dir / f"traceability.{fmt.value}"
    write_text_atomic(path, render(matrix, fmt, out_dir=out_dir, root=root.resolve()))
    return path


