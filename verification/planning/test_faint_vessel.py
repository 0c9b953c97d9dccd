"""Step definitions of ``verification/features/planning/faint_vessel.feature``.

Verifies, end to end through real DICOM bytes, ingest and the reference model, that a faint
vessel segment planted in the CT far from the implant changes neither the verdict nor the
trajectory's choice.

Oracles: the phantom's truth labels (the planted segment's voxels, which the planner never
sees) and the brute-force distance from dense implant points to their centres (k-d tree);
the distance fields' cap is the template's largest clearance plus the implant's radius plus
the stated band, recomputed here from the template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from scipy.spatial import cKDTree

from corridor.inference import REFERENCE_MODEL, load_model_package
from corridor.inference.api import InferenceOptions, infer
from corridor.ingest.api import ingest
from corridor.planning import Side, Verdict, load_landmarks, load_procedure, plan_trajectory
from corridor.planning.prepare import CLEARANCE_BAND_MM
from corridor.provenance import FileRecord
from corridor_phantoms import FaintVessel, Label, make_phantom, write_series
from verification.planning.phantoms import implant_volume_points

scenarios("planning/faint_vessel.feature")

SEGMENT_HALF_LENGTH_MM = 10.0


@pytest.fixture
def case(tmp_path: Path) -> dict[str, Any]:
    """What the scenario wrote and planned."""
    return {"tmp": tmp_path}


@given(parsers.parse("the femur phantom of {i:d} {j:d} {k:d} voxels of {s:g} mm with a faint "
                     "vessel of radius {radius:g} mm at {contrast:g} of a vessel's contrast, "
                     "blurred {blur:g} mm, beside the shaft 50 mm below the neck"))
def faint_femur(case: dict[str, Any], i: int, j: int, k: int, s: float, radius: float,
                contrast: float, blur: float) -> None:
    """The segment runs along y, 4 mm lateral of the shaft's surface at LPS z = -225 mm (the
    shaft capsule of the phantom's anatomy; the femoral-neck screw enters near z = -171)."""
    vessel = FaintVessel((42.0, 33.5 - SEGMENT_HALF_LENGTH_MM, -225.0),
                         (42.0, 33.5 + SEGMENT_HALF_LENGTH_MM, -225.0), radius,
                         contrast=contrast, blur_mm=blur)
    written = write_series(make_phantom("femur", shape=(i, j, k), spacing=(s, s, s)),
                           case["tmp"] / "femur", faults=["faint-vessel"], faint_vessel=vessel)
    case["written"], case["vessel"] = written, vessel


@when("it is segmented by the reference model and planned for a left femoral-neck screw with "
      "the segmentation's alternatives")
def plan(case: dict[str, Any]) -> None:
    """Ingest, infer (shipped package, defaults), plan with the truth's femoral head."""
    out = case["written"].out_dir
    volume = ingest(out / "dicom").volume
    inferred = infer(volume, load_model_package(REFERENCE_MODEL), InferenceOptions())
    procedure = load_procedure("femoral-neck-screw")
    case["procedure"] = procedure
    case["result"] = plan_trajectory(
        inferred.label_map, procedure, side=Side.LEFT,
        landmarks=load_landmarks(out / "truth" / "landmarks.json"),
        label_map_file=FileRecord("segmentation/labels.nii.gz", "0" * 64),
        alternatives=inferred.alternatives)


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
def far(case: dict[str, Any]) -> None:
    """Nearest truth voxel centre of the segment from dense implant points, against the cap."""
    labels = np.load(case["written"].out_dir / "truth" / "labels.npy")
    geometry = case["written"].phantom.geometry
    centres = geometry.index_to_lps(np.argwhere(labels == Label.VESSEL).astype(float))
    distance = case["vessel"].capsule.sdf(centres)
    segment = centres[distance <= 0]
    assert len(segment) >= 50
    template = case["procedure"].procedure
    cap = (max([template.corridor.clearance_mm, *(r.clearance_mm
                                                  for r in template.risk_structures)])
           + template.implant.radius_mm + CLEARANCE_BAND_MM)
    points, _ = implant_volume_points(case["result"].plan.trajectory)
    nearest = float(cKDTree(segment).query(points)[0].min())
    assert nearest > cap, (nearest, cap)
