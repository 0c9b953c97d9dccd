"""Write a gridded image (CT volume, label map, uncertainty map) to NIfTI-1 (RAS) or NRRD (LPS)
for research tools and 3D Slicer.

The writers are implemented here with NumPy and the standard library only (the readers in
:mod:`corridor.images.readers` use nibabel and pynrrd, so writing and reading share no code).

Frames
------
Inside Corridor every coordinate is LPS mm (:mod:`corridor.geometry`).  NRRD states
its frame, so :func:`write_nrrd_lps` writes the LPS affine as it is
(``space: left-posterior-superior``).  NIfTI-1 is defined in RAS, so
:func:`write_nifti_ras` writes :meth:`~corridor.geometry.ImageGeometry.affine_ras`:
this is the one place Corridor converts out of LPS, and the function says so in its
name.  Voxel axes are written as stored, ``i`` (column) fastest, then ``j`` (row), then
``k`` (slice); no axis is flipped or permuted to make the file "look" axial.

Precision and limitations
-------------------------
* NRRD stores numbers as text; directions and origin are written with Python's
  shortest round-trip ``repr`` and read back bit-exact.
* NIfTI-1 stores ``srow_*``, ``pixdim``, the quaternion and its offset as float32: the
  sform is exact to float32 (relative error below 6e-8; about 8e-6 mm at 250 mm from the
  origin).  NIfTI-2 (float64) would remove this limit; no tool Corridor serves needs it.
* The qform holds a rotation, the voxel sizes and ``qfac`` (handedness) only.  When the
  direction cosines are not orthonormal within
  :data:`~corridor.geometry.DIRECTION_TOLERANCE` (e.g. a sheared gantry-tilt grid) the
  qform cannot represent the grid: the file gets ``qform_code = 0`` (unknown) and the
  exact sform only (``sform_code = 1``), so no reader can silently use a wrong grid.
  Within the tolerance the qform holds the nearest rotation (polar decomposition).
* The quaternion's first component ``a`` is not stored; readers recompute it as
  ``sqrt(1 - b² - c² - d²)`` from the float32 ``b, c, d``, and take ``a = 0`` when that is
  within a few float32 steps of 0.  Near a 180° rotation, which is where LPS-to-RAS puts
  near-axial scans, the qform's direction cosines can therefore be off by up to
  :data:`QFORM_DIRECTION_LIMIT` (about 0.3 mm at 250 mm from the origin), whatever the
  writer does; elsewhere they are good to about 1e-7.  The sform has no such limit, and
  NIfTI readers use it first when ``sform_code > 0``.
* The padding mask of the volume is not written; the voxel values are written as
  stored (padding voxels keep their stored value).  The frame of reference UID and the
  provenance of the volume are not written either; the header names the software that
  wrote the file and nothing about the patient.
* gzip output is reproducible: the gzip header holds no file name and a zero time stamp.

Atomic output
-------------
Each file is written to a temporary file beside the target and renamed over it with
:func:`os.replace` (:func:`corridor.staging.atomic_binary`, the one atomic writer of the
device software), so a failure part-way leaves the previous file (or none) in place,
never a half-written one, and the file gets the permissions the umask gives.
"""

from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import DIRECTION_TOLERANCE
from corridor.images.errors import ExportError
from corridor.images.model import GriddedImage
from corridor.provenance import software_identity
from corridor.staging import atomic_binary

__all__ = [
    "QFORM_DIRECTION_LIMIT",
    "ExportFormat",
    "export_volume",
    "write_nifti_ras",
    "write_nrrd_lps",
]

QFORM_DIRECTION_LIMIT = 1.3e-3
"""Largest error of a NIfTI-1 qform's direction cosines (absolute, per entry) as readers
rebuild them: a quaternion with ``a < sqrt(3 * float32 eps) ≈ 6e-4`` reads back as
``a = 0`` (nibabel's rule), an error of about ``2a`` in the rotation.  The sform is exact
to float32."""

PathLike = str | os.PathLike[str]
"""A file system path, as a string or a path object."""


class _ByteSink(Protocol):
    """Where a writer puts bytes: a binary file or a gzip stream over one."""

    def write(self, data: bytes, /) -> int:
        """Write ``data``; return the number of bytes written."""


class ExportFormat(Enum):
    """A file format :func:`export_volume` writes, with the file name suffix that selects it."""

    NIFTI = ".nii"
    """NIfTI-1, single file, uncompressed."""
    NIFTI_GZIP = ".nii.gz"
    """NIfTI-1, single file, the whole file gzip-compressed."""
    NRRD = ".nrrd"
    """NRRD, attached header, gzip-encoded data."""

    @classmethod
    def from_path(cls, path: Path) -> ExportFormat | None:
        """The format the file name's suffix selects (case-sensitive), or ``None``."""
        name = path.name
        for member in cls:
            if name.endswith(member.value) and len(name) > len(member.value):
                return member
        return None


def _expect_format(path: Path, accepted: tuple[ExportFormat, ...]) -> ExportFormat:
    found = ExportFormat.from_path(path)
    if found is None or found not in accepted:
        raise ExportError(path, "suffix", path.name, tuple(f.value for f in accepted))
    return found


# --- voxel types -------------------------------------------------------------------------

_NIFTI_DATATYPE: dict[str, tuple[int, int]] = {"uint8": (2, 8), "int16": (4, 16),
                                              "float32": (16, 32)}
"""NumPy type name to NIfTI-1 ``(datatype, bitpix)``: DT_UINT8, DT_INT16, DT_FLOAT32."""

_NRRD_TYPE: dict[str, str] = {"uint8": "uchar", "int16": "short", "float32": "float"}
"""NumPy type name to NRRD ``type``."""


def _voxel_type(volume: GriddedImage, path: Path) -> str:
    """``uint8``, ``int16`` or ``float32`` (either byte order), else :class:`ExportError`."""
    name = volume.voxels.dtype.name  # the name leaves out the byte order
    if name not in _NIFTI_DATATYPE:
        raise ExportError(path, "dtype", str(volume.voxels.dtype), tuple(_NIFTI_DATATYPE))
    return name


def _write_voxels(stream: _ByteSink, hu: NDArray[np.generic], type_name: str) -> None:
    """Write the voxels little-endian, ``i`` fastest, one slice at a time (bounded memory)."""
    little = np.dtype(type_name).newbyteorder("<")
    for k in range(hu.shape[2]):
        stream.write(np.asarray(hu[:, :, k], dtype=little).tobytes(order="F"))


# --- compressed output ----------------------------------------------------------------

_GZIP_LEVEL = 1
"""Fastest zlib level.  On noisy CT-like int16 data (512 x 512 x 300) it compresses to 44 %
in about 1.5 s; levels 6 and 9 reach 43 % and 42 % in about 15 s and 40 s."""


def _gzip_writer(stream: BinaryIO) -> gzip.GzipFile:
    """A gzip stream over ``stream`` that writes the same bytes for the same input.

    The gzip header gets no file name and a zero time stamp, so an export can be pinned
    by its SHA-256.
    """
    return gzip.GzipFile(filename="", mode="wb", compresslevel=_GZIP_LEVEL, fileobj=stream,
                         mtime=0)


def _write_atomic(path: Path, write: Callable[[_ByteSink], None], *, compress: bool) -> None:
    """Run ``write`` on a stream to ``path``, through gzip when ``compress``, atomically."""
    with atomic_binary(path) as stream:
        if compress:
            with _gzip_writer(stream) as zipped:
                write(zipped)
        else:
            write(stream)


def _software() -> str:
    return f"Corridor {software_identity().version}"


# --- NIfTI-1 -----------------------------------------------------------------------------

_NIFTI1_FIELDS: tuple[tuple[str, str], ...] = (
    ("sizeof_hdr", "i"), ("data_type", "10s"), ("db_name", "18s"), ("extents", "i"),
    ("session_error", "h"), ("regular", "1s"), ("dim_info", "B"), ("dim", "8h"),
    ("intent_p", "3f"), ("intent_code", "h"), ("datatype", "h"), ("bitpix", "h"),
    ("slice_start", "h"), ("pixdim", "8f"), ("vox_offset", "f"), ("scl_slope", "f"),
    ("scl_inter", "f"), ("slice_end", "h"), ("slice_code", "B"), ("xyzt_units", "B"),
    ("cal_max", "f"), ("cal_min", "f"), ("slice_duration", "f"), ("toffset", "f"),
    ("glmax", "i"), ("glmin", "i"), ("descrip", "80s"), ("aux_file", "24s"),
    ("qform_code", "h"), ("sform_code", "h"), ("quatern", "3f"), ("qoffset", "3f"),
    ("srow_x", "4f"), ("srow_y", "4f"), ("srow_z", "4f"), ("intent_name", "16s"),
    ("magic", "4s"),
)
"""The NIfTI-1 header (``nifti1.h``) in file order; array fields are packed as one entry."""

_NIFTI1_HEADER = struct.Struct("<" + "".join(fmt for _, fmt in _NIFTI1_FIELDS))
_NIFTI1_HEADER_SIZE = 348
_NIFTI1_VOX_OFFSET = 352
"""Header, then the 4-byte extension flag (all zero: no extensions); a multiple of 16."""

_NIFTI_XFORM_SCANNER_ANAT = 1
_NIFTI_XFORM_UNKNOWN = 0
_NIFTI_UNITS_MM = 2

_QUATERNION_A_SQUARED_ZERO = 1e-7
"""Below this ``a²`` the quaternion is written as a 180° rotation (``a = 0``): the rule
``nifti_quatern_to_mat44`` of the NIfTI reference library (nifti1_io.c) applies when it
reads, so writer and reference reader agree."""


def _nifti_header_bytes(values: dict[str, object]) -> bytes:
    """Pack ``values`` by field name; fields not given are zero (empty for text)."""
    packed: list[object] = []
    for name, fmt in _NIFTI1_FIELDS:
        value = values.get(name)
        if fmt.endswith("s") or len(fmt) == 1:
            packed.append(value if value is not None else b"" if fmt.endswith("s") else 0)
        elif isinstance(value, list):
            packed.extend(value)
        else:
            packed.extend([0] * int(fmt[:-1]))
    header = _NIFTI1_HEADER.pack(*packed)
    if len(header) != _NIFTI1_HEADER_SIZE:  # a defect in the field table, never the input
        raise RuntimeError(f"NIfTI-1 header packed to {len(header)} bytes, expected 348")
    return header


def _rotation_to_quaternion(rotation: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit quaternion ``(a, b, c, d)`` with ``a >= 0`` of a proper rotation matrix.

    Shepperd's method: divide by the largest of the four candidates, so no branch
    divides by a small number.  The convention is NIfTI-1's (``nifti1.h``, method 2).
    """
    r = rotation
    trace = r[0, 0] + r[1, 1] + r[2, 2]
    if trace > max(r[0, 0], r[1, 1], r[2, 2]):
        s = 2.0 * np.sqrt(1.0 + trace)
        q = [s / 4, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
    elif r[0, 0] >= r[1, 1] and r[0, 0] >= r[2, 2]:
        s = 2.0 * np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
        q = [(r[2, 1] - r[1, 2]) / s, s / 4, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
    elif r[1, 1] >= r[2, 2]:
        s = 2.0 * np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
        q = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, s / 4, (r[1, 2] + r[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
        q = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, s / 4]
    quaternion = np.asarray(q, dtype=np.float64)
    quaternion /= np.linalg.norm(quaternion)
    return -quaternion if quaternion[0] < 0 else quaternion


def _quatern_bcd(rotation: NDArray[np.float64]) -> list[float]:
    """``b, c, d`` of the rotation's quaternion, as NIfTI-1 stores them (float32 next).

    ``a²`` below :data:`_QUATERNION_A_SQUARED_ZERO` is set to 0 and ``b, c, d``
    renormalised, as the reference reader would; nothing finer is representable there,
    since float32 ``b, c, d`` leave ``a² = 1 - b² - c² - d²`` steps of about 1e-7.
    """
    quaternion = _rotation_to_quaternion(rotation)
    if quaternion[0] ** 2 < _QUATERNION_A_SQUARED_ZERO:
        quaternion[0] = 0.0
        quaternion /= np.linalg.norm(quaternion)
    return [float(v) for v in quaternion[1:]]


def _nifti_header(volume: GriddedImage, type_name: str) -> bytes:
    geometry = volume.geometry
    affine = geometry.affine_ras()
    steps = affine[:3, :3]
    spacing = np.linalg.norm(steps, axis=0)
    qfac = -1.0 if np.linalg.det(steps) < 0 else 1.0
    values: dict[str, object] = {
        "sizeof_hdr": _NIFTI1_HEADER_SIZE,
        "regular": b"r",
        "dim": [3, *geometry.shape, 1, 1, 1, 1],
        "datatype": _NIFTI_DATATYPE[type_name][0],
        "bitpix": _NIFTI_DATATYPE[type_name][1],
        "pixdim": [qfac, *spacing.tolist(), 1.0, 1.0, 1.0, 1.0],
        "vox_offset": float(_NIFTI1_VOX_OFFSET),
        "scl_slope": 1.0,
        "scl_inter": 0.0,
        "xyzt_units": _NIFTI_UNITS_MM,
        "descrip": f"{_software()} export, RAS".encode("ascii", "replace")[:79],
        "sform_code": _NIFTI_XFORM_SCANNER_ANAT,
        "srow_x": affine[0].tolist(),
        "srow_y": affine[1].tolist(),
        "srow_z": affine[2].tolist(),
        "magic": b"n+1\0",
    }
    if geometry.orthonormality_error <= DIRECTION_TOLERANCE:
        direction = steps / spacing
        direction[:, 2] *= qfac  # qfac carries the handedness; the rest is a rotation
        left, _, right = np.linalg.svd(direction)  # nearest rotation (polar decomposition)
        values["qform_code"] = _NIFTI_XFORM_SCANNER_ANAT
        values["quatern"] = _quatern_bcd(left @ right)
        values["qoffset"] = affine[:3, 3].tolist()
    else:
        values["qform_code"] = _NIFTI_XFORM_UNKNOWN
    return _nifti_header_bytes(values)


def write_nifti_ras(volume: GriddedImage, path: PathLike) -> Path:
    """Write ``volume`` as a NIfTI-1 single file, with its affine converted to RAS.

    Parameters
    ----------
    volume
        The image (a CT volume, label map, ...); voxels must be uint8, int16 or float32
        (written as NIfTI ``DT_UINT8``, ``DT_INT16`` or ``DT_FLOAT32``, little-endian,
        ``scl_slope = 1``, ``scl_inter = 0``).
    path
        Target file; ``.nii`` (uncompressed) or ``.nii.gz`` (the whole file gzip-
        compressed).  Parent folders are created; an existing file is replaced
        atomically.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ExportError
        The suffix is neither ``.nii`` nor ``.nii.gz`` (``field == "suffix"``), or the
        voxel type is not uint8, int16 or float32 (``field == "dtype"``).

    Notes
    -----
    Voxel axes are ``i, j, k`` as stored.  ``sform`` is the RAS affine
    (:meth:`~corridor.geometry.ImageGeometry.affine_ras`, mm) with ``sform_code = 1``
    (scanner).  The ``qform`` holds the same grid (quaternion, ``pixdim`` = voxel
    steps in mm, ``qfac = pixdim[0]`` = sign of the determinant) with
    ``qform_code = 1``, unless the direction cosines are not orthonormal within
    :data:`~corridor.geometry.DIRECTION_TOLERANCE` (sheared grid): then
    ``qform_code = 0`` and only the sform places the image.  ``xyzt_units`` is mm;
    ``descrip`` names the software and version.  See the module notes for float32
    precision.
    """
    target = Path(path)
    fmt = _expect_format(target, (ExportFormat.NIFTI, ExportFormat.NIFTI_GZIP))
    type_name = _voxel_type(volume, target)
    header = _nifti_header(volume, type_name)

    def write(stream: _ByteSink) -> None:
        stream.write(header)
        stream.write(b"\0" * (_NIFTI1_VOX_OFFSET - _NIFTI1_HEADER_SIZE))
        _write_voxels(stream, volume.voxels, type_name)

    _write_atomic(target, write, compress=fmt is ExportFormat.NIFTI_GZIP)
    return target


# --- NRRD --------------------------------------------------------------------------------

def _nrrd_vector(values: NDArray[np.float64]) -> str:
    return "(" + ",".join(repr(float(v)) for v in values) + ")"


def _nrrd_header(volume: GriddedImage, type_name: str) -> bytes:
    geometry = volume.geometry
    affine = geometry.affine
    lines = [
        "NRRD0004",
        "# Complete NRRD file format specification at:",
        "# http://teem.sourceforge.net/nrrd/format.html",
        f"# Written by {_software()}; voxel axes i (column), j (row), k (slice)",
        f"type: {_NRRD_TYPE[type_name]}",
        "dimension: 3",
        "space: left-posterior-superior",
        "sizes: " + " ".join(str(n) for n in geometry.shape),
        "space directions: " + " ".join(_nrrd_vector(affine[:3, axis]) for axis in range(3)),
        "kinds: domain domain domain",
        "endian: little",
        "encoding: gzip",
        "space origin: " + _nrrd_vector(affine[:3, 3]),
        'space units: "mm" "mm" "mm"',
    ]
    return ("\n".join(lines) + "\n\n").encode("ascii")


def write_nrrd_lps(volume: GriddedImage, path: PathLike) -> Path:
    """Write ``volume`` as NRRD (attached header, gzip-encoded data) in LPS.

    Parameters
    ----------
    volume
        The image; voxels must be uint8, int16 or float32 (NRRD ``uchar``, ``short`` or
        ``float``,
        little-endian).
    path
        Target file ending ``.nrrd``.  Parent folders are created; an existing file is
        replaced atomically.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ExportError
        The suffix is not ``.nrrd`` (``field == "suffix"``), or the voxel type is
        not uint8, int16 or float32 (``field == "dtype"``).

    Notes
    -----
    ``space: left-posterior-superior``; ``space directions`` are the affine's first three
    columns (the LPS step of one voxel along i, j, k, mm), ``space origin`` the LPS
    centre of voxel ``(0, 0, 0)``, both written exactly (shortest round-trip decimal);
    ``sizes`` are the voxels along i, j, k; ``kinds: domain domain domain``;
    ``space units`` mm.  A comment line names the software and version.
    """
    target = Path(path)
    _expect_format(target, (ExportFormat.NRRD,))
    type_name = _voxel_type(volume, target)
    header = _nrrd_header(volume, type_name)

    with atomic_binary(target) as stream:
        stream.write(header)
        # The header is plain text; only the data after its blank line is gzip-encoded.
        with _gzip_writer(stream) as zipped:
            _write_voxels(zipped, volume.voxels, type_name)
    return target


# --- dispatch ----------------------------------------------------------------------------

def export_volume(volume: GriddedImage, path: PathLike) -> Path:
    """Write ``volume`` in the format the file name's suffix selects.

    Parameters
    ----------
    volume
        The image (uint8, int16 or float32 voxels).
    path
        Target file: ``.nii`` or ``.nii.gz`` (:func:`write_nifti_ras`, RAS) or
        ``.nrrd`` (:func:`write_nrrd_lps`, LPS).  Suffixes are case-sensitive.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ExportError
        The suffix selects no supported format, or the voxel type is unsupported.
    """
    target = Path(path)
    fmt = _expect_format(target, tuple(ExportFormat))
    if fmt is ExportFormat.NRRD:
        return write_nrrd_lps(volume, target)
    return write_nifti_ras(volume, target)
