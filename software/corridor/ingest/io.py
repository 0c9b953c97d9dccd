"""The ingest stage's boundary with files: find DICOM files and read their headers.

Only headers are read here: by :func:`corridor.ingest.lean.read_lean` for plain
single-frame Explicit VR Little Endian images, by pydicom (deferring large values)
for everything else.  A DICOM file that cannot be read as a whole is reported with
the Series Instance UID its undamaged part names, if any, for ingest to decide
whether it may be a lost slice (SRS-ING-027).  Pixel data is read once, for the
selected series only, by :mod:`corridor.ingest.load`.  Nothing here logs
or returns a patient-identifying value.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from corridor.ingest.enum import SkipReason
from corridor.ingest.errors import UnreadableInputError
from corridor.ingest.lean import LEAN_PREFIX_BYTES, read_lean
from corridor.ingest.model import SeriesDisplay, SkippedFile
from corridor.reading import BoundedFile

if TYPE_CHECKING:  # pydicom loads only when a file needs it (start-up, SRS-CLI-002)
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset

__all__ = ["ENHANCED_CT_STORAGE", "SliceHeader", "advise_will_need", "failure_words", "find_files",
           "quiet_pydicom", "read_headers", "well_formed_uid"]

ENHANCED_CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
"""SOP Class UID of Enhanced CT Image Storage (multi-frame)."""


@dataclass(frozen=True, slots=True)
class SliceHeader:
    """What ingest needs from one image (or one frame of a multi-frame image).

    Geometry values are DICOM's own: ``image_orientation_patient`` is the row
    direction cosine then the column direction cosine; ``pixel_spacing`` is
    (row spacing, column spacing) in mm, i.e. (spacing along j, spacing along i).
    """

    path: str
    frame: int
    """0-based frame number within the file (0 for single-frame images)."""
    sop_instance_uid: str
    sop_class_uid: str
    series_instance_uid: str
    series_description: str
    modality: str
    image_type: tuple[str, ...]
    frame_of_reference_uid: str | None
    image_orientation_patient: tuple[float, ...] | None
    image_position_patient: tuple[float, ...] | None
    pixel_spacing: tuple[float, ...] | None
    rows: int
    columns: int
    rescale_slope: float
    rescale_intercept: float
    pixel_padding_value: int | None
    pixel_padding_range_limit: int | None
    gantry_detector_tilt: float | None
    """Gantry/Detector Tilt (0018,1120) in degrees; ``None`` when the element is absent."""
    transfer_syntax_uid: str
    pixel_data_complete: bool = True
    """False when the file ends before its Pixel Data element does (a truncated file)."""
    native_pixels: tuple[int, str] | None = None
    """``(byte offset, numpy dtype)`` of the pixel values in the file when they are stored
    natively as one frame of 16-bit little-endian words with all 16 bits used, so that the
    loader may take them from the file's bytes without parsing it again; ``None`` otherwise."""
    display: SeriesDisplay = field(default_factory=SeriesDisplay)
    """Patient and study fields for display only (empty where the file has none)."""
    rescale_type: str = ""
    """Rescale Type (0028,1054): the unit of the rescaled values (``HU`` for CT); empty when
    absent (CT images may leave it out: their Modality LUT output is HU)."""
    slice_thickness: float | None = None
    """Slice Thickness (0018,0050), mm; ``None`` when absent or empty."""
    convolution_kernel: str = ""
    """Convolution Kernel (0018,1210), values joined with a backslash; empty when absent."""
    lossy_image_compression: bool = False
    """Lossy Image Compression (0028,2110) is ``01``: the image has been through lossy
    compression at some time (even if it is stored uncompressed now)."""


def find_files(path: Path) -> list[Path]:
    """Every regular file at or below ``path``, sorted (the order is irrelevant to ingest).

    Raises
    ------
    UnreadableInputError
        If ``path`` does not exist.
    """
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UnreadableInputError(str(path), "no such file or folder (expected a DICOM file "
                                   "or a folder of DICOM files)")
    return sorted(p for p in path.rglob("*") if p.is_file())


def advise_will_need(paths: Sequence[str | os.PathLike[str]], length: int = 0) -> None:
    """Ask the operating system to start reading the first ``length`` bytes (0: all) of
    every file now, so that reads from disk overlap with parsing; a hint only."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    for path in paths:
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # the read that follows reports it
        try:
            advise(descriptor, 0, length, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass  # a hint the file system declines changes nothing
        finally:
            os.close(descriptor)


def _floats(value: Any) -> tuple[float, ...] | None:
    if value is None or value == "":
        return None
    try:
        return tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None


def _number(value: Any, absent: float) -> float:
    """A DS value as a float; ``absent`` when the element is missing or empty (a zero stays
    zero, for validation to refuse)."""
    return absent if value is None or value == "" else float(value)


def _first_item(dataset: Dataset | None, keyword: str) -> Dataset | None:
    if dataset is None:
        return None
    sequence = dataset.get(keyword)
    return sequence[0] if sequence else None


def _frames(ds: Dataset) -> Iterator[tuple[int, dict[str, Any]]]:
    """Per-frame geometry and rescale values of an Enhanced CT image."""
    shared = _first_item(ds, "SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    for index, frame in enumerate(per_frame):
        def group(keyword: str, frame: Dataset = frame) -> Dataset | None:
            return _first_item(frame, keyword) or _first_item(shared, keyword)

        position = group("PlanePositionSequence")
        orientation = group("PlaneOrientationSequence")
        measures = group("PixelMeasuresSequence")
        transform = group("PixelValueTransformationSequence")
        yield index, {
            "ipp": _floats(position.get("ImagePositionPatient")) if position else None,
            "iop": _floats(orientation.get("ImageOrientationPatient")) if orientation else None,
            "spacing": _floats(measures.get("PixelSpacing")) if measures else None,
            "slope": _number(transform.get("RescaleSlope"), 1.0) if transform else 1.0,
            "intercept": _number(transform.get("RescaleIntercept"), 0.0) if transform else 0.0,
            "rescale_type": str(transform.get("RescaleType", "") or "") if transform else "",
            "thickness": _optional_number(measures.get("SliceThickness")) if measures else None,
        }


@contextlib.contextmanager
def quiet_pydicom() -> Iterator[None]:
    """Silence pydicom's warnings and log records (of every pydicom logger) while ingest reads.

    pydicom warns (and logs) about the values it finds odd, quoting them: a damaged header
    makes dozens of such lines, and a value quoted may be the patient's name (SRS-ING-015).
    Ingest judges every value it uses itself, and reports a file it cannot read in one line
    naming the file (SRS-ING-027, SRS-ING-028), so the user reads each problem once, with no
    value of the header.  Warning filters and logger levels are global: only the thread that
    parses (never the loader's reading thread) calls pydicom.
    """
    logger = logging.getLogger("pydicom")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)  # its child loggers inherit it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _parsed_stream(ds: FileDataset, handle: BinaryIO) -> tuple[int, int]:
    """Where pydicom stopped parsing, and the size of the stream it parsed.

    That stream is the file, except for Deflated Explicit VR Little Endian, where it is
    the inflated data set pydicom keeps as ``ds.buffer``: its element offsets count
    within the inflated bytes, never within the (smaller) file.
    """
    stream: Any = ds.buffer if ds.buffer is not None else handle
    stopped = stream.tell()
    size = len(stream.getvalue()) if ds.buffer is not None else os.fstat(handle.fileno()).st_size
    return stopped, size


def _pixel_data_complete(ds: Dataset, size: int) -> bool:
    """Whether a stream of ``size`` bytes holds all that the (deferred) Pixel Data element of
    ``ds`` declares (``size`` from :func:`_parsed_stream`)."""
    try:
        raw = ds.get_item("PixelData", keep_deferred=True)
    except (KeyError, TypeError):
        return True
    length = getattr(raw, "length", None)
    tell = getattr(raw, "value_tell", None)
    if not isinstance(length, int) or not isinstance(tell, int) or length == 0xFFFFFFFF:
        return True  # encapsulated (undefined length): pydicom found its delimiter
    return tell + length <= size


def _ends_inside(ds: Dataset, stopped: int, size: int) -> bool:
    """Whether the stream pydicom parsed ends inside a data element, with no error raised.

    pydicom warns and keeps no element when the stream ends inside a value of undefined
    length (encapsulated Pixel Data without its delimiter): it stops before the end of the
    stream.  When the stream ends inside a value of defined length, it keeps the short
    value as the last element; inside an element's 8-byte header, it drops those bytes.
    Either way the last element does not end where the stream does.  ``stopped`` and
    ``size`` are from :func:`_parsed_stream`.  Asked only of data sets without Pixel Data.
    """
    if stopped < size:
        return True
    tags = list(ds.keys())
    if not tags:
        return False
    last = ds.get_item(max(tags), keep_deferred=True)
    tell, length = getattr(last, "value_tell", None), getattr(last, "length", None)
    return (isinstance(tell, int) and isinstance(length, int) and length != 0xFFFFFFFF
            and tell + length != size)


def _dcmread(handle: BoundedFile, **options: Any) -> FileDataset:
    """pydicom's parse of an open file, whose deferred values are read bounded as well."""
    import pydicom

    ds = pydicom.dcmread(handle, defer_size=256, **options)
    ds.fileobj_type = BoundedFile
    return ds


_META_GROUP = 0x0002


def _file_meta(raw: bytes) -> tuple[FileMetaDataset, int] | None:
    """The File Meta Information at the start of a file's bytes, and where its data set
    begins, read from memory with pydicom's element reader (values over 1 KiB left unread);
    ``None`` without 'DICM' at byte 128 or without a Transfer Syntax UID (0002,0010).

    Raises whatever pydicom raises on a damaged meta group; callers catch it.
    """
    from pydicom.dataset import FileMetaDataset
    from pydicom.filereader import data_element_generator

    if raw[128:132] != b"DICM":
        return None
    stream = io.BytesIO(raw)
    stream.seek(132)
    elements = data_element_generator(stream, False, True, defer_size=1024,
                                      stop_when=lambda tag, vr, length: tag >> 16 != _META_GROUP)
    meta = FileMetaDataset({element.tag: element for element in elements})
    if not meta.get("TransferSyntaxUID"):
        return None
    return meta, stream.tell()


def _deflated_remains(path: Path) -> Dataset | None:
    """What a Deflated Explicit VR Little Endian file whose deflate stream stops short holds.

    pydicom refuses such a file outright (zlib: incomplete or truncated stream); the data
    elements before the cut are parsed here from the bytes that do inflate, with the file's
    own File Meta Information.  ``None`` when the file is not deflated, or its deflate
    stream is whole (then the failure is something else, and stays pydicom's).
    """
    import zlib

    from pydicom.filereader import read_dataset
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    try:
        raw = path.read_bytes()
        found = _file_meta(raw)
        if found is None or found[0].TransferSyntaxUID != DeflatedExplicitVRLittleEndian:
            return None
        meta, start = found
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        inflated = inflater.decompress(raw[start:])
        if inflater.eof:
            return None
        ds = read_dataset(io.BytesIO(inflated), is_implicit_VR=False, is_little_endian=True)
    except Exception:  # anything else unreadable stays as pydicom reported it
        return None
    ds.file_meta = meta
    return ds


_NATIVE_LITTLE_ENDIAN = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")
"""Explicit and Implicit VR Little Endian: pixel data stored as plain words."""


def _native_pixels(ds: Dataset) -> tuple[int, str] | None:
    """Where one frame of 16-bit native little-endian pixel values starts, and its dtype."""
    syntax = str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", ""))
    if (syntax not in _NATIVE_LITTLE_ENDIAN or ds.get("BitsAllocated") != 16
            or ds.get("BitsStored") != 16 or ds.get("SamplesPerPixel", 1) != 1
            or int(ds.get("NumberOfFrames", 1) or 1) != 1):
        return None
    try:
        raw = ds.get_item("PixelData", keep_deferred=True)
    except (KeyError, TypeError):
        return None
    tell, length = getattr(raw, "value_tell", None), getattr(raw, "length", None)
    if not isinstance(tell, int) or length != int(ds.Rows) * int(ds.Columns) * 2:
        return None
    return tell, "<i2" if ds.get("PixelRepresentation") == 1 else "<u2"


def _header(path: Path, ds: Dataset | Mapping[str, Any], frame: int, values: dict[str, Any],
            layout: tuple[str, bool, tuple[int, str] | None]) -> SliceHeader:
    """One frame's header from a pydicom dataset or a :func:`read_lean` mapping.

    ``layout`` is (Transfer Syntax UID, whether the pixel data is complete, native pixels).
    """
    syntax, complete, native = layout
    padding = ds.get("PixelPaddingValue")
    limit = ds.get("PixelPaddingRangeLimit")
    return SliceHeader(
        path=str(path),
        frame=frame,
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
        sop_class_uid=str(ds.get("SOPClassUID", "")),
        series_instance_uid=str(ds.get("SeriesInstanceUID", "")),
        series_description=_printable(str(ds.get("SeriesDescription", ""))),
        modality=_printable(str(ds.get("Modality", ""))),
        image_type=_image_type(ds.get("ImageType")),
        frame_of_reference_uid=str(ds.get("FrameOfReferenceUID"))
        if "FrameOfReferenceUID" in ds else None,
        image_orientation_patient=values["iop"],
        image_position_patient=values["ipp"],
        pixel_spacing=values["spacing"],
        rows=int(ds.get("Rows", 0)),
        columns=int(ds.get("Columns", 0)),
        rescale_slope=values["slope"],
        rescale_intercept=values["intercept"],
        pixel_padding_value=int(padding) if padding is not None else None,
        pixel_padding_range_limit=int(limit) if limit is not None else None,
        gantry_detector_tilt=_optional_number(ds.get("GantryDetectorTilt")),
        transfer_syntax_uid=syntax,
        pixel_data_complete=complete,
        native_pixels=native,
        display=SeriesDisplay(patient_name=str(ds.get("PatientName", "") or ""),
                              patient_id=str(ds.get("PatientID", "") or ""),
                              study_date=str(ds.get("StudyDate", "") or ""),
                              series_description=str(ds.get("SeriesDescription", "") or "")),
        rescale_type=_printable(values.get("rescale_type",
                                           str(ds.get("RescaleType", "") or ""))).strip(),
        slice_thickness=values.get("thickness", _optional_number(ds.get("SliceThickness"))),
        convolution_kernel=_printable(_joined(ds.get("ConvolutionKernel"))),
        lossy_image_compression=str(ds.get("LossyImageCompression", "") or "").strip() == "01",
    )


def _optional_number(value: Any) -> float | None:
    """A DS value as a float, ``None`` when absent, empty or not a finite number."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _joined(value: Any) -> str:
    """A possibly multi-valued text element as one string (backslash-separated)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value.strip()
    return "\\".join(str(v).strip() for v in value)


def _printable(text: str) -> str:
    """``text`` with every character that is not printable (line breaks, escape sequences,
    form feeds of a damaged or hostile header) shown as ``?``, for messages of one line."""
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)


def _image_type(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    values = [value] if isinstance(value, str) else value
    return tuple(_printable(str(v).upper()) for v in values)


def _single_frame_values(ds: Dataset | Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ipp": _floats(ds.get("ImagePositionPatient")),
        "iop": _floats(ds.get("ImageOrientationPatient")),
        "spacing": _floats(ds.get("PixelSpacing")),
        "slope": _number(ds.get("RescaleSlope"), 1.0),
        "intercept": _number(ds.get("RescaleIntercept"), 0.0),
    }


def headers_of(path: Path, ds: Dataset, complete: bool = True) -> list[SliceHeader]:
    """Headers of every frame of a parsed dataset (one for a single-frame image).

    ``complete`` is false when the file ends before its Pixel Data does.
    """
    layout = (str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", "")), complete,
              _native_pixels(ds))
    enhanced = str(ds.get("SOPClassUID", "")) == ENHANCED_CT_STORAGE
    if enhanced or "PerFrameFunctionalGroupsSequence" in ds:
        return [_header(path, ds, index, values, layout) for index, values in _frames(ds)]
    return [_header(path, ds, 0, _single_frame_values(ds), layout)]


def _lean_headers(path: Path) -> list[SliceHeader] | None:
    """The header from :func:`read_lean`, or ``None`` when pydicom must parse the file."""
    try:
        lean = read_lean(path)
    except OSError:
        return None  # pydicom's attempt names the reason
    if lean is None:
        return None
    values = lean.values
    if values.get("SOPClassUID") == ENHANCED_CT_STORAGE or "Columns" not in values:
        return None
    complete = lean.pixel_data_offset + lean.pixel_data_length <= lean.file_size
    native = None
    if (values.get("BitsAllocated") == 16 and values.get("BitsStored") == 16
            and values.get("SamplesPerPixel", 1) == 1
            and int(values.get("NumberOfFrames", 1) or 1) == 1
            and lean.pixel_data_length == int(values["Rows"]) * int(values.get("Columns", 0)) * 2):
        native = (lean.pixel_data_offset,
                  "<i2" if values.get("PixelRepresentation") == 1 else "<u2")
    return [_header(path, values, 0, _single_frame_values(values),
                    (lean.transfer_syntax_uid, complete, native))]


_SNIFF_BYTES = 4096
"""Bytes of a file that pydicom does not take for DICOM looked at to recognise damaged DICOM."""

_EMPTY_PREAMBLE = b"\x00" * 128 + b"DICM"
"""The usual start of a DICOM file: a preamble of zeros and the magic."""

_DICOM_UID_ROOT = b"1.2.840.10008."
"""The root of the standard's own UIDs: every DICOM file names one (its SOP Class and
Transfer Syntax)."""


def _damaged_dicom(path: Path) -> str | None:
    """Why a file that pydicom does not take for DICOM (no ``DICM`` at byte 128) is DICOM
    damaged all the same, or ``None`` when nothing in it says DICOM.

    A file is damaged DICOM when it is empty or a prefix of a preamble of zeros and the magic
    (cut within its first 132 bytes), when ``DICM`` lies elsewhere in its first 4 KiB (bytes
    lost or added in the preamble), or when those bytes are binary (hold a zero byte) and name
    a UID of the standard (``1.2.840.10008.``; the magic itself overwritten).  Text files,
    PDFs and pictures say none of this.
    """
    try:
        with open(path, "rb") as handle:
            start = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        return f"cannot be read: {type(exc).__name__}: {exc.strerror or exc}"
    if len(start) < len(_EMPTY_PREAMBLE) and _EMPTY_PREAMBLE.startswith(start):
        return (f"the file ends at byte {len(start)}, within the 128-byte preamble and 'DICM' "
                "magic that begin a DICOM file (cut short or emptied)")
    if b"DICM" in start:
        return (f"'DICM' is at byte {start.index(b'DICM')}, expected at byte 128: bytes were "
                "lost or added in its preamble")
    if b"\x00" in start and _DICOM_UID_ROOT in start:
        return ("binary data naming DICOM UIDs, but no 'DICM' magic at byte 128: the start of "
                "the file is damaged")
    return None


_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
"""A UID as PS3.5 9.1 writes it (at most 64 characters, checked apart)."""

_UID_CHARACTERS = re.compile(r"[0-9.]*")
"""What a Series Instance UID read from an image may hold (absent is empty; leading zeros,
which PS3.5 forbids, are seen in the wild and kept): any other character is damage."""

_SERIES_PREFIX_BYTES = 1 << 20
"""Bytes of a damaged file searched for its Series Instance UID (which comes before any
large value but private ones of groups below 0020)."""

_SERIES_INSTANCE_UID = 0x0020000E


def failure_words(exc: BaseException) -> str:
    """A parser's or decoder's exception as one line of a message: its type and its text,
    line breaks and runs of spaces folded (pydicom's texts span lines)."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def well_formed_uid(text: str) -> bool:
    """Whether ``text`` is a UID as PS3.5 9.1 writes it: digits and dots, components without
    leading zeros, at most 64 characters."""
    return len(text) <= 64 and _UID.fullmatch(text) is not None


def _complete_uid(value: bytes | None, length: int, end: int, value_tell: int) -> str | None:
    """A UI value read whole and well formed, else ``None``."""
    if value is None or len(value) != length or value_tell + length > end:
        return None
    text = value.rstrip(b"\x00 ").decode("ascii", "replace")
    return text if well_formed_uid(text) else None


def _series_named(path: Path) -> str | None:
    """The Series Instance UID (0020,000E) a damaged file names, or ``None`` if it names none
    that can be trusted.

    The data elements of the file's first MiB are read in file order (pydicom's element
    reader, values over 1 KiB skipped, inflated first for Deflated Explicit VR Little
    Endian) until the first element past (0020,000E) or the first failure.  The value
    counts only when the element was read whole (the file does not end inside it) and is a
    well-formed UID; a file whose meta information or transfer syntax cannot be read names
    none.
    """
    import zlib

    from pydicom.dataelem import RawDataElement
    from pydicom.filereader import data_element_generator
    from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

    try:
        with open(path, "rb") as handle:
            raw = handle.read(_SERIES_PREFIX_BYTES)
        found = _file_meta(raw)
        if found is None:
            return None
        syntax, start = UID(found[0].TransferSyntaxUID), found[1]
        stream = io.BytesIO(raw)
        stream.seek(start)
        if syntax == DeflatedExplicitVRLittleEndian:
            stream = io.BytesIO(zlib.decompressobj(-zlib.MAX_WBITS).decompress(
                raw[start:], _SERIES_PREFIX_BYTES))
        end = len(stream.getbuffer())
        elements = data_element_generator(
            stream, syntax.is_implicit_VR, syntax.is_little_endian, defer_size=1024,
            stop_when=lambda tag, vr, length: tag > _SERIES_INSTANCE_UID)
        for element in elements:
            if element.tag == _SERIES_INSTANCE_UID:
                if not isinstance(element, RawDataElement):
                    return None  # an undefined length: not a UID
                value = element.value if isinstance(element.value, bytes) else None
                return _complete_uid(value, element.length, end, element.value_tell)
    except Exception:  # a header that fails before naming its series names none
        return None
    return None


def _non_image_sop_class(ds: Dataset) -> str | None:
    """The SOP Class of a whole data set without an image when that class is *not* an image
    storage class pydicom knows (a report, a presentation state, a DICOMDIR), else ``None``:
    an image class without Pixel Data, or a class nobody knows, may be a damaged image."""
    from pydicom.uid import UID

    meta = getattr(ds, "file_meta", None) or {}
    value = str(ds.get("SOPClassUID", "") or meta.get("MediaStorageSOPClassUID", "") or "")
    if not well_formed_uid(value):
        return None
    name = UID(value).name
    return None if name == value or "Image Storage" in name else f"{name} ({value})"


def _unreadable(path: Path, detail: str) -> SkippedFile:
    """A DICOM file that could not be read as a whole: skipped with the series it names, so
    that ingest may refuse a load it could belong to."""
    return SkippedFile(str(path), SkipReason.UNREADABLE, detail, _series_named(path))


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _read_with_pydicom(path: Path) -> list[SliceHeader] | SkippedFile:
    """The headers of one file pydicom parses, or why it is skipped (called with pydicom
    quiet: :func:`quiet_pydicom`)."""
    from pydicom.errors import InvalidDicomError  # only for a file the lean reader leaves

    try:
        with BoundedFile(path) as handle:
            ds = _dcmread(handle, stop_before_pixels=False)
            stopped, size = _parsed_stream(ds, handle)
    except InvalidDicomError:
        damage = _damaged_dicom(path)
        if damage is not None:
            return SkippedFile(str(path), SkipReason.UNREADABLE, damage)
        return SkippedFile(str(path), SkipReason.NOT_DICOM,
                           "no DICOM preamble or file meta information")
    except Exception as exc:  # any other parser failure: a damaged DICOM file
        remains = _deflated_remains(path)
        if remains is not None and "Rows" in remains:
            with contextlib.suppress(Exception):  # else reported below as the file's failure
                return headers_of(path, remains, complete=False)
        return _unreadable(path, f"{failure_words(exc)} (a file of "
                                 f"{_file_size(path)} bytes)")
    try:
        if "PixelData" not in ds and _ends_inside(ds, stopped, size):
            # the file was cut before its pixel data ends: its image header is read again on
            # its own (pydicom keeps nothing of a data set whose last element it cannot end)
            with BoundedFile(path) as handle:
                ds = _dcmread(handle, stop_before_pixels=True)
            if ds.get("Rows"):
                return headers_of(path, ds, complete=False)
            return _unreadable(path, f"the file ends at byte {size}, inside its data set "
                                     "before any image (truncated)")
        if "PixelData" not in ds or not ds.get("Rows"):
            other = _non_image_sop_class(ds)
            if other is not None:
                return SkippedFile(str(path), SkipReason.NO_PIXEL_DATA,
                                   f"SOP Class {other} has no image")
            missing = ("Rows (0028,0010) absent or 0" if "PixelData" in ds
                       else "no Pixel Data (7FE0,0010)")
            sop_class = str(ds.get("SOPClassUID", "") or "absent")
            return _unreadable(path, f"{missing}, though its SOP Class UID ({sop_class}) is "
                                     "not a class known to hold no image: the file may be cut "
                                     f"where an element ends (its data set ends at byte {size})")
        return headers_of(path, ds, _pixel_data_complete(ds, size))
    except Exception as exc:  # any value pydicom cannot convert: a damaged header
        return _unreadable(path, f"malformed header: {failure_words(exc)}")


def read_headers(files: list[Path]) -> tuple[list[SliceHeader], list[SkippedFile]]:
    """Read the header of every file; list the files that are not images, with why.

    Never raises for a bad file.  A file that is not DICOM is skipped as ``not-dicom``, a
    whole DICOM object of a class that is not an image (a report, a DICOMDIR) as
    ``no-pixel-data``; a DICOM file that cannot be read as a whole image (cut short, a
    value that cannot be converted, an image class without its pixels, bytes lost at its
    start, a Series Instance UID holding other characters than digits and dots) is skipped
    as ``unreadable`` with the Series Instance UID it names, if any
    (:attr:`SkippedFile.series_instance_uid`), for ingest to refuse a series it may
    belong to (:func:`corridor.ingest.ops.unreadable_check`).
    """
    headers: list[SliceHeader] = []
    skipped: list[SkippedFile] = []
    advise_will_need(files, LEAN_PREFIX_BYTES)
    for path in files:
        found = _lean_headers(path)
        if found is None:
            with quiet_pydicom():
                read = _read_with_pydicom(path)
            if isinstance(read, SkippedFile):
                skipped.append(read)
                continue
            found = read
        damaged = next((h.series_instance_uid for h in found
                        if not _UID_CHARACTERS.fullmatch(h.series_instance_uid)), None)
        if damaged is not None:
            skipped.append(SkippedFile(
                str(path), SkipReason.UNREADABLE, "Series Instance UID (0020,000E) "
                f"{damaged!a} holds characters other than digits and dots: the header is "
                "damaged"))
            continue
        headers.extend(found)
    return headers, skipped
