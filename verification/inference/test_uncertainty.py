"""Step definitions of ``verification/features/inference/uncertainty.feature``.

Verifies the uncertainty outputs: the entropy map, the TTA variance (zero for a per-voxel
model, above 0.01 at the surface for a model that looks along k), a risk structure's mean entropy
noted (informational, no flag), and the flag raised for implausibly small objects.

Oracles: the entropy computed here from the CT's HU and the model's known formula (softmax of
``gain * (x - threshold)``), graphs of known behaviour (:mod:`verification.inference.graphs`),
and the phantom's analytic labels for the sphere's surface.
"""

from __future__ import annotations

import copy

import numpy as np
from pytest_bdd import given, parsers, scenarios, then, when
from scipy import ndimage

from corridor.ingest import ingest
from verification.inference.graphs import (
    LABELS,
    shifted_threshold_model,
    threshold_model,
    write_package,
)
from verification.inference.helpers import Case, infer_into, make_package, read_nifti

scenarios("inference/uncertainty.feature")


@given(parsers.parse('a per-voxel threshold model at {hu:d} HU with a {spacing:f} mm grid '
                     '"{grid}" expecting at least {ml:d} ml of object'))
def threshold_package_expecting(case: Case, hu: int, spacing: float, grid: str,
                                ml: int) -> None:
    """As the threshold model, with a minimum plausible volume for the object."""
    labels = copy.deepcopy(LABELS)
    labels[1]["min_volume_ml"] = ml
    make_package(case, threshold_model(hu / 1000.0), input_spacing_mm=[spacing] * 3, grid=grid,
                 labels=labels)


@given(parsers.parse("a per-voxel model with gentle logits at {hu:d} HU on a {spacing:f} mm "
                     "grid"))
def gentle_package(case: Case, hu: int, spacing: float) -> None:
    """Logits [0, 2 (x - hu/1000)]: probabilities far from 0 and 1."""
    make_package(case, threshold_model(hu / 1000.0, gain=2.0), input_spacing_mm=[spacing] * 3)
    case.arrays["gain"], case.arrays["threshold"] = 2.0, hu / 1000.0


@given(parsers.parse("a per-voxel model with gentle logits at {hu:d} HU on a {spacing:f} mm "
                     "grid whose object is a risk structure"))
def gentle_risk_package(case: Case, hu: int, spacing: float) -> None:
    """The gentle model, its object declared a risk structure."""
    labels = copy.deepcopy(LABELS)
    labels[1]["risk_structure"] = True
    make_package(case, threshold_model(hu / 1000.0, gain=2.0), input_spacing_mm=[spacing] * 3,
                 labels=labels)


@given("a model that looks one voxel along k")
def shifted_package(case: Case) -> None:
    """The threshold model applied to the next voxel along k (mirroring changes it)."""
    case.package = write_package(case.root / "model-shifted", shifted_threshold_model(0.5),
                                 input_spacing_mm=[1.5] * 3)


@when(parsers.parse('I run corridor infer on the series again with "{options}"'))
def run_infer_again(case: Case, options: str) -> None:
    """``corridor infer`` once more, into another folder."""
    case.out = infer_into(case, options, "out-again")


@then("the entropy map equals -sum p log p of the softmax of the model's logits at every voxel "
      "within 1e-4")
def entropy_equals(case: Case) -> None:
    """Entropy computed here from the CT's HU and the model's known formula."""
    assert case.out is not None
    volume = ingest(case.dicom).volume
    x = np.clip(np.asarray(volume.hu, np.float64), -1000.0, 2000.0) / 1000.0
    logit = case.arrays["gain"] * (x - case.arrays["threshold"])
    p1 = 1.0 / (1.0 + np.exp(-logit))
    expected = -(p1 * np.log(p1) + (1 - p1) * np.log(1 - p1))
    entropy, _ = read_nifti(case.out / "entropy.nii.gz")
    assert float(np.max(np.abs(entropy - expected))) <= 1e-4


@then(parsers.parse('the run record carries the flag "{code}"'))
def record_flag(case: Case, code: str) -> None:
    """The flag is in the run record and printed."""
    assert code in [flag["code"] for flag in case.record()["flags"]]
    assert f"flag [{code}]" in case.stdout


@then(parsers.parse('the run record notes "{code}" for "{name}" with its mean entropy, and raises '
                   "no review flag"))
def record_note(case: Case, code: str, name: str) -> None:
    """Demoted (alarm fatigue, HAZ-043): noted in run.json with the figure, never a flag."""
    record = case.record()
    row = next(r for r in record["statistics"] if r["name"] == name)
    notes = [n for n in record["informational"] if n["code"] == code]
    assert len(notes) == 1, notes
    assert notes[0]["message"].startswith(f"{name}: mean entropy {row['mean_entropy']:.3f} nats")
    assert row["mean_entropy"] > 0.25
    assert record["flags"] == []
    assert "flag [" not in case.stdout


@then("the TTA variance is 0 at every voxel within 1e-6")
def variance_zero(case: Case) -> None:
    """A per-voxel model is unchanged by mirroring."""
    assert case.out is not None
    variance, _ = read_nifti(case.out / "tta_variance.nii.gz")
    assert float(np.max(np.abs(variance))) <= 1e-6


@then("the TTA variance is above 0.01 somewhere on the sphere's surface and below 0.01 deep "
      "inside it")
def variance_surface(case: Case) -> None:
    """Looking at k + 1 mirrored is looking at k - 1: the passes disagree at the surface.

    Three voxels inside, every pass sees object; the passes can still differ slightly
    where a window's border cuts the model's 3-voxel view (zero padding at the patch
    edge, as in nnU-Net's per-patch mirroring), so the bound there is 0.01, not 0.
    """
    assert case.out is not None
    variance, _ = read_nifti(case.out / "tta_variance.nii.gz")
    truth = np.load(case.root / "ct" / "truth" / "labels.npy") == 1
    surface = truth & ~ndimage.binary_erosion(truth)
    assert float(variance[surface].max()) > 0.01
    assert float(variance[ndimage.binary_erosion(truth, iterations=3)].max()) < 0.01
