"""Case preparation: a label map and a template turned into the search problem for one case.

The template's regions are resolved with the case's landmarks, side and label names
(:mod:`~corridor.planning.regions`); a region of interest holding every entry and target point,
grown by the distance-field cap and the lead-in, is cropped; on it the corridor depth and one
distance field per risk structure are built (:mod:`~corridor.planning.fields`), and the entry
seeds and the reference direction are found.  Everything is in patient LPS millimetres.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap
from corridor.planning.errors import PlanningError
from corridor.planning.fields import (
    DistanceField,
    Roi,
    corridor_field,
    region_of_interest,
    risk_field,
)
from corridor.planning.inputs import check_case_inputs
from corridor.planning.procedure import LoadedProcedure, Region, Side
from corridor.planning.recheck import StructureMask
from corridor.planning.regions import (
    Landmark,
    ResolvedRegion,
    corridor_values,
    resolve_region,
)
from corridor.planning.roles import RoleMapping, SegmentCode, map_roles
from corridor.planning.search import Problem
from corridor.planning.vectors import unit

__all__ = ["CLEARANCE_BAND_MM", "LEAD_IN_MM", "NOT_SEGMENTED", "PreparedCase", "prepare_case"]

NOT_SEGMENTED = "not segmented: not checked"
"""How a risk structure the segmentation lacks is reported (HAZ-041)."""

FloatArray = NDArray[np.float64]

CLEARANCE_BAND_MM = 10.0
"""Distance fields are exact up to the largest required clearance plus the implant radius
plus this band; farther structures are reported as "at least" that (``capped``)."""

LEAD_IN_MM = 3.0
"""How far before its anchor a candidate line is sampled, to see it pass into the corridor."""

_BOUNDS_STRIDE = 4
"""Regions are bounded on every 4th voxel along each axis, then grown by 4 voxels."""

_LABEL_VALUES = 256
"""Label maps are 8-bit: values 0 to 255."""


@dataclass(frozen=True, slots=True, eq=False)
class PreparedCase:
    """A case resolved for a template: the search problem and what the re-check needs.

    Attributes
    ----------
    problem
        Everything a candidate trajectory is judged by (fields on the region of interest).
    seeds
        ``(n, 3)`` LPS points (mm): corridor surface voxels inside the entry region.
    corridor_mask
        The corridor's voxels on the region of interest (for the re-check's surface).
    risk_masks
        Each risk structure's voxels on the region of interest, with its required clearance.
    cap_mm
        The distance fields' cap (mm): largest required clearance + implant radius +
        :data:`CLEARANCE_BAND_MM`.
    target_voxels
        Corridor voxels inside the target region.
    timings
        Seconds spent resolving the regions (``resolve_s``) and building the distance fields
        (``distance_fields_s``).
    roles
        The label map's labels with their roles (the shipped role table).
    not_checked
        The risk structures the segmentation lacks (no label of their roles): ``structure``,
        ``roles``, ``status`` (:data:`NOT_SEGMENTED`) and ``detail``; they are not checked, by
        the search nor by the re-check.
    """

    problem: Problem
    seeds: FloatArray
    corridor_mask: NDArray[np.bool_]
    risk_masks: tuple[StructureMask, ...]
    cap_mm: float
    target_voxels: int
    timings: dict[str, float]
    roles: RoleMapping | None = None
    not_checked: tuple[dict[str, object], ...] = ()


def _label_counts(label_map: LabelMap) -> NDArray[np.int64]:
    """Voxels per label value (slice by slice: ``bincount`` of the whole map would copy it
    to 64-bit integers)."""
    labels = label_map.labels
    counts = np.zeros(_LABEL_VALUES, dtype=np.int64)
    for k in range(labels.shape[2]):
        counts += np.bincount(labels[:, :, k].ravel(), minlength=_LABEL_VALUES)
    return counts


def _lookup(values: Sequence[int]) -> NDArray[np.bool_]:
    """Table of the 8-bit label values: True for ``values`` (``table[labels]`` is the mask)."""
    table = np.zeros(_LABEL_VALUES, dtype=bool)
    table[list(values)] = True
    return table


def _region_bounds(label_map: LabelMap, region: ResolvedRegion, corridor: NDArray[np.bool_]
                   ) -> tuple[FloatArray, FloatArray] | None:
    """LPS box (mm) of the corridor voxels in a region, or ``None`` if there are none.

    The voxels are found on a strided grid, and the box grown by the stride so that no voxel
    between the strided ones is missed.  ``corridor`` is the label lookup table of the corridor
    (:func:`_lookup`).
    """
    stride = _BOUNDS_STRIDE
    labels = label_map.labels[::stride, ::stride, ::stride]
    affine = label_map.geometry.affine.copy()
    affine[:3, :3] *= stride
    strided = ImageGeometry(affine, labels.shape)
    found = np.argwhere(corridor[labels] & region.mask(labels, strided))
    if not len(found):
        return None
    low, high = found.min(axis=0) * stride - stride, found.max(axis=0) * stride + stride
    corners = np.array([[i, j, k] for i in (low[0], high[0]) for j in (low[1], high[1])
                        for k in (low[2], high[2])], dtype=np.float64)
    lps = label_map.geometry.index_to_lps(corners)
    return lps.min(axis=0), lps.max(axis=0)


_SAME_GRID_MM = 1e-6
"""Largest difference (mm) between two affines' entries taken as the same grid."""


def _same_window(label_map: LabelMap, roi: Roi) -> Roi:
    """The part of ``label_map`` at the window of another map's region of interest.

    Raises
    ------
    PlanningError
        ``label_map`` is not on the grid the region of interest was cut from.
    """
    geometry = label_map.geometry
    start = np.asarray(roi.start)
    stop = start + np.asarray(roi.labels.shape)
    affine = geometry.affine.copy()
    affine[:3, 3] = geometry.index_to_lps(start.astype(np.float64))
    if (np.any(stop > np.asarray(geometry.shape))
            or np.max(np.abs(affine - roi.geometry.affine)) > _SAME_GRID_MM):
        raise PlanningError("label map geometry", f"shape {geometry.shape}, affine "
                            f"{np.round(geometry.affine, 4).tolist()}",
                            f"the grid the region of interest (start {list(roi.start)}, shape "
                            f"{list(roi.labels.shape)}) was cut from")
    window = tuple(slice(int(a), int(b)) for a, b in zip(start, stop, strict=True))
    return Roi(np.ascontiguousarray(label_map.labels[window]), roi.geometry, roi.start)


def prepare_case(label_map: LabelMap, procedure: LoadedProcedure, *, side: Side | None,
                 landmarks: Mapping[str, Landmark], lead_in_mm: float = LEAD_IN_MM,
                 codes: Mapping[int, SegmentCode] | None = None,
                 roi: Roi | None = None) -> PreparedCase:
    """Resolve the template for a case and build the distance fields on the region of interest.

    Parameters
    ----------
    label_map
        The case's labels, with their names and geometry (LPS mm).
    procedure
        The template.
    side
        The side planned (``None`` for an unsided template).
    landmarks
        The case's landmarks by name (LPS mm).
    lead_in_mm
        How far before its anchor a candidate line is sampled (mm).
    codes
        DICOM SEG segment codes by label value (they decide a label's role before its name).
    roi
        Prepare on this region of interest (cut from a map on the same grid) instead of one
        found around the regions: an alternative of a segmentation prepared where the
        nominal one was, so that their fields share voxels.

    Raises
    ------
    PlanningError
        Side given for an unsided template or missing for a sided one, landmarks
        missing, labels (roles) the map lacks for the corridor or a region, a risk structure
        with no voxels in the whole label map (one whose roles no label plays is reported as
        not segmented instead), an entry or target region with no corridor voxels, a grid
        the planner cannot use, or (``roi`` given) a map on another grid.
    """
    template = procedure.procedure
    clock = time.perf_counter()
    laterality = check_case_inputs(procedure, side=side, landmarks=landmarks)
    names = label_map.names
    roles = map_roles(names, codes)
    counts = _label_counts(label_map)
    corridor_names = template.corridor.labels or template.corridor.roles or ()
    corridor_labels = corridor_values(template.corridor, names, roles)
    if not counts[list(corridor_labels)].sum():
        raise PlanningError("corridor", f"no voxels labelled {list(corridor_names)}",
                            "a label map in which the corridor is segmented")

    def resolve(region: Region, what: str) -> ResolvedRegion:
        return resolve_region(region, landmarks=landmarks, side=side, label_names=names,
                              what=what, mapping=roles)

    entry_region = resolve(template.entry, "entry")
    target_region = resolve(template.target, "target")
    risks: list[tuple[str, ResolvedRegion, float]] = []
    not_checked: list[dict[str, object]] = []
    for risk in template.risk_structures:
        if risk.region.roles is not None and not roles.values(risk.region.roles):
            # The segmentation has no such structure (TotalSegmentator has no femoral vessels):
            # reported, never taken as clear.  A structure it has, with no voxel, is refused
            # below (a segmentation that missed it).
            not_checked.append({"structure": risk.name, "roles": list(risk.region.roles),
                                "status": NOT_SEGMENTED,
                                "detail": "no label of the role in the segmentation"})
            continue
        region = resolve(risk.region, f"risk structure {risk.name}")
        if region.labels is not None and not counts[list(region.labels)].sum():
            raise PlanningError(f"risk structure {risk.name}",
                                f"no voxels labelled {risk.region.labels} in the label map",
                                "every risk structure segmented (planning would ignore it)")
        risks.append((risk.name, region, risk.clearance_mm))

    implant = template.implant
    radius = implant.radius_mm
    largest = max([template.corridor.clearance_mm, *(r[2] for r in risks)])
    cap = largest + radius + CLEARANCE_BAND_MM
    reach = max(lead_in_mm, implant.tip_to_cortex_mm) + 2.0 * max(label_map.geometry.spacing)
    corridor_lookup = _lookup(corridor_labels)
    entry_box = _region_bounds(label_map, entry_region, corridor_lookup)
    target_box = _region_bounds(label_map, target_region, corridor_lookup)
    if entry_box is None or target_box is None:
        missing = "entry" if entry_box is None else "target"
        raise PlanningError(f"{missing} region", "no corridor voxels in it",
                            f"a {missing} region holding part of the corridor "
                            f"({', '.join(corridor_names)}): check the landmarks")
    roi = (region_of_interest(label_map, [entry_box, target_box], cap + reach) if roi is None
           else _same_window(label_map, roi))
    timings = {"resolve_s": time.perf_counter() - clock}

    clock = time.perf_counter()
    corridor_mask = corridor_lookup[roi.labels]
    corridor = corridor_field(corridor_mask, roi.geometry)
    corridor = DistanceField(corridor.name, np.minimum(corridor.values, np.float32(cap)),
                             corridor.geometry, corridor.outside_value)
    fields: list[tuple[DistanceField, float]] = []
    masks: list[StructureMask] = []
    for name, region, required in risks:
        mask = region.mask(roi.labels, roi.geometry)
        fields.append((risk_field(name, mask, roi.geometry, cap), required))
        masks.append(StructureMask(name, mask, required))
    timings["distance_fields_s"] = time.perf_counter() - clock

    surface = corridor_mask & ~ndimage.binary_erosion(corridor_mask)
    seeds_mask = surface & entry_region.mask(roi.labels, roi.geometry)
    seeds = roi.geometry.index_to_lps(np.argwhere(seeds_mask).astype(np.float64))
    target_mask = corridor_mask & target_region.mask(roi.labels, roi.geometry)
    if len(seeds) and target_mask.any():
        target_centre = roi.geometry.index_to_lps(np.argwhere(target_mask).mean(axis=0))
        reference = unit(target_centre - seeds.mean(axis=0))
    else:
        reference = np.array([0.0, 0.0, 1.0])
    problem = Problem(
        roi=roi, corridor=corridor, risks=tuple(fields), radius_mm=radius,
        corridor_clearance_mm=template.corridor.clearance_mm,
        entry_zone_mm=template.corridor.entry_zone_mm,
        tip_to_cortex_mm=implant.tip_to_cortex_mm,
        lengths_mm=np.asarray(implant.length_mm.lengths()), entry_region=entry_region,
        target_region=target_region, reference=reference,
        max_deviation_deg=template.angles.max_deviation_deg,
        max_entry_angle_deg=template.angles.max_entry_angle_deg, laterality=laterality,
        lead_in_mm=lead_in_mm)
    return PreparedCase(problem, seeds, corridor_mask, tuple(masks), cap,
                        int(target_mask.sum()), timings, roles, tuple(not_checked))
