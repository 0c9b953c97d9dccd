"""DICOM Segmentation (SEG) of a label map, referencing the CT series it was inferred from.

Written with highdicom as a BINARY segmentation with one segment per non-background
label, frames aligned with the source CT images (the label map is on the CT's own
grid), so 3D Slicer (QuantitativeReporting) and other viewers place it on the CT.
"""

from __future__ import annotations

from pathlib import Path

import highdicom
import numpy as np
import pydicom
from highdicom.sr.coding import CodedConcept as HighdicomConcept
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian

from corridor.images import LabelMap
from corridor.inference.errors import InferenceError, InferenceInputError
from corridor.inference.manifest import CodedConcept, ModelManifest
from corridor.ingest.model import Volume
from corridor.provenance import software_identity

__all__ = ["segmentation_dataset", "write_segmentation"]

_MANUFACTURER = "Corridor project"
_SERIES_NUMBER = 9001
"""Series Number of the SEG series (distinct from scanner numbering, which starts low)."""


def _concept(code: CodedConcept) -> HighdicomConcept:
    return HighdicomConcept(value=code.value, scheme_designator=code.scheme, meaning=code.meaning)


def segmentation_dataset(label_map: LabelMap, volume: Volume,
                         manifest: ModelManifest) -> pydicom.Dataset:
    """The DICOM SEG of ``label_map``, referencing the files ``volume`` was loaded from.

    Raises
    ------
    InferenceInputError
        The source files cannot be read again (moved or deleted during the run).
    InferenceError
        The label map is not on the grid of ``volume`` (``seg``).
    """
    if not label_map.geometry.same_as(volume.geometry):
        raise InferenceError("seg", "the label map is not on the CT's grid",
                             expected="the geometry of the volume it was inferred from")
    sources = []
    for source in volume.sources:
        try:
            sources.append(pydicom.dcmread(source.path, stop_before_pixels=True))
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            raise InferenceInputError("seg", f"cannot read the source image {source.path} "
                                      f"again: {exc}", expected="the files ingest used, "
                                      "unchanged until the run ends") from exc
    algorithm = highdicom.AlgorithmIdentificationSequence(
        name=manifest.name, version=manifest.version,
        family=codes.cid7162.ArtificialIntelligence,
        source="Corridor model package", parameters={"sha256": manifest.sha256})
    descriptions = [
        highdicom.seg.SegmentDescription(
            segment_number=entry.index, segment_label=entry.name,
            segmented_property_category=_concept(entry.category),
            segmented_property_type=_concept(entry.type),
            algorithm_type=highdicom.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm)
        for entry in manifest.labels[1:] if entry.category is not None and entry.type is not None
    ]
    frames = np.ascontiguousarray(label_map.labels.transpose(2, 1, 0))  # (k, j, i) = frames
    return highdicom.seg.Segmentation(
        source_images=sources, pixel_array=frames,
        segmentation_type=highdicom.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=highdicom.UID(), series_number=_SERIES_NUMBER,
        sop_instance_uid=highdicom.UID(), instance_number=1,
        manufacturer=_MANUFACTURER, manufacturer_model_name="corridor infer",
        software_versions=f"corridor {software_identity().version}", device_serial_number="none",
        series_description=f"{manifest.name} {manifest.version}"[:64],
        transfer_syntax_uid=ExplicitVRLittleEndian,
        content_label="CORRIDOR", content_description="automatic segmentation"[:64])


def write_segmentation(dataset: pydicom.Dataset, path: Path) -> None:
    """Save a SEG dataset to ``path`` (the caller makes the write atomic)."""
    dataset.save_as(path, enforce_file_format=True)
