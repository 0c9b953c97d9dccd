"""Read the pixels of a sorted series into a :class:`~corridor.ingest.model.Volume`.

Each file of the selected series is read once: its bytes are hashed (SHA-256,
for provenance) and parsed from memory, its pixels decoded through pydicom's
handlers (compressed transfer syntaxes included) straight into one preallocated
array, so that peak memory stays close to the size of the volume.
"""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.pixels.utils import pixel_array

from corridor.ingest.enum import WarningCode
from corridor.ingest.errors import UnsafeSeriesError
from corridor.ingest.io import SliceHeader
from corridor.ingest.model import IngestWarning, SourceFile, Volume
from corridor.ingest.ops import SortedSeries

__all__ = ["load_volume"]

_INT16 = np.iinfo(np.int16)


def _padding(stored: NDArray[np.integer], header: SliceHeader) -> NDArray[np.bool_] | None:
    value = header.pixel_padding_value
    if value is None:
        return None
    limit = header.pixel_padding_range_limit
    if limit is None:
        return np.asarray(stored == value)
    low, high = min(value, limit), max(value, limit)
    return np.asarray((stored >= low) & (stored <= high))


def _integral(header: SliceHeader) -> bool:
    return float(header.rescale_slope).is_integer() and float(header.rescale_intercept).is_integer()


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
        A file of the series cannot be decoded, has changed since its header was
        read, or two images at one position hold different pixels.
    """
    slices = series.slices
    shape_i, shape_j, shape_k = series.geometry.shape
    integral = all(_integral(h) for h in slices)
    data: NDArray[np.generic] = np.empty((shape_k, shape_j, shape_i),
                                         dtype=np.int16 if integral else np.float32)
    has_padding = any(h.pixel_padding_value is not None for h in slices)
    mask = np.zeros((shape_k, shape_j, shape_i), dtype=bool) if has_padding else None
    by_file: dict[str, list[tuple[int, SliceHeader]]] = defaultdict(list)
    for k, header in enumerate(slices):
        by_file[header.path].append((k, header))
    duplicate_files = {dropped.path for _, dropped in series.duplicates}
    compared = {(h.path, h.frame) for pair in series.duplicates for h in pair}
    pixel_digests: dict[tuple[str, int], str] = {}
    sources: dict[int, SourceFile] = {}
    for path in sorted(set(by_file) | duplicate_files):
        raw = Path(path).read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        try:
            ds = pydicom.dcmread(io.BytesIO(raw))
            frames = pixel_array(ds)
        except Exception as exc:  # any decoder failure refuses the series
            raise UnsafeSeriesError(
                "pixel-data", f"cannot decode the pixels: {type(exc).__name__}: {exc}",
                files=[path], expected="pixel data decodable by pydicom's handlers",
            ) from exc
        if frames.ndim == 2:
            frames = frames[np.newaxis]
        for (k, header) in by_file.get(path, []):
            stored = frames[header.frame]
            if stored.shape != (shape_j, shape_i):
                raise UnsafeSeriesError("image-size", "decoded pixels differ from Rows/Columns",
                                        files=[path], found=stored.shape,
                                        expected=f"{(shape_j, shape_i)}")
            if mask is not None:
                padding = _padding(stored, header)
                if padding is not None:
                    mask[k] = padding
            hu = stored.astype(np.float64) * header.rescale_slope + header.rescale_intercept
            if data.dtype == np.int16 and (hu.min() < _INT16.min or hu.max() > _INT16.max):
                data = data.astype(np.float32)
            data[k] = hu
            sources[k] = SourceFile(path, header.sop_instance_uid, digest)
        for frame_index in range(frames.shape[0]):
            if (path, frame_index) in compared:
                pixel_digests[(path, frame_index)] = hashlib.sha256(
                    np.ascontiguousarray(frames[frame_index]).tobytes()).hexdigest()
        del raw, ds, frames
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
    packed = Volume.pack_padding(mask.transpose(2, 1, 0)) if mask is not None else None
    del mask
    return Volume(
        hu=data.transpose(2, 1, 0),
        geometry=series.geometry,
        series_instance_uid=slices[0].series_instance_uid,
        sources=tuple(sources[k] for k in range(len(slices))),
        warnings=tuple(warnings),
        padding_packed=packed,
    )
