"""Provenance: who made an output (the software's identity) and what it was made from (files by
SHA-256).

The identity is stamped when the package is built or installed (``software/corridor_build.py``
writes ``corridor/_stamp.py``), never asked of git at run time: a wheel, an editable install
inside another repository and a copy without git all report the commit they were built from.
Every record the device writes (``run.json``, ``meshes.json``, ``plan.json``, ``case.json``,
the audit record, the batch ledger) carries :meth:`SoftwareIdentity.to_json` as its
``software`` block.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from corridor.errors import SafetyRefusalError

__all__ = ["BuildKind", "FileRecord", "ReleaseIdentityError", "SoftwareIdentity",
           "describe_file", "sha256_bytes", "sha256_file", "software_identity"]

_CHUNK = 1 << 20
"""Files are hashed 1 MiB at a time (bounded memory for any size)."""


class BuildKind(StrEnum):
    """How the installed software was built."""

    RELEASE = "release"
    """Built with ``CORRIDOR_RELEASE=1`` from a clean checkout: the commit is known and the
    tree was clean (the build refuses otherwise)."""
    DEVELOPMENT = "development"
    """A wheel built from a checkout that may be dirty or lack git (``dirty`` says which)."""
    EDITABLE = "editable"
    """An editable install: the code may have changed since the commit stamped at install."""


class ReleaseIdentityError(SafetyRefusalError):
    """A release build whose stamp names no commit: it refuses to run (its outputs could not
    be traced to the source that made them)."""

    def __init__(self, stamp: str) -> None:
        self.stamp = stamp
        super().__init__(f"{stamp}: a release build with no commit recorded; expected the "
                         "commit it was built from (rebuild from a clean git checkout)")


@dataclass(frozen=True, slots=True)
class SoftwareIdentity:
    """The installed software: name, version, the commit it was built from, how it was built.

    Attributes
    ----------
    name, version
        ``corridor`` and the package version.
    commit
        Full git commit the build was made from, or ``None`` (a build outside a checkout of
        this repository; never in a release build).
    dirty
        Whether the checkout had uncommitted changes to tracked files at build time
        (``None`` when unknown).
    build
        Release, development or editable.
    """

    name: str
    version: str
    commit: str | None
    dirty: bool | None
    build: BuildKind

    def to_json(self) -> dict[str, Any]:
        """The ``software`` block of every record."""
        return {"name": self.name, "version": self.version, "commit": self.commit,
                "dirty": self.dirty, "build": self.build.value}

    def __str__(self) -> str:
        commit = (self.commit or "no commit")[:12] + (" (dirty)" if self.dirty else "")
        return f"{self.name} {self.version} ({commit}, {self.build.value} build)"


@cache
def software_identity() -> SoftwareIdentity:
    """The identity stamped into this installation at build time.

    Raises
    ------
    ReleaseIdentityError
        The stamp says release build but names no commit.
    """
    from corridor import _stamp  # written by the build, see module docstring

    identity = SoftwareIdentity(name=_stamp.NAME, version=_stamp.VERSION, commit=_stamp.COMMIT,
                                dirty=_stamp.DIRTY, build=BuildKind(_stamp.BUILD))
    if identity.build is BuildKind.RELEASE and not identity.commit:
        raise ReleaseIdentityError(_stamp.__file__ or "corridor/_stamp.py")
    return identity


def sha256_bytes(data: bytes) -> str:
    """SHA-256 of ``data`` (lower-case hex)."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes (lower-case hex), read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One input or output file as records name it: its path and SHA-256.

    Attributes
    ----------
    file
        POSIX path relative to the folder it belongs to (or as given).
    sha256
        SHA-256 of its bytes.
    """

    file: str
    sha256: str

    def to_json(self) -> dict[str, str]:
        """``{"file": ..., "sha256": ...}``."""
        return {"file": self.file, "sha256": self.sha256}

    def under(self, folder: str) -> FileRecord:
        """The same file named from one folder up (``folder/file``)."""
        return FileRecord(f"{folder}/{self.file}", self.sha256)


def describe_file(path: Path, relative_to: Path | None = None) -> FileRecord:
    """The record of one file: its path (relative to ``relative_to`` when given) and SHA-256."""
    name = path.relative_to(relative_to) if relative_to is not None else path
    return FileRecord(name.as_posix(), sha256_file(path))
