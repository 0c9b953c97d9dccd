"""Step definitions of ``verification/features/planning/analytic.feature``.

Verifies the planner against analytic phantoms whose answers are known: the closed-form
maximin corridor and its clearances, a sheared grid, the command's no-safe-trajectory
output, and (hypothesis properties run inside the Then steps) safe plans that keep every
clearance, constructed safe cases always found, and the distance fields against SciPy.

Oracles: closed-form geometry (the maximin corridor between a cylinder wall and two
vessels, solved by root finding), brute-force distances from dense implant points to the
ground-truth voxels (k-d tree, :mod:`verification.planning.phantoms`), and SciPy's exact
distance transform.  The tolerance of a clearance estimate is derived here from the voxel
spacing and the sampling step (:func:`estimate_bound_mm`), never taken from the planner;
the planner's stated ``uncertainty_mm`` is checked not to exceed it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when
from scipy import ndimage
from scipy.optimize import brentq

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap
from corridor.planning import Plan, PlanningError, plan_trajectory
from corridor.planning.fields import corridor_field, risk_field, uncertainty_mm
from verification.planning.helpers import Case, plan_document, run_command, two_vessels
from verification.planning.phantoms import (
    Cylinder,
    implant_volume_points,
    in_memory,
    loaded,
    phantom,
    procedure_document,
    voxel_distance,
)

scenarios("planning/analytic.feature")


VESSEL_VALUES = (2,)
BONE_VALUES = (1,)


@given(parsers.parse("a bone cylinder of radius 12 mm along z with vessels of radius 3 mm at "
                     "20 mm along +x and +y, spacing {spacing} mm"))
def two_vessel_phantom(case: Case, spacing: str) -> None:
    """Closed-form optimum: on the diagonal away from both vessels."""
    si, sj, sk = (float(v) for v in spacing.split())
    case.label_map = two_vessels((si, sj, sk))
    case.document = procedure_document()


@given("the two-vessel phantom on a grid whose k axis is sheared by 5 degrees")
def sheared_phantom(case: Case) -> None:
    """Direction columns not orthogonal."""
    shear = math.radians(5.0)
    direction = np.array([[1.0, 0.0, math.sin(shear)], [0.0, 1.0, 0.0],
                          [0.0, 0.0, math.cos(shear)]])
    case.label_map = two_vessels((1.0, 1.0, 1.0), direction)
    case.document = procedure_document()


FINAL_STEP_MM = 0.1
"""Spacing of the planner's samples along the axis of the plan it reports (its default)."""


def estimate_bound_mm(spacing: tuple[float, float, float], step_mm: float) -> float:
    """How far a clearance estimate may lie from the true clearance, from the grid alone.

    Written out here from the geometry, not taken from the planner, so that a planner whose
    stated uncertainty were too generous cannot pass its own test.  An estimate is a
    Euclidean distance transform to the structure's voxel centres, less half the mean
    spacing, interpolated trilinearly and minimised over samples ``step_mm`` apart along
    the axis.  With ``h`` half the voxel diagonal, ``h = sqrt(si^2 + sj^2 + sk^2) / 2``, three
    errors add up against the distance to the analytic solid:

    * the nearest voxel centre against the solid's surface: at most ``h``, of which half the
      mean spacing is already taken off, so ``h - mean(spacing) / 2``;
    * trilinear interpolation of a 1-Lipschitz function within one voxel cell: at most the
      distance from the cell's centre to its corners, ``h``;
    * the minimum over samples ``step_mm`` apart against the minimum along the whole axis: at
      most half a step, ``step_mm / 2``.
    """
    half_diagonal = 0.5 * math.sqrt(sum(s * s for s in spacing))
    return (half_diagonal - 0.5 * sum(spacing) / len(spacing)) + half_diagonal + 0.5 * step_mm


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
    """Cortex: 12 - e - r; vessels: distance to the nearer vessel axis less 3 and r.

    The tolerance is :func:`estimate_bound_mm` of the grid, derived here; the planner's own
    ``uncertainty_mm`` (which its guaranteed minimum subtracts) must not exceed it.
    """
    assert case.plan is not None
    assert case.label_map is not None
    e, _ = _closed_form()
    a = e / math.sqrt(2)
    expected = {"cortex": 12 - e - 2.0, "vessel": math.hypot(20 + a, a) - 3 - 2.0}
    bound = estimate_bound_mm(case.label_map.geometry.spacing, FINAL_STEP_MM)
    stated = uncertainty_mm(case.label_map.geometry.spacing, FINAL_STEP_MM)
    assert stated <= bound + 1e-12, (stated, bound)
    for clearance in case.plan.clearances:
        if clearance.structure in expected:
            value = expected[clearance.structure]
            assert abs(clearance.estimate_mm - value) <= bound, (clearance, value, bound)
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
    run_command(case, ["plan-trajectory", str(case.files["labels"]), "--procedure",
                       str(case.files["template"]), "--out", str(case.out),
                       "--label-names", "background,bone,vessel"])


@then(parsers.parse('plan.json gives the verdict "{verdict}" with the failed constraint '
                    '"{constraint}" and a positive shortfall'))
def no_safe_document(case: Case, verdict: str, constraint: str) -> None:
    """The best candidate is described, not proposed."""
    assert case.out is not None
    document = plan_document(case.out)
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
    unc = estimate_bound_mm(spacing, FINAL_STEP_MM)
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
        plan = plan_trajectory(drawn["label_map"], loaded(drawn["document"]), side=None,
                               landmarks={}, label_map_file=in_memory(drawn["label_map"])).plan
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
        plan = plan_trajectory(drawn["label_map"], loaded(drawn["document"]), side=None,
                               landmarks={}, label_map_file=in_memory(drawn["label_map"])).plan
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
