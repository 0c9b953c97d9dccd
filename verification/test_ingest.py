"""Step definitions of the ingest scenarios (features/ingest/).

Each scenario generates a phantom with exact ground truth, writes it as a real DICOM
series (with planted faults), ingests it with the real code or the real ``corridor``
command, and compares with the ground truth the phantom saved beside the series.
File edits that plant a fault are made here with pydicom directly, independently of
the code under test.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel
import nrrd
import numpy as np
import pydicom
import pytest
from numpy.typing import NDArray
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.ingest import io as ingest_io
from corridor.ingest.api import IngestResult, ingest
from corridor.ingest.errors import IngestError, UnsafeSeriesError
from corridor.ingest.io import find_files, read_headers
from corridor.ingest.lean import read_lean
from corridor_phantoms import make_phantom, write_series
from verification.command_run import run_corridor

scenarios("ingest")


@dataclass
class Case:
    """The phantom, where it was written, and what ingest made of it."""

    root: Path
    phantom_args: dict[str, Any] = field(default_factory=dict)
    phantom: Any = None
    written: Any = None
    result: IngestResult | None = None
    error: IngestError | None = None
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    header_scans: dict[str, Any] = field(default_factory=dict)

    @property
    def dicom(self) -> Path:
        return self.root / "dicom"

    def truth_affine(self) -> NDArray[np.float64]:
        geometry = json.loads((self.root / "truth" / "geometry.json").read_text())
        return np.asarray(geometry["affine"], dtype=np.float64)

    def truth_hu(self) -> NDArray[np.int16]:
        return np.load(self.root / "truth" / "hu.npy")

    def loaded(self) -> IngestResult:
        assert self.error is None, f"ingest refused: {self.error}"
        assert self.result is not None
        return self.result


def _corners(affine: NDArray[np.float64], shape: tuple[int, ...]) -> NDArray[np.float64]:
    ni, nj, nk = (n - 1 for n in shape)
    ijk = np.array([[i, j, k, 1] for i in (0, ni) for j in (0, nj) for k in (0, nk)], float)
    return (ijk @ affine.T)[:, :3]


def _images(case: Case) -> list[tuple[Path, pydicom.Dataset]]:
    """The phantom's CT images with position, sorted along the normal (computed here)."""
    images = []
    for path in sorted(case.dicom.rglob("*")):
        try:
            ds = pydicom.dcmread(path)
        except Exception:
            continue
        if "ImagePositionPatient" in ds and "LOCALIZER" not in list(ds.get("ImageType", [])):
            images.append((path, ds))
    iop = np.asarray(images[0][1].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    return sorted(images, key=lambda item: float(np.asarray(item[1].ImagePositionPatient,
                                                             float) @ normal))


# Given ------------------------------------------------------------------------------


@given(parsers.parse('a "{kind}" phantom of shape {i:d} {j:d} {k:d} with spacing {si:f} {sj:f} '
                     '{sk:f} in position "{position}" and orientation "{orientation}"'),
       target_fixture="case")
def phantom(tmp_path: Path, kind: str, i: int, j: int, k: int, si: float, sj: float, sk: float,
            position: str, orientation: str) -> Case:
    """Generate the phantom in memory."""
    args = {"shape": (i, j, k), "spacing": (si, sj, sk), "orientation": orientation,
            "patient_position": position, "seed": 7}
    return Case(tmp_path / "phantom", args, make_phantom(kind, **args))


def _write(case: Case, faults: list[str], **options: Any) -> None:
    case.written = write_series(case.phantom, case.root, faults=faults, **options)


def _faults(text: str) -> list[str]:
    return [f.strip() for f in text.split(",") if f.strip()]


@given("it is written as a DICOM series")
def written(case: Case) -> None:
    """Write the phantom without faults."""
    _write(case, [])


@given(parsers.parse('it is written as a DICOM series with the faults "{faults}"'))
def written_with_faults(case: Case, faults: str) -> None:
    """Write the phantom with planted faults."""
    _write(case, _faults(faults))


@given(parsers.parse('the series is written again with the faults "{faults}"'))
def written_again(case: Case, faults: str) -> None:
    """Replace the written series by one with planted faults."""
    shutil.rmtree(case.root)
    _write(case, _faults(faults))


@given(parsers.parse('it is written as a DICOM series in the transfer syntax "{syntax}"'))
def written_compressed(case: Case, syntax: str) -> None:
    """Write the phantom in a compressed transfer syntax."""
    _write(case, [], transfer_syntax=syntax)


@given("it is written as one Enhanced CT file")
def written_enhanced(case: Case) -> None:
    """Write the phantom as one multi-frame Enhanced CT image."""
    _write(case, [], enhanced=True)


@given("the duplicate's pixels are changed")
def change_duplicate(case: Case) -> None:
    """Change one stored value of the second image found at a repeated position."""
    seen: dict[tuple[float, ...], Path] = {}
    for path, ds in _images(case):
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
    images = _images(case)
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
    images = _images(case)
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


# When -------------------------------------------------------------------------------


def _ingest(case: Case, uid: str | None = None) -> None:
    case.result, case.error = None, None
    try:
        case.result = ingest(case.dicom, uid)
    except IngestError as exc:
        case.error = exc


@when("the series is ingested")
def run_ingest(case: Case) -> None:
    """Ingest the folder with the real code."""
    _ingest(case)


@when(parsers.parse('the series "{uid}" is ingested'))
def run_ingest_uid(case: Case, uid: str) -> None:
    """Ingest one series by UID."""
    _ingest(case, uid)


@when("the phantom's own series is ingested by its UID")
def run_ingest_own(case: Case) -> None:
    """Ingest the phantom's series by its Series Instance UID."""
    _ingest(case, case.written.series_instance_uid)


@when("I run corridor ingest on the series")
def run_command_plain(case: Case) -> None:
    """Run `corridor ingest` without options."""
    run_command(case, "")


@when(parsers.parse('I run corridor ingest on the series with "{options}"'))
def run_command(case: Case, options: str) -> None:
    """Run the real `corridor ingest` command in-process."""
    argv = ["ingest", str(case.dicom), *shlex.split(options.replace("out/", f"{case.root}/out/"))]
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr


# Then -------------------------------------------------------------------------------


@then("the volume's corners lie within 0.001 mm of the ground truth")
def corners_match(case: Case) -> None:
    """All 8 corner voxels within 0.001 mm (the affine is linear, so every voxel is)."""
    volume = case.loaded().volume
    truth = case.truth_affine()
    found = _corners(volume.geometry.affine, volume.geometry.shape)
    expected = _corners(truth, volume.geometry.shape)
    assert volume.geometry.shape == tuple(case.truth_hu().shape)
    assert np.max(np.linalg.norm(found - expected, axis=1)) <= 1e-3


@then("the volume's HU equal the ground truth on every voxel that is not padding")
def hu_match(case: Case) -> None:
    """Exact equality of HU, voxel by voxel."""
    volume = case.loaded().volume
    truth = case.truth_hu()
    padding = volume.padding_mask()
    keep = np.ones(truth.shape, bool) if padding is None else ~padding
    assert volume.hu.shape == truth.shape
    assert np.array_equal(volume.hu[keep], truth[keep])


@then("the volume's k axis points along the cross product of its images' row and column cosines")
def k_along_normal(case: Case) -> None:
    """The slice axis is the DICOM normal, from the files (not from the code)."""
    ds = _images(case)[0][1]
    iop = np.asarray(ds.ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    k_axis = case.loaded().volume.geometry.direction[:, 2]
    assert float(k_axis @ normal) > 1 - 1e-6


@then(parsers.parse('ingest refuses with the check "{check}"'))
def refused(case: Case, check: str) -> None:
    """An UnsafeSeriesError for exactly this check."""
    assert isinstance(case.error, UnsafeSeriesError), case.error or "loaded"
    assert case.error.check == check, str(case.error)


@then("the refusal names the two files around the missing position")
def refusal_names_gap(case: Case) -> None:
    """The files named are the neighbours of the gap, found here from the headers."""
    assert isinstance(case.error, UnsafeSeriesError)
    images = _images(case)
    positions = [np.asarray(ds.ImagePositionPatient, float) for _, ds in images]
    gaps = [float(np.linalg.norm(b - a)) for a, b in itertools.pairwise(positions)]
    widest = int(np.argmax(gaps))
    assert case.error.files == [str(images[widest][0]), str(images[widest + 1][0])]


@then(parsers.parse('the refusal says "{text}"'))
def refusal_says(case: Case, text: str) -> None:
    """The message names it."""
    assert case.error is not None
    assert text in str(case.error), case.error


@then(parsers.parse('ingest refuses saying "{text}"'))
def refuses_saying(case: Case, text: str) -> None:
    """Refused, with the text in the message."""
    assert case.error is not None
    assert text in str(case.error), case.error


@then(parsers.parse("ingest refuses listing {count:d} CT series"))
def refuses_listing(case: Case, count: int) -> None:
    """An ambiguity refusal listing the candidates."""
    from corridor.ingest.errors import AmbiguousSeriesError

    assert isinstance(case.error, AmbiguousSeriesError), case.error
    assert len(case.error.candidates) == count
    assert case.written.series_instance_uid in str(case.error)


@then(parsers.parse('the volume carries the warning "{code}"'))
def has_warning(case: Case, code: str) -> None:
    """The warning code is recorded with the volume."""
    codes = [w.code.value for w in case.loaded().volume.warnings]
    assert code in codes, codes


@then("ingest loads with no warning")
def loads_clean(case: Case) -> None:
    """Loaded, with no warning at all."""
    assert case.loaded().volume.warnings == ()


@then(parsers.parse('ingest loads with the warning "{code}"'))
def loads_warned(case: Case, code: str) -> None:
    """Loaded, with this warning."""
    has_warning(case, code)


@then(parsers.parse('the skipped files have the reasons "{reasons}"'))
def skipped_reasons(case: Case, reasons: str) -> None:
    """Exactly these skip reasons, one file each."""
    found = sorted(s.reason.value for s in case.loaded().skipped)
    assert found == sorted(r.strip() for r in reasons.split(","))


@then("the padding mask covers exactly the voxels outside the reconstruction field of view")
def padding_matches(case: Case) -> None:
    """Padding from the phantom's own truth."""
    volume = case.loaded().volume
    padding = volume.padding_mask()
    assert padding is not None
    expected = np.load(case.root / "truth" / "padding.npy")
    assert np.array_equal(padding, expected)


@then(parsers.parse('the volume\'s HU are stored as "{dtype}"'))
def stored_as(case: Case, dtype: str) -> None:
    """The HU dtype."""
    assert str(case.loaded().volume.hu.dtype) == dtype


@then("the provenance lists the phantom's SOP Instance UIDs in slice order")
def provenance_order(case: Case) -> None:
    """SOP Instance UIDs in k order, as the writer reports them."""
    sources = case.loaded().volume.sources
    assert [s.sop_instance_uid for s in sources] == list(case.written.sop_instance_uids)


@then("each file's SHA-256 equals a hash of its bytes")
def provenance_hashes(case: Case) -> None:
    """Independent SHA-256 of every file."""
    for source in case.loaded().volume.sources:
        assert source.sha256 == hashlib.sha256(Path(source.path).read_bytes()).hexdigest()


@then(parsers.parse("the exit status is {status:d}"))
def exit_status(case: Case, status: int) -> None:
    """The command's exit status."""
    assert case.status == status, case.stderr


@then(parsers.parse('standard error is one line containing "{text}"'))
def one_error_line(case: Case, text: str) -> None:
    """One clear line, no traceback."""
    lines = case.stderr.strip().splitlines()
    assert len(lines) == 1, case.stderr
    assert text in lines[0]


@then(parsers.parse('the JSON lists {count:d} series with modality "{modality}"'))
def json_series(case: Case, count: int, modality: str) -> None:
    """The `series` list."""
    document = json.loads(case.stdout)
    assert [s["modality"] for s in document["series"]] == [modality] * count
    assert document["series"][0]["images"] == case.truth_hu().shape[2]


@then("the JSON volume's affine lies within 0.001 mm of the ground truth")
def json_affine(case: Case) -> None:
    """The JSON affine, read back as numbers."""
    volume = json.loads(case.stdout)["volume"]
    affine = np.asarray(volume["affine_ijk_to_lps"], float)
    shape = tuple(volume["shape_ijk"])
    assert shape == case.truth_hu().shape
    error = np.linalg.norm(_corners(affine, shape) - _corners(case.truth_affine(), shape), axis=1)
    assert np.max(error) <= 1e-3
    for key in ("series_instance_uid", "spacing_mm_ijk", "hu_min", "hu_max", "warnings"):
        assert key in volume


@then(parsers.parse('{reader} reads "{name}" with the ground-truth voxels and {frame} affine'))
def export_read(case: Case, reader: str, name: str, frame: str) -> None:
    """nibabel / pynrrd as independent readers."""
    path = case.root / name
    truth = case.truth_hu()
    affine = case.truth_affine()
    if reader == "nibabel":
        image = nibabel.load(path)
        assert np.array_equal(np.asarray(image.dataobj), truth)
        ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine
        assert frame == "RAS"
        assert np.allclose(image.affine, ras, atol=1e-4)
    else:
        data, header = nrrd.read(str(path))
        assert np.array_equal(data, truth)
        assert frame == "LPS"
        assert header["space"] == "left-posterior-superior"
        assert np.allclose(np.asarray(header["space directions"], float).T, affine[:3, :3],
                           atol=1e-4)
        assert np.allclose(np.asarray(header["space origin"], float), affine[:3, 3], atol=1e-4)


@then("no output contains the phantom's Patient's Name or Patient ID")
def no_patient_data(case: Case) -> None:
    """Search everything printed for the Patient module values written in the files."""
    ds = _images(case)[0][1]
    output = case.stdout + case.stderr
    for value in (str(ds.PatientName), str(ds.PatientID)):
        assert value
        assert value not in output


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


@pytest.fixture
def case() -> Case:
    """Every scenario starts by generating a phantom."""
    raise AssertionError("a scenario must start with 'Given a \"…\" phantom …'")
