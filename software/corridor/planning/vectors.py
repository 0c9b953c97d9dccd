"""Vector helpers of the planning stage: unit vectors, angles between them, perpendicular bases.

Every vector here is a direction or offset in patient LPS coordinates (mm for offsets, unitless
for directions); the helpers work on the last axis, so a ``(3,)`` vector and an ``(n, 3)`` batch
are treated alike.  The independent re-check (:mod:`~corridor.planning.recheck`) does not use
them, on purpose: it shares no code with the search it checks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["angle_deg", "perpendicular_basis", "projected_basis", "unit"]

FloatArray = NDArray[np.float64]

_SMALLEST_NORM = 1e-9
"""Vectors shorter than this are divided by it instead of their length (a zero vector stays
zero rather than turning into NaN)."""


def unit(vectors: FloatArray) -> FloatArray:
    """The vectors scaled to length 1 along the last axis.

    Parameters
    ----------
    vectors
        ``(3,)`` or ``(..., 3)`` LPS vectors.

    Returns
    -------
    numpy.ndarray
        Same shape; vectors shorter than 1e-9 are divided by 1e-9 (a zero vector stays zero).
    """
    if vectors.ndim == 1:
        return np.asarray(vectors / max(float(np.linalg.norm(vectors)), _SMALLEST_NORM))
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.asarray(vectors / np.maximum(norm, _SMALLEST_NORM))


def angle_deg(a: FloatArray, b: FloatArray) -> FloatArray:
    """Angle between unit vectors (degrees, 0 to 180), broadcast over the leading axes.

    Parameters
    ----------
    a, b
        Unit vectors, ``(..., 3)`` (LPS); the cosine is clipped to [-1, 1] so rounding never
        leaves the domain of arccos.

    Returns
    -------
    numpy.ndarray
        ``(...)`` angles in degrees (a 0-d array for two single vectors; ``float()`` it).
    """
    cosine = np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)
    return np.asarray(np.degrees(np.arccos(cosine)))


def perpendicular_basis(axis: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Two unit vectors ``u``, ``v`` with ``(u, v, axis)`` a right-handed orthonormal basis.

    ``u`` is perpendicular to the LPS x axis, or to y when ``axis`` is within about 25 degrees
    of x; any such basis serves (cone sampling, refinement moves, the implant's cross-section).

    Parameters
    ----------
    axis
        ``(3,)`` unit vector (LPS).
    """
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)


def projected_basis(axis: FloatArray, toward: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Two unit vectors ``u``, ``v`` perpendicular to ``axis``, ``u`` pointing along ``toward``.

    ``u`` is ``toward``'s component perpendicular to ``axis``, normalised; ``v = axis x u``.

    Parameters
    ----------
    axis
        ``(3,)`` unit vector (LPS).
    toward
        ``(3,)`` vector (LPS) not parallel to ``axis``.
    """
    u = toward - (toward @ axis) * axis
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)
