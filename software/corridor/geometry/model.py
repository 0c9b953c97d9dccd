"""The image geometry value object.

Conventions
-----------
* Patient coordinates are DICOM LPS (x to the patient's left, y to posterior,
  z to superior), in millimetres, everywhere inside Corridor.
* Voxel indices are named ``ijk``: ``i`` the column, ``j`` the row, ``k`` the
  slice.  ``shape`` is ``(columns, rows, slices)``.
* The affine maps a voxel index ``(i, j, k, 1)`` to ``(x, y, z, 1)`` in LPS mm;
  its first three columns are the steps of one voxel along i, j and k (direction
  times spacing), its fourth the position of voxel ``(0, 0, 0)``'s centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from corridor.errors import FieldError

__all__ = ["AFFINE_TOLERANCE_MM", "DIRECTION_TOLERANCE", "GeometryError", "ImageGeometry"]

AFFINE_TOLERANCE_MM = 1e-3
"""Two geometries place every voxel of the image within this distance (mm) of each other
when they are considered the same (3D Slicer's corner tolerance)."""

DIRECTION_TOLERANCE = 1e-4
"""Largest departure of a direction cosine matrix from orthonormal (absolute, per entry of
``D.T @ D - I``) for the geometry to count as orthonormal (highdicom's orthogonality tolerance)."""


class GeometryError(FieldError):
    """An affine or shape that cannot place an image in the patient.

    Attributes
    ----------
    field
        The offending component (``affine``, ``shape``, ``spacing``, ``direction``).
    found
        The value found.
    expected
        What was expected, in words.
    """

    def __init__(self, field: str, found: object, expected: str) -> None:
        super().__init__(field, found, expected, where="image geometry")


_RAS_FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])
"""LPS to RAS and back: x and y negated (its own inverse)."""


def _readonly(array: NDArray[np.float64]) -> NDArray[np.float64]:
    array = np.array(array, dtype=np.float64, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, slots=True, eq=False)
class ImageGeometry:
    """Where every voxel of a 3-D image lies in the patient.

    Valid once constructed: a 4x4 affine with last row ``[0, 0, 0, 1]``, finite,
    with non-zero, linearly independent voxel steps, and a positive integer shape.
    The affine is stored as a read-only copy.

    Parameters
    ----------
    affine
        4x4 matrix from voxel index ``(i, j, k, 1)`` to LPS mm.
    shape
        Number of voxels along i (columns), j (rows) and k (slices).
    frame_of_reference_uid
        DICOM Frame of Reference UID the coordinates belong to, if known.
    """

    affine: NDArray[np.float64]
    shape: tuple[int, int, int]
    frame_of_reference_uid: str | None = None

    def __post_init__(self) -> None:
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise GeometryError("affine", affine.shape, "a 4x4 matrix")
        if not np.all(np.isfinite(affine)):
            raise GeometryError("affine", affine.tolist(), "finite values")
        if not np.array_equal(affine[3], [0.0, 0.0, 0.0, 1.0]):
            raise GeometryError("affine", affine[3].tolist(), "last row [0, 0, 0, 1]")
        steps = np.linalg.norm(affine[:3, :3], axis=0)
        if np.any(steps <= 0):
            raise GeometryError("spacing", steps.tolist(), "every voxel step longer than 0 mm")
        if abs(np.linalg.det(affine[:3, :3] / steps)) < 1e-6:
            raise GeometryError("direction", affine[:3, :3].tolist(),
                                "linearly independent voxel axes")
        shape = tuple(int(n) for n in self.shape)
        if len(shape) != 3 or any(n < 1 for n in shape) or shape != tuple(self.shape):
            raise GeometryError("shape", self.shape, "three positive integers (i, j, k)")
        object.__setattr__(self, "affine", _readonly(affine))
        object.__setattr__(self, "shape", shape)

    @classmethod
    def from_components(
        cls,
        *,
        shape: Sequence[int],
        spacing: Sequence[float],
        direction: ArrayLike,
        origin: Sequence[float],
        frame_of_reference_uid: str | None = None,
    ) -> ImageGeometry:
        """Build from spacing, direction cosines and origin.

        Parameters
        ----------
        shape
            Voxels along i, j, k.
        spacing
            Voxel step along i, j, k in mm.
        direction
            3x3 matrix whose columns are the unit vectors of the i, j and k axes in LPS.
        origin
            LPS position (mm) of the centre of voxel ``(0, 0, 0)``.
        frame_of_reference_uid
            DICOM Frame of Reference UID, if known.
        """
        direction_matrix = np.asarray(direction, dtype=np.float64)
        if direction_matrix.shape != (3, 3):
            raise GeometryError("direction", direction_matrix.shape, "a 3x3 matrix")
        spacing_vector = np.asarray(spacing, dtype=np.float64)
        if spacing_vector.shape != (3,) or np.any(spacing_vector <= 0):
            raise GeometryError("spacing", list(spacing), "three spacings > 0 mm")
        if len(shape) != 3:
            raise GeometryError("shape", list(shape), "three positive integers (i, j, k)")
        affine = np.eye(4)
        affine[:3, :3] = direction_matrix * spacing_vector
        affine[:3, 3] = np.asarray(origin, dtype=np.float64)
        return cls(affine, (int(shape[0]), int(shape[1]), int(shape[2])), frame_of_reference_uid)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel step along i, j and k, in mm."""
        steps = np.linalg.norm(self.affine[:3, :3], axis=0)
        return (float(steps[0]), float(steps[1]), float(steps[2]))

    @property
    def direction(self) -> NDArray[np.float64]:
        """3x3 matrix whose columns are the unit vectors of the i, j, k axes in LPS."""
        return _readonly(self.affine[:3, :3] / np.linalg.norm(self.affine[:3, :3], axis=0))

    @property
    def origin(self) -> tuple[float, float, float]:
        """LPS position (mm) of the centre of voxel ``(0, 0, 0)``."""
        return (float(self.affine[0, 3]), float(self.affine[1, 3]), float(self.affine[2, 3]))

    @property
    def orthonormality_error(self) -> float:
        """Largest absolute entry of ``D.T @ D - I`` for the direction matrix ``D``."""
        direction = self.direction
        return float(np.max(np.abs(direction.T @ direction - np.eye(3))))

    @property
    def is_right_handed(self) -> bool:
        """Whether (i, j, k) form a right-handed frame in LPS."""
        return bool(np.linalg.det(self.affine[:3, :3]) > 0)

    def index_to_lps(self, ijk: ArrayLike) -> NDArray[np.float64]:
        """LPS mm of voxel indices (``(..., 3)``, fractional allowed)."""
        points = np.asarray(ijk, dtype=np.float64)
        return points @ self.affine[:3, :3].T + self.affine[:3, 3]

    def lps_to_index(self, lps: ArrayLike) -> NDArray[np.float64]:
        """Fractional voxel indices of LPS points (``(..., 3)``, mm)."""
        points = np.asarray(lps, dtype=np.float64) - self.affine[:3, 3]
        solved = np.linalg.solve(self.affine[:3, :3], points.reshape(-1, 3).T).T
        return np.asarray(solved.reshape(points.shape), dtype=np.float64)

    def corners_lps(self) -> NDArray[np.float64]:
        """LPS mm of the centres of the 8 corner voxels, shape ``(8, 3)``."""
        ni, nj, nk = (n - 1 for n in self.shape)
        corners = np.array([[i, j, k] for i in (0, ni) for j in (0, nj) for k in (0, nk)])
        return self.index_to_lps(corners)

    def max_distance_mm(self, other: ImageGeometry) -> float:
        """Largest distance between corresponding corner voxels of two geometries (mm).

        The affine is linear, so the largest displacement over the whole grid is
        reached at a corner.
        """
        if self.shape != other.shape:
            return float("inf")
        return float(np.max(np.linalg.norm(self.corners_lps() - other.corners_lps(), axis=1)))

    def same_as(self, other: ImageGeometry, tolerance_mm: float = AFFINE_TOLERANCE_MM) -> bool:
        """Whether the two place every voxel within ``tolerance_mm`` of each other."""
        return self.max_distance_mm(other) <= tolerance_mm

    @classmethod
    def from_ras_affine(cls, affine_ras: ArrayLike, shape: Sequence[int]) -> ImageGeometry:
        """Build from an affine to RAS mm (NIfTI, 3D Slicer): x and y negated into LPS."""
        return cls(_RAS_FLIP @ np.asarray(affine_ras, dtype=np.float64),
                   (int(shape[0]), int(shape[1]), int(shape[2])))

    def affine_ras(self) -> NDArray[np.float64]:
        """The affine to RAS mm (x, y negated), as NIfTI and 3D Slicer expect.

        With :meth:`from_ras_affine`, the only place Corridor converts between LPS and RAS
        for images; exporters say so in their names.
        """
        return _readonly(_RAS_FLIP @ self.affine)

    def to_json(self) -> dict[str, Any]:
        """Plain, JSON-ready description (affine rows, shape, spacing, frame of reference)."""
        return {
            "shape_ijk": list(self.shape),
            "spacing_mm_ijk": list(self.spacing),
            "affine_ijk_to_lps": self.affine.tolist(),
            "frame_of_reference_uid": self.frame_of_reference_uid,
        }
