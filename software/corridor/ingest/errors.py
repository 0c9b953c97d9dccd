"""Errors of the ingest stage: each names the files, tags and values involved."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from corridor.errors import FieldError, InputError

if TYPE_CHECKING:
    from corridor.ingest.model import SeriesSummary

__all__ = [
    "AmbiguousSeriesError",
    "IngestError",
    "NoSeriesError",
    "RegularizationInputError",
    "UnreadableInputError",
    "UnsafeSeriesError",
]


class IngestError(InputError):
    """Base class of ingest errors."""


class UnreadableInputError(IngestError, FileNotFoundError):
    """The input path does not exist or holds no readable file."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"{path}: {detail}")


def _shown(files: Sequence[str], limit: int = 4) -> str:
    return ", ".join(files[:limit]) + (f" and {len(files) - limit} more" if len(files) > limit
                                       else "")


def _unreadable_words(unreadable: Sequence[str]) -> str:
    """The sentence naming damaged DICOM files beside a listing of series ("" if none)."""
    if not unreadable:
        return ""
    return (f" Also {len(unreadable)} DICOM file(s) that cannot be read as a whole (restore "
            f"them from their source, or remove them): {_shown(unreadable)}.")


class NoSeriesError(IngestError):
    """No series fits the request.

    Attributes
    ----------
    requested
        The Series Instance UID asked for, or ``None`` when any volumetric CT series would do.
    available
        Every series found (:class:`~corridor.ingest.model.SeriesSummary`), with why each was
        set aside.
    unreadable
        DICOM files that could not be read as a whole (named after the listing).
    """

    def __init__(self, path: str, requested: str | None,
                 available: Sequence[SeriesSummary], unreadable: Sequence[str] = ()) -> None:
        self.path = path
        self.requested = requested
        self.available = list(available)
        self.unreadable = list(unreadable)
        if requested is not None:
            listing = "; ".join(s.label() for s in available) or "none"
            text = (f"{path}: found no series {requested}; series found: {listing}. "
                    "Name one of these with --series, or leave --series out.")
        elif not available:
            text = (f"{path}: found no DICOM image{' that can be read' if unreadable else ''}. "
                    "Export the CT series from the scanner or PACS into this folder.")
        else:
            listing = "; ".join(
                f"{s.label()}: {s.set_aside.words if s.set_aside else 'usable'} "
                f"[files: {_shown(s.files)}]" for s in available)
            text = (f"{path}: found no volumetric CT series to load; set aside: {listing}. "
                    "Export the axial CT series itself (not only the scout or the dose report) "
                    "from the scanner or PACS, or name a series with --series to load it anyway.")
        super().__init__(text + _unreadable_words(self.unreadable))


class AmbiguousSeriesError(IngestError):
    """Several volumetric CT series qualify and none was named with ``--series``.

    Attributes
    ----------
    candidates
        The series that qualify (:class:`~corridor.ingest.model.SeriesSummary`).
    unreadable
        DICOM files that could not be read as a whole (named after the listing).
    """

    def __init__(self, path: str, candidates: Sequence[SeriesSummary],
                 unreadable: Sequence[str] = ()) -> None:
        self.path = path
        self.candidates = list(candidates)
        self.unreadable = list(unreadable)
        listing = "; ".join(s.label() for s in candidates)
        super().__init__(
            f"{path}: {len(candidates)} volumetric CT series found, expected one: {listing}. "
            "Choose the one to plan on with --series UID." + _unreadable_words(self.unreadable)
        )


class UnsafeSeriesError(IngestError):
    """The series cannot be placed in the patient safely.

    Attributes
    ----------
    check
        The check that failed (e.g. ``slice-spacing``, ``orientation``, ``gantry-tilt``).
    files
        The files involved.
    found, expected
        The value found and the tolerance or value expected.
    """

    def __init__(self, check: str, message: str, *, files: Sequence[str] = (),
                 found: object = None, expected: str | None = None) -> None:
        self.check = check
        self.files = list(files)
        self.found = found
        self.expected = expected
        text = f"refused ({check}): {message}"
        sentence = message.endswith(".")
        if found is not None:
            text += f" Found {found}" if sentence else f"; found {found}"
        if expected is not None:
            text += (f"; expected {expected}" if found is not None or not sentence
                     else f" Expected {expected}")
        if files:
            shown = ", ".join(self.files[:4]) + (" …" if len(self.files) > 4 else "")
            text += f" [files: {shown}]"
        super().__init__(text)


class RegularizationInputError(FieldError, IngestError):
    """Slices that cannot be regularised: which argument, the value found, what was expected.

    Raised by :func:`corridor.ingest.regularize.regularize` on arrays of the wrong shape,
    non-finite values, fewer than two slices or positions not strictly increasing along
    the slice normal.

    Attributes
    ----------
    field, found, expected
        The argument, the value found and what was expected.
    """

    def __init__(self, field: str, found: object, expected: str) -> None:
        super().__init__(field, found, expected, where="slice regularisation")
