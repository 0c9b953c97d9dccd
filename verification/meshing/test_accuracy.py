"""Step definitions of ``verification/features/meshing/accuracy.feature``.

Verifies that surfaces match analytic shapes (volume, area, Hausdorff distance, centroid)
and land on the right side of the patient (the femur's lateral and medial extremes).

Oracles: the analytic shapes of the phantoms' manifests (volumes, areas by closed forms or
elliptic integrals, exact or first-order distances, parametric surface samples) and the
femur phantom's analytic extremes from its anatomy's definition.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then
from scipy.spatial import cKDTree

from corridor.images import LabelMap
from corridor_phantoms import Label, make_phantom
from verification.meshing.helpers import Case, analytic_volume_area

scenarios("meshing/accuracy.feature")


def _voxel_diagonal(case: Case) -> float:
    assert case.label_map is not None
    return math.sqrt(sum(s * s for s in case.label_map.geometry.spacing))


@given(parsers.parse('the femur phantom\'s bone as a label map in position "{position}"'))
def femur_bone(case: Case, position: str) -> None:
    """Cortical and cancellous bone of the (left) femur phantom, default field of view."""
    phantom = make_phantom("femur", patient_position=position)
    labels = np.isin(np.asarray(phantom.labels),
                     [Label.CORTICAL_BONE, Label.CANCELLOUS_BONE]).astype(np.uint8)
    case.label_map = LabelMap(labels, phantom.geometry, ("background", "bone"))


def _distance_to_analytic(info: dict[str, Any], points: NDArray[np.float64]) -> NDArray[np.float64]:
    centre = np.asarray(info["centre_lps_mm"])
    if info["type"] == "sphere":
        return np.asarray(np.abs(np.linalg.norm(points - centre, axis=1) - info["radius_mm"]))
    if info["type"] == "cylinder":
        axis = np.asarray(info["axis_lps"])
        t = (points - centre) @ axis
        radial = np.linalg.norm(points - centre - np.outer(t, axis), axis=1)
        dr, da = radial - info["radius_mm"], np.abs(t) - info["half_length_mm"]
        outside = np.hypot(np.maximum(dr, 0), np.maximum(da, 0))
        inside = np.minimum(np.maximum(dr, da), 0)
        return np.asarray(np.abs(outside + inside))
    axes = np.asarray(info["axes_lps"])
    semi = np.asarray(info["semi_axes_mm"])
    local = (points - centre) @ axes.T
    value = (local**2 / semi**2).sum(axis=1) - 1.0
    gradient = np.linalg.norm(2 * local / semi**2, axis=1)
    return np.asarray(np.abs(value) / gradient)  # first order: exact to O(d^2) near the surface


def _analytic_samples(info: dict[str, Any], count: int = 4000) -> NDArray[np.float64]:
    centre = np.asarray(info["centre_lps_mm"])
    n = np.arange(count) + 0.5
    polar = np.arccos(1 - 2 * n / count)
    azimuth = math.pi * (1 + 5**0.5) * n
    unit = np.c_[np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)]
    if info["type"] == "sphere":
        return np.asarray(centre + info["radius_mm"] * unit)
    if info["type"] == "ellipsoid":
        return np.asarray(centre + (unit * np.asarray(info["semi_axes_mm"])) @ np.asarray(
            info["axes_lps"]))
    axis = np.asarray(info["axis_lps"])
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    r, h = info["radius_mm"], info["half_length_mm"]
    angle = np.linspace(0, 2 * math.pi, 120, endpoint=False)
    side = [centre + t * axis + r * (np.cos(a) * u + np.sin(a) * v)
            for t in np.linspace(-h, h, 30) for a in angle]
    caps = [centre + s * h * axis + rho * (np.cos(a) * u + np.sin(a) * v)
            for s in (-1, 1) for rho in np.linspace(0, r, 10) for a in angle]
    return np.asarray(side + caps)


@then("the enclosed volume is within 1 % of the analytic volume")
def volume_within(case: Case) -> None:
    """Divergence-theorem volume against the closed form."""
    volume, _ = analytic_volume_area(case.shape_info)
    assert abs(case.quality.volume_mm3 / volume - 1) <= 0.01, (case.quality.volume_mm3, volume)


@then("the area is within 3 % of the analytic area")
def area_within(case: Case) -> None:
    """Triangle areas against the closed form (elliptic integrals for the ellipsoid)."""
    _, area = analytic_volume_area(case.shape_info)
    assert abs(case.quality.area_mm2 / area - 1) <= 0.03, (case.quality.area_mm2, area)


@then("the symmetric Hausdorff distance to the analytic surface is below one voxel diagonal")
def hausdorff_within(case: Case) -> None:
    """Vertices to the analytic surface; analytic samples to the nearest vertex (an upper bound
    of their distance to the mesh)."""
    assert case.points is not None
    forward = _distance_to_analytic(case.shape_info, case.points).max()
    samples = _analytic_samples(case.shape_info)
    backward = cKDTree(case.points).query(samples)[0].max()
    assert max(forward, backward) < _voxel_diagonal(case), (forward, backward)


@then("the centroid is within half a voxel diagonal of the analytic centre")
def centroid_within(case: Case) -> None:
    """Volume centroid of the closed surface (signed tetrahedra from the origin)."""
    assert case.points is not None
    assert case.triangles is not None
    a, b, c = (case.points[case.triangles[:, n]] for n in range(3))
    volumes = np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0
    centroid = ((a + b + c) / 4.0 * volumes[:, np.newaxis]).sum(axis=0) / volumes.sum()
    distance = np.linalg.norm(centroid - np.asarray(case.shape_info["centre_lps_mm"]))
    assert distance <= _voxel_diagonal(case) / 2, distance


@then(parsers.parse("the surface's largest LPS x is the greater trochanter's, {x:f} mm, "
                    "within one voxel"))
def lateral_extreme(case: Case, x: float) -> None:
    """Trochanter centre x + radius, from the anatomy's definition (12.5 - 42 + 55 + 17)."""
    assert case.points is not None
    assert case.label_map is not None
    assert abs(case.points[:, 0].max() - x) <= max(case.label_map.geometry.spacing)


@then(parsers.parse("the surface's smallest LPS x is the femoral head's, {x:f} mm, "
                    "within one voxel"))
def medial_extreme(case: Case, x: float) -> None:
    """Head centre x - radius (12.5 - 42 - 24)."""
    assert case.points is not None
    assert case.label_map is not None
    assert abs(case.points[:, 0].min() - x) <= max(case.label_map.geometry.spacing)
