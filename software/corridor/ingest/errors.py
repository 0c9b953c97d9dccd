"""Errors of the ingest stage: each names the files, tags and values involved."""

from __future__ import annotations

from collections.abc import Sequence

from corridor.errors import FieldError, InputError

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


class NoSeriesError(IngestError):
    """No series fits the request.

    Attributes
    ----------
    requested
        The Series Instance UID asked for, or ``None`` when any CT series would do.
    available
        ``(series instance UID, modality, images)`` of every series found.
    """

    def __init__(self, path: str, requested: str | None,
                 available: Sequence[tuple[str, str, int]]) -> None:
        self.path = path
        self.requested = requested
        self.available = list(available)
        listing = "; ".join(f"{uid} ({modality}, {n} images)" for uid, modality, n in available)
        wanted = f"series {requested}" if requested else "CT series"
        super().__init__(
            f"{path}: found no {wanted}; series found: {listing or 'none'}"
        )


class AmbiguousSeriesError(IngestError):
    """Several CT series qualify and none was named with ``--series``."""

    def __init__(self, path: str, candidates: Sequence[tuple[str, str, int]]) -> None:
        self.path = path
        self.candidates = list(candidates)
        listing = "; ".join(f"{uid} ({desc or 'no description'}, {n} images)"
                            for uid, desc, n in candidates)
        super().__init__(
            f"{path}: {len(candidates)} CT series found, expected one; choose with --series UID: "
            f"{listing}"
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
        if found is not None:
            text += f"; found {found}"
        if expected is not None:
            text += f", expected {expected}"
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
