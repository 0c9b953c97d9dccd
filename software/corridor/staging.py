"""Write outputs all or nothing: a folder or a file goes to a temporary sibling, then is renamed
into place, so a failure part-way leaves the previous one (or none), never a half-written one.

Everything written here gets the permissions the user's umask gives any new file or folder
(``0o666`` or ``0o777`` less the umask), so a case folder or a report on a shared drive is as
readable as a file the user saved by hand; the temporary names start with a dot.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from corridor.errors import InputError

__all__ = ["OutputFolderError", "atomic_binary", "check_output_folder", "staged_folder",
           "write_bytes_atomic", "write_text_atomic"]


class OutputFolderError(InputError, FileExistsError):
    """The output folder exists and is not empty (nothing was written).

    Attributes
    ----------
    path
        The folder.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"output: {path} exists and is not an empty folder; expected a new "
                         "or empty output folder (nothing was written)")


def check_output_folder(out: Path) -> None:
    """Raise :class:`OutputFolderError` unless ``out`` is absent or an empty folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputFolderError(out)


@contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; rename it to ``out`` if the block succeeds.

    On any exception the temporary folder is removed and ``out`` is left as it was.

    Raises
    ------
    OutputFolderError
        ``out`` exists and is not an empty folder (checked before anything is written).
    """
    check_output_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        yield staging
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextmanager
def atomic_binary(path: Path) -> Iterator[BinaryIO]:
    """Yield a binary stream whose content replaces ``path`` only if the block succeeds.

    The temporary file is created beside ``path`` (same file system, so the rename is
    atomic) with ``O_EXCL`` and mode ``0o666`` less the umask, so the final file gets the
    permissions a plain ``open`` would give it.  Parent folders are created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temp, flags, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating parent folders."""
    with atomic_binary(path) as stream:
        stream.write(data)


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (``\\n`` line ends)."""
    write_bytes_atomic(path, text.encode("utf-8"))
