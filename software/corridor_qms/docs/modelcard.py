"""Model cards generated from the repository, with every missing source reported as a named gap.

Sections follow the crosswalk of the research note (FDA January 2025 draft, Appendix E;
Mitchell et al. 2019; CHAI): identity, intended use, inputs and outputs with their
acceptance checks, automation and human oversight, training data, performance, limitations
and uncertainty behaviour, risk controls, deployment and monitoring, evidence and history.
Each section names where it is filled from; nothing is typed into the card.  A section whose
source is missing carries a gap that says which source; it is never left blank or filled with
boilerplate.  Validation results that name another model hash than the package's are an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from corridor.inference.model import FlagCode
from corridor.inference.package import ModelPackage
from corridor.planning.uncertainty import VERDICT_UNCERTAIN
from corridor_qms.docs.gitinfo import git
from corridor_qms.errors import QmsError
from corridor_qms.records.change_plan import ChangeControlPlan
from corridor_qms.records.enum import ProblemStatus
from corridor_qms.records.project import LAYOUT
from corridor_qms.trace.index import TraceIndex

__all__ = ["INTENDED_USE", "MODEL_SOFTWARE_ITEM", "ModelCard", "ModelCardError", "Section",
           "build_model_card"]

INTENDED_USE = Path("requirements_spec/intended_use.yaml")
"""The intended-use record (device level), relative to the project root."""

MODEL_SOFTWARE_ITEM = "corridor.inference"
"""The software item whose hazards and requirements the model card reports."""

_INTENDED_USE_FIELDS = ("intended_use", "intended_users", "indications", "contraindications",
                        "use_environment", "clinical_status", "human_oversight",
                        "monitoring_and_updates")


class ModelCardError(QmsError, ValueError):
    """A model card that cannot be made honestly (e.g. validated another model).

    Attributes
    ----------
    field, found, expected
        What was wrong, the value found and what was expected.
    """

    def __init__(self, field: str, found: object, expected: str) -> None:
        self.field, self.found, self.expected = field, found, expected
        super().__init__(f"{field}: found {found!r}, expected {expected}")


@dataclass(frozen=True, slots=True)
class Section:
    """One section of the card: its content, where it comes from, and what is missing."""

    key: str
    title: str
    sources: tuple[str, ...]
    content: dict[str, Any] = field(default_factory=dict)
    gaps: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"key": self.key, "title": self.title, "sources": list(self.sources),
                "content": self.content, "gaps": list(self.gaps)}


@dataclass(frozen=True, slots=True)
class ModelCard:
    """A model card: its sections and the provenance of the card itself."""

    model: str
    version: str
    sha256: str
    sections: tuple[Section, ...]
    provenance: dict[str, Any]

    @property
    def gaps(self) -> list[str]:
        """Every named gap, prefixed with its section's title."""
        return [f"{s.title}: {gap}" for s in self.sections for gap in s.gaps]

    def to_json(self) -> dict[str, Any]:
        """The card as data (embedded in the HTML card)."""
        return {"format": "corridor-model-card/1", "model": self.model, "version": self.version,
                "sha256": self.sha256, "sections": [s.to_json() for s in self.sections],
                "gaps": self.gaps, "provenance": self.provenance}


def _git(root: Path, *args: str) -> str | None:
    """:func:`~corridor_qms.docs.gitinfo.git`, ``None`` also when git printed nothing."""
    return git(root, *args) or None


def _ensemble(package: ModelPackage) -> dict[str, Any]:
    """Whether the package is a deep ensemble, its members, and how their disagreement is
    reported (flat entries of the identity section)."""
    members = [{"name": m.name, "onnx_file": m.onnx_path.name, "sha256": m.sha256}
               for m in package.members]
    if not package.is_ensemble:
        return {"ensemble": "no: a single model", "members": members,
                "epistemic_uncertainty": "not measured (a single model): run.json records the "
                                         "mutual information as absent; the uncertainty "
                                         "reported is the predictive entropy per voxel (and "
                                         "the TTA variance when asked)"}
    return {"ensemble": f"yes: a deep ensemble of {len(members)} members; its SHA-256 above "
                        "is that of the members' SHA-256s in order, each followed by a line "
                        "feed",
            "members": members,
            "ensemble_combination": "every member runs on every window of the same "
                                    "preprocessed image; the ensemble's probabilities are the "
                                    "mean of the members' calibrated probabilities (the "
                                    "manifest's temperature); the label map is their most "
                                    "probable class and the entropy map their entropy",
            "epistemic_uncertainty": "mutual information H(mean) - mean(H(member)) in nats "
                                     "(the members' disagreement), written as "
                                     "mutual_information.nii.gz beside the entropy map, "
                                     "summarised per label in run.json (mean and maximum) and "
                                     "tinting the case report's 3-D view; each member's own "
                                     "label map is a plausible alternative (member-1, ...) on "
                                     "which planning measures its trajectory again, so a "
                                     "verdict that differs between members raises "
                                     f"{VERDICT_UNCERTAIN}"}


def _identity(package: ModelPackage) -> Section:
    manifest = package.manifest
    signature = package.signature
    return Section("identity", "Model identity",
                   ("model package manifest.json",
                    "the ONNX files (each SHA-256 verified on load)"),
                   {"name": manifest.name, "version": manifest.version,
                    "sha256": package.sha256, "onnx_file": manifest.onnx_file,
                    **_ensemble(package),
                    "opset": signature.opset,
                    "input": f"{signature.input_name} {list(signature.input_shape)}",
                    "output": f"{signature.output_name} {list(signature.output_shape)} "
                              f"({manifest.output_kind.value})",
                    "architecture": "ONNX graph; see the training reproduction command",
                    "execution": "ONNX Runtime: CUDA or TensorRT when a GPU is present, else "
                                 "CPU (the provider used is recorded in every run.json)"})


def _intended_use(root: Path, package: ModelPackage) -> tuple[Section, dict[str, Any]]:
    path = root / INTENDED_USE
    record: dict[str, Any] = {}
    gaps: list[str] = []
    if path.is_file():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        record = loaded if isinstance(loaded, dict) else {}
    else:
        gaps.append(f"no intended-use record ({INTENDED_USE})")
    content = {"model_intended_use": package.manifest.intended_use}
    for name in _INTENDED_USE_FIELDS[:6]:
        if record.get(name):
            content[name] = record[name]
        elif path.is_file():
            gaps.append(f"{name.replace('_', ' ')}: not stated in {INTENDED_USE}")
    return Section("intended-use", "Intended use, users and indications",
                   (str(INTENDED_USE), "model package manifest.json (intended_use)"), content,
                   tuple(gaps)), record


def _inputs(package: ModelPackage, index: TraceIndex) -> Section:
    manifest = package.manifest
    checks = []
    for req_id, located in sorted(index.requirements.items()):
        if located.record.software_item == "corridor.ingest" and req_id.startswith("SRS-ING"):
            checks.append({"requirement": req_id, "title": located.record.title,
                           "verification": index.verification(req_id).value})
    gaps = [] if checks else ["no ingest requirement states an input acceptance check"]
    unverified = [c["requirement"] for c in checks if c["verification"] not in ("passed",
                                                                                  "evidence")]
    if unverified and index.outcomes is not None:
        gaps.append("input checks not shown verified: " + ", ".join(unverified))
    if index.outcomes is None:
        gaps.append("verification status of the input checks: no test results given "
                    "(--results)")
    labels = [{"index": label.index, "name": label.name, "risk_structure": label.risk_structure,
               "min_volume_ml": label.min_volume_ml} for label in manifest.labels]
    return Section("inputs-outputs", "Inputs, outputs and input acceptance",
                   ("model package manifest.json", "SRS-ING requirements and their verification"),
                   {"input": "CT volume in HU, resampled to "
                             f"{list(manifest.input_spacing_mm)} mm ({manifest.grid.value} grid)",
                    "intensity": manifest.intensity.model_dump(mode="json"),
                    "outputs": labels,
                    "acceptance_checks": checks}, tuple(gaps))


def _human(record: dict[str, Any], index: TraceIndex) -> Section:
    controls = []
    for control_id, ref in sorted(index.controls.items()):
        if ref.control.option.value == "information-for-safety":
            controls.append({"risk_control": control_id, "hazard": ref.hazard.record.id,
                             "description": ref.control.description,
                             "verification": index.verification(control_id).value})
    flags = [{"code": code.value, "meaning": (code.__doc__ or "").strip()} for code in FlagCode]
    flags.append({"code": VERDICT_UNCERTAIN, "meaning": "raised by planning when a clearance of "
                  "the planned trajectory is met on the segmentation and not under one of its "
                  "plausible alternatives (each structure at probability 0.3 and 0.7, and each "
                  "member's label map of a deep ensemble), or the reverse"})
    gaps = [] if record.get("human_oversight") else [
        f"human oversight and degree of automation: not stated in {INTENDED_USE}"]
    return Section("human-oversight", "Degree of automation and human oversight",
                   (str(INTENDED_USE), "risk controls of option information-for-safety",
                    "corridor.inference flag codes", "corridor.planning.uncertainty"),
                   {"human_oversight": record.get("human_oversight"),
                    "information_for_safety": controls, "review_flags": flags}, tuple(gaps))


def _training(package: ModelPackage) -> Section:
    manifest = package.manifest
    return Section("training", "Training and development data",
                   ("model package manifest.json (training_data, reproduction, temperature, "
                    "calibration)",),
                   {"training_data": manifest.training_data,
                    "reproduction": manifest.reproduction,
                    "calibration_temperature": manifest.temperature,
                    "calibration": manifest.calibration
                    or "not calibrated (temperature 1.0: the probabilities as trained)"},
                   ("development data characterisation by site, scanner, sex and age band: "
                    "the manifest describes synthetic phantoms only",))


def _performance(package: ModelPackage, validation: dict[str, Any] | None,
                 validation_path: Path | None) -> Section:
    sources = ("validation results (corridor validate study results.json)",)
    if validation is None:
        return Section("performance", "Performance with 95 % confidence intervals", sources,
                       {}, ("no validation results given (--validation)",))
    validated = validation.get("study", {}).get("model_sha256")
    if validated is None:
        return Section("performance", "Performance with 95 % confidence intervals", sources,
                       {"validation": str(validation_path)},
                       ("the validation results do not name the model they validated "
                        "(study definition field model_sha256)",))
    if validated != package.sha256:
        raise ModelCardError("validation model_sha256", validated,
                             f"the card's model hash {package.sha256} (the validation results "
                             "are about another model)")
    endpoints = []
    for item in validation.get("endpoints", []):
        comparison = item.get("comparison", {})
        endpoints.append({"endpoint": item.get("name"), "figure_of_merit":
                          item.get("figure_of_merit"), "estimates": item.get("estimates"),
                          "difference": comparison.get("difference"),
                          "ci95": comparison.get("ci95"), "p_value": comparison.get("p_value"),
                          "conclusion": item.get("conclusion")})
    subgroups = _subgroup_rows(validation)
    gaps = [] if subgroups else [
        "performance by subgroup (site, scanner, sex, age band): the validation results hold "
        "no subgroup analysis"]
    if not endpoints:
        gaps.append("the validation results hold no endpoint")
    content: dict[str, Any] = {"validation": validation.get("study", {}).get("title"),
                               "validation_inputs": validation.get("inputs"),
                               "endpoints": endpoints}
    if subgroups:
        content["subgroup_performance"] = subgroups
    return Section("performance", "Performance with 95 % confidence intervals", sources,
                   content, tuple(gaps))


def _subgroup_rows(validation: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per endpoint, subgroup level and modality (one row, without a figure, for a
    level with too few cases), from the results' subgroup analyses."""
    rows: list[dict[str, Any]] = []
    for analysis in (validation.get("subgroups") or {}).get("analyses", []):
        for group in analysis.get("groups", []):
            common = {"endpoint": analysis.get("endpoint"),
                      "subgroup": f"{analysis.get('subgroup')}: {group.get('group')}",
                      "cases": group.get("cases"), "positive_cases": group.get("positive_cases"),
                      "negative_cases": group.get("negative_cases")}
            estimates = group.get("estimates") or []
            if not estimates:
                rows.append({**common, "modality": "all", "figure_of_merit":
                             analysis.get("figure_of_merit"), "estimate": "not reported",
                             "ci95": "not reported", "status": group.get("status")})
            for item in estimates:
                rows.append({**common, "modality": item.get("modality"),
                             "figure_of_merit": analysis.get("figure_of_merit"),
                             "estimate": item.get("estimate"), "ci95": item.get("ci95"),
                             "status": group.get("status")})
    return rows


def _hazards(index: TraceIndex) -> list[Any]:
    return [h for _, h in sorted(index.hazards.items())
            if h.record.software_item == MODEL_SOFTWARE_ITEM]


def _limitations(index: TraceIndex) -> Section:
    hazards = [{"hazard": h.record.id, "title": h.record.title,
                "hazardous_situation": h.record.hazardous_situation, "cause": h.record.cause.value}
               for h in _hazards(index)]
    anomalies = [{"problem_report": p.record.id, "title": p.record.title,
                  "status": p.record.status.value,
                  "impact": p.record.hazard_evaluation or "not evaluated"}
                 for _, p in sorted(index.problems.items())
                 if MODEL_SOFTWARE_ITEM in p.record.software_items
                 and p.record.status is not ProblemStatus.CLOSED]
    return Section("limitations", "Limitations, failure modes and uncertainty behaviour",
                   ("hazard records of corridor.inference", "corridor.inference flag codes",
                    "problem reports of corridor.inference (open and deferred)"),
                   {"failure_modes": hazards,
                    "known_anomalies": anomalies or "none open or deferred",
                    "uncertainty": "Every run writes a predictive-entropy map (and TTA variance "
                                   "when asked; a deep ensemble's mutual information) and "
                                   "flags: " + "; ".join(f"{c.value}" for c in FlagCode)},
                   ())


def _controls(index: TraceIndex) -> Section:
    rows = []
    gaps = []
    for located in _hazards(index):
        for control in located.record.risk_controls:
            state = index.verification(control.id).value
            rows.append({"hazard": located.record.id, "risk_control": control.id,
                         "description": control.description, "option": control.option.value,
                         "verification": state})
            if index.outcomes is not None and state not in ("passed", "evidence"):
                gaps.append(f"{control.id} is not shown verified ({state}): not counted as "
                            "controlled")
    if index.outcomes is None:
        gaps.append("verification status of the risk controls: no test results given "
                    "(--results)")
    return Section("risk-controls", "Risk controls and their verification",
                   ("hazard and risk-control records", "test results (JUnit XML)"),
                   {"controls": rows}, tuple(gaps))


def _change_plan(plan: ChangeControlPlan, index: TraceIndex) -> dict[str, Any]:
    """The plan's parts as flat entries of the deployment section (tables in the cards)."""
    monitoring = plan.monitoring
    protocol = plan.protocol
    update = plan.update_procedure
    return {
        "change_control_plan": plan.summary,
        "monitoring_in_use": list(monitoring.watched),
        "monitoring_review": monitoring.review_cadence,
        "monitoring_triggers": list(monitoring.triggers),
        "modifications_allowed": [{"id": m.id, "description": m.description,
                                   "bounds": m.bounds} for m in plan.modifications],
        "modifications_not_allowed": list(plan.not_allowed),
        "protocol_data_management": protocol.data_management,
        "protocol_retraining": protocol.retraining,
        "protocol_verification_rerun": list(protocol.verification),
        "performance_bounds": [
            {"metric": b.metric.value, "label": b.label or "", "bound": b.bound.value,
             "limit": b.limit, "measured_by": b.measured_by, "measured_on": b.measured_on,
             "verification": index.verification(b.measured_by).value
             if b.measured_by in index.requirements else "no such requirement"}
            for b in protocol.performance_bounds],
        "update_release": update.release,
        "update_labelling": update.labelling,
        "update_users_told": update.users_told,
        "impact_assessment": plan.impact_assessment,
    }


def _deployment(record: dict[str, Any], package: ModelPackage, index: TraceIndex) -> Section:
    monitoring = record.get("monitoring_and_updates")
    name = package.manifest.name
    located = next((p for p in index.records.change_plans if p.record.model == name), None)
    content: dict[str, Any] = {"monitoring_and_updates": monitoring} if monitoring else {}
    gaps: list[str] = []
    sources = (str(INTENDED_USE), f"{LAYOUT.change_plans}/{name}.yaml (predetermined change "
                                  "control plan)")
    if located is None:
        if not monitoring:
            content["monitoring_and_updates"] = None
        gaps.append(f"monitoring and update plan: no predetermined change control plan "
                    f"({LAYOUT.change_plans}/{name}.yaml)")
    else:
        content.update(_change_plan(located.record, index))
        if located.record.model_version != package.manifest.version:
            gaps.append(f"the change control plan was written for version "
                        f"{located.record.model_version}, the package is version "
                        f"{package.manifest.version}")
    return Section("deployment", "Deployment, monitoring and updates", sources, content,
                   tuple(gaps))


def _history(root: Path, package: ModelPackage) -> Section:
    try:
        relative = package.directory.resolve().relative_to(root.resolve())
    except ValueError:
        relative = None
    log = (_git(root, "log", "--format=%h %ad %s", "--date=short", "--", str(relative))
           if relative is not None else None)
    entries = log.splitlines() if log else []
    return Section("history", "Evidence and version history",
                   ("git history of the model package folder",), {"commits": entries},
                   () if entries else ("no git history of the model package folder",))


def build_model_card(package: ModelPackage, index: TraceIndex, root: Path, *,
                     validation: Path | None = None) -> ModelCard:
    """Build the card of a verified model package from the repository's records.

    Raises
    ------
    ModelCardError
        The validation results name another model hash, or cannot be read.
    """
    results: dict[str, Any] | None = None
    if validation is not None:
        try:
            results = json.loads(validation.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelCardError("validation", f"{validation}: {exc}",
                                 "a results.json of corridor validate study") from exc
    intended, record = _intended_use(root, package)
    sections = (
        _identity(package), intended, _inputs(package, index), _human(record, index),
        _training(package), _performance(package, results, validation), _limitations(index),
        _controls(index), _deployment(record, package, index), _history(root, package),
    )
    commit = _git(root, "rev-parse", "HEAD")
    date = _git(root, "log", "-1", "--format=%cs")
    provenance = {"generator": "corridor docs model-card", "commit": commit,
                  "commit_date": date, "test_results": index.outcomes is not None,
                  "validation_results": None if validation is None else validation.name}
    manifest = package.manifest
    return ModelCard(manifest.name, manifest.version, package.sha256, sections, provenance)
