"""Errors of the PACS integration: each names the file, the field, what was found and what was
expected."""

from __future__ import annotations

from corridor.errors import FieldError

__all__ = ["ResultObjectError"]


class ResultObjectError(FieldError):
    """The DICOM result objects cannot be built from this case and these CT files: a file is
    missing or unreadable, the CT files are not one series, or the case was not planned on them.

    An :class:`~corridor.errors.InputError` (exit status 2): nothing is stored.

    Attributes
    ----------
    field, found, expected
        What did not match (a DICOM keyword or a case file's field), the value found and what
        was expected.
    where
        The file concerned, or ``None``.
    """
