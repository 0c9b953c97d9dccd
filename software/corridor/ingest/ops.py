"""Pure functions of the ingest stage: group, select, sort and validate slice headers.

The rules follow 3D Slicer's DICOM plugin, ITK's series reader, highdicom and
dicom2nifti (see ``requirements_spec/srs/SRS-ING-*.yaml`` for each rule and its
tolerance): slices are ordered by the projection of Image Position (Patient) on
the slice normal, never by file name or Instance Number; anything that would
misplace a voxel is refused, naming the files and values; tolerable deviations
become warnings kept with the volume.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import ImageGeometry
from corridor.ingest.enum import WarningCode
from corridor.ingest.errors import AmbiguousSeriesError, NoSeriesError, UnsafeSeriesError
from corridor.ingest.io import SliceHeader
from corridor.ingest.model import IngestWarning, SeriesSummary

__all__ = [
    "GANTRY_TILT_TOLERANCE",
    "ORIENTATION_TOLERANCE",
    "SLICE_POSITION_TOLERANCE_MM",
    "SLICE_POSITION_WARNING_FRACTION",
    "SPACING_TOLERANCE_MM",
    "SortedSeries",
    "coarse_orientation",
    "group_series",
    "select_series",
    "sort_and_validate",
    "summarize",
]

ORIENTATION_TOLERANCE = 1e-4
"""Largest difference (absolute, per direction cosine) between the orientation of any
slice and the first one (highdicom's orthogonality tolerance; tighter than dicom2nifti's 1e-3)."""

SPACING_TOLERANCE_MM = 1e-4
"""Largest difference (mm) between the Pixel Spacing of any slice and the first one."""

GANTRY_TILT_TOLERANCE = 1e-3
"""Largest ``1 - cos`` of the angle between the slice normal and the stacking direction
(first to last slice) before a series counts as tilted (highdicom: about 2.6°)."""

SLICE_POSITION_TOLERANCE_MM = 0.01
"""A slice may lie this far (mm) from its place on the regular grid (first slice + k·step)
with no warning (3D Slicer's spacing epsilon); DICOM's decimal strings round positions."""

SLICE_POSITION_WARNING_FRACTION = 0.01
"""Beyond :data:`SLICE_POSITION_TOLERANCE_MM` and up to this fraction of the slice spacing,
a slice is loaded at its grid place with a warning (highdicom's 1 % relative tolerance);
further away, the series is refused."""

DUPLICATE_POSITION_TOLERANCE_MM = 1e-3
"""Two slices whose projected positions differ by less than this (mm) are at the same place."""


@dataclass(frozen=True, slots=True)
class SortedSeries:
    """Slices of one series in k order, with the geometry they define."""

    slices: tuple[SliceHeader, ...]
    geometry: ImageGeometry
    warnings: tuple[IngestWarning, ...]
    duplicates: tuple[tuple[SliceHeader, SliceHeader], ...]
    """Pairs (kept, dropped) at the same position; the loader must show their pixels are
    identical, else refuse."""


def group_series(headers: Sequence[SliceHeader]) -> dict[str, list[SliceHeader]]:
    """Headers grouped by Series Instance UID (insertion order kept)."""
    groups: dict[str, list[SliceHeader]] = defaultdict(list)
    for header in headers:
        groups[header.series_instance_uid].append(header)
    return dict(groups)


def coarse_orientation(iop: Sequence[float] | None) -> str:
    """``axial``, ``coronal``, ``sagittal`` or ``oblique`` from the slice normal."""
    if iop is None or len(iop) != 6:
        return "unknown"
    normal = np.cross(np.asarray(iop[:3]), np.asarray(iop[3:]))
    axis = int(np.argmax(np.abs(normal)))
    if abs(normal[axis]) < 1 - 1e-3:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _is_localizer(header: SliceHeader) -> bool:
    return "LOCALIZER" in header.image_type


def summarize(groups: dict[str, list[SliceHeader]]) -> list[SeriesSummary]:
    """One summary per series, in the order found."""
    summaries = []
    for uid, headers in groups.items():
        images = [h for h in headers if not _is_localizer(h)] or headers
        summaries.append(SeriesSummary(
            series_instance_uid=uid,
            modality=headers[0].modality,
            description=headers[0].series_description,
            images=len(headers),
            orientation=coarse_orientation(images[0].image_orientation_patient),
        ))
    return summaries


def select_series(
    groups: dict[str, list[SliceHeader]], requested: str | None, where: str
) -> str:
    """The Series Instance UID to load.

    The one named, or else the only CT series.  Several candidates are refused
    with their list; so is a named series that does not exist.
    """
    available = [(uid, h[0].modality, len(h)) for uid, h in groups.items()]
    if requested is not None:
        if requested not in groups:
            raise NoSeriesError(where, requested, available)
        return requested
    ct = [uid for uid, headers in groups.items() if headers[0].modality == "CT"]
    if not ct:
        raise NoSeriesError(where, None, available)
    if len(ct) > 1:
        raise AmbiguousSeriesError(
            where, [(uid, groups[uid][0].series_description, len(groups[uid])) for uid in ct]
        )
    return ct[0]


def _require(headers: Sequence[SliceHeader]) -> None:
    for header in headers:
        missing = [name for name, value in (
            ("ImageOrientationPatient (0020,0037)", header.image_orientation_patient),
            ("ImagePositionPatient (0020,0032)", header.image_position_patient),
            ("PixelSpacing (0028,0030)", header.pixel_spacing),
        ) if value is None or len(value) != (6 if "Orientation" in name else
                                               3 if "Position" in name else 2)
            or not all(math.isfinite(v) for v in value)]
        if missing:
            raise UnsafeSeriesError(
                "geometry-missing", f"{', '.join(missing)} missing or malformed",
                files=[header.path], expected="every image to carry its patient geometry as "
                "finite numbers",
            )
        slope, intercept = header.rescale_slope, header.rescale_intercept
        if not (math.isfinite(slope) and math.isfinite(intercept)) or slope == 0:
            raise UnsafeSeriesError(
                "rescale", "Rescale Slope (0028,1053) or Rescale Intercept (0028,1052) unusable",
                files=[header.path], found=f"slope {slope}, intercept {intercept}",
                expected="a finite, non-zero slope and a finite intercept",
            )


def _check_uniform(headers: Sequence[SliceHeader]) -> NDArray[np.float64]:
    first = headers[0]
    iop0 = np.asarray(first.image_orientation_patient, dtype=np.float64)
    spacing0 = np.asarray(first.pixel_spacing, dtype=np.float64)
    for header in headers[1:]:
        if (header.rows, header.columns) != (first.rows, first.columns):
            raise UnsafeSeriesError(
                "image-size", "images of different sizes in one series",
                files=[first.path, header.path],
                found=f"{header.rows}x{header.columns} rows x columns",
                expected=f"{first.rows}x{first.columns} as in the first image",
            )
        deviation = float(np.max(np.abs(np.asarray(header.image_orientation_patient) - iop0)))
        if deviation > ORIENTATION_TOLERANCE:
            raise UnsafeSeriesError(
                "orientation", "Image Orientation (Patient) (0020,0037) differs between images",
                files=[first.path, header.path], found=f"largest cosine difference {deviation:.6f}",
                expected=f"at most {ORIENTATION_TOLERANCE}",
            )
        spacing_deviation = float(np.max(np.abs(np.asarray(header.pixel_spacing) - spacing0)))
        if spacing_deviation > SPACING_TOLERANCE_MM:
            raise UnsafeSeriesError(
                "pixel-spacing", "Pixel Spacing (0028,0030) differs between images",
                files=[first.path, header.path],
                found=f"{list(header.pixel_spacing or ())} vs {list(spacing0)}",
                expected=f"equal within {SPACING_TOLERANCE_MM} mm",
            )
    row, column = iop0[:3], iop0[3:]
    if abs(np.linalg.norm(row) - 1) > 1e-3 or abs(np.linalg.norm(column) - 1) > 1e-3 or abs(
            float(row @ column)) > 1e-3:
        raise UnsafeSeriesError(
            "orientation", "Image Orientation (Patient) is not two orthogonal unit vectors",
            files=[first.path], found=list(iop0), expected="orthonormal row and column cosines",
        )
    return iop0


def sort_and_validate(headers: Sequence[SliceHeader]) -> SortedSeries:
    """Drop localizers, sort by position along the slice normal, and check the geometry.

    Parameters
    ----------
    headers
        The images (frames) of one series.

    Returns
    -------
    SortedSeries
        Slices in k order (increasing along row x column), the geometry, warnings,
        and pairs of slices found at one position.

    Raises
    ------
    UnsafeSeriesError
        Missing geometry, mixed sizes, orientations or pixel spacings, gantry tilt
        beyond tolerance, missing slices, irregular spacing, or too few slices.
    """
    warnings: list[IngestWarning] = []
    localizers = [h for h in headers if _is_localizer(h)]
    images = [h for h in headers if not _is_localizer(h)]
    if localizers:
        warnings.append(IngestWarning(
            WarningCode.LOCALIZER_DROPPED,
            f"{len(localizers)} localizer image(s) (ImageType LOCALIZER) left out: "
            + ", ".join(sorted(h.path for h in localizers)),
        ))
    if len(images) < 2:
        raise UnsafeSeriesError("too-few-slices", "a volume needs at least 2 slices",
                                files=[h.path for h in images], found=len(images),
                                expected="2 or more")
    _require(images)
    truncated = sorted({h.path for h in images if not h.pixel_data_complete})
    if truncated:
        raise UnsafeSeriesError(
            "truncated-file", "image file(s) of the series end before their pixel data does",
            files=truncated, expected="complete files (copy the series again from its source)",
        )
    iop = _check_uniform(images)
    row, column = iop[:3], iop[3:]
    normal = np.cross(row, column)
    positions = np.array([h.image_position_patient for h in images], dtype=np.float64)
    distance = positions @ normal
    order = np.argsort(distance, kind="stable")
    ordered = [images[i] for i in order]
    positions, distance = positions[order], distance[order]

    kept: list[int] = [0]
    duplicates: list[tuple[SliceHeader, SliceHeader]] = []
    for index in range(1, len(ordered)):
        if distance[index] - distance[kept[-1]] < DUPLICATE_POSITION_TOLERANCE_MM:
            duplicates.append((ordered[kept[-1]], ordered[index]))
        else:
            kept.append(index)
    slices = [ordered[i] for i in kept]
    positions, distance = positions[kept], distance[kept]
    if len(slices) < 2:
        raise UnsafeSeriesError("too-few-slices", "all images lie at one position",
                                files=[h.path for h in ordered], expected="2 or more positions")

    gaps = np.diff(distance)
    typical = float(np.median(gaps))
    ratio = gaps / typical
    for found in np.flatnonzero(ratio > 1.5):
        index = int(found)
        raise UnsafeSeriesError(
            "missing-slice",
            f"a gap of {gaps[index]:.4f} mm between two slices is {ratio[index]:.2f} times the "
            f"typical spacing {typical:.4f} mm: about {round(ratio[index]) - 1} slice(s) missing",
            files=[slices[index].path, slices[index + 1].path],
            expected="no gap above 1.5 times the typical spacing",
        )

    step = (positions[-1] - positions[0]) / (len(slices) - 1)
    cos_tilt = float(step @ normal / np.linalg.norm(step))
    if 1 - cos_tilt > GANTRY_TILT_TOLERANCE:
        angle = float(np.degrees(np.arccos(np.clip(cos_tilt, -1, 1))))
        tilt_tag = slices[0].gantry_detector_tilt
        raise UnsafeSeriesError(
            "gantry-tilt",
            f"slices are stacked {angle:.2f}° away from their normal "
            f"(Gantry/Detector Tilt (0018,1120) = {tilt_tag})",
            files=[slices[0].path, slices[-1].path], found=f"1 - cos = {1 - cos_tilt:.5f}",
            expected=f"at most {GANTRY_TILT_TOLERANCE} (about 2.6°); resample to an orthogonal "
            "grid before planning",
        )

    expected_positions = positions[0] + np.outer(np.arange(len(slices)), step)
    deviation = np.linalg.norm(positions - expected_positions, axis=1)
    worst = int(np.argmax(deviation))
    limit = SLICE_POSITION_WARNING_FRACTION * float(np.linalg.norm(step))
    if deviation[worst] > max(limit, SLICE_POSITION_TOLERANCE_MM):
        raise UnsafeSeriesError(
            "slice-spacing",
            f"slice {worst} lies {deviation[worst]:.4f} mm from its place on a regular grid",
            files=[slices[worst].path],
            expected=f"at most {max(limit, SLICE_POSITION_TOLERANCE_MM):.4f} mm "
            f"({SLICE_POSITION_WARNING_FRACTION:.0%} of the {np.linalg.norm(step):.4f} mm spacing)",
        )
    if deviation[worst] > SLICE_POSITION_TOLERANCE_MM:
        warnings.append(IngestWarning(
            WarningCode.SPACING_IRREGULAR_WITHIN_TOLERANCE,
            f"slices lie up to {deviation[worst]:.4f} mm from a regular grid (worst: "
            f"{slices[worst].path}); loaded on the grid",
        ))

    spacing_j, spacing_i = (float(v) for v in (slices[0].pixel_spacing or (0.0, 0.0)))
    affine = np.eye(4)
    affine[:3, 0] = row * spacing_i
    affine[:3, 1] = column * spacing_j
    affine[:3, 2] = step
    affine[:3, 3] = positions[0]
    geometry = ImageGeometry(affine, (slices[0].columns, slices[0].rows, len(slices)),
                             slices[0].frame_of_reference_uid)
    return SortedSeries(tuple(slices), geometry, tuple(warnings), tuple(duplicates))
