"""Step definitions of ``verification/features/inference/calibration.feature``.

Verifies the calibration temperature (bounded, optional, applied; the shipped one lowers the
expected calibration error on a held-out phantom) and the segmentation's plausible
alternatives kept by inference.

Oracles: the phantom's analytic classes on the CT grid (never the model's output); the ECE
computed here (:mod:`verification.inference.calibration`) from the probabilities inference
delivers; the thresholding of those probabilities computed here in NumPy.  The phantom (femur,
seed 401, 2.0 x 2.0 x 2.5 mm) was used neither in training (seeds 1-4) nor in fitting the
temperature (``bench_calibration.py``: seeds 201, 202).  Both inferences run once per module.
"""

from __future__ import annotations

import json
import shutil
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
)

scenarios("inference/calibration.feature")


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The held-out femur through the shipped package and a copy at temperature 1.0."""
    root = tmp_path_factory.mktemp("calibration")
    volume, truth = phantom_volume("femur", root / "femur", shape=(48, 48, 40),
                                   spacing=(2.0, 2.0, 2.5), seed=401)
    plain = root / "plain"
    shutil.copytree(REFERENCE_MODEL, plain)
    manifest = json.loads((plain / "manifest.json").read_text(encoding="utf-8"))
    manifest["temperature"] = 1.0
    (plain / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    runs: dict[str, Any] = {"truth": truth}
    for name, folder in (("shipped", REFERENCE_MODEL), ("plain", plain)):
        package = load_model_package(folder)
        with captured_probabilities(volume.geometry.shape, len(package.manifest.labels)) as p:
            result = infer(volume, package, InferenceOptions())
            runs[name] = {"result": result, "probabilities": np.array(p),
                          "package": package}
    return runs


@given(parsers.parse('the held-out "{kind}" phantom of shape {i:d} {j:d} {k:d} with spacing '
                     "{si:f} {sj:f} {sk:f} and seed {seed:d}, segmented by the reference model "
                     "as shipped and with temperature 1.0"))
def segmented(held_out: dict[str, Any]) -> None:
    """The module's two inferences (parameters fixed in :func:`held_out`)."""


@then("the shipped temperature is below 1 and the run record states it")
def shipped_temperature(held_out: dict[str, Any]) -> None:
    """Sharpening: the reference model was under-confident."""
    shipped = held_out["shipped"]
    temperature = shipped["package"].manifest.temperature
    assert 0.05 < temperature < 1.0
    record = shipped["result"].record
    assert record["model"]["temperature"] == temperature
    assert {"operation": "calibrate", "temperature": temperature,
            "applied": "scores / temperature before the softmax"} in record["spatial_operations"]


@then("the expected calibration error over 15 equal-width bins, against the phantom's classes, "
      "is lower with the shipped temperature than with 1.0")
def ece_lower(held_out: dict[str, Any], record_property: Any) -> None:
    """ECE against the analytic classes, over every CT voxel."""
    assert ECE_BINS == 15
    truth = held_out["truth"]
    before = expected_calibration_error(held_out["plain"]["probabilities"], truth)
    after = expected_calibration_error(held_out["shipped"]["probabilities"], truth)
    record_property("ece_before", round(before, 5))
    record_property("ece_after", round(after, 5))
    assert after < before, (before, after)


@then("the two label maps agree on at least 99 % of the voxels")
def labels_agree(held_out: dict[str, Any]) -> None:
    """The temperature keeps the most probable class on the model grid; only the trilinear
    resampling of the sharpened probabilities may move a boundary voxel of the CT grid."""
    a = held_out["shipped"]["result"].label_map.labels
    b = held_out["plain"]["result"].label_map.labels
    assert float(np.mean(a == b)) >= 0.99


@then("each alternative equals, voxel for voxel, the probabilities delivered thresholded at 0.3 "
      "and 0.7 with the vessel winning overlaps")
def alternatives_threshold(held_out: dict[str, Any]) -> None:
    """Recomputed here: bone where p_bone >= t, then vessel where p_vessel >= t."""
    shipped = held_out["shipped"]
    p = shipped["probabilities"]
    alternatives = shipped["result"].alternatives
    assert sorted(alternatives) == ["p>=0.3", "p>=0.7"]
    for threshold in (0.3, 0.7):
        expected = np.zeros(p.shape[1:], np.uint8)
        expected[p[1] >= threshold] = 1
        expected[p[2] >= threshold] = 2
        found = alternatives[f"p>={threshold:g}"]
        assert found.geometry == shipped["result"].label_map.geometry
        assert found.names == shipped["result"].label_map.names
        assert np.array_equal(found.labels, expected)
    assert np.count_nonzero(alternatives["p>=0.3"].labels == 2) >= np.count_nonzero(
        alternatives["p>=0.7"].labels == 2) > 0


@then("the run record names the alternatives p>=0.3 and p>=0.7")
def record_alternatives(held_out: dict[str, Any]) -> None:
    """Names and rule in run.json."""
    names = [a["name"] for a in held_out["shipped"]["result"].record["alternatives"]]
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
