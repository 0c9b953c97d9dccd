"""The HTML case report: slices with overlays, an offline 3-D view, the clearances and the verdict.

One self-contained file (``report.html``): axial, coronal and sagittal slices through the
planned implant (or the volume's centre), resampled in patient LPS planes and drawn in
radiological orientation with their L/R/A/P/S/I labels, showing the CT, the segmentation, the
regions where the model was uncertain (entropy contour) and the implant; a WebGL view of the
meshes and the implant written in the page itself (``templates/viewer.js`` inlined: no
library, no network), the surfaces tinted by the segmentation's uncertainty
(:func:`surface_uncertainty`: a deep ensemble's mutual information, a single model's entropy),
a deep ensemble's disagreement near the implant drawn as a region (:func:`uncertain_region`),
with a marker wherever a clearance could flip under a plausible alternative of the
segmentation; the clearance table, the margins under each alternative, the verdict and the
review flags.
Every value is escaped (Jinja2 autoescape); the patient fields are shown only there.
"""

from __future__ import annotations

import base64
import io
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from numpy.typing import NDArray
from scipy import ndimage
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkQuadricDecimation

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap, ScalarMap
from corridor.inference.model import InferenceResult, ModelIdentity
from corridor.ingest.enum import WarningCode
from corridor.ingest.model import Volume
from corridor.meshing.api import MeshedLabel, MeshResult
from corridor.meshing.extract import extract_surface
from corridor.planning import Landmark, LandmarkSource, PlanResult, Verdict
from corridor.planning.outputs import implant_surface

__all__ = [
    "PLANE_EDGES",
    "REPORT_NAME",
    "UNCERTAINTY_FULL_NATS",
    "UNCERTAINTY_REACH_MM",
    "UNCERTAINTY_SAMPLES",
    "UNCERTAIN_REGION_MM",
    "UNCERTAIN_REGION_NATS",
    "UNCERTAIN_RGB",
    "VIEWER_SCRIPT",
    "WINDOW_HU",
    "ct_slices",
    "decimate_surface",
    "draw_slice",
    "review_flags",
    "scene_objects",
    "surface_uncertainty",
    "uncertain_region",
    "write_case_report",
]

REPORT_NAME = "report.html"
VIEWER_SCRIPT = "templates/viewer.js"
"""The 3-D view's JavaScript, in the ``corridor.case`` package: inlined in the report (one
self-contained file) and served by the reader-study application as ``/static/viewer.js``."""
FIELD_MM = 180.0
"""Side of the square field each slice shows (mm)."""
WINDOW_HU = (-200.0, 1000.0)
"""The slices' window (HU shown black, HU shown white): bone and contrast-filled vessels."""
MAX_TRIANGLES = 20_000
"""Surfaces are decimated to about this many triangles for the 3-D view."""
UNCERTAIN_NATS = 0.5
"""Entropy contour drawn on the slices: regions for the surgeon's review."""
FOUND_COLOUR = "#ff3fd2"
"""Colour of the landmarks found from the segmentation, on the slices and in the 3-D view."""
FOUND_RGB = (1.0, 0.25, 0.82)
_SPHERE_RINGS = 16
"""Latitude rings of a found sphere drawn in the 3-D view (32 steps of longitude)."""
FLIP_MARKER_MM = 3.0
"""Radius of the 3-D view's markers where a clearance could flip under an alternative."""
UNCERTAINTY_REACH_MM = 2.0
"""Half the length of the segment across a surface, along each vertex's normal, over which the
uncertainty map is averaged for the 3-D view's tint (mm).  A model's entropy peaks on every
boundary (where two classes are equally probable), so its value at the surface alone would
tint every surface alike; averaged across the surface, a crisp boundary (a voxel or so of
high entropy) reads low and a wide uncertain band (a blurred or low-contrast segment, members
placing the boundary apart) reads high."""
UNCERTAINTY_SAMPLES = 5
"""Points sampled along that segment, evenly from -reach to +reach (trilinear)."""
UNCERTAINTY_FULL_NATS = 0.5
"""Uncertainty at which a surface's tint is fully :data:`UNCERTAIN_RGB` (as the slices' cyan
contour, :data:`UNCERTAIN_NATS`); 0 keeps the surface's own colour, linear in between."""
UNCERTAIN_RGB = (0.0, 0.9, 1.0)
"""Tint of uncertain surface (cyan, as the slices' entropy contour)."""
UNCERTAIN_REGION_NATS = 0.25
"""Mutual information from which a voxel near the implant joins the 3-D view's uncertain region
(a deep ensemble's only): two members giving one class 0.85 and 0.15 disagree by 0.22 nats,
0.9 and 0.1 by 0.37.  A single model's entropy has no such region: it peaks on every boundary
(where two classes are equally probable), so its region would be every boundary near the
implant; its surfaces' tint carries it."""
UNCERTAIN_REGION_MM = 20.0
"""How far from the implant's axis (entry to tip, mm) the uncertain region is drawn."""

# plane: (in-plane axis shown left to right, axis shown top to bottom, labels)
_PLANES = {
    "axial": (np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), ("R", "L", "A", "P")),
    "coronal": (np.array([1.0, 0, 0]), np.array([0, 0, -1.0]), ("R", "L", "S", "I")),
    "sagittal": (np.array([0, 1.0, 0]), np.array([0, 0, -1.0]), ("A", "P", "S", "I")),
}
PLANE_EDGES = {name: labels for name, (_right, _down, labels) in _PLANES.items()}
"""The patient direction at each edge of each slice (left, right, top, bottom): what the
report prints there, and what a page showing :func:`ct_slices` images must print."""


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _slice_points(volume: Volume, centre: NDArray[np.float64], right: NDArray[np.float64],
                  down: NDArray[np.float64], step: float) -> tuple[int, NDArray[np.float64]]:
    """The side (pixels) of a slice and the voxel indices (3 x n*n) of its pixels' centres."""
    n = int(FIELD_MM / step)
    offsets = (np.arange(n) - n / 2) * step
    points = (centre + offsets[None, :, None] * right + offsets[:, None, None] * down)
    return n, volume.geometry.lps_to_index(points.reshape(-1, 3)).T


def _slice_hu(volume: Volume, n: int, index: NDArray[np.float64]) -> NDArray[np.float64]:
    """The CT's HU at ``index`` (trilinear; -1000 outside the volume), as an n x n slice."""
    hu = ndimage.map_coordinates(np.asarray(volume.hu, dtype=np.float32), index, order=1,
                                 mode="constant", cval=-1000.0)
    return np.asarray(hu, dtype=np.float64).reshape(n, n)


def ct_slices(volume: Volume) -> dict[str, bytes]:
    """The CT alone, as the report's slices show it: axial, coronal and sagittal PNG images.

    Each plane is sampled as the report's (:data:`FIELD_MM` square, the same pixel step and
    radiological orientation, row 0 at the top) through the volume's centre (the report's
    centre without a plan: a point of the CT, never of a plan) and windowed as the report's
    (:data:`WINDOW_HU`, linear from black to white).  No overlay, no text, no metadata: 8-bit
    grey PNG files, one grey level per 1/255 of the window.

    Returns
    -------
    dict
        ``{"axial": PNG bytes, "coronal": ..., "sagittal": ...}``.
    """
    shape = np.asarray(volume.hu.shape, dtype=np.float64)
    centre = volume.geometry.index_to_lps((shape - 1) / 2)
    step = max(0.5, min(volume.geometry.spacing))
    low, high = WINDOW_HU
    images = {}
    for name, (right, down, _labels) in _PLANES.items():
        hu = _slice_hu(volume, *_slice_points(volume, centre, right, down, step))
        grey = np.round(np.clip((hu - low) / (high - low), 0.0, 1.0) * 255).astype(np.uint8)
        images[name] = _grey_png(grey)
    return images


def _grey_png(grey: NDArray[np.uint8]) -> bytes:
    """An 8-bit grey PNG of ``grey`` (row 0 at the top), with no text chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    rows, columns = grey.shape
    scanlines = b"".join(b"\x00" + row.tobytes() for row in np.ascontiguousarray(grey))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", columns, rows, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(scanlines, 6)) + chunk(b"IEND", b""))


def _slice(volume: Volume, result: InferenceResult | LabelMap, centre: NDArray[np.float64],
           right: NDArray[np.float64], down: NDArray[np.float64], step: float
           ) -> tuple[NDArray[np.float64], NDArray[np.uint8], NDArray[np.float64]]:
    n, index = _slice_points(volume, centre, right, down, step)
    hu = _slice_hu(volume, n, index)
    label_map = result if isinstance(result, LabelMap) else result.label_map
    labels = ndimage.map_coordinates(label_map.labels, index, order=0, mode="constant",
                                     cval=0).reshape(n, n)
    entropy = (np.zeros((n, n)) if isinstance(result, LabelMap)  # a segmentation made elsewhere
               else ndimage.map_coordinates(result.entropy.values, index, order=1,
                                            mode="constant", cval=0.0).reshape(n, n))
    return hu, labels.astype(np.uint8), entropy


def _spheres(axes: Any, centre: NDArray[np.float64], right: NDArray[np.float64],
             down: NDArray[np.float64], spheres: Sequence[Landmark]) -> None:
    """Each sphere's cross-section with the slice plane (a dashed circle) and its centre's
    projection (a cross, when the plane cuts the sphere)."""
    normal = np.cross(right, down)
    for mark in spheres:
        assert mark.radius_mm is not None
        offset = np.asarray(mark.centre_lps_mm) - centre
        distance = float(offset @ normal)
        if abs(distance) >= mark.radius_mm:
            continue
        u, v = float(offset @ right), float(offset @ down)
        axes.add_patch(Circle((u, v), math.sqrt(mark.radius_mm ** 2 - distance ** 2),
                              fill=False, color=FOUND_COLOUR, linestyle="--", linewidth=1.2))
        axes.plot([u], [v], marker="+", color=FOUND_COLOUR, markersize=8)


def _slice_figure(name: str, volume: Volume, result: InferenceResult | LabelMap,
                  centre: NDArray[np.float64], implant: Mapping[str, Any] | None,
                  safe: bool, spheres: Sequence[Landmark] = (), title: str | None = None) -> str:
    figure = Figure(figsize=(4.2, 4.4))
    draw_slice(figure.add_subplot(1, 1, 1), name, volume, result, centre, implant, safe,
               spheres, title)
    return _png(figure)


def draw_slice(axes: Any, name: str, volume: Volume, result: InferenceResult | LabelMap,
               centre: NDArray[np.float64], implant: Mapping[str, Any] | None, safe: bool,
               spheres: Sequence[Landmark] = (), title: str | None = None) -> None:
    """Draw one of the report's slices on ``axes`` (a Matplotlib ``Axes``).

    The plane ``name`` (``axial``, ``coronal`` or ``sagittal``) through ``centre`` (LPS mm),
    :data:`FIELD_MM` square in radiological orientation with its :data:`PLANE_EDGES` labels:
    the CT (:data:`WINDOW_HU`), the segmentation's bone and vessel labels, the entropy contour
    (an :class:`~corridor.inference.model.InferenceResult` only), the implant from
    ``implant["entry_lps_mm"]`` to ``implant["tip_lps_mm"]`` (green when ``safe``, else
    orange) and the found ``spheres``.  The report's slices and the PDF report's are drawn by
    this one function.
    """
    right, down, (left_label, right_label, top_label, bottom_label) = _PLANES[name]
    step = max(0.5, min(volume.geometry.spacing))
    hu, labels, entropy = _slice(volume, result, centre, right, down, step)
    extent = (-FIELD_MM / 2, FIELD_MM / 2, FIELD_MM / 2, -FIELD_MM / 2)
    axes.imshow(hu, cmap="gray", vmin=WINDOW_HU[0], vmax=WINDOW_HU[1], extent=extent)
    names = (result if isinstance(result, LabelMap) else result.label_map).names
    colours = {"bone": (1.0, 0.85, 0.3, 0.28), "vessel": (0.95, 0.1, 0.1, 0.65)}
    for value, label_name in enumerate(names):
        if value and label_name in colours:
            mask = np.zeros((*labels.shape, 4))
            mask[labels == value] = colours[label_name]
            axes.imshow(mask, extent=extent)
    if float(entropy.max()) > UNCERTAIN_NATS:
        axes.contour(entropy, levels=[UNCERTAIN_NATS], colors="cyan", linewidths=0.8,
                     extent=(extent[0], extent[1], extent[3], extent[2]), origin="upper")
    if implant is not None:
        ends = np.array([implant["entry_lps_mm"], implant["tip_lps_mm"]]) - centre
        u, v = ends @ right, ends @ down
        axes.plot(u, v, color="lime" if safe else "orange", linewidth=3.0, solid_capstyle="butt")
    _spheres(axes, centre, right, down, spheres)
    for text, xy in ((left_label, (0.02, 0.5)), (right_label, (0.95, 0.5)),
                     (top_label, (0.5, 0.95)), (bottom_label, (0.5, 0.02))):
        axes.text(*xy, text, transform=axes.transAxes, color="yellow", fontsize=12,
                  fontweight="bold", ha="center", va="center")
    if spheres:
        axes.set_xlim(extent[0], extent[1])
        axes.set_ylim(extent[2], extent[3])
    axes.set_title(title or f"{name} (radiological view; cyan: entropy > {UNCERTAIN_NATS} "
                   "nats)", fontsize=8)
    axes.set_xticks([])
    axes.set_yticks([])


def decimate_surface(points: NDArray[np.float64], triangles: NDArray[np.int64],
                     max_triangles: int = MAX_TRIANGLES,
                     ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The surface decimated to about ``max_triangles`` triangles (VTK quadric decimation);
    unchanged when it has no more (points LPS mm, triangles as vertex indices)."""
    if len(triangles) <= max_triangles:
        return points, triangles
    polydata = vtkPolyData()
    vtk_points = vtkPoints()
    vtk_points.SetData(numpy_to_vtk(np.ascontiguousarray(points), deep=1))
    polydata.SetPoints(vtk_points)
    cells = vtkCellArray()
    offsets = np.arange(0, 3 * len(triangles) + 1, 3, dtype=np.int64)
    cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=1),
                  numpy_to_vtkIdTypeArray(np.ascontiguousarray(triangles.ravel()), deep=1))
    polydata.SetPolys(cells)
    decimate = vtkQuadricDecimation()
    decimate.SetInputData(polydata)
    decimate.SetTargetReduction(1.0 - max_triangles / len(triangles))
    decimate.Update()
    output = decimate.GetOutput()
    reduced = vtk_to_numpy(output.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    return (vtk_to_numpy(output.GetPoints().GetData()).astype(np.float64),
            reduced.astype(np.int64))


def _sphere_mesh(centre: Sequence[float], radius: float
                 ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """A latitude-longitude sphere (LPS mm): points and triangles."""
    polar = np.linspace(0.0, math.pi, _SPHERE_RINGS + 1)
    azimuth = np.linspace(0.0, 2.0 * math.pi, 2 * _SPHERE_RINGS, endpoint=False)
    p, a = np.meshgrid(polar, azimuth, indexing="ij")
    points = np.column_stack([(np.sin(p) * np.cos(a)).ravel(), (np.sin(p) * np.sin(a)).ravel(),
                              np.cos(p).ravel()]) * radius + np.asarray(centre)
    columns = 2 * _SPHERE_RINGS
    triangles = []
    for ring in range(_SPHERE_RINGS):
        for step in range(columns):
            a0, a1 = ring * columns + step, ring * columns + (step + 1) % columns
            b0, b1 = a0 + columns, a1 + columns
            triangles += [(a0, b0, a1), (a1, b0, b1)]
    return points, np.asarray(triangles, dtype=np.int64)


def surface_uncertainty(points: NDArray[np.float64], triangles: NDArray[np.int64],
                        uncertainty: ScalarMap) -> NDArray[np.float64]:
    """The uncertainty map across a surface at each vertex, for the 3-D view's tint.

    The mean of ``uncertainty`` (trilinear; beyond the grid's edge voxels, theirs: a surface
    the scan's end cuts continues there) at :data:`UNCERTAINTY_SAMPLES`
    points along the vertex's normal, from ``-UNCERTAINTY_REACH_MM`` to
    ``+UNCERTAINTY_REACH_MM``.  The vertex normal is the normalised sum of the unit normals of
    the triangles that use it (as ``vtkPolyDataNormals`` computes it); a vertex of no triangle
    with an area is sampled at itself.

    Parameters
    ----------
    points
        ``(n, 3)`` vertices, LPS mm.
    triangles
        ``(m, 3)`` vertex indices.
    uncertainty
        A map on a grid (e.g. mutual information or entropy, nats).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64, in the map's unit.
    """
    corners = points[triangles]
    faces = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.linalg.norm(faces, axis=1, keepdims=True)
    faces = np.divide(faces, lengths, out=np.zeros_like(faces), where=lengths > 0)
    normals = np.zeros_like(points)
    for corner in range(3):
        np.add.at(normals, triangles[:, corner], faces)
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.divide(normals, lengths, out=np.zeros_like(normals), where=lengths > 0)
    offsets = np.linspace(-UNCERTAINTY_REACH_MM, UNCERTAINTY_REACH_MM, UNCERTAINTY_SAMPLES)
    samples = points[:, None, :] + offsets[None, :, None] * normals[:, None, :]
    index = uncertainty.geometry.lps_to_index(samples.reshape(-1, 3)).T
    values = ndimage.map_coordinates(np.asarray(uncertainty.values, dtype=np.float64), index,
                                     order=1, mode="nearest", prefilter=False)
    result: NDArray[np.float64] = values.reshape(len(points), UNCERTAINTY_SAMPLES).mean(axis=1)
    return result


def _tinted(rgb: Sequence[float], values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-vertex colours: ``rgb`` at 0, :data:`UNCERTAIN_RGB` from
    :data:`UNCERTAINTY_FULL_NATS`, linear in between (2 decimals, as the page holds them)."""
    share = np.clip(values / UNCERTAINTY_FULL_NATS, 0.0, 1.0)[:, None]
    base = np.asarray(rgb, dtype=np.float64)[None, :]
    result: NDArray[np.float64] = np.round(
        base + share * (np.asarray(UNCERTAIN_RGB)[None, :] - base), 2)
    return result


def scene_objects(meshed: Sequence[MeshedLabel],
                  implant: tuple[NDArray[np.float64], NDArray[np.int64]] | None, safe: bool,
                  spheres: Sequence[Landmark] = (), uncertainty: ScalarMap | None = None,
                  region: tuple[NDArray[np.float64], NDArray[np.int64]] | None = None,
                  ) -> list[dict[str, Any]]:
    """The 3-D view's objects: each surface (decimated to about :data:`MAX_TRIANGLES`
    triangles), the implant, the found spheres and the uncertain region.

    Each object has ``name``, ``colour`` (RGBA), ``positions`` (LPS mm, 2 decimals, flat) and
    ``indices`` (flat triangles); with ``uncertainty``, each surface also has ``colours``
    (RGB per vertex, flat, 2 decimals): its colour tinted towards :data:`UNCERTAIN_RGB` by
    :func:`surface_uncertainty` at the rounded positions, and ``uncertainty_max`` (nats).
    ``region`` (:func:`uncertain_region`) is drawn translucent cyan, named
    ``uncertain region``.
    """
    colours = {"bone": [0.93, 0.88, 0.75, 0.55], "vessel": [0.85, 0.15, 0.15, 1.0]}
    objects = []
    for item in meshed:
        points, triangles = decimate_surface(item.surface.points, item.surface.triangles)
        points = np.round(points, 2)
        colour = colours.get(item.surface.name, [0.6, 0.6, 0.8, 0.6])
        shown: dict[str, Any] = {"name": item.surface.name, "colour": colour,
                                 "positions": points.ravel().tolist(),
                                 "indices": triangles.ravel().tolist()}
        if uncertainty is not None:
            values = surface_uncertainty(points, triangles, uncertainty)
            shown["colours"] = _tinted(colour[:3], values).ravel().tolist()
            shown["uncertainty_max"] = round(float(values.max()), 3) if len(values) else 0.0
        objects.append(shown)
    if implant is not None:
        objects.append({"name": "implant", "colour": [0.2, 0.85, 0.3, 1.0] if safe
                        else [1.0, 0.6, 0.1, 1.0],
                        "positions": np.round(implant[0], 3).ravel().tolist(),
                        "indices": implant[1].ravel().tolist()})
    for mark in spheres:
        assert mark.radius_mm is not None
        points, triangles = _sphere_mesh(mark.centre_lps_mm, mark.radius_mm)
        objects.append({"name": f"{mark.name} (found)", "colour": [*FOUND_RGB, 0.45],
                        "positions": np.round(points, 2).ravel().tolist(),
                        "indices": triangles.ravel().tolist()})
    if region is not None:
        objects.append({"name": "uncertain region", "colour": [*UNCERTAIN_RGB, 0.5],
                        "positions": np.round(region[0], 2).ravel().tolist(),
                        "indices": region[1].ravel().tolist()})
    return objects


def uncertain_region(uncertainty: ScalarMap, entry: Sequence[float], tip: Sequence[float], *,
                     level: float = UNCERTAIN_REGION_NATS,
                     reach_mm: float = UNCERTAIN_REGION_MM,
                     ) -> tuple[NDArray[np.float64], NDArray[np.int64]] | None:
    """The surface around the voxels near the implant where the uncertainty reaches ``level``.

    Voxels whose centre lies within ``reach_mm`` of the segment from ``entry`` to ``tip``
    (LPS mm) and whose value is at least ``level``, meshed as the label maps are
    (:func:`~corridor.meshing.extract_surface`) and decimated for the view; ``None`` when no
    voxel qualifies.  Only the box around the segment is read, never the whole map.
    """
    geometry = uncertainty.geometry
    start, end = np.asarray(entry, np.float64), np.asarray(tip, np.float64)
    low_lps = np.minimum(start, end) - reach_mm
    high_lps = np.maximum(start, end) + reach_mm
    corners = np.array([[x, y, z] for x in (low_lps[0], high_lps[0])
                        for y in (low_lps[1], high_lps[1]) for z in (low_lps[2], high_lps[2])])
    index = geometry.lps_to_index(corners)
    shape = np.asarray(geometry.shape)
    low = np.clip(np.floor(index.min(axis=0)).astype(np.int64), 0, shape)
    high = np.clip(np.ceil(index.max(axis=0)).astype(np.int64) + 1, 0, shape)
    if np.any(high <= low):
        return None
    box = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
    values = np.asarray(uncertainty.values[box])
    centres = geometry.index_to_lps(
        np.indices(values.shape).reshape(3, -1).T + low[None, :]).reshape(*values.shape, 3)
    axis = end - start
    length = float(np.linalg.norm(axis))
    along = np.clip(((centres - start) @ axis) / max(length ** 2, 1e-12), 0.0, 1.0)
    nearest = start + along[..., None] * axis
    mask = (values >= level) & (np.linalg.norm(centres - nearest, axis=-1) <= reach_mm)
    if not mask.any():
        return None
    affine = geometry.affine.copy()
    affine[:3, 3] = geometry.index_to_lps(low.astype(np.float64))
    cropped = ImageGeometry(affine, (int(mask.shape[0]), int(mask.shape[1]), int(mask.shape[2])),
                            geometry.frame_of_reference_uid)
    points, triangles = extract_surface(mask, cropped)
    return decimate_surface(points, triangles)


def _markers(flips: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A yellow octahedron (radius :data:`FLIP_MARKER_MM`) at each axis point where a
    clearance could flip under an alternative of the segmentation, for the 3-D view."""
    unit = np.array([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
    faces = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4],
                      [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    found = []
    for flip in flips:
        if flip.get("at_lps_mm") is None:
            continue
        points = np.asarray(flip["at_lps_mm"], dtype=np.float64) + FLIP_MARKER_MM * unit
        found.append({"name": f"verdict could flip: {flip['structure']} ({flip['alternative']})",
                      "colour": [1.0, 0.85, 0.0, 1.0],
                      "positions": np.round(points, 3).ravel().tolist(),
                      "indices": faces.ravel().tolist()})
    return found


def _tint_source(inferred: InferenceResult | None) -> tuple[ScalarMap, str] | None:
    """The map the 3-D view's surfaces are tinted by, and what it is, in words: a deep
    ensemble's mutual information (the members' disagreement), else the entropy."""
    if inferred is None:
        return None
    if inferred.mutual_information is not None:
        return (inferred.mutual_information, "mutual information of the ensemble's "
                f"{len(inferred.record.get('ensemble', {}).get('members', []))} members "
                "(their disagreement: epistemic uncertainty)")
    return inferred.entropy, "predictive entropy of the model (a single model)"


def _patient(volume: Volume) -> dict[str, str]:
    """The patient fields ingest kept for display (never re-read from the files)."""
    shown = volume.display
    return {"name": shown.patient_name, "id": shown.patient_id,
            "study_date": shown.study_date, "series": shown.series_description}


def review_flags(volume: Volume, inferred: InferenceResult,
                 planned: PlanResult | None = None) -> list[dict[str, str]]:
    """The case's review flags (``code``, ``message``): a regularised or lossy-compressed series
    first (the volume is not the acquired grid, or not the acquired values), then the
    segmentation's, then the plan's ``verdict-uncertain`` when its verdict could flip under a
    plausible alternative of the segmentation."""
    flags = [warning.to_json() for warning in volume.warnings
             if warning.code in (WarningCode.REGULARIZED, WarningCode.LOSSY_COMPRESSION)]
    flags += [flag.to_json() for flag in inferred.flags]
    uncertain = None if planned is None or planned.uncertainty is None else (
        planned.uncertainty.flag())
    return flags + ([uncertain] if uncertain is not None else [])


def write_case_report(path: Path, *, volume: Volume, inferred: InferenceResult | None,
                      meshes: MeshResult, planned: PlanResult,
                      absent: Sequence[Mapping[str, Any]] = (),
                      external: tuple[LabelMap, ModelIdentity, Sequence[Mapping[str, str]]]
                      | None = None) -> None:
    """Write ``report.html`` for one case from the stages' results.

    Patient fields the series lacks are shown as not stated; ``absent`` (the run record's
    ``source_attributes_absent``) is listed by name and tag with what the DICOM SEG holds
    instead, so that the reader knows the SEG names no patient where the series names none.
    ``external`` replaces ``inferred`` for a segmentation made elsewhere: its labels as roles
    (``bone``, ``vessel``) on the CT's grid, its identity and its review flags.
    """
    plan = planned.plan
    document = plan.to_json()
    trajectory = document.get("trajectory") or document.get("best_candidate")
    safe = plan.verdict is Verdict.SAFE
    implant = (implant_surface(plan.trajectory)
               if safe and plan.trajectory is not None else None)
    if plan.trajectory is not None:
        centre = plan.trajectory.entry + 0.5 * plan.trajectory.length_mm * (
            plan.trajectory.direction)
    else:
        shape = np.asarray(volume.geometry.shape, dtype=np.float64)
        centre = volume.geometry.index_to_lps((shape - 1) / 2)
    shown: InferenceResult | LabelMap
    if external is not None:
        shown, identity, flags = external[0], external[1], [dict(f) for f in external[2]]
    else:
        assert inferred is not None  # one of the two is given
        shown, identity = inferred, inferred.model
        flags = review_flags(volume, inferred, planned)
    uncertainty = (planned.uncertainty.to_json() if planned.uncertainty is not None
                   else None)
    found = [m for m in plan.inputs.landmarks
             if m.source is LandmarkSource.FOUND and m.radius_mm is not None]
    slices = {name: _slice_figure(name, volume, shown, centre, trajectory, safe, found)
              for name in _PLANES}
    landmark_slices = {
        f"{mark.name} {name}": _slice_figure(
            name, volume, shown, np.asarray(mark.centre_lps_mm), trajectory, safe, found,
            title=f"{mark.name} (found): {name} through its centre, dashed: the fit")
        for mark in found for name in ("axial", "coronal")}
    tint = _tint_source(inferred) if external is None else None
    region = None
    if inferred is not None and inferred.mutual_information is not None and trajectory:
        region = uncertain_region(inferred.mutual_information, trajectory["entry_lps_mm"],
                                  trajectory["tip_lps_mm"])
    scene = scene_objects(meshes.surfaces, implant, safe, found,
                          None if tint is None else tint[0], region)
    environment = Environment(loader=PackageLoader("corridor.case", "templates"),
                              autoescape=True, undefined=StrictUndefined)
    html = environment.get_template("case_report.html.j2").render(
        plan=document, slices=slices, landmark_slices=landmark_slices,
        landmarks=document["inputs"]["landmarks"],
        scene=scene + _markers(uncertainty["could_flip"] if uncertainty is not None else ()),
        tint=None if tint is None else {
            "quantity": tint[1], "full_nats": UNCERTAINTY_FULL_NATS,
            "reach_mm": UNCERTAINTY_REACH_MM,
            "rgb": [round(255 * v) for v in UNCERTAIN_RGB],
            "surfaces": [{"name": o["name"], "rgb": [round(255 * v) for v in o["colour"][:3]],
                          "max_nats": o["uncertainty_max"]}
                         for o in scene if "uncertainty_max" in o],
            "region": None if inferred is None or inferred.mutual_information is None else {
                "drawn": region is not None, "level_nats": UNCERTAIN_REGION_NATS,
                "reach_mm": UNCERTAIN_REGION_MM}},
        uncertainty=uncertainty,
        model=identity.to_json(), flags=flags,
        patient=_patient(volume), series=volume.series_instance_uid,
        viewer=files("corridor.case").joinpath(VIEWER_SCRIPT).read_text("utf-8"),
        absent=[f"{entry['name']} {entry['tag']}: {entry['written']}" for entry in absent])
    path.write_text(html, encoding="utf-8")
