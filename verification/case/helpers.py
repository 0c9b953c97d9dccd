"""Helpers of the case scenarios: the 3-D view's scene read from a report, and an independent
oracle of its uncertainty tint.

The oracle shares nothing with the report's code but the tint's stated constants: vertex
normals by VTK's ``vtkPolyDataNormals`` (the normalised sum of the unit normals of the
triangles around a vertex, with no splitting, reordering or flipping), and trilinear
interpolation written here from the corner voxels' weights.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkPolyDataNormals

from corridor.case.report import (
    UNCERTAIN_RGB,
    UNCERTAINTY_FULL_NATS,
    UNCERTAINTY_REACH_MM,
    UNCERTAINTY_SAMPLES,
)

__all__ = ["expected_tint", "report_scene", "trilinear", "vtk_vertex_normals"]


def report_scene(report: Path) -> list[dict[str, Any]]:
    """The 3-D view's objects, parsed from the JSON the page embeds."""
    html = report.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="scene">(.*?)</script>', html, re.S)
    assert found is not None
    scene: list[dict[str, Any]] = json.loads(found.group(1))
    return scene


def vtk_vertex_normals(points: NDArray[np.float64],
                       triangles: NDArray[np.int64]) -> NDArray[np.float64]:
    """Point normals by ``vtkPolyDataNormals`` (no splitting, consistency or auto-orientation,
    so that the points keep their order)."""
    polydata = vtkPolyData()
    vtk_points = vtkPoints()
    vtk_points.SetData(numpy_to_vtk(np.ascontiguousarray(points), deep=1))
    polydata.SetPoints(vtk_points)
    cells = vtkCellArray()
    offsets = np.arange(0, 3 * len(triangles) + 1, 3, dtype=np.int64)
    cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=1),
                  numpy_to_vtkIdTypeArray(np.ascontiguousarray(triangles.ravel()), deep=1))
    polydata.SetPolys(cells)
    normals = vtkPolyDataNormals()
    normals.SetInputData(polydata)
    normals.ComputePointNormalsOn()
    normals.ComputeCellNormalsOff()
    normals.SplittingOff()
    normals.ConsistencyOff()
    normals.AutoOrientNormalsOff()
    normals.Update()
    output = normals.GetOutput()
    assert output.GetNumberOfPoints() == len(points)
    result: NDArray[np.float64] = vtk_to_numpy(
        output.GetPointData().GetNormals()).astype(np.float64)
    return result


def trilinear(values: NDArray[Any], index: NDArray[np.float64]) -> NDArray[np.float64]:
    """Trilinear interpolation of ``values[i, j, k]`` at fractional ``(n, 3)`` indices, each
    clamped to the grid first (beyond the edge voxels, their values)."""
    shape = np.asarray(values.shape)
    index = np.clip(index, 0.0, shape - 1.0)
    base = np.minimum(np.floor(index).astype(np.int64), np.maximum(shape - 2, 0))
    fraction = index - base
    result = np.zeros(len(index))
    for corner in range(8):
        offset = np.array([(corner >> axis) & 1 for axis in range(3)])
        at = np.minimum(base + offset, shape - 1)
        weight = np.prod(np.where(offset == 1, fraction, 1.0 - fraction), axis=1)
        result += weight * values[at[:, 0], at[:, 1], at[:, 2]]
    return result


def expected_tint(positions: NDArray[np.float64], triangles: NDArray[np.int64],
                  values: NDArray[Any], affine_lps: NDArray[np.float64],
                  rgb: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The uncertainty at each vertex as the report states it (the map's mean at
    ``UNCERTAINTY_SAMPLES`` points from ``-UNCERTAINTY_REACH_MM`` to ``+UNCERTAINTY_REACH_MM``
    along the normal) and the colour it implies (``rgb`` at 0, ``UNCERTAIN_RGB`` from
    ``UNCERTAINTY_FULL_NATS``, linear between), unrounded."""
    normals = vtk_vertex_normals(positions, triangles)
    offsets = np.linspace(-UNCERTAINTY_REACH_MM, UNCERTAINTY_REACH_MM, UNCERTAINTY_SAMPLES)
    inverse = np.linalg.inv(affine_lps)
    samples = []
    for offset in offsets:
        points = positions + offset * normals
        index = points @ inverse[:3, :3].T + inverse[:3, 3]
        samples.append(trilinear(values, index))
    uncertainty = np.mean(samples, axis=0)
    share = np.clip(uncertainty / UNCERTAINTY_FULL_NATS, 0.0, 1.0)[:, None]
    colours = rgb[None, :] + share * (np.asarray(UNCERTAIN_RGB)[None, :] - rgb[None, :])
    return uncertainty, colours
