"""The plan as a PDF report for the PACS (an Encapsulated PDF's document): three A4 pages.

Page 1: the verdict, procedure and side, the model and software that made the plan, the
trajectory's entry and tip (LPS mm), the clearance table and the review flags.  Page 2: axial,
coronal and sagittal CT slices through the implant's midpoint with the segmentation and the
implant drawn as the HTML report draws them (:func:`corridor.case.report.draw_slice`).
Page 3: a 3-D still of the bone surface (decimated) with the implant.

The PDF names no patient: the DICOM object that carries it holds the patient's name and ID,
where the standard puts them.  The same inputs give the same bytes (no creation date, a fixed
producer, TrueType fonts embedded whole), so a rebuilt object is byte-identical.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from numpy.typing import NDArray

from corridor.case.report import PLANE_EDGES, decimate_surface, draw_slice
from corridor.images import LabelMap
from corridor.ingest.model import Volume

__all__ = ["PDF_METADATA", "STILL_TRIANGLES", "render_plan_pdf"]

PDF_METADATA = {"Title": "Corridor surgical plan", "Author": None, "Subject": None,
                "Keywords": None, "Creator": "Corridor", "Producer": "Corridor",
                "CreationDate": None, "ModDate": None, "Trapped": None}
"""The PDF's document information: no dates (the same plan gives the same bytes), no patient."""
STILL_TRIANGLES = 4000
"""The bone surface is decimated to about this many triangles for the 3-D still."""
_A4_INCHES = (8.27, 11.69)
_IMPLANT_COLOURS = {True: "limegreen", False: "darkorange"}


def _fmt(point: Sequence[float]) -> str:
    return "(" + ", ".join(f"{value:.2f}" for value in point) + ")"


def _summary_page(plan: Mapping[str, Any], case: Mapping[str, Any]) -> Figure:
    figure = Figure(figsize=_A4_INCHES)
    figure.text(0.07, 0.95, "Corridor surgical plan", fontsize=18, fontweight="bold")
    safe = plan["verdict"] == "safe"
    figure.text(0.07, 0.91, f"Verdict: {plan['verdict']}", fontsize=14, fontweight="bold",
                color="darkgreen" if safe else "darkred")
    model, software = case["model"], case["software"]
    lines = [f"Procedure: {plan['procedure']}",
             f"Side: {plan['side'] or 'not sided'}",
             f"Model: {model['name']} {model['version']}",
             f"Model SHA-256: {model['sha256']}",
             f"Software: {software['name']} {software['version']} ({software['build']} build)",
             f"Software commit: {software['commit'] or 'not recorded'}"
             + (" (uncommitted changes)" if software.get("dirty") else ""),
             "Planning support only: the surgeon reviews and decides."]
    implant = plan.get("trajectory") or plan.get("best_candidate")
    if implant is not None:
        heading = "Trajectory" if plan.get("trajectory") else "Best candidate (NOT a plan)"
        lines += ["", f"{heading} (LPS mm):",
                  f"  entry {_fmt(implant['entry_lps_mm'])}",
                  f"  tip   {_fmt(implant['tip_lps_mm'])}",
                  f"  implant {implant['length_mm']} mm long, {implant['diameter_mm']} mm "
                  "in diameter"]
    if plan.get("failed_constraints"):
        lines.append("Failed constraints: " + ", ".join(plan["failed_constraints"]))
    for row, line in enumerate(lines):
        figure.text(0.07, 0.87 - 0.022 * row, line, fontsize=10, family="monospace")
    top = 0.87 - 0.022 * (len(lines) + 1)
    figure.text(0.07, top, "Clearances (mm)", fontsize=12, fontweight="bold")
    table = [[c["structure"], f"{c['clearance_mm']:.2f}", f"{c['guaranteed_min_mm']:.2f}",
              f"{c['required_mm']:.2f}", f"{c['margin_mm']:+.2f}", "yes" if c["met"] else "NO"]
             for c in plan["clearances"]]
    height = 0.025 * (len(table) + 1)
    axes = figure.add_axes((0.07, top - 0.01 - height, 0.86, height))
    axes.axis("off")
    if table:
        axes.table(cellText=table, colLabels=["structure", "clearance", "guaranteed min",
                                              "required", "margin", "met"],
                   loc="upper left", cellLoc="left")
    flags = case.get("flags") or []
    flag_top = top - 0.05 - height
    figure.text(0.07, flag_top, "Review flags", fontsize=12, fontweight="bold")
    shown = [f"{flag['code']}: {flag['message']}" for flag in flags] or ["none"]
    for row, line in enumerate(shown):
        figure.text(0.07, flag_top - 0.025 * (row + 1), line, fontsize=9, wrap=True)
    return figure


def _slices_page(volume: Volume, label_map: LabelMap, centre: NDArray[np.float64],
                 implant: Mapping[str, Any] | None, safe: bool) -> Figure:
    figure = Figure(figsize=_A4_INCHES)
    figure.suptitle("CT slices through the implant (radiological view; yellow: bone, "
                    "red: vessel)", fontsize=10)
    for row, name in enumerate(PLANE_EDGES):
        axes = figure.add_subplot(2, 2, row + 1)
        draw_slice(axes, name, volume, label_map, centre, implant, safe, title=name)
    return figure


def _still_page(bone: tuple[NDArray[np.float64], NDArray[np.int64]],
                implant: Mapping[str, Any] | None, safe: bool) -> Figure:
    figure = Figure(figsize=_A4_INCHES)
    axes: Any = figure.add_subplot(1, 1, 1, projection="3d")
    points, triangles = decimate_surface(*bone, max_triangles=STILL_TRIANGLES)
    if len(triangles):
        axes.plot_trisurf(points[:, 0], points[:, 1], points[:, 2], triangles=triangles,
                          color=(0.93, 0.88, 0.75), linewidth=0, alpha=0.35, shade=True)
    ends = (np.array([implant["entry_lps_mm"], implant["tip_lps_mm"]], dtype=np.float64)
            if implant is not None else np.empty((0, 3)))
    if len(ends):
        axes.plot(ends[:, 0], ends[:, 1], ends[:, 2], color=_IMPLANT_COLOURS[safe],
                  linewidth=5)
    shown = np.vstack([points, ends]) if len(points) else ends
    if len(shown):
        low, high = shown.min(axis=0), shown.max(axis=0)
        half = float((high - low).max()) / 2 or 1.0
        middle = (low + high) / 2
        axes.set_xlim(middle[0] - half, middle[0] + half)
        axes.set_ylim(middle[1] - half, middle[1] + half)
        axes.set_zlim(middle[2] - half, middle[2] + half)
    axes.set_xlabel("L (mm)")
    axes.set_ylabel("P (mm)")
    axes.set_zlabel("S (mm)")
    axes.view_init(elev=15, azim=-60)
    axes.set_title("3-D view: bone surface and implant (LPS mm)", fontsize=10)
    return figure


def render_plan_pdf(*, plan: Mapping[str, Any], case: Mapping[str, Any], volume: Volume,
                    label_map: LabelMap,
                    bone: tuple[NDArray[np.float64], NDArray[np.int64]]) -> bytes:
    """The plan's PDF report (three pages, see the module notes).

    Parameters
    ----------
    plan
        ``plan/plan.json`` as read.
    case
        ``case.json`` as read (model, software and review flags).
    volume
        The CT the case was planned on.
    label_map
        ``segmentation/labels.nii.gz``: the bone and vessel labels on the CT's grid.
    bone
        The bone surface (points, LPS mm; triangles), from ``meshes/bone.lps.stl``.

    Returns
    -------
    bytes
        The PDF; the same arguments give the same bytes.
    """
    implant = plan.get("trajectory") or plan.get("best_candidate")
    safe = plan["verdict"] == "safe"
    if implant is not None:
        centre = (np.asarray(implant["entry_lps_mm"], dtype=np.float64)
                  + np.asarray(implant["tip_lps_mm"], dtype=np.float64)) / 2
    else:
        shape = np.asarray(volume.geometry.shape, dtype=np.float64)
        centre = volume.geometry.index_to_lps((shape - 1) / 2)
    buffer = io.BytesIO()
    with (rc_context({"pdf.fonttype": 42, "pdf.compression": 6}),
          PdfPages(buffer, metadata=PDF_METADATA) as pages):
        for figure in (_summary_page(plan, case),
                       _slices_page(volume, label_map, centre, implant, safe),
                       _still_page(bone, implant, safe)):
            pages.savefig(figure)
    return buffer.getvalue()
