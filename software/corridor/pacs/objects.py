"""The DICOM objects a planned case is stored back into its CT's study as: SEG, SR, PDF, STL.

:func:`build_result_objects` turns one complete case folder (``corridor plan``) and the CT files
it was planned on into DICOM Part-10 files, each in the CT's study (the CT's Patient and General
Study modules) and in a series of its own:

- **SEG** (series 9001): the case's ``segmentation/seg.dcm`` as made, with its own series and
  instance UIDs;
- **SR** (9002): a Comprehensive 3D SR whose content tree holds the verdict, procedure and side,
  the trajectory's entry and tip (SCOORD3D points in the CT's frame of reference), each
  clearance (structure; clearance, guaranteed minimum and required, mm; met), the review
  flags and the model and software that made the plan; its evidence is the CT series and the
  SEG;
- **PDF** (9003): an Encapsulated PDF of :func:`~corridor.pacs.report_pdf.render_plan_pdf`;
- **STL** (9004): an Encapsulated STL of ``plan/implant.stl`` (LPS mm, the CT's frame of
  reference), made for a ``safe`` plan only.

Deterministic: the same case, CT files and ``key`` give the same UIDs and the same bytes.  Every
UID is :func:`pydicom.uid.generate_uid` with ``entropy_srcs = [key, kind, "series"]`` (or
``"instance"``); every date and time the objects hold (content, series, instance creation,
contribution) is the moment the case's segmentation was made, its SEG's ContentDate and
ContentTime: a value of the case record, never the clock.

The case is checked before anything is built: ``case.json`` must list exactly the folder's
files (:func:`~corridor.case.job.verify_case_folder`); the CT files must be one series of one
study, the series the SEG references, in the frame of reference ``plan.json`` names, and their
files' SHA-256 must give the case's ``inputs.dicom_sha256``.  Each failure is a
:class:`~corridor.pacs.errors.ResultObjectError` naming the file, the field, the value found
and the value expected.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from corridor.case.job import CASE_RECORD, dicom_digest, verify_case_folder
from corridor.images import read_label_map
from corridor.ingest.api import ingest
from corridor.ingest.model import Volume
from corridor.meshing.files import MeshFormat, read_back
from corridor.pacs.errors import ResultObjectError
from corridor.pacs.report_pdf import render_plan_pdf
from corridor.provenance import SoftwareIdentity, sha256_bytes, software_identity

__all__ = ["CODING_SCHEME", "MANUFACTURER", "SERIES_DESCRIPTIONS", "SERIES_NUMBERS",
           "SOP_CLASS_UIDS", "ResultKind", "ResultObject", "build_result_objects"]


class ResultKind(StrEnum):
    """The kinds of result object, in the order they are built and stored."""

    SEG = "seg"
    SR = "sr"
    PDF = "pdf"
    STL = "stl"


SOP_CLASS_UIDS = {
    ResultKind.SEG: "1.2.840.10008.5.1.4.1.1.66.4",
    ResultKind.SR: "1.2.840.10008.5.1.4.1.1.88.34",
    ResultKind.PDF: "1.2.840.10008.5.1.4.1.1.104.1",
    ResultKind.STL: "1.2.840.10008.5.1.4.1.1.104.3",
}
"""Segmentation, Comprehensive 3D SR, Encapsulated PDF and Encapsulated STL Storage."""
SERIES_NUMBERS = {ResultKind.SEG: 9001, ResultKind.SR: 9002, ResultKind.PDF: 9003,
                  ResultKind.STL: 9004}
SERIES_DESCRIPTIONS = {kind: f"Corridor plan - {kind.value.upper()}" for kind in ResultKind}
MANUFACTURER = "Corridor"
MODEL_NAME = "Corridor surgical planning"
CODING_SCHEME = "99CORRIDOR"
"""The private coding scheme of the SR's plan-specific concepts (PS3.16 has none for them);
described in each SR's Coding Scheme Identification Sequence."""

_PATIENT_STUDY_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                        "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
                        "AccessionNumber")
"""Patient and General Study attributes every object holds, empty where the CT's are absent."""
_PATIENT_STUDY_OPTIONAL = ("IssuerOfPatientID", "PatientAge", "PatientSize", "PatientWeight",
                           "PatientIdentityRemoved", "DeidentificationMethod",
                           "StudyDescription")
"""Copied from the CT where it holds them."""
_SEG = "segmentation/seg.dcm"
_PLAN = "plan/plan.json"
_IMPLANT = "plan/implant.stl"
_LABELS = "segmentation/labels.nii.gz"
_BONE = "meshes/bone.lps.stl"


@dataclass(frozen=True)
class ResultObject:
    """One DICOM object to store, as Part-10 file bytes.

    Attributes
    ----------
    kind
        What it is: SEG, SR, PDF or STL.
    data
        The DICOM Part-10 file's bytes.
    sop_class_uid, sop_instance_uid, series_instance_uid
        As the file holds them.
    sha256
        SHA-256 of ``data``.
    """

    kind: ResultKind
    data: bytes
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    sha256: str

    def __post_init__(self) -> None:
        ResultKind(self.kind)
        if sha256_bytes(self.data) != self.sha256:
            raise ValueError(f"sha256: found {self.sha256!r}, expected the SHA-256 of data "
                             f"({sha256_bytes(self.data)})")

    def dataset(self) -> Dataset:
        """The object read back from :attr:`data` (pixel data and documents included)."""
        return pydicom.dcmread(io.BytesIO(self.data))


@dataclass(frozen=True)
class _Context:
    """What every object is built from: the CT's headers, the case's records, the UIDs' key
    and the date and time the objects carry."""

    ct: tuple[Dataset, ...]
    case: Mapping[str, Any]
    plan: Mapping[str, Any]
    key: str
    date: str
    time: str

    @property
    def first(self) -> Dataset:
        return self.ct[0]

    def series_uid(self, kind: ResultKind) -> str:
        return str(generate_uid(entropy_srcs=[self.key, kind.value, "series"]))

    def instance_uid(self, kind: ResultKind) -> str:
        return str(generate_uid(entropy_srcs=[self.key, kind.value, "instance"]))


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultObjectError("file", f"unreadable ({exc})", what, where=path) from exc
    if not isinstance(document, dict):
        raise ResultObjectError("file", type(document).__name__, what, where=path)
    return document


def _only(values: Iterable[str], field: str, where: str, expected: str) -> str:
    found = sorted(set(values))
    if len(found) != 1:
        raise ResultObjectError(field, found, expected, where=where)
    return found[0]


def _ct_headers(ct_files: Sequence[Path]) -> tuple[Dataset, ...]:
    """The CT files' headers, in instance order, checked to be one series of one study."""
    if not ct_files:
        raise ResultObjectError("ct_files", [], "the CT series' files")
    headers = []
    for path in ct_files:
        try:
            headers.append(pydicom.dcmread(path, stop_before_pixels=True))
        except (OSError, InvalidDicomError) as exc:
            raise ResultObjectError("file", f"unreadable ({exc})", "a DICOM file of the CT "
                                    "series", where=path) from exc
    where = f"{len(ct_files)} CT file(s)"
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        _only((str(h.get(keyword, "")) for h in headers), keyword, where,
              "one value: the files of one CT series")
    _only((str(h.get("SOPClassUID", "")) for h in headers), "SOPClassUID", where,
          "one image storage SOP class")
    instances = [str(h.SOPInstanceUID) for h in headers]
    if len(set(instances)) != len(instances):
        raise ResultObjectError("SOPInstanceUID", "the same instance given twice",
                                "each file of the series once", where=where)
    return tuple(sorted(headers, key=lambda h: (int(h.get("InstanceNumber") or 0),
                                                str(h.SOPInstanceUID))))


def _check_case(folder: Path, ct: Sequence[Dataset], seg: Dataset,
                plan: Mapping[str, Any]) -> None:
    """The SEG and the plan were made on this CT series (study, series, frame of reference)."""
    first = ct[0]
    if str(seg.StudyInstanceUID) != str(first.StudyInstanceUID):
        raise ResultObjectError("StudyInstanceUID", str(seg.StudyInstanceUID),
                                f"the CT's {first.StudyInstanceUID}", where=folder / _SEG)
    referenced = [str(item.SeriesInstanceUID)
                  for item in seg.get("ReferencedSeriesSequence", [])]
    if referenced != [str(first.SeriesInstanceUID)]:
        raise ResultObjectError("ReferencedSeriesSequence", referenced,
                                f"the CT series [{first.SeriesInstanceUID!r}]",
                                where=folder / _SEG)
    frame = str(first.FrameOfReferenceUID)
    if str(seg.get("FrameOfReferenceUID", "")) != frame:
        raise ResultObjectError("FrameOfReferenceUID", str(seg.get("FrameOfReferenceUID")),
                                f"the CT's {frame}", where=folder / _SEG)
    try:
        planned = plan["inputs"]["label_map"]["geometry"]["frame_of_reference_uid"]
    except (KeyError, TypeError) as exc:
        raise ResultObjectError("inputs.label_map.geometry.frame_of_reference_uid", None,
                                f"the CT's {frame}", where=folder / _PLAN) from exc
    if planned != frame:
        raise ResultObjectError("inputs.label_map.geometry.frame_of_reference_uid", planned,
                                f"the CT's {frame}", where=folder / _PLAN)


def _copy_patient_study(target: Dataset, ct: Dataset) -> None:
    """The CT's Patient and General Study modules on ``target`` (the CT's study)."""
    if "SpecificCharacterSet" in ct:
        target.SpecificCharacterSet = ct.SpecificCharacterSet
    target.StudyInstanceUID = ct.StudyInstanceUID
    for keyword in _PATIENT_STUDY_TYPE2:
        setattr(target, keyword, ct.get(keyword, ""))
    for keyword in _PATIENT_STUDY_OPTIONAL:
        if keyword in ct:
            setattr(target, keyword, ct.get(keyword))


def _software_versions(identity: SoftwareIdentity) -> list[str]:
    commit = identity.commit or "not recorded"
    return [f"{identity.name} {identity.version}",
            f"commit {commit}{' (dirty)' if identity.dirty else ''}",
            f"{identity.build.value} build"]


def _contributing(context: _Context) -> hd.ContributingEquipment:
    """Corridor as the processing equipment, naming the model and the planning software."""
    model, software, identity = (context.case["model"], context.case["software"],
                                 software_identity())
    return hd.ContributingEquipment(
        manufacturer=MANUFACTURER, purpose_of_reference=codes.DCM.ProcessingEquipment,
        manufacturer_model_name=str(model["name"])[:64],
        software_versions=[str(model["version"])[:64], *_software_versions(identity)],
        contribution_datetime=context.date + context.time,
        contribution_description=(
            f"Segmentation by model {model['name']} {model['version']} (SHA-256 "
            f"{model['sha256']}); plan by {software['name']} {software['version']} (commit "
            f"{software.get('commit') or 'not recorded'}); DICOM objects by {identity}"))


def _equipment(target: Dataset) -> None:
    identity = software_identity()
    target.Manufacturer = MANUFACTURER
    target.ManufacturerModelName = MODEL_NAME
    target.DeviceSerialNumber = f"{identity.name} {identity.version}"
    target.SoftwareVersions = _software_versions(identity)


def _series(target: Dataset, context: _Context, kind: ResultKind) -> None:
    target.SeriesInstanceUID = context.series_uid(kind)
    target.SOPInstanceUID = context.instance_uid(kind)
    target.SeriesNumber = SERIES_NUMBERS[kind]
    target.SeriesDescription = SERIES_DESCRIPTIONS[kind]
    target.SeriesDate, target.SeriesTime = context.date, context.time
    target.InstanceCreationDate, target.InstanceCreationTime = context.date, context.time
    target.ContentDate, target.ContentTime = context.date, context.time


def _part10(dataset: Dataset, kind: ResultKind) -> ResultObject:
    """``dataset`` as a Part-10 file (explicit VR little endian) and its identity."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta = meta
    dataset.preamble = b"\x00" * 128
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, dataset, enforce_file_format=True)
    data = buffer.getvalue()
    return ResultObject(kind, data, str(dataset.SOPClassUID), str(dataset.SOPInstanceUID),
                        str(dataset.SeriesInstanceUID), sha256_bytes(data))


def _seg_object(seg: Dataset, context: _Context) -> ResultObject:
    seg = seg.copy()
    _copy_patient_study(seg, context.first)
    seg.SeriesInstanceUID = context.series_uid(ResultKind.SEG)
    seg.SOPInstanceUID = context.instance_uid(ResultKind.SEG)
    seg.SeriesNumber = SERIES_NUMBERS[ResultKind.SEG]
    seg.SeriesDescription = SERIES_DESCRIPTIONS[ResultKind.SEG]
    seg.ContributingEquipmentSequence = [*seg.get("ContributingEquipmentSequence", []),
                                         _contributing(context)]
    return _part10(seg, ResultKind.SEG)


def _code(value: str, meaning: str) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(value, CODING_SCHEME, meaning)


def _text(value: str, meaning: str, text: str) -> hd.sr.TextContentItem:
    return hd.sr.TextContentItem(_code(value, meaning), text[:1024],
                                 relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)


def _mm(name: hd.sr.CodedConcept, value: float) -> hd.sr.NumContentItem:
    return hd.sr.NumContentItem(name, float(value), codes.UCUM.Millimeter,
                                relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)


def _point(value: str, meaning: str, point: Sequence[float], frame: str
           ) -> hd.sr.Scoord3DContentItem:
    return hd.sr.Scoord3DContentItem(
        _code(value, meaning), hd.sr.GraphicTypeValues3D.POINT,
        np.asarray([point], dtype=np.float32), frame,
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)


def _sr_content(context: _Context) -> hd.sr.ContainerContentItem:
    plan, case = context.plan, context.case
    frame = str(context.first.FrameOfReferenceUID)
    items: list[Any] = [
        _text("VERDICT", "Plan verdict", str(plan["verdict"])),
        _text("PROCEDURE", "Procedure template", str(plan["procedure"])),
        _text("SIDE", "Side", str(plan["side"] or "not sided")),
    ]
    implant = plan.get("trajectory")
    label = "Trajectory"
    if implant is None and plan.get("best_candidate") is not None:
        implant, label = plan["best_candidate"], "Best candidate (not a plan)"
    if implant is not None:
        prefix = "TRAJECTORY" if label == "Trajectory" else "CANDIDATE"
        items += [_point(f"{prefix}-ENTRY", f"{label} entry point", implant["entry_lps_mm"],
                         frame),
                  _point(f"{prefix}-TIP", f"{label} tip point", implant["tip_lps_mm"], frame),
                  _mm(_code("IMPLANT-DIAMETER", "Implant diameter"), implant["diameter_mm"]),
                  _mm(_code("IMPLANT-LENGTH", "Implant length"), implant["length_mm"])]
    items += [_text("FAILED-CONSTRAINT", "Failed constraint", str(name))
              for name in plan.get("failed_constraints") or ()]
    for clearance in plan["clearances"]:
        group = hd.sr.ContainerContentItem(_code("CLEARANCE", "Clearance"),
                                           relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
        group.ContentSequence = hd.sr.ContentSequence([
            _text("STRUCTURE", "Risk structure", str(clearance["structure"])),
            _mm(codes.DCM.Distance, clearance["clearance_mm"]),
            _mm(_code("GUARANTEED-MIN", "Guaranteed minimum clearance"),
                clearance["guaranteed_min_mm"]),
            _mm(_code("REQUIRED", "Required clearance"), clearance["required_mm"]),
            _text("MET", "Requirement met", "yes" if clearance["met"] else "no")])
        items.append(group)
    items += [_text("REVIEW-FLAG", "Review flag", f"{flag['code']}: {flag['message']}")
              for flag in case.get("flags") or ()]
    model, software = case["model"], case["software"]
    items += [hd.sr.TextContentItem(codes.DCM.AlgorithmName, str(model["name"]),
                                    relationship_type=hd.sr.RelationshipTypeValues.CONTAINS),
              hd.sr.TextContentItem(codes.DCM.AlgorithmVersion, str(model["version"]),
                                    relationship_type=hd.sr.RelationshipTypeValues.CONTAINS),
              _text("MODEL-SHA256", "Model SHA-256", str(model["sha256"])),
              _text("SOFTWARE", "Planning software",
                    f"{software['name']} {software['version']} ({software['build']} build, "
                    f"commit {software.get('commit') or 'not recorded'}"
                    f"{', dirty' if software.get('dirty') else ''})")]
    root = hd.sr.ContainerContentItem(_code("PLAN", "Corridor surgical plan"))
    root.ContentSequence = hd.sr.ContentSequence(items)
    return root


def _sr_object(context: _Context, seg: Dataset) -> ResultObject:
    kind = ResultKind.SR
    identity = software_identity()
    report = hd.sr.Comprehensive3DSR(
        evidence=[*context.ct, seg], content=_sr_content(context),
        series_instance_uid=context.series_uid(kind), series_number=SERIES_NUMBERS[kind],
        sop_instance_uid=context.instance_uid(kind), instance_number=1,
        manufacturer=MANUFACTURER, is_complete=True, is_final=False, is_verified=False,
        series_description=SERIES_DESCRIPTIONS[kind], manufacturer_model_name=MODEL_NAME,
        software_versions=_software_versions(identity),
        device_serial_number=f"{identity.name} {identity.version}")
    dataset = Dataset()
    dataset.update(report)
    _copy_patient_study(dataset, context.first)
    _series(dataset, context, kind)
    scheme = Dataset()
    scheme.CodingSchemeDesignator = CODING_SCHEME
    scheme.CodingSchemeName = "Corridor plan concepts"
    scheme.CodingSchemeResponsibleOrganization = MANUFACTURER
    dataset.CodingSchemeIdentificationSequence = [scheme]
    dataset.ContributingEquipmentSequence = [_contributing(context)]
    return _part10(dataset, kind)


def _encapsulated(context: _Context, kind: ResultKind, document: bytes) -> Dataset:
    """The attributes the Encapsulated PDF and STL objects share."""
    dataset = Dataset()
    _copy_patient_study(dataset, context.first)
    dataset.SOPClassUID = SOP_CLASS_UIDS[kind]
    _series(dataset, context, kind)
    _equipment(dataset)
    dataset.InstanceNumber = 1
    dataset.AcquisitionDateTime = context.date + context.time
    dataset.BurnedInAnnotation = "NO"
    dataset.ConceptNameCodeSequence = []
    dataset.EncapsulatedDocumentLength = len(document)
    dataset.EncapsulatedDocument = document + b"\x00" * (len(document) % 2)
    dataset.ContributingEquipmentSequence = [_contributing(context)]
    return dataset


def _pdf_object(context: _Context, pdf: bytes) -> ResultObject:
    kind = ResultKind.PDF
    dataset = _encapsulated(context, kind, pdf)
    dataset.Modality = "DOC"
    dataset.ConversionType = "WSD"
    dataset.DocumentTitle = f"Corridor plan: {context.plan['procedure']}"
    dataset.MIMETypeOfEncapsulatedDocument = "application/pdf"
    return _part10(dataset, kind)


def _stl_object(context: _Context, stl: bytes) -> ResultObject:
    kind = ResultKind.STL
    dataset = _encapsulated(context, kind, stl)
    dataset.Modality = "M3D"
    dataset.FrameOfReferenceUID = context.first.FrameOfReferenceUID
    dataset.PositionReferenceIndicator = context.first.get("PositionReferenceIndicator", "")
    dataset.DocumentTitle = f"Corridor planned implant: {context.plan['procedure']}"
    dataset.MIMETypeOfEncapsulatedDocument = "model/stl"
    units = Dataset()
    units.CodeValue, units.CodingSchemeDesignator, units.CodeMeaning = "mm", "UCUM", "mm"
    dataset.MeasurementUnitsCodeSequence = [units]
    return _part10(dataset, kind)


def _planned_volume(folder: Path, context: _Context) -> Volume:
    """The CT read again from the given files (as symbolic links in a temporary folder: ingest
    reads a folder), checked to be the files the case was planned on (``case.json``'s
    ``inputs.dicom_sha256``: the files' SHA-256 in slice order)."""
    regularize = context.case.get("inputs", {}).get("regularization") is not None
    with tempfile.TemporaryDirectory(prefix="corridor-pacs-") as scratch:
        for number, header in enumerate(context.ct):
            link = Path(scratch) / f"{number:06d}.dcm"
            link.symlink_to(Path(str(header.filename)).resolve())
        volume = ingest(Path(scratch), str(context.first.SeriesInstanceUID),
                        regularize=regularize).volume
    recorded = context.case.get("inputs", {}).get("dicom_sha256")
    if dicom_digest(volume) != recorded:
        raise ResultObjectError("inputs.dicom_sha256", recorded,
                                f"{dicom_digest(volume)}, the given CT files' (the case was "
                                "planned on other files)", where=folder / CASE_RECORD)
    return volume


def _pdf_bytes(folder: Path, context: _Context, volume: Volume) -> bytes:
    """The PDF report, with the case's label map and bone surface."""
    label_map = read_label_map(folder / _LABELS)
    bone = read_back(folder / _BONE, MeshFormat.STL)
    return render_plan_pdf(plan=context.plan, case=context.case, volume=volume,
                           label_map=label_map, bone=bone)


def build_result_objects(case_folder: Path, ct_files: Sequence[Path], *, key: str
                         ) -> tuple[ResultObject, ...]:
    """The DICOM objects that store a planned case in its CT's study.

    Parameters
    ----------
    case_folder
        A complete case folder written by ``corridor plan`` (its own DICOM SEG included).
    ct_files
        The files of the CT series the case was planned on.
    key
        What makes the objects' UIDs (with the object's kind): the same key gives the same
        UIDs, so that storing again replaces rather than adds.  The PACS service uses
        ``f"{study_uid}/{input_sha256}"``.

    Returns
    -------
    tuple of ResultObject
        SEG, SR, PDF and, for a ``safe`` plan with an ``implant.stl``, STL; the same case, CT
        files and key give byte-identical objects.

    Raises
    ------
    ResultObjectError
        An empty key; the case folder is incomplete or changed since it was written, or lacks
        its DICOM SEG (a case planned on a segmentation made elsewhere); the CT files are
        unreadable or not one series of one study; or the case was not planned on them (the
        SEG references another series, the frame of reference differs from ``plan.json``'s,
        or the files' SHA-256 differ from the case's).
    corridor.ingest.errors.IngestError
        The CT files cannot be read as a volume (as ``corridor plan`` would refuse them).
    """
    if not key:
        raise ResultObjectError("key", key, "a non-empty key (the UIDs are made from it)")
    record = verify_case_folder(case_folder)
    if record is None:
        raise ResultObjectError("outputs", "a folder whose files differ from those its "
                                "case.json lists (or no case.json)",
                                "a complete case folder written by corridor plan",
                                where=case_folder / CASE_RECORD)
    if not (case_folder / _SEG).is_file():
        raise ResultObjectError("file", "absent", "the case's DICOM SEG (a case planned on a "
                                "segmentation made elsewhere has none)",
                                where=case_folder / _SEG)
    ct = _ct_headers(ct_files)
    seg = pydicom.dcmread(case_folder / _SEG)
    plan = _read_json(case_folder / _PLAN, "a plan document (JSON object)")
    _check_case(case_folder, ct, seg, plan)
    date, time = str(seg.get("ContentDate", "")), str(seg.get("ContentTime", ""))
    if not date or not time:
        raise ResultObjectError("ContentDate", f"{date!r} {time!r}",
                                "the date and time the segmentation was made",
                                where=case_folder / _SEG)
    context = _Context(ct, record, plan, key, date, time)
    volume = _planned_volume(case_folder, context)
    seg_object = _seg_object(seg, context)
    objects = [seg_object, _sr_object(context, seg_object.dataset()),
               _pdf_object(context, _pdf_bytes(case_folder, context, volume))]
    if plan.get("verdict") == "safe" and (case_folder / _IMPLANT).is_file():
        objects.append(_stl_object(context, (case_folder / _IMPLANT).read_bytes()))
    return tuple(objects)
