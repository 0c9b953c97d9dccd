"""Errors of image files: each names the file, the field, what was found and what was expected."""

from __future__ import annotations

import os

from corridor.errors import FieldError

__all__ = ["ExportError", "ImageFileError"]


class ImageFileError(FieldError):
    """A label-map file that cannot be read as one (suffix, space, dimensions, values).

    Attributes
    ----------
    field, found, expected
        What was wrong, the value found and what was expected; ``found`` names the file.
    """


class ExportError(FieldError):
    """An image cannot be written to the requested file.

    Attributes
    ----------
    path
        The file asked for (also ``where``).
    field
        What is wrong: ``suffix`` (the file name selects no supported format) or
        ``dtype`` (the voxel type has no counterpart in the format).
    found
        The value found (the file name, or the voxel data type).
    expected
        The values accepted.
    """

    def __init__(self, path: str | os.PathLike[str], field: str, found: str,
                 expected: tuple[str, ...]) -> None:
        self.path = os.fspath(path)
        super().__init__(field, found, "one of: " + ", ".join(expected),
                         where=f"{self.path}: cannot export")
        self.expected = expected  # type: ignore[assignment]  # the alternatives, as a tuple
