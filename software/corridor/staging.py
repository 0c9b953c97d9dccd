"""Write outputs all or nothing: a folder or a file goes to a temporary sibling, then is renamed
into place, so a failure part-way leaves the previous one (or none), never a half-written one."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from corridor.errors import CorridorError

__all__ = ["OutputFolderError", "check_output_folder", "staged_folder", "write_bytes_atomic",
           "write_text_atomic"]


class OutputFolderError(CorridorError, FileExistsError):
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


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (``\\n`` line ends)."""
    write_bytes_atomic(path, text.encode("utf-8"))
