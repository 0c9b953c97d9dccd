"""Making a phantom: the anatomy sampled on a scanner-placed grid, with noise and padding."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.uid import generate_uid

from corridor import __version__
from corridor.geometry import ImageGeometry
from corridor_phantoms.anatomy import Anatomy, SlicePlane, build_anatomy
from corridor_phantoms.enum import Orientation, PatientPosition, PhantomKind
from corridor_phantoms.errors import PhantomError
from corridor_phantoms.grid import (
    DEFAULT_OBLIQUE_ANGLE_DEG,
    MAX_GANTRY_TILT_DEG,
    OBLIQUE_AXIS,
    build_geometry,
    field_of_view_mask,
)
from corridor_phantoms.model import HU_MAX, HU_MIN, PADDING_HU, Phantom

__all__ = [
    "DEFAULT_NOISE_HU",
    "DEFAULT_SHAPES",
    "MANIFEST_FORMAT",
    "derived_uid",
    "make_phantom",
    "parse_choice",
]

_log = logging.getLogger(__name__)

DEFAULT_NOISE_HU = 10.0
"""Standard deviation (HU) of the Gaussian noise unless one is given; typical of a
standard-dose abdominal CT with a soft-tissue kernel."""

DEFAULT_SHAPES: dict[PhantomKind, tuple[tuple[int, int, int], tuple[float, float, float]]] = {
    PhantomKind.PELVIS: ((256, 256, 100), (1.5, 1.5, 2.0)),
    PhantomKind.FEMUR: ((160, 160, 120), (1.25, 1.25, 2.0)),
    PhantomKind.SPHERE: ((64, 64, 64), (1.0, 1.0, 1.0)),
    PhantomKind.ELLIPSOID: ((64, 64, 64), (1.0, 1.0, 1.0)),
    PhantomKind.CYLINDER: ((64, 64, 64), (1.0, 1.0, 1.0)),
}
"""Voxels (i, j, k) and spacing (mm) of each kind unless given: the whole anatomy of
interest, generated in a few seconds."""

MANIFEST_FORMAT = "corridor-phantom-manifest/1"
"""Value of the manifest's ``format`` key; changes when its layout does."""

MAX_VOXELS_PER_AXIS = 4096
"""Largest number of voxels along one axis accepted (a guard against typos)."""

MAX_SPACING_MM = 50.0
"""Largest voxel spacing accepted (mm)."""

E = TypeVar("E", bound=StrEnum)


def parse_choice(enum: type[E], value: object, field: str) -> E:
    """``value`` as a member of ``enum``, or a :class:`PhantomError` listing the choices."""
    if isinstance(value, enum):
        return value
    try:
        return enum(str(value))
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise PhantomError(field, value, f"one of {choices}") from None


def _shape(value: Sequence[int]) -> tuple[int, int, int]:
    items = list(value)
    if (len(items) != 3 or any(isinstance(n, bool) or not isinstance(n, int | np.integer)
                               for n in items)
            or any(not 1 <= int(n) <= MAX_VOXELS_PER_AXIS for n in items)):
        raise PhantomError("shape", items,
                           f"three integers (i, j, k) from 1 to {MAX_VOXELS_PER_AXIS}")
    return (int(items[0]), int(items[1]), int(items[2]))


def _spacing(value: Sequence[float]) -> tuple[float, float, float]:
    try:
        items = [float(v) for v in value]
    except (TypeError, ValueError) as exc:
        raise PhantomError("spacing", value, "three numbers (mm)") from exc
    if len(items) != 3 or any(not (0.0 < v <= MAX_SPACING_MM) for v in items):
        raise PhantomError("spacing", list(value),
                           f"three spacings (i, j, k) in mm, above 0 and at most {MAX_SPACING_MM}")
    return (items[0], items[1], items[2])


def _number(value: float, field: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        raise PhantomError(field, value, f"a number from {low:g} to {high:g}")
    return number


def derived_uid(digest: str, *parts: object) -> str:
    """A UID derived only from a phantom's request digest and ``parts`` (same inputs, same UID)."""
    return str(generate_uid(entropy_srcs=["corridor-phantom", digest, *map(str, parts)]))


def make_phantom(
    kind: PhantomKind | str,
    *,
    shape: Sequence[int] | None = None,
    spacing: Sequence[float] | None = None,
    orientation: Orientation | str = Orientation.AXIAL,
    patient_position: PatientPosition | str = PatientPosition.HFS,
    seed: int = 0,
    noise_hu: float = DEFAULT_NOISE_HU,
    oblique_angle_deg: float = DEFAULT_OBLIQUE_ANGLE_DEG,
    gantry_tilt_deg: float = 0.0,
) -> Phantom:
    """Sample a phantom's analytic anatomy on a scanner-placed voxel grid.

    The anatomy is fixed in patient LPS mm (centred on
    :data:`~corridor_phantoms.anatomy.ANATOMY_CENTRE_LPS_MM`); the grid is centred
    on it.  Each voxel's label is decided at its centre (``geometry.index_to_lps``),
    so the same anatomy lands in the same patient place whatever the spacing,
    orientation or patient position.  HU = the label's HU + Gaussian noise, rounded
    and clipped to [:data:`~corridor_phantoms.model.HU_MIN`,
    :data:`~corridor_phantoms.model.HU_MAX`]; voxels outside the field of view
    (the disc inscribed in each slice) are :data:`~corridor_phantoms.model.PADDING_HU`.
    Computed slice by slice: memory is the two output arrays (3 bytes a voxel)
    plus a few slices.

    Parameters
    ----------
    kind
        ``pelvis``, ``femur``, ``sphere``, ``ellipsoid`` or ``cylinder``.
    shape
        Voxels along i (columns), j (rows) and k (slices); default per kind
        (:data:`DEFAULT_SHAPES`).
    spacing
        mm between voxel centres along i, j and k (with a gantry tilt, k is the
        table increment); default per kind.
    orientation
        ``axial``, ``coronal``, ``sagittal`` or ``oblique`` (the axial frame turned
        by ``oblique_angle_deg`` about :data:`~corridor_phantoms.grid.OBLIQUE_AXIS`).
    patient_position
        ``HFS``, ``FFS``, ``HFP`` or ``FFP``: turns the grid as a scanner would
        (HFS: i → +x, j → +y; FFS: i → -x, j → +y; HFP: i → -x, j → -y; FFP:
        i → +x, j → -y); k = i x j (right-handed).
    seed
        Seeds the noise (``numpy.random.default_rng(seed)``), the UIDs and the
        fault choices: the same arguments give the same phantom, bit for bit.
    noise_hu
        Standard deviation of the noise (HU); ``0`` for piecewise-constant HU.
    oblique_angle_deg
        Angle of the ``oblique`` turn (degrees); ignored by other orientations.
    gantry_tilt_deg
        Tilt of the image plane about i (degrees, at most
        :data:`~corridor_phantoms.grid.MAX_GANTRY_TILT_DEG` either way); the
        geometry is then sheared.

    Returns
    -------
    Phantom
        ``hu`` (int16) and ``labels`` (uint8), indexed ``[i, j, k]`` and stored
        with i fastest (Fortran order), the geometry, and the manifest.

    Raises
    ------
    PhantomError
        A parameter out of range or not one of the choices (named with them).
    """
    phantom_kind = parse_choice(PhantomKind, kind, "kind")
    default_shape, default_spacing = DEFAULT_SHAPES[phantom_kind]
    grid_shape = _shape(default_shape if shape is None else shape)
    grid_spacing = _spacing(default_spacing if spacing is None else spacing)
    plane = parse_choice(Orientation, orientation, "orientation")
    position = parse_choice(PatientPosition, patient_position, "patient_position")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise PhantomError("seed", seed, "a non-negative integer")
    sigma = _number(noise_hu, "noise_hu", 0.0, 1000.0)
    oblique = _number(oblique_angle_deg, "oblique_angle_deg", -180.0, 180.0)
    tilt = _number(gantry_tilt_deg, "gantry_tilt_deg", -MAX_GANTRY_TILT_DEG, MAX_GANTRY_TILT_DEG)

    request: dict[str, Any] = {
        "kind": phantom_kind.value, "shape": list(grid_shape), "spacing": list(grid_spacing),
        "orientation": plane.value, "patient_position": position.value, "seed": int(seed),
        "noise_hu": sigma, "oblique_angle_deg": oblique, "gantry_tilt_deg": tilt,
    }
    digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    anatomy = build_anatomy(phantom_kind)
    geometry = build_geometry(
        shape=grid_shape, spacing=grid_spacing, orientation=plane, patient_position=position,
        oblique_angle_deg=oblique, gantry_tilt_deg=tilt, centre_lps=anatomy.centre,
        frame_of_reference_uid=derived_uid(digest, "frame-of-reference"),
    )
    hu, labels, counts = _sample(anatomy, geometry, grid_spacing, sigma, int(seed))
    in_view = field_of_view_mask(grid_shape, grid_spacing)
    contained = _contained(labels, in_view)
    anatomy_json = anatomy.to_json()
    manifest = {
        "format": MANIFEST_FORMAT,
        "synthetic": "Synthetic phantom generated by software; not patient data.",
        "generator": {"package": "corridor_phantoms", "corridor_version": __version__,
                      "numpy_version": np.__version__, "pydicom_version": pydicom.__version__},
        "kind": phantom_kind.value,
        "seed": int(seed),
        "request": request,
        "request_sha256": digest,
        "labels": anatomy_json.pop("labels"),
        "anatomy": anatomy_json,
        "geometry": {
            **geometry.to_json(),
            "index_order": "ijk = column, row, slice; arrays are indexed [i, j, k]",
            "orientation": plane.value,
            "patient_position": position.value,
            "oblique_axis_scanner": list(OBLIQUE_AXIS) if plane is Orientation.OBLIQUE else None,
            "oblique_angle_deg": oblique if plane is Orientation.OBLIQUE else None,
            "gantry_tilt_deg": tilt,
            "slice_gap_mm": grid_spacing[2] * math.cos(math.radians(tilt)),
        },
        "noise": {"distribution": "gaussian", "sigma_hu": sigma,
                  "generator": f"numpy.random.default_rng({int(seed)}), one (i, j) draw per slice "
                               "in slice order",
                  "rounding": "nearest integer", "clip_hu": [HU_MIN, HU_MAX]},
        "field_of_view": {
            "shape": "disc inscribed in each slice, centred on the slice centre",
            "radius_mm": 0.5 * min(grid_shape[0] * grid_spacing[0],
                                   grid_shape[1] * grid_spacing[1]),
            "padding_hu": PADDING_HU,
            "padded_voxels_per_slice": int(np.count_nonzero(~in_view)),
            "labels_inside": contained,
        },
        "voxel_counts": {str(label): int(n) for label, n in enumerate(counts) if n},
    }
    _log.debug("phantom %s %s made (%d voxels)", phantom_kind.value, grid_shape, labels.size)
    return Phantom(hu, labels, geometry, manifest)


def _sample(
    anatomy: Anatomy, geometry: ImageGeometry, spacing: tuple[float, float, float],
    sigma: float, seed: int,
) -> tuple[NDArray[np.int16], NDArray[np.uint8], NDArray[np.int64]]:
    """Labels and HU slice by slice (one noise draw per slice, in slice order)."""
    shape = geometry.shape
    ni, nj, nk = shape
    affine = geometry.affine
    step_i, step_j, step_k, origin = affine[:3, 0], affine[:3, 1], affine[:3, 2], affine[:3, 3]
    lut = anatomy.hu_lookup()
    outside = ~field_of_view_mask(shape, spacing)
    rng = np.random.default_rng(seed)
    hu = np.empty(shape, dtype=np.int16, order="F")
    labels = np.empty(shape, dtype=np.uint8, order="F")
    counts = np.zeros(256, dtype=np.int64)
    for k in range(nk):
        plane = SlicePlane(origin + k * step_k, step_i, step_j, (ni, nj))
        slice_labels = anatomy.label_slice(plane)
        values = lut[slice_labels].astype(np.float64)
        if sigma > 0.0:
            values += sigma * rng.standard_normal((ni, nj))
        slice_hu = np.clip(np.rint(values), HU_MIN, HU_MAX).astype(np.int16)
        slice_hu[outside] = PADDING_HU
        labels[:, :, k] = slice_labels
        hu[:, :, k] = slice_hu
        counts += np.bincount(slice_labels.ravel(), minlength=256)
    return hu, labels, counts


def _contained(labels: NDArray[np.uint8], in_view: NDArray[np.bool_]) -> bool:
    """Whether every non-background voxel is inside the field of view and off the grid's faces."""
    faces = (labels[0], labels[-1], labels[:, 0], labels[:, -1], labels[:, :, 0], labels[:, :, -1])
    if any(np.any(face) for face in faces):
        return False
    return not bool(np.any(labels[~in_view]))
