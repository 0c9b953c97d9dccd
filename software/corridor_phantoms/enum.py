"""Closed sets of the phantom generator: kinds, orientations, positions, faults, syntaxes."""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["Fault", "Label", "Orientation", "PatientPosition", "PhantomKind", "TransferSyntax"]


class PhantomKind(StrEnum):
    """What a phantom contains."""

    PELVIS = "pelvis"
    """Adult pelvis: body, iliac wings, sacrum, acetabula, proximal femora, iliac arteries."""
    FEMUR = "femur"
    """One proximal femur (head, neck, trochanters, shaft) in the thigh, with the femoral artery."""
    SPHERE = "sphere"
    """One sphere (label 1, 1000 HU) in a 0 HU background."""
    ELLIPSOID = "ellipsoid"
    """One ellipsoid with axes oblique to every grid axis (label 1, 1000 HU) in 0 HU."""
    CYLINDER = "cylinder"
    """One capped cylinder with an oblique axis (label 1, 1000 HU) in 0 HU."""


class Label(IntEnum):
    """Label values of the anatomical phantoms (pelvis, femur).

    The analytic shapes use only ``0`` (background) and ``1`` (the object); the
    manifest of every phantom names its labels.
    """

    BACKGROUND = 0
    """Air outside the body (or the analytic shapes' background)."""
    SOFT_TISSUE = 1
    """Body soft tissue (or the analytic shape itself)."""
    CORTICAL_BONE = 2
    """The outer shell of each bone."""
    CANCELLOUS_BONE = 3
    """Bone deeper than the cortical thickness below the bone surface."""
    VESSEL = 4
    """Contrast-filled arteries: the risk structures of trajectory planning."""


class Orientation(StrEnum):
    """How the image plane lies in the scanner before the patient position is applied."""

    AXIAL = "axial"
    """Rows along the scanner's x, columns along its y; slices along z."""
    CORONAL = "coronal"
    """Rows along x, columns toward the feet (scanner -z); slices along +y."""
    SAGITTAL = "sagittal"
    """Rows along y, columns toward the feet (scanner -z); slices along -x."""
    OBLIQUE = "oblique"
    """The axial frame rotated about a fixed axis that is no grid or patient axis."""


class PatientPosition(StrEnum):
    """DICOM Patient Position (0018,5100) of a patient lying on the table."""

    HFS = "HFS"
    """Head first, supine: image i → patient left (+x), j → posterior (+y)."""
    FFS = "FFS"
    """Feet first, supine: i → right (-x), j → posterior (+y)."""
    HFP = "HFP"
    """Head first, prone: i → right (-x), j → anterior (-y)."""
    FFP = "FFP"
    """Feet first, prone: i → left (+x), j → anterior (-y)."""


class Fault(StrEnum):
    """A deviation planted in a written series, as ingest meets it in the field.

    Faults combine; the manifest records what each one did.
    """

    SHUFFLED_ORDER = "shuffled-order"
    """File names are random, so their sorted order is not the slice order."""
    MISSING_SLICE = "missing-slice"
    """One interior slice (or frame) is not written."""
    DUPLICATE_SLICE = "duplicate-slice"
    """A second file at one slice's position, new SOP Instance UID, identical pixels."""
    GANTRY_TILT = "gantry-tilt"
    """The image plane is tilted about i; slices step along the table, so the grid is sheared."""
    VARIABLE_SPACING = "variable-spacing"
    """The first half of the slices step the phantom's spacing, the rest 1.75 times it (no gap
    is a multiple of another, unlike ``missing-slice``); the truth grid is finer, so that every
    written slice is one of its slices."""
    MIXED_SERIES = "mixed-series"
    """A second CT series (thicker slices) of the same study in the same folder."""
    LOCALIZER = "localizer"
    """One extra image in the series: ImageType ORIGINAL\\PRIMARY\\LOCALIZER, orthogonal plane."""
    NON_CT_FILES = "non-ct-files"
    """A text file and a Basic Text SR (a DICOM object without pixel data) in the folder."""
    TRUNCATED_FILE = "truncated-file"
    """One slice file cut to half its length."""
    FAINT_VESSEL = "faint-vessel"
    """A vessel segment added in the soft tissue (truth label vessel) with low contrast and a
    blurred edge (:mod:`corridor_phantoms.faint`); anatomical phantoms only."""


class TransferSyntax(StrEnum):
    """How pixel data are encoded; lossless unless the member says lossy (:attr:`lossless`).

    A lossy series still holds the phantom's geometry, but its stored values differ from
    the ground truth by the codec's error; the files carry Lossy Image Compression (0028,2110)
    ``01`` and the manifest ``"lossless": false``.
    """

    EXPLICIT_LITTLE_ENDIAN = "explicit-little-endian"
    """Native, uncompressed (1.2.840.10008.1.2.1)."""
    RLE = "rle"
    """RLE Lossless (1.2.840.10008.1.2.5), pydicom's own encoder."""
    JPEG2000_LOSSLESS = "jpeg2000-lossless"
    """JPEG 2000 lossless only (1.2.840.10008.1.2.4.90), through pylibjpeg-openjpeg."""
    JPEGLS_LOSSLESS = "jpegls-lossless"
    """JPEG-LS lossless (1.2.840.10008.1.2.4.80), through pyjpegls."""
    IMPLICIT_LITTLE_ENDIAN = "implicit-little-endian"
    """Native, uncompressed, Implicit VR Little Endian (1.2.840.10008.1.2), pydicom's writer."""
    EXPLICIT_BIG_ENDIAN = "explicit-big-endian"
    """Native, uncompressed, big-endian words (1.2.840.10008.1.2.2, retired), pydicom's writer."""
    DEFLATED = "deflated"
    """Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99): the whole data set after the
    File Meta Information is deflated by pydicom's writer; pixels are native."""
    JPEG_LOSSLESS = "jpeg-lossless"
    """JPEG Lossless, Non-Hierarchical, Process 14 (1.2.840.10008.1.2.4.57), through
    python-gdcm (pydicom has no encoder for it)."""
    JPEG_LOSSLESS_SV1 = "jpeg-lossless-sv1"
    """JPEG Lossless, Process 14, Selection Value 1 (1.2.840.10008.1.2.4.70), through
    python-gdcm; the syntax CT scanners most often export."""
    JPEGLS_NEAR_LOSSLESS = "jpegls-near-lossless"
    """Lossy: JPEG-LS near-lossless (1.2.840.10008.1.2.4.81), through pyjpegls, each stored
    value within :data:`~corridor_phantoms.dicom.JPEGLS_NEAR_LOSSLESS_ERROR` of the truth."""
    JPEG2000 = "jpeg2000"
    """Lossy: JPEG 2000 (1.2.840.10008.1.2.4.91), through pylibjpeg-openjpeg, at the
    compression ratio :data:`~corridor_phantoms.dicom.JPEG2000_COMPRESSION_RATIO`."""

    @property
    def lossless(self) -> bool:
        """Whether the stored values decode to exactly the ground truth."""
        return self not in (TransferSyntax.JPEGLS_NEAR_LOSSLESS, TransferSyntax.JPEG2000)
