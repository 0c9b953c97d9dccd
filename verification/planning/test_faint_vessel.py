"""Step definitions of ``verification/features/planning/faint_vessel.feature``.

Verifies, end to end through real DICOM bytes, ingest and the reference model, what a faint
vessel segment planted in the CT (the phantom fault ``faint-vessel``) does to the plan: far
from the implant, nothing; just outside the planned screw's entry, a flag, a refusal or a plan
clear of it in the truth.

Oracles: the phantom's truth labels (the planted segment's voxels, which the planner never
sees) and the brute-force distance from dense implant points to their centres (k-d tree); the
distance fields' cap is the template's largest clearance plus the implant's radius plus the
stated band, recomputed here from the template.  The far case is planned once for the module:
its screw places the near segment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytest_bdd import given, scenarios, then, when
from scipy.spatial import cKDTree

from corridor.inference import REFERENCE_MODEL, load_model_package
from corridor.inference.api import InferenceOptions, infer
from corridor.ingest.api import ingest
from corridor.planning import (
    PlanResult,
    Side,
    Trajectory,
    Verdict,
    load_landmarks,
    load_procedure,
    plan_trajectory,
)
from corridor.planning.prepare import CLEARANCE_BAND_MM
from corridor.provenance import FileRecord
from corridor_phantoms import FaintVessel, Label, SeriesWritten, make_phantom, write_series
from verification.planning.phantoms import implant_volume_points

scenarios("planning/faint_vessel.feature")

GRID: dict[str, Any] = {"shape": (68, 68, 76), "spacing": (2.0, 2.0, 2.0)}
"""The neck, head, trochanters and upper shaft in the field of view, in 2 x 2 x 3 model
windows."""

RADIUS_MM, HALF_LENGTH_MM, GAP_MM = 4.0, 10.0, 4.0
PROCEDURE = "femoral-neck-screw"


def _plan(folder: Path, vessel: FaintVessel) -> tuple[SeriesWritten, PlanResult]:
    """Write the femur with the segment (the fault's default contrast and blur), ingest,
    infer (shipped package, defaults), plan with the truth's femoral head."""
    written = write_series(make_phantom("femur", **GRID), folder, faults=["faint-vessel"],
                           faint_vessel=vessel)
    volume = ingest(written.out_dir / "dicom").volume
    inferred = infer(volume, load_model_package(REFERENCE_MODEL), InferenceOptions())
    return written, plan_trajectory(
        inferred.label_map, load_procedure(PROCEDURE), side=Side.LEFT,
        landmarks=load_landmarks(written.out_dir / "truth" / "landmarks.json"),
        label_map_file=FileRecord("segmentation/labels.nii.gz", "0" * 64),
        alternatives=inferred.alternatives)


@pytest.fixture(scope="module")
def far_case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The segment along y, 4 mm lateral of the shaft's surface at LPS z = -225 mm (the
    phantom's shaft capsule; the femoral-neck screw enters near z = -171), planned once."""
    vessel = FaintVessel((42.0, 33.5 - HALF_LENGTH_MM, -225.0),
                         (42.0, 33.5 + HALF_LENGTH_MM, -225.0), RADIUS_MM)
    written, result = _plan(tmp_path_factory.mktemp("faint") / "far", vessel)
    return {"written": written, "vessel": vessel, "result": result}


@pytest.fixture
def case() -> dict[str, Any]:
    """What the scenario planted and planned."""
    return {}


@given("the femur phantom with the faint vessel beside the shaft, 50 mm below the neck")
def far(case: dict[str, Any], far_case: dict[str, Any]) -> None:
    """The module's far case."""
    case.update(far_case)


@given("the femur phantom with the faint vessel across the axis of the screw planned with the "
       "far one, 4 mm outside its entry")
def near(case: dict[str, Any], far_case: dict[str, Any], tmp_path: Path) -> None:
    """Centre on the far plan's axis, 4 mm plus the radius before its entry; the segment level
    (across the axis and z), 20 mm long."""
    screw = far_case["result"].plan.trajectory
    across = np.cross(screw.direction, [0.0, 0.0, 1.0])
    across /= np.linalg.norm(across)
    centre = screw.entry - (GAP_MM + RADIUS_MM) * screw.direction
    start, end = centre - HALF_LENGTH_MM * across, centre + HALF_LENGTH_MM * across
    case["vessel"] = FaintVessel((float(start[0]), float(start[1]), float(start[2])),
                                 (float(end[0]), float(end[1]), float(end[2])), RADIUS_MM)
    case["folder"], case["far_screw"] = tmp_path / "near", screw


@when("it is segmented by the reference model and planned for a left femoral-neck screw with "
      "the segmentation's alternatives")
def planned(case: dict[str, Any]) -> None:
    """The far case is already planned (module fixture); the near one is planned here."""
    if "result" not in case:
        case["written"], case["result"] = _plan(case["folder"], case["vessel"])


def _segment_distance(case: dict[str, Any], trajectory: Trajectory) -> float:
    """Distance (mm) from dense implant points to the nearest truth voxel centre labelled
    vessel inside the planted segment."""
    labels = np.load(case["written"].out_dir / "truth" / "labels.npy")
    geometry = case["written"].phantom.geometry
    centres = geometry.index_to_lps(np.argwhere(labels == Label.VESSEL).astype(float))
    segment = centres[case["vessel"].capsule.sdf(centres) <= 0]
    assert len(segment) >= 50, "the segment must be planted in the truth"
    points, _ = implant_volume_points(trajectory)
    return float(cKDTree(segment).query(points)[0].min())


def _required_mm() -> float:
    template = load_procedure(PROCEDURE).procedure
    return float(next(r.clearance_mm for r in template.risk_structures
                      if r.name == "femoral-vessels"))


@then("the verdict is safe and verdict-uncertain is not raised")
def safe_quiet(case: dict[str, Any]) -> None:
    """No margin's sign differs between the nominal map and an alternative (read here)."""
    result = case["result"]
    assert result.plan.verdict is Verdict.SAFE
    block = result.uncertainty.to_json()
    for row in block["clearances"]:
        for value in row["alternatives"].values():
            assert (value["margin_mm"] >= 0) == (row["nominal_margin_mm"] >= 0), row
    assert block["flag"] is None


@then("the trajectory is the nominal best, robust under every alternative, without a second "
      "search")
def nominal_robust(case: dict[str, Any]) -> None:
    """The choice record says so, and no second search ran."""
    choice = case["result"].uncertainty.to_json()["choice"]
    assert (choice["chosen"], choice["robust"], choice["nominal_best"],
            choice["robust_search"]) == ("nominal-best", True, None, None)


@then("the planted segment lies beyond the distance fields' cap from the implant, by the truth "
      "labels")
def beyond_cap(case: dict[str, Any]) -> None:
    """Nearest truth voxel centre of the segment from dense implant points, against the cap."""
    template = load_procedure(PROCEDURE).procedure
    cap = (max([template.corridor.clearance_mm, *(r.clearance_mm
                                                  for r in template.risk_structures)])
           + template.implant.radius_mm + CLEARANCE_BAND_MM)
    nearest = _segment_distance(case, case["result"].plan.trajectory)
    assert nearest > cap, (nearest, cap)


@then("the screw planned with the far one passes within the vessel clearance of the planted "
      "segment, by the truth labels")
def trouble_is_near(case: dict[str, Any]) -> None:
    """The planted trouble matters: left alone, the far plan's screw would breach it."""
    assert _segment_distance(case, case["far_screw"]) < _required_mm()


@then("the plan is flagged verdict-uncertain, or its verdict is not safe, or it keeps the vessel "
      "clearance from the planted segment by the truth labels")
def not_silent(case: dict[str, Any]) -> None:
    """A plan judged safe and not flagged must be clear of the segment in the truth."""
    result = case["result"]
    flagged = result.uncertainty.flagged
    if flagged or result.plan.verdict is not Verdict.SAFE:
        return
    assert _segment_distance(case, result.plan.trajectory) >= _required_mm(), (
        "a safe, unflagged plan within the vessel clearance of the planted segment")
