"""Mesh QA from vertices and triangles alone: closed, manifold, oriented, accurate.

Independent of VTK (which builds the meshes): edges are counted with NumPy, the
volume comes from the divergence theorem, and the distance to the label boundary
from a Euclidean distance transform of the label map itself.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from corridor.geometry import ImageGeometry
from corridor.meshing.model import MeshQuality

__all__ = ["VOLUME_ERROR_LIMIT", "edge_counts", "enclosed_volume", "mesh_quality"]

VOLUME_ERROR_LIMIT = 0.05
"""Largest relative difference between the enclosed volume and the voxel-count volume.
Partial-volume voxels make the voxel count itself uncertain by about half a voxel layer;
5 % catches holes, inverted parts and gross offsets without failing small structures."""

DEGENERATE_AREA_MM2 = 1e-9
"""Triangles with less area than this are degenerate."""


def edge_counts(triangles: NDArray[np.int64]) -> tuple[int, int, int]:
    """(boundary edges, non-manifold edges, inconsistently wound edges)."""
    directed = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    undirected = np.sort(directed, axis=1)
    _, inverse, counts = np.unique(undirected, axis=0, return_inverse=True, return_counts=True)
    boundary = int(np.count_nonzero(counts == 1))
    non_manifold = int(np.count_nonzero(counts > 2))
    # On an edge shared by two triangles wound the same way, they run along it in opposite
    # directions; the same direction twice means one of them is flipped.
    forward = directed[:, 0] < directed[:, 1]
    shared = counts[inverse.ravel()] == 2
    same_direction = np.zeros(len(counts), np.int64)
    np.add.at(same_direction, inverse.ravel()[shared], np.where(forward[shared], 1, -1))
    inconsistent = int(np.count_nonzero((counts == 2) & (np.abs(same_direction) == 2)))
    return boundary, non_manifold, inconsistent


def enclosed_volume(points: NDArray[np.float64], triangles: NDArray[np.int64]) -> float:
    """Signed volume (mm^3): positive when the triangles are wound with normals out."""
    a, b, c = (points[triangles[:, n]] for n in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def _areas(points: NDArray[np.float64], triangles: NDArray[np.int64]) -> NDArray[np.float64]:
    a, b, c = (points[triangles[:, n]] for n in range(3))
    return np.asarray(np.linalg.norm(np.cross(b - a, c - a), axis=1) / 2.0)


def _distance_to_boundary(mask: NDArray[np.bool_], geometry: ImageGeometry,
                          points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distance (mm) of each point to the label boundary, from a signed distance map.

    The boundary lies half a voxel outside the outermost labelled voxel centres; the
    signed map is the distance to the nearest outside voxel centre minus half a voxel
    step inside, and the reverse outside, interpolated trilinearly at each point.
    """
    spacing = geometry.spacing
    padded = np.pad(mask, 2)
    inside = ndimage.distance_transform_edt(padded, sampling=spacing)
    outside = ndimage.distance_transform_edt(~padded, sampling=spacing)
    half = min(spacing) / 2.0
    signed = np.where(padded, inside - half, -(outside - half))
    index = (np.linalg.inv(geometry.affine) @ np.c_[points, np.ones(len(points))].T)[:3] + 2
    values = ndimage.map_coordinates(signed, index, order=1, mode="nearest")
    return np.abs(np.asarray(values, dtype=np.float64))


def mesh_quality(points: NDArray[np.float64], triangles: NDArray[np.int64],
                 mask: NDArray[np.bool_], geometry: ImageGeometry) -> MeshQuality:
    """QA of a surface extracted from ``mask`` (``[i, j, k]``) on ``geometry``."""
    boundary, non_manifold, inconsistent = edge_counts(triangles)
    areas = _areas(points, triangles)
    repeated = ((triangles[:, 0] == triangles[:, 1]) | (triangles[:, 1] == triangles[:, 2])
                | (triangles[:, 0] == triangles[:, 2]))
    degenerate = int(np.count_nonzero(repeated | (areas < DEGENERATE_AREA_MM2)))
    voxel_volume = float(np.count_nonzero(mask)) * abs(float(np.linalg.det(
        geometry.affine[:3, :3])))
    distances = _distance_to_boundary(mask, geometry, points)
    diagonal = math.sqrt(sum(s * s for s in geometry.spacing))
    return MeshQuality(
        boundary_edges=boundary, non_manifold_edges=non_manifold,
        inconsistent_edges=inconsistent, degenerate_triangles=degenerate,
        volume_mm3=enclosed_volume(points, triangles), area_mm2=float(areas.sum()),
        voxel_volume_mm3=voxel_volume,
        max_distance_mm=float(distances.max()) if len(distances) else 0.0,
        mean_distance_mm=float(distances.mean()) if len(distances) else 0.0,
        limits={"volume_error": VOLUME_ERROR_LIMIT, "max_distance_mm": round(diagonal, 6)})
