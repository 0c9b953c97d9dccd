"""Calibration of the reference model: temperature fitted on held-out phantoms, ECE before/after.

The reference model's class probabilities are captured on the CT grid as ``infer`` delivers
them (:mod:`verification.inference.calibration`), on phantoms whose seeds, spacings,
orientations and patient positions were used neither in training
(``software/training/train_reference.py``) nor in the reference-model scenarios:

* **fit set** (:data:`FIT_CASES`): the temperature minimising the negative log-likelihood of
  the true classes (probabilities power-scaled, i.e. log-probabilities divided by T);
* **test set** (:data:`TEST_CASES`): inference run end to end, the probabilities the
  resampling delivers to the CT grid captured, and the expected calibration error against the
  phantom's analytic classes of those probabilities (temperature 1.0) and of the same scaled
  by the fitted temperature (as inference applies it, on the CT grid): 15 equal-width bins of
  the confidence (the most probable class's probability), over every CT voxel, and over the
  voxels that are bone or vessel in the truth or the prediction (the background's certain
  voxels dominate the first figure).

Not part of CI (minutes on a 2-core machine); the calibration scenario checks the shipped
temperature on one small held-out phantom.

Usage::

    python verification/benchmarks/bench_calibration.py [--fit-only] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from verification.inference.calibration import (
    ECE_BINS,
    captured_probabilities,
    expected_calibration_error,
    fit_temperature,
    phantom_volume,
    scaled,
)

from corridor.inference import REFERENCE_MODEL, load_model_package
from corridor.inference.api import InferenceOptions, infer

FIT_CASES: tuple[dict[str, Any], ...] = (
    {"kind": "pelvis", "seed": 201, "spacing": (1.3, 1.3, 2.5), "position": "HFS",
     "orientation": "axial"},
    {"kind": "femur", "seed": 202, "spacing": (1.0, 1.0, 1.5), "position": "FFS",
     "orientation": "oblique"},
)
"""Held-out phantoms the temperature is fitted on."""

TEST_CASES: tuple[dict[str, Any], ...] = (
    {"kind": "pelvis", "seed": 301, "spacing": (1.6, 1.6, 2.2), "position": "HFP",
     "orientation": "coronal"},
    {"kind": "femur", "seed": 302, "spacing": (1.15, 1.15, 1.8), "position": "HFS",
     "orientation": "axial"},
)
"""Held-out phantoms ECE is reported on (none used for fitting)."""

_FIELD_OF_VIEW_MM = {"pelvis": (384.0, 384.0, 200.0), "femur": (200.0, 200.0, 240.0)}


def _probabilities(case: dict[str, Any], folder: Path, package_dir: Path
                   ) -> tuple[np.ndarray, np.ndarray]:
    spacing = case["spacing"]
    shape = tuple(round(f / s) for f, s in zip(_FIELD_OF_VIEW_MM[case["kind"]], spacing,
                                                strict=True))
    volume, truth = phantom_volume(case["kind"], folder, shape=shape, spacing=spacing,
                                   seed=case["seed"], position=case["position"],
                                   orientation=case["orientation"])
    if truth.shape != volume.geometry.shape:
        raise SystemExit(f"truth {truth.shape} and CT {volume.geometry.shape} differ")
    package = load_model_package(package_dir)
    with captured_probabilities(volume.geometry.shape, len(package.manifest.labels)) as store:
        infer(volume, package, InferenceOptions())
        probabilities = np.array(store)
    return probabilities, truth


def _package_with(temperature: float, folder: Path) -> Path:
    target = folder / "package"
    shutil.copytree(REFERENCE_MODEL, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["temperature"] = temperature
    manifest.pop("calibration", None)
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return target


def _ece(probabilities: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    structure = (truth > 0) | (probabilities.argmax(axis=0) > 0)
    return {"all_voxels": expected_calibration_error(probabilities, truth),
            "structure_voxels": expected_calibration_error(probabilities[:, structure],
                                                           truth[structure])}


def main(argv: Sequence[str] | None = None) -> int:
    """Fit the temperature and report ECE before and after (JSON on stdout)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit-only", action="store_true")
    parser.add_argument("--temperature", type=float, default=None,
                        help="skip the fit and test this temperature")
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-calibration-"))
    root.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()
    result: dict[str, Any] = {"ece_bins": ECE_BINS}
    plain = _package_with(1.0, root / "t1")
    temperature = args.temperature
    if temperature is None:
        found = [_probabilities(case, root / f"fit-{n}", plain)
                 for n, case in enumerate(FIT_CASES)]
        stacked = np.concatenate([p.reshape(p.shape[0], -1) for p, _ in found], axis=1)
        truth = np.concatenate([t.ravel() for _, t in found])
        temperature = round(fit_temperature(stacked, truth), 3)
        result["fit_cases"] = list(FIT_CASES)
    result["temperature"] = temperature
    print(f"temperature {temperature}", file=sys.stderr)
    if not args.fit_only:
        rows = []
        for n, case in enumerate(TEST_CASES):
            probabilities, truth = _probabilities(case, root / f"test-{n}", plain)
            before = _ece(probabilities, truth)
            after = _ece(scaled(probabilities, temperature), truth)
            rows.append({**case, "ece_before": before, "ece_after": after})
            print(json.dumps(rows[-1]), file=sys.stderr)
        result["test"] = rows
    result["seconds"] = round(time.perf_counter() - clock, 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
