"""The DICOM result objects a planned case is stored back into its CT's study as
(:func:`corridor.pacs.objects.build_result_objects`): SEG, SR, PDF and, for a safe plan, STL.

Verified on one femur phantom case planned by the real job (``run_case``), and one planned with
a template whose vessel clearance (50 mm) no trajectory can meet: a genuinely unsafe plan,
made by the same job, so that its ``case.json`` still lists its files' hashes (editing a safe
plan's verdict would make the folder incomplete, and the builder refuses such a folder).

Oracles: ``dciodvfy`` (dicom3tools: the standard's IOD tables, no code shared with pydicom or
highdicom); the CT files' own headers; ``plan.json`` and ``implant.stl`` as the job wrote them;
the SOP Class UIDs as PS3.4 lists them (written here); the PDF's text as pypdf extracts it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset

import corridor
from corridor.case.job import CaseRequest, run_case
from corridor.pacs.errors import ResultObjectError
from corridor.pacs.objects import ResultObject, build_result_objects
from corridor.planning import Side, Verdict
from corridor_phantoms import make_phantom, write_series
from verification.pacs.helpers import (
    PROXIMAL_FEMUR,
    check_pdf_shows_plan,
    check_sr_holds_plan,
    check_stl_holds,
    dciodvfy_errors,
    sr_items,
    sr_meaning,
)

KEY = "1.2.3.4/study-input-sha256"
"""The UIDs' key, as the service makes it (study UID / input SHA-256)."""

STANDARD_SOP_CLASSES = {
    "seg": "1.2.840.10008.5.1.4.1.1.66.4",   # Segmentation Storage
    "sr": "1.2.840.10008.5.1.4.1.1.88.34",   # Comprehensive 3D SR Storage
    "pdf": "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF Storage
    "stl": "1.2.840.10008.5.1.4.1.1.104.3",  # Encapsulated STL Storage
}
"""PS3.4 Annex B, written out here rather than taken from the code under test."""

MODEL = Path(corridor.__file__).parent / "inference" / "models" / "reference-bone-vessel"


@dataclass(frozen=True)
class Planned:
    """One case planned on the femur phantom, its CT files and the objects built from it."""

    case: Path
    ct_files: tuple[Path, ...]
    objects: tuple[ResultObject, ...]

    @property
    def plan(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.case / "plan" / "plan.json").read_text())
        return document

    @property
    def ct(self) -> Dataset:
        return pydicom.dcmread(self.ct_files[0], stop_before_pixels=True)

    def of(self, kind: str) -> Dataset:
        return next(o for o in self.objects if o.kind == kind).dataset()


def _plan(dicom: Path, out: Path, procedure: str) -> Path:
    run_case(CaseRequest(dicom=dicom, procedure=procedure, model=MODEL, out=out,
                         side=Side.LEFT, landmarks={}, audit_log=out.parent / "audit.jsonl"))
    return out


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[Path, ...]]:
    """The femur phantom's CT series (read only): its folder and its files."""
    written = write_series(make_phantom("femur", **PROXIMAL_FEMUR),
                           tmp_path_factory.mktemp("femur"))
    dicom = written.out_dir / "dicom"
    return dicom, tuple(sorted(dicom.glob("*.dcm")))


@pytest.fixture(scope="module")
def safe(series: tuple[Path, tuple[Path, ...]],
         tmp_path_factory: pytest.TempPathFactory) -> Planned:
    """A safe femoral-neck-screw plan and its objects."""
    case = _plan(series[0], tmp_path_factory.mktemp("safe") / "case", "femoral-neck-screw")
    assert json.loads((case / "case.json").read_text())["verdict"] == Verdict.SAFE.value
    return Planned(case, series[1], build_result_objects(case, series[1], key=KEY))


@pytest.fixture(scope="module")
def unsafe(series: tuple[Path, tuple[Path, ...]],
           tmp_path_factory: pytest.TempPathFactory) -> Planned:
    """The same CT planned with a vessel clearance no trajectory meets (50 mm)."""
    root = tmp_path_factory.mktemp("unsafe")
    shipped = (Path(corridor.__file__).parent / "planning" / "procedures"
               / "femoral-neck-screw.yaml").read_text(encoding="utf-8")
    assert shipped.count("    clearance_mm: 10.0\n") == 1
    template = root / "tight.yaml"
    template.write_text(shipped.replace("    clearance_mm: 10.0\n", "    clearance_mm: 50.0\n"),
                        encoding="utf-8")
    case = _plan(series[0], root / "case", str(template))
    return Planned(case, series[1], build_result_objects(case, series[1], key=KEY))


@pytest.fixture(params=["seg", "sr", "pdf", "stl"])
def kind(request: pytest.FixtureRequest) -> str:
    """Each kind of object a safe plan is stored as."""
    value: str = request.param
    return value


def test_safe_plan_gives_seg_sr_pdf_stl_of_the_standard_classes(safe: Planned) -> None:
    """In that order, each of its standard SOP class, each in its own new series."""
    assert [o.kind for o in safe.objects] == ["seg", "sr", "pdf", "stl"]
    for item in safe.objects:
        dataset = item.dataset()
        assert dataset.SOPClassUID == STANDARD_SOP_CLASSES[item.kind] == item.sop_class_uid
        assert dataset.file_meta.MediaStorageSOPClassUID == STANDARD_SOP_CLASSES[item.kind]
        assert dataset.SOPInstanceUID == item.sop_instance_uid
        assert dataset.file_meta.MediaStorageSOPInstanceUID == item.sop_instance_uid
        assert dataset.SeriesInstanceUID == item.series_instance_uid
    series = {o.series_instance_uid for o in safe.objects}
    assert len(series) == 4
    assert str(safe.ct.SeriesInstanceUID) not in series
    case_seg = pydicom.dcmread(safe.case / "segmentation" / "seg.dcm", stop_before_pixels=True)
    assert case_seg.SeriesInstanceUID not in series


def test_each_object_conforms_to_its_iod(safe: Planned, kind: str, tmp_path: Path) -> None:
    """dciodvfy reports no error."""
    path = tmp_path / f"{kind}.dcm"
    path.write_bytes(next(o for o in safe.objects if o.kind == kind).data)
    assert dciodvfy_errors(path) == []


def test_each_object_is_in_the_ct_study_and_frame(safe: Planned, kind: str) -> None:
    """Patient and study as the CT's; the CT's frame of reference where the object has one."""
    ct, dataset = safe.ct, safe.of(kind)
    for keyword in ("StudyInstanceUID", "PatientID", "PatientName", "PatientBirthDate",
                    "PatientSex", "StudyDate", "StudyTime", "StudyID", "AccessionNumber"):
        assert dataset.get(keyword) == ct.get(keyword), keyword
    if kind in ("seg", "stl"):
        assert dataset.FrameOfReferenceUID == ct.FrameOfReferenceUID
    assert "FrameOfReferenceUID" in dataset or kind in ("sr", "pdf")
    assert dataset.Modality == {"seg": "SEG", "sr": "SR", "pdf": "DOC", "stl": "M3D"}[kind]


def test_each_object_names_the_model(safe: Planned, kind: str) -> None:
    """A contributing equipment item names the model's name, version and SHA-256."""
    model = json.loads((safe.case / "case.json").read_text())["model"]
    described = [str(item.get("ContributionDescription", ""))
                 for item in safe.of(kind).ContributingEquipmentSequence]
    assert any(model["name"] in text and model["version"] in text and model["sha256"] in text
               for text in described), described


def test_sr_holds_the_trajectory_and_clearances_of_plan_json(safe: Planned) -> None:
    """Entry and tip as float32 SCOORD3D points in the CT's frame; each clearance's values."""
    assert safe.plan["verdict"] == "safe"
    check_sr_holds_plan(safe.of("sr"), safe.plan, safe.ct.FrameOfReferenceUID)


def test_sr_evidence_is_the_ct_series_and_the_seg(safe: Planned) -> None:
    """Current Requested Procedure Evidence: every CT instance and the stored SEG."""
    sr = safe.of("sr")
    referenced = {(str(series.SeriesInstanceUID), str(item.ReferencedSOPInstanceUID))
                  for study in sr.CurrentRequestedProcedureEvidenceSequence
                  for series in study.ReferencedSeriesSequence
                  for item in series.ReferencedSOPSequence}
    ct = {(str(h.SeriesInstanceUID), str(h.SOPInstanceUID))
          for h in (pydicom.dcmread(p, stop_before_pixels=True) for p in safe.ct_files)}
    seg = next(o for o in safe.objects if o.kind == "seg")
    assert referenced == ct | {(seg.series_instance_uid, seg.sop_instance_uid)}


def test_pdf_shows_the_plan_and_no_patient(safe: Planned) -> None:
    """Verdict, procedure, each clearance (structure and values); not the patient's name or
    ID, in its text or its bytes."""
    check_pdf_shows_plan(safe.of("pdf"), safe.plan, safe.ct)


def test_stl_object_holds_implant_stl(safe: Planned) -> None:
    """The encapsulated document, less its pad to even length, is implant.stl's bytes."""
    check_stl_holds(safe.of("stl"), (safe.case / "plan" / "implant.stl").read_bytes())


def test_unsafe_plan_gives_no_stl(unsafe: Planned, tmp_path: Path) -> None:
    """A plan with no safe trajectory (and so no implant.stl) is stored as SEG, SR and PDF,
    each conforming to its IOD; its SR's verdict is the plan's."""
    plan = unsafe.plan
    assert plan["verdict"] == Verdict.NO_SAFE_TRAJECTORY.value
    assert not (unsafe.case / "plan" / "implant.stl").exists()
    assert [o.kind for o in unsafe.objects] == ["seg", "sr", "pdf"]
    texts = {sr_meaning(item): str(item.TextValue) for item in sr_items(unsafe.of("sr"))
             if item.ValueType == "TEXT"}
    assert texts["Plan verdict"] == plan["verdict"]
    for item in unsafe.objects:
        path = tmp_path / f"{item.kind}.dcm"
        path.write_bytes(item.data)
        assert dciodvfy_errors(path) == [], item.kind


def test_rebuilding_gives_identical_bytes_and_another_key_other_uids(safe: Planned) -> None:
    """The same case and key: the same bytes; another key: no UID in common."""
    again = build_result_objects(safe.case, tuple(reversed(safe.ct_files)), key=KEY)
    assert [o.data for o in again] == [o.data for o in safe.objects]
    other = build_result_objects(safe.case, safe.ct_files, key=KEY + "-other")
    before = {u for o in safe.objects for u in (o.sop_instance_uid, o.series_instance_uid)}
    after = {u for o in other for u in (o.sop_instance_uid, o.series_instance_uid)}
    assert len(before) == len(after) == 8
    assert not before & after


def _relabelled(files: tuple[Path, ...], out: Path, **values: str) -> tuple[Path, ...]:
    """Copies of ``files`` with the given attributes replaced."""
    out.mkdir()
    written = []
    for path in files:
        dataset = pydicom.dcmread(path)
        for keyword, value in values.items():
            setattr(dataset, keyword, value)
        written.append(out / path.name)
        dataset.save_as(written[-1])
    return tuple(written)


def test_ct_of_another_series_or_study_is_refused(safe: Planned, tmp_path: Path) -> None:
    """The SEG references another series; the files are of two series; another study."""
    files = safe.ct_files[:3]
    other_series = _relabelled(files, tmp_path / "series", SeriesInstanceUID="1.2.3.4.5")
    with pytest.raises(ResultObjectError) as refused:
        build_result_objects(safe.case, other_series, key=KEY)
    assert refused.value.field == "ReferencedSeriesSequence"
    assert refused.value.found == [str(safe.ct.SeriesInstanceUID)]
    assert "1.2.3.4.5" in refused.value.expected

    with pytest.raises(ResultObjectError) as mixed:
        build_result_objects(safe.case, (*safe.ct_files[3:5], *other_series), key=KEY)
    assert mixed.value.field == "SeriesInstanceUID"
    assert "1.2.3.4.5" in str(mixed.value.found)

    other_study = _relabelled(files, tmp_path / "study", StudyInstanceUID="1.2.3.4.6")
    with pytest.raises(ResultObjectError) as study:
        build_result_objects(safe.case, other_study, key=KEY)
    assert study.value.field == "StudyInstanceUID"
    assert "1.2.3.4.6" in study.value.expected


def test_ct_files_other_than_the_planned_ones_are_refused(safe: Planned) -> None:
    """Part of the series (same series UID): the files' SHA-256 differ from the case's."""
    with pytest.raises(ResultObjectError) as refused:
        build_result_objects(safe.case, safe.ct_files[:-1], key=KEY)
    assert refused.value.field == "inputs.dicom_sha256"


def test_changed_case_folder_is_refused(safe: Planned, tmp_path: Path) -> None:
    """A plan.json edited after the run: the folder no longer matches its case.json."""
    copy = tmp_path / "case"
    shutil.copytree(safe.case, copy)
    plan = json.loads((copy / "plan" / "plan.json").read_text())
    plan["verdict"] = "no-safe-trajectory"
    (copy / "plan" / "plan.json").write_text(json.dumps(plan))
    with pytest.raises(ResultObjectError) as refused:
        build_result_objects(copy, safe.ct_files, key=KEY)
    assert refused.value.field == "outputs"
    assert refused.value.where == copy / "case.json"
