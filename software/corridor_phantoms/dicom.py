"""DICOM objects of a phantom series: CT Image, Enhanced CT Image and Basic Text SR.

Every object is built by pydicom with the modules its IOD requires for Corridor's
tests (Patient, General Study, General Series, Frame of Reference, General
Equipment, General Image, Image Plane or the Multi-frame Functional Groups, Image
Pixel, CT Image) and serialised with a File Meta Information header
(``enforce_file_format=True``).  Nothing depends on the clock: the same inputs
give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels.encoders.base import get_encoder
from pydicom.tag import Tag
from pydicom.uid import (
    UID,
    BasicTextSRStorage,
    CTImageStorage,
    EnhancedCTImageStorage,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)
from pydicom.valuerep import format_number_as_ds

from corridor import __version__
from corridor_phantoms.enum import TransferSyntax
from corridor_phantoms.errors import EncoderUnavailableError, PhantomError
from corridor_phantoms.model import PADDING_HU

__all__ = [
    "MIN_JPEG2000_SIZE",
    "PIXEL_PADDING_VALUE",
    "RESCALE_INTERCEPT",
    "Image",
    "SeriesHeader",
    "basic_text_sr",
    "ct_image",
    "enhanced_ct_image",
    "require_encodable",
    "serialise",
    "transfer_syntax_uid",
]

RESCALE_INTERCEPT = -1024
"""Rescale Intercept of every image (slope 1, type HU): stored value = HU + 1024."""

PIXEL_PADDING_VALUE = PADDING_HU - RESCALE_INTERCEPT
"""Stored Pixel Padding Value (-2000, signed): HU -3024, which no anatomy voxel takes."""

STUDY_DATE, STUDY_TIME = "20000101", "120000"
"""Fixed, obviously synthetic date and time of every object (no clock, so identical bytes)."""

MIN_JPEG2000_SIZE = 32
"""Fewest rows and columns pylibjpeg-openjpeg can encode: it always uses 6 resolution levels,
and OpenJPEG needs 2**(6 - 1) pixels along each side."""

_SYNTAX_UID = {
    TransferSyntax.EXPLICIT_LITTLE_ENDIAN: ExplicitVRLittleEndian,
    TransferSyntax.RLE: RLELossless,
    TransferSyntax.JPEG2000_LOSSLESS: JPEG2000Lossless,
    TransferSyntax.JPEGLS_LOSSLESS: JPEGLSLossless,
}

_ENCODER_PLUGIN = {
    TransferSyntax.RLE: ("pydicom", "pydicom (its own RLE encoder)"),
    TransferSyntax.JPEG2000_LOSSLESS: ("pylibjpeg", "pylibjpeg and pylibjpeg-openjpeg"),
    TransferSyntax.JPEGLS_LOSSLESS: ("pyjpegls", "pyjpegls"),
}
"""pydicom encoding plugin used for each compressed syntax, and the package providing it."""


def transfer_syntax_uid(syntax: TransferSyntax) -> str:
    """The Transfer Syntax UID of ``syntax``."""
    return str(_SYNTAX_UID[syntax])


def require_encodable(syntax: TransferSyntax, rows: int, columns: int) -> None:
    """Check that images of ``rows`` x ``columns`` can be encoded in ``syntax``.

    Raises
    ------
    EncoderUnavailableError
        The encoder is not installed (names the package to install).
    PhantomError
        JPEG 2000 with fewer than :data:`MIN_JPEG2000_SIZE` rows or columns.
    """
    if syntax is TransferSyntax.EXPLICIT_LITTLE_ENDIAN:
        return
    if syntax is TransferSyntax.JPEG2000_LOSSLESS and min(rows, columns) < MIN_JPEG2000_SIZE:
        raise PhantomError("shape", f"{columns} x {rows} (i x j) pixels a slice",
                           f"at least {MIN_JPEG2000_SIZE} x {MIN_JPEG2000_SIZE} for "
                           "jpeg2000-lossless (pylibjpeg-openjpeg encodes 6 wavelet levels)")
    plugin, package = _ENCODER_PLUGIN[syntax]
    encoder = get_encoder(_SYNTAX_UID[syntax])
    if plugin not in encoder.available_plugins:
        missing = "; ".join(encoder.missing_dependencies) or "no encoder plugin is available"
        raise EncoderUnavailableError(syntax.value, package, f"pydicom reports: {missing}")


def _ds(value: float) -> str:
    """A Decimal String of at most 16 characters; values below 1e-12 in size are written 0."""
    return format_number_as_ds(0.0 if abs(value) < 1e-12 else float(value))


def _ds_list(values: Sequence[float]) -> list[str]:
    return [_ds(v) for v in values]


@dataclass(frozen=True, slots=True)
class SeriesHeader:
    """The attributes shared by every object of one series.

    Attributes
    ----------
    study_instance_uid, series_instance_uid, frame_of_reference_uid
        The UIDs.
    series_number
        Series Number.
    series_description
        Series Description.
    patient_name, patient_id
        Synthetic patient identity (``PHANTOM^PELVIS``, ``PHANTOM-0000``).
    patient_position
        Patient Position (``HFS`` …).
    gantry_tilt_deg
        Gantry/Detector Tilt.
    slice_thickness_mm
        Slice Thickness: the distance between slice planes.
    reconstruction_diameter_mm
        Diameter of the reconstruction field of view (outside it, pixels are padding).
    """

    study_instance_uid: str
    series_instance_uid: str
    frame_of_reference_uid: str
    series_number: int
    series_description: str
    patient_name: str
    patient_id: str
    patient_position: str
    gantry_tilt_deg: float
    slice_thickness_mm: float
    reconstruction_diameter_mm: float


@dataclass(frozen=True, slots=True)
class Image:
    """One image (a slice, a frame or a localizer) and where it lies.

    Attributes
    ----------
    pixels
        Stored values (int16), ``[row, column]`` (a CT slice's ``hu[:, :, k].T``
        minus the rescale intercept).
    image_position_patient
        LPS mm of the centre of the first pixel (row 0, column 0).
    image_orientation_patient
        Unit vectors along a row (increasing column) and down a column
        (increasing row), six values.
    pixel_spacing
        mm between rows, then between columns (DICOM order).
    instance_number
        Instance Number (or, in a multi-frame object, In-Stack Position Number).
    """

    pixels: NDArray[np.int16]
    image_position_patient: tuple[float, float, float]
    image_orientation_patient: tuple[float, float, float, float, float, float]
    pixel_spacing: tuple[float, float]
    instance_number: int


def _file_meta(sop_class_uid: str, sop_instance_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def _common(header: SeriesHeader, sop_class_uid: str, sop_instance_uid: str,
            modality: str) -> Dataset:
    """SOP Common, Patient, General Study, General Series and General Equipment."""
    ds = Dataset()
    ds.file_meta = _file_meta(sop_class_uid, sop_instance_uid)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = sop_instance_uid
    ds.InstanceCreationDate = STUDY_DATE
    ds.InstanceCreationTime = STUDY_TIME
    ds.StudyDate = STUDY_DATE
    ds.SeriesDate = STUDY_DATE
    ds.ContentDate = STUDY_DATE
    ds.StudyTime = STUDY_TIME
    ds.SeriesTime = STUDY_TIME
    ds.ContentTime = STUDY_TIME
    ds.AccessionNumber = ""
    ds.Modality = modality
    ds.Manufacturer = "Corridor synthetic phantoms"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "Synthetic phantom"
    ds.SeriesDescription = header.series_description
    ds.ManufacturerModelName = "corridor_phantoms"
    ds.PatientName = header.patient_name
    ds.PatientID = header.patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.PatientComments = "Synthetic phantom generated by software; not patient data."
    ds.DeviceSerialNumber = "PHANTOM"
    ds.SoftwareVersions = f"corridor {__version__}"
    ds.StudyInstanceUID = header.study_instance_uid
    ds.SeriesInstanceUID = header.series_instance_uid
    ds.StudyID = "PHANTOM"
    ds.SeriesNumber = header.series_number
    return ds


def _image_common(ds: Dataset, header: SeriesHeader, instance_number: int) -> None:
    """Frame of Reference, CT acquisition attributes and Image Pixel description (no data)."""
    ds.PatientPosition = header.patient_position
    ds.FrameOfReferenceUID = header.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.InstanceNumber = instance_number
    ds.AcquisitionNumber = 1
    ds.KVP = "120"
    ds.GantryDetectorTilt = _ds(header.gantry_tilt_deg)
    ds.ReconstructionDiameter = _ds(header.reconstruction_diameter_mm)
    ds.ConvolutionKernel = "STANDARD"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.add_new(Tag(0x0028, 0x0120), "SS", PIXEL_PADDING_VALUE)


def _rescale(ds: Dataset) -> None:
    ds.RescaleIntercept = _ds(RESCALE_INTERCEPT)
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"


def _window(ds: Dataset) -> None:
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"


def ct_image(header: SeriesHeader, image: Image, sop_instance_uid: str,
             image_type: Sequence[str]) -> Dataset:
    """A CT Image Storage object (single frame), pixel data not yet attached.

    Parameters
    ----------
    header
        The series' shared attributes.
    image
        Pixels and plane.
    sop_instance_uid
        SOP Instance UID.
    image_type
        Image Type, e.g. ``ORIGINAL\\PRIMARY\\AXIAL`` or ``…\\LOCALIZER``.
    """
    ds = _common(header, CTImageStorage, sop_instance_uid, "CT")
    _image_common(ds, header, image.instance_number)
    ds.ImageType = list(image_type)
    ds.ImagePositionPatient = _ds_list(image.image_position_patient)
    ds.ImageOrientationPatient = _ds_list(image.image_orientation_patient)
    ds.PixelSpacing = _ds_list(image.pixel_spacing)
    ds.SliceThickness = _ds(header.slice_thickness_mm)
    rows, columns = image.pixels.shape
    ds.Rows = rows
    ds.Columns = columns
    _rescale(ds)
    _window(ds)
    return ds


def enhanced_ct_image(header: SeriesHeader, frames: Sequence[Image], sop_instance_uid: str,
                      image_type: Sequence[str], instance_number: int) -> Dataset:
    """An Enhanced CT Image Storage object (multi-frame), pixel data not yet attached.

    Orientation, pixel spacing, slice thickness and rescale are in the Shared
    Functional Groups (Pixel Measures, Plane Orientation, Pixel Value
    Transformation, CT Image Frame Type, Frame VOI LUT); each frame's position and
    stack position in the Per-Frame Functional Groups (Plane Position, Frame
    Content).  The frames must share orientation, spacing and size.

    Parameters
    ----------
    header
        The series' shared attributes.
    frames
        The frames in the order they are stored.
    sop_instance_uid
        SOP Instance UID.
    image_type
        Four values, e.g. ``ORIGINAL\\PRIMARY\\AXIAL\\NONE``.
    instance_number
        Instance Number.
    """
    first = frames[0]
    ds = _common(header, EnhancedCTImageStorage, sop_instance_uid, "CT")
    _image_common(ds, header, instance_number)
    ds.ImageType = list(image_type)
    ds.AcquisitionDateTime = STUDY_DATE + STUDY_TIME
    ds.AcquisitionDuration = 1.0
    ds.ContentQualification = "PRODUCT"
    ds.PresentationLUTShape = "IDENTITY"
    ds.BurnedInAnnotation = "NO"
    ds.RecognizableVisualFeatures = "NO"
    ds.LossyImageCompression = "00"
    ds.PixelPresentation = "MONOCHROME"
    ds.VolumetricProperties = "VOLUME"
    ds.VolumeBasedCalculationTechnique = "NONE"
    ds.NumberOfFrames = len(frames)
    rows, columns = first.pixels.shape
    ds.Rows = rows
    ds.Columns = columns

    organisation = str(generate_uid(entropy_srcs=[sop_instance_uid, "dimension-organization"]))
    ds.DimensionOrganizationSequence = [Dataset()]
    ds.DimensionOrganizationSequence[0].DimensionOrganizationUID = organisation
    dimensions = []
    for pointer, label in ((Tag(0x0020, 0x9056), "Stack ID"),
                           (Tag(0x0020, 0x9057), "In-Stack Position Number")):
        item = Dataset()
        item.DimensionOrganizationUID = organisation
        item.add_new(Tag(0x0020, 0x9165), "AT", pointer)
        item.add_new(Tag(0x0020, 0x9167), "AT", Tag(0x0020, 0x9111))
        item.DimensionDescriptionLabel = label
        dimensions.append(item)
    ds.DimensionIndexSequence = dimensions

    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = _ds_list(first.pixel_spacing)
    measures.SliceThickness = _ds(header.slice_thickness_mm)
    shared.PixelMeasuresSequence = [measures]
    orientation = Dataset()
    orientation.ImageOrientationPatient = _ds_list(first.image_orientation_patient)
    shared.PlaneOrientationSequence = [orientation]
    transformation = Dataset()
    _rescale(transformation)
    shared.PixelValueTransformationSequence = [transformation]
    frame_type = Dataset()
    frame_type.FrameType = list(image_type)
    frame_type.PixelPresentation = "MONOCHROME"
    frame_type.VolumetricProperties = "VOLUME"
    frame_type.VolumeBasedCalculationTechnique = "NONE"
    shared.CTImageFrameTypeSequence = [frame_type]
    voi = Dataset()
    _window(voi)
    shared.FrameVOILUTSequence = [voi]
    ds.SharedFunctionalGroupsSequence = [shared]

    per_frame = []
    for frame in frames:
        group = Dataset()
        position = Dataset()
        position.ImagePositionPatient = _ds_list(frame.image_position_patient)
        group.PlanePositionSequence = [position]
        content = Dataset()
        content.StackID = "1"
        content.InStackPositionNumber = frame.instance_number
        content.DimensionIndexValues = [1, frame.instance_number]
        content.FrameAcquisitionDateTime = STUDY_DATE + STUDY_TIME
        content.FrameReferenceDateTime = STUDY_DATE + STUDY_TIME
        content.FrameAcquisitionDuration = 1.0
        group.FrameContentSequence = [content]
        per_frame.append(group)
    ds.PerFrameFunctionalGroupsSequence = per_frame
    return ds


def basic_text_sr(header: SeriesHeader, sop_instance_uid: str) -> Dataset:
    """A Basic Text SR: a DICOM object of the study without pixel data."""
    ds = _common(header, BasicTextSRStorage, sop_instance_uid, "SR")
    ds.InstanceNumber = 1
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.PerformedProcedureCodeSequence = []
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", "Diagnostic Imaging Report")]
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    item.ConceptNameCodeSequence = [_code("121071", "DCM", "Finding")]
    item.TextValue = "Synthetic phantom: no findings. Not patient data."
    ds.ContentSequence = [item]
    return ds


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue = value
    code.CodingSchemeDesignator = scheme
    code.CodeMeaning = meaning
    return code


def serialise(ds: Dataset, pixels: NDArray[np.int16] | None,
              syntax: TransferSyntax = TransferSyntax.EXPLICIT_LITTLE_ENDIAN) -> bytes:
    """The bytes of a DICOM file: preamble, File Meta Information, data set.

    Parameters
    ----------
    ds
        The object; its ``file_meta`` is completed here.
    pixels
        Stored values ``[row, column]`` or ``[frame, row, column]``, attached as
        Pixel Data in ``syntax``; ``None`` for an object without pixel data (which
        is always written Explicit VR Little Endian).
    syntax
        Transfer syntax of the pixel data.
    """
    if pixels is not None:
        array = np.ascontiguousarray(pixels, dtype=np.int16)
        if array.ndim == 3 and array.shape[0] == 1:
            array = array[0]
        if syntax is TransferSyntax.EXPLICIT_LITTLE_ENDIAN:
            ds.add_new(Tag(0x7FE0, 0x0010), "OW", array.astype("<i2").tobytes())
        else:
            plugin, _ = _ENCODER_PLUGIN[syntax]
            ds.compress(_SYNTAX_UID[syntax], array, encoding_plugin=plugin,
                        generate_instance_uid=False)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
