"""Label maps from files, always with their geometry: NIfTI (RAS converted), NRRD, DICOM SEG.

Read within stated bounds whatever the header claims (HAZ-038): the file must be a regular
file; the grid its header describes (for a DICOM SEG, its frames) at most
:data:`MAX_LABEL_MAP_VOXELS` voxels and :data:`MAX_LABEL_MAP_BYTES` bytes of data; and the
file (for compressed files, its decompressed stream, counted in chunks and never kept) must
hold that data before any array is allocated for it.  A NRRD whose data lies in another file
(``data file``) is refused: a label map is one file.
"""

from __future__ import annotations

import bz2
import math
import os
import stat
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import ImageGeometry
from corridor.images.errors import ImageFileError
from corridor.images.model import LabelMap
from corridor.reading import open_bounded

__all__ = ["MAX_LABEL_MAP_BYTES", "MAX_LABEL_MAP_VOXELS", "read_label_map"]

MAX_LABEL_MAP_VOXELS = 1 << 30
"""The most voxels a label map may have (a 512 x 512 x 4096 grid)."""

MAX_LABEL_MAP_BYTES = 2 << 30
"""The most bytes of voxel data a label map may have (its voxels at two bytes each)."""

_CHUNK = 1 << 20

_NRRD_ITEMSIZE = {name: size for size, names in (
    (1, "signed char, int8, int8_t, uchar, unsigned char, uint8, uint8_t"),
    (2, "short, short int, signed short, signed short int, int16, int16_t, ushort, "
        "unsigned short, unsigned short int, uint16, uint16_t"),
    (4, "int, signed int, int32, int32_t, uint, unsigned int, uint32, uint32_t, float"),
    (8, "longlong, long long, long long int, signed long long, signed long long int, int64, "
        "int64_t, ulonglong, unsigned long long, unsigned long long int, uint64, uint64_t, "
        "double")) for name in names.split(", ")}
"""Bytes per voxel of each NRRD type name (the NRRD format's table; ``block`` is not a
label)."""

_NRRD_SPACES = {"left-posterior-superior": np.diag([1.0, 1.0, 1.0]),
                "right-anterior-superior": np.diag([-1.0, -1.0, 1.0]),
                "LPS": np.diag([1.0, 1.0, 1.0]), "RAS": np.diag([-1.0, -1.0, 1.0])}


def _labels(path: Path, data: NDArray[np.generic]) -> NDArray[np.uint8]:
    if data.ndim != 3:
        raise ImageFileError("dimensions", f"{path}: {data.shape}", "a 3-D label map")
    values = np.asarray(data)
    if not np.issubdtype(values.dtype, np.integer) and (
            not np.all(np.isfinite(values)) or not np.array_equal(values, np.round(values))):
        raise ImageFileError("voxel values", f"{path}: non-integer values", "integer labels")
    if values.min() < 0 or values.max() > 255:
        raise ImageFileError("voxel values", f"{path}: {values.min()}..{values.max()}",
                           "labels from 0 to 255")
    return np.asarray(values, dtype=np.uint8)


def _names(labels: NDArray[np.uint8]) -> tuple[str, ...]:
    return ("background", *(f"label-{n}" for n in range(1, int(labels.max()) + 1)))


def _segment_names(header: dict[str, Any], labels: NDArray[np.uint8]) -> tuple[str, ...] | None:
    """Label names from 3D Slicer's segmentation fields (``Segment<n>_Name`` and
    ``Segment<n>_LabelValue``, one layer); unnamed values keep ``label-<value>``."""
    names = list(_names(labels))
    found = False
    for key, value in header.items():
        if key.startswith("Segment") and key.endswith("_Name"):
            number = key[len("Segment"):-len("_Name")]
            label = header.get(f"Segment{number}_LabelValue")
            if label is None or not str(label).strip().isdigit():
                continue
            index = int(str(label))
            while len(names) <= index:
                names.append(f"label-{len(names)}")
            names[index] = str(value)
            found = True
    return tuple(names) if found else None


def _check_grid(path: Path, shape: tuple[int, ...], itemsize: int) -> int:
    """The bytes of data a header's grid needs, once it is within the bounds."""
    voxels = math.prod(int(n) for n in shape)
    if voxels > MAX_LABEL_MAP_VOXELS or voxels * itemsize > MAX_LABEL_MAP_BYTES:
        raise ImageFileError("dimensions", f"{path}: {tuple(shape)} of {itemsize}-byte voxels",
                             f"at most {MAX_LABEL_MAP_VOXELS} voxels and "
                             f"{MAX_LABEL_MAP_BYTES} bytes of data")
    return voxels * itemsize


def _check_length(path: Path, held: int, needed: int) -> None:
    if held < needed:
        raise ImageFileError("data", f"{path}: {held} bytes", f"the {needed} bytes its header "
                                                              "describes (the file is cut short)")


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _stream_length(stream: _Readable, decompress: Callable[[bytes], bytes], limit: int) -> int:
    """How many bytes the decompressed rest of ``stream`` holds, counted up to ``limit``."""
    count = 0
    while count < limit and (chunk := stream.read(_CHUNK)):
        count += len(decompress(chunk))
    return count


def _regular(path: Path) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ImageFileError("file", f"{path}: {exc.strerror or exc}",
                             "a readable NIfTI, NRRD or DICOM SEG label map") from exc
    if not stat.S_ISREG(mode):
        raise ImageFileError("file", f"{path}: not a regular file (a device, pipe or folder)",
                             "a NIfTI, NRRD or DICOM SEG label map file")


def _nifti_data_present(path: Path, image: Any) -> None:
    """The NIfTI image's grid within the bounds and its data in the file (``image`` loaded
    lazily: nibabel has read only the header)."""
    import gzip

    needed = _check_grid(path, image.shape, image.get_data_dtype().itemsize)
    offset = int(image.dataobj.offset)
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as stream:
            held = _stream_length(stream, lambda chunk: chunk, offset + needed)
    else:
        held = path.stat().st_size
    _check_length(path, held - offset, needed)


def _nrrd_data_present(path: Path, header: dict[str, Any], data_start: int) -> None:
    """The NRRD header's grid within the bounds, its data attached and in the file."""
    detached = header.get("data file", header.get("datafile"))
    if detached is not None:
        raise ImageFileError("data file", f"{path}: {detached!r}",
                             "the data in the same file as the header (a .nrrd, not .nhdr)")
    itemsize = _NRRD_ITEMSIZE.get(str(header.get("type")).strip().lower())
    if itemsize is None:
        raise ImageFileError("type", f"{path}: {header.get('type')!r}",
                             "an integer or floating-point NRRD type")
    needed = _check_grid(path, tuple(header["sizes"]), itemsize)
    encoding = str(header.get("encoding", "raw"))
    with path.open("rb") as stream:
        stream.seek(data_start)
        if encoding in ("gzip", "gz"):
            held = _stream_length(stream, zlib.decompressobj(zlib.MAX_WBITS | 16).decompress,
                                  needed + 1)
        elif encoding in ("bzip2", "bz2"):
            held = _stream_length(stream, bz2.BZ2Decompressor().decompress, needed + 1)
        elif encoding == "raw":
            held = path.stat().st_size - data_start
        else:
            raise ImageFileError("encoding", f"{path}: {encoding!r}", "raw, gzip or bzip2")
    _check_length(path, held, needed)
    if encoding != "raw" and held > needed:
        raise ImageFileError("data", f"{path}: more than {needed} bytes",
                             f"the {needed} bytes its header describes")


def _seg_grid_bounded(path: Path) -> None:
    """The DICOM SEG's frames (rows x columns x frames, one byte a pixel once unpacked) within
    the bounds, read from its header before highdicom reads the pixel data."""
    import pydicom

    with open_bounded(path, field="file", expected="a DICOM SEG label map") as stream:
        header = pydicom.dcmread(stream, stop_before_pixels=True)
    shape = (int(header.get("Rows") or 0), int(header.get("Columns") or 0),
             int(header.get("NumberOfFrames") or 1))
    _check_grid(path, shape, 1)


def read_label_map(path: Path) -> LabelMap:
    """Read a label map with its geometry (voxel index to LPS mm).

    ``.nii``/``.nii.gz``: the sform (else qform) affine, RAS, converted to LPS.
    ``.nrrd``: ``space directions`` and ``space origin`` in LPS or RAS; label names from
    3D Slicer's ``Segment<n>_Name``/``Segment<n>_LabelValue`` fields where present.
    ``.dcm``: a DICOM Segmentation; segments become labels 1, 2, ... with their
    segment labels as names.

    Raises
    ------
    ImageFileError
        Unknown suffix, unreadable file, missing geometry, not 3-D, or values that
        are not labels from 0 to 255.
    """
    # The readers' libraries load only when a file is read (start-up of every command).
    import highdicom
    import nibabel
    import nrrd

    name = path.name.lower()
    _regular(path)
    try:
        if name.endswith((".nii", ".nii.gz")):
            image: Any = nibabel.load(path)  # the header only: dataobj is read when asked
            _nifti_data_present(path, image)
            labels = _labels(path, np.asanyarray(image.dataobj))
            geometry = ImageGeometry.from_ras_affine(np.asarray(image.affine, np.float64),
                                                     labels.shape)
            return LabelMap(labels, geometry, _names(labels))
        if name.endswith(".nrrd"):
            with path.open("rb") as stream:
                header = nrrd.read_header(stream)
                data_start = stream.tell()
            _nrrd_data_present(path, header, data_start)
            data, header = nrrd.read(str(path))
            space = header.get("space")
            if space not in _NRRD_SPACES or "space directions" not in header:
                raise ImageFileError("space", f"{path}: {space!r}",
                                   "an LPS or RAS space with space directions and origin")
            flip = _NRRD_SPACES[space]
            affine = np.eye(4)
            affine[:3, :3] = flip @ np.asarray(header["space directions"], float).T
            affine[:3, 3] = flip @ np.asarray(header.get("space origin", [0, 0, 0]), float)
            labels = _labels(path, data)
            return LabelMap(labels, ImageGeometry(affine, labels.shape),
                            _segment_names(header, labels) or _names(labels))
        if name.endswith(".dcm"):
            _seg_grid_bounded(path)
            with open_bounded(path, field="file", expected="a DICOM SEG label map") as stream:
                segmentation = highdicom.seg.segread(cast(BinaryIO, stream))
            volume = segmentation.get_volume(combine_segments=True)
            labels = _labels(path, volume.array)
            names = ["background"] + [str(item.SegmentLabel)
                                      for item in segmentation.SegmentSequence]
            return LabelMap(labels, ImageGeometry(np.asarray(volume.affine, float),
                                                  labels.shape), tuple(names))
    except ImageFileError:
        raise
    except Exception as exc:  # any reader failure: one clear error naming the file
        raise ImageFileError("file", f"{path}: {type(exc).__name__}: {exc}",
                           "a readable NIfTI, NRRD or DICOM SEG label map") from exc
    raise ImageFileError("suffix", path.name, ".nii, .nii.gz, .nrrd or .dcm (DICOM SEG)")
