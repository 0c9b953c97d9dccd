"""Reading input files within stated bounds: the one way a stage reads a whole file it is given.

A name may lead anywhere: to a device (``/dev/zero``), a pipe, a folder or a file larger than
anything the format needs.  :func:`read_regular_file` reads only a regular file of at most the
caller's limit, checks the size before reading and never reads past the limit, so memory stays
bounded whatever the name leads to (SRS-INF-017, HAZ-038).  :func:`read_json_file` adds what a
JSON input needs on top: UTF-8, nesting checked before parsing (:func:`json_depth`, so that no
parser recurses into a hostile document) and parse errors, each an :class:`InputFileError`.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

from corridor.errors import FieldError

__all__ = ["BoundedFile", "InputFileError", "json_depth", "open_bounded", "read_json_file",
           "read_regular_file", "yaml_nested_beyond"]


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
    not_regular = "not a regular file (a device, pipe or folder)"
    try:
        stream = path.open("rb")
    except IsADirectoryError as exc:
        raise InputFileError(field, not_regular, expected, where=str(path)) from exc
    except OSError as exc:
        raise InputFileError(field, exc.strerror or str(exc), expected,
                             where=str(path)) from exc
    except ValueError as exc:  # a name no file can have (a NUL byte)
        raise InputFileError(field, f"{path!r}: {exc}", expected) from exc
    try:
        with stream:
            status = os.fstat(stream.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise InputFileError(field, not_regular, expected, where=str(path))
            if status.st_size > limit:
                raise InputFileError(field, f"{status.st_size} bytes",
                                     f"at most {limit} bytes ({expected})", where=str(path))
            data = stream.read(status.st_size + 1)  # read(n) allocates n: ask for the size
            if len(data) > status.st_size:
                data += stream.read(limit + 1 - len(data))  # it grew while read
    except OSError as exc:
        raise InputFileError(field, exc.strerror or str(exc), expected,
                             where=str(path)) from exc
    if len(data) > limit:
        raise InputFileError(field, f"more than {limit} bytes (it grew while read)",
                             f"at most {limit} bytes ({expected})", where=str(path))
    return data


def json_depth(text: str) -> int:
    """The deepest nesting of objects and arrays in JSON text (strings skipped), found
    without parsing, so that no parser recurses into a hostile document."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json_file(path: Path, limit: int, *, max_depth: int, field: str,
                   expected: str) -> Any:
    """The JSON document in the regular file ``path``: at most ``limit`` bytes, UTF-8, objects
    and arrays nested at most ``max_depth`` deep (checked before parsing); ``NaN`` and
    ``Infinity``, which JSON does not have, are refused.

    Raises
    ------
    InputFileError
        What :func:`read_regular_file` refuses, text that is not UTF-8, nesting deeper than
        ``max_depth``, or text that is not JSON (the line and the parser's reason named).
    """
    data = read_regular_file(path, limit, field=field, expected=expected)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(field, f"bytes that are not UTF-8 at offset {exc.start}",
                             f"UTF-8 text ({expected})", where=str(path)) from exc
    depth = json_depth(text)
    if depth > max_depth:
        raise InputFileError(field, f"objects and arrays nested {depth} deep",
                             f"at most {max_depth} levels ({expected})", where=str(path))
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise InputFileError(field, f"not JSON ({exc})", expected, where=str(path)) from exc


class BoundedFile(io.BufferedReader):
    """A file whose ``read(n)`` never asks for more than the file still holds.

    ``read(n)`` of a Python file allocates ``n`` bytes before reading, so a parser that reads a
    length field's worth (a DICOM element claiming 4 GB in an 8 kB file) allocates that much;
    through this file it allocates at most what is left of the file.  Constructed from a path
    alone, so that pydicom can reopen it for deferred values (``fileobj_type``).
    """

    def __init__(self, path: str | os.PathLike[str], mode: str = "rb") -> None:
        super().__init__(io.FileIO(os.fspath(path), mode))  # a str name, for deferred reads
        self._size = os.fstat(self.fileno()).st_size

    def read(self, size: int | None = -1, /) -> bytes:
        if size is not None and size > 0:
            size = min(size, max(self._size - self.tell(), 0))
        return super().read(size)


def open_bounded(path: Path, *, field: str, expected: str) -> BoundedFile:
    """The regular file ``path`` opened as a :class:`BoundedFile`, for a parser that takes a
    file object (pydicom, highdicom).

    Raises
    ------
    InputFileError
        A name that is not a regular file, or a file that cannot be opened.
    """
    try:
        stream = BoundedFile(path)
    except IsADirectoryError as exc:
        raise InputFileError(field, "not a regular file (a device, pipe or folder)", expected,
                             where=str(path)) from exc
    except (OSError, ValueError) as exc:
        raise InputFileError(field, str(getattr(exc, "strerror", None) or exc), expected,
                             where=str(path)) from exc
    if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
        stream.close()
        raise InputFileError(field, "not a regular file (a device, pipe or folder)", expected,
                             where=str(path))
    return stream


def yaml_nested_beyond(data: bytes | str, max_depth: int) -> int | None:
    """The line (1-based) where YAML's mappings and sequences first nest deeper than
    ``max_depth``, or ``None`` when they never do.

    Read from PyYAML's parser events: the parser keeps its own stack instead of recursing, so
    a hostile document costs time proportional to its (bounded) size and no recursion, and no
    node is built.  Raises :class:`yaml.YAMLError` for text that is not YAML.
    """
    import yaml

    depth = 0
    for event in yaml.parse(data, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                return 0 if event.start_mark is None else event.start_mark.line + 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None
