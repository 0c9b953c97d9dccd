"""NIfTI-1 and NRRD export, read back by independent readers (nibabel, pynrrd).

The oracles are the readers, not the writer: every volume is built directly from an
:class:`ImageGeometry` and random voxels, written, and compared with what nibabel and
pynrrd make of the bytes on disk.  nibabel and pynrrd are test-only dependencies.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pytest
from numpy.typing import NDArray

from corridor.errors import CorridorError
from corridor.geometry import ImageGeometry
from corridor.images import (
    QFORM_DIRECTION_LIMIT,
    ExportError,
    export_volume,
    write_nifti_ras,
    write_nrrd_lps,
)
from corridor.ingest.model import Volume

SFORM_TOLERANCE = 1e-6
"""sform against the exact RAS affine, relative and absolute (NIfTI-1 stores float32)."""

QFORM_TOLERANCE_MM = 1e-4
"""qform against the RAS affine, absolute (mm), away from 180° rotations."""

SHAPE = (7, 5, 4)
"""Small, with every axis a different length, so a transposed axis cannot pass."""


def _rotation(axis: tuple[float, float, float], degrees: float) -> NDArray[np.float64]:
    """Rodrigues' rotation about ``axis`` (normalised here)."""
    unit = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    cross = np.array([[0.0, -unit[2], unit[1]], [unit[2], 0.0, -unit[0]],
                      [-unit[1], unit[0], 0.0]])
    angle = np.radians(degrees)
    return np.eye(3) + np.sin(angle) * cross + (1.0 - np.cos(angle)) * cross @ cross


def _geometry(direction: NDArray[np.float64]) -> ImageGeometry:
    return ImageGeometry.from_components(
        shape=SHAPE, spacing=(0.68359375, 0.9, 2.5), direction=direction,
        origin=(-120.3, 87.65, -301.1),
    )


_TILT = np.radians(15.0)
GEOMETRIES = {
    "axial": _geometry(np.eye(3)),
    "oblique": _geometry(_rotation((0.2, -0.4, 1.0), 150.0)),
    "left-handed-k": _geometry(_rotation((0.2, -0.4, 1.0), 150.0) @ np.diag([1.0, 1.0, -1.0])),
    # Rotation about x only: LPS-to-RAS makes it an exact 180° rotation (quaternion a = 0).
    "near-axial-tilt-x": _geometry(_rotation((1.0, 0.0, 0.0), 7.0)),
    # Gantry tilt: slices stay axial, rows lean by 15°; the direction matrix is a shear.
    "gantry-tilt-shear": _geometry(np.array([[1.0, 0.0, 0.0],
                                             [0.0, np.cos(_TILT), 0.0],
                                             [0.0, np.sin(_TILT), 1.0]])),
}
ORTHONORMAL = {"axial", "oblique", "left-handed-k", "near-axial-tilt-x"}

NIFTI_SUFFIXES = (".nii", ".nii.gz")
DTYPES = ("int16", "float32")


def _volume(geometry: ImageGeometry, dtype: str, seed: int = 0) -> Volume:
    """A volume of random voxels: the full int16 range, or float32 HU with fractions."""
    rng = np.random.default_rng(seed)
    if dtype == "int16":
        hu: NDArray[np.generic] = rng.integers(-32768, 32768, size=geometry.shape,
                                               dtype=np.int16)
    else:
        hu = (rng.normal(0.0, 800.0, size=geometry.shape)).astype(np.float32)
    return _with_voxels(geometry, np.asfortranarray(hu))


def _with_voxels(geometry: ImageGeometry, hu: NDArray[np.generic]) -> Volume:
    return Volume(hu=hu, geometry=geometry, series_instance_uid="1.2.826.0.1.3680043.2.1125.1",
                  sources=())


# --- NIfTI-1 through nibabel ------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", NIFTI_SUFFIXES)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_nifti_round_trip_through_nibabel(tmp_path: Path, name: str, suffix: str,
                                          dtype: str) -> None:
    geometry = GEOMETRIES[name]
    volume = _volume(geometry, dtype)
    path = write_nifti_ras(volume, tmp_path / f"ct{suffix}")

    image = nib.load(path)
    assert isinstance(image, nib.Nifti1Image)
    header = image.header
    assert nib.Nifti1Header.diagnose_binaryblock(header.binaryblock) == ""

    raw = np.asanyarray(image.dataobj)
    assert raw.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(raw, volume.hu)
    np.testing.assert_array_equal(image.get_fdata(), volume.hu.astype(np.float64))

    ras = geometry.affine_ras()
    sform, sform_code = header.get_sform(coded=True)
    assert sform_code == 1
    np.testing.assert_allclose(image.affine, ras, rtol=SFORM_TOLERANCE, atol=SFORM_TOLERANCE)
    np.testing.assert_array_equal(sform, ras.astype(np.float32))  # float32 is all there is

    qform, qform_code = header.get_qform(coded=True)
    if name in ORTHONORMAL:
        assert qform_code == 1
        np.testing.assert_allclose(qform, ras, rtol=0, atol=QFORM_TOLERANCE_MM)
    else:
        assert (qform, qform_code) == (None, 0)

    np.testing.assert_array_equal(header["dim"][:4], [3, *SHAPE])
    np.testing.assert_allclose(header["pixdim"][1:4], geometry.spacing, rtol=1e-7)
    assert header["pixdim"][0] == (1.0 if geometry.is_right_handed else -1.0)
    assert header.get_xyzt_units() == ("mm", "unknown")
    # nibabel resets the loaded header's scaling to NaN; the data proxy keeps the file's.
    assert (image.dataobj.slope, image.dataobj.inter) == (1.0, 0.0)
    assert header.get_data_dtype() == np.dtype(dtype)
    assert header["descrip"].tobytes().startswith(b"Corridor ")


def test_nifti_voxel_lands_where_lps_says_after_negating_x_y(tmp_path: Path) -> None:
    geometry = GEOMETRIES["oblique"]
    image = nib.load(write_nifti_ras(_volume(geometry, "int16"), tmp_path / "ct.nii"))
    ijk = np.array([[6, 0, 3], [2, 4, 1]])
    expected_ras = geometry.index_to_lps(ijk) * [-1.0, -1.0, 1.0]
    np.testing.assert_allclose(nib.affines.apply_affine(image.affine, ijk), expected_ras,
                               atol=1e-4)


def test_nifti_axial_lps_volume_reads_as_lps_axis_codes(tmp_path: Path) -> None:
    image = nib.load(write_nifti_ras(_volume(GEOMETRIES["axial"], "int16"), tmp_path / "ct.nii"))
    assert nib.aff2axcodes(image.affine) == ("L", "P", "S")
    assert nib.aff2axcodes(image.get_qform()) == ("L", "P", "S")


def test_nifti_qform_near_180_degrees_within_documented_limit(tmp_path: Path) -> None:
    # A 3° oblique about an axis just off x: in RAS the quaternion's a is about 2.5e-4,
    # below what float32 b, c, d can express, so the qform is off by up to the limit.
    geometry = _geometry(_rotation((1.0, 0.0, 0.01), 3.0))
    image = nib.load(write_nifti_ras(_volume(geometry, "int16"), tmp_path / "ct.nii"))
    ras = geometry.affine_ras()
    qform = image.get_qform()
    spacing = np.asarray(geometry.spacing)
    np.testing.assert_allclose(qform[:3, :3] / spacing, ras[:3, :3] / spacing, rtol=0,
                               atol=QFORM_DIRECTION_LIMIT)
    np.testing.assert_allclose(qform[:3, 3], ras[:3, 3], rtol=0, atol=QFORM_TOLERANCE_MM)
    np.testing.assert_allclose(image.affine, ras, rtol=SFORM_TOLERANCE, atol=SFORM_TOLERANCE)


def test_nifti_gzip_is_whole_file_and_reproducible(tmp_path: Path) -> None:
    volume = _volume(GEOMETRIES["oblique"], "float32")
    first = write_nifti_ras(volume, tmp_path / "a.nii.gz").read_bytes()
    second = write_nifti_ras(volume, tmp_path / "b.nii.gz").read_bytes()
    plain = write_nifti_ras(volume, tmp_path / "c.nii").read_bytes()
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    assert first[:2] == b"\x1f\x8b"
    assert first[3] & 0x08 == 0, "no file name in the gzip header"
    assert first[4:8] == b"\0\0\0\0", "zero time stamp in the gzip header"
    assert gzip.decompress(first) == plain
    assert len(plain) == 352 + volume.hu.nbytes


def test_nifti_big_endian_voxels_written_little_endian(tmp_path: Path) -> None:
    volume = _volume(GEOMETRIES["axial"], "int16")
    swapped = _with_voxels(volume.geometry, volume.hu.astype(">i2", order="F"))
    image = nib.load(write_nifti_ras(swapped, tmp_path / "ct.nii"))
    assert image.header.endianness == "<"
    np.testing.assert_array_equal(np.asanyarray(image.dataobj), volume.hu)


# --- NRRD through pynrrd ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_nrrd_round_trip_through_pynrrd(tmp_path: Path, name: str, dtype: str) -> None:
    geometry = GEOMETRIES[name]
    volume = _volume(geometry, dtype, seed=1)
    path = write_nrrd_lps(volume, tmp_path / "ct.nrrd")

    data, header = nrrd.read(str(path))  # index order "F": data[i, j, k]
    assert data.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(data, volume.hu)

    assert header["space"] == "left-posterior-superior"
    np.testing.assert_array_equal(header["space directions"], geometry.affine[:3, :3].T)
    np.testing.assert_array_equal(header["space origin"], geometry.affine[:3, 3])
    np.testing.assert_array_equal(header["sizes"], SHAPE)
    assert header["kinds"] == ["domain", "domain", "domain"]
    assert header["endian"] == "little"
    assert header["encoding"] == "gzip"
    assert header["type"] == {"int16": "short", "float32": "float"}[dtype]
    assert header["space units"] == ["mm", "mm", "mm"]


def test_nrrd_header_is_text_and_names_the_software(tmp_path: Path) -> None:
    path = write_nrrd_lps(_volume(GEOMETRIES["axial"], "int16"), tmp_path / "ct.nrrd")
    text, _, _ = path.read_bytes().partition(b"\n\n")
    lines = text.decode("ascii").splitlines()
    assert lines[0] == "NRRD0004"
    assert any(line.startswith("# Written by Corridor ") for line in lines)


# --- dispatch, errors, atomic output ----------------------------------------------------

@pytest.mark.parametrize("suffix", [".nii", ".nii.gz", ".nrrd"])
def test_export_volume_dispatches_by_suffix(tmp_path: Path, suffix: str) -> None:
    volume = _volume(GEOMETRIES["oblique"], "int16")
    path = export_volume(volume, tmp_path / "sub" / f"ct{suffix}")
    assert path == tmp_path / "sub" / f"ct{suffix}"
    if suffix == ".nrrd":
        data, header = nrrd.read(str(path))
        assert header["space"] == "left-posterior-superior"
    else:
        data = np.asanyarray(nib.load(path).dataobj)
    np.testing.assert_array_equal(data, volume.hu)


@pytest.mark.parametrize(
    ("writer", "name", "expected"),
    [
        (export_volume, "ct.mha", (".nii", ".nii.gz", ".nrrd")),
        (export_volume, "ct.gz", (".nii", ".nii.gz", ".nrrd")),
        (export_volume, "ct.NII", (".nii", ".nii.gz", ".nrrd")),
        (export_volume, ".nii", (".nii", ".nii.gz", ".nrrd")),
        (write_nifti_ras, "ct.nrrd", (".nii", ".nii.gz")),
        (write_nrrd_lps, "ct.nii.gz", (".nrrd",)),
    ],
)
def test_unsupported_suffix_names_path_and_expected_suffixes(
    tmp_path: Path, writer: object, name: str, expected: tuple[str, ...]
) -> None:
    path = tmp_path / name
    assert callable(writer)
    with pytest.raises(ExportError) as raised:
        writer(_volume(GEOMETRIES["axial"], "int16"), path)
    error = raised.value
    assert isinstance(error, CorridorError)
    assert isinstance(error, ValueError)
    assert (error.path, error.field, error.found, error.expected) == (
        str(path), "suffix", name, expected)
    message = str(error)
    assert str(path) in message
    assert all(suffix in message for suffix in expected)
    assert list(tmp_path.iterdir()) == []


def test_unsupported_voxel_type_names_found_and_expected(tmp_path: Path) -> None:
    volume = _volume(GEOMETRIES["axial"], "float32")
    doubles = _with_voxels(volume.geometry, volume.hu.astype(np.float64, order="F"))
    with pytest.raises(ExportError,
                       match=r"dtype: found 'float64'.*uint8, int16, float32") as raised:
        export_volume(doubles, tmp_path / "ct.nrrd")
    assert (raised.value.field, raised.value.found) == ("dtype", "float64")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz", ".nrrd"])
def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     suffix: str) -> None:
    def refuse(source: object, target: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="simulated"):
        export_volume(_volume(GEOMETRIES["axial"], "int16"), tmp_path / f"ct{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ct.nii.gz"
    write_nifti_ras(_volume(GEOMETRIES["axial"], "int16", seed=1), path)
    before = path.read_bytes()

    def refuse(source: object, target: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="simulated"):
        write_nifti_ras(_volume(GEOMETRIES["axial"], "int16", seed=2), path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_written_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    path = export_volume(_volume(GEOMETRIES["axial"], "int16"), tmp_path / "ct.nrrd")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
