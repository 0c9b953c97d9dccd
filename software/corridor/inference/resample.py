"""Resampling between the CT grid and the model grid, stated and invertible.

* To the model grid: HU by trilinear interpolation (``scipy.ndimage.affine_transform``,
  order 1); voxels of the model grid outside the CT get ``outside_hu`` (air).
* Back to the CT grid: class probabilities by trilinear interpolation, then the
  label of each CT voxel is the most probable class there (probability-space
  resampling, as nnU-Net does when it exports at the original spacing).  Done as
  the model-grid slabs arrive (:class:`BackResampler`), so that no float copy per
  class of the whole model grid, or of the CT grid, ever exists.

Both directions go through the two grids' affines only (voxel index to LPS mm), so
any orientation, including sheared (gantry-tilted) grids, is handled the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from corridor.geometry import ImageGeometry
from corridor.inference.manifest import GridOrientation

__all__ = ["BackResampler", "CtBlock", "model_grid", "to_model_grid"]

_REVERSE = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
"""Swaps (i, j, k) and (k, j, i) index order."""


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


@dataclass(frozen=True, slots=True)
class CtBlock:
    """Probabilities at some CT voxels, as :class:`BackResampler` delivers them.

    Attributes
    ----------
    k
        The CT slice.
    mask
        ``(j, i)`` boolean: the voxels of slice ``k`` this block holds.
    probabilities
        ``(labels, n)`` at those voxels (in ``mask``'s row-major order), summing to 1.
    extra
        ``(channels, n)`` other channels interpolated the same way (e.g. TTA variance),
        not renormalised.
    """

    k: int
    mask: NDArray[np.bool_]
    probabilities: NDArray[np.float32]
    extra: NDArray[np.float32]


class BackResampler:
    """Brings model-grid slabs, delivered in increasing model ``k``, back to the CT grid.

    Each CT voxel is interpolated (trilinear, nearest beyond the model grid's last
    centres) as soon as the two model slices around it have arrived, so only one slab
    and the slice before it are ever held: never the whole model grid per class.
    Every CT voxel is delivered exactly once.
    """

    def __init__(self, grid: ImageGeometry, geometry: ImageGeometry) -> None:
        self._geometry = geometry
        index = _index_map(grid, geometry)  # CT (i, j, k) -> model (i, j, k)
        self._matrix, self._offset = index[:3, :3], index[:3, 3]
        self._model_shape_kji = grid.shape[::-1]
        self._carried: NDArray[np.float32] | None = None
        self._delivered = 0
        columns, rows = geometry.shape[0], geometry.shape[1]
        self._ii, self._jj = np.meshgrid(np.arange(columns, dtype=np.float64),
                                         np.arange(rows, dtype=np.float64), indexing="xy")

    def _model_k(self, k: int) -> NDArray[np.float64]:
        m = self._matrix
        plane: NDArray[np.float64] = m[2, 0] * self._ii + m[2, 1] * self._jj + (
            m[2, 2] * k + self._offset[2])
        return plane

    def consume(self, k0: int, k1: int, channels: NDArray[np.float32],
                labels: int) -> Iterator[CtBlock]:
        """Take model slices ``k0 <= k < k1`` (``(labels + extra, k1 - k0, j, i)``, the
        first ``labels`` channels probabilities); yield the CT voxels now complete."""
        last = self._model_shape_kji[0] - 1
        if self._carried is not None:
            band = np.concatenate([self._carried, channels], axis=1)
            low = k0 - 1
        else:
            band, low = channels, k0
        final = k1 - 1 >= last
        high = last if final else k1 - 2  # highest floor(k) whose upper neighbour has arrived
        self._carried = np.ascontiguousarray(channels[:, -1:])
        m, off = self._matrix, self._offset
        for k in range(self._geometry.shape[2]):
            if not self._may_touch(k, low, high, last):
                continue
            t = np.clip(self._model_k(k), 0.0, float(last))
            floor = np.floor(t)
            mask = (floor >= low) & (floor <= high)
            if not mask.any():
                continue
            i, j = self._ii[mask], self._jj[mask]
            coordinates = np.stack([
                t[mask] - low,
                m[1, 0] * i + m[1, 1] * j + m[1, 2] * k + off[1],
                m[0, 0] * i + m[0, 1] * j + m[0, 2] * k + off[0],
            ])
            values = np.stack([
                ndimage.map_coordinates(band[c], coordinates, order=1, mode="nearest",
                                        prefilter=False)
                for c in range(band.shape[0])]).astype(np.float32)
            probabilities = values[:labels]
            probabilities /= np.maximum(probabilities.sum(axis=0, keepdims=True),
                                        np.float32(1e-12))
            self._delivered += int(mask.sum())
            yield CtBlock(k, mask, probabilities, values[labels:])

    def _may_touch(self, k: int, low: int, high: int, last: int) -> bool:
        """Whether any voxel of CT slice ``k`` has its model ``k`` floor in [low, high]
        (the model ``k`` is affine in i and j, so its extremes lie at the slice's corners)."""
        m = self._matrix
        columns, rows = self._geometry.shape[0] - 1, self._geometry.shape[1] - 1
        base = m[2, 2] * k + self._offset[2]
        corners = [base + m[2, 0] * i + m[2, 1] * j for i in (0, columns) for j in (0, rows)]
        lowest = math.floor(min(max(min(corners), 0.0), float(last)))
        highest = math.floor(min(max(max(corners), 0.0), float(last)))
        return bool(highest >= low and lowest <= high)

    @property
    def complete(self) -> bool:
        """Whether every CT voxel has been delivered once."""
        return self._delivered == int(np.prod(self._geometry.shape))
