"""Step definitions of ``verification/features/case/uncertainty_view.feature``.

Verifies that the case report's 3-D view shows a deep ensemble's uncertainty on the anatomy:
each surface vertex tinted by the mutual information across the surface (towards cyan beside
a segment the members see differently, untinted far from it), the region near the implant
where the members disagree, the legend and the marker where the verdict could flip.

Oracles: the mutual information computed from each member run by ONNX Runtime
(:func:`verification.inference.helpers.member_probabilities`), never the map the code wrote;
vertex normals by VTK's ``vtkPolyDataNormals`` and trilinear interpolation written in
:mod:`verification.case.helpers`; the planted segment's known position.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytest_bdd import given, scenarios, then, when

from corridor.case.report import UNCERTAIN_RGB, write_case_report
from corridor.inference import Device, InferenceOptions, infer, load_model_package
from corridor.meshing.api import mesh_label_map
from corridor.planning import plan_trajectory
from verification.case.helpers import expected_tint, report_scene
from verification.inference.helpers import (
    cylinder_ct_with_segment,
    member_probabilities,
    mutual_information,
    vessel_ensemble,
)
from verification.planning.phantoms import in_memory, loaded

scenarios("case/uncertainty_view.feature")

COLOUR_TOLERANCE = 0.005 + 0.0005
"""The page holds colours to 2 decimals (half a step, 0.005), and the code's map is float32
against this float64 oracle (within 1e-4 nats, at most 0.0002 of colour over 0.5 nats; 0.0005
allowed)."""


@pytest.fixture
def context(tmp_path: Path) -> dict[str, Any]:
    """What the scenario built."""
    return {"root": tmp_path}


@given("a CT of a bone cylinder with a vessel at 30 mm, and a ring of 700 HU planted in the bone "
       "about the planned implant, 4 mm from it")
def cylinder(context: dict[str, Any]) -> None:
    """:func:`verification.inference.helpers.cylinder_ct_with_segment`."""
    context.update(cylinder_ct_with_segment())


@given("an ensemble of two per-voxel members that differ only in the highest vessel intensity, "
       "750 and 600 HU")
def members(context: dict[str, Any]) -> None:
    """:func:`verification.inference.helpers.vessel_ensemble`."""
    context["package"] = vessel_ensemble(context["root"] / "vessels")


@when("the ensemble segments the CT, its label map is meshed and planned on, and the case report "
      "is written, in process")
def report(context: dict[str, Any]) -> None:
    """The stages as ``corridor plan`` wires them, on the CT made in memory."""
    volume = context["volume"]
    result = infer(volume, load_model_package(context["package"]),
                   InferenceOptions(device=Device.CPU))
    meshes = mesh_label_map(result.label_map)
    planned = plan_trajectory(result.label_map, loaded(context["document"]), side=None,
                              landmarks={}, label_map_file=in_memory(result.label_map),
                              alternatives=result.alternatives)
    path = context["root"] / "report.html"
    write_case_report(path, volume=volume, inferred=result, meshes=meshes, planned=planned)
    context.update(report=path, planned=planned, scene={o["name"]: o for o in report_scene(path)},
                   mutual=mutual_information(member_probabilities(context["package"],
                                                                  context["hu"], 1.0)))


def _surface(context: dict[str, Any], name: str) -> tuple[Any, ...]:
    shown = context["scene"][name]
    positions = np.asarray(shown["positions"], np.float64).reshape(-1, 3)
    triangles = np.asarray(shown["indices"], np.int64).reshape(-1, 3)
    colours = np.asarray(shown["colours"], np.float64).reshape(-1, 3)
    rgb = np.asarray(shown["colour"][:3], np.float64)
    values, expected = expected_tint(positions, triangles, context["mutual"],
                                     context["volume"].geometry.affine, rgb)
    return positions, colours, values, expected


@then("every vertex of the bone and the vessel in the report's 3-D view has the colour the "
      "mutual information computed here gives it across the surface")
def tint_matches(context: dict[str, Any]) -> None:
    """Each colour against the oracle's, every vertex."""
    for name in ("bone", "vessel"):
        positions, colours, _, expected = _surface(context, name)
        assert colours.shape == positions.shape
        assert float(np.abs(colours - expected).max()) <= COLOUR_TOLERANCE, name


@then("the bone is tinted towards cyan beside the segment and keeps its own colour far from it")
def tint_where(context: dict[str, Any]) -> None:
    """At least a tenth of the way to cyan at some vertex within 3 mm of the segment's voxels
    (the segment, a ring about the implant's axis, lies inside the bone, reaching to 2 mm under
    its surface, where the samples across the surface reach it), and untinted (a share below
    0.02) at every vertex more than 10 mm from them (most of the surface: the ring is 10 mm of
    the cylinder's 100)."""
    positions, colours, _, _ = _surface(context, "bone")
    geometry = context["volume"].geometry
    segment = geometry.index_to_lps(np.argwhere(context["planted"]).astype(np.float64))
    distance = np.min(np.linalg.norm(positions[:, None, :] - segment[None, :, :], axis=2),
                      axis=1)
    near, far = distance <= 3.0, distance > 10.0
    assert near.any()
    assert far.sum() > 0.7 * len(positions)
    rgb = np.asarray(context["scene"]["bone"]["colour"][:3])
    span = np.asarray(UNCERTAIN_RGB) - rgb  # the colour's way from the bone's to cyan
    shares = ((colours - rgb) @ span) / float(span @ span)
    assert float(shares[near].max()) >= 0.1
    assert float(np.abs(shares[far]).max()) <= 0.02 + COLOUR_TOLERANCE


@then("a translucent cyan region surrounds the voxels within 20 mm of the implant's axis where "
      "the mutual information computed here reaches 0.25 nats, and no other")
def region(context: dict[str, Any]) -> None:
    """Those voxels computed here (distance to the entry-tip segment, the oracle's mutual
    information); every vertex of the region lies within one voxel diagonal of one of them,
    and they all lie within the region's bounds widened by one voxel."""
    shown = context["scene"]["uncertain region"]
    assert shown["colour"] == [*UNCERTAIN_RGB, 0.5]
    vertices = np.asarray(shown["positions"], np.float64).reshape(-1, 3)
    geometry = context["volume"].geometry
    trajectory = context["planned"].plan.trajectory
    entry, tip = trajectory.entry, trajectory.entry + trajectory.length_mm * trajectory.direction
    indices = np.argwhere(context["mutual"] >= 0.25)
    centres = geometry.index_to_lps(indices.astype(np.float64))
    along = np.clip((centres - entry) @ (tip - entry) / float((tip - entry) @ (tip - entry)),
                    0.0, 1.0)
    distance = np.linalg.norm(centres - (entry + along[:, None] * (tip - entry)), axis=1)
    voxels = centres[distance <= 20.0]
    assert len(voxels) >= 100
    diagonal = float(np.linalg.norm(geometry.spacing))
    nearest = np.min(np.linalg.norm(vertices[:, None, :] - voxels[None, :, :], axis=2), axis=1)
    assert float(nearest.max()) <= diagonal
    assert bool(np.all(voxels >= vertices.min(axis=0) - min(geometry.spacing)))
    assert bool(np.all(voxels <= vertices.max(axis=0) + min(geometry.spacing)))


@then("the legend names the mutual information of the ensemble's 2 members, and a yellow marker "
      "stands where the verdict could flip under member-1")
def legend(context: dict[str, Any]) -> None:
    """The legend's text and the flip marker among the scene's objects."""
    html = context["report"].read_text(encoding="utf-8")
    assert "Surfaces tinted by the mutual information of the ensemble&#39;s 2 members" in html
    assert "Translucent cyan region: where the members disagree by 0.25 nats or more within " \
           "20 mm of the implant's axis" in html
    markers = [name for name in context["scene"] if name.startswith("verdict could flip")]
    assert "verdict could flip: vessel (member-1)" in markers
    assert context["scene"]["verdict could flip: vessel (member-1)"]["colour"] == [
        1.0, 0.85, 0.0, 1.0]
