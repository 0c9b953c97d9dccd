"""Meshing: one closed, QA-checked surface per label, in patient LPS millimetres."""

from corridor.meshing.api import (
    MeshedLabel,
    MeshOptions,
    MeshResult,
    mesh_label_map,
    write_meshes,
)
from corridor.meshing.errors import MeshingError, MeshQualityError
from corridor.meshing.extract import Extractor, extract_surface
from corridor.meshing.files import Frame, MeshFormat, read_back, write_surface
from corridor.meshing.model import MeshQuality, Surface
from corridor.meshing.quality import mesh_quality

__all__ = [
    "Extractor",
    "Frame",
    "MeshFormat",
    "MeshOptions",
    "MeshQuality",
    "MeshQualityError",
    "MeshResult",
    "MeshedLabel",
    "MeshingError",
    "Surface",
    "extract_surface",
    "mesh_label_map",
    "mesh_quality",
    "read_back",
    "write_meshes",
    "write_surface",
]
