"""The plan folder's files: their names, the implant surface, the risk-map figure, and whether a
plan written earlier is still current.

A plan folder holds ``plan.json``, ``implant.stl`` (a ``safe`` plan only) and ``risk-map.png``;
:meth:`~corridor.planning.result.PlanResult.write` writes it all or nothing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never a display

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from corridor.meshing.files import Frame, MeshFormat, write_surface
from corridor.planning.errors import PlanningError, StalePlanError
from corridor.planning.external import segmentation_sha256
from corridor.planning.model import Plan, Trajectory, Verdict
from corridor.planning.riskmap import RiskMap
from corridor.planning.vectors import perpendicular_basis

__all__ = ["IMPLANT_NAME", "PLAN_NAME", "RISK_MAP_NAME", "check_plan_current", "implant_surface",
           "risk_map_figure", "write_implant", "write_risk_map"]

PLAN_NAME = "plan.json"
IMPLANT_NAME = "implant.stl"
RISK_MAP_NAME = "risk-map.png"

_SEGMENTS = 48
"""Sides of the polygon approximating the implant's circular cross-section."""


def implant_surface(trajectory: Trajectory) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Closed triangle surface of the implant cylinder (LPS mm), normals pointing out.

    The cross-section is a regular polygon *circumscribing* the circle of the implant's
    radius, so the surface holds the whole implant.
    """
    u, v = perpendicular_basis(trajectory.direction)
    radius = 0.5 * trajectory.diameter_mm / math.cos(math.pi / _SEGMENTS)
    angles = 2.0 * math.pi * np.arange(_SEGMENTS) / _SEGMENTS
    ring = radius * (np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v)
    entry, tip = trajectory.entry, trajectory.tip
    points = np.vstack([entry + ring, tip + ring, entry, tip])
    n = _SEGMENTS
    start_centre, tip_centre = 2 * n, 2 * n + 1
    triangles = []
    for a in range(n):
        b = (a + 1) % n
        triangles += [[a, b, n + b], [a, n + b, n + a],  # side, counter-clockwise outside
                      [start_centre, b, a], [tip_centre, n + a, n + b]]
    return points, np.asarray(triangles, dtype=np.int64)


def risk_map_figure(risk_map: RiskMap, plan: Plan) -> Figure:
    """The risk map as a polar plot: radius the polar angle from the reference direction
    (degrees), angle the azimuth, colour the margin (mm), the plan's direction marked."""
    figure = Figure(figsize=(6.4, 5.6), dpi=100)
    axes = figure.add_subplot(projection="polar")
    azimuth = np.radians(np.append(risk_map.azimuth_deg, 360.0))
    values = np.concatenate([risk_map.values, risk_map.values[:, :1]], axis=1)
    finite = values[np.isfinite(values)]
    limit = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    mesh = axes.pcolormesh(azimuth, risk_map.polar_deg, np.ma.masked_invalid(values),
                           cmap="RdYlGn", vmin=-limit, vmax=limit, shading="nearest")
    polar, planned_azimuth = risk_map.planned
    if plan.trajectory is not None:
        axes.plot([math.radians(planned_azimuth)], [polar], marker="x", color="black",
                  markersize=10, label="planned" if plan.verdict is Verdict.SAFE
                  else "best candidate (not safe)")
        axes.legend(loc="lower left", bbox_to_anchor=(-0.12, -0.12), fontsize=8)
    zero, quarter = risk_map.azimuth_names
    side = "unsided" if plan.side is None else plan.side.value
    axes.set_title(f"{plan.procedure} ({side}): smallest clearance margin, mm, "
                   "over directions through the entry point\n(radius: degrees from the reference "
                   f"direction; 0\N{DEGREE SIGN} tilts {zero}, 90\N{DEGREE SIGN} {quarter}; "
                   "grey: not admissible)", fontsize=8)
    axes.set_facecolor("0.85")
    figure.colorbar(mesh, ax=axes, shrink=0.8, label="clearance less required (mm)")
    return figure


def write_implant(path: Path, trajectory: Trajectory) -> None:
    """Write the implant's surface (:func:`implant_surface`) as binary STL, LPS mm."""
    points, triangles = implant_surface(trajectory)
    write_surface(path, points, triangles, fmt=MeshFormat.STL, frame=Frame.LPS,
                  name=f"implant {trajectory.diameter_mm} mm")


def write_risk_map(path: Path, risk_map: RiskMap, plan: Plan) -> None:
    """Draw the risk map (:func:`risk_map_figure`) into a PNG file."""
    risk_map_figure(risk_map, plan).savefig(path, metadata={"Software": "corridor"})


def check_plan_current(plan_folder: Path, label_map: Path, procedure_sha256: str | None = None
                       ) -> dict[str, Any]:
    """Confirm a plan was made on this label map (and template): the plan's inputs' SHA-256.

    ``label_map`` is a file, or a TotalSegmentator folder (its masks' digest, as planning
    recorded it: :func:`~corridor.planning.external.segmentation_sha256`).

    A re-segmentation, a corrected label or an edited template gives new bytes, and the
    plan made before it must not be used.  Returns the plan document when current.

    Raises
    ------
    StalePlanError
        The label map's or the template's SHA-256 differs from the one planned on.
    PlanningError
        No readable ``plan.json`` with recorded inputs in ``plan_folder``.
    """
    path = plan_folder / PLAN_NAME
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        recorded = document["inputs"]
        planned_map = str(recorded["label_map"]["sha256"])
        planned_procedure = str(recorded["procedure"]["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PlanningError("plan", f"{path}: {type(exc).__name__}: {exc}",
                            "a plan.json written by corridor plan-trajectory") from exc
    differences = []
    try:
        found = segmentation_sha256(label_map)
    except OSError as exc:
        raise PlanningError("--label-map", f"{label_map}: {exc.strerror or exc}",
                            "a readable label map or segmentation folder") from exc
    if found != planned_map:
        differences.append(f"label map {label_map.name} has SHA-256 {found[:16]}..., the plan "
                           f"was made on {planned_map[:16]}...")
    if procedure_sha256 is not None and procedure_sha256 != planned_procedure:
        differences.append(f"procedure template has SHA-256 {procedure_sha256[:16]}..., the "
                           f"plan was made with {planned_procedure[:16]}...")
    if differences:
        raise StalePlanError(differences)
    return document
