"""Where a phantom's voxel grid lies in the patient, as a scanner would place it.

The scanner's frame is patient LPS for a patient lying head first and supine
(x to the patient's left, y down toward the table, z into the gantry); the
patient position maps it to the patient, a 180° turn for each of FFS, HFP and
FFP.  The image plane is chosen in the scanner frame by the orientation, then
optionally tilted about its row direction (gantry tilt), while the slices keep
stepping along the un-tilted normal, as a table moving through a tilted gantry
does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import ImageGeometry
from corridor_phantoms.anatomy import rotation
from corridor_phantoms.enum import Orientation, PatientPosition

__all__ = [
    "DEFAULT_GANTRY_TILT_DEG",
    "DEFAULT_OBLIQUE_ANGLE_DEG",
    "MAX_GANTRY_TILT_DEG",
    "OBLIQUE_AXIS",
    "VARIABLE_SPACING_FACTOR",
    "VARIABLE_SPACING_SUBDIVISION",
    "build_geometry",
    "field_of_view_mask",
    "variable_spacing_slices",
]

OBLIQUE_AXIS = (1.0 / math.sqrt(14.0), 2.0 / math.sqrt(14.0), 3.0 / math.sqrt(14.0))
"""Unit vector (scanner frame) the axial frame is turned about for ``oblique``: no grid axis."""

DEFAULT_OBLIQUE_ANGLE_DEG = 20.0
"""Angle (degrees) of the ``oblique`` turn unless one is given."""

DEFAULT_GANTRY_TILT_DEG = 12.0
"""Gantry tilt (degrees) planted by the ``gantry-tilt`` fault when the phantom has none."""

MAX_GANTRY_TILT_DEG = 30.0
"""Largest gantry tilt accepted (degrees); clinical scanners tilt up to about ±30°."""

VARIABLE_SPACING_FACTOR = 1.75
"""Slice gap of the second half of a ``variable-spacing`` series, as a multiple of the first
half's (a GE series going from 4 mm to 7 mm).  Short of 2, so no gap looks like one slice
missing."""

VARIABLE_SPACING_SUBDIVISION = 4
"""Truth slices per phantom slice step under ``variable-spacing``: the truth grid steps a quarter
of the phantom's k spacing, so that both gaps (4 and 7 truth steps) fall on it and every
written slice is a truth slice."""

_POSITION = {
    PatientPosition.HFS: np.diag([1.0, 1.0, 1.0]),
    PatientPosition.FFS: np.diag([-1.0, 1.0, -1.0]),
    PatientPosition.HFP: np.diag([-1.0, -1.0, 1.0]),
    PatientPosition.FFP: np.diag([1.0, -1.0, -1.0]),
}
"""Scanner frame to patient LPS: each non-HFS position is a 180° turn of the patient."""


def _scanner_plane(orientation: Orientation, oblique_angle_deg: float) -> NDArray[np.float64]:
    """Columns: the i and j unit vectors and their normal, in the scanner frame."""
    ex, ey, ez = np.eye(3)
    if orientation is Orientation.AXIAL:
        i, j = ex, ey
    elif orientation is Orientation.CORONAL:
        i, j = ex, -ez
    elif orientation is Orientation.SAGITTAL:
        i, j = ey, -ez
    else:
        turn = rotation(OBLIQUE_AXIS, oblique_angle_deg)
        i, j = turn @ ex, turn @ ey
    return np.column_stack([i, j, np.cross(i, j)])


def build_geometry(
    *,
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    orientation: Orientation,
    patient_position: PatientPosition,
    oblique_angle_deg: float,
    gantry_tilt_deg: float,
    centre_lps: Sequence[float],
    frame_of_reference_uid: str,
) -> ImageGeometry:
    """The grid's geometry, centred on ``centre_lps``.

    Parameters
    ----------
    shape
        Voxels along i, j, k.
    spacing
        mm between voxel centres along i, j and k; with a gantry tilt the k step is
        the table increment, so slices lie ``spacing[2] * cos(tilt)`` apart.
    orientation, patient_position
        Image plane in the scanner, and how the patient lies in it.
    oblique_angle_deg
        Angle of the turn about :data:`OBLIQUE_AXIS` (``oblique`` only).
    gantry_tilt_deg
        Turn of the image plane about its row direction (right-hand rule);
        ``0`` for an orthogonal grid.
    centre_lps
        LPS mm where the grid's centre (index ``(shape - 1) / 2``) lies.
    frame_of_reference_uid
        Frame of Reference UID of the patient coordinates.

    Returns
    -------
    ImageGeometry
        Right-handed; sheared when the gantry is tilted.
    """
    direction = _POSITION[patient_position] @ _scanner_plane(orientation, oblique_angle_deg)
    i, j, k = direction.T
    tilt = math.radians(gantry_tilt_deg)
    j = math.cos(tilt) * j + math.sin(tilt) * k
    steps = np.column_stack([i * spacing[0], j * spacing[1], k * spacing[2]])
    centre_index = (np.asarray(shape, dtype=np.float64) - 1.0) / 2.0
    affine = np.eye(4)
    affine[:3, :3] = steps
    affine[:3, 3] = np.asarray(centre_lps, dtype=np.float64) - steps @ centre_index
    return ImageGeometry(affine, shape, frame_of_reference_uid)


def field_of_view_mask(shape: tuple[int, int, int],
                       spacing: tuple[float, float, float]) -> NDArray[np.bool_]:
    """Voxels of one slice inside the reconstruction field of view, ``[i, j]``.

    The field of view is the disc inscribed in the slice, centred on its centre
    (diameter the shorter side, ``min(ni * si, nj * sj)`` mm); the i and j axes are
    orthonormal in the plane, so distances in the plane are exact.
    """
    ni, nj, _ = shape
    radius = 0.5 * min(ni * spacing[0], nj * spacing[1])
    x = (np.arange(ni) - (ni - 1) / 2.0) * spacing[0]
    y = (np.arange(nj) - (nj - 1) / 2.0) * spacing[1]
    mask: NDArray[np.bool_] = x[:, None] ** 2 + y[None, :] ** 2 <= radius**2
    return mask


def variable_spacing_slices(slices: int) -> tuple[int, ...]:
    """Truth slice indices of a ``variable-spacing`` series of ``slices`` images.

    The first ``ceil(slices / 2)`` images step one phantom spacing
    (:data:`VARIABLE_SPACING_SUBDIVISION` truth slices), the rest
    :data:`VARIABLE_SPACING_FACTOR` times that (7 truth slices); the truth grid has
    ``result[-1] + 1`` slices.

    Examples
    --------
    >>> variable_spacing_slices(6)
    (0, 4, 8, 15, 22, 29)
    """
    first = math.ceil(slices / 2)
    long_step = round(VARIABLE_SPACING_FACTOR * VARIABLE_SPACING_SUBDIVISION)
    short = [n * VARIABLE_SPACING_SUBDIVISION for n in range(first)]
    last = short[-1] if short else 0
    return (*short, *(last + n * long_step for n in range(1, slices - first + 1)))
