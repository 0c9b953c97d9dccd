"""Step definitions of ``verification/features/meshing/files.feature``.

Verifies the written surface files: every format closed and complete as written, the STL
header's frame and units, ``--ras``, NIfTI and NRRD inputs giving the same surface, a DICOM
SEG meshed in place, refused inputs, the record's hashes, a used folder refused, and
reproducible output.

Oracles: VTK's own file readers and ``vtkFeatureEdges`` for what was written, the analytic
sphere of the phantom's manifest, and hashlib for the record.  The NIfTI and NRRD inputs are
written with nibabel and pynrrd directly (``helpers.save_label_map``), never with Corridor's
own writers, so that NIfTI and NRRD giving the same surface is checked on independent files.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from pytest_bdd import given, parsers, scenarios, then, when
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkFiltersCore import vtkFeatureEdges
from vtkmodules.vtkIOGeometry import vtkOBJReader, vtkSTLReader
from vtkmodules.vtkIOPLY import vtkPLYReader
from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

from corridor_phantoms import make_phantom, write_series
from verification.inference.graphs import threshold_model, write_package
from verification.meshing.helpers import Case, analytic_map, mesh_into, run_command, save_label_map

scenarios("meshing/files.feature")


@given(parsers.parse('an analytic "{shape_name}" label map of shape {grid} with spacing '
                     '{spacing} in orientation "{orientation}", saved as NIfTI'))
def analytic_nifti(case: Case, shape_name: str, grid: str, spacing: str,
                   orientation: str) -> None:
    """The label map written as NIfTI (RAS affine) with nibabel, not Corridor's writer."""
    analytic_map(case, shape_name, grid, spacing, orientation)
    save_label_map(case, ".nii.gz")


@given(parsers.parse('an analytic "{shape_name}" label map of shape {grid} with spacing '
                     '{spacing} in orientation "{orientation}", saved as NIfTI and as NRRD'))
def analytic_nifti_nrrd(case: Case, shape_name: str, grid: str, spacing: str,
                        orientation: str) -> None:
    """The label map written in both formats, with nibabel and pynrrd directly."""
    analytic_map(case, shape_name, grid, spacing, orientation)
    save_label_map(case, ".nii.gz")
    save_label_map(case, ".nrrd")


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
    run_command(case, ["infer", str(written.out_dir / "dicom"), "--model", str(package),
                       "--out", str(case.root / "segmentation"), "--device", "cpu"])
    assert case.status == 0, case.stderr
    case.files["seg"] = case.root / "segmentation" / "seg.dcm"
    case.shape_info = dict(phantom.manifest["anatomy"]["objects"][0])


@when(parsers.parse('I run corridor mesh on it again with "{options}"'))
def run_mesh_again(case: Case, options: str) -> None:
    """A second run into another folder."""
    mesh_into(case, case.files[".nii.gz"], options, "meshes-again")


@when(parsers.parse('I run corridor mesh on each with "{options}"'))
def run_mesh_each(case: Case, options: str) -> None:
    """One run per saved format."""
    for suffix in (".nii.gz", ".nrrd"):
        mesh_into(case, case.files[suffix], options, f"meshes{suffix.replace('.', '-')}")
        assert case.status == 0, case.stderr


@when(parsers.parse('I run corridor mesh on its DICOM SEG with "{options}"'))
def run_mesh_seg(case: Case, options: str) -> None:
    """``corridor mesh`` on seg.dcm."""
    mesh_into(case, case.files["seg"], options, "meshes")


@when("I run corridor mesh on that file")
def run_mesh_bad(case: Case) -> None:
    """``corridor mesh`` on the bad file."""
    mesh_into(case, case.files["bad"], "", "meshes")


@when("I run corridor mesh on it into the same folder")
def run_mesh_same(case: Case) -> None:
    """A second run into the folder of the first."""
    run_command(case, ["mesh", str(case.files[".nii.gz"]), "--out", str(case.outs[0])])


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
