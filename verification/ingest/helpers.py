"""Helpers shared by the ingest step modules: the scenario context and independent readings.

The written series is read here with pydicom directly, independently of the code under test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
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
