"""Closed sets of the ingest stage."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RegularizationReason", "SkipReason", "WarningCode"]


class SkipReason(StrEnum):
    """Why a file found under the input path was not considered an image of any series."""

    NOT_DICOM = "not-dicom"
    """No DICOM preamble and no parsable dataset."""
    UNREADABLE = "unreadable"
    """The file could not be read or its dataset is truncated or corrupt."""
    NO_PIXEL_DATA = "no-pixel-data"
    """A DICOM object without an image (structured report, presentation state, DICOMDIR)."""


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


class RegularizationReason(StrEnum):
    """Why a series' slices do not lie on a regular grid, so that it was regularised."""

    GANTRY_TILT = "gantry-tilt"
    """The slices are not stacked along their normal: each lies shifted in its own plane
    relative to the first (a tilted gantry, the table moving straight)."""
    VARIABLE_SPACING = "variable-spacing"
    """The slices' positions along their normal are not evenly spaced (e.g. 4 mm, then 7 mm)."""
