"""Distance fields in millimetres on a region of interest of a label map.

Distances are to the *voxel model* of a structure: the voxels whose label says they
belong to it.  A field holds, at every voxel centre, the Euclidean distance (mm,
anisotropic spacing honoured) to the nearest voxel centre on the other side, less half
the mean voxel spacing: an estimate of the distance to the surface half-way between
the voxel centres (the surface marching cubes draws).  How far that estimate can be
above the true distance to the voxel model, after trilinear interpolation and sampling
along an axis, is :func:`uncertainty_mm`; a clearance less that uncertainty is a
guaranteed lower bound.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import edt
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap
from corridor.planning.errors import PlanningError

__all__ = ["ORTHOGONALITY_TOLERANCE", "DistanceField", "Roi", "corridor_field",
           "region_of_interest", "risk_field", "uncertainty_mm"]

FloatArray = NDArray[np.float64]

ORTHOGONALITY_TOLERANCE = 1e-4
"""Largest |D^T D - I| entry of the grid's direction matrix the planner accepts: distance
transforms with per-axis spacing are exact only on grids with orthogonal axes (a gantry-tilt
series must be resampled first)."""


def _half_diagonal(spacing: Sequence[float]) -> float:
    return 0.5 * math.sqrt(sum(s * s for s in spacing))


def uncertainty_mm(spacing: Sequence[float], step_mm: float) -> float:
    """How much an interpolated, axis-sampled distance estimate can exceed the true distance.

    Three terms: the nearest voxel *centre* versus the voxel model (half the voxel
    diagonal, less the half mean spacing already taken off), trilinear interpolation
    of a 1-Lipschitz function (at most half the voxel diagonal), and the minimum between
    two samples along an axis ``step_mm`` apart (half the step).
    """
    half_diagonal = _half_diagonal(spacing)
    return 2.0 * half_diagonal - 0.5 * float(np.mean(spacing)) + 0.5 * step_mm


@dataclass(frozen=True, slots=True, eq=False)
class Roi:
    """A box of the label map: its labels and geometry, and where it starts in the full map."""

    labels: NDArray[np.uint8]
    geometry: ImageGeometry
    start: tuple[int, int, int]

    def index_of(self, points: FloatArray) -> FloatArray:
        """Fractional ROI indices ``(3, n)`` of LPS points ``(n, 3)``."""
        inverse = np.linalg.inv(self.geometry.affine)
        return np.asarray(inverse[:3, :3] @ points.T + inverse[:3, 3:4])

    def labels_at(self, points: FloatArray) -> NDArray[np.uint8]:
        """Label of the voxel nearest each point (0 outside the ROI)."""
        index = np.rint(self.index_of(points)).astype(np.intp)
        inside = np.all((index >= 0) & (index < np.asarray(self.labels.shape)[:, None]), axis=0)
        found = np.zeros(points.shape[0], dtype=np.uint8)
        found[inside] = self.labels[index[0, inside], index[1, inside], index[2, inside]]
        return found


def region_of_interest(label_map: LabelMap, boxes: Sequence[tuple[FloatArray, FloatArray]],
                       pad_mm: float) -> Roi:
    """The part of ``label_map`` holding every LPS box, grown by ``pad_mm`` on each side.

    Raises
    ------
    PlanningError
        The grid's axes are not orthogonal, or the boxes miss the label map entirely.
    """
    geometry = label_map.geometry
    if geometry.orthonormality_error > ORTHOGONALITY_TOLERANCE:
        raise PlanningError("label map geometry", f"axes {geometry.orthonormality_error:.2g} "
                            "from orthogonal (sheared grid)",
                            "a grid with orthogonal axes (resample a gantry-tilt series first)")
    low = np.min([b[0] for b in boxes], axis=0) - pad_mm
    high = np.max([b[1] for b in boxes], axis=0) + pad_mm
    corners = np.array([[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1])
                        for z in (low[2], high[2])])
    index = geometry.lps_to_index(corners)
    start = np.maximum(np.floor(index.min(axis=0)).astype(int), 0)
    stop = np.minimum(np.ceil(index.max(axis=0)).astype(int) + 1, np.asarray(geometry.shape))
    if np.any(stop <= start):
        raise PlanningError("region of interest", f"LPS box {low.round(1).tolist()} to "
                            f"{high.round(1).tolist()}", "a box overlapping the label map")
    window = tuple(slice(int(a), int(b)) for a, b in zip(start, stop, strict=True))
    affine = geometry.affine.copy()
    affine[:3, 3] = geometry.index_to_lps(start.astype(np.float64))
    shape = tuple(int(b - a) for a, b in zip(start, stop, strict=True))
    roi_geometry = ImageGeometry(affine, shape,  # type: ignore[arg-type]
                                 geometry.frame_of_reference_uid)
    return Roi(np.ascontiguousarray(label_map.labels[window]), roi_geometry,
               (int(start[0]), int(start[1]), int(start[2])))


@dataclass(frozen=True, slots=True, eq=False)
class DistanceField:
    """Estimated distance (mm) at each ROI voxel centre, with how points outside read.

    Attributes
    ----------
    name
        The structure.
    values
        float32 on the ROI grid.
    geometry
        The ROI's geometry.
    outside_value
        What a point outside the ROI reads (the conservative answer).
    """

    name: str
    values: NDArray[np.float32]
    geometry: ImageGeometry
    outside_value: float

    def sample(self, index: FloatArray, *, order: int) -> NDArray[np.float32]:
        """Values at fractional ROI indices ``(3, n)``: trilinear (``order=1``) or nearest (0)."""
        if order == 0:
            nearest = np.rint(index).astype(np.intp)
            inside = np.all((nearest >= 0) & (nearest < np.asarray(self.values.shape)[:, None]),
                            axis=0)
            found = np.full(index.shape[1], self.outside_value, dtype=np.float32)
            found[inside] = self.values[nearest[0, inside], nearest[1, inside],
                                        nearest[2, inside]]
            return found
        return np.asarray(ndimage.map_coordinates(self.values, index, order=1, mode="constant",
                                                  cval=self.outside_value, prefilter=False),
                          dtype=np.float32)


def _distance(mask: NDArray[np.bool_], spacing: Sequence[float]) -> NDArray[np.float32]:
    """Distance (mm) from each ``True`` voxel centre to the nearest ``False`` one (``edt``,
    threaded; 0 on ``False`` voxels; the array's border is not treated as ``False``)."""
    return np.asarray(edt.edt(np.ascontiguousarray(mask, dtype=np.uint8),
                              anisotropy=tuple(float(s) for s in spacing), black_border=False,
                              parallel=os.cpu_count() or 1), dtype=np.float32)


def corridor_field(mask: NDArray[np.bool_], geometry: ImageGeometry) -> DistanceField:
    """Depth inside the corridor (mm): positive inside, ``-s/2`` outside (``s`` mean spacing).

    Inside, the distance to the nearest voxel centre outside the corridor less ``s/2``;
    so the zero level lies half-way between the last voxel inside and the first outside.
    """
    spacing = geometry.spacing
    offset = 0.5 * float(np.mean(spacing))
    depth = _distance(mask, spacing)
    values = np.where(mask, depth - offset, -offset).astype(np.float32)
    return DistanceField("corridor", values, geometry, -offset)


def risk_field(name: str, mask: NDArray[np.bool_], geometry: ImageGeometry,
               cap_mm: float) -> DistanceField:
    """Distance from a risk structure (mm): ``-s/2`` in it, capped at ``cap_mm`` (empty: cap).

    Points outside the ROI read ``-s/2``, as if they were in the structure: a candidate
    never leaves the ROI by construction, and if it did it would be rejected, not passed.
    """
    spacing = geometry.spacing
    offset = 0.5 * float(np.mean(spacing))
    if not mask.any():
        values = np.full(mask.shape, cap_mm, dtype=np.float32)
    else:
        values = np.minimum(_distance(~mask, spacing) - np.float32(offset), np.float32(cap_mm))
    return DistanceField(name, values, geometry, -offset)
