"""Calibration measured against the phantoms' ground truth: ECE, and temperature fitting.

Shared by the calibration scenario (``verification/features/inference/calibration.feature``)
and the benchmark that fits the reference model's temperature
(``verification/benchmarks/bench_calibration.py``).

The class probabilities are captured on the CT grid as inference delivers them (a wrapper of
:meth:`corridor.inference.resample.BackResampler.consume`), so that what is measured is what
the pipeline produces; the truth is the phantom's analytic label map, never the model's.

Expected calibration error (Guo et al., ICML 2017): the voxels' confidence (probability of
the most probable class) in :data:`ECE_BINS` equal-width bins over [0, 1] (the top bin closed),
``ECE = sum_b (n_b / n) |accuracy_b - confidence_b|``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from corridor.inference import api as inference_api
from corridor.ingest import ingest
from corridor.ingest.model import Volume
from corridor_phantoms import Label, make_phantom, write_series

__all__ = ["ECE_BINS", "captured_probabilities", "classes_of", "expected_calibration_error",
           "fit_temperature", "phantom_volume", "scaled"]

ECE_BINS = 15
"""Equal-width confidence bins of the ECE (Guo et al. 2017 use 15)."""


def classes_of(labels: NDArray[np.integer]) -> NDArray[np.uint8]:
    """The reference model's classes (0 background, 1 bone, 2 vessel) of a phantom's labels."""
    out = np.zeros(labels.shape, np.uint8)
    out[(labels == Label.CORTICAL_BONE) | (labels == Label.CANCELLOUS_BONE)] = 1
    out[labels == Label.VESSEL] = 2
    return out


def expected_calibration_error(probabilities: NDArray[np.floating], truth: NDArray[np.integer],
                               bins: int = ECE_BINS) -> float:
    """ECE of class probabilities ``(classes, ...)`` against true classes ``(...)``."""
    confidence = probabilities.max(axis=0).ravel().astype(np.float64)
    correct = (probabilities.argmax(axis=0) == truth).ravel()
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    confidence_sum = np.bincount(which, weights=confidence, minlength=bins)
    correct_sum = np.bincount(which, weights=correct.astype(np.float64), minlength=bins)
    return float(np.abs(correct_sum - confidence_sum).sum() / confidence.size)


def scaled(probabilities: NDArray[np.floating], temperature: float) -> NDArray[np.float64]:
    """Probabilities raised to ``1 / temperature`` and renormalised (temperature scaling of
    log-probabilities), computed here in float64 independently of the pipeline's code."""
    logp = np.log(np.maximum(probabilities.astype(np.float64), 1e-12)) / temperature
    logp -= logp.max(axis=0, keepdims=True)
    p = np.exp(logp)
    return np.asarray(p / p.sum(axis=0, keepdims=True))


def fit_temperature(probabilities: NDArray[np.floating], truth: NDArray[np.integer]) -> float:
    """The temperature minimising the negative log-likelihood of the true classes."""
    flat = probabilities.reshape(probabilities.shape[0], -1)
    target = truth.ravel()

    def nll(log_t: float) -> float:
        p = scaled(flat, math.exp(log_t))
        return float(-np.mean(np.log(np.maximum(p[target, np.arange(target.size)], 1e-12))))

    found = optimize.minimize_scalar(nll, bounds=(math.log(0.05), math.log(20.0)),
                                     method="bounded", options={"xatol": 1e-4})
    return float(math.exp(found.x))


@contextmanager
def captured_probabilities(shape_ijk: tuple[int, int, int], classes: int
                           ) -> Iterator[NDArray[np.float32]]:
    """Within the block, inference's class probabilities on the CT grid are copied into the
    array yielded, ``(classes, i, j, k)``, as they are delivered."""
    store = np.zeros((classes, *shape_ijk[::-1]), np.float32)  # (classes, k, j, i)
    original = inference_api.BackResampler.consume

    def consume(self: Any, k0: int, k1: int, channels: Any, labels: int) -> Any:
        for part in original(self, k0, k1, channels, labels):
            store[:, part.k][:, part.mask] = part.probabilities
            yield part

    inference_api.BackResampler.consume = consume  # type: ignore[method-assign]
    try:
        yield store.transpose(0, 3, 2, 1)
    finally:
        inference_api.BackResampler.consume = original  # type: ignore[method-assign]


def phantom_volume(kind: str, folder: Path, *, shape: tuple[int, int, int],
                   spacing: tuple[float, float, float], seed: int, position: str = "HFS",
                   orientation: str = "axial") -> tuple[Volume, NDArray[np.uint8]]:
    """A phantom written as DICOM and ingested, with its true classes on the CT grid."""
    phantom = make_phantom(kind, shape=shape, spacing=spacing, seed=seed,
                           patient_position=position, orientation=orientation)
    written = write_series(phantom, folder)
    volume = ingest(written.out_dir / "dicom").volume
    return volume, classes_of(phantom.labels)
