"""Landmarks, and template regions resolved for one case: label values, spheres, half-spaces.

A resolved region answers two questions, the same way: which voxels of a grid are
in it (a mask, for entry seeds and risk structures) and which points are in it (for
an entry or tip point).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import ImageGeometry
from corridor.planning.errors import PlanningError
from corridor.planning.procedure import (
    MAX_COORDINATE_MM,
    MAX_REGION_MM,
    CorridorSpec,
    Region,
    Side,
)
from corridor.planning.roles import RoleMapping, map_roles
from corridor.planning.vectors import unit
from corridor.reading import InputFileError, read_json_file

__all__ = ["MAX_LANDMARKS", "MAX_LANDMARKS_BYTES", "Landmark", "LandmarkSource", "ResolvedRegion",
           "SphereFitQuality", "corridor_values", "label_values", "load_landmarks",
           "resolve_region", "role_values"]

MAX_LANDMARKS_BYTES = 1 << 20
"""The largest landmarks file read (a case has a handful of landmarks, a few kilobytes)."""

MAX_LANDMARKS = 256
"""The most landmarks one file may hold."""

_LANDMARKS_DEPTH = 4
"""Nesting of a landmarks file: the object, its list, an entry, a centre."""

FloatArray = NDArray[np.float64]


class LandmarkSource(StrEnum):
    """Where a case's landmark came from."""

    GIVEN = "given"
    """Given by the user (``--landmarks``, ``--landmark``): it overrides a found one."""
    FOUND = "found"
    """Found from the segmentation (:mod:`~corridor.planning.landmarks`), with its fit quality."""


@dataclass(frozen=True, slots=True)
class SphereFitQuality:
    """How well a found landmark's sphere fits the bone surface it was found on (mm, LPS).

    Attributes
    ----------
    rms_mm
        Root-mean-square distance of the inlier surface points from the sphere.
    inliers
        Surface points (voxel faces) on the sphere within the inlier tolerance.
    inlier_fraction
        Inliers over the surface points of the head's region (the sphere's band).
    coverage
        Part of the sphere's area the inliers cover.
    ci95_radius_mm
        Radius of the bootstrap 95 % confidence region of the centre.
    ci95_lps_mm
        Bootstrap 95 % interval of each centre coordinate (x, y, z), ``(low, high)``.
    axis_ratio
        Longest over shortest axis of the ellipsoid fitted to the head's surface (1: a sphere).
    seconds
        Time the search took, per side.
    """

    rms_mm: float
    inliers: int
    inlier_fraction: float
    coverage: float
    ci95_radius_mm: float
    ci95_lps_mm: tuple[tuple[float, float], ...]
    axis_ratio: float
    seconds: float

    def __post_init__(self) -> None:
        numbers = (self.rms_mm, self.inlier_fraction, self.coverage, self.ci95_radius_mm,
                   self.axis_ratio, self.seconds)
        if (not all(math.isfinite(v) and v >= 0 for v in numbers) or self.inliers < 1
                or not 0 < self.inlier_fraction <= 1 or len(self.ci95_lps_mm) != 3
                or not all(len(pair) == 2 and pair[0] <= pair[1] for pair in self.ci95_lps_mm)):
            raise PlanningError("sphere fit", self, "finite, non-negative measures, a fraction "
                                "in (0, 1] and three (low, high) intervals")

    def to_json(self) -> dict[str, Any]:
        """Every measure, the confidence intervals as ``[[low, high], ...]`` for x, y, z."""
        return {"rms_mm": self.rms_mm, "inliers": self.inliers,
                "inlier_fraction": self.inlier_fraction, "coverage": self.coverage,
                "ci95_radius_mm": self.ci95_radius_mm,
                "ci95_lps_mm": [list(pair) for pair in self.ci95_lps_mm],
                "axis_ratio": self.axis_ratio, "seconds": self.seconds}


@dataclass(frozen=True, slots=True)
class Landmark:
    """A named point of the patient (LPS mm), optionally a fitted sphere's centre and radius.

    A landmark is ``given`` (by the user) or ``found`` from the segmentation; a found one
    carries its fit quality, a given one none.
    """

    name: str
    centre_lps_mm: tuple[float, float, float]
    radius_mm: float | None = None
    source: LandmarkSource = LandmarkSource.GIVEN
    fit: SphereFitQuality | None = None

    def __post_init__(self) -> None:
        if len(self.centre_lps_mm) != 3 or not all(
                math.isfinite(v) and abs(v) <= MAX_COORDINATE_MM for v in self.centre_lps_mm):
            raise PlanningError(f"landmark {self.name!r}: centre_lps_mm", self.centre_lps_mm,
                                f"three coordinates within ±{MAX_COORDINATE_MM:g} mm (LPS)")
        if self.radius_mm is not None and not (math.isfinite(self.radius_mm)
                                               and 0 < self.radius_mm <= MAX_REGION_MM):
            raise PlanningError(f"landmark {self.name!r}: radius_mm", self.radius_mm,
                                f"a radius > 0 and at most {MAX_REGION_MM:g} mm")
        if (self.fit is not None) != (self.source is LandmarkSource.FOUND):
            raise PlanningError(f"landmark {self.name!r}: fit", self.fit,
                                "a fit quality for, and only for, a found landmark")

    def describe(self) -> str:
        """One line for a summary: name, source, centre and radius, and a found one's fit."""
        centre = ", ".join(f"{v:.2f}" for v in self.centre_lps_mm)
        text = f"{self.name} ({self.source.value}): centre ({centre}) LPS mm"
        if self.radius_mm is not None:
            text += f", radius {self.radius_mm:.2f} mm"
        if self.fit is not None:
            text += (f"; fit RMS {self.fit.rms_mm:.2f} mm, inliers "
                     f"{100 * self.fit.inlier_fraction:.0f} %, 95 % CI of the centre "
                     f"{self.fit.ci95_radius_mm:.2f} mm, axis ratio {self.fit.axis_ratio:.3f}")
        return text

    def to_json(self) -> dict[str, Any]:
        """``name``, ``centre_lps_mm``, ``radius_mm`` (``null`` for a point), ``source`` and
        ``fit`` (``null`` for a given landmark)."""
        return {"name": self.name, "centre_lps_mm": list(self.centre_lps_mm),
                "radius_mm": self.radius_mm, "source": self.source.value,
                "fit": None if self.fit is None else self.fit.to_json()}


def load_landmarks(path: Path) -> dict[str, Landmark]:
    """Read ``{"landmarks": [{"name", "centre_lps_mm", "radius_mm"?}, ...]}``.

    Raises
    ------
    PlanningError
        A file that is not a regular file of at most :data:`MAX_LANDMARKS_BYTES`, not UTF-8
        JSON nested at most four levels, of the wrong structure, holding more than
        :data:`MAX_LANDMARKS` entries, a repeated name or a bad value (the entry is named).
    """
    expected = ('a JSON file {"landmarks": [{"name": ..., "centre_lps_mm": [x, y, z], '
                '"radius_mm": r (optional)}]}')
    try:
        document = read_json_file(path, MAX_LANDMARKS_BYTES, max_depth=_LANDMARKS_DEPTH,
                                  field="landmarks", expected=expected)
    except InputFileError as exc:
        raise PlanningError("landmarks", f"{path}: {exc.found}", exc.expected) from exc
    try:
        entries = document["landmarks"]
        if not isinstance(entries, list):
            raise TypeError("landmarks is not a list")
        if len(entries) > MAX_LANDMARKS:
            raise PlanningError(f"{path}: landmarks", f"{len(entries)} entries",
                                f"at most {MAX_LANDMARKS}")
        landmarks: dict[str, Landmark] = {}
        for number, entry in enumerate(entries):
            name = str(entry["name"])
            if name in landmarks:
                raise PlanningError(f"{path}: landmarks[{number}].name", name, "a unique name")
            centre = tuple(float(v) for v in entry["centre_lps_mm"])
            radius = entry.get("radius_mm")
            landmarks[name] = Landmark(name, centre,  # type: ignore[arg-type]
                                       None if radius is None else float(radius))
        return landmarks
    except PlanningError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise PlanningError("landmarks", f"{path}: {type(exc).__name__}: {exc}",
                            expected) from exc


def label_values(names: Sequence[str], label_names: Sequence[str], what: str) -> tuple[int, ...]:
    """Values of the label names present in a label map; at least one must be present.

    Raises
    ------
    PlanningError
        None of ``names`` is a label of the map (the map's labels are listed).
    """
    values = tuple(label_names.index(n) for n in names if n in label_names and n != "")
    if not values:
        raise PlanningError(f"{what}: labels", list(names),
                            "at least one label the label map has: " + ", ".join(label_names))
    return values


@dataclass(frozen=True, slots=True)
class ResolvedRegion:
    """A region for one case: label values, a spherical shell and half-spaces (LPS mm).

    Attributes
    ----------
    labels
        Label values a voxel or point must have (``None``: any).
    sphere
        ``(centre, outer radius, inner radius)`` or ``None``.
    half_spaces
        ``(point, unit normal, offset)``: ``(p - point) . normal >= offset``.
    """

    labels: tuple[int, ...] | None
    sphere: tuple[FloatArray, float, float] | None
    half_spaces: tuple[tuple[FloatArray, FloatArray, float], ...]

    def bounds_lps(self) -> tuple[FloatArray, FloatArray] | None:
        """Axis-aligned LPS box holding the region, or ``None`` if unbounded."""
        if self.sphere is None:
            return None
        centre, radius, _ = self.sphere
        return centre - radius, centre + radius

    def contains(self, points: FloatArray, label_at: NDArray[np.uint8] | None) -> NDArray[np.bool_]:
        """Which ``(n, 3)`` LPS points lie in the region (``label_at``: their labels)."""
        inside = np.ones(len(points), dtype=bool)
        if self.labels is not None:
            if label_at is None:
                raise PlanningError("region", "labels without voxel labels", "labels at points")
            inside &= np.isin(label_at, self.labels)
        if self.sphere is not None:
            centre, outer, inner = self.sphere
            distance = np.linalg.norm(points - centre, axis=1)
            inside &= (distance <= outer) & (distance >= inner)
        for point, normal, offset in self.half_spaces:
            inside &= (points - point) @ normal >= offset
        return inside

    def mask(self, labels: NDArray[np.uint8], geometry: ImageGeometry) -> NDArray[np.bool_]:
        """Voxels of a grid (``labels`` on ``geometry``) whose centres lie in the region.

        Separable on the grid's axes (no coordinate array is built): a half-space is a
        sum of three 1-D terms, and so is a sphere because the planner only accepts grids
        with orthogonal axes.  Only the index box that can hold the sphere is evaluated.
        """
        result = np.zeros(labels.shape, dtype=bool)
        window = tuple(slice(0, n) for n in labels.shape)
        if self.sphere is not None:
            centre, outer, _ = self.sphere
            corners = np.array([[x, y, z] for x in (-outer, outer) for y in (-outer, outer)
                                for z in (-outer, outer)]) + centre
            index = geometry.lps_to_index(corners)
            low = np.clip(np.floor(index.min(axis=0)).astype(int), 0, labels.shape)
            high = np.clip(np.ceil(index.max(axis=0)).astype(int) + 1, 0, labels.shape)
            if np.any(high <= low):
                return result
            window = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
        part = labels[window]
        inside = (np.isin(part, self.labels) if self.labels is not None
                  else np.ones(part.shape, dtype=bool))
        steps = geometry.affine[:3, :3].T  # row n: LPS step of axis n
        origin = geometry.affine[:3, 3] + sum(w.start * steps[n] for n, w in enumerate(window))
        axes = [np.arange(w.stop - w.start, dtype=np.float32) for w in window]

        def along(values: Sequence[NDArray[np.float32]]) -> NDArray[np.float32]:
            return np.asarray(values[0][:, None, None] + values[1][None, :, None]
                              + values[2][None, None, :])

        if self.sphere is not None:
            centre, outer, inner = self.sphere
            u = origin - centre
            squared = along([np.asarray(np.float32(2 * (u @ steps[n])) * axes[n]
                                        + np.float32(steps[n] @ steps[n]) * axes[n] ** 2,
                                        dtype=np.float32)
                             for n in range(3)]) + np.float32(u @ u)
            inside &= (squared <= outer * outer) & (squared >= inner * inner)
        for point, normal, offset in self.half_spaces:
            base = float((origin - point) @ normal)
            inside &= along([np.float32(steps[n] @ normal) * axes[n]
                             for n in range(3)]) + np.float32(base - offset) >= 0
        result[window] = inside
        return result


def _landmark(name: str, landmarks: Mapping[str, Landmark], side: Side | None,
              what: str) -> Landmark:
    key = f"{side.value}-{name}" if side is not None else name
    if key not in landmarks:
        raise PlanningError(f"{what}: landmark", key, "a landmark of the case; given: "
                            + (", ".join(sorted(landmarks)) or "none"))
    return landmarks[key]


def _mirror(vector: Sequence[float], side: Side | None) -> FloatArray:
    array = np.asarray(vector, dtype=np.float64)
    if side is Side.RIGHT:
        array = array * np.array([-1.0, 1.0, 1.0])
    return array


def role_values(roles: Sequence[str], mapping: RoleMapping, what: str) -> tuple[int, ...]:
    """Values of the labels playing any of ``roles``; at least one must.

    Raises
    ------
    PlanningError
        No label of the map has any of the roles (each label's role is listed).
    """
    values = mapping.values(roles)
    if not values:
        have = ", ".join(f"{i.name} ({i.role})" for i in mapping.labels) or "none"
        raise PlanningError(f"{what}: roles", list(roles),
                            f"a label of the role in the label map; labels with a role: {have}"
                            + (f"; without one (ignored): {', '.join(mapping.ignored)}"
                               if mapping.ignored else ""))
    return values


def corridor_values(corridor: CorridorSpec, label_names: Sequence[str],
                    mapping: RoleMapping) -> tuple[int, ...]:
    """Values of the corridor's labels: named verbatim (``labels``) or by role (``roles``).

    Raises
    ------
    PlanningError
        None of them is in the label map.
    """
    if corridor.labels is not None:
        return label_values(corridor.labels, label_names, "corridor")
    return role_values(corridor.roles or (), mapping, "corridor")


def resolve_region(region: Region, *, landmarks: Mapping[str, Landmark], side: Side | None,
                   label_names: Sequence[str], what: str,
                   mapping: RoleMapping | None = None) -> ResolvedRegion:
    """Resolve a template region for one case (landmarks and side applied, labels to values).

    ``mapping`` gives the labels' roles (default: the shipped role table on ``label_names``).

    Raises
    ------
    PlanningError
        A landmark the case lacks, a sphere on a point landmark without ``radius_mm``, or
        labels (roles) the map does not have (``what`` names the template part).
    """
    labels = (label_values(region.labels, label_names, what)
              if region.labels is not None else None)
    if region.roles is not None:
        labels = role_values(region.roles, mapping or map_roles(label_names), what)
    sphere = None
    if region.sphere is not None:
        spec = region.sphere
        if spec.landmark is not None:
            mark = _landmark(spec.landmark, landmarks, side, what)
            centre = np.asarray(mark.centre_lps_mm, dtype=np.float64)
            radius = spec.radius_mm if spec.radius_mm is not None else mark.radius_mm
            if radius is None:
                raise PlanningError(f"{what}: sphere.radius_mm", None,
                                    f"a radius, or a landmark with one ({mark.name} has none)")
        else:
            assert spec.centre_lps_mm is not None  # validated with radius_mm
            assert spec.radius_mm is not None
            centre, radius = np.asarray(spec.centre_lps_mm, dtype=np.float64), spec.radius_mm
        sphere = (centre, float(radius + spec.grow_mm), float(spec.inner_radius_mm))
    half_spaces = []
    for half in region.half_spaces:
        if half.landmark is not None:
            point = np.asarray(_landmark(half.landmark, landmarks, side, what).centre_lps_mm)
        else:
            assert half.point_lps_mm is not None  # validated
            point = np.asarray(half.point_lps_mm, dtype=np.float64)
        normal = _mirror(half.normal_lps, side)
        half_spaces.append((point.astype(np.float64), unit(normal),
                            float(half.offset_mm)))
    return ResolvedRegion(labels, sphere, tuple(half_spaces))
