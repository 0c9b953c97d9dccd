"""Analytic planning phantoms and the brute-force oracle, shared by the planning tests.

A phantom is a bone cylinder (label 1) with vessel cylinders (label 2), sampled at voxel
centres.  The oracle measures an implant against the *voxels* by brute force: dense
points of the implant cylinder, the nearest voxel centre of a structure by a k-d tree,
less half the voxel diagonal (a lower bound on the distance to the union of the
structure's voxel cubes).  It shares nothing with the planner but the label map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from scipy.spatial import cKDTree

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap
from corridor.planning import LoadedProcedure, Procedure, Trajectory
from corridor.provenance import FileRecord, sha256_bytes

FloatArray = NDArray[np.float64]
NAMES = ("background", "bone", "vessel")


@dataclass(frozen=True)
class Cylinder:
    """An infinite (``half_length`` None) or capped cylinder: axis point, unit axis, radius."""

    point: tuple[float, float, float]
    axis: tuple[float, float, float]
    radius: float
    half_length: float | None = None

    def inside(self, points: FloatArray) -> NDArray[np.bool_]:
        """Points within the cylinder."""
        relative = points - np.asarray(self.point)
        along = relative @ np.asarray(self.axis)
        radial = np.linalg.norm(relative - along[:, None] * np.asarray(self.axis), axis=1)
        result = radial <= self.radius
        if self.half_length is not None:
            result &= np.abs(along) <= self.half_length
        return np.asarray(result)


def phantom(bone: Cylinder, vessels: Sequence[Cylinder], spacing: Sequence[float],
            extent: Sequence[float] = (70.0, 70.0, 110.0),
            origin: Sequence[float] = (-35.0, -35.0, -5.0),
            direction: Any = None) -> LabelMap:
    """Bone then vessels (later wins) sampled at the voxel centres of an axis-aligned grid."""
    shape = tuple(round(e / s) for e, s in zip(extent, spacing, strict=True))
    geometry = ImageGeometry.from_components(
        shape=shape, spacing=spacing, direction=np.eye(3) if direction is None else direction,
        origin=origin)
    points = geometry.index_to_lps(np.indices(shape).reshape(3, -1).T)
    labels = np.zeros(len(points), dtype=np.uint8)
    labels[bone.inside(points)] = 1
    for vessel in vessels:
        labels[vessel.inside(points)] = 2
    return LabelMap(labels.reshape(shape), geometry, NAMES)


def in_memory(label_map: LabelMap) -> FileRecord:
    """The record of a label map planned on in memory: no file, the SHA-256 of its voxels."""
    return FileRecord("(in memory)", sha256_bytes(np.ascontiguousarray(label_map.labels).tobytes()))


def procedure_document(*, axis: Sequence[float] = (0.0, 0.0, 1.0), top: float = 100.0,
                       diameter: float = 4.0, vessel_clearance: float = 15.0,
                       cortex_clearance: float = 1.0, lengths: Sequence[float] = (50, 60, 5),
                       entry_zone: float = 10.0, tip_to_cortex: float = 3.0) -> dict[str, Any]:
    """The analytic procedure: enter the bone cylinder's top cap, tip in its lower half."""
    u = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    top_point = (u * top).tolist()
    middle = (u * top / 2).tolist()
    return {
        "name": "analytic", "title": "Analytic cylinder pin", "sided": False,
        "description": "Pin down a bone cylinder from its top cap, away from the vessels.",
        "laterality_check": "none",
        "corridor": {"labels": ["bone"], "clearance_mm": cortex_clearance,
                     "entry_zone_mm": entry_zone},
        "implant": {"name": "pin", "diameter_mm": diameter,
                    "length_mm": {"min_mm": lengths[0], "max_mm": lengths[1],
                                  "step_mm": lengths[2]},
                    "tip_to_cortex_mm": tip_to_cortex},
        "risk_structures": [{"name": "vessel", "region": {"labels": ["vessel"]},
                             "clearance_mm": vessel_clearance}],
        "entry": {"sphere": {"centre_lps_mm": top_point, "radius_mm": 20.0},
                  "half_spaces": [{"point_lps_mm": (u * (top - 5)).tolist(),
                                   "normal_lps": u.tolist()}]},
        "target": {"sphere": {"centre_lps_mm": (u * (top / 2 - 10)).tolist(),
                              "radius_mm": 20.0},
                   "half_spaces": [{"point_lps_mm": middle, "normal_lps": (-u).tolist()}]},
        "angles": {"max_deviation_deg": 15.0, "max_entry_angle_deg": 30.0},
    }


def loaded(document: dict[str, Any]) -> LoadedProcedure:
    """A template validated from a document, as if loaded from a file."""
    return LoadedProcedure(procedure=Procedure.model_validate(document), source="test",
                           sha256="0" * 64)


def implant_volume_points(trajectory: Trajectory, step_mm: float = 0.2
                          ) -> tuple[FloatArray, FloatArray]:
    """Dense points of the implant cylinder (axis, mid radius, surface) and their depth."""
    d = trajectory.direction
    helper = np.array([1.0, 0.0, 0.0]) if abs(d[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u)
    v = np.cross(d, u)
    radius = trajectory.diameter_mm / 2
    angles = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    ring = np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v
    offsets = np.vstack([[0.0, 0.0, 0.0], 0.5 * radius * ring, radius * ring])
    depth = np.linspace(0.0, trajectory.length_mm,
                        math.ceil(trajectory.length_mm / step_mm) + 1)
    points = trajectory.entry + depth[:, None, None] * d + offsets[None]
    return points.reshape(-1, 3), np.repeat(depth, len(offsets))


def voxel_distance(label_map: LabelMap, values: Sequence[int], points: FloatArray,
                   inside: bool = False) -> FloatArray:
    """Lower bound on the distance (mm) from points to the union of the voxels with (or,
    ``inside``, without) the given labels: nearest voxel centre less half the diagonal."""
    mask = np.isin(label_map.labels, values)
    if inside:
        # The nearest voxel outside a structure to a point inside it borders the structure.
        mask = ndimage.binary_dilation(mask, np.ones((3, 3, 3), bool)) & ~mask
    centres = label_map.geometry.index_to_lps(np.argwhere(mask).astype(float))
    if not len(centres):
        return np.full(len(points), np.inf)
    distance, _ = cKDTree(centres).query(points, workers=-1)
    half_diagonal = 0.5 * math.sqrt(sum(s * s for s in label_map.geometry.spacing))
    return np.asarray(distance - half_diagonal)
