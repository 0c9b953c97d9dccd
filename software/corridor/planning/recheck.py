"""The independent re-check of a plan: VTK surface distances, sharing no code with the search.

The search judges a trajectory by distance transforms of voxel masks, looked up
along the implant's axis and less its radius (the clearance of the capsule swept by a
ball of the implant's radius, which holds the implant).  The re-check measures the same
quantity another way: it builds each structure's surface with VTK marching cubes, asks
VTK for the signed distance from points of the axis every 0.25 mm to every surface
(``vtkImplicitPolyDataDistance``) and takes off the radius; and it checks that no
vertex of a risk structure's surface lies inside the implant cylinder.  A plan is
confirmed only when every re-checked clearance meets its requirement and agrees with
the search's estimate to within :func:`agreement_tolerance_mm`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import VTK_UNSIGNED_CHAR, vtkDoubleArray
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersCore import (
    vtkImplicitPolyDataDistance,
    vtkMarchingCubes,
    vtkPolyDataNormals,
)

from corridor.geometry import ImageGeometry

__all__ = ["RecheckItem", "RecheckResult", "StructureMask", "agreement_tolerance_mm",
           "implant_axis_points", "recheck_plan", "structure_surface"]

FloatArray = NDArray[np.float64]

SURFACE_SAMPLE_MM = 0.25
"""Spacing of the samples along the implant's axis."""


def agreement_tolerance_mm(spacing: Sequence[float]) -> float:
    """How far the re-check and the search may differ on one clearance (mm).

    The search's estimate can differ from the marching-cubes surface by the trilinear
    interpolation error (half the voxel diagonal) and the corner cutting of marching
    cubes (another half diagonal at most); the axis samples add half their spacing.
    """
    return math.sqrt(sum(s * s for s in spacing)) + 0.5 * SURFACE_SAMPLE_MM


@dataclass(frozen=True, slots=True, eq=False)
class StructureMask:
    """A structure as voxels of the region of interest, with the clearance it needs."""

    name: str
    mask: NDArray[np.bool_]
    required_mm: float


@dataclass(frozen=True, slots=True)
class RecheckItem:
    """One clearance as re-checked, beside the search's estimate."""

    name: str
    required_mm: float
    recheck_mm: float
    search_mm: float
    tolerance_mm: float

    @property
    def agrees(self) -> bool:
        """The two methods differ by no more than the tolerance (both capped alike)."""
        return abs(self.recheck_mm - self.search_mm) <= self.tolerance_mm

    @property
    def meets(self) -> bool:
        """The re-checked clearance meets the requirement."""
        return self.recheck_mm >= self.required_mm

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"structure": self.name, "required_mm": self.required_mm,
                "recheck_mm": round(self.recheck_mm, 4), "search_mm": round(self.search_mm, 4),
                "difference_mm": round(self.recheck_mm - self.search_mm, 4),
                "tolerance_mm": round(self.tolerance_mm, 4), "agrees": self.agrees,
                "meets_requirement": self.meets}


@dataclass(frozen=True, slots=True)
class RecheckResult:
    """The re-check of one plan."""

    items: tuple[RecheckItem, ...]
    tip_inside: bool
    """The axis from the tip to the tip-to-cortex allowance lies inside the corridor surface."""
    method: str

    @property
    def passed(self) -> bool:
        """Every item agrees and meets its requirement, and the tip check holds."""
        return self.tip_inside and all(i.agrees and i.meets for i in self.items)

    def reasons(self) -> list[str]:
        """Why the re-check failed (empty if it passed)."""
        found = [f"{i.name}: re-check {i.recheck_mm:.2f} mm vs search {i.search_mm:.2f} mm "
                 f"(tolerance {i.tolerance_mm:.2f} mm)" for i in self.items if not i.agrees]
        found += [f"{i.name}: re-checked clearance {i.recheck_mm:.2f} mm below the required "
                  f"{i.required_mm:.2f} mm" for i in self.items if not i.meets]
        if not self.tip_inside:
            found.append("tip-to-cortex: the axis beyond the tip leaves the corridor surface")
        return found

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"method": self.method, "passed": self.passed, "reasons": self.reasons(),
                "tip_inside_corridor": self.tip_inside,
                "items": [i.to_json() for i in self.items]}


def structure_surface(mask: NDArray[np.bool_], geometry: ImageGeometry) -> vtkPolyData | None:
    """Marching-cubes surface (level 0.5) of a mask, in LPS mm, normals outward; None if empty."""
    found = np.argwhere(mask)
    if not len(found):
        return None
    low = np.maximum(found.min(axis=0) - 1, 0)
    high = found.max(axis=0) + 2
    crop = np.zeros(tuple(int(h - lo + 2) for lo, h in zip(low, high, strict=True)), np.uint8)
    part = mask[low[0]:high[0], low[1]:high[1], low[2]:high[2]]
    crop[1:1 + part.shape[0], 1:1 + part.shape[1], 1:1 + part.shape[2]] = part
    image = vtkImageData()
    image.SetDimensions(*crop.shape)
    scalars = numpy_to_vtk(crop.ravel(order="F"), deep=1, array_type=VTK_UNSIGNED_CHAR)
    image.GetPointData().SetScalars(scalars)
    cubes = vtkMarchingCubes()
    cubes.SetInputData(image)
    cubes.SetValue(0, 0.5)
    cubes.ComputeNormalsOff()
    cubes.Update()
    surface = cubes.GetOutput()
    index = vtk_to_numpy(surface.GetPoints().GetData()).astype(np.float64) + (low - 1)
    lps = geometry.index_to_lps(index)
    surface.GetPoints().SetData(numpy_to_vtk(lps, deep=1))
    normals = vtkPolyDataNormals()
    normals.SetInputData(surface)
    normals.ConsistencyOn()
    normals.AutoOrientNormalsOn()
    normals.SplittingOff()
    normals.Update()
    result: vtkPolyData = normals.GetOutput()
    return result


def implant_axis_points(entry: FloatArray, direction: FloatArray, start_mm: float,
                        stop_mm: float) -> FloatArray:
    """Points of the implant's axis from ``start_mm`` to ``stop_mm`` past the entry (LPS)."""
    count = max(2, math.ceil((stop_mm - start_mm) / SURFACE_SAMPLE_MM) + 1)
    along = np.linspace(start_mm, stop_mm, count)
    return np.asarray(entry + along[:, None] * direction)


def _signed_distance(surface: vtkPolyData, points: FloatArray) -> FloatArray:
    query = vtkImplicitPolyDataDistance()
    query.SetInput(surface)
    values = vtkDoubleArray()
    query.FunctionValue(numpy_to_vtk(np.ascontiguousarray(points), deep=1), values)
    return np.asarray(vtk_to_numpy(values), dtype=np.float64)


def _inside_implant(vertices: FloatArray, entry: FloatArray, direction: FloatArray,
                    length_mm: float, radius_mm: float) -> float:
    """Deepest a vertex lies inside the implant cylinder (mm, 0 if none does)."""
    relative = vertices - entry
    along = relative @ direction
    radial = np.linalg.norm(relative - along[:, None] * direction, axis=1)
    inside = (along >= 0) & (along <= length_mm) & (radial < radius_mm)
    return float(np.max(radius_mm - radial[inside])) if inside.any() else 0.0


def _around(geometry: ImageGeometry, low: FloatArray, high: FloatArray
            ) -> tuple[tuple[slice, slice, slice], ImageGeometry]:
    """The part of a grid holding an LPS box: index window and its geometry.  Structures
    farther from the implant than the box's margin only matter up to the cap."""
    corners = np.array([[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1])
                        for z in (low[2], high[2])])
    index = geometry.lps_to_index(corners)
    start = np.clip(np.floor(index.min(axis=0)).astype(int), 0, np.asarray(geometry.shape) - 1)
    stop = np.clip(np.ceil(index.max(axis=0)).astype(int) + 1, start + 1,
                   np.asarray(geometry.shape))
    affine = geometry.affine.copy()
    affine[:3, 3] = geometry.index_to_lps(start.astype(np.float64))
    shape = tuple(int(b - a) for a, b in zip(start, stop, strict=True))
    window = (slice(int(start[0]), int(stop[0])), slice(int(start[1]), int(stop[1])),
              slice(int(start[2]), int(stop[2])))
    return window, ImageGeometry(affine, shape,  # type: ignore[arg-type]
                                 geometry.frame_of_reference_uid)


def recheck_plan(*, geometry: ImageGeometry, corridor: StructureMask,
                 risks: Sequence[StructureMask], search_estimates: dict[str, float],
                 entry: FloatArray, direction: FloatArray, length_mm: float, radius_mm: float,
                 entry_zone_mm: float, tip_to_cortex_mm: float, cap_mm: float) -> RecheckResult:
    """Re-check one trajectory against VTK surfaces of the corridor and every risk structure.

    ``search_estimates`` holds the search's clearance estimate for every risk structure
    name and for ``corridor.name``; values at or above ``cap_mm`` are compared as capped.
    """
    tolerance = agreement_tolerance_mm(geometry.spacing)
    ends = np.vstack([entry, entry + (length_mm + tip_to_cortex_mm) * direction])
    reach = cap_mm + radius_mm + 2.0 * max(geometry.spacing)
    window, geometry = _around(geometry, ends.min(axis=0) - reach, ends.max(axis=0) + reach)
    corridor = StructureMask(corridor.name, corridor.mask[window], corridor.required_mm)
    risks = [StructureMask(r.name, r.mask[window], r.required_mm) for r in risks]
    items: list[RecheckItem] = []
    whole = implant_axis_points(entry, direction, 0.0, length_mm)
    for risk in risks:
        surface = structure_surface(risk.mask, geometry)
        if surface is None:
            clearance = cap_mm
        else:
            clearance = float(np.min(_signed_distance(surface, whole))) - radius_mm
            vertices = vtk_to_numpy(surface.GetPoints().GetData()).astype(np.float64)
            depth = _inside_implant(vertices, entry, direction, length_mm, radius_mm)
            if depth > 0:
                clearance = min(clearance, -depth)
        items.append(RecheckItem(risk.name, risk.required_mm, min(clearance, cap_mm),
                                 min(search_estimates[risk.name], cap_mm), tolerance))
    surface = structure_surface(corridor.mask, geometry)
    tip_inside = False
    if surface is not None:
        deep = implant_axis_points(entry, direction, min(entry_zone_mm, length_mm), length_mm)
        depth = float(-np.max(_signed_distance(surface, deep))) - radius_mm
        items.append(RecheckItem(corridor.name, corridor.required_mm, min(depth, cap_mm),
                                 min(search_estimates[corridor.name], cap_mm), tolerance))
        steps = max(2, math.ceil(tip_to_cortex_mm / SURFACE_SAMPLE_MM) + 1)
        along = length_mm + np.linspace(0.0, tip_to_cortex_mm, steps)
        beyond = entry + along[:, None] * direction
        tip_inside = bool(np.all(_signed_distance(surface, beyond) <= 0.0))
    return RecheckResult(tuple(items), tip_inside,
                         "VTK marching cubes (level 0.5) surfaces; vtkImplicitPolyDataDistance "
                         f"from the implant axis every {SURFACE_SAMPLE_MM} mm less the radius; "
                         "risk-surface vertices inside the implant cylinder")
