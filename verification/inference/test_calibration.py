"""Step definitions of ``verification/features/inference/calibration.feature``.

Verifies the calibration temperature (bounded, optional, applied; the shipped one lowers the
expected calibration error on a held-out phantom) and the segmentation's plausible
alternatives kept by inference.

Oracles: the phantom's analytic classes on the CT grid (never the model's output); the ECE
computed here (:mod:`verification.inference.calibration`) from the probabilities the
resampling delivers to the CT grid, before and after the temperature scaling computed here
in float64; the entropy and thresholds of those scaled probabilities computed here in NumPy.
The phantom (femur, seed 401, 2.0 x 2.0 x 2.5 mm) was used neither in training (seeds 1-4) nor
in fitting the temperature (``bench_calibration.py``: seeds 201, 202).  One inference per module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from pytest_bdd import given, parsers, scenarios, then

from corridor.inference import REFERENCE_MODEL, load_model_package
from corridor.inference.api import InferenceOptions, infer
from corridor.inference.manifest import ModelManifest
from verification.inference.calibration import (
    ECE_BINS,
    captured_probabilities,
    expected_calibration_error,
    phantom_volume,
    scaled,
)

scenarios("inference/calibration.feature")


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The held-out femur through the shipped package, with the probabilities the resampling
    delivers to the CT grid (before calibration) captured."""
    root = tmp_path_factory.mktemp("calibration")
    volume, truth = phantom_volume("femur", root / "femur", shape=(48, 48, 40),
                                   spacing=(2.0, 2.0, 2.5), seed=401)
    package = load_model_package(REFERENCE_MODEL)
    with captured_probabilities(volume.geometry.shape, len(package.manifest.labels)) as p:
        result = infer(volume, package, InferenceOptions())
        delivered = np.array(p)
    temperature = package.manifest.temperature
    return {"truth": truth, "result": result, "delivered": delivered,
            "temperature": temperature, "calibrated": scaled(delivered, temperature)}


@given(parsers.parse('the held-out "{kind}" phantom of shape {i:d} {j:d} {k:d} with spacing '
                     "{si:f} {sj:f} {sk:f} and seed {seed:d}, segmented by the reference model "
                     "as shipped"))
def segmented(held_out: dict[str, Any]) -> None:
    """The module's inference (parameters fixed in :func:`held_out`)."""


@then("the shipped temperature is below 1 and the run record states it")
def shipped_temperature(held_out: dict[str, Any]) -> None:
    """Sharpening: the reference model was under-confident."""
    temperature = held_out["temperature"]
    assert 0.05 < temperature < 1.0
    record = held_out["result"].record
    assert record["model"]["temperature"] == temperature
    calibrate = [op for op in record["spatial_operations"] if op["operation"] == "calibrate"]
    assert [op["temperature"] for op in calibrate] == [temperature]


@then("the expected calibration error over 15 equal-width bins, against the phantom's classes, "
      "is lower for the delivered probabilities scaled by the shipped temperature than for the "
      "delivered probabilities")
def ece_lower(held_out: dict[str, Any], record_property: Any) -> None:
    """ECE against the analytic classes, over every CT voxel."""
    assert ECE_BINS == 15
    truth = held_out["truth"]
    before = expected_calibration_error(held_out["delivered"], truth)
    after = expected_calibration_error(held_out["calibrated"], truth)
    record_property("ece_before", round(before, 5))
    record_property("ece_after", round(after, 5))
    assert after < before, (before, after)


@then("the entropy map is the entropy of the delivered probabilities scaled by the shipped "
      "temperature")
def entropy_calibrated(held_out: dict[str, Any]) -> None:
    """-sum q log q, computed here in float64."""
    q = held_out["calibrated"]
    expected = -(q * np.log(np.maximum(q, 1e-12))).sum(axis=0)
    np.testing.assert_allclose(held_out["result"].entropy.values, expected, atol=1e-4)


@then("the label map is the most probable class of the delivered probabilities")
def labels_unchanged(held_out: dict[str, Any]) -> None:
    """Calibration never changes the label map."""
    assert np.array_equal(held_out["result"].label_map.labels,
                          held_out["delivered"].argmax(axis=0))


@then("each alternative equals, voxel for voxel, the delivered probabilities scaled by the "
      "shipped temperature, thresholded at 0.3 and 0.7 with the vessel winning overlaps")
def alternatives_threshold(held_out: dict[str, Any]) -> None:
    """Recomputed here: bone where q_bone >= t, then vessel where q_vessel >= t; voxels within
    1e-5 of a threshold (float32 against float64 rounding) are not compared."""
    result = held_out["result"]
    q = held_out["calibrated"]
    alternatives = result.alternatives
    assert sorted(alternatives) == ["p>=0.3", "p>=0.7"]
    for threshold in (0.3, 0.7):
        expected = np.zeros(q.shape[1:], np.uint8)
        expected[q[1] >= threshold] = 1
        expected[q[2] >= threshold] = 2
        found = alternatives[f"p>={threshold:g}"]
        assert found.geometry == result.label_map.geometry
        assert found.names == result.label_map.names
        close = (np.abs(q[1:] - threshold) < 1e-5).any(axis=0)
        assert np.array_equal(found.labels[~close], expected[~close])
    assert np.count_nonzero(alternatives["p>=0.3"].labels == 2) >= np.count_nonzero(
        alternatives["p>=0.7"].labels == 2) > 0


@then("the run record names the alternatives p>=0.3 and p>=0.7")
def record_alternatives(held_out: dict[str, Any]) -> None:
    """Names and rule in run.json."""
    names = [a["name"] for a in held_out["result"].record["alternatives"]]
    assert names == ["p>=0.3", "p>=0.7"]


@given(parsers.parse("the reference model's manifest with temperature {value}"),
       target_fixture="manifest_document")
def manifest_with(value: str) -> dict[str, Any]:
    """The shipped manifest, its temperature removed or replaced."""
    document: dict[str, Any] = json.loads(
        (Path(REFERENCE_MODEL) / "manifest.json").read_text(encoding="utf-8"))
    document.pop("temperature", None)
    document.pop("calibration", None)
    if value != "absent":
        document["temperature"] = float(value)
    return document


@then(parsers.parse("it loads with temperature {expected:g}"))
def loads_with(manifest_document: dict[str, Any], expected: float) -> None:
    """Validated as the package loader does."""
    assert ModelManifest.model_validate(manifest_document).temperature == expected


@then("it is refused naming the temperature")
def refused(manifest_document: dict[str, Any]) -> None:
    """Pydantic's error names the field."""
    with pytest.raises(ValidationError) as caught:
        ModelManifest.model_validate(manifest_document)
    assert [error["loc"] for error in caught.value.errors()] == [("temperature",)]
