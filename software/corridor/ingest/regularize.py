"""Resample a gantry-tilted or unevenly spaced series onto a regular grid in patient coordinates.

Ingest refuses such series by default (SRS-ING-*); on request they are regularised
here, as 3D Slicer does by default and dcm2niix does in its ``_Tilt`` and ``_Eq``
volumes, and the resampling is recorded (:class:`~corridor.ingest.model.Regularization`).

The output grid (SRS-ING-024)
-----------------------------
* Axes: i and j along the acquired row and column directions, with the acquired pixel
  spacing; k along the slice normal (row x column), so the grid is orthonormal and
  right-handed like every ingest geometry.
* Along k: from the first acquired slice to the last, in the fewest equal steps no longer
  than the smallest gap between acquired slices (the smallest gap itself when it divides
  the range, as with the phantoms): no loss of resolution, and the first and last
  output planes are the first and last acquired planes.
* In the plane: extended to whole voxels so that every acquired slice's voxel centres
  are covered (a tilted stack is a parallelepiped; nothing acquired is cut off).  The
  in-plane grid is the first slice's, so its voxels are copied, not interpolated.

The interpolation
-----------------
Each output plane lies between two acquired planes (or on one).  Each of the two is
sampled at the output voxel centres' projections onto it, bilinearly (the projection
differs from the acquired grid by one in-plane shift per slice), and the two samples
are blended linearly by the distance along the normal.  For a value that is an affine
function of position this is exact.

A voxel is padding (value :data:`FILL_HU`, marked in the returned mask) when its centre
projects outside an acquired slice it needs, or when any acquired voxel with a positive
weight in its value is padding: padding values never mix into tissue.

Memory: the output (float32) and its mask (one byte a voxel), plus a few planes; the
stack is read, never copied.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from corridor.geometry import ImageGeometry
from corridor.ingest.enum import RegularizationReason
from corridor.ingest.errors import RegularizationInputError
from corridor.ingest.model import Regularization
from corridor.ingest.ops import DUPLICATE_POSITION_TOLERANCE_MM, SLICE_POSITION_TOLERANCE_MM

__all__ = ["FILL_HU", "GRID_TOLERANCE_MM", "METHOD", "regularize"]

FILL_HU = -1024.0
"""HU of the voxels outside the acquired region (air); they are also marked as padding."""

GRID_TOLERANCE_MM = SLICE_POSITION_TOLERANCE_MM
"""A slice lying within this distance (mm) of its place on a regular grid stacked along
the normal counts as regular (ingest's own tolerance, 3D Slicer's spacing epsilon): DICOM's
decimal strings round positions.  Decides the
recorded reasons; also the slack allowed when the smallest gap divides the covered range."""

METHOD = ("linear: each acquired slice sampled bilinearly at the projection of the output "
          "voxel centre onto its plane, the two slices bracketing the output plane blended "
          "linearly along the normal")
"""The interpolation, as recorded in :attr:`Regularization.method`."""

_SNAP = 1e-6
"""Fractions (of a voxel or of a gap) closer than this to a whole number are taken as whole,
so that a plane or voxel lying on acquired data copies it instead of blending in a
neighbour through floating-point noise."""

_ORTHONORMAL_TOLERANCE = 1e-3
"""Largest departure of the orientation cosines from two orthogonal unit vectors (as ingest)."""

_DUPLICATE_TOLERANCE_MM = DUPLICATE_POSITION_TOLERANCE_MM
"""Two slices closer than this along the normal are at one position (as ingest)."""


def _array(value: ArrayLike, name: str, shape: tuple[int | None, ...],
           expected: str) -> NDArray[np.float64]:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != len(shape) or any(n is not None and n != m
                                       for n, m in zip(shape, array.shape, strict=True)):
        raise RegularizationInputError(name, array.shape, expected)
    if not np.all(np.isfinite(array)):
        raise RegularizationInputError(name, "non-finite values", f"{expected}, finite")
    return array


def _validate(stack: NDArray[np.generic], positions_lps: ArrayLike,
              image_orientation_patient: ArrayLike, pixel_spacing: ArrayLike,
              padding: NDArray[np.bool_] | None) -> tuple[NDArray[np.float64],
                                                          NDArray[np.float64],
                                                          NDArray[np.float64]]:
    if not isinstance(stack, np.ndarray) or stack.ndim != 3:
        raise RegularizationInputError("stack", getattr(stack, "shape", type(stack).__name__),
                                       "a 3-D array (slice, row, column)")
    if stack.dtype.kind not in "iuf":
        raise RegularizationInputError("stack", str(stack.dtype), "integer or float HU")
    if stack.shape[0] < 2 or min(stack.shape[1:]) < 1:
        raise RegularizationInputError("stack", stack.shape, "2 or more slices of 1 x 1 or more")
    if stack.dtype.kind == "f" and not all(np.all(np.isfinite(s)) for s in stack):
        raise RegularizationInputError("stack", "non-finite HU", "finite HU")
    positions = _array(positions_lps, "positions_lps", (stack.shape[0], 3),
                       f"a ({stack.shape[0]}, 3) array, one position per slice")
    iop = _array(image_orientation_patient, "image_orientation_patient", (6,),
                 "6 direction cosines (row, then column)")
    row, column = iop[:3], iop[3:]
    if (abs(np.linalg.norm(row) - 1) > _ORTHONORMAL_TOLERANCE
            or abs(np.linalg.norm(column) - 1) > _ORTHONORMAL_TOLERANCE
            or abs(float(row @ column)) > _ORTHONORMAL_TOLERANCE):
        raise RegularizationInputError("image_orientation_patient", iop.tolist(),
                                       "two orthogonal unit vectors")
    spacing = _array(pixel_spacing, "pixel_spacing", (2,), "(row spacing, column spacing) mm")
    if np.any(spacing <= 0):
        raise RegularizationInputError("pixel_spacing", spacing.tolist(), "spacings above 0 mm")
    if padding is not None and (not isinstance(padding, np.ndarray) or padding.dtype != bool
                                or padding.shape != stack.shape):
        raise RegularizationInputError(
            "padding", (getattr(padding, "dtype", type(padding).__name__),
                        getattr(padding, "shape", None)),
            f"None or a boolean array shaped like the stack {stack.shape}")
    return positions, iop, spacing


def _shift_1d(size_in: int, size_out: int, offset: float) -> tuple[int, float, int, int]:
    """Output indices ``[lo, hi)`` whose source ``index + offset`` lies in ``[0, size_in - 1]``.

    Returns ``(x0 of index 0, fraction, lo, hi)``: the source of output index ``n`` is
    ``x0 + n`` blended with ``x0 + n + 1`` by ``fraction`` (0 when on a voxel).
    """
    base = math.floor(offset)
    fraction = offset - base
    if fraction < _SNAP:
        fraction = 0.0
    elif fraction > 1.0 - _SNAP:
        base, fraction = base + 1, 0.0
    last = size_in - 1 if fraction == 0.0 else size_in - 2
    lo = max(0, -base)
    hi = min(size_out, last - base + 1)
    return base, fraction, lo, max(lo, hi)


def _shift_axis(values: NDArray[np.float64], axis: int, size_out: int,
                offset: float) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """``values`` resampled along ``axis`` at ``index + offset`` (linear); and where defined."""
    base, fraction, lo, hi = _shift_1d(values.shape[axis], size_out, offset)
    shape = list(values.shape)
    shape[axis] = size_out
    out = np.zeros(shape)
    valid = np.zeros(size_out, dtype=bool)
    if hi > lo:
        valid[lo:hi] = True
        target = [slice(None)] * values.ndim
        source = [slice(None)] * values.ndim
        target[axis] = slice(lo, hi)
        source[axis] = slice(base + lo, base + hi)
        out[tuple(target)] = values[tuple(source)]
        if fraction:
            source[axis] = slice(base + lo + 1, base + hi + 1)
            out[tuple(target)] *= 1.0 - fraction
            out[tuple(target)] += fraction * values[tuple(source)]
    return out, valid


class _Plane:
    """One acquired slice sampled on the output's in-plane grid."""

    def __init__(self, values: NDArray[np.generic], padding: NDArray[np.bool_] | None,
                 offset_ij: tuple[float, float], size_ij: tuple[int, int]) -> None:
        di, dj = offset_ij
        along_i, valid_i = _shift_axis(np.asarray(values, dtype=np.float64), 1, size_ij[0], di)
        self.values, valid_j = _shift_axis(along_i, 0, size_ij[1], dj)
        self.outside = ~(valid_j[:, None] & valid_i[None, :])
        if padding is None or not padding.any():
            self.padding: NDArray[np.bool_] | None = None
        else:
            mask_i, _ = _shift_axis(padding.astype(np.float64), 1, size_ij[0], di)
            mask, _ = _shift_axis(mask_i, 0, size_ij[1], dj)
            self.padding = mask > 0.0


def _regular_steps(extent: float, smallest_gap: float) -> int:
    """Fewest equal steps no longer than ``smallest_gap`` covering ``extent`` (mm)."""
    return max(1, math.ceil((extent - GRID_TOLERANCE_MM) / smallest_gap))


def regularize(
    stack: NDArray[np.generic],
    positions_lps: ArrayLike,
    image_orientation_patient: ArrayLike,
    pixel_spacing: Sequence[float] | ArrayLike,
    padding: NDArray[np.bool_] | None,
    *,
    frame_of_reference_uid: str | None,
) -> tuple[NDArray[np.float32], ImageGeometry, NDArray[np.bool_], Regularization]:
    """Resample slices that are tilted or unevenly spaced onto a regular, orthogonal grid.

    See the module's docstring for the grid and the interpolation (SRS-ING-024).

    Parameters
    ----------
    stack
        HU as loaded, ``(k, j, i)`` = (slice, row, column), int16 or float32; all slices
        share orientation and pixel spacing (ingest has checked).
    positions_lps
        Image Position (Patient) of each slice (mm, LPS), ``(k, 3)``, in order of increasing
        position along the slice normal (row x column).
    image_orientation_patient
        The row direction cosines, then the column direction cosines (LPS).
    pixel_spacing
        DICOM Pixel Spacing: (row spacing, column spacing) mm, i.e. along j, then along i.
    padding
        Acquired padding voxels (Pixel Padding Value), ``(k, j, i)``, or ``None``.
    frame_of_reference_uid
        Frame of Reference UID of the positions, kept in the geometry.

    Returns
    -------
    hu : numpy.ndarray
        float32 HU indexed ``[i, j, k]`` with ``hu.T`` C-contiguous (as
        :attr:`corridor.ingest.model.Volume.hu`).
    geometry : ImageGeometry
        The regular grid: i along the rows, j along the columns, k along the normal.
    padding : numpy.ndarray
        bool ``[i, j, k]`` laid out like ``hu``: acquired padding and voxels outside the
        acquired region (both hold :data:`FILL_HU`).
    regularization : Regularization
        What was done, for the provenance.

    Raises
    ------
    RegularizationInputError
        Wrong shapes, non-finite values, fewer than 2 slices, an orientation that is not
        two orthogonal unit vectors, or positions not strictly increasing along the normal.
    """
    positions, iop, spacing = _validate(stack, positions_lps, image_orientation_patient,
                                        pixel_spacing, padding)
    row, column = iop[:3], iop[3:]
    normal = np.cross(row, column)
    normal /= np.linalg.norm(normal)
    spacing_j, spacing_i = float(spacing[0]), float(spacing[1])
    along = positions @ normal
    gaps = np.diff(along)
    if np.any(gaps < _DUPLICATE_TOLERANCE_MM):
        worst = int(np.argmin(gaps))
        raise RegularizationInputError(
            "positions_lps", f"slices {worst} and {worst + 1} {gaps[worst]:.4f} mm apart along "
            "the normal", f"positions increasing by at least {_DUPLICATE_TOLERANCE_MM} mm")
    count = len(along)
    relative = positions - positions[0]
    in_plane_mm = relative - np.outer(relative @ normal, normal)
    u = relative @ row / spacing_i
    v = relative @ column / spacing_j

    stacking = positions[-1] - positions[0]
    tilt_deg = math.degrees(math.atan2(float(np.linalg.norm(in_plane_mm[-1])),
                                       float(stacking @ normal)))
    mean_gap = float(along[-1] - along[0]) / (count - 1)
    naive = np.outer(np.arange(count) * mean_gap, normal)
    displacement = np.linalg.norm(relative - naive, axis=1)
    reasons = []
    if float(np.max(np.linalg.norm(in_plane_mm, axis=1))) > GRID_TOLERANCE_MM:
        reasons.append(RegularizationReason.GANTRY_TILT)
    if float(np.max(np.abs(along - along[0] - np.arange(count) * mean_gap))) > GRID_TOLERANCE_MM:
        reasons.append(RegularizationReason.VARIABLE_SPACING)

    def _whole(values: NDArray[np.float64], low: bool) -> int:
        rounded = np.round(values)
        snapped = np.where(np.abs(values - rounded) < _SNAP, rounded, values)
        return int(math.floor(snapped.min()) if low else math.ceil(snapped.max()))

    rows, columns = stack.shape[1], stack.shape[2]
    i_low, i_high = _whole(u, True), _whole(u, False) + columns - 1
    j_low, j_high = _whole(v, True), _whole(v, False) + rows - 1
    size_i, size_j = i_high - i_low + 1, j_high - j_low + 1
    extent = float(along[-1] - along[0])
    steps = _regular_steps(extent, float(gaps.min()))
    spacing_k = extent / steps
    size_k = steps + 1

    hu = np.empty((size_k, size_j, size_i), dtype=np.float32)
    mask = np.empty((size_k, size_j, size_i), dtype=bool)
    planes: dict[int, _Plane] = {}

    def plane(k: int) -> _Plane:
        if k not in planes:
            for old in [key for key in planes if key < k - 1]:
                del planes[old]
            planes[k] = _Plane(stack[k], None if padding is None else padding[k],
                               (i_low - float(u[k]), j_low - float(v[k])), (size_i, size_j))
        return planes[k]

    for m in range(size_k):
        position = along[0] + m * spacing_k
        lower = min(int(np.searchsorted(along, position, side="right")) - 1, count - 2)
        lower = max(lower, 0)
        weight = float((position - along[lower]) / gaps[lower])
        if weight < _SNAP:
            used = [(plane(lower), 1.0)]
        elif weight > 1.0 - _SNAP:
            used = [(plane(lower + 1), 1.0)]
        else:
            used = [(plane(lower), 1.0 - weight), (plane(lower + 1), weight)]
        values = np.zeros((size_j, size_i))
        empty = np.zeros((size_j, size_i), dtype=bool)
        for source, factor in used:
            values += factor * source.values
            empty |= source.outside
            if source.padding is not None:
                empty |= source.padding
        values[empty] = FILL_HU
        hu[m] = values
        mask[m] = empty

    affine = np.eye(4)
    affine[:3, 0] = row * spacing_i
    affine[:3, 1] = column * spacing_j
    affine[:3, 2] = normal * spacing_k
    affine[:3, 3] = positions[0] + i_low * spacing_i * row + j_low * spacing_j * column
    geometry = ImageGeometry(affine, (size_i, size_j, size_k), frame_of_reference_uid)
    record = Regularization(
        reasons=tuple(reasons),
        method=METHOD,
        tilt_deg=tilt_deg,
        source_slice_positions_mm=tuple(float(d) for d in along),
        output_spacing_mm=(spacing_i, spacing_j, spacing_k),
        output_shape=(size_i, size_j, size_k),
        largest_displacement_mm=float(displacement.max()),
        fill_hu=FILL_HU,
    )
    return hu.transpose(2, 1, 0), geometry, mask.transpose(2, 1, 0), record
