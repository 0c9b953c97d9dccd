"""The planning job, one case: ingest -> inference -> meshing -> planning -> outputs.

Every stage takes the previous stage's value and returns a new one; they are wired here and
nowhere else.  The case folder is written all or nothing (a temporary sibling renamed into
place): a run that fails leaves no folder that looks complete.  Whatever the outcome, one
record is appended to the audit trail.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import platform
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridor.audit import append_record
from corridor.case.report import REPORT_NAME, write_case_report
from corridor.inference.outputs import write_outputs
from corridor.inference.package import load_model_package
from corridor.inference.runner import InferenceOptions, infer
from corridor.ingest.api import ingest
from corridor.meshing.api import MeshOptions, mesh_label_map, write_meshes
from corridor.meshing.files import Frame, MeshFormat
from corridor.planning import Side, Verdict, check_case_inputs, plan_trajectory
from corridor.planning.outputs import implant_surface
from corridor.planning.procedure import load_procedure
from corridor.planning.regions import Landmark
from corridor.provenance import describe_file, sha256_file, software_identity
from corridor.staging import staged_folder

__all__ = ["CASE_RECORD", "EXIT_INPUT", "EXIT_INTERNAL", "EXIT_NO_SAFE", "EXIT_REJECTED",
           "EXIT_SAFE", "STAGES", "VERDICT_EXIT", "CaseOutcome", "CaseRequest", "audit_header",
           "run_case", "verify_case_folder"]

STAGES = ("ingest", "inference", "meshing", "planning", "outputs")
"""The stages, in order, as progress and the audit record name them."""

CASE_RECORD = "case.json"

EXIT_SAFE, EXIT_INPUT, EXIT_NO_SAFE, EXIT_REJECTED, EXIT_INTERNAL = 0, 2, 3, 4, 70
"""Exit statuses of ``corridor plan``: safe plan, bad input, no safe trajectory, plan
rejected by its re-check, internal error (a defect)."""

VERDICT_EXIT = {Verdict.SAFE: EXIT_SAFE, Verdict.NO_SAFE_TRAJECTORY: EXIT_NO_SAFE,
                Verdict.REJECTED_BY_RECHECK: EXIT_REJECTED}


@dataclass(frozen=True, slots=True)
class CaseRequest:
    """What one planning run is asked to do."""

    dicom: Path
    procedure: str
    model: Path
    out: Path
    side: Side | None
    landmarks: Mapping[str, Landmark]
    audit_log: Path
    series: str | None = None
    threads: int | None = None
    """ONNX Runtime CPU threads (default: its own choice; a batch shares the cores)."""


@dataclass(slots=True)
class CaseOutcome:
    """How the run ended: the verdict (if planning ran), timings, the case record."""

    verdict: Verdict | None = None
    timings: dict[str, float] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)


def audit_header(event: str) -> dict[str, Any]:
    """The fields every audit record of a run starts with: what ran, by whom, where, when."""
    return {"event": event, "software": software_identity().to_json(), "user": getpass.getuser(),
            "host": socket.gethostname(), "platform": platform.platform(),
            "started_unix": round(time.time(), 3)}


def _outputs(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_file(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def verify_case_folder(folder: Path) -> dict[str, Any] | None:
    """The folder's ``case.json`` if the folder is a complete case, else ``None``.

    Complete: ``case.json`` reads as a case record and lists exactly the folder's other
    files with their SHA-256 (no file added, removed or changed since the run).
    """
    try:
        record = json.loads((folder / CASE_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("format") != "corridor-case/1":
        return None
    files = _outputs(folder)
    files.pop(CASE_RECORD, None)
    return record if record.get("outputs") == files else None


def run_case(request: CaseRequest, progress: Callable[[str], Any] | None = None) -> CaseOutcome:
    """Run every stage and write the case folder; append the audit record in every case.

    ``progress(stage)`` is called as each stage starts (the CLI shows it).

    Raises
    ------
    CorridorError
        Bad input (the series, the model package, the procedure, landmarks); nothing is
        written but the audit record of the failed run.
    """
    outcome = CaseOutcome()
    audit = audit_header("corridor plan")
    audit["parameters"] = {"procedure": request.procedure,
                           "side": None if request.side is None else request.side.value,
                           "landmarks": sorted(request.landmarks)}

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        if progress is not None:
            progress(name)
        clock = time.perf_counter()
        yield
        outcome.timings[name] = round(time.perf_counter() - clock, 3)

    try:
        loaded = load_procedure(request.procedure)  # bad input fails here, before any stage
        audit["parameters"]["procedure_sha256"] = loaded.sha256
        check_case_inputs(loaded, side=request.side, landmarks=request.landmarks)
        with staged_folder(request.out) as staging:
            with stage("ingest"):
                volume = ingest(request.dicom, request.series).volume
                audit["inputs"] = {"dicom_files": len(volume.sources),
                                   "dicom_sha256": hashlib.sha256("".join(
                                       s.sha256 for s in volume.sources).encode()).hexdigest()}
            with stage("inference"):
                package = load_model_package(request.model)
                audit["model"] = {"name": package.manifest.name,
                                  "version": package.manifest.version,
                                  "sha256": package.sha256}
                result = infer(volume, package, InferenceOptions(threads=request.threads))
                inference_record = write_outputs(result, volume, package.manifest,
                                                 staging / "segmentation")
                audit["execution"] = inference_record.get("execution")
            with stage("meshing"):
                options = MeshOptions()
                meshed = mesh_label_map(result.label_map, None, options)
                write_meshes(meshed, staging / "meshes", fmt=MeshFormat.STL, frame=Frame.LPS,
                             source={"stage": "inference", "model_sha256": package.sha256,
                                     "geometry": result.label_map.geometry.to_json()},
                             options=options)
            with stage("planning"):
                planned = plan_trajectory(
                    result.label_map, loaded, side=request.side, landmarks=request.landmarks,
                    label_map_file=describe_file(staging / "segmentation" / "labels.nii.gz",
                                                 relative_to=staging))
                plan = planned.plan
                outcome.plan = planned.write(staging / "plan")
                outcome.verdict = plan.verdict
            with stage("outputs"):
                write_case_report(staging / REPORT_NAME, volume=volume, result=result,
                                  meshed=meshed, plan=outcome.plan,
                                  implant=(implant_surface(plan.trajectory)
                                           if plan.verdict is Verdict.SAFE
                                           and plan.trajectory is not None else None),
                                  model=audit["model"])
                outcome.record = {
                    "format": "corridor-case/1", "verdict": plan.verdict.value,
                    "model": audit["model"], "inputs": audit["inputs"],
                    "flags": [f.to_json() for f in result.flags],
                    "timings_s": dict(outcome.timings), "outputs": _outputs(staging),
                }
                (staging / CASE_RECORD).write_text(
                    json.dumps(outcome.record, indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")
        audit["outcome"] = outcome.verdict.value if outcome.verdict else "error"
        audit["outputs_sha256"] = {**outcome.record.get("outputs", {}),
                                   CASE_RECORD: sha256_file(request.out / CASE_RECORD)}
        return outcome
    except BaseException as exc:
        audit["outcome"] = "failed"
        audit["error"] = type(exc).__name__
        raise
    finally:
        audit["timings_s"] = dict(outcome.timings)
        append_record(request.audit_log, audit)
