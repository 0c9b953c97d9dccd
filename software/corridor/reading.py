"""Reading input files within stated bounds: the one way a stage reads a whole file it is given.

A name may lead anywhere: to a device (``/dev/zero``), a pipe, a folder or a file larger than
anything the format needs.  :func:`read_regular_file` reads only a regular file of at most the
caller's limit, checks the size before reading and never reads past the limit, so memory stays
bounded whatever the name leads to (SRS-INF-017, HAZ-038).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from corridor.errors import FieldError

__all__ = ["InputFileError", "read_regular_file"]


class InputFileError(FieldError):
    """An input file that is not a regular file, is larger than its limit, or cannot be read.

    Attributes
    ----------
    field, found, expected
        What the file is for, what was found (not a regular file, its size, the system's
        reason) and what was expected.
    where
        The file.
    """


def read_regular_file(path: Path, limit: int, *, field: str, expected: str) -> bytes:
    """The bytes of the regular file ``path``, of at most ``limit`` bytes, read once.

    Raises
    ------
    InputFileError
        A device, pipe or folder behind the name, a file larger than ``limit`` (checked before
        reading, and again while reading, for a file that grows), or a read that fails.
    """
    try:
        with path.open("rb") as stream:
            status = os.fstat(stream.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise InputFileError(field, "not a regular file (a device, pipe or folder)",
                                     expected, where=str(path))
            if status.st_size > limit:
                raise InputFileError(field, f"{status.st_size} bytes",
                                     f"at most {limit} bytes ({expected})", where=str(path))
            data = stream.read(limit + 1)
    except OSError as exc:
        raise InputFileError(field, exc.strerror or str(exc), expected,
                             where=str(path)) from exc
    if len(data) > limit:
        raise InputFileError(field, f"more than {limit} bytes (it grew while read)",
                             f"at most {limit} bytes ({expected})", where=str(path))
    return data
