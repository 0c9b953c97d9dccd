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
from corridor.ingest.enum import RegularizationReason, SetAsideReason, SkipReason, WarningCode
from corridor.ingest.errors import AmbiguousSeriesError, NoSeriesError, UnsafeSeriesError
from corridor.ingest.io import SliceHeader
from corridor.ingest.model import IngestWarning, SeriesSummary, SkippedFile

__all__ = [
    "GANTRY_TILT_TOLERANCE",
    "ORIENTATION_TOLERANCE",
    "PIXEL_SPACING_RANGE_MM",
    "POSITION_LIMIT_MM",
    "RESCALE_INTERCEPT_LIMIT",
    "RESCALE_SLOPE_RANGE",
    "SLICE_POSITION_TOLERANCE_MM",
    "SLICE_POSITION_WARNING_FRACTION",
    "SPACING_TOLERANCE_MM",
    "SortedSeries",
    "coarse_orientation",
    "group_series",
    "intensity_check",
    "select_series",
    "sort_and_validate",
    "summarize",
    "unreadable_check",
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

PIXEL_SPACING_RANGE_MM = (1e-3, 100.0)
"""Smallest and largest Pixel Spacing (0028,0030) value accepted (mm): a micro-CT's pixels
are 0.01 mm, a CT's 0.2 to 2 mm; zero, negative (a mirrored image) or absurd values are a
damaged header."""

POSITION_LIMIT_MM = 1e5
"""Largest magnitude (mm) of an Image Position (Patient) (0020,0032) coordinate accepted:
100 m, far beyond any scanner's table travel."""

RESCALE_SLOPE_RANGE = (1e-6, 1e6)
"""Smallest and largest magnitude of Rescale Slope (0028,1053) accepted (CT writes 1)."""

RESCALE_INTERCEPT_LIMIT = 1e6
"""Largest magnitude of Rescale Intercept (0028,1052) accepted (CT writes -1024 or 0)."""

_DIRECTION_COSINE_LIMIT = 1.001
"""A direction cosine beyond this magnitude is no cosine (checked before any arithmetic on
Image Orientation (Patient), which would overflow on an absurd value)."""


@dataclass(frozen=True, slots=True)
class SortedSeries:
    """Slices of one series in k order, with the geometry they define."""

    slices: tuple[SliceHeader, ...]
    geometry: ImageGeometry
    warnings: tuple[IngestWarning, ...]
    duplicates: tuple[tuple[SliceHeader, SliceHeader], ...]
    """Pairs (kept, dropped) at the same position; the loader must show their pixels are
    identical, else refuse."""
    regularize: tuple[RegularizationReason, ...] = ()
    """Why the loaded stack must be resampled onto a regular grid (only when asked for);
    empty when :attr:`geometry` is the acquired grid."""
    not_hounsfield: str | None = None
    """Why the values are not CT Hounsfield units (:func:`intensity_check`), or ``None``."""


def group_series(headers: Sequence[SliceHeader]) -> dict[str, list[SliceHeader]]:
    """Headers grouped by Series Instance UID (insertion order kept)."""
    groups: dict[str, list[SliceHeader]] = defaultdict(list)
    for header in headers:
        groups[header.series_instance_uid].append(header)
    return dict(groups)


def coarse_orientation(iop: Sequence[float] | None) -> str:
    """``axial``, ``coronal``, ``sagittal`` or ``oblique`` from the slice normal."""
    if iop is None or len(iop) != 6 or not all(
            math.isfinite(v) and abs(v) <= _DIRECTION_COSINE_LIMIT for v in iop):
        return "unknown"
    normal = np.cross(np.asarray(iop[:3]), np.asarray(iop[3:]))
    axis = int(np.argmax(np.abs(normal)))
    if abs(normal[axis]) < 1 - 1e-3:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _is_localizer(header: SliceHeader) -> bool:
    return "LOCALIZER" in header.image_type


_SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"
"""SOP Class UIDs of the Secondary Capture family (dose reports, exam summaries, screen saves)."""

_SCREEN_CAPTURE_TYPES = frozenset({"SCREEN SAVE", "DOSE_INFO", "DOSE INFO", "SECONDARY CAPTURE"})
"""Image Type values scanners give captured screens (a dose summary saved as CT, for example)."""

_DERIVED_MAP_TYPES = frozenset({"PERFUSION", "CBF", "CBV", "MTT", "TTP", "TMAX", "IODINE",
                                "ZEFF", "Z_EFFECTIVE", "ELECTRON_DENSITY", "FAT_FRACTION"})
"""Image Type values of derived parametric maps whose values are not HU (perfusion and
spectral CT maps), even when Modality is CT."""


def _set_aside(headers: Sequence[SliceHeader]) -> SetAsideReason | None:
    """Why a series is not a candidate volume (checked in this order), or ``None``."""
    images = [h for h in headers if not _is_localizer(h)]
    if not images:
        return SetAsideReason.LOCALIZER
    if all(h.sop_class_uid.startswith(_SECONDARY_CAPTURE_PREFIX)
           or _SCREEN_CAPTURE_TYPES & set(h.image_type) for h in images):
        return SetAsideReason.SECONDARY_CAPTURE
    if images[0].modality != "CT":
        return SetAsideReason.NOT_CT
    if all(h.image_position_patient is None or h.image_orientation_patient is None
           for h in images):
        return SetAsideReason.NO_GEOMETRY
    if len(images) == 1:
        return SetAsideReason.SINGLE_IMAGE
    return None


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
            slice_thickness_mm=images[0].slice_thickness,
            convolution_kernel=images[0].convolution_kernel,
            set_aside=_set_aside(headers),
            files=tuple(sorted({h.path for h in headers})),
        ))
    return summaries


def select_series(summaries: Sequence[SeriesSummary], requested: str | None, where: str,
                  skipped: Sequence[SkippedFile] = ()) -> str:
    """The Series Instance UID to load.

    The one named; or else the only volumetric CT series, setting aside scouts, captured
    screens (dose reports), images without patient geometry and single images.  No
    candidate, several candidates, or a named series that does not exist are refused,
    listing every series found so that the user can choose, and then the DICOM files of
    ``skipped`` that cannot be read as a whole.
    """
    unreadable = [s.path for s in skipped if s.reason is SkipReason.UNREADABLE]
    if requested is not None:
        if requested not in {s.series_instance_uid for s in summaries}:
            raise NoSeriesError(where, requested, summaries, unreadable)
        return requested
    candidates = [s for s in summaries if s.set_aside is None]
    if not candidates:
        raise NoSeriesError(where, None, summaries, unreadable)
    if len(candidates) > 1:
        raise AmbiguousSeriesError(where, candidates, unreadable)
    return candidates[0].series_instance_uid


def unreadable_check(skipped: Sequence[SkippedFile], series_instance_uid: str) -> None:
    """Refuse a load that a damaged DICOM file may belong to.

    A file skipped as ``unreadable`` (DICOM that cannot be read as a whole image) may be a
    slice of the series being loaded: a slice lost inside the series leaves a gap the
    spacing checks see, but one lost at either end leaves none.  It is let pass, with the
    skip warning, only when its header names another series: a Series Instance UID
    (0020,000E) read whole and well formed that differs from ``series_instance_uid``.

    Raises
    ------
    UnsafeSeriesError
        Check ``unreadable-file``, naming every such file, what failed in each, and what
        to do.
    """
    damaged = [s for s in skipped if s.reason is SkipReason.UNREADABLE
               and s.series_instance_uid in (None, series_instance_uid)]
    if not damaged:
        return
    found = "; ".join(
        f"{s.path}: {s.detail}, "
        + ("its header names this series" if s.series_instance_uid is not None
           else "no Series Instance UID (0020,000E) can be read from it")
        for s in damaged[:4]) + (f"; and {len(damaged) - 4} more" if len(damaged) > 4 else "")
    raise UnsafeSeriesError(
        "unreadable-file",
        f"{len(damaged)} DICOM file(s) under the input cannot be read as a whole and may be "
        f"slices of the series loaded ({series_instance_uid}): a slice lost at either end "
        "of a series leaves no gap for the spacing checks to see.",
        files=[s.path for s in damaged], found=found,
        expected="every DICOM file readable whole: restore the file(s) from their source "
        "(copy or export the series again), or remove them from the input if they belong to "
        "no series to load")


def intensity_check(headers: Sequence[SliceHeader]) -> str | None:
    """Why the rescaled values of these images are not CT Hounsfield units, or ``None``.

    HU requires Modality (0008,0060) CT, a Rescale Type (0028,1054) that is absent or
    ``HU``, and no Image Type (0008,0008) value of a derived parametric map (perfusion,
    spectral); the first image that fails names the tag and value.
    """
    for header in headers:
        if header.modality != "CT":
            return (f"Modality (0008,0060) is '{header.modality or 'absent'}', not CT "
                    f"({header.path})")
        if header.rescale_type and header.rescale_type.upper() != "HU":
            return (f"Rescale Type (0028,1054) is '{header.rescale_type}', not HU "
                    f"({header.path})")
        derived = sorted(_DERIVED_MAP_TYPES & set(header.image_type))
        if derived:
            image_type = "\\".join(header.image_type)
            return (f"Image Type (0008,0008) '{image_type}' marks a derived "
                    f"{derived[0].lower()} map, not HU ({header.path})")
    return None


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
                "geometry-missing",
                f"{', '.join(missing)} missing or malformed, so the image cannot be placed in "
                "the patient. Export the series again from the scanner or PACS (an anonymiser "
                "may have removed the geometry).",
                files=[header.path], expected="every image to carry its patient geometry as "
                "finite numbers",
            )
        _require_ranges(header)
        slope, intercept = header.rescale_slope, header.rescale_intercept
        low, high = RESCALE_SLOPE_RANGE
        if (not (math.isfinite(slope) and math.isfinite(intercept))
                or not low <= abs(slope) <= high or abs(intercept) > RESCALE_INTERCEPT_LIMIT):
            raise UnsafeSeriesError(
                "rescale",
                "Rescale Slope (0028,1053) or Rescale Intercept (0028,1052) is unusable, so the "
                "stored values cannot be turned into Hounsfield units. Export the series again "
                "from the scanner or PACS.",
                files=[header.path], found=f"slope {slope}, intercept {intercept}",
                expected=f"a finite slope of magnitude {low:g} to {high:g} and a finite "
                f"intercept of magnitude at most {RESCALE_INTERCEPT_LIMIT:g}",
            )


def _require_ranges(header: SliceHeader) -> None:
    """Refuse geometry values outside their physical ranges (after :func:`_require` found
    them present and finite)."""
    low, high = PIXEL_SPACING_RANGE_MM
    spacing = header.pixel_spacing or ()
    if not all(low <= v <= high for v in spacing):
        raise UnsafeSeriesError(
            "geometry-range", "Pixel Spacing (0028,0030) is outside the physical range of "
            "image pixels, so the image cannot be placed in the patient (zero or a negative "
            "value would shrink or mirror it). Export the series again from the scanner or PACS.",
            files=[header.path], found=list(spacing),
            expected=f"each value from {low:g} to {high:g} mm")
    position = header.image_position_patient or ()
    if not all(abs(v) <= POSITION_LIMIT_MM for v in position):
        raise UnsafeSeriesError(
            "geometry-range", "Image Position (Patient) (0020,0032) lies outside any scanner, "
            "so the header is damaged. Export the series again from the scanner or PACS.",
            files=[header.path], found=list(position),
            expected=f"each coordinate within {POSITION_LIMIT_MM:g} mm of the origin")
    orientation = header.image_orientation_patient or ()
    if not all(abs(v) <= _DIRECTION_COSINE_LIMIT for v in orientation):
        raise UnsafeSeriesError(
            "orientation", "Image Orientation (Patient) (0020,0037) holds values that are no "
            "direction cosines, so the image plane is undefined. Export the series again.",
            files=[header.path], found=list(orientation),
            expected="two unit directions (each value from -1 to 1)")


def _check_uniform(headers: Sequence[SliceHeader]) -> NDArray[np.float64]:
    first = headers[0]
    iop0 = np.asarray(first.image_orientation_patient, dtype=np.float64)
    spacing0 = np.asarray(first.pixel_spacing, dtype=np.float64)
    for header in headers[1:]:
        if (header.rows, header.columns) != (first.rows, first.columns):
            raise UnsafeSeriesError(
                "image-size", "the series mixes images of different sizes, so it is not one "
                "volume. Choose a single reconstruction, or export the series again.",
                files=[first.path, header.path],
                found=f"{header.rows}x{header.columns} rows x columns",
                expected=f"{first.rows}x{first.columns} as in the first image",
            )
        deviation = float(np.max(np.abs(np.asarray(header.image_orientation_patient) - iop0)))
        if deviation > ORIENTATION_TOLERANCE:
            raise UnsafeSeriesError(
                "orientation", "the images are not all in one plane: Image Orientation "
                "(Patient) (0020,0037) differs between them, so the series mixes planes or is "
                "damaged. Choose a single reconstruction with --series, or export the series "
                "again.",
                files=[first.path, header.path],
                found=f"direction cosines differing by up to {deviation:.6f}",
                expected=f"at most {ORIENTATION_TOLERANCE}",
            )
        spacing_deviation = float(np.max(np.abs(np.asarray(header.pixel_spacing) - spacing0)))
        if spacing_deviation > SPACING_TOLERANCE_MM:
            raise UnsafeSeriesError(
                "pixel-spacing", "the images do not all have one pixel size: Pixel Spacing "
                "(0028,0030) differs between them. Choose a single reconstruction, or export the "
                "series again.",
                files=[first.path, header.path],
                found=f"{list(header.pixel_spacing or ())} vs {list(spacing0)}",
                expected=f"equal within {SPACING_TOLERANCE_MM} mm",
            )
    row, column = iop0[:3], iop0[3:]
    if abs(np.linalg.norm(row) - 1) > 1e-3 or abs(np.linalg.norm(column) - 1) > 1e-3 or abs(
            float(row @ column)) > 1e-3:
        raise UnsafeSeriesError(
            "orientation", "Image Orientation (Patient) (0020,0037) is not two perpendicular "
            "unit directions, so the image plane is undefined. Export the series again.",
            files=[first.path], found=list(iop0), expected="orthonormal row and column cosines",
        )
    return iop0


_JUMP_RATIO = 1.25
"""A gap between neighbouring slices more than this many times the series' regular spacing is
a jump: missing slices or a change of spacing (smaller deviations are judged on the grid)."""

_CLOSE_FRACTION = 0.1
"""Two neighbouring slices closer than this fraction of the series' typical (median) gap are
not a change of spacing but a fault (mixed reconstructions, a damaged export): refused, even
with ``--regularize`` (whose output spacing would be that gap)."""

_WHOLE_MULTIPLE = 0.15
"""A jump within this fraction of a whole multiple (2 or more) of the regular spacing, in a
series of one slice thickness, is read as that many slices missing."""

_EXPORT_AGAIN = "Export the full series again from the scanner or PACS"
_REGULARIZE_HINT = ("or load it with --regularize to resample it onto a regular grid "
                    "(recorded, and flagged for review in the case report)")


@dataclass(frozen=True, slots=True)
class _Finding:
    """One fault of the slice stack, in words, with the files concerned."""

    check: str
    message: str
    files: tuple[str, ...]
    found: str
    expected: str
    regularizable: RegularizationReason | None = None
    """The reason ``--regularize`` may resample past this fault, ``None`` if it cannot."""

    def error(self, others: Sequence[_Finding]) -> UnsafeSeriesError:
        message = self.message
        if others:
            message += " Also: " + " ".join(o.message for o in others)
        files = list(dict.fromkeys([*self.files, *(f for o in others for f in o.files)]))
        return UnsafeSeriesError(self.check, message, files=files, found=self.found,
                                 expected=self.expected)


_TILT_TOLERANCE_DEG = math.degrees(math.acos(1 - GANTRY_TILT_TOLERANCE))
""":data:`GANTRY_TILT_TOLERANCE` as an angle (degrees), for messages."""


def _tilt_finding(slices: Sequence[SliceHeader], positions: NDArray[np.float64],
                  normal: NDArray[np.float64]) -> _Finding | None:
    """The gantry tilt shown by the slice positions (first to last), beyond tolerance."""
    step = positions[-1] - positions[0]
    cos_tilt = float(step @ normal / np.linalg.norm(step))
    if 1 - cos_tilt <= GANTRY_TILT_TOLERANCE:
        return None
    angle = float(np.degrees(np.arccos(np.clip(cos_tilt, -1, 1))))
    in_plane = step - (step @ normal) * normal
    tag = slices[0].gantry_detector_tilt
    if tag is None:
        said = ("the Gantry/Detector Tilt (0018,1120) tag is absent; the slice positions show "
                "the tilt")
    elif abs(abs(tag) - angle) <= 0.5:
        said = f"Gantry/Detector Tilt (0018,1120) is {tag:g}°"
    else:
        said = (f"Gantry/Detector Tilt (0018,1120) says {tag:g}°, but the slice positions show "
                f"{angle:.1f}°")
    return _Finding(
        "gantry-tilt",
        f"The slices were acquired with the gantry tilted by {angle:.1f}° ({said}): each slice "
        f"is shifted sideways against the one before, so a straight stack would shear the "
        f"anatomy by up to {float(np.linalg.norm(in_plane)):.1f} mm. Reconstruct the series "
        f"without tilt at the scanner (or send an axial reformat), {_REGULARIZE_HINT}.",
        (slices[0].path, slices[-1].path), f"a tilt of {angle:.2f}°",
        f"slices stacked straight (a tilt of at most {_TILT_TOLERANCE_DEG:.1f}°)",
        RegularizationReason.GANTRY_TILT)



def _runs(gaps: NDArray[np.float64], tolerance: float) -> list[tuple[int, int]]:
    """``(first gap, last gap)`` of each run of equal gaps (within ``tolerance`` mm)."""
    runs: list[tuple[int, int]] = []
    first = 0
    for index in range(1, len(gaps) + 1):
        if index == len(gaps) or abs(gaps[index] - gaps[first]) > tolerance:
            runs.append((first, index - 1))
            first = index
    return runs


def _spacing_finding(slices: Sequence[SliceHeader],
                     distance: NDArray[np.float64]) -> _Finding | None:
    """Missing slices or a change of spacing along the normal (jumps between neighbours)."""
    gaps = np.diff(distance)
    smallest, typical = float(gaps.min()), float(np.median(gaps))
    if smallest < _CLOSE_FRACTION * typical:
        close = int(np.argmin(gaps))
        return _Finding(
            "slice-spacing",
            f"Slices {slices[close].path} and {slices[close + 1].path} lie only {smallest:.3f} mm "
            f"apart, where the series' slices are typically {typical:.2f} mm apart: two "
            f"reconstructions may be mixed in one series, or the export is damaged. "
            f"{_EXPORT_AGAIN}, or choose a single reconstruction.",
            (slices[close].path, slices[close + 1].path), f"a gap of {smallest:.4f} mm",
            f"no gap below {_CLOSE_FRACTION:.0%} of the typical spacing")
    regular = float(np.median(gaps[gaps <= _JUMP_RATIO * smallest]))
    jumps = np.flatnonzero(gaps > _JUMP_RATIO * regular)
    if not jumps.size:
        return None
    stated = sorted({h.slice_thickness for h in slices if h.slice_thickness is not None})
    thickness_changes = len(stated) > 1 and stated[-1] - stated[0] > 1e-3
    ratios = gaps[jumps] / regular
    whole = np.abs(ratios - np.round(ratios)) <= _WHOLE_MULTIPLE
    if not thickness_changes and bool(whole.all()):
        pairs = [f"{slices[int(j)].path} and {slices[int(j) + 1].path} "
                 f"(about {round(float(r)) - 1} missing, a gap of {gaps[int(j)]:.2f} mm)"
                 for j, r in zip(jumps, ratios, strict=True)]
        missing = sum(round(float(r)) - 1 for r in ratios)
        return _Finding(
            "missing-slice",
            f"About {missing} slice(s) are missing from the series: the slices are "
            f"{regular:.2f} mm apart, but there are gaps between " + "; ".join(pairs)
            + f". {_EXPORT_AGAIN}; a series with missing slices cannot be planned on, not even "
            "with --regularize.",
            tuple(f for j in jumps for f in (slices[int(j)].path, slices[int(j) + 1].path)),
            f"{len(jumps)} gap(s) of whole multiples of the {regular:.2f} mm spacing",
            "no gap between neighbouring slices")
    runs = _runs(gaps, max(SLICE_POSITION_TOLERANCE_MM, SLICE_POSITION_WARNING_FRACTION * regular))
    described = [f"{gaps[a]:.2f} mm apart from {slices[a].path} to {slices[b + 1].path}"
                 for a, b in runs[:6]]
    if len(runs) > 6:
        described.append(f"and {len(runs) - 6} more changes")
    thickness_words = ""
    if thickness_changes:
        thickness_words = (" (Slice Thickness (0018,0050) changes too: "
                           + ", ".join(f"{t:g}" for t in stated) + " mm)")
    return _Finding(
        "variable-spacing",
        "The slices are not equally spaced: they are " + "; ".join(described) + thickness_words
        + ". Nothing is missing, but a regular grid would misplace the slices. Reconstruct the "
        f"series with one slice spacing at the scanner, {_REGULARIZE_HINT}.",
        tuple(dict.fromkeys(f for a, b in runs for f in (slices[a].path, slices[b + 1].path))),
        f"{len(runs)} different spacings", "one slice spacing",
        RegularizationReason.VARIABLE_SPACING)


def _grid_finding(slices: Sequence[SliceHeader], positions: NDArray[np.float64],
                  step: NDArray[np.float64]) -> tuple[_Finding | None, IngestWarning | None]:
    """Slices off the regular grid by more than rounding: a warning, or beyond 1 % a fault."""
    expected_positions = positions[0] + np.outer(np.arange(len(slices)), step)
    deviation = np.linalg.norm(positions - expected_positions, axis=1)
    worst = int(np.argmax(deviation))
    spacing = float(np.linalg.norm(step))
    limit = max(SLICE_POSITION_WARNING_FRACTION * spacing, SLICE_POSITION_TOLERANCE_MM)
    if deviation[worst] > limit:
        return _Finding(
            "slice-spacing",
            f"Slice {worst} ({slices[worst].path}) lies {deviation[worst]:.3f} mm from its place "
            f"on the series' regular {spacing:.3f} mm spacing: the slice positions are "
            f"inconsistent. {_EXPORT_AGAIN}; if the scanner really spaced the slices unevenly, "
            f"{_REGULARIZE_HINT}.",
            (slices[worst].path,), f"{deviation[worst]:.4f} mm off the grid",
            f"at most {limit:.4f} mm ({SLICE_POSITION_WARNING_FRACTION:.0%} of the spacing)",
            RegularizationReason.VARIABLE_SPACING), None
    if deviation[worst] > SLICE_POSITION_TOLERANCE_MM:
        return None, IngestWarning(
            WarningCode.SPACING_IRREGULAR_WITHIN_TOLERANCE,
            f"slices lie up to {deviation[worst]:.4f} mm from a regular grid (worst: "
            f"{slices[worst].path}); loaded on the grid",
        )
    return None, None


def _few_slices(images: Sequence[SliceHeader], localizers: Sequence[SliceHeader]) -> None:
    """Refuse a series with fewer than two images that are not scouts."""
    if len(images) >= 2:
        return
    if not images:
        raise UnsafeSeriesError(
            "localizer-only",
            "the series holds only scout (localizer) images, which are not a volume. Choose "
            "the axial CT series with --series, or export it from the scanner or PACS.",
            files=sorted(h.path for h in localizers), found="Image Type (0008,0008) LOCALIZER",
            expected="an axial CT series")
    raise UnsafeSeriesError(
        "too-few-slices",
        "the series holds a single image, which is not a volume. Choose the axial CT series "
        "with --series, or export it from the scanner or PACS.",
        files=[h.path for h in images], found="1 image", expected="2 or more slices")


def sort_and_validate(headers: Sequence[SliceHeader], *,
                      regularize: bool = False) -> SortedSeries:
    """Drop localizers, sort by position along the slice normal, and check the geometry.

    Faults are reported most fundamental first: missing or unusable geometry, mixed image
    sizes, orientations or pixel spacings, then gantry tilt, then a change of slice spacing,
    then missing slices, then slices off the grid; a refusal names every file concerned and
    mentions the faults that follow the first.

    Parameters
    ----------
    headers
        The images (frames) of one series.
    regularize
        Accept a tilted or unevenly spaced series for resampling onto a regular grid
        (:attr:`SortedSeries.regularize` says why); missing slices are refused still.

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
    _few_slices(images, localizers)
    truncated = sorted({h.path for h in images if not h.pixel_data_complete})
    if truncated:
        raise UnsafeSeriesError(
            "truncated-file", "image file(s) of the series end before their pixel data does",
            files=truncated, expected="complete files (copy the series again from its source)",
        )
    _require(images)
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

    step = (positions[-1] - positions[0]) / (len(slices) - 1)
    findings = [f for f in (_tilt_finding(slices, positions, normal),
                            _spacing_finding(slices, distance)) if f is not None]
    if not findings:
        grid_fault, grid_warning = _grid_finding(slices, positions, step)
        if grid_fault is not None:
            findings.append(grid_fault)
        if grid_warning is not None:
            warnings.append(grid_warning)
    reasons: tuple[RegularizationReason, ...] = ()
    if findings:
        if not regularize or any(f.regularizable is None for f in findings):
            refused = [f for f in findings if f.regularizable is None] if regularize else []
            first = refused[0] if refused else findings[0]
            raise first.error([f for f in findings if f is not first])
        reasons = tuple(dict.fromkeys(f.regularizable for f in findings
                                      if f.regularizable is not None))

    spacing_j, spacing_i = (float(v) for v in (slices[0].pixel_spacing or (0.0, 0.0)))
    affine = np.eye(4)
    affine[:3, 0] = row * spacing_i
    affine[:3, 1] = column * spacing_j
    affine[:3, 2] = step
    affine[:3, 3] = positions[0]
    geometry = ImageGeometry(affine, (slices[0].columns, slices[0].rows, len(slices)),
                             slices[0].frame_of_reference_uid)
    return SortedSeries(tuple(slices), geometry, tuple(warnings), tuple(duplicates),
                        regularize=reasons, not_hounsfield=intensity_check(slices))
