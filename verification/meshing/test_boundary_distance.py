"""The QA's distance to the label boundary against brute force over every boundary face."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from corridor.geometry import ImageGeometry
from corridor.meshing.quality import _distance_to_boundary


def _brute_force(mask: np.ndarray, spacing: tuple[float, float, float],
                 points: np.ndarray) -> np.ndarray:
    """Distance to every face between a labelled and an unlabelled voxel, computed with
    the faces as axis-aligned rectangles on an axis-aligned grid (no k-d tree)."""
    padded = np.pad(mask, 1)
    best = np.full(len(points), np.inf)
    sizes = np.asarray(spacing)
    for axis in range(3):
        differ = padded != np.roll(padded, -1, axis=axis)
        for voxel in np.argwhere(differ):
            centre = (voxel - 1.0) * sizes
            centre[axis] += 0.5 * sizes[axis]
            low, high = centre - sizes / 2, centre + sizes / 2
            low[axis] = high[axis] = centre[axis]
            nearest = np.clip(points, low, high)
            best = np.minimum(best, np.linalg.norm(points - nearest, axis=1))
    return best


@example(seed=281, spacing=(0.5, 1.0, 3.0))  # the 8 nearest face centres missed the nearest face
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000),
       spacing=st.tuples(st.floats(0.5, 2.0), st.floats(0.5, 2.0), st.floats(0.5, 3.0)))
def test_distance_to_boundary_equals_brute_force(seed: int,
                                                 spacing: tuple[float, float, float]) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((5, 4, 4)) < 0.4
    if not mask.any():
        mask[2, 2, 2] = True
    geometry = ImageGeometry.from_components(shape=mask.shape, spacing=spacing,
                                             direction=np.eye(3), origin=(0.0, 0.0, 0.0))
    points = rng.uniform(-1.0, 6.0, size=(40, 3)) * np.asarray(spacing)
    expected = _brute_force(mask, spacing, points)
    found = _distance_to_boundary(mask, geometry, points)
    assert np.allclose(found, expected, atol=1e-9)
