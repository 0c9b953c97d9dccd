"""Step definitions of ``verification/features/segmentation/formats.feature``.

Verifies planning on segmentations made elsewhere: the same phantom through TotalSegmentator's
three formats and 3D Slicer's gives the plan made on Corridor's own naming of the same labels;
labels found by name whatever their numbers; segmentations without usable names refused;
geometry that is not the CT's refused, another grid of the same scan resampled by nearest
neighbour; a risk structure the segmentation lacks reported as not checked; femoral heads found
on a TotalSegmentator folder's own femur labels when no landmark is given, and the plan then
within the tolerance SRS-SEG-003 states (twice the bound on what a found head changes of any
clearance) of the plan with the true landmarks.

Oracles: the phantom's truth labels and its analytic anatomy (the fixtures are written from them
by :mod:`verification.segmentation.helpers`, not by the code under test; the femoral heads'
centres and radii from :func:`corridor_phantoms.anatomy.build_anatomy`), the plan on the truth
labels as Corridor names them, and index arithmetic for the nearest-neighbour resampling.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap, SegmentationMismatchError, fit_to_ct
from corridor.planning import Landmark, Side, Trajectory, load_procedure
from corridor.planning.clearance import measure_clearances
from corridor.planning.external import read_external
from corridor.planning.prepare import prepare_case
from corridor.planning.roles import load_role_table, map_roles
from corridor_phantoms import make_phantom, write_series
from corridor_phantoms.anatomy import build_anatomy
from corridor_phantoms.enum import Label, PhantomKind
from verification.command_run import run_corridor
from verification.segmentation.helpers import (
    TS_TOTAL_IDS,
    split_truth,
    write_dicom_seg,
    write_multilabel_nifti,
    write_slicer_seg_nrrd,
    write_ts_folder,
)

scenarios("segmentation/formats.feature")

_PROCEDURES = {"acetabular screw": "acetabular-screw", "femoral-neck screw": "femoral-neck-screw"}


class Pelvis:
    """The pelvis phantom written once for the module, its formats written when first asked."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written = write_series(make_phantom("pelvis"), root / "pelvis")
        phantom = self.written.phantom
        self.labels, self.geometry = phantom.labels, phantom.geometry
        self.masks = split_truth(self.labels, self.geometry, "pelvis")
        self.landmarks = root / "pelvis" / "truth" / "landmarks.json"
        self.truth = root / "pelvis" / "truth" / "labels.seg.nrrd"
        self.formats: dict[str, Path] = {}
        self.plans: dict[tuple[str, ...], tuple[int, str, dict[str, Any]]] = {}

    def written_as(self, name: str) -> Path:
        if name not in self.formats:
            path = self.root / name
            writers = {
                "ts-folder": lambda: write_ts_folder(self.masks, self.geometry, path),
                "ts-multilabel": lambda: write_multilabel_nifti(
                    self.masks, self.geometry, path := self.root / f"{name}.nii.gz"),
                "ts-dicom-seg": lambda: write_dicom_seg(
                    self.masks, self.written.out_dir / "dicom", self.root / f"{name}.dcm"),
                "slicer-seg-nrrd": lambda: write_slicer_seg_nrrd(
                    self.masks, self.geometry, self.root / f"{name}.seg.nrrd"),
            }
            writers[name]()
            suffix = {"ts-folder": "", "ts-multilabel": ".nii.gz", "ts-dicom-seg": ".dcm",
                      "slicer-seg-nrrd": ".seg.nrrd"}[name]
            self.formats[name] = self.root / f"{name}{suffix}"
        return self.formats[name]

    def plan(self, source: Path, procedure: str, side: str, extra: tuple[str, ...] = (),
             *, landmarks: bool = True) -> tuple[int, str, dict[str, Any]]:
        """``corridor plan-trajectory`` on ``source`` (cached), with the phantom's landmarks
        file unless ``landmarks`` is false."""
        key = (str(source), procedure, side, *extra, str(landmarks))
        if key not in self.plans:
            out = self.root / f"plan-{len(self.plans)}"
            given = ["--landmarks", str(self.landmarks)] if landmarks else []
            done = run_corridor(["plan-trajectory", str(source), "--procedure", procedure,
                                 "--side", side, *given, "--out", str(out), *extra])
            document = (json.loads((out / "plan.json").read_text(encoding="utf-8"))
                        if (out / "plan.json").exists() else {})
            document["_out"] = str(out)
            self.plans[key] = (done.status, done.stdout + done.stderr, document)
        return self.plans[key]


@pytest.fixture(scope="module")
def pelvis(tmp_path_factory: pytest.TempPathFactory) -> Pelvis:
    """The pelvis phantom and its truth, written once for this module's scenarios."""
    return Pelvis(tmp_path_factory.mktemp("segmentation"))


@pytest.fixture
def context() -> dict[str, Any]:
    """What one scenario built."""
    return {}


@given(parsers.parse('the pelvis phantom\'s truth labels written as "{name}"'))
def written_as(pelvis: Pelvis, context: dict[str, Any], name: str) -> None:
    """One of the four formats."""
    context["source"] = pelvis.written_as(name)


@when(parsers.parse("corridor plan-trajectory plans the {procedure} on the {side} on it"))
def plan_on_it(pelvis: Pelvis, context: dict[str, Any], procedure: str, side: str) -> None:
    """In process; the landmarks are the phantom's truth."""
    context["run"] = pelvis.plan(context["source"], _PROCEDURES[procedure], side,
                                 tuple(context.get("extra", ())))


@when(parsers.parse("corridor plan-trajectory plans the {procedure} on the {side} on it with no "
                    "landmarks file"))
def plan_finding(pelvis: Pelvis, context: dict[str, Any], procedure: str, side: str) -> None:
    """In process, neither --landmarks nor --landmark: the heads are found; the plan with the
    phantom's landmarks given is made too, for comparison."""
    context["run"] = pelvis.plan(context["source"], _PROCEDURES[procedure], side,
                                 landmarks=False)
    context["given"] = pelvis.plan(context["source"], _PROCEDURES[procedure], side)
    context["procedure"], context["side"] = _PROCEDURES[procedure], side


@then(parsers.parse("it exits with status 0 and plan.json records both femoral heads as found, "
                    "each within {limit:f} mm of the phantom's (centre and radius)"))
def heads_found(context: dict[str, Any], limit: float) -> None:
    """Against the phantom's anatomy (build_anatomy), not the finder; listed in the summary."""
    status, output, document = context["run"]
    assert status == 0, output
    recorded = {m["name"]: m for m in document["inputs"]["landmarks"]}
    anatomy = {m.name: m for m in build_anatomy(PhantomKind.PELVIS).landmarks}
    assert set(recorded) == set(anatomy) == {"left-femoral-head", "right-femoral-head"}
    for name, truth in anatomy.items():
        found = recorded[name]
        assert found["source"] == "found", found
        assert math.dist(found["centre_lps_mm"], truth.centre) <= limit, (name, found)
        assert abs(found["radius_mm"] - truth.radius) <= limit, (name, found)
        assert f"landmark {name} (found)" in output, output


def _trajectory(document: dict[str, Any]) -> Trajectory:
    implant = document["trajectory"]
    return Trajectory(np.asarray(implant["entry_lps_mm"], dtype=np.float64),
                      np.asarray(implant["direction_lps"], dtype=np.float64),
                      float(implant["length_mm"]), float(implant["diameter_mm"]))


@then(parsers.parse("its plan and the plan with the phantom's landmarks given agree: entry and tip "
                    "within {mm:f} mm, direction within {degrees:f} degrees"))
def plans_agree(context: dict[str, Any], mm: float, degrees: float) -> None:
    """Both safe; distances between the entries and the tips, the angle between the axes."""
    found, given = context["run"][2], context["given"][2]
    assert found["verdict"] == given["verdict"] == "safe", context["given"][1]
    first, second = _trajectory(found), _trajectory(given)
    figures = {"entry_mm": float(np.linalg.norm(first.entry - second.entry)),
               "tip_mm": float(np.linalg.norm(first.tip - second.tip)),
               "angle_deg": float(np.degrees(np.arccos(np.clip(
                   first.direction @ second.direction, -1.0, 1.0))))}
    assert figures["entry_mm"] <= mm, figures
    assert figures["tip_mm"] <= mm, figures
    assert figures["angle_deg"] <= degrees, figures


@then("each of the two trajectories, measured with the other plan's landmarks, meets every "
      "clearance")
def measured_with_other(context: dict[str, Any]) -> None:
    """The planner's clearance measure on the same segmentation, its regions (the hip joint's
    sphere among them) resolved from the other plan's landmarks."""
    found, given = context["run"][2], context["given"][2]
    label_map = read_external(context["source"]).label_map
    procedure = load_procedure(context["procedure"])
    for implant, marks in ((found, given), (given, found)):
        landmarks = {m["name"]: Landmark(m["name"], tuple(m["centre_lps_mm"]), m["radius_mm"])
                     for m in marks["inputs"]["landmarks"]}
        prepared = prepare_case(label_map, procedure, side=Side(context["side"]),
                                landmarks=landmarks)
        measured = measure_clearances(prepared.problem, _trajectory(implant), step_mm=0.1,
                                      cap_mm=prepared.cap_mm)
        assert len(measured) == 4
        for clearance in measured:
            assert clearance.margin_mm >= 0.0, (clearance.structure, clearance.guaranteed_mm,
                                                clearance.required_mm)


def _ends(document: dict[str, Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
    implant = document.get("trajectory") or document["best_candidate"]
    return np.array([implant["entry_lps_mm"], implant["tip_lps_mm"]], dtype=np.float64)


@then("it exits with status 0 and its plan is the plan on Corridor's own labels, entry and tip "
      "within 0.01 mm")
def same_plan(pelvis: Pelvis, context: dict[str, Any]) -> None:
    """Against the plan on truth/labels.seg.nrrd (cortical-bone, cancellous-bone, vessel)."""
    status, output, document = context["run"]
    assert status == 0, output
    own_status, own_output, own = pelvis.plan(pelvis.truth, "acetabular-screw", "left")
    assert own_status == 0, own_output
    assert document["verdict"] == own["verdict"] == "safe"
    assert np.max(np.abs(_ends(document) - _ends(own))) <= 0.01, (_ends(document), _ends(own))
    assert document["not_checked"] == []


@then(parsers.parse('plan.json records the role table\'s version and SHA-256, and each label\'s '
                    'role by "{matched}"'))
def roles_recorded(context: dict[str, Any], matched: str) -> None:
    """The table's identity is the shipped file's; every class has its role, none ignored."""
    import hashlib
    from importlib.resources import files

    document = context["run"][2]
    table = document["roles"]["table"]
    shipped = (files("corridor.planning") / "roles.yaml").read_bytes()
    assert table["sha256"] == hashlib.sha256(shipped).hexdigest()
    assert table["version"] == load_role_table().version
    labels = document["roles"]["labels"]
    assert sorted(item["role"] for item in labels) == (["bone"] * 3 + ["femur"] * 2
                                                       + ["iliac-vessel"] * 2)
    assert all(item["matched_by"].startswith(matched) for item in labels), labels
    sides = {item["name"]: item["side"] for item in labels}
    assert sum(1 for s in sides.values() if s == "left") == 3, sides


@given("the pelvis phantom's truth labels written as a multi-label NIfTI numbered as no version "
       "numbers them, with its label table")
def renumbered(pelvis: Pelvis, context: dict[str, Any]) -> None:
    """Every class at another number (from 26, where total_v3 has vertebrae_L6)."""
    ids = {name: 26 + n for n, name in enumerate(sorted(TS_TOTAL_IDS, reverse=True))}
    assert all(ids[name] != number for name, number in TS_TOTAL_IDS.items())
    path = pelvis.root / "renumbered.nii.gz"
    write_multilabel_nifti(pelvis.masks, pelvis.geometry, path, ids=ids)
    context["source"] = path


@then('the voxels given the role "bone" are the phantom\'s bone voxels and those given '
      '"iliac-vessel" its vessel voxels')
def found_by_name(pelvis: Pelvis, context: dict[str, Any]) -> None:
    """Against the truth label values."""
    read = read_external(context["source"])
    mapping = map_roles(read.label_map.names, read.codes)
    labels = read.label_map.labels
    bone = np.isin(pelvis.labels, [Label.CORTICAL_BONE, Label.CANCELLOUS_BONE])
    assert np.array_equal(np.isin(labels, mapping.values(["bone"])), bone)
    assert np.array_equal(np.isin(labels, mapping.values(["iliac-vessel"])),
                          pelvis.labels == Label.VESSEL)


@given(parsers.parse("the pelvis phantom's truth labels written as a multi-label NIfTI with "
                     "{names}"))
def unusable_names(pelvis: Pelvis, context: dict[str, Any], names: str) -> None:
    """No table; TotalSegmentator's own placeholders (its label_map None); or a disagreeing
    class map."""
    path = pelvis.root / f"names-{names.split()[0].strip(chr(39) + 's')}.nii.gz"
    if names.startswith("no label table"):
        write_multilabel_nifti(pelvis.masks, pelvis.geometry, path, table={})
    elif names.startswith("TotalSegmentator's placeholder"):
        write_multilabel_nifti(pelvis.masks, pelvis.geometry, path,
                               table={v: f"L{v}" for v in sorted(TS_TOTAL_IDS.values())})
    else:
        write_multilabel_nifti(pelvis.masks, pelvis.geometry, path)
        swapped = {v: k for k, v in TS_TOTAL_IDS.items()}
        swapped[77], swapped[65] = "iliac_artery_left", "hip_left"
        class_map = pelvis.root / "class-map.json"
        class_map.write_text(json.dumps({str(k): v for k, v in swapped.items()}))
        context["extra"] = ("--class-map", str(class_map))
    context["source"] = path


@then(parsers.parse('it exits with status 2 and the message names "{named}"'))
def refused_input(context: dict[str, Any], named: str) -> None:
    """Nothing planned."""
    status, output, document = context["run"]
    assert status == 2, output
    assert named in output, output
    assert "verdict" not in document


@given("a 24 x 20 x 12 label map on the CT's grid, and the CT")
def small_grid(context: dict[str, Any]) -> None:
    """An oblique-free CT grid of anisotropic spacing with its frame of reference."""
    ct = ImageGeometry.from_components(shape=(24, 20, 12), spacing=(1.0, 1.25, 2.0),
                                       direction=np.eye(3), origin=(-12.0, -10.0, 30.0))
    context["ct"] = ImageGeometry(ct.affine, ct.shape, frame_of_reference_uid="1.2.826.0.1.1")
    rng = np.random.default_rng(19)
    context["labels"] = rng.integers(0, 3, size=(24, 20, 12), dtype=np.uint8)


def _moved(ct: ImageGeometry, change: str) -> ImageGeometry:
    affine = ct.affine.copy()
    frame = ct.frame_of_reference_uid
    if change == "shifted by 0.6 mm along x":
        affine[0, 3] += 0.6
    elif change == "flipped along its first axis":
        affine[:3, 3] += (ct.shape[0] - 1) * affine[:3, 0]
        affine[:3, 0] = -affine[:3, 0]
    elif change == "given another frame of reference":
        frame = "1.2.826.0.1.2"
    else:
        affine[0, 3] += 40.0
    return ImageGeometry(affine, ct.shape, frame_of_reference_uid=frame)


@when(parsers.parse("the segmentation is {changed} and fitted to the CT"))
def fitted(context: dict[str, Any], changed: str) -> None:
    """Keeping a refusal."""
    ct: ImageGeometry = context["ct"]
    labels = context["labels"]
    if changed.startswith("on a grid of twice the spacing"):
        coarse = labels[::2, ::2, ::2].copy()
        affine = ct.affine.copy()
        affine[:3, :3] *= 2.0
        affine[:3, 3] += 0.5 * (ct.affine[:3, 0] + ct.affine[:3, 1] + ct.affine[:3, 2])
        geometry = ImageGeometry(affine, coarse.shape, frame_of_reference_uid=None)
        context["coarse"] = coarse
        segmentation = LabelMap(coarse, geometry, ("background", "bone", "vessel"))
    elif changed.startswith("cropped"):
        moved = _moved(ct, changed)
        segmentation = LabelMap(labels[:12, :10, :6].copy(),
                                ImageGeometry(moved.affine, (12, 10, 6)),
                                ("background", "bone", "vessel"))
    else:
        segmentation = LabelMap(labels, _moved(ct, changed), ("background", "bone", "vessel"))
    try:
        context["fitted"] = fit_to_ct(segmentation, ct)
    except SegmentationMismatchError as exc:
        context["error"] = exc


@then(parsers.parse('it is refused naming "{reason}" and both geometries'))
def refused_geometry(context: dict[str, Any], reason: str) -> None:
    """The message holds the reason, the segmentation's origin and the CT's."""
    error = context.get("error")
    assert error is not None, context.get("fitted")
    text = str(error)
    assert reason in text, text
    assert "segmentation shape" in text, text
    assert "the CT's: shape" in text, text


@then("each CT voxel has the label of the coarse voxel holding its centre")
def nearest(context: dict[str, Any]) -> None:
    """Coarse voxel n holds fine voxels 2n and 2n + 1 (its centre lies half-way between)."""
    fitted, record = context["fitted"]
    assert record is not None
    coarse = context["coarse"]
    expected = coarse.repeat(2, axis=0).repeat(2, axis=1).repeat(2, axis=2)
    assert np.array_equal(fitted.labels, expected)
    assert fitted.geometry.same_as(context["ct"])


@then(parsers.parse('the resampling is recorded as "{method}" for review'))
def recorded(context: dict[str, Any], method: str) -> None:
    """What it was resampled from, how, and that it needs review."""
    _, record = context["fitted"]
    assert record["method"] == method
    assert record["from"]["spacing_mm_ijk"] == [2.0, 2.5, 4.0]
    assert "review" in record


@then(parsers.parse('it exits with status {status:d} and the verdict is "{verdict}"'))
def exits_with_verdict(context: dict[str, Any], status: int, verdict: str) -> None:
    """Exit status and plan.json agree."""
    code, output, document = context["run"]
    assert code == status, output
    assert document["verdict"] == verdict


@then(parsers.parse('plan.json lists "{structure}" as "{status}", and so does the summary'))
def listed_not_checked(context: dict[str, Any], structure: str, status: str) -> None:
    """In plan.json's not_checked and in the printed summary."""
    _, output, document = context["run"]
    assert [item["structure"] for item in document["not_checked"]] == [structure]
    assert document["not_checked"][0]["status"] == status
    assert structure in output, output
    assert status in output, output
    assert structure not in {c["structure"] for c in document["clearances"]}


@then(parsers.parse('the independent re-check checked no structure the search did not, and '
                    'neither "{structure}"'))
def same_structures(context: dict[str, Any], structure: str) -> None:
    """The re-check's items are the search's clearances, less the tip (measured otherwise)."""
    document = context["run"][2]
    rechecked = {item["structure"] for item in document["recheck"]["items"]}
    searched = {c["structure"] for c in document["clearances"]} - {"tip-to-cortex"}
    assert rechecked == searched, (rechecked, searched)
    assert structure not in rechecked


@then("no implant surface is written")
def no_implant(context: dict[str, Any]) -> None:
    """A plan not fully checked is never handed out as a surface to navigate by."""
    document = context["run"][2]
    assert not (Path(document["_out"]) / "implant.stl").exists()
    assert {f["name"] for f in document["files"]} == {"plan.json", "risk-map.png"}


def _coarse_or_shifted(pelvis: Pelvis, how: str) -> Path:
    geometry = pelvis.geometry
    affine = geometry.affine.copy()
    masks = dict(pelvis.masks)
    if how == "coarse":
        affine[:3, :3] *= 2.0
        affine[:3, 3] += 0.5 * (geometry.affine[:3, 0] + geometry.affine[:3, 1]
                                + geometry.affine[:3, 2])
        masks = {k: v[::2, ::2, ::2] for k, v in masks.items()}
        shape = next(iter(masks.values())).shape
    else:
        affine[0, 3] += 0.6
        shape = geometry.shape
    folder = pelvis.root / f"ts-{how}"
    if not folder.exists():
        write_ts_folder(masks, ImageGeometry(affine, (shape[0], shape[1], shape[2])), folder)
    return folder


@given("the pelvis phantom's truth labels written as a TotalSegmentator folder on a grid of twice "
       "the CT's spacing")
def coarse_folder(pelvis: Pelvis, context: dict[str, Any]) -> None:
    """Every other voxel of the truth, on the grid whose voxels hold 2 x 2 x 2 of the CT's."""
    context["source"] = _coarse_or_shifted(pelvis, "coarse")


@given("the pelvis phantom's truth labels written as a TotalSegmentator folder shifted by 0.6 mm "
       "along x")
def shifted_folder(pelvis: Pelvis, context: dict[str, Any]) -> None:
    """The CT's grid, its origin moved 0.6 mm along LPS x."""
    context["source"] = _coarse_or_shifted(pelvis, "shifted")


@when(parsers.parse("corridor plan is run on the phantom's CT with that segmentation for the "
                    "{procedure} on the {side}"))
def corridor_plan(pelvis: Pelvis, context: dict[str, Any], procedure: str, side: str) -> None:
    """In process, with its own audit log."""
    out = pelvis.root / f"case-{context['source'].name}"
    context["out"], context["audit"] = out, pelvis.root / f"audit-{context['source'].name}.jsonl"
    done = run_corridor(["plan", str(pelvis.written.out_dir / "dicom"), "--segmentation",
                         str(context["source"]), "--procedure", _PROCEDURES[procedure],
                         "--side", side, "--landmarks", str(pelvis.landmarks), "--out", str(out),
                         "--audit-log", str(context["audit"])])
    context["case"] = (done.status, done.stdout + done.stderr)


@then(parsers.parse("it exits with status {status:d} and case.json, plan.json and the audit record "
                    "record the nearest-neighbour resampling"))
def resampling_recorded(context: dict[str, Any], status: int) -> None:
    """The same record in the three places."""
    code, output = context["case"]
    assert code == status, output
    case = json.loads((context["out"] / "case.json").read_text(encoding="utf-8"))
    plan = json.loads((context["out"] / "plan" / "plan.json").read_text(encoding="utf-8"))
    audit = json.loads(context["audit"].read_text(encoding="utf-8").splitlines()[-1])
    assert case["verdict"] == plan["verdict"] == audit["outcome"] == "not-fully-checked"
    for record in (case["segmentation"], plan["segmentation"], audit["segmentation"]):
        assert record["resampling"]["method"] == "nearest neighbour", record
        assert record["resampling"]["from"]["spacing_mm_ijk"] == [3.0, 3.0, 4.0]
        assert record["format"] == "totalsegmentator-folder"
    context["case_json"] = case


@then(parsers.parse('the case is flagged "{code}" for review'))
def flagged(context: dict[str, Any], code: str) -> None:
    """In case.json's flags and the printed summary."""
    assert code in {f["code"] for f in context["case_json"]["flags"]}
    assert code in context["case"][1]


@then(parsers.parse('report.html lists "{structure}" as "{status}"'))
def report_lists(context: dict[str, Any], structure: str, status: str) -> None:
    """The report's text."""
    html = (context["out"] / "report.html").read_text(encoding="utf-8")
    assert f"{structure}: <strong>{status}</strong>" in html


@then(parsers.parse('it exits with status 2 naming "{reason}" and both geometries, and writes no '
                    'case folder'))
def case_refused(context: dict[str, Any], reason: str) -> None:
    """The message names the shift, the segmentation's geometry and the CT's."""
    code, output = context["case"]
    assert code == 2, output
    flat = " ".join(output.split())
    assert reason in flat, output
    assert "segmentation shape" in flat, output
    assert "the CT's: shape" in flat, output
    assert not context["out"].exists()


@when(parsers.parse("a copy of the folder is changed: {change}"))
def changed_copy(pelvis: Pelvis, context: dict[str, Any], change: str,
                 tmp_path: Path) -> None:
    """The fixture's folder copied (never changed in place), then changed with nibabel."""
    import shutil

    import nibabel

    copy = tmp_path / "ts-folder"
    shutil.copytree(context["source"], copy)
    artery = copy / "iliac_artery_left.nii.gz"
    if change == "a mask of a class the role table does not know is added":
        shutil.copyfile(copy / "hip_left.nii.gz", copy / "liver.nii.gz")
    elif change == "one voxel of the left iliac artery's mask is set":
        image = nibabel.load(artery)
        data = np.asarray(image.dataobj).copy()
        outside = np.argwhere(data == 0)[0]
        data[tuple(outside)] = 1
        nibabel.save(nibabel.Nifti1Image(data, image.affine, image.header), artery)
    elif change == "an empty mask of the left iliac vein is added":
        image = nibabel.load(artery)
        empty = np.zeros(image.shape, dtype=np.asarray(image.dataobj).dtype)
        nibabel.save(nibabel.Nifti1Image(empty, image.affine, image.header),
                     copy / "iliac_vena_left.nii.gz")
    else:
        assert change == "nothing", change
    context["copy"] = copy


@when("corridor plan-check is run on the plan with the copy as its label map")
def plan_check_copy(context: dict[str, Any]) -> None:
    """In process, on the plan made on the fixture's own folder."""
    status, output, document = context["run"]
    assert status == 0, output
    done = run_corridor(["plan-check", document["_out"], "--label-map", str(context["copy"]),
                         "--procedure", "acetabular-screw"])
    context["check"] = done


@then(parsers.parse("plan-check finds the plan {outcome}"))
def plan_check_outcome(context: dict[str, Any], outcome: str) -> None:
    """Current: exit 0 and says so; stale: exit 4 naming the label map and both hashes."""
    done = context["check"]
    if outcome.startswith("current"):
        assert done.status == 0, (done.stdout, done.stderr)
        assert done.stdout.startswith("current:"), done.stdout
    else:
        assert outcome.startswith("stale"), outcome
        assert done.status == 4, (done.stdout, done.stderr)
        assert "label map ts-folder has SHA-256" in done.stderr, done.stderr
        assert "the plan was made on" in done.stderr, done.stderr
