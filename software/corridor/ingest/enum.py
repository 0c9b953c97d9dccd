"""Closed sets of the ingest stage."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RegularizationReason", "SetAsideReason", "SkipReason", "WarningCode"]


class SkipReason(StrEnum):
    """Why a file found under the input path was not considered an image of any series."""

    NOT_DICOM = "not-dicom"
    """No DICOM preamble and magic, and nothing else in the file's start that says DICOM."""
    UNREADABLE = "unreadable"
    """A DICOM file that cannot be read as a whole: cut short, a value that cannot be
    converted, an image class without its pixels, its start damaged.  Ingest refuses a load
    such a file may belong to (unless its header names another series)."""
    NO_PIXEL_DATA = "no-pixel-data"
    """A whole DICOM object of a class that holds no image (structured report, presentation
    state, DICOMDIR)."""


class WarningCode(StrEnum):
    """A tolerable deviation found while loading a series; recorded with the volume."""

    LOCALIZER_DROPPED = "localizer-dropped"
    """Images whose Image Type contains LOCALIZER were left out of the volume."""
    NON_IMAGE_FILES_SKIPPED = "files-skipped"
    """Files under the input were not images of any series."""
    SPACING_IRREGULAR_WITHIN_TOLERANCE = "spacing-irregular-within-tolerance"
    """A slice lies off the regular grid by more than rounding but within tolerance."""
    DUPLICATE_IDENTICAL_SLICE_DROPPED = "duplicate-identical-slice-dropped"
    """An image repeating another's position and pixels was left out."""
    SERIES_SET_ASIDE = "series-set-aside"
    """Series that are not volumetric CT (scouts, dose reports, single images) were set aside
    when choosing the series to load."""
    NOT_HOUNSFIELD = "not-hounsfield"
    """The voxel values are not CT Hounsfield units (another modality, Rescale Type or a
    derived map): loaded for inspection only; inference refuses the volume."""
    LOSSY_COMPRESSION = "lossy-compression"
    """The images are, or were, lossy compressed: their HU may differ from those acquired."""
    REGULARIZED = "regularized"
    """A tilted or unevenly spaced series was resampled onto a regular grid (``--regularize``);
    the volume is not the acquired grid and is flagged for review."""


class SetAsideReason(StrEnum):
    """Why a series is not a candidate volume when no series is named."""

    LOCALIZER = "localizer"
    """Every image is a scout (Image Type (0008,0008) LOCALIZER)."""
    SECONDARY_CAPTURE = "secondary-capture"
    """Secondary capture or screen save images (dose reports, exam summaries)."""
    NO_GEOMETRY = "no-geometry"
    """Images without Image Position/Orientation (Patient): not placed in the patient."""
    SINGLE_IMAGE = "single-image"
    """One image only: not a volume."""
    NOT_CT = "not-ct"
    """Modality (0008,0060) is not CT."""

    @property
    def words(self) -> str:
        """What the reason means, in words for the user."""
        return {
            SetAsideReason.LOCALIZER: "scout (localizer) images only",
            SetAsideReason.SECONDARY_CAPTURE: "a captured screen (dose report or exam summary)",
            SetAsideReason.NOT_CT: "not CT",
            SetAsideReason.NO_GEOMETRY: "images without patient position and orientation",
            SetAsideReason.SINGLE_IMAGE: "a single image, not a volume",
        }[self]


class RegularizationReason(StrEnum):
    """Why a series' slices do not lie on a regular grid, so that it was regularised."""

    GANTRY_TILT = "gantry-tilt"
    """The slices are not stacked along their normal: each lies shifted in its own plane
    relative to the first (a tilted gantry, the table moving straight)."""
    VARIABLE_SPACING = "variable-spacing"
    """The slices' positions along their normal are not evenly spaced (e.g. 4 mm, then 7 mm)."""
