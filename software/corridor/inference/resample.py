"""Resampling between the CT grid and the model grid, stated and invertible.

* To the model grid: HU by trilinear interpolation (``scipy.ndimage.affine_transform``,
  order 1); voxels of the model grid outside the CT get ``outside_hu`` (air).
* Back to the CT grid: class probabilities by trilinear interpolation, then the
  label of each CT voxel is the most probable class there (probability-space
  resampling, as nnU-Net does when it exports at the original spacing).  Done slab
  by slab so that no full-size float copy per class exists at the CT's resolution.

Both directions go through the two grids' affines only (voxel index to LPS mm), so
any orientation, including sheared (gantry-tilted) grids, is handled the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from corridor.geometry import ImageGeometry
from corridor.inference.manifest import GridOrientation

__all__ = ["from_model_grid", "model_grid", "to_model_grid"]

_REVERSE = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
"""Swaps (i, j, k) and (k, j, i) index order."""

SLAB_SLICES = 16
"""CT slices resampled back at a time: bounds the float memory of the way back."""


def model_grid(geometry: ImageGeometry, spacing_mm: tuple[float, float, float],
               orientation: GridOrientation) -> ImageGeometry:
    """The model grid that covers a CT grid: same extent, the model's spacing.

    With ``lps`` the grid is axis-aligned in LPS and covers the CT's bounding box;
    with ``native`` it keeps the CT's voxel directions and spans the same first to
    last voxel centres.
    """
    spacing = np.asarray(spacing_mm, dtype=np.float64)
    if orientation is GridOrientation.LPS:
        corners = geometry.corners_lps()
        low, high = corners.min(axis=0), corners.max(axis=0)
        shape = [math.floor((hi - lo) / s + 1e-6) + 1
                 for lo, hi, s in zip(low, high, spacing, strict=True)]
        centre = (low + high) / 2.0
        origin = centre - spacing * (np.asarray(shape) - 1) / 2.0
        return ImageGeometry.from_components(shape=shape, spacing=spacing_mm, direction=np.eye(3),
                                             origin=origin,
                                             frame_of_reference_uid=geometry.frame_of_reference_uid)
    steps = geometry.affine[:3, :3]
    lengths = np.linalg.norm(steps, axis=0)
    extent = lengths * (np.asarray(geometry.shape) - 1)
    shape = [math.floor(e / s + 1e-6) + 1 for e, s in zip(extent, spacing, strict=True)]
    affine = np.eye(4)
    affine[:3, :3] = steps / lengths * spacing
    centre = geometry.index_to_lps((np.asarray(geometry.shape) - 1) / 2.0)
    affine[:3, 3] = centre - affine[:3, :3] @ ((np.asarray(shape) - 1) / 2.0)
    return ImageGeometry(affine, (shape[0], shape[1], shape[2]), geometry.frame_of_reference_uid)


def _index_map(source: ImageGeometry, target: ImageGeometry) -> NDArray[np.float64]:
    """4x4 map from a target voxel index (i, j, k) to a source voxel index (i, j, k)."""
    return np.asarray(np.linalg.inv(source.affine) @ target.affine, dtype=np.float64)


def to_model_grid(hu: NDArray[np.generic], geometry: ImageGeometry, grid: ImageGeometry,
                  outside_hu: float) -> NDArray[np.float32]:
    """HU on the model grid, ``(k, j, i)`` C-ordered float32 (trilinear).

    Parameters
    ----------
    hu
        CT voxels ``[i, j, k]``.
    geometry
        The CT's grid.
    grid
        The model grid (:func:`model_grid`).
    outside_hu
        Value of model-grid voxels outside the CT.
    """
    index = _index_map(geometry, grid)
    # output index (k, j, i) -> reverse -> target (i, j, k) -> source (i, j, k)
    matrix = index[:3, :3] @ _REVERSE
    offset = index[:3, 3]
    result: NDArray[np.float32] = ndimage.affine_transform(
        hu, matrix, offset, output_shape=grid.shape[::-1], output=np.float32, order=1,
        mode="constant", cval=float(outside_hu), prefilter=False)
    return result


def _slabs(slices: int) -> Iterator[tuple[int, int]]:
    for start in range(0, slices, SLAB_SLICES):
        yield start, min(start + SLAB_SLICES, slices)


def from_model_grid(probabilities: NDArray[np.float32], grid: ImageGeometry,
                    geometry: ImageGeometry, *, normalize: bool = True,
                    ) -> Iterator[tuple[int, int, NDArray[np.float32]]]:
    """Class probabilities (or any channels) resampled to the CT grid, slab by slab along ``k``.

    Parameters
    ----------
    probabilities
        ``(labels, k, j, i)`` on the model grid.
    grid
        The model grid.
    geometry
        The CT's grid.

    Yields
    ------
    tuple
        ``(k0, k1, p)`` with ``p`` of shape ``(labels, k1 - k0, j, i)``: the
        probabilities at CT slices ``k0 <= k < k1`` (trilinear; CT voxels beyond the
        model grid's last centre take the nearest one), renormalised to sum to 1
        over the channels when ``normalize``.
    """
    index = _index_map(grid, geometry)  # CT (i, j, k) -> model (i, j, k)
    to_model_kji = _REVERSE @ index[:3, :3] @ _REVERSE  # CT (k, j, i) -> model (k, j, i)
    shift_kji = _REVERSE @ index[:3, 3]
    _, rows, columns = (geometry.shape[2], geometry.shape[1], geometry.shape[0])
    for k0, k1 in _slabs(geometry.shape[2]):
        offset = shift_kji + to_model_kji @ np.array([k0, 0.0, 0.0])
        slab = np.empty((probabilities.shape[0], k1 - k0, rows, columns), dtype=np.float32)
        for label in range(probabilities.shape[0]):
            ndimage.affine_transform(probabilities[label], to_model_kji, offset,
                                     output_shape=slab.shape[1:], output=slab[label], order=1,
                                     mode="nearest", prefilter=False)
        if normalize:
            slab /= np.maximum(slab.sum(axis=0, keepdims=True), np.float32(1e-12))
        yield k0, k1, slab
