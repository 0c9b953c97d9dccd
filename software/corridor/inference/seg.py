"""DICOM Segmentation (SEG) of a label map, referencing the CT series it was inferred from.

Written with highdicom as a BINARY segmentation with one segment per non-background
label, frames aligned with the source CT images (the label map is on the CT's own
grid), so 3D Slicer (QuantitativeReporting) and other viewers place it on the CT.

The SEG copies the patient and study identification from the source images, never
inventing it.  Anonymised and exported series often lack some of it: an absent Type 2
attribute is written empty, as the standard allows, and an absent Slice Thickness is
replaced by the label map's distance between slice planes; each is listed in
:attr:`DicomSeg.absent` for the run record.  The attributes that place the SEG in the
patient's study and frame of reference (Type 1 in the SEG) are never invented: a series
lacking one is refused.  The source files are read again into memory and only those
copies are completed; nothing is written to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highdicom
import numpy as np
import pydicom
from highdicom.sr.coding import CodedConcept as HighdicomConcept
from pydicom.datadict import dictionary_description
from pydicom.sr.codedict import codes
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap
from corridor.inference.errors import InferenceError, InferenceInputError
from corridor.inference.manifest import CodedConcept, ModelManifest
from corridor.ingest.model import Volume
from corridor.provenance import software_identity

__all__ = ["SEG_REQUIRED_SOURCE_ATTRIBUTES", "SEG_TYPE2_SOURCE_ATTRIBUTES", "AbsentAttribute",
           "DicomSeg", "segmentation_dataset", "write_segmentation"]

_MANUFACTURER = "Corridor project"
_SERIES_NUMBER = 9001
"""Series Number of the SEG series (distinct from scanner numbering, which starts low)."""

SEG_REQUIRED_SOURCE_ATTRIBUTES = ("StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID",
                                  "SOPInstanceUID", "FrameOfReferenceUID")
"""Attributes the SEG takes from every source image and that are Type 1 in it: they file it
in the CT's study and place it in the CT's frame of reference, and its references name the
images by them.  Never invented; one value of each study and frame of reference UID."""

SEG_TYPE2_SOURCE_ATTRIBUTES = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                               "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
                               "AccessionNumber")
"""Patient and General Study module attributes the SEG copies from its source, Type 2 in
it: written empty where the source lacks them (never invented, so that an archive never
files the SEG under another patient by a made-up value)."""

_SLICE_THICKNESS = "SliceThickness"
"""Type 2 in the CT image, Type 1C in the SEG's Pixel Measures (required there)."""


def _named(keyword: str) -> str:
    """``Patient's Birth Date (0010,0030)``."""
    tag = Tag(keyword)
    return f"{dictionary_description(tag)} {tag}"


@dataclass(frozen=True, slots=True)
class AbsentAttribute:
    """An attribute the SEG copies from the source images that some of them lack.

    Attributes
    ----------
    keyword
        The DICOM keyword (``PatientBirthDate``).
    images_lacking
        How many of the source images lack it: absent (an empty Type 2 value is the
        source's own and counts as present), or for Slice Thickness absent or empty.
    images
        How many source images there are.
    written
        What the SEG holds instead, in words (``written empty in the SEG (Type 2 there)``).
    """

    keyword: str
    images_lacking: int
    images: int
    written: str

    def to_json(self) -> dict[str, Any]:
        """``keyword``, ``tag``, ``name``, ``images_lacking``, ``images``, ``written``."""
        tag = Tag(self.keyword)
        return {"keyword": self.keyword, "tag": str(tag), "name": dictionary_description(tag),
                "images_lacking": self.images_lacking, "images": self.images,
                "written": self.written}


@dataclass(frozen=True, slots=True, eq=False)
class DicomSeg:
    """A SEG dataset and the source attributes it was made without.

    Attributes
    ----------
    dataset
        The SEG, ready to save.
    absent
        Every attribute the SEG copies from its source that some source image lacks, in
        the order of :data:`SEG_TYPE2_SOURCE_ATTRIBUTES`, then Slice Thickness.
    """

    dataset: pydicom.Dataset
    absent: tuple[AbsentAttribute, ...]


def _concept(code: CodedConcept) -> HighdicomConcept:
    return HighdicomConcept(value=code.value, scheme_designator=code.scheme, meaning=code.meaning)


def _present(dataset: pydicom.Dataset, keyword: str) -> bool:
    return keyword in dataset and dataset[keyword].value not in (None, "")


def _check_required(sources: Sequence[pydicom.Dataset]) -> None:
    """Refuse a series lacking, or disagreeing on, an attribute the SEG cannot invent."""
    for keyword in SEG_REQUIRED_SOURCE_ATTRIBUTES:
        lacking = sum(not _present(ds, keyword) for ds in sources)
        if lacking:
            raise InferenceInputError(
                "seg-source", f"the source images lack {_named(keyword)}, which the DICOM SEG "
                "must take from them (Type 1: it files the SEG in the CT's study and frame of "
                "reference and names the images it segments); it is never invented",
                found=f"absent or empty in {lacking} of {len(sources)} images",
                expected="it in every image of the series (corridor infer --no-seg writes the "
                         "other outputs without a SEG)")
    for keyword in ("StudyInstanceUID", "FrameOfReferenceUID"):
        values = sorted({str(ds[keyword].value) for ds in sources})
        if len(values) > 1:
            raise InferenceInputError(
                "seg-source", f"the source images disagree on {_named(keyword)}; a SEG "
                "belongs to one study and one frame of reference", found=f"{len(values)} values",
                expected="one value in every image of the series")


def _fill_type2(sources: Sequence[pydicom.Dataset]) -> list[AbsentAttribute]:
    """Add each absent Type 2 attribute, empty, to the in-memory copies; list what was added."""
    absent = []
    for keyword in SEG_TYPE2_SOURCE_ATTRIBUTES:
        lacking = [ds for ds in sources if keyword not in ds]
        for ds in lacking:
            setattr(ds, keyword, "")
        if lacking:
            absent.append(AbsentAttribute(keyword, len(lacking), len(sources),
                                          "written empty in the SEG (Type 2 there)"))
    return absent


def _slice_plane_distance_mm(geometry: ImageGeometry) -> float:
    """Distance between neighbouring slice planes (mm): the k step along the planes' normal."""
    affine = geometry.affine
    normal = np.cross(affine[:3, 0], affine[:3, 1])
    return float(abs(np.dot(affine[:3, 2], normal / np.linalg.norm(normal))))


def segmentation_dataset(label_map: LabelMap, volume: Volume,
                         manifest: ModelManifest) -> DicomSeg:
    """The DICOM SEG of ``label_map``, referencing the files ``volume`` was loaded from.

    Patient and study attributes are copied from the source images; those of
    :data:`SEG_TYPE2_SOURCE_ATTRIBUTES` that the images lack are written empty, and an
    absent or empty Slice Thickness becomes the distance between the label map's slice
    planes; :attr:`DicomSeg.absent` lists each.  The files are not modified.

    Raises
    ------
    InferenceInputError
        The source files cannot be read again (moved or deleted during the run), or they
        lack or disagree on an attribute of :data:`SEG_REQUIRED_SOURCE_ATTRIBUTES`
        (``seg-source``).
    InferenceError
        The label map is not on the grid of ``volume`` (``seg``).
    """
    if not label_map.geometry.same_as(volume.geometry):
        raise InferenceError("seg", "the label map is not on the CT's grid",
                             expected="the geometry of the volume it was inferred from")
    sources = []
    for source in dict.fromkeys(volume.sources):  # an Enhanced CT file serves every slice
        try:
            sources.append(pydicom.dcmread(source.path, stop_before_pixels=True))  # a copy
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            raise InferenceInputError("seg", f"cannot read the source image {source.path} "
                                      f"again: {exc}", expected="the files ingest used, "
                                      "unchanged until the run ends") from exc
    _check_required(sources)
    absent = _fill_type2(sources)
    planes = _planes(volume, len(sources))
    lacking_thickness = [ds for ds in sources if not _present(ds, _SLICE_THICKNESS)]
    if lacking_thickness and not planes:  # the SEG's own pixel measures state it otherwise
        # highdicom takes the SEG's Pixel Measures from the first source image, always
        thickness = f"{_slice_plane_distance_mm(volume.geometry):.10g}"  # DS: 16 at most
        for ds in lacking_thickness:
            ds.SliceThickness = thickness
        absent.append(AbsentAttribute(
            _SLICE_THICKNESS, len(lacking_thickness), len(sources),
            f"written as {thickness} mm in the SEG's Pixel Measures (Type 1C there), the "
            "distance between the label map's slice planes"))
    algorithm = highdicom.AlgorithmIdentificationSequence(
        name=manifest.name, version=manifest.version,
        family=codes.cid7162.ArtificialIntelligence,
        source="Corridor model package", parameters={"sha256": manifest.identity_sha256})
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
    dataset = highdicom.seg.Segmentation(
        source_images=sources, pixel_array=frames, **planes,
        segmentation_type=highdicom.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=highdicom.UID(), series_number=_SERIES_NUMBER,
        sop_instance_uid=highdicom.UID(), instance_number=1,
        manufacturer=_MANUFACTURER, manufacturer_model_name="corridor infer",
        software_versions=f"corridor {software_identity().version}", device_serial_number="none",
        series_description=f"{manifest.name} {manifest.version}"[:64],
        transfer_syntax_uid=ExplicitVRLittleEndian,
        content_label="CORRIDOR", content_description="automatic segmentation"[:64])
    return DicomSeg(dataset, tuple(absent))


def _planes(volume: Volume, source_count: int) -> dict[str, Any]:
    """The SEG frames' own plane positions, orientation and pixel measures, where its frames
    are not the source images one for one (an Enhanced CT file, or a regularised volume);
    otherwise nothing (highdicom takes them from the source images, frame k from image k)."""
    if volume.regularization is None and source_count == len(volume.sources):
        return {}
    geometry = volume.geometry
    affine = geometry.affine
    spacing_i, spacing_j, spacing_k = geometry.spacing
    cosines = np.concatenate([affine[:3, 0] / spacing_i, affine[:3, 1] / spacing_j])
    patient = highdicom.CoordinateSystemNames.PATIENT
    thickness = _slice_plane_distance_mm(geometry)
    return {
        "plane_positions": [
            highdicom.PlanePositionSequence(
                patient, [float(v) for v in geometry.index_to_lps((0.0, 0.0, k))])
            for k in range(geometry.shape[2])],
        "plane_orientation": highdicom.PlaneOrientationSequence(patient, cosines.tolist()),
        "pixel_measures": highdicom.PixelMeasuresSequence(
            pixel_spacing=[spacing_j, spacing_i], slice_thickness=thickness,
            spacing_between_slices=spacing_k),
    }


def write_segmentation(dataset: pydicom.Dataset, path: Path) -> None:
    """Save a SEG dataset to ``path`` (the caller makes the write atomic)."""
    dataset.save_as(path, enforce_file_format=True)
