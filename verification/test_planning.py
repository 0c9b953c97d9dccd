"""Step definitions of the planning scenarios (``verification/features/planning``).

Oracles: closed-form geometry (the maximin corridor between a cylinder wall and two
vessels, solved by root finding), brute-force distances from dense implant points to
the ground-truth voxels (k-d tree), the phantoms' analytic anatomy from their manifests
(signed distance functions of bones, vessels and femoral heads), SciPy's exact distance
transform, and VTK's STL reader for the written implant.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nrrd
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when
from scipy import ndimage
from scipy.optimize import brentq
from vtkmodules.vtkIOGeometry import vtkSTLReader

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap
from corridor.planning import (
    SHIPPED_PROCEDURES,
    Plan,
    PlanningError,
    Side,
    load_landmarks,
    load_procedure,
    plan_trajectory,
)
from corridor.planning import fields as planning_fields
from corridor.planning.fields import corridor_field, risk_field, uncertainty_mm
from corridor_phantoms import make_phantom, write_series
from corridor_phantoms.anatomy import build_anatomy
from corridor_phantoms.enum import PhantomKind
from verification.command_run import run_corridor
from verification.planning.phantoms import (
    Cylinder,
    implant_volume_points,
    loaded,
    phantom,
    procedure_document,
    voxel_distance,
)

scenarios("planning")

REFERENCE_MODEL = (Path(__file__).parents[1] / "software" / "corridor" / "inference" / "models"
                   / "reference-bone-vessel")
VESSEL_VALUES = (2,)
BONE_VALUES = (1,)


@dataclass
class Case:
    """What one scenario built and what the commands did."""

    root: Path
    label_map: LabelMap | None = None
    document: dict[str, Any] = field(default_factory=dict)
    plan: Plan | None = None
    error: Exception | None = None
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    files: dict[str, Path] = field(default_factory=dict)
    written: Any = None
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    out: Path | None = None


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


def _command(case: Case, argv: list[str]) -> None:
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr


def _plan_document(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "plan.json").read_text(encoding="utf-8")))


# --- analytic phantoms ------------------------------------------------------------------

def _two_vessels(spacing: tuple[float, float, float], direction: Any = None) -> LabelMap:
    bone = Cylinder((0.0, 0.0, 50.0), (0.0, 0.0, 1.0), 12.0, 50.0)
    vessels = [Cylinder((20.0, 0.0, 0.0), (0.0, 0.0, 1.0), 3.0),
               Cylinder((0.0, 20.0, 0.0), (0.0, 0.0, 1.0), 3.0)]
    return phantom(bone, vessels, spacing, direction=direction)


@given(parsers.parse("a bone cylinder of radius 12 mm along z with vessels of radius 3 mm at "
                     "20 mm along +x and +y, spacing {spacing} mm"))
def two_vessel_phantom(case: Case, spacing: str) -> None:
    """Closed-form optimum: on the diagonal away from both vessels."""
    si, sj, sk = (float(v) for v in spacing.split())
    case.label_map = _two_vessels((si, sj, sk))
    case.document = procedure_document()


@given(parsers.parse("a bone cylinder of radius 12 mm along z with a vessel of radius 3 mm "
                     "along its axis, spacing {spacing} mm"))
def axial_vessel_phantom(case: Case, spacing: str) -> None:
    """Every path down the cylinder is within 12 mm of the vessel; 15 mm are required."""
    si, sj, sk = (float(v) for v in spacing.split())
    bone = Cylinder((0.0, 0.0, 50.0), (0.0, 0.0, 1.0), 12.0, 50.0)
    case.label_map = phantom(bone, [Cylinder((0.0, 0.0, 0.0), (0.0, 0.0, 1.0), 3.0)],
                             (si, sj, sk))
    case.document = procedure_document()


@given("the two-vessel phantom on a grid whose k axis is sheared by 5 degrees")
def sheared_phantom(case: Case) -> None:
    """Direction columns not orthogonal."""
    shear = math.radians(5.0)
    direction = np.array([[1.0, 0.0, math.sin(shear)], [0.0, 1.0, 0.0],
                          [0.0, 0.0, math.cos(shear)]])
    case.label_map = _two_vessels((1.0, 1.0, 1.0), direction)
    case.document = procedure_document()


@given("a planted defect makes the search read every vessel distance as far away")
def blind_search(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """The search's risk fields become empty masks; the re-check keeps the true mask."""
    original = planning_fields.risk_field

    def blind(name: str, mask: NDArray[np.bool_], geometry: ImageGeometry,
              cap_mm: float) -> Any:
        return original(name, np.zeros_like(mask), geometry, cap_mm)

    monkeypatch.setattr("corridor.planning.planner.risk_field", blind)


@given("a bone cylinder tilted 10 degrees towards +x with a vessel far away, and the analytic "
       "procedure sided with the medial-tip check")
def tilted_phantom(case: Case) -> None:
    """The bone's axis points up and towards +x, so an implant entering at the top runs
    down towards -x: medial (tip towards the midline) for the left side, lateral for the right."""
    axis = (math.sin(math.radians(10.0)), 0.0, math.cos(math.radians(10.0)))
    bone = Cylinder(tuple(np.multiply(axis, 50.0)), axis, 12.0, 50.0)
    case.label_map = phantom(bone, [Cylinder((0.0, 30.0, 0.0), axis, 3.0)], (0.7, 0.7, 0.7),
                             extent=(90.0, 90.0, 110.0), origin=(-45.0, -45.0, -5.0))
    case.document = procedure_document(axis=axis, vessel_clearance=5.0)
    case.document.update({"sided": True, "laterality_check": "medial-tip"})
    case.document["angles"]["max_deviation_deg"] = 5.0  # every admissible path runs towards -x


def _plan_in_process(case: Case, side: Side | None) -> None:
    assert case.label_map is not None
    try:
        case.plan, _ = plan_trajectory(case.label_map, loaded(case.document), side=side,
                                       landmarks={})
    except PlanningError as exc:
        case.error = exc


@when("the analytic procedure is planned on it")
def plan_analytic(case: Case) -> None:
    """In process, recording a refusal."""
    _plan_in_process(case, None)


@when(parsers.parse("the analytic procedure is planned on it for the {side} side"))
def plan_analytic_sided(case: Case, side: str) -> None:
    """In process, for one side."""
    _plan_in_process(case, Side(side))


@then(parsers.parse('the verdict is "{verdict}", failing "{constraint}"'))
def verdict_failing(case: Case, verdict: str, constraint: str) -> None:
    """Verdict and the failed constraint."""
    verdict_is(case, verdict)
    assert case.plan is not None
    assert constraint in case.plan.failed, case.plan.failed


@then(parsers.parse('the verdict is "{verdict}"'))
def verdict_is(case: Case, verdict: str) -> None:
    """The plan's verdict."""
    assert case.plan is not None, case.error
    assert case.plan.verdict.value == verdict, case.plan.to_json()


def _closed_form() -> tuple[float, NDArray[np.float64]]:
    """Maximin point on the diagonal: cortex margin 12 - e - r - c equals vessel margin."""
    radius, cortex, vessel_req = 2.0, 1.0, 15.0

    def gap(e: float) -> float:
        a = e / math.sqrt(2)
        return (12 - e - radius - cortex) - (math.hypot(20 + a, a) - 3 - radius - vessel_req)

    e = brentq(gap, 0.0, 9.0)
    return e, np.array([-e / math.sqrt(2), -e / math.sqrt(2)])


@then("the entry is within 0.5 mm and the direction within 1 degree of the closed-form optimum")
def closed_form_optimum(case: Case) -> None:
    """The top cap's voxel-model surface lies half a k step above z = 100."""
    assert case.plan is not None
    assert case.plan.trajectory is not None
    _, optimum_xy = _closed_form()
    spacing = case.label_map.geometry.spacing if case.label_map else (0, 0, 0)
    expected = np.array([*optimum_xy, 100.0 + spacing[2] / 2])
    trajectory = case.plan.trajectory
    assert np.linalg.norm(trajectory.entry - expected) <= 0.5, trajectory.entry
    angle = math.degrees(math.acos(min(1.0, -float(trajectory.direction[2]))))
    assert angle <= 1.0, trajectory.direction


@then("each clearance estimate is within the stated uncertainty of its closed-form value, and "
      "its guaranteed minimum is below it")
def closed_form_clearances(case: Case) -> None:
    """Cortex: 12 - e - r; vessels: distance to the nearer vessel axis less 3 and r."""
    assert case.plan is not None
    assert case.label_map is not None
    e, _ = _closed_form()
    a = e / math.sqrt(2)
    expected = {"cortex": 12 - e - 2.0, "vessel": math.hypot(20 + a, a) - 3 - 2.0}
    unc = uncertainty_mm(case.label_map.geometry.spacing, 0.1)
    for clearance in case.plan.clearances:
        if clearance.structure in expected:
            value = expected[clearance.structure]
            assert abs(clearance.estimate_mm - value) <= unc, (clearance, value)
            assert clearance.guaranteed_mm <= value, (clearance, value)


@given("it is saved as a NIfTI label map, named by --label-names, with the analytic procedure "
       "as a template file")
def save_nifti(case: Case) -> None:
    """RAS on disk, as NIfTI stores it; the template as YAML."""
    import nibabel

    assert case.label_map is not None
    path = case.root / "labels.nii.gz"
    nibabel.save(nibabel.Nifti1Image(np.asarray(case.label_map.labels),
                                     case.label_map.geometry.affine_ras()), path)
    case.files["labels"] = path
    template = case.root / "analytic.yaml"
    template.write_text(yaml.safe_dump(case.document), encoding="utf-8")
    case.files["template"] = template


@when("corridor plan-trajectory is run on it")
def run_on_nifti(case: Case) -> None:
    """Into a new folder."""
    case.out = case.root / "plan"
    _command(case, ["plan-trajectory", str(case.files["labels"]), "--procedure",
                    str(case.files["template"]), "--out", str(case.out),
                    "--label-names", "background,bone,vessel"])


@then(parsers.parse("it exits with status {status:d}"))
def exits_with(case: Case, status: int) -> None:
    """The exit status."""
    assert case.status == status, (case.status, case.stdout, case.stderr)


@then(parsers.parse('plan.json gives the verdict "{verdict}" with the failed constraint '
                    '"{constraint}" and a positive shortfall'))
def no_safe_document(case: Case, verdict: str, constraint: str) -> None:
    """The best candidate is described, not proposed."""
    assert case.out is not None
    document = _plan_document(case.out)
    assert document["verdict"] == verdict
    assert constraint in document["failed_constraints"]
    assert document["shortfall_mm"] is not None
    assert document["shortfall_mm"] > 0
    assert "trajectory" not in document
    assert document["best_candidate"] is not None


@then("the folder holds plan.json and risk-map.png but no implant.stl")
def no_implant_file(case: Case) -> None:
    """An unsafe candidate is never written as a surface."""
    assert case.out is not None
    assert sorted(p.name for p in case.out.iterdir()) == ["plan.json", "risk-map.png"]


# --- properties (hypothesis) ------------------------------------------------------------

@st.composite
def _random_case(draw: st.DrawFn, *, constructed_safe: bool) -> dict[str, Any]:
    spacing = tuple(draw(st.sampled_from([0.5, 0.6, 0.7, 0.8, 1.0])) for _ in range(3))
    tilt = draw(st.floats(0.0, 15.0))
    turn = draw(st.floats(0.0, 360.0))
    axis = np.array([math.sin(math.radians(tilt)) * math.cos(math.radians(turn)),
                     math.sin(math.radians(tilt)) * math.sin(math.radians(turn)),
                     math.cos(math.radians(tilt))])
    bone_radius = draw(st.floats(10.0, 15.0))
    diameter = draw(st.sampled_from([3.5, 4.5, 6.5]))
    cortex = draw(st.floats(0.5, 2.0))
    unc = uncertainty_mm(spacing, 0.1)
    vessels = []
    count = draw(st.integers(1, 2))
    requirement = draw(st.floats(3.0, 12.0))
    for _ in range(count):
        azimuth = math.radians(draw(st.floats(0.0, 360.0)))
        if constructed_safe:
            low = bone_radius + 1.0
            low = max(low, requirement + diameter / 2 + unc + 1.0 + 3.0)
            offset = draw(st.floats(low, low + 6.0))
        else:
            offset = draw(st.floats(bone_radius - 4.0, bone_radius + 16.0))
        helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0, 1.0, 0])
        u = np.cross(axis, helper)
        u /= np.linalg.norm(u)
        v = np.cross(axis, u)
        point = offset * (math.cos(azimuth) * u + math.sin(azimuth) * v)
        vessels.append(Cylinder(tuple(point), tuple(axis), 3.0))
    if constructed_safe:
        assume_room = bone_radius - diameter / 2 - cortex - unc - 1.0
        if assume_room <= 0:
            cortex = max(0.5, bone_radius - diameter / 2 - unc - 2.0)
    bone = Cylinder(tuple(axis * 50.0), tuple(axis), bone_radius, 50.0)
    label_map = phantom(bone, vessels, spacing, extent=(90.0, 90.0, 110.0),
                        origin=(-45.0, -45.0, -5.0))
    document = procedure_document(axis=tuple(axis), diameter=diameter,
                                  vessel_clearance=requirement, cortex_clearance=cortex,
                                  entry_zone=12.0)
    return {"label_map": label_map, "document": document}


def _check_brute_force(label_map: LabelMap, plan: Plan) -> None:
    assert plan.trajectory is not None
    points, depth = implant_volume_points(plan.trajectory)
    procedure = plan.to_json()
    required = {c["structure"]: c["required_mm"] for c in procedure["clearances"]}
    vessel = voxel_distance(label_map, VESSEL_VALUES, points).min()
    assert vessel >= required["vessel"] - 1e-6, (vessel, required)
    deep = depth >= 12.0
    cortex = voxel_distance(label_map, BONE_VALUES, points[deep], inside=True).min()
    assert cortex >= required["cortex"] - 1e-6, (cortex, required)
    trajectory = plan.trajectory
    allowance = 3.0  # procedure_document's tip_to_cortex
    beyond = trajectory.entry + (trajectory.length_mm + np.linspace(0.0, allowance, 31))[
        :, None] * trajectory.direction
    ahead = voxel_distance(label_map, BONE_VALUES, beyond, inside=True).min()
    assert ahead >= -1e-6, ahead  # the axis beyond the tip stays within the bone voxels


@given("random bone-and-vessel phantoms with random spacing, tilt, implant and clearances",
       target_fixture="random_cases")
def random_cases() -> Any:
    """The property's strategy (drawn inside the Then step)."""
    return _random_case(constructed_safe=False)


@given("random bone-and-vessel phantoms in which the bone's own axis keeps every clearance "
       "with room to spare", target_fixture="random_cases")
def random_safe_cases() -> Any:
    """Vessels far enough and the cortex requirement low enough for the central path."""
    return _random_case(constructed_safe=True)


@then("every plan reported safe keeps each required clearance when its implant volume is "
      "sampled densely against the ground-truth voxels")
def safe_plans_hold(random_cases: Any) -> None:
    """Brute force on every safe plan; unsafe verdicts are allowed here."""
    seen: list[str] = []

    @settings(max_examples=10, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @hypothesis_given(random_cases)
    def check(drawn: dict[str, Any]) -> None:
        plan, _ = plan_trajectory(drawn["label_map"], loaded(drawn["document"]), side=None,
                                  landmarks={})
        seen.append(plan.verdict.value)
        if plan.verdict.value == "safe":
            _check_brute_force(drawn["label_map"], plan)

    check()
    assert "safe" in seen, seen


@then('the planner never answers "no-safe-trajectory" and the re-check confirms every plan')
def constructed_safe_found(random_cases: Any) -> None:
    """A safe corridor exists by construction, so only "safe" is acceptable."""
    @settings(max_examples=8, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @hypothesis_given(random_cases)
    def check(drawn: dict[str, Any]) -> None:
        plan, _ = plan_trajectory(drawn["label_map"], loaded(drawn["document"]), side=None,
                                  landmarks={})
        assert plan.verdict.value == "safe", plan.to_json()
        assert plan.recheck is not None
        assert plan.recheck.passed
        _check_brute_force(drawn["label_map"], plan)

    check()


@given("random masks on grids with random anisotropic spacing", target_fixture="random_masks")
def random_masks() -> Any:
    """Sparse random masks, spacing 0.3 to 2 mm per axis."""
    return st.tuples(st.integers(0, 2**31 - 1),
                     st.tuples(*(st.floats(0.3, 2.0) for _ in range(3))),
                     st.floats(0.002, 0.05))


@then("the corridor depth and the risk distance equal SciPy's exact Euclidean transform less "
      "half the mean spacing, capped")
def fields_match_scipy(random_masks: Any) -> None:
    """edt (the planner's) against scipy.ndimage.distance_transform_edt."""
    @settings(max_examples=30, deadline=None)
    @hypothesis_given(random_masks)
    def check(drawn: tuple[int, tuple[float, float, float], float]) -> None:
        seed, spacing, density = drawn
        rng = np.random.default_rng(seed)
        mask = rng.random((23, 17, 19)) < density
        mask[0, 0, 0] = True
        geometry = ImageGeometry.from_components(shape=mask.shape, spacing=spacing,
                                                 direction=np.eye(3), origin=(0, 0, 0))
        offset = 0.5 * float(np.mean(spacing))
        risk = risk_field("r", mask, geometry, cap_mm=8.0).values
        expected = np.minimum(ndimage.distance_transform_edt(~mask, sampling=spacing) - offset,
                              8.0)
        np.testing.assert_allclose(risk, expected, atol=1e-4)
        body = ~mask
        depth = corridor_field(body, geometry).values
        inside = ndimage.distance_transform_edt(body, sampling=spacing) - offset
        np.testing.assert_allclose(depth, np.where(body, inside, -offset), atol=1e-4)

    check()


@then(parsers.parse('planning is refused naming "{first}" and "{second}"'))
def refused_naming(case: Case, first: str, second: str) -> None:
    """A PlanningError naming both."""
    assert isinstance(case.error, PlanningError), case.plan
    assert first in str(case.error), str(case.error)
    assert second in str(case.error), str(case.error)


# --- anatomical phantoms ------------------------------------------------------------------

@given(parsers.parse('the "{kind}" phantom written with its ground truth'))
def anatomical_phantom(case: Case, kind: str) -> None:
    """Default shape and spacing, no noise needed (labels are the truth)."""
    case.written = write_series(make_phantom(kind), case.root / kind)
    case.files["labels"] = case.root / kind / "truth" / "labels.seg.nrrd"
    case.files["landmarks"] = case.root / kind / "truth" / "landmarks.json"
    case.document = {"kind": kind}


@given("its left and right femoral-head landmarks are swapped")
def swap_landmarks(case: Case) -> None:
    """Names exchanged, positions kept."""
    path = case.files["landmarks"]
    document = json.loads(path.read_text())
    for mark in document["landmarks"]:
        mark["name"] = {"left-femoral-head": "right-femoral-head",
                        "right-femoral-head": "left-femoral-head"}[mark["name"]]
    path.write_text(json.dumps(document))


@given("its femoral-head landmark is renamed for the right side")
def rename_landmark(case: Case) -> None:
    """A left femur labelled as right."""
    path = case.files["landmarks"]
    path.write_text(path.read_text().replace("left-femoral-head", "right-femoral-head"))


@given("its vessel voxels are relabelled soft tissue")
def remove_vessels(case: Case) -> None:
    """As a segmentation that missed every vessel."""
    path = case.files["labels"]
    data, header = nrrd.read(str(path))
    data[data == 4] = 1
    nrrd.write(str(path), data, header)


@when(parsers.parse('corridor plan-trajectory is run on its truth labels with "{options}"'))
def run_on_truth(case: Case, options: str) -> None:
    """Landmarks from the truth unless the options give them."""
    case.out = case.root / "plan"
    argv = ["plan-trajectory", str(case.files["labels"]), "--out", str(case.out),
            *shlex.split(options)]
    if "--landmark " not in f"{options} ":
        argv += ["--landmarks", str(case.files["landmarks"])]
    _command(case, argv)


@then(parsers.parse('it exits with status {status:d}, naming "{text}", and writes nothing'))
def refused_nothing_written(case: Case, status: int, text: str) -> None:
    """One line on stderr naming the problem; no output folder."""
    assert case.status == status, (case.status, case.stdout, case.stderr)
    assert text in case.stderr, case.stderr
    assert case.out is not None
    assert not case.out.exists()


@then(parsers.parse('it exits with status {status:d} and the verdict is "{verdict}"'))
def exits_with_verdict(case: Case, status: int, verdict: str) -> None:
    """Exit status and plan.json agree."""
    assert case.status == status, (case.status, case.stdout, case.stderr)
    assert case.out is not None
    case.plans["cli"] = _plan_document(case.out)
    assert case.plans["cli"]["verdict"] == verdict


@then(parsers.parse('it exits with status {status:d} and plan.json names the failed constraint '
                    '"{constraint}"'))
def exits_failing(case: Case, status: int, constraint: str) -> None:
    """No safe trajectory, with the reason."""
    assert case.status == status, (case.status, case.stdout, case.stderr)
    assert case.out is not None
    document = _plan_document(case.out)
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
    assert document["software"]["name"] == "corridor"


@given("it is segmented by the reference model")
def segment(case: Case) -> None:
    """corridor infer with the shipped reference model (CPU)."""
    assert case.written is not None
    out = case.root / "segmentation"
    _command(case, ["infer", str(case.written.out_dir / "dicom"), "--model", str(REFERENCE_MODEL),
                    "--out", str(out), "--device", "cpu"])
    assert case.status == 0, case.stderr
    case.files["model_labels"] = out / "seg.dcm"


@when("the acetabular screw is planned on the left from both the model's labels and the "
      "ground-truth labels")
def plan_both(case: Case) -> None:
    """Two runs of corridor plan-trajectory --json."""
    for name, labels in (("model", case.files["model_labels"]), ("truth", case.files["labels"])):
        out = case.root / f"plan-{name}"
        _command(case, ["plan-trajectory", str(labels), "--procedure", "acetabular-screw",
                        "--side", "left", "--landmarks", str(case.files["landmarks"]),
                        "--out", str(out), "--json"])
        assert case.status == 0, (case.stdout, case.stderr)
        case.plans[name] = json.loads(case.stdout)
        assert case.plans[name] == _plan_document(out)


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


# --- safety ---------------------------------------------------------------------------------

@given(parsers.parse("the analytic procedure with {change}"))
def broken_template(case: Case, change: str) -> None:
    """One fault planted into the analytic template, written as YAML."""
    document = procedure_document()
    if "unknown field" in change:
        document["corridor"]["clearence_mm"] = 1.0
    elif "negative corridor clearance" in change:
        document["corridor"]["clearance_mm"] = -1.0
    elif "longest length" in change:
        document["implant"]["length_mm"]["max_mm"] = 20.0
    elif "sided template" in change:
        document["sided"] = True
    else:
        raise AssertionError(change)
    path = case.root / "broken.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    case.files["template"] = path


@when("corridor plan-trajectory is run with it on the two-vessel phantom")
def run_broken(case: Case) -> None:
    """The phantom saved as NIfTI first."""
    import nibabel

    label_map = _two_vessels((1.0, 1.0, 1.0))
    path = case.root / "labels.nii.gz"
    nibabel.save(nibabel.Nifti1Image(np.asarray(label_map.labels),
                                     label_map.geometry.affine_ras()), path)
    case.out = case.root / "plan"
    _command(case, ["plan-trajectory", str(path), "--procedure", str(case.files["template"]),
                    "--out", str(case.out), "--label-names", "background,bone,vessel"])


@when("corridor plan-check is run on the plan with the same label map and template")
def run_check(case: Case) -> None:
    """Against the label map file as it is now."""
    assert case.out is not None
    _command(case, ["plan-check", str(case.out), "--label-map", str(case.files["labels"]),
                    "--procedure", "femoral-neck-screw"])


@when("one voxel of the label map is relabelled and saved again")
def resegment(case: Case) -> None:
    """A re-segmentation that changes one voxel far from the plan."""
    path = case.files["labels"]
    data, header = nrrd.read(str(path))
    data[0, 0, 0] = 1 if data[0, 0, 0] != 1 else 0
    nrrd.write(str(path), data, header)


@then(parsers.parse('it exits with status {status:d}, naming "{text}"'))
def exits_naming(case: Case, status: int, text: str) -> None:
    """Status and message."""
    assert case.status == status, (case.status, case.stdout, case.stderr)
    assert text in case.stderr + case.stdout, (case.stdout, case.stderr)


@then(parsers.parse('the verdict is "{verdict}" and the re-check names "{name}"'))
def rejected(case: Case, verdict: str, name: str) -> None:
    """The planted defect is caught by the independent method."""
    assert case.plan is not None, case.error
    assert case.plan.verdict.value == verdict, case.plan.to_json()
    assert case.plan.recheck is not None
    assert any(name in reason for reason in case.plan.recheck.reasons())



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
