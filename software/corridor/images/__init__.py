"""Gridded images and their files: label maps and scalar maps with their geometry, written to
NIfTI-1 (RAS) and NRRD (LPS), read from NIfTI, NRRD and DICOM SEG.

Below every stage: ingest, inference, meshing and planning use these values and files; this
package imports only :mod:`corridor.geometry`, :mod:`corridor.staging`,
:mod:`corridor.provenance` and SOUP.
"""

from corridor.images.errors import ExportError, ImageFileError
from corridor.images.export import (
    QFORM_DIRECTION_LIMIT,
    ExportFormat,
    export_volume,
    write_nifti_ras,
    write_nrrd_lps,
)
from corridor.images.model import GriddedImage, LabelMap, ScalarMap
from corridor.images.readers import read_label_map

__all__ = [
    "QFORM_DIRECTION_LIMIT",
    "ExportError",
    "ExportFormat",
    "GriddedImage",
    "ImageFileError",
    "LabelMap",
    "ScalarMap",
    "export_volume",
    "read_label_map",
    "write_nifti_ras",
    "write_nrrd_lps",
]
