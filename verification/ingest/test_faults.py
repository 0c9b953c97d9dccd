"""Step definitions of ``verification/features/ingest/faults.feature``.

Verifies that faulty series are refused (with the check, files and values named) or loaded
with a warning, as stated, and that the lean header reader reads what pydicom reads.

Oracles: faults planted by the phantom writer or by file edits made here with pydicom
directly, independently of the code under test; the files around a gap found here from
the images' positions; the phantom's ground truth for what is loaded; pydicom alone as the
reference of the lean header reader.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.ingest import io as ingest_io
from corridor.ingest.errors import UnsafeSeriesError
from corridor.ingest.io import find_files, read_headers
from corridor.ingest.lean import read_lean
from verification.ingest.helpers import Case, ct_images, ingest_case

scenarios("ingest/faults.feature")


@given("the duplicate's pixels are changed")
def change_duplicate(case: Case) -> None:
    """Change one stored value of the second image found at a repeated position."""
    seen: dict[tuple[float, ...], Path] = {}
    for path, ds in ct_images(case):
        key = tuple(round(float(v), 3) for v in ds.ImagePositionPatient)
        if key in seen:
            pixels = ds.pixel_array.copy()
            pixels[0, 0] += 1
            ds.PixelData = pixels.tobytes()
            ds.save_as(path)
            return
        seen[key] = path
    raise AssertionError("no duplicate position found")


def _middle(case: Case) -> tuple[Path, pydicom.Dataset]:
    images = ct_images(case)
    return images[len(images) // 2]


@given("one image's orientation is turned by 1 degree")
def turn_orientation(case: Case) -> None:
    """Rotate one interior image's row and column cosines about its normal by 1°."""
    path, ds = _middle(case)
    iop = np.asarray(ds.ImageOrientationPatient, float)
    row, col = iop[:3], iop[3:]
    angle = np.radians(1.0)
    new_row = np.cos(angle) * row + np.sin(angle) * col
    new_col = -np.sin(angle) * row + np.cos(angle) * col
    ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*new_row, *new_col)]
    ds.save_as(path)


@given("one image loses its Image Position (Patient)")
def drop_position(case: Case) -> None:
    """Delete (0020,0032) from one interior image."""
    path, ds = _middle(case)
    del ds.ImagePositionPatient
    ds.save_as(path)


@given(parsers.parse('one interior image\'s "{keyword}" is written as "{value}"'))
def write_raw_value(case: Case, keyword: str, value: str) -> None:
    """Write a DS value byte for byte (pydicom would refuse to encode some of them)."""
    path, ds = _middle(case)
    tag = Tag(tag_for_keyword(keyword))
    raw = value.encode("ascii")
    raw += b" " * (len(raw) % 2)
    ds[tag] = RawDataElement(tag, "DS", len(raw), raw, 0, False, True)
    ds.save_as(path)
    case.header_scans["changed"] = path


@then("the refusal names the changed image")
def refusal_names_changed(case: Case) -> None:
    """The changed file is among the files the refusal names."""
    assert isinstance(case.error, UnsafeSeriesError)
    assert str(case.header_scans["changed"]) in case.error.files


@given(parsers.re(r"one interior image is moved (?P<amount>[\d.]+) (?P<unit>mm|% of the spacing)"
                  r" along the slice normal"))
def move_image(case: Case, amount: str, unit: str) -> None:
    """Shift one interior image's position along its normal."""
    images = ct_images(case)
    path, ds = images[len(images) // 2]
    iop = np.asarray(ds.ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    first = np.asarray(images[0][1].ImagePositionPatient, float)
    second = np.asarray(images[1][1].ImagePositionPatient, float)
    spacing = float(np.linalg.norm(second - first))
    distance = float(amount) if unit == "mm" else float(amount) / 100 * spacing
    position = np.asarray(ds.ImagePositionPatient, float) + distance * normal
    ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
    ds.save_as(path)


@when(parsers.parse('the series "{uid}" is ingested'))
def run_ingest_uid(case: Case, uid: str) -> None:
    """Ingest one series by UID."""
    ingest_case(case, uid)


@then("the refusal names the two files around the missing position")
def refusal_names_gap(case: Case) -> None:
    """The files named are the neighbours of the gap, found here from the headers."""
    assert isinstance(case.error, UnsafeSeriesError)
    images = ct_images(case)
    positions = [np.asarray(ds.ImagePositionPatient, float) for _, ds in images]
    gaps = [float(np.linalg.norm(b - a)) for a, b in itertools.pairwise(positions)]
    widest = int(np.argmax(gaps))
    assert case.error.files == [str(images[widest][0]), str(images[widest + 1][0])]


@then("ingest loads with no warning")
def loads_clean(case: Case) -> None:
    """Loaded, with no warning at all."""
    assert case.loaded().volume.warnings == ()


@when("the headers are read with and without the lean header reader")
def read_both_ways(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scan the folder's headers twice: as ingest does, and with pydicom alone."""
    files = find_files(case.dicom)
    case.header_scans["files"] = files
    case.header_scans["lean"] = read_headers(files)
    with monkeypatch.context() as patch:
        patch.setattr(ingest_io, "_lean_headers", lambda path: None)
        case.header_scans["pydicom"] = read_headers(files)


@then("both give the same headers and skipped files")
def same_headers(case: Case) -> None:
    """Equal field by field (compared through repr, so that a NaN equals itself)."""
    lean, reference = case.header_scans["lean"], case.header_scans["pydicom"]
    assert repr(lean[1]) == repr(reference[1])
    assert len(lean[0]) == len(reference[0])
    for mine, theirs in zip(lean[0], reference[0], strict=True):
        assert repr(mine) == repr(theirs)


@then("the lean header reader answered for every image")
def lean_answered(case: Case) -> None:
    """Every file pydicom found an image in (all single-frame, uncompressed) was read lean."""
    images = {header.path for header in case.header_scans["pydicom"][0]}
    answered = {str(path) for path in case.header_scans["files"] if read_lean(path) is not None}
    assert images
    assert answered == images
