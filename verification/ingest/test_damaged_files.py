"""Step definitions of ``verification/features/ingest/damaged_files.feature``.

Verifies that a DICOM file that cannot be read as a whole refuses the load it may belong to,
naming it, and is only skipped when what can be read of it names another series.

Oracles: the files are damaged here, byte for byte, at places found here by searching the
bytes for the encoded elements (Series Instance UID (0020,000E) written in Explicit VR Little
Endian, the Pixel Data tag); the slice at either end of the series is found here from the
images' positions as pydicom reads them; the phantom's ground truth for what is loaded.
"""

from __future__ import annotations

import struct

import pydicom
from pydicom.uid import generate_uid
from pytest_bdd import given, parsers, scenarios, then

from corridor.ingest.errors import UnsafeSeriesError
from verification.ingest.helpers import Case, ct_images

scenarios("ingest/damaged_files.feature")

_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"


def _series_uid_element_end(data: bytes, uid: str) -> int:
    """Where the encoded Series Instance UID element ends (Explicit VR Little Endian)."""
    value = uid.encode("ascii")
    value += b"\x00" * (len(value) % 2)
    element = b"\x20\x00\x0e\x00UI" + struct.pack("<H", len(value)) + value
    assert data.count(element) == 1, "the Series Instance UID element is not found once"
    return data.index(element) + len(element)


def _damaged(data: bytes, damage: str, uid: str) -> bytes:
    """``data`` cut or overwritten as the step says."""
    if damage.startswith("cut to ") and damage.endswith(" bytes"):
        return data[:int(damage.split()[2])]
    if damage == "cut after its Series Instance UID":
        return data[:_series_uid_element_end(data, uid)]
    if damage == "cut before its Series Instance UID":
        return data[:_series_uid_element_end(data, uid) - 4]
    if damage == "cut before its Pixel Data element":
        assert data.count(_PIXEL_DATA_TAG) == 1
        return data[:data.index(_PIXEL_DATA_TAG)]
    if damage == "cut inside its pixel data":
        assert data.count(_PIXEL_DATA_TAG) == 1
        return data[:data.index(_PIXEL_DATA_TAG) + 12 + 100]
    if damage == "written with 'DICM' overwritten":
        assert data[128:132] == b"DICM"
        return data[:128] + b"\xff" * 4 + data[132:]
    raise AssertionError(f"unknown damage {damage!r}")


@given(parsers.parse("the {which} slice along the normal is {damage}"))
def damage_end_slice(case: Case, which: str, damage: str) -> None:
    """Damage the first or last image of the phantom's own series along its normal."""
    own = [(path, ds) for path, ds in ct_images(case)
           if ds.SeriesInstanceUID == case.written.series_instance_uid]
    path, ds = own[0] if which == "first" else own[-1]
    path.write_bytes(_damaged(path.read_bytes(), damage, str(ds.SeriesInstanceUID)))
    case.header_scans["damaged"] = path


@given(parsers.parse("an image of another series is added, {damage}"))
def add_damaged_other(case: Case, damage: str) -> None:
    """A copy of one image under new Series and SOP Instance UIDs, placed one slice beyond the
    series' end (so that, read as a slice of the series, it would change its extent), then
    cut."""
    images = ct_images(case)
    (_, last), (_, before) = images[-1], images[-2]
    ds = pydicom.dcmread(images[-1][0])
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.ImagePositionPatient = [f"{2 * float(a) - float(b):.6f}" for a, b in
                               zip(last.ImagePositionPatient, before.ImagePositionPatient,
                                   strict=True)]
    path = case.dicom / "other_series.dcm"
    ds.save_as(path, enforce_file_format=True)
    path.write_bytes(_damaged(path.read_bytes(), damage, str(ds.SeriesInstanceUID)))
    case.header_scans["damaged"] = path


@then("the refusal names the damaged file")
def refusal_names_damaged(case: Case) -> None:
    """The damaged file is named: among the refusal's files, or in its listing."""
    assert case.error is not None, "loaded"
    damaged = str(case.header_scans["damaged"])
    if isinstance(case.error, UnsafeSeriesError):
        assert case.error.files == [damaged], case.error
    assert damaged in str(case.error), case.error
