"""The planning job, one case: ingest -> inference -> meshing -> planning -> outputs.

Every stage takes the previous stage's value and returns one frozen result that carries its
own provenance and writes its own folder; :func:`run_case` only wires them, in this order,
and nowhere else.  The case folder is written all or nothing (a temporary sibling renamed
into place): a run that fails leaves no folder that looks complete.  Whatever the outcome,
one record is appended to the audit trail; a complete case's ``case.json`` anchors it (the
sequence it took and the hash before it), written and renamed into place while the log's lock is
held, so that ``corridor audit verify`` reports the record if it is cut from the log's tail.
"""

from __future__ import annotations

import getpass
import json
import platform
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corridor.audit import ANCHOR_KEY, AuditAnchor, AuditSlot, append_record, reserved_record
from corridor.case.report import REPORT_NAME, review_flags, write_case_report
from corridor.images import (
    GEOMETRY_TOLERANCE_MM,
    LabelMap,
    SegmentCode,
    fit_to_ct,
    write_nifti_ras,
)
from corridor.inference.api import InferenceOptions, infer
from corridor.inference.model import InferenceResult, ModelIdentity
from corridor.inference.outputs import ABSENT_KEY, write_outputs
from corridor.inference.package import load_model_package
from corridor.ingest.api import ingest
from corridor.ingest.model import Volume
from corridor.meshing.api import mesh_label_map, write_meshes
from corridor.planning import (
    FINDABLE_LANDMARKS,
    Landmark,
    PlanResult,
    Side,
    Verdict,
    check_case_request,
    complete_landmarks,
    load_procedure,
    plan_trajectory,
)
from corridor.planning.external import read_external
from corridor.planning.roles import map_roles
from corridor.provenance import (
    FileRecord,
    describe_file,
    sha256_bytes,
    sha256_file,
    software_identity,
)
from corridor.staging import staged_folder

__all__ = ["CASE_RECORD", "CASE_RECORD_FORMAT", "STAGES", "CaseOutcome", "CaseRecord",
           "CaseRequest", "audit_header", "dicom_digest", "run_case", "verify_case_folder"]

STAGES = ("ingest", "inference", "meshing", "planning", "outputs")
"""The stages, in order, as progress and the audit record name them."""

CASE_RECORD = "case.json"
CASE_RECORD_FORMAT = "corridor-case/1"



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
    regularize: bool = False
    """Resample a tilted or unevenly spaced series onto a regular grid (a review flag)."""
    threads: int | None = None
    """ONNX Runtime CPU threads (default: its own choice; a batch shares the cores)."""
    segmentation: Path | None = None
    """A segmentation made elsewhere (TotalSegmentator folder or multi-label NIfTI, 3D Slicer
    ``.seg.nrrd``, DICOM SEG): inference is skipped and the plan is made on it, once it is
    found to belong to this CT (:func:`~corridor.images.fit_to_ct`)."""
    class_map: Path | None = None
    """Names of a multi-label NIfTI's values (JSON), where its header has none."""


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """``case.json``: the verdict, what made it (software, model, inputs) and every output file
    with its SHA-256 (``case.json`` itself excluded).

    Attributes
    ----------
    verdict
        The plan's verdict.
    model
        The model that segmented the CT.
    dicom_files, dicom_sha256
        How many DICOM files were used and the SHA-256 over their SHA-256s in slice order.
    flags
        The segmentation's review flags (``code``, ``message``).
    timings_s
        Seconds per stage.
    outputs
        Every file of the case folder but ``case.json``, POSIX path to SHA-256.
    source_attributes_absent
        The attributes the DICOM SEG copies from the series that its images lack, with what
        the SEG holds instead (as ``run.json`` lists them; empty when none is lacking).
    """

    verdict: Verdict
    model: ModelIdentity
    dicom_files: int
    dicom_sha256: str
    flags: tuple[dict[str, str], ...]
    timings_s: Mapping[str, float]
    outputs: Mapping[str, str]
    source_attributes_absent: tuple[Mapping[str, Any], ...] = ()
    ingest_warnings: tuple[Mapping[str, str], ...] = ()
    """The volume's ingest warnings (``code``, ``message``), e.g. ``regularized``."""
    regularization: Mapping[str, Any] | None = None
    """How the series was resampled onto a regular grid (``--regularize``), or ``None``."""
    audit: AuditAnchor | None = None
    """Where the run's audit record sits in its log."""
    segmentation: Mapping[str, Any] | None = None
    """The segmentation made elsewhere that was planned on (format, files, SHA-256, names,
    geometry check and resampling), or ``None`` when the model segmented the CT."""

    def to_json(self) -> dict[str, Any]:
        """The JSON document, with the software identity of this installation."""
        extra = {} if self.segmentation is None else {"segmentation": dict(self.segmentation)}
        return {**extra, "format": CASE_RECORD_FORMAT, "software": software_identity().to_json(),
                "verdict": self.verdict.value, "model": self.model.to_json(),
                "inputs": {**_inputs_json(self.dicom_files, self.dicom_sha256,
                                          self.regularization),
                           "ingest_warnings": [dict(w) for w in self.ingest_warnings]},
                "flags": list(self.flags), "timings_s": dict(self.timings_s),
                "outputs": dict(self.outputs),
                ANCHOR_KEY: None if self.audit is None else self.audit.to_json(),
                ABSENT_KEY: [dict(entry) for entry in self.source_attributes_absent]}


@dataclass(frozen=True, slots=True, eq=False)
class CaseOutcome:
    """How a completed run ended: the plan result, the case record, seconds per stage."""

    planned: PlanResult
    record: CaseRecord
    timings: Mapping[str, float]

    @property
    def verdict(self) -> Verdict:
        """The plan's verdict."""
        return self.planned.plan.verdict


def _inputs_json(files: int, digest: str,
                 regularization: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"dicom_files": files, "dicom_sha256": digest, "regularization": regularization}


def audit_header(event: str) -> dict[str, Any]:
    """The fields every audit record of a run starts with: what ran, by whom, where, when."""
    return {"event": event, "software": software_identity().to_json(),
            "user": getpass.getuser(), "host": socket.gethostname(),
            "platform": platform.platform(), "started_unix": round(time.time(), 3)}


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
    if not isinstance(record, dict) or record.get("format") != CASE_RECORD_FORMAT:
        return None
    files = _outputs(folder)
    files.pop(CASE_RECORD, None)
    return record if record.get("outputs") == files else None


def dicom_digest(volume: Volume) -> str:
    """One SHA-256 for the series: over the files' SHA-256s in slice order."""
    return sha256_bytes("".join(s.sha256 for s in volume.sources).encode("ascii"))


@dataclass(frozen=True, slots=True, eq=False)
class _Given:
    """A segmentation made elsewhere, on the CT's grid, with what the case records of it."""

    label_map: LabelMap
    """Its labels with their own names, on the CT's grid (planned on)."""
    display: LabelMap
    """Its labels as roles, ``bone`` and ``vessel`` (meshed and shown in the report)."""
    file: FileRecord
    codes: Mapping[int, SegmentCode]
    model: ModelIdentity
    record: dict[str, Any]
    flags: tuple[dict[str, str], ...]


@dataclass(frozen=True, slots=True, eq=False)
class _Segmented:
    """The inference stage's result, from the model or from a segmentation made elsewhere."""

    label_map: LabelMap
    """Planned on (its labels' own names)."""
    display: LabelMap
    """Meshed: ``bone`` and ``vessel``."""
    file: FileRecord
    codes: Mapping[int, SegmentCode] | None
    model: ModelIdentity
    flags: tuple[dict[str, str], ...]
    """A given segmentation's review flags (the model's are taken after planning)."""
    absent: tuple[Mapping[str, Any], ...]
    inferred: InferenceResult | None
    given: _Given | None


def _given_segmentation(request: CaseRequest, volume: Volume, folder: Path) -> _Given:
    """Read the segmentation given, fit it to the CT (HAZ-042) and write it on the CT's grid
    (``segmentation/labels.nii.gz`` and ``segmentation/segmentation.json``)."""
    assert request.segmentation is not None
    external = read_external(request.segmentation, class_map=request.class_map)
    label_map, resampling = fit_to_ct(external.label_map, volume.geometry)
    roles = map_roles(label_map.names, external.codes)
    display = np.zeros(label_map.labels.shape, dtype=np.uint8)
    display[np.isin(label_map.labels, roles.values(["bone"]))] = 1
    vessels = [r for r in roles.table.roles if r.endswith("vessel")]
    display[np.isin(label_map.labels, roles.values(vessels))] = 2
    folder.mkdir()
    write_nifti_ras(label_map, folder / "labels.nii.gz")
    record = {**external.record, "input": external.file.to_json(), "resampling": resampling,
              "geometry_tolerance_mm": GEOMETRY_TOLERANCE_MM}
    (folder / "segmentation.json").write_text(json.dumps(record, indent=2, sort_keys=True)
                                              + "\n", encoding="utf-8")
    flags: tuple[dict[str, str], ...] = ()
    if resampling is not None:
        flags = ({"code": "segmentation-resampled",
                  "message": f"the segmentation ({resampling['reason']}) was resampled onto the "
                             "CT's grid by nearest neighbour: review its outline"},)
    model = ModelIdentity(f"segmentation:{external.record['format']}", "given",
                          external.file.sha256)
    shown = LabelMap(display, label_map.geometry, ("background", "bone", "vessel"))
    written = describe_file(folder / "labels.nii.gz", relative_to=folder.parent)
    return _Given(label_map, shown, written, external.codes, model, record, flags)


def run_case(request: CaseRequest, progress: Callable[[str], Any] | None = None) -> CaseOutcome:
    """Run every stage and write the case folder; append the audit record in every case.

    ``progress(stage)`` is called as each stage starts (the CLI shows it).

    Raises
    ------
    InputError
        Bad input (the series, the model package, the procedure, landmarks); nothing is
        written but the audit record of the failed run.
    SafetyRefusalError
        A stage declined (mesh QA, non-finite model output); nothing is written but the
        audit record.
    """
    timings: dict[str, float] = {}
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
        timings[name] = round(time.perf_counter() - clock, 3)

    slot: AuditSlot | None = None
    held = ExitStack()  # the log's lock, from case.json's writing to the record's
    try:
        procedure = load_procedure(request.procedure)  # bad input fails here, before any stage
        audit["parameters"]["procedure_sha256"] = procedure.sha256
        check_case_request(procedure, side=request.side, landmarks=request.landmarks,
                           findable=FINDABLE_LANDMARKS)
        with staged_folder(request.out) as staging:
            with stage("ingest"):
                volume = ingest(request.dicom, request.series, regularize=request.regularize).volume
                dicom_sha256 = dicom_digest(volume)
                regularization = (volume.regularization.to_json()
                                  if volume.regularization is not None else None)
                audit["inputs"] = _inputs_json(len(volume.sources), dicom_sha256, regularization)
            with stage("inference"):
                if request.segmentation is not None:  # not run: the segmentation is read
                    given = _given_segmentation(request, volume, staging / "segmentation")
                    audit["model"] = given.model.to_json()
                    audit["segmentation"] = given.record
                    segmented = _Segmented(given.label_map, given.display, given.file,
                                           given.codes, given.model, given.flags, (), None,
                                           given)
                else:
                    package = load_model_package(request.model)
                    audit["model"] = ModelIdentity(package.manifest.name,
                                                   package.manifest.version,
                                                   package.sha256).to_json()
                    inferred = infer(volume, package, InferenceOptions(threads=request.threads))
                    written = write_outputs(inferred, volume, staging / "segmentation")
                    audit["execution"] = inferred.execution
                    segmented = _Segmented(
                        inferred.label_map, inferred.label_map,
                        written.label_map.under("segmentation"), None, inferred.model,
                        (),  # review flags taken with the plan's (review_flags, below)
                        tuple(written.record.get(ABSENT_KEY, ())), inferred, None)
            with stage("meshing"):
                meshes = mesh_label_map(segmented.display, source=segmented.file)
                write_meshes(meshes, staging / "meshes")
            with stage("planning"):
                landmarks = complete_landmarks(segmented.label_map, procedure, side=request.side,
                                               given=request.landmarks,
                                               outside_view=volume.padding_mask(),
                                               codes=segmented.codes)
                audit["landmarks"] = [{"name": m.name, "source": m.source.value}
                                      for _, m in sorted(landmarks.items())]
                planned = plan_trajectory(
                    segmented.label_map, procedure, side=request.side, landmarks=landmarks,
                    label_map_file=segmented.file, codes=segmented.codes,
                    segmentation=None if segmented.given is None else segmented.given.record,
                    alternatives=(None if segmented.inferred is None
                                  else segmented.inferred.alternatives))
                planned.write(staging / "plan")
            with stage("outputs"):
                outside = segmented.given
                write_case_report(staging / REPORT_NAME, volume=volume,
                                  inferred=segmented.inferred, meshes=meshes, planned=planned,
                                  absent=segmented.absent,
                                  external=None if outside is None
                                  else (outside.display, outside.model, outside.flags))
                slot = held.enter_context(reserved_record(request.audit_log))
                flags = (segmented.flags if segmented.inferred is None
                         else tuple(review_flags(volume, segmented.inferred, planned)))
                record = CaseRecord(planned.plan.verdict, segmented.model, len(volume.sources),
                                    dicom_sha256, flags, dict(timings),
                                    _outputs(staging), segmented.absent,
                                    tuple(w.to_json() for w in volume.warnings), regularization,
                                    slot.anchor, None if outside is None else outside.record)
                document = (json.dumps(record.to_json(), indent=2, sort_keys=True)
                            + "\n").encode("utf-8")
                (staging / CASE_RECORD).write_bytes(document)
        audit["outcome"] = record.verdict.value
        audit["outputs_sha256"] = {**record.outputs, CASE_RECORD: sha256_bytes(document)}
        return CaseOutcome(planned, record, dict(timings))
    except BaseException as exc:
        audit["outcome"] = "failed"
        audit["error"] = type(exc).__name__
        raise
    finally:
        audit["timings_s"] = dict(timings)
        with held:
            if slot is not None:
                slot.append(audit)
            else:
                append_record(request.audit_log, audit)
