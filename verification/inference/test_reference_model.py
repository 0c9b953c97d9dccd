"""Step definitions of ``verification/features/inference/reference_model.feature``.

Verifies that the shipped reference model segments bone and vessels on phantoms it never saw
(Dice per class, HD95 and ASSD reported).

Oracles: the phantoms' analytic ground-truth labels on the CT grid; Dice and symmetric surface
distances computed here (SciPy's exact distance transform with the CT's voxel steps).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then
from scipy import ndimage

from corridor.inference import REFERENCE_MODEL
from corridor.ingest import ingest
from corridor_phantoms import Label
from verification.inference.helpers import (
    PHANTOM_STEP,
    Case,
    dice_coefficient,
    make_case_phantom,
    read_nifti,
)

scenarios("inference/reference_model.feature")


@given(parsers.parse(PHANTOM_STEP + " and seed {seed:d}"))
def phantom_seeded(case: Case, kind: str, i: int, j: int, k: int, si: float, sj: float,
                   sk: float, position: str, orientation: str, seed: int) -> None:
    """Generate the phantom in memory with the seed given."""
    make_case_phantom(case, kind, (i, j, k), (si, sj, sk), position, orientation, seed)


@given("the reference model")
def reference_package(case: Case) -> None:
    """The shipped reference model package."""
    case.package = REFERENCE_MODEL


def _classes(labels: NDArray[np.integer]) -> dict[str, NDArray[np.bool_]]:
    return {"bone": (labels == Label.CORTICAL_BONE) | (labels == Label.CANCELLOUS_BONE),
            "vessel": labels == Label.VESSEL}


@then(parsers.parse("bone reaches Dice at least {bone:f} and vessel at least {vessel:f} "
                    "against the ground truth"))
def reference_dice(case: Case, bone: float, vessel: float,
                   record_property: Any) -> None:
    """Dice of each class on the CT grid against the phantom's analytic labels."""
    assert case.out is not None
    labels, _ = read_nifti(case.out / "labels.nii.gz")
    truth = _classes(np.load(case.root / "ct" / "truth" / "labels.npy"))
    found = {"bone": labels == 1, "vessel": labels == 2}
    dice = {name: dice_coefficient(found[name], truth[name]) for name in truth}
    record_property("dice", json.dumps(dice))
    case.arrays["found"], case.arrays["truth"] = found, truth
    assert dice["bone"] >= bone, dice
    assert dice["vessel"] >= vessel, dice


def _surface_distances(a: NDArray[np.bool_], b: NDArray[np.bool_],
                       spacing: tuple[float, ...]) -> NDArray[np.float64]:
    """Distances (mm) from each surface voxel of ``a`` to the surface of ``b``."""
    surface_a = a & ~ndimage.binary_erosion(a)
    surface_b = b & ~ndimage.binary_erosion(b)
    to_b = ndimage.distance_transform_edt(~surface_b, sampling=spacing)
    return np.asarray(to_b[surface_a], dtype=np.float64)


@then(parsers.parse("HD95 and ASSD of bone and vessel are reported, HD95 at most {hd:f} mm"))
def reference_surface(case: Case, hd: float, record_property: Any) -> None:
    """Symmetric surface distances on the CT grid (its voxel steps, mm)."""
    volume = ingest(case.dicom).volume
    spacing = volume.geometry.spacing
    report = {}
    for name in ("bone", "vessel"):
        found, truth = case.arrays["found"][name], case.arrays["truth"][name]
        distances = np.concatenate([_surface_distances(found, truth, spacing),
                                    _surface_distances(truth, found, spacing)])
        report[name] = {"hd95_mm": round(float(np.percentile(distances, 95)), 3),
                        "assd_mm": round(float(distances.mean()), 3)}
    record_property("surface_distances", json.dumps(report))
    print(json.dumps(report))
    for name, values in report.items():
        assert values["hd95_mm"] <= hd, (name, report)
