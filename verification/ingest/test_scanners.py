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
from typing import Any

import nibabel as nib
import numpy as np
import pydicom
import pytest
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then

from verification.ingest.helpers import (
    Case,
    require_scanner_location,
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
