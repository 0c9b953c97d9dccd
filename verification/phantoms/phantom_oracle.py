"""Independent readers of what the phantom generator wrote.

pydicom and NumPy only: geometry is computed from the DICOM tags by the
standard's definitions, never by calling the code under test.  Imported by its
package path, ``verification.phantoms.phantom_oracle``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataset import Dataset

SMALL_SHAPE = (48, 40, 24)
"""Voxels (i, j, k) of the small phantoms the tests use (unequal, so a swap shows)."""

SMALL_SPACING = (1.5, 1.25, 2.5)
"""Spacing (mm) of the small phantoms (unequal, so a PixelSpacing order error shows)."""


def read_all(folder: Path) -> dict[str, Dataset]:
    """Every DICOM file of ``folder`` by name (files pydicom cannot read are left out)."""
    result = {}
    for path in sorted(folder.iterdir()):
        try:
            result[path.name] = pydicom.dcmread(path)
        except Exception:
            continue
    return result


def normal_of(ds: Dataset) -> NDArray[np.float64]:
    """Unit normal of an image plane: row direction x column direction (from IOP)."""
    iop = np.asarray(ds.ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(iop[:3], iop[3:])
    return np.asarray(normal / np.linalg.norm(normal))


def sort_by_position(slices: list[Dataset]) -> list[Dataset]:
    """Slices ordered by IPP projected on the normal of the first (as 3D Slicer and ITK do)."""
    normal = normal_of(slices[0])
    return sorted(slices, key=lambda ds: float(np.asarray(ds.ImagePositionPatient,
                                                          dtype=np.float64) @ normal))


def affine_from_tags(slices: list[Dataset]) -> NDArray[np.float64]:
    """The 4x4 voxel (i = column, j = row, k = slice) to LPS affine, from IOP, IPP and PixelSpacing.

    Column 0: row direction (IOP[0:3]) x spacing between columns (PixelSpacing[1]);
    column 1: column direction (IOP[3:6]) x spacing between rows (PixelSpacing[0]);
    column 2: (last IPP - first IPP) / (n - 1); column 3: first IPP.
    """
    ordered = sort_by_position(slices)
    iop = np.asarray(ordered[0].ImageOrientationPatient, dtype=np.float64)
    spacing = np.asarray(ordered[0].PixelSpacing, dtype=np.float64)
    first = np.asarray(ordered[0].ImagePositionPatient, dtype=np.float64)
    last = np.asarray(ordered[-1].ImagePositionPatient, dtype=np.float64)
    affine = np.eye(4)
    affine[:3, 0] = iop[:3] * spacing[1]
    affine[:3, 1] = iop[3:] * spacing[0]
    affine[:3, 2] = (last - first) / (len(ordered) - 1)
    affine[:3, 3] = first
    return affine


def enhanced_affine(ds: Dataset) -> tuple[NDArray[np.float64], list[NDArray[np.float64]]]:
    """Affine of a multi-frame Enhanced CT object from its functional groups, and frame IPPs.

    Frames are ordered by their position along the normal.
    """
    shared = ds.SharedFunctionalGroupsSequence[0]
    iop = np.asarray(shared.PlaneOrientationSequence[0].ImageOrientationPatient, dtype=np.float64)
    spacing = np.asarray(shared.PixelMeasuresSequence[0].PixelSpacing, dtype=np.float64)
    positions = [np.asarray(f.PlanePositionSequence[0].ImagePositionPatient, dtype=np.float64)
                 for f in ds.PerFrameFunctionalGroupsSequence]
    normal = np.cross(iop[:3], iop[3:])
    ordered = sorted(positions, key=lambda p: float(p @ normal))
    affine = np.eye(4)
    affine[:3, 0] = iop[:3] * spacing[1]
    affine[:3, 1] = iop[3:] * spacing[0]
    affine[:3, 2] = (ordered[-1] - ordered[0]) / (len(ordered) - 1)
    affine[:3, 3] = ordered[0]
    return affine, positions


def hu_of(ds: Dataset, array: NDArray[Any] | None = None) -> NDArray[np.int64]:
    """Modality LUT by hand: stored x RescaleSlope + RescaleIntercept (integers here).

    ``ds`` holds the rescale (an image, or an Enhanced CT's Pixel Value Transformation
    item); ``array`` defaults to its pixel data.
    """
    stored = ds.pixel_array if array is None else array
    slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
    assert slope == 1.0
    return np.asarray(stored, dtype=np.int64) + int(intercept)


def load_truth(out: Path) -> tuple[NDArray[np.int16], NDArray[np.uint8], dict[str, Any],
                                   dict[str, Any]]:
    """``hu``, ``labels``, ``geometry.json`` and ``manifest.json`` of an output folder."""
    truth = out / "truth"
    return (np.load(truth / "hu.npy"), np.load(truth / "labels.npy"),
            json.loads((truth / "geometry.json").read_text()),
            json.loads((truth / "manifest.json").read_text()))


def ct_images(datasets: dict[str, Dataset], series_uid: str | None = None) -> list[Dataset]:
    """CT image objects (with pixel data) that are not localizers, optionally of one series."""
    return [ds for ds in datasets.values()
            if ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2" and "PixelData" in ds
            and "LOCALIZER" not in ds.ImageType
            and (series_uid is None or ds.SeriesInstanceUID == series_uid)]
