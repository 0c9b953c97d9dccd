"""Properties of window placement and the Gaussian importance map (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor.inference.window import gaussian_importance, window_starts


@given(size=st.integers(1, 400), patch=st.integers(1, 128),
       overlap=st.floats(0.0, 0.9, allow_nan=False))
def test_windows_cover_the_axis_with_bounded_steps(size: int, patch: int, overlap: float) -> None:
    if size < patch:
        with pytest.raises(ValueError, match="pad the image"):
            window_starts(size, patch, overlap)
        return
    starts = window_starts(size, patch, overlap)
    assert starts[0] == 0
    assert starts[-1] == size - patch
    covered = np.zeros(size, bool)
    for start in starts:
        covered[start:start + patch] = True
    assert covered.all()
    steps = np.diff(starts)
    assert np.all(steps > 0) or len(starts) == 1
    assert np.all(steps <= patch * (1 - overlap) + 1)


@given(patch=st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40)))
def test_gaussian_importance_peaks_at_the_centre_and_is_never_zero(
        patch: tuple[int, int, int]) -> None:
    weights = gaussian_importance(patch)
    assert weights.shape == patch
    assert weights.dtype == np.float32
    assert np.isclose(weights.max(), 1.0)
    assert weights.min() > 0
    for axis in range(3):  # symmetric about the centre along every axis
        assert np.allclose(weights, np.flip(weights, axis), atol=1e-6)


def test_gaussian_sigma_is_one_eighth_of_the_patch() -> None:
    weights = gaussian_importance((64, 1, 1))[:, 0, 0].astype(np.float64)
    centre, sigma = 31.5, 64 / 8
    expected = np.exp(-0.5 * ((np.arange(64) - centre) / sigma) ** 2)
    assert np.allclose(weights, expected / expected.max(), rtol=1e-5)
