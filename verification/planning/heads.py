"""Label maps with femoral heads of known centre and radius, for the landmark scenarios.

Every map here is sampled from closed-form solids (:mod:`corridor_phantoms.anatomy`) at the
voxel centres of a grid, so the heads' centres and radii are known exactly and independently
of the finder: the phantoms' own anatomy (``build_anatomy(...).landmarks``), or solids built
here (an ellipsoidal head, heads buried in bone but for a cap, random femora).  The planted
segmentation noise works on the labels only (erosion and dilation by one voxel in patches of
the heads' surfaces, holes), as a segmentation's errors would.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap
from corridor_phantoms import make_phantom
from corridor_phantoms.anatomy import (
    ANATOMY_CENTRE_LPS_MM,
    AnatomicalLandmark,
    Anatomy,
    Capsule,
    Ellipsoid,
    RoundedBox,
    SlicePlane,
    Solid,
    Sphere,
    Tissue,
    build_anatomy,
    rotation,
)
from corridor_phantoms.enum import Label, PhantomKind

FloatArray = NDArray[np.float64]

NAMES = ("air", "soft-tissue", "cortical-bone", "cancellous-bone", "vessel")
"""The anatomical phantoms' label names, by value."""

BONE = (int(Label.CORTICAL_BONE), int(Label.CANCELLOUS_BONE))
"""Label values of bone in the phantoms' truth."""

TISSUES = (Tissue(0, "air", -1000), Tissue(1, "soft-tissue", 40), Tissue(2, "cortical-bone", 1200),
           Tissue(3, "cancellous-bone", 250), Tissue(4, "vessel", 300))

GRIDS: dict[str, dict[str, object]] = {
    "default": {},
    "anisotropic 0.9 x 0.9 x 3 mm": {"spacing": (0.9, 0.9, 3.0), "shape": (290, 100, 52)},
    "oblique (20 degrees about a non-axis line)": {"orientation": "oblique",
                                                   "shape": (210, 150, 90)},
    "oblique, anisotropic 1 x 1.3 x 2.5 mm": {"orientation": "oblique",
                                              "spacing": (1.0, 1.3, 2.5)},
    "cutting both heads (150 x 60 x 80 voxels)": {"shape": (150, 60, 80)},
}
"""Grids the phantoms are sampled on, by the name the scenarios use (``make_phantom``
arguments; the anisotropic and oblique pelvis grids are cropped around the hips to save time,
with every head inside, and the last cuts both of the pelvis's heads at x = ±112.5 mm)."""


def phantom_labels(kind: str, grid: str) -> tuple[LabelMap, dict[str, AnatomicalLandmark]]:
    """A phantom's truth label map on a named grid, and its anatomy's femoral heads by name.

    The label map is read-only, so one is made per kind and grid for the whole test session.
    """
    heads = {m.name: m for m in build_anatomy(PhantomKind(kind)).landmarks}
    return _phantom_labels(kind, grid), heads


@functools.cache
def _phantom_labels(kind: str, grid: str) -> LabelMap:
    phantom = make_phantom(kind, noise_hu=0.0, **GRIDS[grid])  # type: ignore[arg-type]
    return LabelMap(np.array(phantom.labels), phantom.geometry, NAMES)


def sample(anatomy: Anatomy, geometry: ImageGeometry) -> NDArray[np.uint8]:
    """The anatomy's labels at the voxel centres of ``geometry`` (slice by slice)."""
    ni, nj, nk = geometry.shape
    affine = geometry.affine
    labels = np.empty(geometry.shape, dtype=np.uint8)
    for k in range(nk):
        plane = SlicePlane(affine[:3, 3] + k * affine[:3, 2], affine[:3, 0], affine[:3, 1],
                           (ni, nj))
        labels[:, :, k] = anatomy.label_slice(plane)
    return labels


def box_grid(low: Sequence[float], high: Sequence[float], spacing: Sequence[float],
             direction: FloatArray | None = None) -> ImageGeometry:
    """A grid covering the LPS box ``low``-``high`` (mm) when axis-aligned; with a rotation
    ``direction`` the same shape turned about the box's centre."""
    low_, high_ = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    steps = np.asarray(spacing, dtype=float)
    shape = tuple(math.ceil(v) for v in (high_ - low_) / steps)
    turn = np.eye(3) if direction is None else direction
    middle = 0.5 * (low_ + high_)
    origin = middle - turn @ (0.5 * (np.asarray(shape) - 1) * steps)
    return ImageGeometry.from_components(shape=shape, spacing=steps, direction=turn,
                                         origin=origin)


def femur(head: Solid, centre: Sequence[float], lateral: float) -> tuple[Solid, ...]:
    """A proximal femur around a given head solid: the phantoms' neck (radius 15 mm) and
    shaft, leaving the head towards ``lateral`` x (+1: a left femur)."""
    def at(dx: float, dy: float, dz: float) -> tuple[float, float, float]:
        return (centre[0] + lateral * dx, centre[1] + dy, centre[2] + dz)

    return (head, Capsule("neck", tuple(centre), at(40.0, 5.0, -30.0), 15.0),  # type: ignore[arg-type]
            Capsule("shaft", at(48.0, 8.0, -40.0), at(58.0, 14.0, -120.0), 14.0))


def ellipsoidal_femur(difference: float, spacing: Sequence[float]
                      ) -> tuple[LabelMap, AnatomicalLandmark]:
    """A left femur whose head is an ellipsoid with semi-axes 24, 24 and ``24 * (1 +
    difference)`` mm (the long axis oblique), with its neck and shaft; and a sphere of radius
    24 mm at its centre (the landmark a sphere would have)."""
    centre = (40.3, 10.2, -60.1)
    turn = rotation((1.0, 2.0, 3.0), 40.0)
    axes = tuple(tuple(float(v) for v in turn[:, n]) for n in range(3))
    solid: Solid = (Sphere("head", centre, 24.0) if difference == 0 else
                    Ellipsoid("head", centre, axes, (24.0, 24.0,  # type: ignore[arg-type]
                                                     24.0 * (1.0 + difference))))
    anatomy = Anatomy(PhantomKind.FEMUR, centre, TISSUES, bones=femur(solid, centre, 1.0))
    geometry = box_grid((centre[0] - 35, centre[1] - 35, centre[2] - 130),
                        (centre[0] + 90, centre[1] + 40, centre[2] + 35), spacing)
    return (LabelMap(sample(anatomy, geometry), geometry, NAMES),
            AnatomicalLandmark("left-femoral-head", centre, 24.0))


def buried_heads(cap_deg: float, spacing: Sequence[float]
                 ) -> tuple[LabelMap, dict[str, AnatomicalLandmark]]:
    """Two heads of radius 24 mm at the pelvis phantom's hips, each merged with a slab of bone
    that holds all of it but a cap of half-angle ``cap_deg`` facing the midline (as a
    segmentation that fused the head with the bone around it), the slabs reaching beyond the
    grid's sides."""
    c = ANATOMY_CENTRE_LPS_MM
    heads = {m.name: m for m in build_anatomy(PhantomKind.PELVIS).landmarks}
    depth = 24.0 * math.cos(math.radians(cap_deg))
    bones: list[Solid] = []
    for mark in heads.values():
        lateral = 1.0 if mark.centre[0] > c[0] else -1.0
        inner = mark.centre[0] - lateral * depth
        bones.append(Sphere(mark.name, mark.centre, 24.0))
        bones.append(RoundedBox(f"{mark.name}-slab", (inner + lateral * 100.0, c[1], c[2]),
                                ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
                                (100.0, 400.0, 400.0), 0.0))
    anatomy = Anatomy(PhantomKind.PELVIS, c, TISSUES, bones=tuple(bones))
    z = heads["left-femoral-head"].centre[2]
    geometry = box_grid((c[0] - 125, c[1] - 35, z - 35), (c[0] + 125, c[1] + 45, z + 35),
                        spacing)
    return LabelMap(sample(anatomy, geometry), geometry, NAMES), heads


def without_femurs(grid_shape: Sequence[int] = (200, 120, 90)) -> LabelMap:
    """The pelvis phantom's bones but its femurs, sampled on a grid about the hips (1.5 x 1.5
    x 2 mm)."""
    pelvis = build_anatomy(PhantomKind.PELVIS)
    anatomy = Anatomy(PhantomKind.PELVIS, pelvis.centre, TISSUES, body=pelvis.body,
                      bones=tuple(b for b in pelvis.bones if "femur" not in b.name),
                      vessels=pelvis.vessels)
    c = pelvis.centre
    spacing = np.array([1.5, 1.5, 2.0])
    half = 0.5 * np.asarray(grid_shape) * spacing
    geometry = box_grid(np.asarray(c) - half, np.asarray(c) + half, spacing)
    return LabelMap(sample(anatomy, geometry), geometry, NAMES)


def _ball(offsets: FloatArray, radius: float) -> NDArray[np.bool_]:
    return np.asarray(np.linalg.norm(offsets, axis=-1) <= radius)


def _head_window(geometry: ImageGeometry, centre: Sequence[float], reach: float
                 ) -> tuple[slice, ...]:
    """The index box holding the ball of radius ``reach`` (mm) about ``centre``."""
    corners = np.asarray(centre) + reach * np.array(
        [[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
    index = geometry.lps_to_index(corners)
    low = np.clip(np.floor(index.min(axis=0)).astype(int), 0, geometry.shape)
    high = np.clip(np.ceil(index.max(axis=0)).astype(int) + 1, 0, geometry.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))


def _ball_around(voxel: NDArray[np.intp], radius: float, affine: FloatArray,
                 shape: Sequence[int]) -> tuple[tuple[slice, ...], NDArray[np.bool_]]:
    """The window about ``voxel`` and the voxels of it within ``radius`` mm of it."""
    spacing = np.linalg.norm(affine, axis=0)
    reach = np.ceil(radius / spacing).astype(int)
    low = np.maximum(voxel - reach, 0)
    high = np.minimum(voxel + reach + 1, shape)
    window = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
    grid = np.stack(np.meshgrid(*[np.arange(w.start, w.stop) for w in window], indexing="ij"),
                    axis=-1)
    return window, _ball((grid - voxel) @ affine.T, radius)


def planted_noise(label_map: LabelMap, heads: Sequence[AnatomicalLandmark], *,
                  patches_per_head: int, patch_mm: float, holes_per_head: int, hole_mm: float,
                  seed: int) -> LabelMap:
    """Segmentation errors planted near each head: patches of radius ``patch_mm`` centred on
    bone-surface voxels within 4 mm of the head's sphere, alternately eroded and dilated by one
    voxel (6-connected), and holes of radius ``hole_mm`` (labelled soft tissue) centred on
    bone voxels within the head, some reaching its surface."""
    rng = np.random.default_rng(seed)
    geometry = label_map.geometry
    affine = geometry.affine[:3, :3]
    planted = label_map.labels.copy()
    for mark in heads:
        assert mark.radius is not None
        window = _head_window(geometry, mark.centre, mark.radius + patch_mm + 6.0)
        start = np.array([w.start for w in window])
        labels = planted[window]
        bone = np.isin(labels, BONE)
        eroded, dilated = ndimage.binary_erosion(bone), ndimage.binary_dilation(bone)
        result = bone.copy()
        surface = np.argwhere(bone & ~eroded)
        distance = np.linalg.norm(geometry.index_to_lps((surface + start).astype(float))
                                  - np.asarray(mark.centre), axis=1)
        near = surface[np.abs(distance - mark.radius) <= 4.0]
        for n, voxel in enumerate(near[rng.choice(len(near), patches_per_head, replace=False)]):
            part, inside = _ball_around(voxel, patch_mm, affine, labels.shape)
            source = eroded if n % 2 else dilated
            result[part][inside] = source[part][inside]
        solid = np.argwhere(bone)
        within = solid[np.linalg.norm(geometry.index_to_lps((solid + start).astype(float))
                                      - np.asarray(mark.centre), axis=1) <= mark.radius]
        for voxel in within[rng.choice(len(within), holes_per_head, replace=False)]:
            part, inside = _ball_around(voxel, hole_mm, affine, labels.shape)
            result[part][inside] = False
        labels[bone & ~result] = Label.SOFT_TISSUE
        labels[~bone & result] = Label.CORTICAL_BONE
    return LabelMap(planted, label_map.geometry, label_map.names)


def closed_joints(label_map: LabelMap, heads: Sequence[AnatomicalLandmark]) -> LabelMap:
    """The joint space filled with bone on each head's socket side (within 27.5 mm of its
    centre, behind the acetabular rim's plane): the head fused with its socket there."""
    c = ANATOMY_CENTRE_LPS_MM
    geometry = label_map.geometry
    labels = label_map.labels.copy()
    for mark in heads:
        side = 1.0 if mark.centre[0] > c[0] else -1.0
        opening = np.array([side, -0.5, -0.7]) / math.sqrt(1.0 + 0.25 + 0.49)
        window = _head_window(geometry, mark.centre, 28.0)
        low = np.array([w.start for w in window])
        size = tuple(w.stop - w.start for w in window)
        voxels = np.indices(size).reshape(3, -1).T + low
        offset = geometry.index_to_lps(voxels.astype(float)) - np.asarray(mark.centre)
        fill = ((np.linalg.norm(offset, axis=1) <= 27.5) & (offset @ opening <= 0.0)).reshape(
            size)
        part = labels[window]
        part[fill & ~np.isin(part, BONE)] = Label.CANCELLOUS_BONE
    return LabelMap(labels, label_map.geometry, label_map.names)


FEMUR_NAMES = (*NAMES, "femur_left", "femur_right")
"""The phantoms' label names with each femur labelled apart (TotalSegmentator's names)."""


def femurs_apart(label_map: LabelMap) -> LabelMap:
    """The pelvis phantom's truth labels with the bone of each femur (voxels inside its solids:
    head, neck, trochanters, shaft) relabelled ``femur_left`` or ``femur_right``."""
    geometry = label_map.geometry
    labels = label_map.labels.copy()
    for bone in build_anatomy(PhantomKind.PELVIS).bones:
        if "femur" not in bone.name:
            continue
        value = FEMUR_NAMES.index("femur_left" if bone.name.startswith("left")
                                  else "femur_right")
        centre, radius = bone.bounding_sphere()
        window = _head_window(geometry, centre, radius)
        low = np.array([w.start for w in window])
        part = labels[window]
        inside = np.argwhere(np.isin(part, BONE))
        points = geometry.index_to_lps((inside + low).astype(float))
        member = inside[bone.sdf(points) <= 0.0]
        part[tuple(member.T)] = value
    return LabelMap(labels, geometry, FEMUR_NAMES)
