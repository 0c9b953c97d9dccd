"""The HTML case report: slices with overlays, an offline 3-D view, the clearances and the verdict.

One self-contained file (``report.html``): axial, coronal and sagittal slices through the
planned implant (or the volume's centre), resampled in patient LPS planes and drawn in
radiological orientation with their L/R/A/P/S/I labels, showing the CT, the segmentation, the
regions where the model was uncertain (entropy contour) and the implant; a WebGL view of the
meshes and the implant written in the page itself (no library, no network), with a marker
wherever a clearance could flip under a plausible alternative of the segmentation; the
clearance table, the margins under each alternative, the verdict and the review flags.
Every value is escaped (Jinja2 autoescape); the patient fields are shown only there.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
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

from corridor.images import LabelMap
from corridor.inference.model import InferenceResult, ModelIdentity
from corridor.ingest.enum import WarningCode
from corridor.ingest.model import Volume
from corridor.meshing.api import MeshedLabel, MeshResult
from corridor.planning import Landmark, LandmarkSource, PlanResult, Verdict
from corridor.planning.outputs import implant_surface

__all__ = ["REPORT_NAME", "review_flags", "write_case_report"]

REPORT_NAME = "report.html"
FIELD_MM = 180.0
"""Side of the square field each slice shows (mm)."""
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

# plane: (in-plane axis shown left to right, axis shown top to bottom, labels)
_PLANES = {
    "axial": (np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), ("R", "L", "A", "P")),
    "coronal": (np.array([1.0, 0, 0]), np.array([0, 0, -1.0]), ("R", "L", "S", "I")),
    "sagittal": (np.array([0, -1.0, 0]), np.array([0, 0, -1.0]), ("A", "P", "S", "I")),
}


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _slice(volume: Volume, result: InferenceResult | LabelMap, centre: NDArray[np.float64],
           right: NDArray[np.float64], down: NDArray[np.float64], step: float
           ) -> tuple[NDArray[np.float64], NDArray[np.uint8], NDArray[np.float64]]:
    n = int(FIELD_MM / step)
    offsets = (np.arange(n) - n / 2) * step
    points = (centre + offsets[None, :, None] * right + offsets[:, None, None] * down)
    index = volume.geometry.lps_to_index(points.reshape(-1, 3)).T
    hu = ndimage.map_coordinates(np.asarray(volume.hu, dtype=np.float32), index, order=1,
                                 mode="constant", cval=-1000.0).reshape(n, n)
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
                  centre: NDArray[np.float64], implant: dict[str, Any] | None,
                  safe: bool, spheres: Sequence[Landmark] = (), title: str | None = None) -> str:
    right, down, (left_label, right_label, top_label, bottom_label) = _PLANES[name]
    step = max(0.5, min(volume.geometry.spacing))
    hu, labels, entropy = _slice(volume, result, centre, right, down, step)
    figure = Figure(figsize=(4.2, 4.4))
    axes = figure.add_subplot(1, 1, 1)
    extent = (-FIELD_MM / 2, FIELD_MM / 2, FIELD_MM / 2, -FIELD_MM / 2)
    axes.imshow(hu, cmap="gray", vmin=-200, vmax=1000, extent=extent)
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
    return _png(figure)


def _decimated(points: NDArray[np.float64], triangles: NDArray[np.int64]
               ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    if len(triangles) <= MAX_TRIANGLES:
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
    decimate.SetTargetReduction(1.0 - MAX_TRIANGLES / len(triangles))
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


def _scene(meshed: Sequence[MeshedLabel], implant: tuple[NDArray[np.float64],
                                                        NDArray[np.int64]] | None,
           safe: bool, spheres: Sequence[Landmark] = ()) -> list[dict[str, Any]]:
    colours = {"bone": [0.93, 0.88, 0.75, 0.55], "vessel": [0.85, 0.15, 0.15, 1.0]}
    objects = []
    for item in meshed:
        points, triangles = _decimated(item.surface.points, item.surface.triangles)
        objects.append({"name": item.surface.name,
                        "colour": colours.get(item.surface.name, [0.6, 0.6, 0.8, 0.6]),
                        "positions": np.round(points, 2).ravel().tolist(),
                        "indices": triangles.ravel().tolist()})
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
    return objects


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
    environment = Environment(loader=PackageLoader("corridor.case", "templates"),
                              autoescape=True, undefined=StrictUndefined)
    html = environment.get_template("case_report.html.j2").render(
        plan=document, slices=slices, landmark_slices=landmark_slices,
        landmarks=document["inputs"]["landmarks"],
        scene=_scene(meshes.surfaces, implant, safe, found) + _markers(
            uncertainty["could_flip"] if uncertainty is not None else ()),
        uncertainty=uncertainty,
        model=identity.to_json(), flags=flags,
        patient=_patient(volume), series=volume.series_instance_uid,
        absent=[f"{entry['name']} {entry['tag']}: {entry['written']}" for entry in absent])
    path.write_text(html, encoding="utf-8")
