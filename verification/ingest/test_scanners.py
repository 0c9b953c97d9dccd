"""Step definitions of ``verification/features/ingest/scanners.feature``.

Real scanner series (``verification/fixtures/scanners/MANIFEST.yaml``) against two oracles
the code under test did not produce:

* dcm2niix (the ``dcm2niix`` wheel of the test extra), whose NIfTI is compared through the
  affines: every voxel centre of the ingested volume must be a voxel centre of the NIfTI
  (RAS) within 0.001 mm, and hold the same value;
* the image plane attributes read here with pydicom (Image Position and Orientation
  (Patient), Pixel Spacing), from which the corners of the first and last slices follow.

The manifest itself is checked: every entry names its source (repository, commit, path),
licence and expected outcome, and every file has the SHA-256 it pins.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pydicom
import pytest
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.ingest import ingest
from corridor.ingest.errors import UnsafeSeriesError
from verification.ingest.conftest import loaded_saying, refused_saying, run_named_command
from verification.ingest.helpers import (
    Case,
    copy_scanner_series,
    ingest_case,
    require_scanner_location,
    scanner_entry,
    scanner_manifest,
    sha256_of,
)

scenarios("ingest/scanners.feature")

POSITION_TOLERANCE_MM = 1e-3
"""Largest distance between a voxel centre and the oracle's (NIfTI stores float32 affines)."""

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

SPDX = {"MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "CC0-1.0", "CC-BY-4.0"}
"""Licences the fixtures may carry (permissive, redistributable)."""


@given("the scanner series manifest", target_fixture="manifest")
def manifest() -> dict[str, Any]:
    """The parsed manifest."""
    return scanner_manifest()


@then("every series names its repository, commit, path in the repository, licence, modality "
      "and expected outcome")
def series_named(manifest: dict[str, Any]) -> None:
    names = [s["name"] for s in manifest["series"]]
    assert len(names) == len(set(names)), f"duplicate series names in {names}"
    for entry in manifest["series"]:
        where = f"series {entry.get('name')!r}"
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", entry["repository"]), where
        assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"]), where
        assert entry["source_path"], where
        assert entry["licence"] in SPDX, f"{where}: licence {entry['licence']!r}"
        assert entry["location"] in {"pydicom", "bundle"}, where
        for key in ("modality", "vendor", "model", "exercises", "transfer_syntax"):
            assert entry.get(key), f"{where}: no {key}"
        assert entry["expect"] in {"loaded", "refused"}, where
        assert entry["expect"] == "loaded" or entry.get("reason"), f"{where}: refused, no reason"
        assert len(entry["files"]) == entry["slices"] or entry["modality"] != "CT", where


@then("every file names its path, its path in the repository and a SHA-256")
def files_named(manifest: dict[str, Any]) -> None:
    for entry in manifest["series"]:
        assert entry["files"], entry["name"]
        for item in entry["files"]:
            assert item["path"], (entry["name"], item)
            assert item["source_path"], (entry["name"], item)
            assert item["source_path"].startswith(entry["source_path"]), (entry["name"], item)
            assert re.fullmatch(r"[0-9a-f]{64}", item["sha256"]), (entry["name"], item)


@then("every licence named has its text listed beside the data")
def licences_listed(manifest: dict[str, Any]) -> None:
    listed = {(lic["repository"], lic["spdx"]) for lic in manifest["licences"]}
    for lic in manifest["licences"]:
        assert re.fullmatch(r"[0-9a-f]{40}", lic["commit"]), lic
        assert lic["source_path"], lic
        assert re.fullmatch(r"[0-9a-f]{64}", lic["sha256"]), lic
    for entry in manifest["series"]:
        assert (entry["repository"], entry["licence"]) in listed, (
            f"series {entry['name']!r}: no {entry['licence']} text of {entry['repository']} "
            f"among the licences {sorted(listed)}")


@then(parsers.parse('every file stored in "{location}" has the SHA-256 the manifest pins'))
def hashes_match(manifest: dict[str, Any], location: str) -> None:
    folder = require_scanner_location(location)
    pinned = {f["path"]: f["sha256"] for s in manifest["series"] if s["location"] == location
              for f in s["files"]}
    pinned |= {lic["file"]: lic["sha256"] for lic in manifest["licences"]
               if lic["location"] == location}
    assert pinned, f"the manifest lists no file in {location!r}"
    wrong = {path: sha256_of(folder / path) for path, sha in pinned.items()
             if sha256_of(folder / path) != sha}
    assert not wrong, f"{folder}: SHA-256 differs from MANIFEST.yaml for {wrong}"


def dcm2niix_binary() -> str:
    """The dcm2niix program: the one the wheel ships, else one on the PATH."""
    try:
        import dcm2niix  # type: ignore[import-untyped]  # the test extra's wheel
    except ImportError:
        found = shutil.which("dcm2niix")
    else:
        found = str(dcm2niix.bin)
    if found is None:
        pytest.fail("dcm2niix is not installed: install the test extra (pip install -e '.[test]'), "
                    "whose dcm2niix wheel ships the program", pytrace=False)
    return found


def dcm2niix_image(case: Case) -> Any:
    """The series converted by dcm2niix (no defaults file, no sidecar, no compression)."""
    out = case.root / "dcm2niix"
    out.mkdir(exist_ok=True)
    found = sorted(out.glob("*.nii"))
    if not found:
        run = subprocess.run([dcm2niix_binary(), "-g", "i", "-b", "n", "-z", "n", "-f", "%s",
                              "-o", str(out), str(case.dicom)],
                             capture_output=True, text=True, timeout=60, check=False)
        found = sorted(out.glob("*.nii"))
        said = f"{run.stdout[-800:]} {run.stderr[-800:]}"
        assert run.returncode == 0, f"dcm2niix exit {run.returncode}: {said}"
        assert len(found) == 1, f"dcm2niix wrote {[p.name for p in found]}, expected one: {said}"
    return nib.load(found[0])


def voxel_map(case: Case) -> tuple[NDArray[np.float64], Any]:
    """Index map from the ingested volume's (i, j, k) to the NIfTI's, and the NIfTI."""
    image = dcm2niix_image(case)
    volume = case.loaded().volume
    return np.linalg.inv(image.affine) @ LPS_TO_RAS @ volume.geometry.affine, image


@then("the volume's voxel centres lie within 0.001 mm of dcm2niix's")
def centres_match(case: Case) -> None:
    """Every voxel centre is a NIfTI voxel centre: checked on the 8 corners (both maps affine)."""
    volume = case.loaded().volume
    mapping, image = voxel_map(case)
    shape = volume.geometry.shape
    nifti_shape = image.shape[:3]
    assert all(n == 1 for n in image.shape[3:]), f"dcm2niix wrote shape {image.shape}"
    assert sorted(shape) == sorted(nifti_shape), f"shape {shape}, dcm2niix {nifti_shape}"
    corners = np.array([[i, j, k, 1.0] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1)
                        for k in (0, shape[2] - 1)])
    nearest = np.rint(corners @ mapping.T)
    inside = np.all(nearest[:, :3] >= 0) & np.all(nearest[:, :3] < np.array(nifti_shape))
    assert inside, f"the volume's corners fall outside dcm2niix's grid: {nearest[:, :3].tolist()}"
    ours = (corners @ (LPS_TO_RAS @ volume.geometry.affine).T)[:, :3]
    theirs = (nearest @ np.asarray(image.affine).T)[:, :3]
    distance = np.linalg.norm(ours - theirs, axis=1)
    assert distance.max() <= POSITION_TOLERANCE_MM, f"voxel centres {distance.max():.6f} mm apart"
    # A one-to-one map between the grids: each of our axes runs along one of the NIfTI's.
    axes = np.rint(mapping[:3, :3])
    assert np.allclose(mapping[:3, :3], axes, atol=1e-4), mapping
    assert sorted(np.abs(axes).sum(axis=0).tolist()) == [1.0, 1.0, 1.0], axes


@then("the volume's HU equal dcm2niix's on every voxel")
def hu_match(case: Case) -> None:
    """Exact equality, voxel for voxel through the index map (dcm2niix's scaling applied)."""
    volume = case.loaded().volume
    mapping, image = voxel_map(case)
    theirs = np.asarray(image.dataobj, dtype=np.float64).reshape(image.shape[:3])
    index = np.indices(volume.geometry.shape).reshape(3, -1)
    target = np.rint(mapping[:3, :3] @ index + mapping[:3, 3:]).astype(np.intp)
    expected = theirs[target[0], target[1], target[2]].reshape(volume.geometry.shape)
    padding = volume.padding_mask()
    keep = np.ones(expected.shape, bool) if padding is None else ~padding
    found = np.asarray(volume.hu, dtype=np.float64)
    differ = int(np.count_nonzero(found[keep] != expected[keep]))
    assert differ == 0, (f"{differ} voxels differ from dcm2niix; largest difference "
                         f"{np.abs(found[keep] - expected[keep]).max()} HU")


def images_along_normal(case: Case) -> list[pydicom.Dataset]:
    """The series' images, read with pydicom and sorted here along their normal."""
    images = [pydicom.dcmread(path, stop_before_pixels=True)
              for path in sorted(case.dicom.rglob("*")) if path.is_file()]
    iop = np.asarray(images[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    return sorted(images, key=lambda ds: float(np.asarray(ds.ImagePositionPatient, float)
                                                 @ normal))


@then("the volume's first and last slices lie within 0.001 mm of where their images' position, "
      "orientation and pixel spacing put them")
def slices_match_headers(case: Case) -> None:
    """Corners of slice 0 and slice n-1 from IPP, IOP and Pixel Spacing (row, column)."""
    volume = case.loaded().volume
    images = images_along_normal(case)
    columns, rows = int(images[0].Columns), int(images[0].Rows)
    assert volume.geometry.shape == (columns, rows, len(images))
    for k, ds in ((0, images[0]), (len(images) - 1, images[-1])):
        iop = np.asarray(ds.ImageOrientationPatient, float)
        row_spacing, column_spacing = (float(v) for v in ds.PixelSpacing)
        origin = np.asarray(ds.ImagePositionPatient, float)
        ij = [(i, j) for i in (0, columns - 1) for j in (0, rows - 1)]
        expected = np.array([origin + i * column_spacing * iop[:3] + j * row_spacing * iop[3:]
                             for i, j in ij])
        found = (np.array([[i, j, k, 1.0] for i, j in ij]) @ volume.geometry.affine.T)[:, :3]
        distance = np.linalg.norm(found - expected, axis=1)
        assert distance.max() <= POSITION_TOLERANCE_MM, (
            f"slice {k} ({ds.SOPInstanceUID}): corners {distance.max():.6f} mm from its header")


@given(parsers.parse('the real scanner series "{first}" and "{second}" in one folder'),
       target_fixture="case")
def two_series(tmp_path: Path, first: str, second: str) -> Case:
    """Both series copied (hash-checked) into one folder, as a study export holds them."""
    case = copy_scanner_series(first, tmp_path / "scanner")
    copy_scanner_series(second, tmp_path / "scanner")
    return case


def _files_of(case: Case, name: str) -> set[str]:
    """The paths the series' files have in the scenario's folder (from the manifest)."""
    return {str(case.dicom / item["path"]) for item in scanner_entry(name)["files"]}


@then(parsers.parse('the volume holds every image of "{axial}" and none of "{scout}"'))
def holds_axial_only(case: Case, axial: str, scout: str) -> None:
    """The volume's source files are exactly the axial series' (the manifest's list)."""
    used = {source.path for source in case.loaded().volume.sources}
    assert used == _files_of(case, axial)
    assert not used & _files_of(case, scout)


@then(parsers.parse('the warning "{code}" names every file of "{name}"'))
def warning_names_files(case: Case, code: str, name: str) -> None:
    """One warning of that code, naming each file."""
    messages = [w.message for w in case.loaded().volume.warnings if w.code.value == code]
    assert len(messages) == 1, case.loaded().volume.warnings
    for path in _files_of(case, name):
        assert path in messages[0], (path, messages[0])


@then(parsers.parse('the refusal names every file of "{name}"'))
def refusal_names_files(case: Case, name: str) -> None:
    """Each file of the series is in the message."""
    assert case.error is not None
    for path in _files_of(case, name):
        assert path in str(case.error), (path, str(case.error))


@then("the refusal names the two files around the largest gap between slices, found here with "
      "pydicom")
def refusal_names_gap(case: Case) -> None:
    """The neighbours of the largest gap along the normal, from the headers."""
    assert isinstance(case.error, UnsafeSeriesError), case.error
    images = images_along_normal(case)
    iop = np.asarray(images[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    along = [float(np.asarray(ds.ImagePositionPatient, float) @ normal) for ds in images]
    widest = int(np.argmax(np.diff(along)))
    around = {str(Path(images[widest].filename)), str(Path(images[widest + 1].filename))}
    assert around <= set(case.error.files), (around, case.error.files)


@when("the series is ingested with --regularize")
def ingest_regularized(case: Case) -> None:
    """Ingest, resampling a tilted or unevenly spaced series."""
    case.result, case.error = ingest(case.dicom, regularize=True), None


@when("dcm2niix converts the same folder")
def convert_folder(case: Case) -> None:
    """dcm2niix writes the acquired volume and its corrected one (_Tilt_Eq)."""
    out = case.root / "dcm2niix"
    out.mkdir(exist_ok=True)
    run = subprocess.run([dcm2niix_binary(), "-g", "i", "-b", "n", "-z", "n", "-f", "%s",
                          "-o", str(out), str(case.dicom)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, f"dcm2niix exit {run.returncode}: {run.stdout[-800:]}"


def _corrected(case: Case, suffix: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """dcm2niix's corrected volume (HU, as stored times its scaling) and its LPS affine."""
    found = sorted((case.root / "dcm2niix").glob(f"*_{suffix}_*.nii"))
    assert len(found) == 1, [p.name for p in (case.root / "dcm2niix").iterdir()]
    image = nib.load(found[0])
    hu = np.asarray(image.dataobj, dtype=np.float64)
    slope, intercept = image.dataobj.slope, image.dataobj.inter
    hu = hu * (1.0 if np.isnan(slope) else slope) + (0.0 if np.isnan(intercept) else intercept)
    return hu, np.linalg.inv(LPS_TO_RAS) @ image.affine


def _shared_planes(case: Case, suffix: str) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Planes k of the regular grid lying on dcm2niix's planes, and every voxel's index there."""
    volume = case.loaded().volume
    _, lps = _corrected(case, suffix)
    grid = np.stack(np.meshgrid(*(np.arange(n) for n in volume.hu.shape), indexing="ij"), -1)
    world = grid.reshape(-1, 3) @ volume.geometry.affine[:3, :3].T + volume.geometry.affine[:3, 3]
    index = (world - lps[:3, 3]) @ np.linalg.inv(lps[:3, :3]).T
    off_plane = np.abs(index[:, 2] - np.round(index[:, 2])).reshape(volume.hu.shape)
    planes = np.flatnonzero(off_plane.max(axis=(0, 1)) < 1e-4)
    return planes, index.reshape(*volume.hu.shape, 3)


@then(parsers.parse("at least {count:d} planes of the regular grid lie on planes of dcm2niix's "
                    '"{suffix}" volume, their voxel centres within 0.001 mm of its voxel centres'))
def planes_shared(case: Case, count: int, suffix: str) -> None:
    """The in-plane grids share voxel centres; some planes coincide along the normal."""
    planes, index = _shared_planes(case, suffix)
    assert len(planes) >= count, planes
    _, lps = _corrected(case, suffix)
    on = index[:, :, planes]
    distance = np.linalg.norm((on - np.round(on)) @ lps[:3, :3].T, axis=-1)
    assert float(distance.max()) <= 1e-3


@then(parsers.parse("on those planes every voxel that is not padding holds dcm2niix's HU within "
                    "{tolerance:f} HU"))
def shared_planes_hu(case: Case, tolerance: float) -> None:
    """Where both grids have a voxel centre, within dcm2niix's extent, the values agree."""
    volume = case.loaded().volume
    reference, _ = _corrected(case, "Tilt_Eq")
    planes, index = _shared_planes(case, "Tilt_Eq")
    padding = volume.padding_mask()
    compared = 0
    for k in planes:
        at = np.round(index[:, :, k]).astype(int)
        inside = np.all((at >= 0) & (at < np.array(reference.shape)), axis=-1)
        if padding is not None:
            inside &= ~padding[:, :, k]
        theirs = reference[at[inside][:, 0], at[inside][:, 1], at[inside][:, 2]]
        ours = np.asarray(volume.hu[:, :, k], dtype=np.float64)[inside]
        assert float(np.max(np.abs(ours - theirs))) <= tolerance, (k, np.max(np.abs(ours - theirs)))
        compared += int(inside.sum())
    assert compared > 0


# -- the bundle's series ------------------------------------------------------------------------
# Files taken from other repositories reach the project through shared/reference-data/scanners
# (developers do not commit them), so CI may not have them. These checks are plain tests, not
# scenarios: with the bundle they run; without it each is skipped with one line saying where to
# put it, and no requirement's verification depends on them (the pydicom series and the
# phantoms verify the same requirements in every run).

_BUNDLE_CLEAN = ("philips-ingenuity", "ge-lightspeed16")


def test_bundle_files_have_the_pinned_sha256() -> None:
    """Every file of the bundle is byte for byte the one its repository published."""
    hashes_match(scanner_manifest(), "bundle")


@pytest.mark.parametrize("series", _BUNDLE_CLEAN)
def test_bundle_clean_series_load_as_dcm2niix_and_pydicom_read_them(tmp_path: Path,
                                                                    series: str) -> None:
    """Philips Ingenuity and GE LightSpeed16 CT: geometry and HU against dcm2niix and pydicom."""
    case = copy_scanner_series(series, tmp_path / "scanner")
    ingest_case(case)
    centres_match(case)
    hu_match(case)
    slices_match_headers(case)


def test_bundle_philips_study_folder_sets_its_surview_aside(tmp_path: Path) -> None:
    """The Philips axial series beside its surview (a scout series of its own) loads alone."""
    case = two_series(tmp_path, "philips-ingenuity", "philips-ingenuity-scout")
    ingest_case(case)
    holds_axial_only(case, "philips-ingenuity", "philips-ingenuity-scout")
    warning_names_files(case, "series-set-aside", "philips-ingenuity-scout")


@pytest.mark.parametrize(("series", "spacing_named"), [
    ("ge-hispeed-dual-tilt", False), ("ge-hispeed-dual-tilt-thickness", True)])
def test_bundle_ge_tilted_series_is_refused_for_its_tilt_first(tmp_path: Path, series: str,
                                                               spacing_named: bool) -> None:
    """GE HiSpeed Dual, tilted 18.5 degrees (and, for slices 12-16, 4 then 7 mm thick)."""
    case = copy_scanner_series(series, tmp_path / "scanner")
    ingest_case(case)
    assert isinstance(case.error, UnsafeSeriesError), case.error or "loaded"
    assert case.error.check == "gantry-tilt"
    text = str(case.error)
    assert "tilted by 18.5° (Gantry/Detector Tilt (0018,1120) is 18.5°)" in text
    assert ("Slice Thickness (0018,0050) changes too: 4, 7 mm" in text) is spacing_named
    assert ("not equally spaced" in text) is spacing_named
    assert "slice(s) are missing" not in text


def test_bundle_ge_tilted_series_regularised_agrees_with_dcm2niix(tmp_path: Path) -> None:
    """With --regularize, on the planes both grids share, within dcm2niix's two int16
    roundings (after its tilt correction and after equalising the spacing): 1.0 HU."""
    case = copy_scanner_series("ge-hispeed-dual-tilt-thickness", tmp_path / "scanner")
    ingest_regularized(case)
    convert_folder(case)
    planes_shared(case, 3, "Tilt_Eq")
    shared_planes_hu(case, 1.0)


def test_bundle_mr_series_loads_as_not_hounsfield_and_inference_refuses_it(
        tmp_path: Path) -> None:
    """Hitachi ECHELON MR named with --series: loaded for inspection, refused by corridor infer."""
    case = copy_scanner_series("hitachi-echelon-mr", tmp_path / "scanner")
    for command, check in (("ingest", loaded_saying), ("infer", refused_saying)):
        run_named_command(case, command)
        check(case, "Modality (0008,0060) is 'MR'")
