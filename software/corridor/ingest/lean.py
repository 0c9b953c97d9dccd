"""A lean header reader for the common case, with pydicom as the reference and fallback.

Most CT series are single-frame images in Explicit VR Little Endian.  For those,
this module walks the data elements of the file's first bytes, keeps the few
values ingest needs and stops at Pixel Data, converting each value exactly as
pydicom does (trailing spaces and nulls removed, backslash-separated values
split, DS through ``float``).  Whenever a file is anything else, or a value is
anything but plain printable ASCII in the expected VR and length, it answers
``None`` and the caller parses the file with pydicom instead.  It never decides
that a file is invalid: only pydicom does.

Verified by comparing its result with pydicom's on every phantom variant and on
randomly generated headers (``verification/ingest/test_lean_headers.py``).
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from typing import Any

__all__ = ["LEAN_PREFIX_BYTES", "LeanHeader", "read_lean"]

LEAN_PREFIX_BYTES = 65536
"""Bytes read from the start of a file; a header that does not fit goes to pydicom."""

_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
_PIXEL_DATA = 0x7FE00010
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN",
                       b"UR", b"UT", b"UV"})
_UINT16 = struct.Struct("<H")
_INT16 = struct.Struct("<h")
_UINT32 = struct.Struct("<I")

_WANTED: dict[int, tuple[str, frozenset[bytes]]] = {
    0x00080008: ("ImageType", frozenset({b"CS"})),
    0x00080016: ("SOPClassUID", frozenset({b"UI"})),
    0x00080018: ("SOPInstanceUID", frozenset({b"UI"})),
    0x00080060: ("Modality", frozenset({b"CS"})),
    0x0008103E: ("SeriesDescription", frozenset({b"LO"})),
    0x00180050: ("SliceThickness", frozenset({b"DS"})),
    0x00181210: ("ConvolutionKernel", frozenset({b"SH"})),
    0x00181120: ("GantryDetectorTilt", frozenset({b"DS"})),
    0x0020000E: ("SeriesInstanceUID", frozenset({b"UI"})),
    0x00200032: ("ImagePositionPatient", frozenset({b"DS"})),
    0x00200037: ("ImageOrientationPatient", frozenset({b"DS"})),
    0x00200052: ("FrameOfReferenceUID", frozenset({b"UI"})),
    0x00280002: ("SamplesPerPixel", frozenset({b"US"})),
    0x00280008: ("NumberOfFrames", frozenset({b"IS"})),
    0x00280010: ("Rows", frozenset({b"US"})),
    0x00280011: ("Columns", frozenset({b"US"})),
    0x00280030: ("PixelSpacing", frozenset({b"DS"})),
    0x00280100: ("BitsAllocated", frozenset({b"US"})),
    0x00280101: ("BitsStored", frozenset({b"US"})),
    0x00280103: ("PixelRepresentation", frozenset({b"US"})),
    0x00280120: ("PixelPaddingValue", frozenset({b"US", b"SS"})),
    0x00280121: ("PixelPaddingRangeLimit", frozenset({b"US", b"SS"})),
    0x00281052: ("RescaleIntercept", frozenset({b"DS"})),
    0x00281053: ("RescaleSlope", frozenset({b"DS"})),
    0x00281054: ("RescaleType", frozenset({b"LO"})),
    0x00282110: ("LossyImageCompression", frozenset({b"CS"})),
}
"""Tags kept, with their keyword and the explicit VRs accepted for them."""

_DISPLAY: dict[int, str] = {0x00080020: "StudyDate", 0x00100010: "PatientName",
                            0x00100020: "PatientID"}
"""Tags kept for display to the clinician only (the case report), empty allowed; never used
for geometry or intensity, never logged."""

_REFUSED = frozenset({0x52009229, 0x52009230})
"""Shared and Per-frame Functional Groups: multi-frame images go to pydicom."""


class _NeedsPydicomError(Exception):
    """The file needs pydicom."""


@dataclass(frozen=True, slots=True)
class LeanHeader:
    """The values ingest needs from one single-frame image, as pydicom would give them."""

    values: dict[str, Any]
    """Keyword to value: ``str`` or ``list[str]`` for text, ``float`` or ``list[float]`` for
    DS, ``int`` for US, SS and IS; only the elements present in the file."""
    transfer_syntax_uid: str
    pixel_data_offset: int
    """Byte offset of the Pixel Data value in the file."""
    pixel_data_length: int
    file_size: int


def _text(value: bytes) -> list[str]:
    if any(byte < 0x20 or byte > 0x7E for byte in value.rstrip(b" \x00")):
        raise _NeedsPydicomError  # control characters, other character sets: pydicom decodes
    return value.decode("ascii").rstrip(" \x00").split("\\")


def _convert(vr: bytes, value: bytes) -> Any:
    if vr in (b"US", b"SS"):
        if len(value) != 2:
            raise _NeedsPydicomError
        return (_UINT16 if vr == b"US" else _INT16).unpack(value)[0]
    items = _text(value)
    if vr == b"DS":
        try:
            numbers = [float(item) for item in items]
        except ValueError:
            raise _NeedsPydicomError from None
        if not all(math.isfinite(number) for number in numbers):
            raise _NeedsPydicomError
        return numbers[0] if len(numbers) == 1 else numbers
    if vr == b"IS":
        if len(items) != 1 or not items[0].strip().isdigit():
            raise _NeedsPydicomError
        return int(items[0])
    if "" in items or (vr == b"LO" and len(items) != 1):
        raise _NeedsPydicomError
    return items[0] if len(items) == 1 else items


_MAX_DEPTH = 8
"""Sequences nested deeper than this (CT headers nest two or three) go to pydicom."""


def _skip_undefined_sequence(data: bytes, pos: int, depth: int) -> int:
    """Position after a sequence of undefined length whose first item starts at ``pos``,
    ``depth`` sequences deep."""
    if depth > _MAX_DEPTH:
        raise _NeedsPydicomError
    while True:
        if pos + 8 > len(data):
            raise _NeedsPydicomError
        tag = (_UINT16.unpack_from(data, pos)[0] << 16) | _UINT16.unpack_from(data, pos + 2)[0]
        length = _UINT32.unpack_from(data, pos + 4)[0]
        pos += 8
        if tag == _SEQUENCE_END:
            return pos
        if tag != _ITEM:
            raise _NeedsPydicomError
        if length != _UNDEFINED:
            pos += length
            continue
        pos = _walk(data, pos, None, until_item_end=True, depth=depth)


def _walk(data: bytes, pos: int, values: dict[str, Any] | None,
          until_item_end: bool = False, depth: int = 0) -> int:
    """Walk explicit VR little-endian elements from ``pos``.

    At the top level (``values`` given) the wanted values are kept and the walk
    stops at Pixel Data, returning the position of its element header; inside a
    sequence item ``depth`` sequences deep it returns the position after the item's
    delimiter.
    """
    end = len(data)
    while True:
        if pos + 8 > end:
            raise _NeedsPydicomError  # the header does not fit in the prefix read
        group, element = _UINT16.unpack_from(data, pos)[0], _UINT16.unpack_from(data, pos + 2)[0]
        tag = (group << 16) | element
        if tag == _ITEM_END and until_item_end:
            return pos + 8
        if values is not None and tag == _PIXEL_DATA:
            return pos
        if group == 0xFFFE or tag in _REFUSED:
            raise _NeedsPydicomError
        vr = data[pos + 4:pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > end:
                raise _NeedsPydicomError
            length = _UINT32.unpack_from(data, pos + 8)[0]
            pos += 12
        else:
            if not vr.isalpha() or not vr.isupper():
                raise _NeedsPydicomError
            length = _UINT16.unpack_from(data, pos + 6)[0]
            pos += 8
        if length == _UNDEFINED:
            if vr != b"SQ":
                raise _NeedsPydicomError
            pos = _skip_undefined_sequence(data, pos, depth + 1)
            continue
        if values is not None and tag in _DISPLAY:
            if pos + length > end:
                raise _NeedsPydicomError
            values[_DISPLAY[tag]] = "\\".join(_text(data[pos:pos + length])) if length else ""
        elif values is not None and tag in _WANTED:
            keyword, vrs = _WANTED[tag]
            if vr not in vrs or pos + length > end:
                raise _NeedsPydicomError
            if length:
                values[keyword] = _convert(vr, data[pos:pos + length])
            else:
                raise _NeedsPydicomError  # empty values: pydicom's conventions apply
        pos += length


def _file_meta(data: bytes) -> tuple[str, int]:
    """Transfer Syntax UID and the position after the file meta information."""
    if len(data) < 132 or data[128:132] != b"DICM":
        raise _NeedsPydicomError
    pos, syntax = 132, None
    while pos + 8 <= len(data) and _UINT16.unpack_from(data, pos)[0] == 0x0002:
        element = _UINT16.unpack_from(data, pos + 2)[0]
        vr = data[pos + 4:pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > len(data):
                raise _NeedsPydicomError  # the file ends inside the element's header
            length = _UINT32.unpack_from(data, pos + 8)[0]
            pos += 12
        else:
            length = _UINT16.unpack_from(data, pos + 6)[0]
            pos += 8
        if length == _UNDEFINED or pos + length > len(data):
            raise _NeedsPydicomError
        if element == 0x0010:
            items = _text(data[pos:pos + length])
            if len(items) != 1:
                raise _NeedsPydicomError
            syntax = items[0]
        pos += length
    if syntax is None:
        raise _NeedsPydicomError
    return syntax, pos


def read_lean(path: str | os.PathLike[str]) -> LeanHeader | None:
    """The header of a single-frame Explicit VR Little Endian image, or ``None``.

    ``None`` means: parse this file with pydicom (it may be valid or not).
    Raises ``OSError`` only when the file cannot be opened or read.
    """
    with open(path, "rb") as handle:
        data = handle.read(LEAN_PREFIX_BYTES)
        size = os.fstat(handle.fileno()).st_size
    try:
        syntax, pos = _file_meta(data)
        if syntax != _EXPLICIT_VR_LITTLE_ENDIAN:
            return None
        values: dict[str, Any] = {}
        pos = _walk(data, pos, values)
        if data[pos + 4:pos + 6] not in (b"OB", b"OW") or pos + 12 > len(data):
            return None
        length = _UINT32.unpack_from(data, pos + 8)[0]
    except _NeedsPydicomError:
        return None
    if length == _UNDEFINED or not values.get("Rows"):
        return None
    return LeanHeader(values, syntax, pos + 12, length, size)
