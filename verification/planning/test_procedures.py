"""Step definitions of ``verification/features/planning/procedures.feature``.

Verifies the shipped procedures on the anatomical phantoms: side, vessel, bone and
femoral-head clearances, the written implant surface, the risk map and provenance, the
plan made on the reference model's labels judged against the true anatomy, and the
phantoms' truth files the plans are made on.

Oracles: the phantoms' analytic anatomy from their manifests (signed distance functions of
bones, vessels and femoral heads), the landmarks written as ground truth, VTK's STL reader
for the written implant, and hashlib for the recorded label-map hash.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when
from vtkmodules.vtkIOGeometry import vtkSTLReader

from corridor.planning import SHIPPED_PROCEDURES, load_landmarks, load_procedure
from corridor_phantoms.anatomy import build_anatomy
from corridor_phantoms.enum import PhantomKind
from verification.planning.helpers import Case, plan_document, run_command
from verification.planning.phantoms import implant_volume_points

scenarios("planning/procedures.feature")


REFERENCE_MODEL = (Path(__file__).parents[2] / "software" / "corridor" / "inference" / "models"
                   / "reference-bone-vessel")


@then(parsers.parse('it exits with status {status:d} and the verdict is "{verdict}"'))
def exits_with_verdict(case: Case, status: int, verdict: str) -> None:
    """Exit status and plan.json agree."""
    assert case.status == status, (case.status, case.stdout, case.stderr)
    assert case.out is not None
    case.plans["cli"] = plan_document(case.out)
    assert case.plans["cli"]["verdict"] == verdict


@then(parsers.parse('it exits with status {status:d} and plan.json names the failed constraint '
                    '"{constraint}"'))
def exits_failing(case: Case, status: int, constraint: str) -> None:
    """No safe trajectory, with the reason."""
    assert case.status == status, (case.status, case.stdout, case.stderr)
    assert case.out is not None
    document = plan_document(case.out)
    assert document["verdict"] == "no-safe-trajectory"
    assert constraint in document["failed_constraints"], document["failed_constraints"]
    assert not (case.out / "implant.stl").exists()


def _anatomy(case: Case) -> Any:
    return build_anatomy(PhantomKind(case.document["kind"]))


def _implant(document: dict[str, Any]) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                                 float, float]:
    trajectory = document.get("trajectory") or document["best_candidate"]
    entry = np.asarray(trajectory["entry_lps_mm"])
    tip = np.asarray(trajectory["tip_lps_mm"])
    return entry, tip, float(trajectory["length_mm"]), float(trajectory["diameter_mm"])


@then(parsers.parse("the entry and the tip lie on the {side} side of the patient"))
def on_side(case: Case, side: str) -> None:
    """LPS +x is the patient's left; the anatomy's midline is its centre's x."""
    entry, tip, _, _ = _implant(case.plans["cli"])
    anatomy = _anatomy(case)
    if case.document["kind"] == "pelvis":
        sign = 1.0 if side == "left" else -1.0
        assert sign * (entry[0] - anatomy.centre[0]) > 0
        assert sign * (tip[0] - anatomy.centre[0]) > 0
    else:  # one left femur: its head is medial (towards -x) of the lateral cortex
        assert side == "left"
        assert tip[0] < entry[0]


def _axis_points(document: dict[str, Any], start: float, stop: float) -> NDArray[np.float64]:
    entry, tip, length, _ = _implant(document)
    direction = (tip - entry) / length
    t = np.arange(start, stop + 1e-9, 0.1)
    return np.asarray(entry + t[:, None] * direction)


def _volume_points(document: dict[str, Any]) -> NDArray[np.float64]:
    from corridor.planning import Trajectory

    entry, tip, length, diameter = _implant(document)
    trajectory = Trajectory(entry, (tip - entry) / length, length, diameter)
    return implant_volume_points(trajectory)[0]


def _half_diagonal(case: Case) -> float:
    assert case.written is not None
    spacing = case.written.phantom.geometry.spacing
    return 0.5 * math.sqrt(sum(s * s for s in spacing))


@then("the implant volume keeps each required clearance from the analytic vessels, less the "
      "voxel half-diagonal")
def clear_of_vessels(case: Case) -> None:
    """Exact capsule SDFs of the phantom's vessels at dense implant points."""
    document = case.plans["cli"]
    required = {c["structure"]: c["required_mm"] for c in document["clearances"]}
    vessel_key = next(k for k in required if "vessels" in k)
    anatomy = _anatomy(case)
    points = _volume_points(document)
    nearest = np.min(np.stack([v.sdf(points) for v in anatomy.vessels]))
    assert nearest >= required[vessel_key] - _half_diagonal(case), (nearest, required)


@then("the axis beyond the entry zone and up to the tip-to-cortex allowance lies inside the "
      "analytic bone")
def inside_bone(case: Case) -> None:
    """Union of the bones' SDFs <= 0 (within half a voxel diagonal for the voxel model)."""
    document = case.plans["cli"]
    template = document["inputs"]["procedure"]["template"]
    zone = template["corridor"]["entry_zone_mm"]
    _, _, length, _ = _implant(document)
    allowance = template["implant"]["tip_to_cortex_mm"]
    points = _axis_points(document, zone, length + allowance)
    anatomy = _anatomy(case)
    bone = np.min(np.stack([b.sdf(points) for b in anatomy.bones]), axis=0)
    assert np.max(bone) <= _half_diagonal(case), np.max(bone)


@then("the implant keeps the required clearance from the femoral head")
def clear_of_head(case: Case) -> None:
    """The joint space is the head sphere grown by the template's 3 mm."""
    document = case.plans["cli"]
    required = {c["structure"]: c["required_mm"] for c in document["clearances"]}
    side = document["side"]
    head = next(m for m in load_landmarks(case.files["landmarks"]).values()
                if m.name == f"{side}-femoral-head")
    points = _volume_points(document)
    distance = np.linalg.norm(points - np.asarray(head.centre_lps_mm), axis=1) - (24.0 + 3.0)
    assert distance.min() >= required["hip-joint"] - _half_diagonal(case), distance.min()


@then("the tip lies inside the femoral head")
def tip_in_head(case: Case) -> None:
    """Within the head sphere, deeper than the tip-to-cortex allowance less a voxel."""
    document = case.plans["cli"]
    side = document["side"]
    head = next(m for m in load_landmarks(case.files["landmarks"]).values()
                if m.name == f"{side}-femoral-head")
    _, tip, _, _ = _implant(document)
    assert np.linalg.norm(tip - np.asarray(head.centre_lps_mm)) <= 24.0 - 8.0 + \
        _half_diagonal(case)


@then("implant.stl is a closed surface enclosing the implant between the planned entry and tip")
def implant_stl(case: Case) -> None:
    """Read with VTK's STL reader; closed and manifold; the axis ends are inside it."""
    assert case.out is not None
    reader = vtkSTLReader()
    reader.SetFileName(str(case.out / "implant.stl"))
    reader.Update()
    from vtkmodules.util.numpy_support import vtk_to_numpy

    polydata = reader.GetOutput()
    points = vtk_to_numpy(polydata.GetPoints().GetData()).astype(np.float64)
    triangles = vtk_to_numpy(polydata.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    entry, tip, length, diameter = _implant(case.plans["cli"])
    direction = (tip - entry) / length
    along = (points - entry) @ direction
    radial = np.linalg.norm(points - entry - along[:, None] * direction, axis=1)
    assert along.min() == pytest.approx(0.0, abs=1e-3)
    assert along.max() == pytest.approx(length, abs=1e-3)
    assert radial.max() >= diameter / 2 - 1e-4
    directed = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    assert len({tuple(e) for e in directed.tolist()}) == len(directed)  # consistent winding
    reverse = {(b, a) for a, b in directed.tolist()}
    assert all((a, b) in reverse for a, b in directed.tolist())  # closed: every edge paired
    corners = points[triangles]
    volume = float(np.sum(np.einsum("ij,ij->i", corners[:, 0],
                                    np.cross(corners[:, 1], corners[:, 2])))) / 6.0
    assert volume >= math.pi * (diameter / 2) ** 2 * length  # outward normals, holds the implant


@then("risk-map.png is a PNG image and plan.json records the label map's SHA-256, the template "
      "and the landmarks")
def png_and_provenance(case: Case) -> None:
    """PNG signature; hash recomputed from the file."""
    import hashlib

    assert case.out is not None
    assert (case.out / "risk-map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    document = case.plans["cli"]
    recorded = document["inputs"]
    assert recorded["label_map"]["sha256"] == hashlib.sha256(
        case.files["labels"].read_bytes()).hexdigest()
    assert recorded["procedure"]["template"]["name"] == document["procedure"]
    assert {m["name"] for m in recorded["landmarks"]} >= {f"{document['side']}-femoral-head"}
    assert all(m["source"] == "given" and m["fit"] is None for m in recorded["landmarks"])
    assert document["software"]["name"] == "corridor"


@given("it is segmented by the reference model")
def segment(case: Case) -> None:
    """corridor infer with the shipped reference model (CPU)."""
    assert case.written is not None
    out = case.root / "segmentation"
    run_command(case, ["infer", str(case.written.out_dir / "dicom"), "--model",
                       str(REFERENCE_MODEL), "--out", str(out), "--device", "cpu"])
    assert case.status == 0, case.stderr
    case.files["model_labels"] = out / "seg.dcm"


@when("the acetabular screw is planned on the left from both the model's labels and the "
      "ground-truth labels")
def plan_both(case: Case) -> None:
    """Two runs of corridor plan-trajectory --json."""
    for name, labels in (("model", case.files["model_labels"]), ("truth", case.files["labels"])):
        out = case.root / f"plan-{name}"
        run_command(case, ["plan-trajectory", str(labels), "--procedure", "acetabular-screw",
                           "--side", "left", "--landmarks", str(case.files["landmarks"]),
                           "--out", str(out), "--json"])
        assert case.status == 0, (case.stdout, case.stderr)
        case.plans[name] = json.loads(case.stdout)
        assert case.plans[name] == plan_document(out)


@then("both plans are safe and confirmed by the re-check")
def both_safe(case: Case) -> None:
    """Verdict and re-check of each."""
    for document in case.plans.values():
        assert document["verdict"] == "safe"
        assert document["recheck"]["passed"]


@then("the model plan's implant keeps each required clearance from the analytic vessels and "
      "femoral head, less the voxel half-diagonal")
def model_plan_on_truth(case: Case) -> None:
    """The plan made on the model's labels, judged against the true anatomy."""
    case.plans["cli"] = case.plans["model"]
    clear_of_vessels(case)
    clear_of_head(case)


@then("the difference in each clearance between the two plans is reported")
def report_difference(case: Case, record_property: Any) -> None:
    """Written to the JUnit XML as properties (and printed for the closing note)."""
    model = {c["structure"]: c["clearance_mm"] for c in case.plans["model"]["clearances"]}
    truth = {c["structure"]: c["clearance_mm"] for c in case.plans["truth"]["clearances"]}
    entry_shift = float(np.linalg.norm(np.subtract(
        case.plans["model"]["trajectory"]["entry_lps_mm"],
        case.plans["truth"]["trajectory"]["entry_lps_mm"])))
    for name in truth:
        record_property(f"clearance_difference_mm:{name}", round(model[name] - truth[name], 3))
    record_property("entry_shift_mm", round(entry_shift, 3))
    print("model - truth clearance (mm):",
          {name: round(model[name] - truth[name], 3) for name in truth},
          "entry shift (mm):", round(entry_shift, 3))
    assert set(model) == set(truth)


@when("the shipped procedures are loaded", target_fixture="shipped")
def load_shipped() -> dict[str, Any]:
    """By name, as the CLI does."""
    return {name: load_procedure(name).procedure for name in SHIPPED_PROCEDURES}


@then(parsers.parse('"{name}" has the risk structures "{names}" and is sided'))
def shipped_risks(shipped: dict[str, Any], name: str, names: str) -> None:
    """Names in template order."""
    procedure = shipped[name]
    assert [r.name for r in procedure.risk_structures] == [n.strip() for n in names.split(",")]
    assert procedure.sided


@then("truth/labels.seg.nrrd reads back as labels.npy with the phantom's geometry and label names")
def truth_nrrd(case: Case) -> None:
    """Read by corridor's reader; compared with the .npy truth and the manifest."""
    from corridor.images import read_label_map

    truth = case.written.out_dir / "truth"
    label_map = read_label_map(truth / "labels.seg.nrrd")
    np.testing.assert_array_equal(label_map.labels, np.load(truth / "labels.npy"))
    assert label_map.geometry.same_as(case.written.phantom.geometry, 1e-6)
    manifest = json.loads((truth / "manifest.json").read_text())
    for value, entry in manifest["labels"].items():
        if int(value):
            assert label_map.names[int(value)] == entry["name"]


@then("truth/landmarks.json holds the anatomy's femoral head centres with radius 24 mm")
def truth_landmarks(case: Case) -> None:
    """Against the femoral-head spheres of the analytic anatomy."""
    anatomy = _anatomy(case)
    heads = {solid.name: solid for solid in anatomy.bones if solid.name.endswith("femur-head")}
    marks = load_landmarks(case.files["landmarks"])
    assert len(marks) == len(heads)
    for name, solid in heads.items():
        mark = marks[name.replace("femur-head", "femoral-head")]
        np.testing.assert_allclose(mark.centre_lps_mm, solid.centre)
        assert mark.radius_mm == solid.radius == 24.0


@then("the risk map places the planned direction at the polar angle and azimuth of the plan's "
      "direction")
def risk_map_marker(case: Case) -> None:
    """Rebuild the direction from the documented convention: polar angle from the reference
    direction, azimuth 0 towards superior (LPS +z) seen along it, 90 = reference x that."""
    document = case.plans["cli"]
    entry, tip, length, _ = _implant(document)
    direction = (tip - entry) / length
    reference = np.asarray(document["search"]["reference_direction_lps"])
    superior = np.array([0.0, 0.0, 1.0])
    u = superior - (superior @ reference) * reference
    u /= np.linalg.norm(u)
    v = np.cross(reference, u)
    polar = math.radians(document["risk_map"]["planned_polar_deg"])
    azimuth = math.radians(document["risk_map"]["planned_azimuth_deg"])
    rebuilt = (math.cos(polar) * reference
               + math.sin(polar) * (math.cos(azimuth) * u + math.sin(azimuth) * v))
    np.testing.assert_allclose(rebuilt, direction, atol=1e-3)
    names = {(0, 1): "left", (0, -1): "right", (1, 1): "posterior", (1, -1): "anterior",
             (2, 1): "superior", (2, -1): "inferior"}
    for vector, key in ((u, "azimuth_0_deg_towards"), (v, "azimuth_90_deg_towards")):
        axis = int(np.argmax(np.abs(vector)))
        assert document["risk_map"][key] == names[(axis, int(np.sign(vector[axis])))]
