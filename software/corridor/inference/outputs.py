"""Write one inference run's outputs into a folder, all or nothing.

Everything is written into a temporary sibling folder first and renamed into place
when complete, so a failure leaves no half-written result (and the target folder,
if it exists, must be empty).  The run record (``run.json``) lists every output
file with its SHA-256 and, with a SEG, every source attribute the SEG was made without
(``source_attributes_absent``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from corridor.images import export_volume
from corridor.inference.model import InferenceResult
from corridor.inference.seg import segmentation_dataset, write_segmentation
from corridor.ingest.model import Volume
from corridor.provenance import FileRecord, describe_file
from corridor.staging import staged_folder, write_text_atomic

__all__ = ["ABSENT_KEY", "RECORD_NAME", "ImageFormat", "InferenceOutput", "write_outputs"]

RECORD_NAME = "run.json"

ABSENT_KEY = "source_attributes_absent"
"""Key of the run record listing the attributes the SEG copies from the source images that
they lack, with what the SEG holds instead (absent without a SEG)."""


class ImageFormat(StrEnum):
    """File format of the label map and uncertainty maps."""

    NIFTI = "nii.gz"
    """NIfTI-1, gzip-compressed, RAS affine (nibabel, 3D Slicer, ITK)."""
    NRRD = "nrrd"
    """NRRD, LPS space (3D Slicer, ITK)."""


@dataclass(frozen=True, slots=True)
class InferenceOutput:
    """What :func:`write_outputs` wrote: each file with its SHA-256, and the run record.

    Attributes
    ----------
    files
        Every output file (paths relative to ``folder``), ``run.json`` excluded.
    label_map
        The label map's file among ``files``.
    record
        The run record as written in ``run.json``.
    """

    files: tuple[FileRecord, ...]
    label_map: FileRecord
    record: Mapping[str, Any]


def write_outputs(result: InferenceResult, volume: Volume, out: Path, *,
                  image_format: ImageFormat = ImageFormat.NIFTI,
                  seg: bool = True) -> InferenceOutput:
    """Write the label map, uncertainty maps, DICOM SEG and run record into ``out``.

    Files: ``labels.<fmt>`` (uint8, CT grid), ``entropy.<fmt>`` (float32, nats),
    ``mutual_information.<fmt>`` (float32, nats; a deep ensemble's), ``tta_variance.<fmt>``
    (with TTA), ``seg.dcm`` (unless ``seg`` is false) and
    ``run.json`` (the run record plus ``outputs``: name, SHA-256, what it holds; with a
    SEG, plus :data:`ABSENT_KEY`: each attribute the source images lack that the SEG
    holds empty or replaced, :class:`~corridor.inference.seg.AbsentAttribute`).

    Parameters
    ----------
    result
        The inference result.
    volume
        The CT it was inferred from (the SEG references its files).
    out
        The output folder, new or empty.

    Returns
    -------
    InferenceOutput
        What was written (paths relative to ``out``).

    Raises
    ------
    OutputFolderError
        ``out`` exists and is not an empty folder (nothing written).
    InferenceError
        The SEG cannot be made (``seg``).
    InferenceInputError
        The source images lack an attribute the SEG cannot be made without (``seg-source``).
    """
    with staged_folder(out) as staging:
        described: list[tuple[str, str]] = [
            (f"labels.{image_format.value}", "label map on the CT grid, values: " + ", ".join(
                f"{n}={name}" for n, name in enumerate(result.label_map.names))),
            (f"entropy.{image_format.value}", result.entropy.quantity),
        ]
        export_volume(result.label_map, staging / described[0][0])
        export_volume(result.entropy, staging / described[1][0])
        if result.mutual_information is not None:
            name = f"mutual_information.{image_format.value}"
            export_volume(result.mutual_information, staging / name)
            described.append((name, result.mutual_information.quantity))
        if result.tta_variance is not None:
            name = f"tta_variance.{image_format.value}"
            export_volume(result.tta_variance, staging / name)
            described.append((name, result.tta_variance.quantity))
        absent = None
        if seg:
            dicom_seg = segmentation_dataset(result.label_map, volume, result.manifest)
            write_segmentation(dicom_seg.dataset, staging / "seg.dcm")
            described.append(("seg.dcm", "DICOM Segmentation referencing the source series"))
            absent = [entry.to_json() for entry in dicom_seg.absent]
        files = tuple(describe_file(staging / name, relative_to=staging)
                      for name, _ in described)
        record = dict(result.record)
        record["outputs"] = [{**entry.to_json(), "content": content}
                             for entry, (_, content) in zip(files, described, strict=True)]
        if absent is not None:
            record[ABSENT_KEY] = absent
        write_text_atomic(staging / RECORD_NAME, json.dumps(record, indent=2, sort_keys=True)
                          + "\n")
    return InferenceOutput(files, files[0], record)
