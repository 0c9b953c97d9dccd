"""Read the pixels of a sorted series into a :class:`~corridor.ingest.model.Volume`.

Each file of the selected series is read once: its bytes are hashed (SHA-256,
for provenance) and parsed from memory, its pixels decoded through pydicom's
handlers (compressed transfer syntaxes included) and rescaled straight into one
preallocated array, so that peak memory stays close to the size of the volume.

One helper thread reads and hashes the next files while the calling thread
decodes the current one: reading and hashing release the GIL, so the two overlap
on a machine with two cores or more.  Only the calling thread parses and decodes
(pydicom is never called from two threads at once), and it takes the files in
the same order as a single thread would, so the volume, and the first error
raised, are the same.
"""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict, deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import ImageGeometry
from corridor.ingest.enum import WarningCode
from corridor.ingest.errors import UnsafeSeriesError
from corridor.ingest.io import (
    SliceHeader,
    advise_will_need,
    failure_words,
    quiet_pydicom,
    well_formed_uid,
)
from corridor.ingest.model import IngestWarning, Regularization, SourceFile, Volume
from corridor.ingest.ops import SortedSeries
from corridor.ingest.regularize import regularize

__all__ = ["COMPRESSED_TRANSFER_SYNTAXES", "NATIVE_TRANSFER_SYNTAXES", "load_volume",
           "transfer_syntax_name"]

_INT16 = np.iinfo(np.int16)

_INT32_MAX = np.iinfo(np.int32).max

_READ_AHEAD = 2
"""Files read and hashed ahead of the one being decoded (each held in memory until decoded)."""

NATIVE_TRANSFER_SYNTAXES = frozenset({
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.2",  # Explicit VR Big Endian (retired)
})
"""Uncompressed transfer syntaxes, decoded by pydicom itself (no plugin)."""

COMPRESSED_TRANSFER_SYNTAXES = frozenset({
    "1.2.840.10008.1.2.5",  # RLE Lossless
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless, Non-Hierarchical (Process 14)
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless, Process 14, Selection Value 1
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Lossy (Near-Lossless)
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 (Lossless Only)
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
})
"""Compressed transfer syntaxes decoded through pydicom's decoder plugins (the ``codecs`` and
``gdcm`` extras), each verified against pydicom's decode and, when lossless, the original
(``verification/features/ingest/transfer_syntaxes.feature``).  Any other syntax, HTJ2K and
JPEG baseline included, is refused by name: none of its files has been verified."""

LOSSY_TRANSFER_SYNTAXES = frozenset({
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Lossy (Near-Lossless)
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
})
"""The decoded syntaxes that may lose information (JPEG 2000 may also hold lossless data;
it is counted lossy unless the files say otherwise, as the safe side)."""

_UNNAMED_BY_PYDICOM = {
    "1.2.840.10008.1.2.8.1": "Deflated Image Frame Compression",
    "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
    "1.2.840.10008.1.2.4.111": "JPEG XL JPEG Recompression",
    "1.2.840.10008.1.2.4.112": "JPEG XL",
}
"""Names of transfer syntaxes newer than the pydicom in use, for messages."""

_EXPORT_UNCOMPRESSED = "or export the series uncompressed (Explicit VR Little Endian)"


def _read(path: str) -> tuple[bytes, str]:
    """A file's bytes and their SHA-256 (hex digest)."""
    raw = Path(path).read_bytes()
    return raw, hashlib.sha256(raw).hexdigest()


def _padding(stored: NDArray[np.integer], header: SliceHeader) -> NDArray[np.bool_] | None:
    value = header.pixel_padding_value
    if value is None:
        return None
    limit = header.pixel_padding_range_limit
    if limit is None:
        return np.asarray(stored == value)
    low, high = min(value, limit), max(value, limit)
    return np.asarray((stored >= low) & (stored <= high))


class _PaddingMask:
    """The volume's padding mask, filled slice by slice, packed as :class:`Volume` keeps it.

    When the voxels of a slice fill whole bytes (rows x columns a multiple of 8, as
    in any 512 x 512 image), each slice is packed as it comes: the bits of slice k
    start on a byte boundary of the packed mask, so the mask never costs more than
    its packed size (1/16 of an int16 volume).  Otherwise the booleans are kept (half
    an int16 volume) and packed at the end.
    """

    def __init__(self, shape_kji: tuple[int, int, int]) -> None:
        slices, rows, columns = shape_kji
        whole_bytes = rows * columns % 8 == 0
        self._slice_bytes = rows * columns // 8
        self._packed = np.zeros(slices * self._slice_bytes if whole_bytes else 0, dtype=np.uint8)
        self._full = None if whole_bytes else np.zeros(shape_kji, dtype=bool)

    def set_slice(self, k: int, padding: NDArray[np.bool_]) -> None:
        """Record the padding voxels of slice ``k`` (``[j, i]``)."""
        if self._full is None:
            start = k * self._slice_bytes
            self._packed[start:start + self._slice_bytes] = np.packbits(padding.reshape(-1))
        else:
            self._full[k] = padding

    def packed(self) -> NDArray[np.uint8]:
        """The mask as :attr:`Volume.padding_packed` keeps it."""
        if self._full is None:
            return self._packed
        return Volume.pack_padding(self._full.transpose(2, 1, 0))


def _integral(header: SliceHeader) -> bool:
    return float(header.rescale_slope).is_integer() and float(header.rescale_intercept).is_integer()


def _int16_exactly(stored: NDArray[Any], header: SliceHeader) -> tuple[int, int] | None:
    """Integral (slope, intercept) when this slice's HU can be computed in int32 and fit int16.

    That holds for stored integers of at most 16 bits, an integral slope and
    intercept small enough that no product or sum leaves int32, and HU within
    int16; the result is then exactly the float64 computation's.  ``None`` otherwise.
    """
    if stored.dtype.kind not in "iu" or stored.dtype.itemsize > 2 or not _integral(header):
        return None
    if abs(header.rescale_slope) * 65536 + abs(header.rescale_intercept) > _INT32_MAX:
        return None
    slope, intercept = int(header.rescale_slope), int(header.rescale_intercept)
    ends = (int(stored.min()) * slope + intercept, int(stored.max()) * slope + intercept)
    if min(ends) < _INT16.min or max(ends) > _INT16.max:
        return None
    return slope, intercept


def _store_hu(data: NDArray[Any], k: int, stored: NDArray[Any],
              header: SliceHeader) -> NDArray[Any]:
    """Rescale slice ``k`` to HU into ``data``; the volume, turned float32 if HU leave int16."""
    exact = _int16_exactly(stored, header) if data.dtype == np.int16 else None
    if exact is not None:
        slope, intercept = exact
        if slope == 1 and stored.dtype == np.int16 and _INT16.min <= intercept <= _INT16.max:
            # every sum lies within int16 (_int16_exactly checked), so int16 cannot wrap
            np.add(stored, np.int16(intercept), out=data[k])
        else:
            scaled = stored if slope == 1 else np.multiply(stored, slope, dtype=np.int32)
            np.add(scaled, intercept, out=data[k], dtype=np.int32)
        return data
    hu = stored.astype(np.float64) * header.rescale_slope + header.rescale_intercept
    if data.dtype == np.int16 and (hu.min() < _INT16.min or hu.max() > _INT16.max):
        data = data.astype(np.float32)
    data[k] = hu
    return data


def transfer_syntax_name(uid: str) -> str:
    """A transfer syntax as messages name it: ``Name (UID)``."""
    if not uid:
        return "no Transfer Syntax UID (0002,0010)"
    if not well_formed_uid(uid):
        return f"a malformed Transfer Syntax UID ({uid!a})"
    from pydicom.uid import UID

    name = _UNNAMED_BY_PYDICOM.get(uid) or UID(uid).name
    return f"{name} ({uid})" if name != uid else f"an unnamed transfer syntax ({uid})"


def _require_decodable(headers: Sequence[SliceHeader]) -> None:
    """Refuse, before reading any pixel, a syntax that is not decoded here or whose decoder
    plugin is not installed, naming it and what to do.

    Raises
    ------
    UnsafeSeriesError
        Check ``transfer-syntax``: ``found`` is the syntax's name and UID.
    """
    files: dict[str, set[str]] = defaultdict(set)
    for header in headers:
        files[header.transfer_syntax_uid].add(header.path)
    for uid in sorted(set(files) - NATIVE_TRANSFER_SYNTAXES):
        named = transfer_syntax_name(uid)
        if uid not in COMPRESSED_TRANSFER_SYNTAXES:
            raise UnsafeSeriesError(
                "transfer-syntax", "the pixel data are in a transfer syntax Corridor does "
                "not decode", files=sorted(files[uid]), found=named,
                expected="an uncompressed syntax, RLE Lossless, JPEG Lossless (Process 14 or "
                "its Selection Value 1), JPEG-LS or JPEG 2000 (not High-Throughput): "
                f"re-export the series in one of those, {_EXPORT_UNCOMPRESSED}")
        from pydicom.pixels.decoders.base import get_decoder  # compressed pixels need pydicom

        decoder = get_decoder(uid)
        if not decoder.available_plugins:
            needs = "; ".join(decoder.missing_dependencies) or "a decoder plugin"
            raise UnsafeSeriesError(
                "transfer-syntax", f"no decoder for {named} is installed (pydicom reports: "
                f"{needs})", files=sorted(files[uid]), found=named,
                expected="an installed decoder: install the codec extras "
                f"(pip install 'corridor[codecs]', or 'corridor[gdcm]'), {_EXPORT_UNCOMPRESSED}")


_DECODED_FLOOR_BYTES = 64 << 20
"""Decoded pixels of one file (bytes) accepted from compressed data whatever its size."""

_MAX_COMPRESSION_RATIO = 1000
"""Beyond :data:`_DECODED_FLOOR_BYTES`, the most decoded bytes accepted per byte of a file
in a compressed syntax (lossless codecs give 2 to 4, lossy ones rarely 100): a header
declaring more is damaged, and decoding it would allocate what it declares."""


def _require_plausible_length(ds: Any, path: str, syntax: str, file_bytes: int) -> None:
    """Refuse, before decoding, pixel data whose length does not fit the image's description.

    Uncompressed Pixel Data must be exactly as long as Rows (0028,0010), Columns
    (0028,0011), Samples per Pixel (0028,0002), Bits Allocated (0028,0100) and Number of
    Frames (0028,0008) give (pydicom decodes a longer one, ignoring the excess, into a
    wrong image); compressed data may declare at most :data:`_DECODED_FLOOR_BYTES`, or
    :data:`_MAX_COMPRESSION_RATIO` times its file's size.

    Raises
    ------
    UnsafeSeriesError
        Check ``pixel-data``: the bytes found and those the description gives.
    """
    from pydicom.pixels.utils import get_expected_length

    expected = get_expected_length(ds, "bytes")
    if syntax in NATIVE_TRANSFER_SYNTAXES:
        actual = len(ds.PixelData)
        if actual not in (expected, expected + expected % 2):
            raise UnsafeSeriesError(
                "pixel-data", "the uncompressed Pixel Data (7FE0,0010) is not as long as the "
                "image's Rows (0028,0010), Columns (0028,0011), Samples per Pixel (0028,0002), "
                "Bits Allocated (0028,0100) and Number of Frames (0028,0008) give: the header or "
                "the pixels are damaged", files=[path], found=f"{actual} bytes",
                expected=f"{expected} bytes (one more to make it even)")
    elif expected > max(_DECODED_FLOOR_BYTES, _MAX_COMPRESSION_RATIO * file_bytes):
        raise UnsafeSeriesError(
            "pixel-data", "the image's Rows (0028,0010), Columns (0028,0011), Samples per Pixel "
            "(0028,0002), Bits Allocated (0028,0100) and Number of Frames (0028,0008) declare "
            "more decoded pixels than any codec makes of a file this size: the header is "
            "damaged", files=[path], found=f"{expected} bytes declared from a file of "
            f"{file_bytes} bytes", expected=f"at most {_DECODED_FLOOR_BYTES} bytes, or "
            f"{_MAX_COMPRESSION_RATIO} times the file's size")


def _decode(raw: bytes, path: str, header: SliceHeader,
            rows_columns: tuple[int, int]) -> NDArray[Any]:
    """All frames of one file, ``(frames, rows, columns)``, as stored (before rescale).

    Native 16-bit little-endian single-frame images are taken straight from the
    bytes at the offset the header scan found (the scan already parsed the file);
    everything else, compressed syntaxes included, is parsed and decoded by pydicom.
    """
    if header.native_pixels is not None:
        offset, dtype = header.native_pixels
        count = rows_columns[0] * rows_columns[1]
        if offset + 2 * count <= len(raw):
            pixels = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
            return pixels.astype(dtype[1:], copy=True).reshape(1, *rows_columns)
    try:
        import pydicom  # only for pixels not stored natively (start-up, SRS-CLI-002)
        from pydicom.pixels.utils import pixel_array

        with quiet_pydicom():
            ds = pydicom.dcmread(io.BytesIO(raw))
            _require_plausible_length(ds, path, header.transfer_syntax_uid, len(raw))
            frames = pixel_array(ds)
    except UnsafeSeriesError:
        raise
    except Exception as exc:  # any decoder failure refuses the series
        raise UnsafeSeriesError(
            "pixel-data", f"cannot decode the {transfer_syntax_name(header.transfer_syntax_uid)}"
            f" pixel data: {failure_words(exc)}",
            files=[path], expected="pixel data decodable by pydicom's handlers",
        ) from exc
    return frames[np.newaxis] if frames.ndim == 2 else frames


def load_volume(series: SortedSeries, notes: Sequence[IngestWarning] = ()) -> Volume:
    """Decode, rescale to HU and stack the slices of a validated series.

    HU are stored as int16 when every slope and intercept is integral and the
    values fit, else as float32 (never a lossy cast).  Stored values equal to
    the Pixel Padding Value (or within its range) are marked in the padding
    mask, found before rescaling as the standard defines it.

    ``notes`` are warnings found before loading (e.g. skipped files), kept first.

    Raises
    ------
    UnsafeSeriesError
        A file of the series is in a transfer syntax not decoded here or whose decoder
        is not installed (check ``transfer-syntax``, before any pixel is read), cannot
        be decoded, has changed since its header was read, or two images at one
        position hold different pixels.
    """
    slices = series.slices
    _require_decodable([*slices, *(dropped for _, dropped in series.duplicates)])
    shape_i, shape_j, shape_k = series.geometry.shape
    integral = all(_integral(h) for h in slices)
    has_padding = any(h.pixel_padding_value is not None for h in slices)
    # allocated once the first file's pixels have decoded to the size its header states:
    # a damaged Rows or Columns is refused before the volume it implies is allocated
    data: NDArray[np.generic] | None = None
    mask: _PaddingMask | None = None
    by_file: dict[str, list[tuple[int, SliceHeader]]] = defaultdict(list)
    for k, header in enumerate(slices):
        by_file[header.path].append((k, header))
    duplicate_files = {dropped.path for _, dropped in series.duplicates}
    header_of = {h.path: h for h in (*slices, *(d for _, d in series.duplicates))}
    compared = {(h.path, h.frame) for pair in series.duplicates for h in pair}
    pixel_digests: dict[tuple[str, int], str] = {}
    sources: dict[int, SourceFile] = {}
    paths = sorted(set(by_file) | duplicate_files)
    advise_will_need(paths)
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="corridor-ingest-read")
    try:
        ahead: deque[Future[tuple[bytes, str]]] = deque(
            reader.submit(_read, path) for path in paths[:_READ_AHEAD])
        for index, path in enumerate(paths):
            raw, digest = ahead.popleft().result()
            if index + _READ_AHEAD < len(paths):
                ahead.append(reader.submit(_read, paths[index + _READ_AHEAD]))
            frames = _decode(raw, path, header_of[path], (shape_j, shape_i))
            for (k, header) in by_file.get(path, []):
                stored = frames[header.frame]
                if stored.shape != (shape_j, shape_i):
                    raise UnsafeSeriesError("image-size", "decoded pixels differ from Rows/Columns",
                                            files=[path], found=stored.shape,
                                            expected=f"{(shape_j, shape_i)}")
                if data is None:
                    data = np.empty((shape_k, shape_j, shape_i),
                                    dtype=np.int16 if integral else np.float32)
                    mask = _PaddingMask((shape_k, shape_j, shape_i)) if has_padding else None
                if mask is not None:
                    padding = _padding(stored, header)
                    if padding is not None:
                        mask.set_slice(k, padding)
                data = _store_hu(data, k, stored, header)
                sources[k] = SourceFile(path, header.sop_instance_uid, digest)
            for frame_index in range(frames.shape[0]):
                if (path, frame_index) in compared:
                    pixel_digests[(path, frame_index)] = hashlib.sha256(
                        np.ascontiguousarray(frames[frame_index]).tobytes()).hexdigest()
            del raw, frames
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
    if data is None:  # never: a sorted series holds two slices or more
        raise UnsafeSeriesError("too-few-slices", "no slice was loaded",
                                expected="2 or more slices")
    warnings = [*notes, *series.warnings]
    for kept, dropped in series.duplicates:
        if pixel_digests[(kept.path, kept.frame)] != pixel_digests[(dropped.path, dropped.frame)]:
            raise UnsafeSeriesError(
                "duplicate-slice", "two images at one position hold different pixels",
                files=[kept.path, dropped.path], expected="one image per slice position",
            )
        warnings.append(IngestWarning(
            WarningCode.DUPLICATE_IDENTICAL_SLICE_DROPPED,
            f"{dropped.path} repeats the position and pixels of {kept.path}; left out",
        ))
    lossy = sorted(h.path for h in slices if h.lossy_image_compression
                   or h.transfer_syntax_uid in LOSSY_TRANSFER_SYNTAXES)
    if lossy:
        warnings.append(IngestWarning(
            WarningCode.LOSSY_COMPRESSION,
            f"{len(lossy)} of {len(slices)} images are or were lossy compressed (Lossy Image "
            "Compression (0028,2110) 01, or a lossy transfer syntax): their HU may differ "
            f"from those acquired; review the images (first: {lossy[0]})",
        ))
    if series.not_hounsfield is not None:
        warnings.append(IngestWarning(
            WarningCode.NOT_HOUNSFIELD,
            f"the values are not CT Hounsfield units: {series.not_hounsfield}; loaded for "
            "inspection only (inference refuses it)",
        ))
    packed = mask.packed() if mask is not None else None
    del mask
    hu: NDArray[np.generic] = data.transpose(2, 1, 0)
    geometry, regularization = series.geometry, None
    if series.regularize:
        hu, geometry, packed, regularization = _regularize(series, data, packed)
        reasons = " and ".join(r.value for r in regularization.reasons)
        warnings.append(IngestWarning(
            WarningCode.REGULARIZED,
            f"resampled onto a regular grid ({reasons}; tilt {regularization.tilt_deg:.2f}°, "
            f"slices {regularization.output_spacing_mm[2]:.3f} mm apart, largest correction "
            f"{regularization.largest_displacement_mm:.2f} mm): not the acquired grid, review "
            "the images",
        ))
    return Volume(
        hu=hu,
        geometry=geometry,
        series_instance_uid=slices[0].series_instance_uid,
        sources=tuple(sources[k] for k in range(len(slices))),
        warnings=tuple(warnings),
        padding_packed=packed,
        display=slices[0].display,
        not_hounsfield=series.not_hounsfield,
        regularization=regularization,
    )


def _regularize(series: SortedSeries, data: NDArray[Any], packed: NDArray[np.uint8] | None
                ) -> tuple[NDArray[np.generic], ImageGeometry, NDArray[np.uint8] | None,
                           Regularization]:
    """The loaded stack ``(k, j, i)`` resampled onto a regular grid (``--regularize``)."""
    first = series.slices[0]
    padding = (None if packed is None else
               np.unpackbits(packed, count=data.size).astype(bool).reshape(data.shape))
    positions = np.array([h.image_position_patient for h in series.slices], dtype=np.float64)
    hu, geometry, padding_ijk, regularization = regularize(
        data, positions, np.asarray(first.image_orientation_patient, dtype=np.float64),
        np.asarray(first.pixel_spacing, dtype=np.float64), padding,
        frame_of_reference_uid=first.frame_of_reference_uid)
    packed_out = Volume.pack_padding(padding_ijk) if padding_ijk.any() else None
    return hu, geometry, packed_out, regularization
