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
