"""Faint vessel planted in the CT: what the reference model's alternatives see, and the plan.

The femur phantom (68 x 68 x 76 voxels of 2 mm, the neck, head and shaft in the field of view)
is planned for a left femoral-neck screw through the reference model (landmarks from the
phantom's truth).  A vessel segment is then planted with the ``faint-vessel`` fault 4 mm
outside that screw's entry, on its axis, 20 mm long across it, for each radius and contrast
asked for, and the case planned again.  Per case: the segment's voxels in the truth, in the
nominal label map and in each alternative; the calibrated vessel probability's maximum and
how many of its voxels reach 0.3 and 0.5; the verdict, the flag, the choice (nominal best or
robust, and how far it moved); and the distance from the chosen implant to the nearest truth
voxel centre of the segment (dense implant points, k-d tree), against the 10 mm required.

Not part of CI (about 15 s a case on a 2-core machine); the planning scenario
``faint_vessel.feature`` plants the segment far from the implant.

Usage::

    python verification/benchmarks/bench_faint_vessel.py [--radius MM ...] [--contrast F ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from verification.inference.calibration import captured_probabilities
from verification.planning.phantoms import implant_volume_points

from corridor.inference import REFERENCE_MODEL, load_model_package
from corridor.inference.api import InferenceOptions, infer
from corridor.ingest.api import ingest
from corridor.planning import Side, Trajectory, load_landmarks, load_procedure, plan_trajectory
from corridor.provenance import FileRecord
from corridor_phantoms import FaintVessel, Label, make_phantom, write_series

GRID: dict[str, Any] = {"shape": (68, 68, 76), "spacing": (2.0, 2.0, 2.0)}
GAP_MM = 4.0
HALF_LENGTH_MM = 10.0


def _case(folder: Path, vessel: FaintVessel | None) -> dict[str, Any]:
    written = write_series(make_phantom("femur", **GRID), folder,
                           faults=["faint-vessel"] if vessel else [], faint_vessel=vessel,
                           overwrite=True)
    volume = ingest(written.out_dir / "dicom").volume
    package = load_model_package(REFERENCE_MODEL)
    with captured_probabilities(volume.geometry.shape, len(package.manifest.labels)) as p:
        inferred = infer(volume, package, InferenceOptions())
        raw = np.array(p)
    result = plan_trajectory(inferred.label_map, load_procedure("femoral-neck-screw"),
                             side=Side.LEFT,
                             landmarks=load_landmarks(written.out_dir / "truth" /
                                                      "landmarks.json"),
                             label_map_file=FileRecord("labels", "0" * 64),
                             alternatives=inferred.alternatives)
    plan, uncertainty = result.plan, result.uncertainty
    assert plan.trajectory is not None
    assert uncertainty is not None
    row: dict[str, Any] = {"verdict": plan.verdict.value,
                           "flagged": uncertainty.flagged,
                           "trajectory": plan.trajectory.to_json()}
    choice = uncertainty.to_json()["choice"]
    row["chosen"] = choice["chosen"]
    row["moved"] = (choice["nominal_best"] or {}).get("moved")
    if vessel is None:
        return row
    geometry = volume.geometry
    points = geometry.index_to_lps(np.indices(geometry.shape).reshape(3, -1).T.astype(float))
    inside = (vessel.capsule.sdf(points) <= 0).reshape(geometry.shape)
    truth = np.load(written.out_dir / "truth" / "labels.npy") == Label.VESSEL
    segment = inside & truth
    maps = {"nominal": inferred.label_map, **inferred.alternatives}
    vessel_value = inferred.label_map.names.index("vessel")
    row["segment_voxels"] = {"truth": int(segment.sum()), **{
        name: int(((m.labels == vessel_value) & segment).sum()) for name, m in maps.items()}}
    temperature = package.manifest.temperature
    scaled = raw ** (1.0 / temperature)
    scaled /= scaled.sum(axis=0, keepdims=True)
    probability = scaled[vessel_value][segment]
    row["vessel_probability"] = {"max": round(float(probability.max()), 3),
                                 "at_least_0.3": int((probability >= 0.3).sum()),
                                 "at_least_0.5": int((probability >= 0.5).sum())}
    tree = cKDTree(geometry.index_to_lps(np.argwhere(segment).astype(float)))
    row["truth_distance_mm"] = round(float(tree.query(
        implant_volume_points(plan.trajectory)[0])[0].min()), 2)
    return row


def _near(trajectory: Trajectory, radius: float, contrast: float) -> FaintVessel:
    """The segment ``GAP_MM`` outside the entry, on the axis, across it and level."""
    across = np.cross(trajectory.direction, [0.0, 0.0, 1.0])
    across /= np.linalg.norm(across)
    centre = trajectory.entry - (GAP_MM + radius) * trajectory.direction
    ends = (centre - HALF_LENGTH_MM * across, centre + HALF_LENGTH_MM * across)
    return FaintVessel(tuple(float(v) for v in ends[0]),  # type: ignore[arg-type]
                       tuple(float(v) for v in ends[1]),  # type: ignore[arg-type]
                       radius, contrast=contrast, blur_mm=1.0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sweep; print one JSON line per case, then the table as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--radius", type=float, nargs="+", default=[3.0, 4.0])
    parser.add_argument("--contrast", type=float, nargs="+",
                        default=[0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1.0])
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        clean = _case(Path(folder) / "clean", None)
        print(json.dumps({"case": "clean", **clean}), file=sys.stderr)
        found = clean["trajectory"]
        trajectory = Trajectory(np.array(found["entry_lps_mm"]),
                                np.array(found["direction_lps"]), found["length_mm"],
                                found["diameter_mm"])
        for radius in args.radius:
            for contrast in args.contrast:
                vessel = _near(trajectory, radius, contrast)
                row = {"radius_mm": radius, "contrast": contrast,
                       **_case(Path(folder) / "near", vessel)}
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    print(json.dumps({"clean": clean, "near": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
