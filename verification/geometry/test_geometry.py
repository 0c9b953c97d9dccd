"""ImageGeometry: invariants, and round trips checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from corridor.geometry import GeometryError, ImageGeometry


def _rotation(axis: NDArray[np.float64], angle: float) -> NDArray[np.float64]:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def test_components_give_the_affine_written_out_by_hand() -> None:
    geometry = ImageGeometry.from_components(
        shape=(4, 5, 6), spacing=(0.5, 0.75, 2.0),
        direction=[[-1, 0, 0], [0, 1, 0], [0, 0, 1]], origin=(10.0, -20.0, 30.0),
    )
    expected = np.array([[-0.5, 0, 0, 10], [0, 0.75, 0, -20], [0, 0, 2.0, 30], [0, 0, 0, 1]])
    assert np.array_equal(geometry.affine, expected)
    assert geometry.spacing == (0.5, 0.75, 2.0)
    assert not geometry.is_right_handed
    assert np.allclose(geometry.index_to_lps([3, 4, 5]), [10 - 1.5, -20 + 3.0, 30 + 10.0])
    assert np.allclose(geometry.affine_ras()[:2], -expected[:2])


@pytest.mark.parametrize(
    ("affine", "shape", "field"),
    [
        (np.eye(3), (2, 2, 2), "affine"),
        (np.diag([1.0, 1.0, 0.0, 1.0]), (2, 2, 2), "spacing"),
        (np.array([[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], float), (2, 2, 2),
         "direction"),
        (np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]], float), (2, 2, 2),
         "affine"),
        (np.diag([1.0, 1.0, np.nan, 1.0]), (2, 2, 2), "affine"),
        (np.eye(4), (2, 0, 2), "shape"),
    ],
)
def test_invalid_geometry_cannot_exist(affine: NDArray[np.float64], shape: tuple[int, int, int],
                                       field: str) -> None:
    with pytest.raises(GeometryError) as caught:
        ImageGeometry(affine, shape)
    assert caught.value.field == field
    assert "expected" in str(caught.value)


def test_affine_is_read_only() -> None:
    geometry = ImageGeometry(np.eye(4), (2, 2, 2))
    with pytest.raises(ValueError, match="read-only"):
        geometry.affine[0, 0] = 2.0


angles = st.floats(min_value=-np.pi, max_value=np.pi, allow_nan=False)
spacings = st.floats(min_value=0.1, max_value=5.0, allow_nan=False)
coordinates = st.floats(min_value=-500, max_value=500, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(angles, st.tuples(coordinates, coordinates, coordinates).filter(
    lambda v: np.linalg.norm(v) > 1e-3), st.tuples(spacings, spacings, spacings),
    st.tuples(coordinates, coordinates, coordinates), st.booleans())
def test_index_and_patient_coordinates_round_trip(
    angle: float, axis: tuple[float, float, float], spacing: tuple[float, float, float],
    origin: tuple[float, float, float], flip: bool,
) -> None:
    direction = _rotation(np.asarray(axis), angle)
    if flip:
        direction[:, 2] *= -1
    geometry = ImageGeometry.from_components(
        shape=(7, 8, 9), spacing=spacing, direction=direction, origin=origin)
    assert np.allclose(geometry.spacing, spacing, rtol=1e-12)
    assert np.allclose(geometry.direction, direction, atol=1e-12)
    assert geometry.orthonormality_error < 1e-9
    assert geometry.is_right_handed is (not flip)
    points = np.array([[0, 0, 0], [6, 7, 8], [1.5, 2.25, 3.75]])
    lps = geometry.index_to_lps(points)
    # Independent computation: origin + sum of index x spacing x direction column.
    by_hand = np.asarray(origin) + (points * np.asarray(spacing)) @ direction.T
    assert np.allclose(lps, by_hand, atol=1e-9)
    assert np.allclose(geometry.lps_to_index(lps), points, atol=1e-9)


def test_same_as_uses_the_stated_tolerance() -> None:
    a = ImageGeometry.from_components(shape=(10, 10, 10), spacing=(1, 1, 1), direction=np.eye(3),
                                      origin=(0, 0, 0))
    b = ImageGeometry.from_components(shape=(10, 10, 10), spacing=(1, 1, 1), direction=np.eye(3),
                                      origin=(0, 0, 0.0009))
    c = ImageGeometry.from_components(shape=(10, 10, 10), spacing=(1, 1, 1.0002),
                                      direction=np.eye(3), origin=(0, 0, 0))
    assert a.same_as(b)
    assert not a.same_as(c)  # the last slice moves 9 x 0.0002 = 0.0018 mm
    assert a.max_distance_mm(c) == pytest.approx(0.0018)
