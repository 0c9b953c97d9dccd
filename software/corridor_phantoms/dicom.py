"""DICOM objects of a phantom series: CT Image, Enhanced CT Image and Basic Text SR.

Every object is built by pydicom with the modules its IOD requires for Corridor's
tests (Patient, General Study, General Series, Frame of Reference, General
Equipment, General Image, Image Plane or the Multi-frame Functional Groups, Image
Pixel, CT Image) and serialised with a File Meta Information header
(``enforce_file_format=True``).  Nothing depends on the clock: the same inputs
give the same bytes.
"""

from __future__ import annotations

import importlib
import io
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels.encoders.base import get_encoder
from pydicom.tag import Tag
from pydicom.uid import (
    JPEG2000,
    UID,
    BasicTextSRStorage,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    EnhancedCTImageStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
    generate_uid,
)
from pydicom.valuerep import format_number_as_ds

from corridor import __version__
from corridor_phantoms.enum import TransferSyntax
from corridor_phantoms.errors import EncoderUnavailableError, PhantomError
from corridor_phantoms.model import PADDING_HU

__all__ = [
    "JPEG2000_COMPRESSION_RATIO",
    "JPEGLS_NEAR_LOSSLESS_ERROR",
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

JPEGLS_NEAR_LOSSLESS_ERROR = 2
"""NEAR parameter of ``jpegls-near-lossless``: the largest difference, in stored values (HU),
between a decoded pixel and the original."""

JPEG2000_COMPRESSION_RATIO = 5.0
"""Target compression ratio of lossy ``jpeg2000`` (one quality layer)."""

_SYNTAX_UID = {
    TransferSyntax.EXPLICIT_LITTLE_ENDIAN: ExplicitVRLittleEndian,
    TransferSyntax.RLE: RLELossless,
    TransferSyntax.JPEG2000_LOSSLESS: JPEG2000Lossless,
    TransferSyntax.JPEGLS_LOSSLESS: JPEGLSLossless,
    TransferSyntax.IMPLICIT_LITTLE_ENDIAN: ImplicitVRLittleEndian,
    TransferSyntax.EXPLICIT_BIG_ENDIAN: ExplicitVRBigEndian,
    TransferSyntax.DEFLATED: DeflatedExplicitVRLittleEndian,
    TransferSyntax.JPEG_LOSSLESS: JPEGLossless,
    TransferSyntax.JPEG_LOSSLESS_SV1: JPEGLosslessSV1,
    TransferSyntax.JPEGLS_NEAR_LOSSLESS: JPEGLSNearLossless,
    TransferSyntax.JPEG2000: JPEG2000,
}

_NATIVE_WORDS = {
    TransferSyntax.EXPLICIT_LITTLE_ENDIAN: "<i2",
    TransferSyntax.IMPLICIT_LITTLE_ENDIAN: "<i2",
    TransferSyntax.EXPLICIT_BIG_ENDIAN: ">i2",
    TransferSyntax.DEFLATED: "<i2",
}
"""Uncompressed syntaxes and the byte order of their 16-bit pixel words (pydicom's writer
encodes the rest of the data set in the syntax, and deflates it for ``deflated``)."""

_ENCODER_PLUGIN = {
    TransferSyntax.RLE: ("pydicom", "pydicom (its own RLE encoder)"),
    TransferSyntax.JPEG2000_LOSSLESS: ("pylibjpeg", "pylibjpeg and pylibjpeg-openjpeg"),
    TransferSyntax.JPEGLS_LOSSLESS: ("pyjpegls", "pyjpegls"),
    TransferSyntax.JPEGLS_NEAR_LOSSLESS: ("pyjpegls", "pyjpegls"),
    TransferSyntax.JPEG2000: ("pylibjpeg", "pylibjpeg and pylibjpeg-openjpeg"),
}
"""pydicom encoding plugin used for each compressed syntax, and the package providing it."""

_ENCODER_OPTIONS: dict[TransferSyntax, dict[str, Any]] = {
    TransferSyntax.JPEGLS_NEAR_LOSSLESS: {"jls_error": JPEGLS_NEAR_LOSSLESS_ERROR},
    TransferSyntax.JPEG2000: {"j2k_cr": [JPEG2000_COMPRESSION_RATIO]},
}

_GDCM_SYNTAX = {
    TransferSyntax.JPEG_LOSSLESS: "JPEGLosslessProcess14",
    TransferSyntax.JPEG_LOSSLESS_SV1: "JPEGLosslessProcess14_1",
}
"""Syntaxes pydicom cannot encode, with the name of GDCM's ``gdcm.TransferSyntax`` for them."""

_LOSSY_METHOD = {
    TransferSyntax.JPEGLS_NEAR_LOSSLESS: "ISO_14495_1",
    TransferSyntax.JPEG2000: "ISO_15444_1",
}
"""Lossy Image Compression Method (0028,2114) of each lossy syntax (PS3.3 C.7.6.1.1.5.1)."""


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
    if syntax in _NATIVE_WORDS:
        return
    if (syntax in (TransferSyntax.JPEG2000_LOSSLESS, TransferSyntax.JPEG2000)
            and min(rows, columns) < MIN_JPEG2000_SIZE):
        raise PhantomError("shape", f"{columns} x {rows} (i x j) pixels a slice",
                           f"at least {MIN_JPEG2000_SIZE} x {MIN_JPEG2000_SIZE} for "
                           f"{syntax.value} (pylibjpeg-openjpeg encodes 6 wavelet levels)")
    if syntax in _GDCM_SYNTAX:
        try:
            _gdcm()
        except ImportError as exc:
            raise EncoderUnavailableError(syntax.value, "python-gdcm", f"import gdcm: {exc}",
                                          extra="gdcm") from exc
        return
    plugin, package = _ENCODER_PLUGIN[syntax]
    encoder = get_encoder(_SYNTAX_UID[syntax])
    if plugin not in encoder.available_plugins:
        missing = "; ".join(encoder.missing_dependencies) or "no encoder plugin is available"
        raise EncoderUnavailableError(syntax.value, package, f"pydicom reports: {missing}")


def _gdcm() -> Any:
    """The python-gdcm module (an optional extra, imported only when a syntax needs it)."""
    return importlib.import_module("gdcm")


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


def _gdcm_frames(ds: Dataset, syntax: TransferSyntax, frames: int) -> list[bytes]:
    """The frames of ``ds`` (native pixel data attached) encoded by GDCM in ``syntax``.

    GDCM re-encodes a whole file and adds attributes of its own, so only its encoded
    frames are kept; the data set written stays pydicom's.
    """
    gdcm = _gdcm()
    with tempfile.TemporaryDirectory(prefix="corridor-phantom-gdcm-") as folder:
        native, encoded = Path(folder) / "native.dcm", Path(folder) / "encoded.dcm"
        ds.save_as(native, enforce_file_format=True)
        reader = gdcm.ImageReader()
        reader.SetFileName(str(native))
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(getattr(gdcm.TransferSyntax,
                                                             _GDCM_SYNTAX[syntax])))
        writer = gdcm.ImageWriter()
        writer.SetFileName(str(encoded))
        if reader.Read():
            change.SetInput(reader.GetImage())
            if change.Change():
                writer.SetFile(reader.GetFile())
                writer.SetImage(change.GetOutput())
        if not writer.Write():
            raise PhantomError("transfer_syntax", syntax.value,
                               "pixel data python-gdcm can encode (it refused these)")
        encapsulated = dcmread(encoded).PixelData
    return list(generate_frames(encapsulated, number_of_frames=frames))


def _mark_lossy(ds: Dataset, syntax: TransferSyntax, native_bytes: int) -> None:
    """Lossy Image Compression, its ratio and method (General Image module)."""
    compressed = len(ds.PixelData)
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionRatio = [_ds(round(native_bytes / compressed, 2))]
    ds.LossyImageCompressionMethod = [_LOSSY_METHOD[syntax]]


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
        Transfer syntax of the pixel data (and of the data set, for the native ones).
    """
    if pixels is not None:
        array = np.ascontiguousarray(pixels, dtype=np.int16)
        if array.ndim == 3 and array.shape[0] == 1:
            array = array[0]
        words = _NATIVE_WORDS.get(syntax, "<i2")
        if syntax in _NATIVE_WORDS or syntax in _GDCM_SYNTAX:
            ds.add_new(Tag(0x7FE0, 0x0010), "OW", array.astype(words).tobytes())
        if syntax in _GDCM_SYNTAX:
            frames = _gdcm_frames(ds, syntax, 1 if array.ndim == 2 else array.shape[0])
            ds.add_new(Tag(0x7FE0, 0x0010), "OB", encapsulate(frames))
            ds["PixelData"].is_undefined_length = True
        elif syntax not in _NATIVE_WORDS:
            plugin, _ = _ENCODER_PLUGIN[syntax]
            ds.compress(_SYNTAX_UID[syntax], array, encoding_plugin=plugin,
                        generate_instance_uid=False, **_ENCODER_OPTIONS.get(syntax, {}))
        if not syntax.lossless:
            _mark_lossy(ds, syntax, array.nbytes)
        ds.file_meta.TransferSyntaxUID = _SYNTAX_UID[syntax]
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
