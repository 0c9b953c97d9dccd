"""Step definitions of ``verification/features/phantoms/phantom.feature``.

Verifies the synthetic CT phantoms every pipeline stage is verified against: real DICOM,
exact ground truth, reproducible output, and the faults real data shows, made through the
``corridor phantom`` command.

The checks read the written files with pydicom and numpy directly and compare with
closed forms; nothing here calls the phantom code except through its command.  Like every
test in this folder, they run with pydicom raising on any invalid value (``conftest.py``).
"""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pytest_bdd import parsers, scenarios, then, when

from verification.command_run import run_corridor

scenarios("phantoms/phantom.feature")

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


@pytest.fixture
def run(tmp_path: Path) -> dict[str, Any]:
    """The temporary folder and the last command's outcome."""
    return {"tmp": tmp_path, "status": None, "stdout": "", "stderr": ""}


@when(parsers.parse('I run "{command}"'))
def run_command(run: dict[str, Any], command: str) -> None:
    """Run a `corridor` command line in-process; `{tmp}` is the scenario's folder."""
    argv = shlex.split(command.replace("{tmp}", str(run["tmp"])))
    assert argv[0] == "corridor"
    done = run_corridor(argv[1:])
    run["status"], run["stdout"], run["stderr"] = done.status, done.stdout, done.stderr


def _datasets(folder: Path) -> list[tuple[Path, pydicom.Dataset | None]]:
    found: list[tuple[Path, pydicom.Dataset | None]] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            found.append((path, pydicom.dcmread(path)))
        except Exception:  # not DICOM, or truncated on purpose
            found.append((path, None))
    return found


@then(parsers.parse('every file under "{folder}" is CT Image Storage with Rescale Slope, Rescale '
                    "Intercept and Pixel Padding Value"))
def real_ct(run: dict[str, Any], folder: str) -> None:
    """Required tags, read with pydicom."""
    files = _datasets(run["tmp"] / folder)
    assert files
    for path, ds in files:
        assert ds is not None, path
        assert ds.SOPClassUID == CT_IMAGE_STORAGE
        assert ds.Modality == "CT"
        for keyword in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID",
                        "FrameOfReferenceUID", "ImagePositionPatient", "ImageOrientationPatient",
                        "PixelSpacing", "RescaleSlope", "RescaleIntercept", "PixelPaddingValue"):
            assert keyword in ds, f"{path}: {keyword}"
        assert ds.pixel_array.shape == (ds.Rows, ds.Columns)


@then(parsers.parse('"{folder}" holds hu.npy, labels.npy, padding.npy, geometry.json and '
                    "manifest.json"))
def truth_files(run: dict[str, Any], folder: str) -> None:
    """The ground-truth files exist and load."""
    base = run["tmp"] / folder
    for name in ("hu.npy", "labels.npy", "padding.npy"):
        assert np.load(base / name).ndim == 3
    for name in ("geometry.json", "manifest.json"):
        assert json.loads((base / name).read_text())


@then(parsers.parse('the folders "{a}" and "{b}" hold identical bytes'))
def identical(run: dict[str, Any], a: str, b: str) -> None:
    """Same relative names, same bytes."""
    def listing(folder: Path) -> dict[str, bytes]:
        return {p.relative_to(folder).as_posix(): p.read_bytes()
                for p in folder.rglob("*") if p.is_file()}

    assert listing(run["tmp"] / a) == listing(run["tmp"] / b)


@then(parsers.parse("the exit status is {status:d}"))
def exit_status(run: dict[str, Any], status: int) -> None:
    """The command's exit status."""
    assert run["status"] == status, run["stderr"]


@then(parsers.parse('standard error ends with one line naming "{text}"'))
def error_line(run: dict[str, Any], text: str) -> None:
    """The last line names the bad value; no traceback."""
    assert "Traceback" not in run["stderr"]
    assert text in run["stderr"].strip().splitlines()[-1]


@then(parsers.parse('the labelled volume in "{folder}" is within {percent:d} % of 4/3·π·r³ for '
                    "the radius in its manifest"))
def sphere_volume(run: dict[str, Any], folder: str, percent: int) -> None:
    """Voxel count times voxel volume against the closed form."""
    base = run["tmp"] / folder / "truth"
    manifest = json.loads((base / "manifest.json").read_text())
    sphere = next(o for o in manifest["anatomy"]["objects"] if o["type"] == "sphere")
    affine = np.asarray(json.loads((base / "geometry.json").read_text())["affine"], float)
    voxel = abs(float(np.linalg.det(affine[:3, :3])))
    measured = int((np.load(base / "labels.npy") == 1).sum()) * voxel
    exact = 4 / 3 * math.pi * sphere["radius_mm"] ** 3
    assert abs(measured - exact) / exact <= percent / 100


@then(parsers.parse('the labels of "{a}" and "{b}" agree at every voxel centre of "{a2}" when '
                    'looked up by LPS position in "{b2}"'))
def same_anatomy(run: dict[str, Any], a: str, b: str, a2: str, b2: str) -> None:
    """Map each voxel centre of one grid into the other through the two affines."""
    def load(folder: str) -> tuple[np.ndarray, np.ndarray]:
        base = run["tmp"] / folder / "truth"
        affine = np.asarray(json.loads((base / "geometry.json").read_text())["affine"], float)
        return np.load(base / "labels.npy"), affine

    labels_a, affine_a = load(a)
    labels_b, affine_b = load(b)
    ijk = np.indices(labels_a.shape).reshape(3, -1).T
    lps = ijk @ affine_a[:3, :3].T + affine_a[:3, 3]
    in_b = np.linalg.solve(affine_b[:3, :3], (lps - affine_b[:3, 3]).T).T
    nearest = np.rint(in_b)
    assert np.allclose(in_b, nearest, atol=1e-6), "the two grids' voxel centres do not coincide"
    nearest = nearest.astype(int)
    inside = np.all((nearest >= 0) & (nearest < np.asarray(labels_b.shape)), axis=1)
    assert inside.mean() > 0.99
    found = labels_b[tuple(nearest[inside].T)]
    assert np.array_equal(found, labels_a.reshape(-1)[inside])
    assert (labels_a > 1).any()


@then(parsers.parse('the manifest of "{folder}" records the fault "{fault}"'))
def manifest_fault(run: dict[str, Any], folder: str, fault: str) -> None:
    """The manifest's faults section names it."""
    manifest = json.loads((run["tmp"] / folder / "truth" / "manifest.json").read_text())
    assert fault in json.dumps(manifest["faults"])


@then(parsers.parse('the series in "{folder}" shows the fault "{fault}"'))
def series_fault(run: dict[str, Any], folder: str, fault: str) -> None:
    """The files themselves show it (counted with pydicom)."""
    files = _datasets(run["tmp"] / folder)
    images = [ds for _, ds in files
              if ds is not None and "PixelData" in ds
              and "LOCALIZER" not in [str(v) for v in ds.get("ImageType", [])]]
    positions = {tuple(round(float(v), 3) for v in ds.ImagePositionPatient) for ds in images}
    if fault == "missing-slice":
        assert len(images) == len(positions) == 9
    elif fault == "duplicate-slice":
        assert (len(images), len(positions)) == (11, 10)
    elif fault == "variable-spacing":
        along = sorted(float(np.asarray(ds.ImagePositionPatient, dtype=float)
                             @ np.cross(np.asarray(ds.ImageOrientationPatient[:3], dtype=float),
                                        np.asarray(ds.ImageOrientationPatient[3:], dtype=float)))
                       for ds in images)
        assert np.allclose(np.diff(along), [1.0] * 4 + [1.75] * 5)
    elif fault == "localizer":
        assert sum("LOCALIZER" in [str(v) for v in ds.get("ImageType", [])]
                   for _, ds in files if ds is not None) == 1
    elif fault == "non-ct-files":
        assert any(ds is None for _, ds in files)
        assert any(ds is not None and "PixelData" not in ds for _, ds in files)
    else:
        raise AssertionError(f"no check for {fault}")


@then(parsers.parse('every file under "{folder}" is in the transfer syntax "{uid}" and {encoding}'))
def written_in_syntax(run: dict[str, Any], folder: str, uid: str, encoding: str) -> None:
    """Each file's File Meta names the syntax; its pixels, rescaled by hand, are the truth's
    slice (lossless), or it says it was compressed lossily, as the manifest does."""
    assert run["status"] == 0, run["stderr"]
    root = run["tmp"] / Path(folder).parent
    truth = np.load(root / "truth" / "hu.npy")
    manifest = json.loads((root / "truth" / "manifest.json").read_text())
    files = _datasets(run["tmp"] / folder)
    assert len(files) == truth.shape[2]
    exact = []
    for _, ds in files:
        assert ds is not None
        assert ds.file_meta.TransferSyntaxUID == uid
        k = int(ds.InstanceNumber) - 1
        hu = ds.pixel_array.astype(np.int64) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)
        exact.append(np.array_equal(hu, truth[:, :, k].T))
        lossy = ds.get("LossyImageCompression", "00") == "01"
        assert lossy == (encoding == "is marked lossy"), encoding
    if encoding == "decodes to the truth":
        assert manifest["series"]["lossless"] is True
        assert all(exact)
    else:
        assert manifest["series"]["lossless"] is False
        assert not all(exact)


def _segment_distance(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distance (mm) from points ``(n, 3)`` to the segment ``start``-``end`` (closest point on
    it, clamped to its ends), computed here."""
    along = end - start
    t = np.clip((points - start) @ along / float(along @ along), 0.0, 1.0)
    return np.asarray(np.linalg.norm(points - (start + t[:, None] * along), axis=1))


def _truth_grid(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Labels, HU, every voxel centre (LPS, ``(n, 3)`` in C order of ``[i, j, k]``) and the
    manifest of a phantom folder, from its truth files."""
    labels = np.load(folder / "truth" / "labels.npy")
    hu = np.load(folder / "truth" / "hu.npy")
    affine = np.asarray(json.loads((folder / "truth" / "geometry.json").read_text())["affine"])
    ijk = np.indices(labels.shape).reshape(3, -1).astype(float)
    points = (affine[:3, :3] @ ijk + affine[:3, 3:4]).T
    return labels, hu, points, json.loads((folder / "truth" / "manifest.json").read_text())


@then(parsers.parse('the labels of "{faint}" are those of "{clean}" with vessel at the '
                    "soft-tissue voxel centres within {radius:g} mm of the segment from "
                    "{x1:g} {y1:g} {z1:g} to {x2:g} {y2:g} {z2:g}"))
def faint_labels(run: dict[str, Any], faint: str, clean: str, radius: float, x1: float,
                 y1: float, z1: float, x2: float, y2: float, z2: float) -> None:
    """Labels 1 (soft tissue) and 4 (vessel) by the manifest; distances computed here."""
    before, _, points, manifest = _truth_grid(run["tmp"] / clean)
    after = np.load(run["tmp"] / faint / "truth" / "labels.npy")
    names = {entry["name"]: int(value) for value, entry in manifest["labels"].items()}
    distance = _segment_distance(points, np.array([x1, y1, z1]), np.array([x2, y2, z2]))
    inside = (distance <= radius).reshape(before.shape) & (before == names["soft-tissue"])
    assert inside.sum() >= 20, "the segment must hold soft-tissue voxels of this grid"
    expected = np.where(inside, names["vessel"], before)
    assert np.array_equal(after, expected)


@then(parsers.parse('the HU pydicom decodes from "{folder}" are those of "{clean}" raised on its '
                    "soft tissue by {contrast:g} of the vessel's contrast times the edge blurred "
                    "by {blur:g} mm, every other voxel unchanged"))
def faint_hu(run: dict[str, Any], folder: str, clean: str, contrast: float,
             blur: float) -> None:
    """Decoded slice by slice (sorted by position), against the fault-free phantom's truth
    (same seed: same noise) plus contrast x (HU vessel - HU soft tissue) x erfc(d / (sqrt 2
    blur)) / 2, rounded, d the signed distance to the segment's surface computed here."""
    before, hu_before, points, manifest = _truth_grid(run["tmp"] / clean)
    planted = run["tmp"] / Path(folder).parent / "truth" / "manifest.json"
    segment = json.loads(planted.read_text())["faults"]["faint-vessel"]
    start, end = np.array(segment["start_lps_mm"]), np.array(segment["end_lps_mm"])
    signed = _segment_distance(points, start, end) - float(segment["radius_mm"])
    hu = {entry["name"]: float(entry["hu"]) for entry in manifest["labels"].values()}
    names = {entry["name"]: int(value) for value, entry in manifest["labels"].items()}
    erfc = np.frompyfunc(math.erfc, 1, 1)
    profile = 0.5 * erfc(signed / (math.sqrt(2.0) * blur)).astype(float)
    raised = np.rint(hu_before.reshape(-1) + contrast * (hu["vessel"] - hu["soft-tissue"])
                     * profile).reshape(before.shape)
    soft = before == names["soft-tissue"]
    expected = np.where(soft & (hu_before != -3024), raised, hu_before)
    slices = [ds for _, ds in _datasets(run["tmp"] / folder) if ds is not None]
    normal = np.cross(np.asarray(slices[0].ImageOrientationPatient[:3], float),
                      np.asarray(slices[0].ImageOrientationPatient[3:], float))
    slices.sort(key=lambda ds: float(np.asarray(ds.ImagePositionPatient, float) @ normal))
    decoded = np.stack([(ds.pixel_array.astype(np.int64) * int(ds.RescaleSlope)
                         + int(ds.RescaleIntercept)).T for ds in slices], axis=2)
    assert decoded.shape == before.shape
    assert np.count_nonzero(decoded != hu_before) >= 20
    assert np.array_equal(decoded, expected)


@then(parsers.parse('the manifest of "{folder}" records the fault "{fault}" with its segment and '
                    "the voxels it labelled and changed"))
def faint_manifest(run: dict[str, Any], folder: str, fault: str) -> None:
    """The record's counts are the differences between this folder's truth and the fault-free
    phantom's (``clean``, the scenario's other folder)."""
    record = json.loads((run["tmp"] / folder / "truth" / "manifest.json").read_text())
    entry = record["faults"][fault]
    before = np.load(run["tmp"] / "clean" / "truth" / "labels.npy")
    after = np.load(run["tmp"] / folder / "truth" / "labels.npy")
    hu_before = np.load(run["tmp"] / "clean" / "truth" / "hu.npy")
    hu_after = np.load(run["tmp"] / folder / "truth" / "hu.npy")
    assert entry["voxels_labelled_vessel"] == int(np.count_nonzero(after != before))
    assert entry["voxels_hu_changed"] == int(np.count_nonzero(hu_after != hu_before))
    assert (entry["radius_mm"], entry["contrast"], entry["blur_mm"]) == (4.0, 0.4, 1.5)
    counts = np.bincount(after.ravel(), minlength=5)
    assert record["voxel_counts"] == {str(v): int(n) for v, n in enumerate(counts) if n}
