"""A segmentation made elsewhere, made ready to plan on: read with its names, its labels' roles
looked up, and described for the plan's record.

The readers are :func:`corridor.images.read_segmentation` (TotalSegmentator folder, multi-label
NIfTI with its label table or a class map, 3D Slicer ``.seg.nrrd``, DICOM SEG); a folder's masks
are read only for the names the role table knows (the others are listed as skipped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridor.images import LabelMap, SegmentCode, read_segmentation
from corridor.planning.roles import load_role_table
from corridor.provenance import FileRecord, describe_file, sha256_bytes, sha256_file
from corridor.reading import InputFileError

__all__ = ["ExternalSegmentation", "read_external", "segmentation_sha256"]


@dataclass(frozen=True, slots=True, eq=False)
class ExternalSegmentation:
    """A segmentation read from elsewhere, ready to plan on.

    Attributes
    ----------
    label_map
        Its labels, named, on its own grid.
    file
        The file (for a folder: the folder, with the SHA-256 over its masks' names and
        SHA-256s) as the plan's record names it.
    codes
        DICOM SEG segment codes by label value.
    record
        The ``segmentation`` block of plan.json: format, files and their SHA-256, where the
        names came from, the names, codes and masks skipped, its own geometry.
    """

    label_map: LabelMap
    file: FileRecord
    codes: Mapping[int, SegmentCode]
    record: dict[str, Any]


def _folder_digest(files: Mapping[str, str]) -> str:
    """One SHA-256 for a folder's masks: over each file's name and SHA-256, in name order."""
    return sha256_bytes("".join(f"{n}\n{h}\n" for n, h in sorted(files.items()))
                        .encode("utf-8"))


def segmentation_sha256(path: Path) -> str:
    """The SHA-256 a plan records for the segmentation at ``path``: the file's own, or for a
    TotalSegmentator folder the digest over the masks of the classes the role table knows
    (the masks :func:`read_external` reads; a mask added or changed changes it).

    Raises
    ------
    InputFileError
        ``path`` cannot be read.
    """
    if not path.is_dir():
        return sha256_file(path)
    table = load_role_table()
    try:
        masks = [p for p in path.iterdir() if p.name.endswith((".nii.gz", ".nii"))
                 and p.name.removesuffix(".gz").removesuffix(".nii") in table.names]
    except OSError as exc:
        raise InputFileError("segmentation", str(getattr(exc, "strerror", None) or exc),
                             "a readable folder", where=str(path)) from exc
    return _folder_digest({p.name: sha256_file(p) for p in masks})


def read_external(path: Path, *, class_map: Path | None = None) -> ExternalSegmentation:
    """Read a segmentation made elsewhere (see :func:`corridor.images.read_segmentation`).

    Raises
    ------
    ImageFileError
        What :func:`~corridor.images.read_segmentation` refuses.
    """
    table = load_role_table()
    read = read_segmentation(path, class_map=class_map, keep=lambda name: name in table.names)
    files = {p.name: sha256_file(p) for p in read.files}
    record = (FileRecord(f"{path.name}/", _folder_digest(files)) if path.is_dir()
              else describe_file(path, relative_to=path.parent))
    document = {**read.to_json(), "files_sha256": files}
    return ExternalSegmentation(read.label_map, record, dict(read.codes), document)
