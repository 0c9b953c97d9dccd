"""Helpers shared by the ingest step modules: the scenario context and independent readings.

The written series is read here with pydicom directly, independently of the code under test.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import yaml
from numpy.typing import NDArray
from pydicom.uid import generate_uid

from corridor.ingest.api import IngestResult, ingest
from corridor.ingest.errors import IngestError
from corridor_phantoms import write_series


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
    scanner_series: dict[str, Any] | None = None
    """The manifest entry of a real scanner series (``None`` for a phantom)."""

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


def corner_points(affine: NDArray[np.float64], shape: tuple[int, ...]) -> NDArray[np.float64]:
    """LPS positions of the 8 corner voxels of a grid with this affine."""
    ni, nj, nk = (n - 1 for n in shape)
    ijk = np.array([[i, j, k, 1] for i in (0, ni) for j in (0, nj) for k in (0, nk)], float)
    return (ijk @ affine.T)[:, :3]


def ct_images(case: Case) -> list[tuple[Path, pydicom.Dataset]]:
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


def write_case(case: Case, faults: list[str], **options: Any) -> None:
    """Write the phantom as a DICOM series with these planted faults."""
    case.written = write_series(case.phantom, case.root, faults=faults, **options)


def fault_names(text: str) -> list[str]:
    """The comma-separated fault names of a step."""
    return [f.strip() for f in text.split(",") if f.strip()]


def ingest_case(case: Case, uid: str | None = None) -> None:
    """Ingest the series with the real code, keeping the result or the refusal."""
    case.result, case.error = None, None
    try:
        case.result = ingest(case.dicom, uid)
    except IngestError as exc:
        case.error = exc


SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"


def _derived_object(template: Path, out: Path, *, series_uid: str | None = None,
                    sop_class_uid: str | None = None, **keywords: Any) -> Path:
    """Copy of one image of the phantom under a new SOP Instance UID, edited as given.

    A keyword given ``None`` removes the element.
    """
    ds = pydicom.dcmread(template)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    if series_uid is not None:
        ds.SeriesInstanceUID = series_uid
    if sop_class_uid is not None:
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class_uid
    for keyword, value in keywords.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(out, enforce_file_format=True)
    return out


def add_scout_series(template: Path, folder: Path) -> list[Path]:
    """A two-image scout (topogram) series made from an image of the series, as scanners
    write before the axial series."""
    uid = generate_uid()
    return [_derived_object(template, folder / f"scout{n}.dcm", series_uid=uid,
                            ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"],
                            ImageOrientationPatient=orientation, SeriesDescription="Topogram",
                            SeriesNumber=1, InstanceNumber=n + 1)
            for n, orientation in enumerate(([1, 0, 0, 0, 0, -1], [0, 1, 0, 0, 0, -1]))]


def add_dose_summary(template: Path, folder: Path) -> Path:
    """A dose report as a captured screen: Secondary Capture, Modality CT, no geometry."""
    rows, columns = 48, 64
    screen = (np.arange(rows * columns, dtype=np.uint8) % 251).reshape(rows, columns)
    return _derived_object(
        template, folder / "dose_report.dcm", series_uid=generate_uid(),
        sop_class_uid=SECONDARY_CAPTURE, ImageType=["DERIVED", "SECONDARY"],
        SeriesDescription="Dose Report", SeriesNumber=999, ImagePositionPatient=None,
        ImageOrientationPatient=None, PixelSpacing=None, SliceThickness=None,
        RescaleSlope=None, RescaleIntercept=None, PixelPaddingValue=None, Rows=rows,
        Columns=columns, BitsAllocated=8, BitsStored=8, HighBit=7, PixelRepresentation=0,
        PixelData=screen.tobytes())


def rewrite_images(case: Case, **keywords: Any) -> None:
    """Set (or, given ``None``, remove) elements in every image of the phantom's series."""
    for path, ds in ct_images(case):
        for keyword, value in keywords.items():
            if value is None:
                if keyword in ds:
                    delattr(ds, keyword)
            elif keyword == "SOPClassUID":
                ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = value
            else:
                setattr(ds, keyword, value)
        ds.save_as(path, enforce_file_format=True)


SCANNERS = Path(__file__).resolve().parents[1] / "fixtures" / "scanners"
"""The real scanner series' manifest (and README); the data itself may live elsewhere."""

SCANNER_DATA_ENV = "CORRIDOR_SCANNER_DATA"
"""Environment variable naming the folder of the scanner bundle, if not in a default place."""


def scanner_manifest() -> dict[str, Any]:
    """``verification/fixtures/scanners/MANIFEST.yaml``, parsed."""
    manifest: dict[str, Any] = yaml.safe_load((SCANNERS / "MANIFEST.yaml").read_text())
    return manifest


def _bundle_paths(manifest: dict[str, Any]) -> list[str]:
    files = {f["path"] for s in manifest["series"] if s["location"] == "bundle" for f in s["files"]}
    files |= {lic["file"] for lic in manifest["licences"] if lic["location"] == "bundle"}
    return sorted(files)


def scanner_location(location: str) -> Path | None:
    """The folder the manifest's paths of ``location`` are relative to (``None`` if absent).

    ``pydicom``: the test files inside the installed pydicom; ``pydicom-dist-info``: its
    distribution metadata; ``bundle``: the first of ``$CORRIDOR_SCANNER_DATA``, this
    fixtures folder, ``shared/reference-data/scanners`` in or beside the checkout that
    holds every bundle file the manifest lists.
    """
    if location == "pydicom":
        return Path(pydicom.__file__).parent / "data" / "test_files"
    if location == "pydicom-dist-info":
        for item in metadata.distribution("pydicom").files or []:
            if item.name == "METADATA" and item.parent.name.endswith(".dist-info"):
                return Path(str(item.locate())).parent
        return None
    if location != "bundle":
        raise ValueError(f"unknown scanner data location {location!r}")
    root = SCANNERS.parents[2]
    candidates = [Path(os.environ[SCANNER_DATA_ENV])] if os.environ.get(SCANNER_DATA_ENV) else []
    candidates += [SCANNERS, root / "shared" / "reference-data" / "scanners",
                   root.parent / "shared" / "reference-data" / "scanners"]
    wanted = _bundle_paths(scanner_manifest())
    for folder in candidates:
        if all((folder / path).is_file() for path in wanted):
            return folder
    return None


def require_scanner_location(location: str) -> Path:
    """:func:`scanner_location`, or skip the scenario with one line saying where to put it."""
    folder = scanner_location(location)
    if folder is None:
        pytest.skip(f"the scanner bundle is not here: put it in shared/reference-data/scanners "
                    f"or name its folder with ${SCANNER_DATA_ENV} "
                    "(see verification/fixtures/scanners/README.md)")
    return folder


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scanner_entry(name: str) -> dict[str, Any]:
    """The manifest entry of the real scanner series ``name``."""
    entries = {s["name"]: s for s in scanner_manifest()["series"]}
    if name not in entries:
        raise KeyError(f"no scanner series {name!r} in the manifest; found {sorted(entries)}")
    entry: dict[str, Any] = entries[name]
    return entry


def copy_scanner_series(name: str, root: Path) -> Case:
    """A :class:`Case` whose ``dicom`` folder holds the series' files, checked by SHA-256.

    The files keep their relative paths (and bytes); a file whose hash differs from the
    manifest's stops the scenario.
    """
    entry = scanner_entry(name)
    source = require_scanner_location(entry["location"])
    case = Case(root, scanner_series=entry)
    for item in entry["files"]:
        target = case.dicom / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / item["path"], target)
        found = sha256_of(target)
        assert found == item["sha256"], (
            f"{source / item['path']}: SHA-256 {found}, expected {item['sha256']} (MANIFEST.yaml)")
    return case
