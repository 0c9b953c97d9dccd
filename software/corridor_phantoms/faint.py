"""The ``faint-vessel`` fault: a vessel segment the CT shows with low contrast and blurred edges.

A segmentation model is unsure of a vessel that is thin, poorly opacified or smeared by the
reconstruction kernel; where such a segment lies near a planned implant, the plan's verdict
should be flagged, or the plan should move away (issue 19).  This fault plants one: a capsule
(a segment with a radius, LPS mm) added to the anatomy, whose voxels are labelled ``vessel`` in
the truth, but whose HU rises above the soft tissue by only ``contrast`` times the vessel's own
contrast, with its edge blurred by a Gaussian of ``blur_mm``:

    HU = HU_before + contrast * (HU_vessel - HU_soft_tissue) * erfc(d / (sqrt(2) * blur_mm)) / 2

where ``d`` is the voxel centre's signed distance to the capsule (mm, negative inside): the exact
blur of a plane edge, a close one of a capsule several ``blur_mm`` across.  Only soft-tissue
voxels change (a vessel does not pass through bone, air or another vessel, and voxels outside
the field of view keep their padding); the noise already drawn is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import erfc

from corridor_phantoms.anatomy import Capsule
from corridor_phantoms.enum import Label, PhantomKind
from corridor_phantoms.errors import PhantomError
from corridor_phantoms.model import HU_MAX, HU_MIN, PADDING_HU, Phantom

__all__ = ["DEFAULT_BLUR_MM", "DEFAULT_CONTRAST", "DEFAULT_FAINT_VESSELS", "FaintVessel",
           "plant_faint_vessel"]

DEFAULT_CONTRAST = 0.4
"""Fraction of the vessel's contrast over soft tissue the faint segment keeps unless given
(about 100 HU above soft tissue instead of 260: an artery in the late venous phase)."""

DEFAULT_BLUR_MM = 1.0
"""Standard deviation (mm) of the Gaussian blurring the segment's edge unless given (a soft
reconstruction kernel)."""

_BLUR_REACH = 4.0
"""The HU change is computed within this many ``blur_mm`` of the capsule (beyond it the
profile is below 4e-5 of the contrast, far below one HU)."""

_MAX_RADIUS_MM = 50.0


@dataclass(frozen=True, slots=True)
class FaintVessel:
    """Where the faint segment lies and how faint it is (valid once constructed).

    Attributes
    ----------
    start_lps_mm, end_lps_mm
        The ends of the segment's centre line (LPS mm).
    radius_mm
        Its radius (mm).
    contrast
        Fraction of the vessel's contrast over soft tissue it keeps (0 to 1).
    blur_mm
        Standard deviation of the Gaussian blurring its edge (mm, 0: a sharp edge).

    Raises
    ------
    PhantomError
        A value that is not finite or out of range, named with the range.
    """

    start_lps_mm: tuple[float, float, float]
    end_lps_mm: tuple[float, float, float]
    radius_mm: float
    contrast: float = DEFAULT_CONTRAST
    blur_mm: float = DEFAULT_BLUR_MM

    def __post_init__(self) -> None:
        for field in ("start_lps_mm", "end_lps_mm"):
            value = getattr(self, field)
            try:
                point = tuple(float(v) for v in value)
            except (TypeError, ValueError):
                point = ()
            if len(point) != 3 or not all(math.isfinite(v) for v in point):
                raise PhantomError(f"faint_vessel.{field}", value, "three finite numbers (LPS mm)")
            object.__setattr__(self, field, point)
        ranges = {"radius_mm": (0.0, _MAX_RADIUS_MM, False), "contrast": (0.0, 1.0, True),
                  "blur_mm": (0.0, _MAX_RADIUS_MM, True)}
        for field, (low, high, closed) in ranges.items():
            value = getattr(self, field)
            number = float(value) if isinstance(value, int | float) else math.nan
            if not (math.isfinite(number) and (low <= number if closed else low < number)
                    and number <= high):
                bound = "from" if closed else "above"
                raise PhantomError(f"faint_vessel.{field}", value,
                                   f"a number {bound} {low:g} to {high:g}")
            object.__setattr__(self, field, number)

    @property
    def capsule(self) -> Capsule:
        """The segment as the anatomy's solids are described (its signed distance)."""
        return Capsule("faint-vessel", self.start_lps_mm, self.end_lps_mm, self.radius_mm)

    def to_json(self) -> dict[str, Any]:
        """The segment, its radius, contrast and blur."""
        return {"start_lps_mm": list(self.start_lps_mm), "end_lps_mm": list(self.end_lps_mm),
                "radius_mm": self.radius_mm, "contrast": self.contrast, "blur_mm": self.blur_mm}


DEFAULT_FAINT_VESSELS: dict[PhantomKind, FaintVessel] = {
    PhantomKind.PELVIS: FaintVessel((119.2, 45.2, -188.8), (105.1, 31.0, -188.8), 4.0),
    PhantomKind.FEMUR: FaintVessel((41.4, 27.6, -175.2), (36.5, 47.0, -175.2), 4.0),
}
"""Where ``faint-vessel`` plants its segment when none is given: 4 mm outside the entry point
of the screw Corridor plans on the clean phantom at its default grid with the shipped template
(pelvis: left acetabular screw; femur: femoral-neck screw), on the screw's axis, 20 mm long,
across it and level, radius 4 mm (the phantoms' arteries)."""


def plant_faint_vessel(phantom: Phantom, vessel: FaintVessel) -> tuple[Phantom, dict[str, Any]]:
    """The phantom with the faint segment planted, and the fault's manifest record.

    Parameters
    ----------
    phantom
        An anatomical phantom (pelvis or femur) from
        :func:`~corridor_phantoms.make_phantom`.
    vessel
        Where and how faint.

    Returns
    -------
    tuple
        The new phantom (truth labels ``vessel`` where the segment holds a voxel centre in
        soft tissue; HU raised as the module states; manifest ``voxel_counts`` updated) and
        the record: the segment, the HU formula, the voxels labelled and changed.

    Raises
    ------
    PhantomError
        A phantom without soft tissue and vessel labels (the analytic shapes), or a segment
        that holds no soft-tissue voxel centre of the grid.
    """
    labels_json = phantom.manifest.get("labels", {})
    names = {str(entry["name"]): int(value) for value, entry in labels_json.items()}
    if names.get("soft-tissue") != Label.SOFT_TISSUE or names.get("vessel") != Label.VESSEL:
        raise PhantomError("faults", "faint-vessel", "an anatomical phantom (pelvis or femur), "
                           "whose labels include soft tissue and vessel")
    soft_hu = float(labels_json[str(int(Label.SOFT_TISSUE))]["hu"])
    vessel_hu = float(labels_json[str(int(Label.VESSEL))]["hu"])
    capsule = vessel.capsule
    geometry = phantom.geometry
    reach = vessel.radius_mm + _BLUR_REACH * vessel.blur_mm + max(geometry.spacing)
    centre, radius = capsule.bounding_sphere()
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)],
                       dtype=np.float64) * (radius - vessel.radius_mm + reach) + centre
    index = geometry.lps_to_index(corners)
    low = np.maximum(np.floor(index.min(axis=0)).astype(int), 0)
    high = np.minimum(np.ceil(index.max(axis=0)).astype(int) + 1, np.asarray(geometry.shape))
    hu, labels = np.array(phantom.hu, order="F"), np.array(phantom.labels, order="F")
    labelled = changed = 0
    if np.all(high > low):
        box = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
        ijk = np.indices(tuple(int(b - a) for a, b in zip(low, high, strict=True)))
        points = geometry.index_to_lps(ijk.reshape(3, -1).T.astype(np.float64) + low)
        distance = capsule.sdf(points).reshape(ijk.shape[1:])
        soft = (labels[box] == Label.SOFT_TISSUE) & (hu[box] != PADDING_HU)
        profile = (0.5 * erfc(distance / (math.sqrt(2.0) * vessel.blur_mm))
                   if vessel.blur_mm > 0 else (distance <= 0).astype(np.float64))
        raised = hu[box] + vessel.contrast * (vessel_hu - soft_hu) * profile
        new_hu = np.where(soft, np.clip(np.rint(raised), HU_MIN, HU_MAX), hu[box])
        inside = soft & (distance <= 0)
        changed = int(np.count_nonzero(new_hu != hu[box]))
        labelled = int(np.count_nonzero(inside))
        hu[box] = new_hu.astype(np.int16)
        labels[box] = np.where(inside, np.uint8(Label.VESSEL), labels[box])
    if not labelled:
        raise PhantomError("faint_vessel", vessel.to_json(),
                           "a segment holding at least one soft-tissue voxel centre of the grid")
    manifest = phantom.to_json()
    counts = np.bincount(labels.ravel(order="K"), minlength=256)
    manifest["voxel_counts"] = {str(label): int(n) for label, n in enumerate(counts) if n}
    record = {
        **vessel.to_json(),
        "hu": f"HU + {vessel.contrast:g} * ({vessel_hu:g} - {soft_hu:g}) * "
              f"erfc(d / (sqrt(2) * {vessel.blur_mm:g})) / 2 on soft-tissue voxels, d the "
              "signed distance (mm) to the segment's surface",
        "voxels_labelled_vessel": labelled,
        "voxels_hu_changed": changed,
        "what": "a vessel segment (truth label vessel) whose contrast over soft tissue is "
                f"{vessel.contrast:g} of a vessel's, its edge blurred by a Gaussian of "
                f"{vessel.blur_mm:g} mm",
    }
    return Phantom(hu, labels, geometry, manifest), record
