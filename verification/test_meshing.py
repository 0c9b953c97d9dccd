"""Step definitions of the meshing scenarios (``verification/features/meshing``).

Oracles: the analytic shapes of the phantoms' manifests (volumes, areas by closed forms
or elliptic integrals, exact or first-order distances, parametric surface samples), the
femur phantom's analytic extremes, VTK's own file readers and ``vtkFeatureEdges`` for
what was written, hashlib for the record.
"""

from __future__ import annotations

import hashlib
import json
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when
from scipy import special
from scipy.spatial import cKDTree
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkFiltersCore import vtkFeatureEdges
from vtkmodules.vtkIOGeometry import vtkOBJReader, vtkSTLReader
from vtkmodules.vtkIOPLY import vtkPLYReader
from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap, export_volume
from corridor.meshing import (
    Extractor,
    MeshOptions,
    extract_surface,
    mesh_label_map,
    mesh_quality,
)
from corridor_phantoms import Label, make_phantom, write_series
from verification.command_run import run_corridor
from verification.inference.graphs import threshold_model, write_package

scenarios("meshing")


@dataclass
class Case:
    """What one scenario built and what the commands did."""

    root: Path
    label_map: LabelMap | None = None
    shape_info: dict[str, Any] = field(default_factory=dict)
    points: NDArray[np.float64] | None = None
    triangles: NDArray[np.int64] | None = None
    quality: Any = None
    files: dict[str, Path] = field(default_factory=dict)
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    outs: list[Path] = field(default_factory=list)
    snapshot: dict[str, bytes] = field(default_factory=dict)


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


def _triple(text: str, kind: type = float) -> tuple[Any, Any, Any]:
    values = [kind(v) for v in text.split()]
    return values[0], values[1], values[2]


def _voxel_diagonal(case: Case) -> float:
    assert case.label_map is not None
    return math.sqrt(sum(s * s for s in case.label_map.geometry.spacing))


# Given -------------------------------------------------------------------------------

def _analytic(case: Case, shape_name: str, grid: str, spacing: str, orientation: str) -> None:
    phantom = make_phantom(shape_name, shape=_triple(grid, int), spacing=_triple(spacing),
                           orientation=orientation)
    labels = (np.asarray(phantom.labels) == 1).astype(np.uint8)
    case.label_map = LabelMap(labels, phantom.geometry, ("background", shape_name))
    case.shape_info = dict(phantom.manifest["anatomy"]["objects"][0])


@given(parsers.parse('an analytic "{shape_name}" label map of shape {grid} with spacing '
                     '{spacing} in orientation "{orientation}"'))
def analytic_label_map(case: Case, shape_name: str, grid: str, spacing: str,
                       orientation: str) -> None:
    """The phantom's analytic label, in memory."""
    _analytic(case, shape_name, grid, spacing, orientation)


def _save(case: Case, suffix: str) -> Path:
    assert case.label_map is not None
    path = case.root / f"map{suffix}"
    export_volume(case.label_map, path)
    case.files[suffix] = path
    return path


@given(parsers.parse('an analytic "{shape_name}" label map of shape {grid} with spacing '
                     '{spacing} in orientation "{orientation}", saved as NIfTI'))
def analytic_nifti(case: Case, shape_name: str, grid: str, spacing: str,
                   orientation: str) -> None:
    """The label map written as NIfTI (RAS affine) by the export the pipeline uses."""
    _analytic(case, shape_name, grid, spacing, orientation)
    _save(case, ".nii.gz")


@given(parsers.parse('an analytic "{shape_name}" label map of shape {grid} with spacing '
                     '{spacing} in orientation "{orientation}", saved as NIfTI and as NRRD'))
def analytic_nifti_nrrd(case: Case, shape_name: str, grid: str, spacing: str,
                        orientation: str) -> None:
    """The label map written in both formats."""
    _analytic(case, shape_name, grid, spacing, orientation)
    _save(case, ".nii.gz")
    _save(case, ".nrrd")


@given(parsers.parse('the femur phantom\'s bone as a label map in position "{position}"'))
def femur_bone(case: Case, position: str) -> None:
    """Cortical and cancellous bone of the (left) femur phantom, default field of view."""
    phantom = make_phantom("femur", patient_position=position)
    labels = np.isin(np.asarray(phantom.labels),
                     [Label.CORTICAL_BONE, Label.CANCELLOUS_BONE]).astype(np.uint8)
    case.label_map = LabelMap(labels, phantom.geometry, ("background", "bone"))


@given("a label map holding a plate 3 voxels thick, saved as NIfTI")
def thin_plate(case: Case) -> None:
    """A 30 x 30 x 3 voxel plate in a 40 x 40 x 11 grid, 1 mm voxels."""
    labels = np.zeros((40, 40, 11), np.uint8)
    labels[5:35, 5:35, 4:7] = 1
    geometry = ImageGeometry.from_components(shape=labels.shape, spacing=(1.0, 1.0, 1.0),
                                             direction=np.eye(3), origin=(0.0, 0.0, 0.0))
    case.label_map = LabelMap(labels, geometry, ("background", "plate"))
    _save(case, ".nii.gz")


@given("a label map whose label fills one whole face of the image")
def border_label(case: Case) -> None:
    """A box touching the i = 0 face of the image."""
    labels = np.zeros((20, 24, 16), np.uint8)
    labels[:10, :, 3:12] = 1
    geometry = ImageGeometry.from_components(shape=labels.shape, spacing=(1.0, 1.5, 2.0),
                                             direction=np.eye(3), origin=(5.0, -3.0, 40.0))
    case.label_map = LabelMap(labels, geometry, ("background", "box"))


@given(parsers.parse('an analytic "{shape_name}" label map whose geometry mirrors the i axis'))
def mirrored(case: Case, shape_name: str) -> None:
    """The phantom's labels with i reversed and the affine's i column negated to match."""
    phantom = make_phantom(shape_name, shape=(64, 64, 64), spacing=(1.0, 1.0, 1.0))
    labels = (np.asarray(phantom.labels) == 1).astype(np.uint8)[::-1].copy()
    affine = np.array(phantom.geometry.affine)
    affine[:3, 3] = phantom.geometry.index_to_lps([63, 0, 0])
    affine[:3, 0] = -affine[:3, 0]
    geometry = ImageGeometry(affine, labels.shape)
    assert np.linalg.det(geometry.affine[:3, :3]) < 0
    case.label_map = LabelMap(labels, geometry, ("background", shape_name))
    case.shape_info = dict(phantom.manifest["anatomy"]["objects"][0])


@given("the meshed surface of an analytic sphere")
def sphere_surface(case: Case) -> None:
    """A closed sphere surface made with the default options."""
    _analytic(case, "sphere", "48 48 48", "1.0 1.0 1.0", "axial")
    assert case.label_map is not None
    case.points, case.triangles = extract_surface(case.label_map.labels == 1,
                                                  case.label_map.geometry)


@given("one of its triangles is removed")
def remove_triangle(case: Case) -> None:
    """Cut a hole."""
    assert case.triangles is not None
    case.triangles = np.delete(case.triangles, 0, axis=0)


@given("one of its triangles is wound the other way")
def flip_triangle(case: Case) -> None:
    """Reverse one triangle's vertex order."""
    assert case.triangles is not None
    triangles = case.triangles.copy()
    triangles[0] = triangles[0][::-1]
    case.triangles = triangles


@given(parsers.parse('a file "{name}" that holds {content}'))
def bad_file(case: Case, name: str, content: str) -> None:
    """A float image with fractional values, or plain text."""
    path = case.root / name
    if content == "non-integer values":
        import nibabel
        nibabel.save(nibabel.Nifti1Image(np.full((4, 4, 4), 0.5, np.float32), np.eye(4)), path)
    else:
        path.write_text("not an image\n")
    case.files["bad"] = path


@given("a sphere CT series segmented by corridor infer with a per-voxel threshold model")
def segmented_series(case: Case) -> None:
    """A sphere phantom as DICOM, segmented at 500 HU; keeps the analytic sphere."""
    phantom = make_phantom("sphere", shape=(48, 48, 40), spacing=(1.0, 1.0, 1.25))
    written = write_series(phantom, case.root / "ct")
    package = write_package(case.root / "model", threshold_model(0.5),
                            input_spacing_mm=[1.0, 1.0, 1.0])
    _command(case, ["infer", str(written.out_dir / "dicom"), "--model", str(package),
                    "--out", str(case.root / "segmentation"), "--device", "cpu"])
    assert case.status == 0, case.stderr
    case.files["seg"] = case.root / "segmentation" / "seg.dcm"
    case.shape_info = dict(phantom.manifest["anatomy"]["objects"][0])


# When --------------------------------------------------------------------------------

@when("it is meshed with the default options")
def mesh_default(case: Case) -> None:
    """mesh_label_map with MeshOptions() (QA enforced)."""
    assert case.label_map is not None
    meshed = mesh_label_map(case.label_map, None, MeshOptions())
    assert len(meshed) == 1
    case.points, case.triangles = meshed[0].surface.points, meshed[0].surface.triangles
    case.quality = meshed[0].quality


@when(parsers.parse('it is meshed with the extractor "{extractor}" and no smoothing'))
def mesh_extractor(case: Case, extractor: str) -> None:
    """The extractor alone (no QA gate), so that its raw output can be inspected."""
    assert case.label_map is not None
    case.points, case.triangles = extract_surface(case.label_map.labels == 1,
                                                  case.label_map.geometry,
                                                  extractor=Extractor(extractor), smoothing=0.0)


@when("its quality is checked")
def check_quality(case: Case) -> None:
    """mesh_quality on the (altered) surface."""
    assert case.label_map is not None
    assert case.points is not None
    assert case.triangles is not None
    case.quality = mesh_quality(case.points, case.triangles, case.label_map.labels == 1,
                                case.label_map.geometry)


def _command(case: Case, argv: list[str]) -> None:
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr


def _mesh(case: Case, source: Path, options: str, name: str) -> Path:
    out = case.root / name
    _command(case, ["mesh", str(source), "--out", str(out), *shlex.split(options)])
    case.outs.append(out)
    return out


@when(parsers.parse('I run corridor mesh on it with "{options}"'))
def run_mesh(case: Case, options: str) -> None:
    """``corridor mesh`` on the NIfTI file."""
    _mesh(case, case.files[".nii.gz"], options, "meshes")


@when(parsers.parse('I run corridor mesh on it again with "{options}"'))
def run_mesh_again(case: Case, options: str) -> None:
    """A second run into another folder."""
    _mesh(case, case.files[".nii.gz"], options, "meshes-again")


@when(parsers.parse('I run corridor mesh on each with "{options}"'))
def run_mesh_each(case: Case, options: str) -> None:
    """One run per saved format."""
    for suffix in (".nii.gz", ".nrrd"):
        _mesh(case, case.files[suffix], options, f"meshes{suffix.replace('.', '-')}")
        assert case.status == 0, case.stderr


@when(parsers.parse('I run corridor mesh on its DICOM SEG with "{options}"'))
def run_mesh_seg(case: Case, options: str) -> None:
    """``corridor mesh`` on seg.dcm."""
    _mesh(case, case.files["seg"], options, "meshes")


@when("I run corridor mesh on that file")
def run_mesh_bad(case: Case) -> None:
    """``corridor mesh`` on the bad file."""
    _mesh(case, case.files["bad"], "", "meshes")


@when("I run corridor mesh on it into the same folder")
def run_mesh_same(case: Case) -> None:
    """A second run into the folder of the first."""
    _command(case, ["mesh", str(case.files[".nii.gz"]), "--out", str(case.outs[0])])


# Then: accuracy ------------------------------------------------------------------------

def _analytic_volume_area(info: dict[str, Any]) -> tuple[float, float]:
    kind = info["type"]
    if kind == "sphere":
        r = info["radius_mm"]
        return 4.0 / 3.0 * math.pi * r**3, 4.0 * math.pi * r**2
    if kind == "cylinder":
        r, h = info["radius_mm"], info["half_length_mm"]
        return math.pi * r * r * 2 * h, 2 * math.pi * r * 2 * h + 2 * math.pi * r * r
    a, b, c = sorted(info["semi_axes_mm"], reverse=True)
    phi = math.acos(c / a)
    m = (a * a * (b * b - c * c)) / (b * b * (a * a - c * c))
    area = 2 * math.pi * c * c + 2 * math.pi * a * b / math.sin(phi) * (
        special.ellipeinc(phi, m) * math.sin(phi) ** 2
        + special.ellipkinc(phi, m) * math.cos(phi) ** 2)
    return 4.0 / 3.0 * math.pi * a * b * c, float(area)


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
    volume, _ = _analytic_volume_area(case.shape_info)
    assert abs(case.quality.volume_mm3 / volume - 1) <= 0.01, (case.quality.volume_mm3, volume)


@then("the enclosed volume is positive and within 1 % of the analytic volume")
def volume_positive_within(case: Case) -> None:
    """Normals out despite the mirroring affine."""
    volume, _ = _analytic_volume_area(case.shape_info)
    assert case.quality.volume_mm3 > 0
    assert abs(case.quality.volume_mm3 / volume - 1) <= 0.01


@then("the area is within 3 % of the analytic area")
def area_within(case: Case) -> None:
    """Triangle areas against the closed form (elliptic integrals for the ellipsoid)."""
    _, area = _analytic_volume_area(case.shape_info)
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


# Then: QA ------------------------------------------------------------------------------

@then(parsers.parse("QA reports {count:d} {kind} edges and fails"))
def qa_reports(case: Case, count: int, kind: str) -> None:
    """The named count, and a failed verdict naming it."""
    assert getattr(case.quality, f"{kind}_edges") == count
    assert not case.quality.passed
    assert any(kind in failure for failure in case.quality.failures())


def _edges(points: NDArray[np.float64], triangles: NDArray[np.int64]) -> tuple[int, int, int]:
    directed = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    _pairs, counts = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
    unique_directed = len(np.unique(directed, axis=0))
    return (int(np.count_nonzero(counts == 1)), int(np.count_nonzero(counts > 2)),
            len(directed) - unique_directed)


@then("the surface has boundary edges")
def has_boundary(case: Case) -> None:
    """Edges used once (counted here, independently of the QA module)."""
    assert case.points is not None
    assert case.triangles is not None
    assert _edges(case.points, case.triangles)[0] > 0


@then("the surface is closed, manifold and consistently wound")
def closed_surface(case: Case) -> None:
    """Every edge used twice, once in each direction (counted here)."""
    assert case.points is not None
    assert case.triangles is not None
    assert _edges(case.points, case.triangles) == (0, 0, 0)


# Then: files and command ---------------------------------------------------------------

def _vtk_read(path: Path) -> Any:
    readers = {".stl": vtkSTLReader, ".ply": vtkPLYReader, ".obj": vtkOBJReader,
               ".vtp": vtkXMLPolyDataReader}
    reader = readers[path.suffix]()
    reader.SetFileName(str(path))
    reader.Update()
    return reader.GetOutput()


def _surface_files(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.name != "meshes.json")


@then(parsers.parse("the {fmt} file read back by VTK has no boundary or non-manifold edges "
                    "and the triangle count of the record"))
def vtk_read_back(case: Case, fmt: str) -> None:
    """vtkFeatureEdges on VTK's own reading of the file (STL corners merged by the reader)."""
    out = case.outs[-1]
    record = json.loads((out / "meshes.json").read_text())
    (path,) = _surface_files(out)
    assert path.suffix == f".{fmt}"
    polydata = _vtk_read(path)
    edges = vtkFeatureEdges()
    edges.SetInputData(polydata)
    edges.BoundaryEdgesOn()
    edges.NonManifoldEdgesOn()
    edges.FeatureEdgesOff()
    edges.ManifoldEdgesOff()
    edges.Update()
    assert edges.GetOutput().GetNumberOfCells() == 0
    assert polydata.GetNumberOfCells() == record["surfaces"][0]["triangles"]


@then(parsers.parse('the LPS file\'s header says "{lps}" and the RAS file\'s "{ras}"'))
def stl_headers(case: Case, lps: str, ras: str) -> None:
    """The 80-byte STL headers."""
    first, second = (_surface_files(out)[0] for out in case.outs)
    assert lps in first.read_bytes()[:80].decode("ascii")
    assert ras in second.read_bytes()[:80].decode("ascii")
    assert ".lps." in first.name
    assert ".ras." in second.name


@then("the RAS file's vertices are the LPS file's with x and y negated")
def ras_negated(case: Case) -> None:
    """Read both with VTK; compare point for point."""
    first, second = (_surface_files(out)[0] for out in case.outs)
    lps = vtk_to_numpy(_vtk_read(first).GetPoints().GetData())
    ras = vtk_to_numpy(_vtk_read(second).GetPoints().GetData())
    assert np.allclose(ras, lps * np.array([-1.0, -1.0, 1.0]), atol=1e-5)


@then("the two surfaces' vertices agree within 1e-4 mm")
def same_surface(case: Case) -> None:
    """Same vertex count and positions (after sorting) from the NIfTI and NRRD inputs."""
    first, second = (vtk_to_numpy(_vtk_read(_surface_files(out)[0]).GetPoints().GetData())
                     for out in case.outs)
    assert first.shape == second.shape
    order_a, order_b = np.lexsort(first.T[::-1]), np.lexsort(second.T[::-1])
    assert np.allclose(first[order_a], second[order_b], atol=1e-4)


def _enclosed(polydata: Any) -> float:
    points = vtk_to_numpy(polydata.GetPoints().GetData()).astype(np.float64)
    triangles = vtk_to_numpy(polydata.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    a, b, c = (points[triangles[:, n]] for n in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


@then(parsers.parse("the surface encloses the analytic sphere's volume within {percent:d} % "
                    "and is centred on it within 0.5 mm"))
def seg_volume(case: Case, percent: int) -> None:
    """Volume and centroid of the VTP read by VTK against 4/3 pi r^3 and the sphere's LPS
    centre (a SEG read with a flipped or shifted geometry would fail the second)."""
    (path,) = _surface_files(case.outs[-1])
    polydata = _vtk_read(path)
    volume = _enclosed(polydata)
    expected = 4.0 / 3.0 * math.pi * case.shape_info["radius_mm"] ** 3
    assert abs(volume / expected - 1) <= percent / 100, (volume, expected)
    points = vtk_to_numpy(polydata.GetPoints().GetData()).astype(np.float64)
    triangles = vtk_to_numpy(polydata.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    a, b, c = (points[triangles[:, n]] for n in range(3))
    weights = np.einsum("ij,ij->i", a, np.cross(b, c))
    centroid = ((a + b + c) / 4.0 * weights[:, np.newaxis]).sum(axis=0) / weights.sum()
    assert np.linalg.norm(centroid - np.asarray(case.shape_info["centre_lps_mm"])) <= 0.5


@then(parsers.parse("the command exits with status {status:d}"))
def exit_status(case: Case, status: int) -> None:
    """The command's exit status."""
    assert case.status == status, case.stdout + case.stderr


@then(parsers.parse('it prints "{text}"'))
def prints(case: Case, text: str) -> None:
    """The text appears in the command's output."""
    assert text in case.stdout + case.stderr, case.stdout + case.stderr


@then("no output folder exists")
def no_output(case: Case) -> None:
    """Nothing at the output path, and no staging folder left."""
    assert not case.outs[-1].exists()
    assert not [p for p in case.root.iterdir() if p.name.startswith(".meshes")]


@then("every file in meshes.json has the SHA-256 of the file written")
def record_hashes(case: Case) -> None:
    """Hashes computed here; every surface file is listed."""
    out = case.outs[0]
    record = json.loads((out / "meshes.json").read_text())
    assert {s["file"] for s in record["surfaces"]} == {p.name for p in _surface_files(out)}
    for surface in record["surfaces"]:
        assert hashlib.sha256((out / surface["file"]).read_bytes()).hexdigest() == \
            surface["sha256"]
    assert record["frame"] == "LPS"
    assert record["units"] == "mm"
    assert record["source"]["sha256"] == hashlib.sha256(
        case.files[".nii.gz"].read_bytes()).hexdigest()
    case.snapshot = {p.name: p.read_bytes() for p in out.iterdir()}


@then("the folder still holds only the first run's files")
def folder_untouched(case: Case) -> None:
    """Same names, same bytes."""
    out = case.outs[0]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == case.snapshot


@then("the two runs' surface files are identical")
def identical_runs(case: Case) -> None:
    """Byte for byte (threaded VTK filters must not change the output)."""
    first, second = (_surface_files(out) for out in case.outs)
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
