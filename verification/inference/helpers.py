"""Helpers shared by the inference step modules: the scenario context, the phantom step's text,
writing a model package of a known graph, the in-process ``corridor`` runs, independent
readings of the outputs (SHA-256 with hashlib, NIfTI with nibabel, the Dice coefficient), and
for series lacking attributes: which ones the phantom writer writes, removing them with
pydicom, and the DICOM standard's required attributes of a SEG.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import onnx
import pydicom
from numpy.typing import NDArray

from corridor_phantoms import make_phantom
from verification.command_run import run_corridor
from verification.inference.graphs import write_package


@dataclass
class Case:
    """What one scenario built and what the commands did."""

    root: Path
    phantom: Any = None
    written: Any = None
    package: Path | None = None
    error: Exception | None = None
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    out: Path | None = None
    outs: list[Path] = field(default_factory=list)
    arrays: dict[str, Any] = field(default_factory=dict)

    @property
    def dicom(self) -> Path:
        return self.root / "ct" / "dicom"

    def manifest_path(self) -> Path:
        assert self.package is not None
        return self.package / "manifest.json"

    def record(self, out: Path | None = None) -> dict[str, Any]:
        folder = out or self.out
        assert folder is not None
        document: dict[str, Any] = json.loads((folder / "run.json").read_text())
        return document


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hashlib)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_nifti(path: Path) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """Voxels and RAS affine of a NIfTI file, read with nibabel."""
    image = nibabel.load(path)
    return np.asarray(image.dataobj), np.asarray(image.affine, dtype=np.float64)


PHANTOM_STEP = ('a "{kind}" phantom of shape {i:d} {j:d} {k:d} with spacing {si:f} {sj:f} {sk:f} '
                'in position "{position}" and orientation "{orientation}"')
"""Text of the step that generates a phantom (with or without a seed after it)."""


def make_case_phantom(case: Case, kind: str, shape: tuple[int, int, int],
                      spacing: tuple[float, float, float], position: str, orientation: str,
                      seed: int) -> None:
    """Generate the phantom in memory."""
    case.phantom = make_phantom(kind, shape=shape, spacing=spacing, orientation=orientation,
                                patient_position=position, seed=seed)


def make_package(case: Case, model: onnx.ModelProto, **overrides: Any) -> None:
    """Write a model package of this graph into the scenario's ``model`` folder."""
    case.package = write_package(case.root / "model", model, **overrides)


def run_command(case: Case, argv: list[str]) -> None:
    """``corridor ARGV...`` in process, its outcome kept in the context."""
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr


def infer_into(case: Case, options: str, name: str) -> Path:
    """``corridor infer`` on the scenario's series into the folder ``name``."""
    out = case.root / name
    run_command(case, ["infer", str(case.dicom), "--model", str(case.package), "--out", str(out),
                       *shlex.split(options)])
    return out


def dice_coefficient(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float:
    """Dice overlap of two masks."""
    return 2.0 * float(np.count_nonzero(a & b)) / float(np.count_nonzero(a) + np.count_nonzero(b))


GEOMETRY_AND_INTENSITY = frozenset({
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns",
    "SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated", "BitsStored", "HighBit",
    "PixelRepresentation", "RescaleSlope", "RescaleIntercept", "PixelData", "Modality",
})
"""What ingest needs to place the voxels in the patient and turn them into HU, and Modality,
which makes the series a CT: never removed by the absent-attribute scenarios.  Every other
attribute the phantom writer writes is (the UIDs included: they are not geometry)."""


def written_attributes(folder: Path) -> list[str]:
    """Keywords of the top-level data elements of the files in ``folder``, read with pydicom
    (union over the files, in the first file's order); the file meta group is not the
    dataset's."""
    keywords: dict[str, None] = {}
    for path in sorted(folder.iterdir()):
        dataset = pydicom.dcmread(path, stop_before_pixels=False)
        keywords.update({element.keyword or str(element.tag): None for element in dataset})
    return list(keywords)


def remove_attributes(folder: Path, keywords: Iterable[str]) -> None:
    """Delete the attributes ``keywords`` from every file of ``folder`` (pydicom)."""
    wanted = set(keywords)
    for path in sorted(folder.iterdir()):
        dataset = pydicom.dcmread(path)
        for keyword in wanted & set(dataset.dir()):
            delattr(dataset, keyword)
        dataset.save_as(path)


def folder_sha256(folder: Path) -> dict[str, str]:
    """SHA-256 of every file of ``folder`` (hashlib), by name."""
    return {path.name: file_sha256(path) for path in sorted(folder.iterdir())}


def missing_required(dataset: pydicom.Dataset) -> list[str]:
    """Type 1 attributes without a value and absent Type 2 attributes of ``dataset``, at its
    top level, in every module its IOD makes mandatory (and Frame of Reference, which a SEG
    of a CT must have), from the DICOM standard's module tables shipped with highdicom."""
    from highdicom._standard_utils import (  # the standard's tables, not its writer
        get_iod_module_map,
        get_module_attribute_map,
        get_sop_class_iod_map,
    )

    attributes = get_module_attribute_map()
    missing = []
    for module in get_iod_module_map()[get_sop_class_iod_map()[str(dataset.SOPClassUID)]]:
        if module["usage"] != "M" and module["key"] != "frame-of-reference":
            continue
        for item in attributes[module["key"]]:
            keyword, kind = item["keyword"], item["type"]
            if item["path"] or kind not in ("1", "2"):
                continue
            if keyword not in dataset or (kind == "1" and dataset[keyword].value in (None, "")):
                missing.append(f"{module['key']}: {keyword} (Type {kind})")
    return missing


def patient_and_study_attributes(*types: str) -> list[str]:
    """Keywords of the top-level attributes of these types (``"1"``, ``"2"``) in the Patient and
    General Study modules, from the DICOM standard's tables shipped with highdicom."""
    from highdicom._standard_utils import get_module_attribute_map  # the standard's tables

    tables = get_module_attribute_map()
    return [item["keyword"] for module in ("patient", "general-study")
            for item in tables[module] if not item["path"] and item["type"] in types]
