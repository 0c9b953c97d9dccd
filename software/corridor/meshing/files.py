"""Surface files: binary STL, binary PLY, OBJ and VTP, each stating its frame and units.

STL, PLY and OBJ are written with NumPy (the formats are simple and fully specified
here); VTP with VTK's XML writer.  Every file names its coordinate frame (``LPS``
unless ``--ras`` was asked for) and units (mm) where the format has room for it:
the STL header (``SPACE=LPS UNITS=mm``, the convention 3D Slicer reads), PLY and
OBJ comments, VTP field data.  :func:`read_back` reads STL, PLY and OBJ again with
an independent parser, for the watertight check of what was actually written.
"""

from __future__ import annotations

import struct
from enum import StrEnum
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints, vtkStringArray
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkIOXML import vtkXMLPolyDataReader, vtkXMLPolyDataWriter

from corridor.meshing.errors import MeshingError
from corridor.provenance import software_identity

__all__ = ["Frame", "MeshFormat", "read_back", "write_surface"]


def _version() -> str:
    return software_identity().version


class MeshFormat(StrEnum):
    """Surface file formats."""

    STL = "stl"
    """Binary STL: printable; float32 vertices; the header states frame and units."""
    PLY = "ply"
    """Binary little-endian PLY with shared vertices (float64)."""
    OBJ = "obj"
    """Wavefront OBJ text with shared vertices."""
    VTP = "vtp"
    """VTK XML PolyData (3D Slicer, ParaView)."""


class Frame(StrEnum):
    """The coordinate frame written."""

    LPS = "LPS"
    """DICOM patient frame: +x left, +y posterior, +z superior (Corridor's own)."""
    RAS = "RAS"
    """+x right... as 3D Slicer's world: x and y negated from LPS."""


def _in_frame(points: NDArray[np.float64], frame: Frame) -> NDArray[np.float64]:
    return points * np.array([-1.0, -1.0, 1.0]) if frame is Frame.RAS else points


def _stl(path: Path, points: NDArray[np.float64], triangles: NDArray[np.int64],
         frame: Frame, name: str) -> None:
    header = f"corridor {_version()} {name} SPACE={frame.value} UNITS=mm".encode("ascii",
                                                                                  "replace")
    corners = points[triangles].astype(np.float32)  # (m, 3, 3)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.divide(normals, lengths, out=np.zeros_like(normals), where=lengths > 0)
    record = np.zeros(len(triangles), dtype=[("normal", "<f4", 3), ("corners", "<f4", (3, 3)),
                                              ("attribute", "<u2")])
    record["normal"], record["corners"] = normals, corners
    with path.open("wb") as stream:
        stream.write(header[:80].ljust(80, b" "))
        stream.write(struct.pack("<I", len(triangles)))
        stream.write(record.tobytes())


def _ply(path: Path, points: NDArray[np.float64], triangles: NDArray[np.int64],
         frame: Frame, name: str) -> None:
    header = "\n".join([
        "ply", "format binary_little_endian 1.0",
        f"comment corridor {_version()} {name}", f"comment SPACE={frame.value} UNITS=mm",
        f"element vertex {len(points)}", "property double x", "property double y",
        "property double z", f"element face {len(triangles)}",
        "property list uchar int vertex_indices", "end_header", ""]).encode("ascii", "replace")
    faces = np.zeros(len(triangles), dtype=[("count", "u1"), ("index", "<i4", 3)])
    faces["count"], faces["index"] = 3, triangles
    with path.open("wb") as stream:
        stream.write(header)
        stream.write(np.ascontiguousarray(points, dtype="<f8").tobytes())
        stream.write(faces.tobytes())


def _obj(path: Path, points: NDArray[np.float64], triangles: NDArray[np.int64],
         frame: Frame, name: str) -> None:
    lines = [f"# corridor {_version()} {name}", f"# SPACE={frame.value} UNITS=mm", f"o {name}"]
    lines += [f"v {x!r} {y!r} {z!r}" for x, y, z in points.tolist()]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in triangles.tolist()]
    path.write_text("\n".join(lines) + "\n", encoding="ascii", errors="replace")


def _vtp(path: Path, points: NDArray[np.float64], triangles: NDArray[np.int64],
         frame: Frame, name: str) -> None:
    polydata = vtkPolyData()
    vtk_points = vtkPoints()
    vtk_points.SetData(numpy_to_vtk(np.ascontiguousarray(points), deep=True))
    polydata.SetPoints(vtk_points)
    cells = vtkCellArray()
    offsets = numpy_to_vtkIdTypeArray(np.arange(0, 3 * len(triangles) + 1, 3, dtype=np.int64),
                                      deep=True)
    connectivity = numpy_to_vtkIdTypeArray(np.ascontiguousarray(triangles.ravel()), deep=True)
    cells.SetData(offsets, connectivity)
    polydata.SetPolys(cells)
    for key, value in (("SPACE", frame.value), ("UNITS", "mm"), ("name", name),
                       ("software", f"corridor {_version()}")):
        array = vtkStringArray()
        array.SetName(key)
        array.InsertNextValue(value)
        polydata.GetFieldData().AddArray(array)
    writer = vtkXMLPolyDataWriter()
    writer.SetFileName(str(path))
    writer.SetInputData(polydata)
    writer.SetDataModeToBinary()
    if writer.Write() != 1:
        raise MeshingError("file", str(path), "a VTP file VTK can write")


_WRITERS = {MeshFormat.STL: _stl, MeshFormat.PLY: _ply, MeshFormat.OBJ: _obj,
            MeshFormat.VTP: _vtp}


def write_surface(path: Path, points: NDArray[np.float64], triangles: NDArray[np.int64], *,
                  fmt: MeshFormat, frame: Frame, name: str) -> None:
    """Write one surface (points in LPS mm) in ``fmt``, converted to ``frame``."""
    _WRITERS[fmt](path, _in_frame(points, frame), triangles, frame, name)


def _merge(corners: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Shared vertices from per-triangle corners (exact equality, as STL stores them)."""
    flat = corners.reshape(-1, 3)
    unique, inverse = np.unique(flat, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1, 3).astype(np.int64)


def read_back(path: Path, fmt: MeshFormat) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Points and triangles as stored in a written file (for the watertight check)."""
    if fmt is MeshFormat.STL:
        data = path.read_bytes()
        count = struct.unpack_from("<I", data, 80)[0]
        if len(data) != 84 + 50 * count:
            raise MeshingError("file", f"{path}: {len(data)} bytes",
                               f"{84 + 50 * count} bytes for {count} triangles")
        record = np.frombuffer(data, dtype=[("normal", "<f4", 3), ("corners", "<f4", (3, 3)),
                                            ("attribute", "<u2")], count=count, offset=84)
        return _merge(record["corners"].astype(np.float64))
    if fmt is MeshFormat.PLY:
        data = path.read_bytes()
        end = data.index(b"end_header\n") + len(b"end_header\n")
        header = data[:end].decode("ascii").splitlines()
        counts = {line.split()[1]: int(line.split()[2]) for line in header
                  if line.startswith("element ")}
        vertices, faces = counts["vertex"], counts["face"]
        points = np.frombuffer(data, dtype="<f8", count=3 * vertices,
                               offset=end).reshape(-1, 3)
        records = np.frombuffer(data, dtype=[("count", "u1"), ("index", "<i4", 3)], count=faces,
                                offset=end + 24 * vertices)
        return points.copy(), records["index"].astype(np.int64)
    if fmt is MeshFormat.OBJ:
        points_list, faces_list = [], []
        for line in path.read_text(encoding="ascii").splitlines():
            if line.startswith("v "):
                points_list.append([float(v) for v in line.split()[1:4]])
            elif line.startswith("f "):
                faces_list.append([int(v.split("/")[0]) - 1 for v in line.split()[1:4]])
        return np.asarray(points_list, dtype=np.float64), np.asarray(faces_list, dtype=np.int64)
    reader = vtkXMLPolyDataReader()
    reader.SetFileName(str(path))
    reader.Update()
    polydata = reader.GetOutput()
    points = vtk_to_numpy(polydata.GetPoints().GetData()).astype(np.float64)
    triangles = vtk_to_numpy(polydata.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    return points, triangles.astype(np.int64)
