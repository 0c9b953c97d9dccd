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
from corridor.images.segmentation import (
    GEOMETRY_TOLERANCE_MM,
    Segmentation,
    SegmentationMismatchError,
    SegmentCode,
    fit_to_ct,
    read_class_map,
    read_segmentation,
)

__all__ = [
    "GEOMETRY_TOLERANCE_MM",
    "QFORM_DIRECTION_LIMIT",
    "ExportError",
    "ExportFormat",
    "GriddedImage",
    "ImageFileError",
    "LabelMap",
    "ScalarMap",
    "SegmentCode",
    "Segmentation",
    "SegmentationMismatchError",
    "export_volume",
    "fit_to_ct",
    "read_class_map",
    "read_label_map",
    "read_segmentation",
    "write_nifti_ras",
    "write_nrrd_lps",
]
