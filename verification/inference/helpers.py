"""Helpers shared by the inference step modules: the scenario context, the phantom step's text,
writing a model package of a known graph, the in-process ``corridor`` runs, independent
readings of the outputs (SHA-256 with hashlib, NIfTI with nibabel, the Dice coefficient), and
for series lacking attributes: which ones the phantom writer writes, removing them with
pydicom, and the DICOM standard's required attributes of a SEG.

For deep ensembles: each member run by ONNX Runtime on the whole volume and the mutual
information computed from them in float64 (the oracle), and the analytic cylinder CT with a
segment planted beside the planned implant that two members see differently.
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
import onnxruntime as ort
import pydicom
from numpy.typing import NDArray

from corridor.ingest.model import Volume
from corridor.planning import plan_trajectory
from corridor_phantoms import make_phantom
from verification.command_run import run_corridor
from verification.inference.graphs import interval_model, write_ensemble, write_package
from verification.planning.phantoms import (
    Cylinder,
    in_memory,
    loaded,
    phantom,
    procedure_document,
)


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


CLIP_HU = (-1000.0, 2000.0)
"""The test packages' intensity clipping (:func:`~verification.inference.graphs.write_package`);
their input is ``clip(HU) / 1000``."""


def member_probabilities(package: Path, hu: NDArray[Any], temperature: float,
                         ) -> list[NDArray[np.float64]]:
    """Each member's calibrated class probabilities ``(labels, i, j, k)``: the member's ONNX
    file run by ONNX Runtime on the whole volume (the test graphs are per voxel and take any
    size), softmax of the logits divided by the temperature, in float64."""
    manifest = json.loads((package / "manifest.json").read_text())
    files = [manifest.get("onnx_file", "model.onnx"),
             *(m["onnx_file"] for m in manifest.get("ensemble", []))]
    x = (np.clip(np.asarray(hu, np.float64), *CLIP_HU) / 1000.0).astype(np.float32)
    tensor = np.ascontiguousarray(x.T)[np.newaxis, np.newaxis]  # (1, 1, k, j, i)
    found = []
    for name in files:
        session = ort.InferenceSession(str(package / name), providers=["CPUExecutionProvider"])
        logits = np.asarray(session.run(None, {"image": tensor})[0][0], np.float64) / temperature
        logits -= logits.max(axis=0, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=0, keepdims=True)
        found.append(p.transpose(0, 3, 2, 1))  # (labels, i, j, k)
    return found


def entropy_of(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """``-sum p log p`` over axis 0 (``0 log 0 = 0``)."""
    result: NDArray[np.float64] = -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=0)
    return result


def mutual_information(members: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    """``H(mean) - mean(H)`` of the members' probabilities, by its definition (Gal 2016;
    Depeweg et al. 2018), in float64."""
    mean = np.mean(members, axis=0)
    result: NDArray[np.float64] = entropy_of(mean) - np.mean(
        [entropy_of(p) for p in members], axis=0)
    return result


SEGMENT_RADIUS_MM = 2.0
SEGMENT_HALF_LENGTH_MM = 5.0
VESSEL_INTERVALS = [(150, 750), (150, 600)]
"""Each member of :func:`vessel_ensemble`: vessel from the first HU to the second, bone above."""


def cylinder_ct_with_segment(gap_mm: float = 4.0, segment_hu: int = 700) -> dict[str, Any]:
    """The planning tests' analytic phantom (bone cylinder of radius 12 mm, vessel of radius
    3 mm at 30 mm; 1 mm voxels) as a CT: bone 1000 HU, vessel 300, background 0.  Planned
    once on its labels for the trajectory; a segment is planted in the bone at mid-depth,
    ``gap_mm`` from the implant's surface, at ``segment_hu``: a ring about the implant's axis
    (inner radius the implant's plus ``gap_mm``, :data:`SEGMENT_RADIUS_MM` thick radially,
    10 mm long), so that no line the template admits keeps clear of it (a line moved away from
    one side comes nearer the other, and the bone ends before the ring's far side could be
    cleared): where a member calls it vessel, the planner's robust choice (SRS-PLN-022,
    verified in planning/uncertainty.feature) cannot avoid it and the disagreement must be
    flagged.

    Returns ``hu``, ``labels``, ``document`` (the procedure), ``entry`` (the plan's),
    ``planted`` (the segment's voxels) and ``volume`` (the CT in memory).
    """
    bone = Cylinder((0.0, 0.0, 50.0), (0.0, 0.0, 1.0), 12.0, 50.0)
    label_map = phantom(bone, [Cylinder((30.0, 0.0, 0.0), (0.0, 0.0, 1.0), 3.0)],
                        (1.0, 1.0, 1.0))
    document = procedure_document(vessel_clearance=6.0)
    first = plan_trajectory(label_map, loaded(document), side=None, landmarks={},
                            label_map_file=in_memory(label_map)).plan
    assert first.trajectory is not None
    trajectory = first.trajectory
    middle = trajectory.entry + 0.5 * trajectory.length_mm * trajectory.direction
    inner = trajectory.diameter_mm / 2 + gap_mm
    geometry = label_map.geometry
    points = geometry.index_to_lps(np.indices(geometry.shape).reshape(3, -1).T)
    offset = points - middle
    along = offset @ trajectory.direction
    across = np.linalg.norm(offset - along[:, None] * trajectory.direction, axis=1)
    planted = ((np.abs(along) <= SEGMENT_HALF_LENGTH_MM) & (across >= inner)
               & (across <= inner + 2 * SEGMENT_RADIUS_MM)).reshape(geometry.shape)
    hu = np.choose(label_map.labels, [0, 1000, 300]).astype(np.int16)
    hu[planted] = segment_hu
    assert planted.sum() >= 100
    assert bool(np.all(label_map.labels[planted] == 1))  # in the bone
    return {"hu": hu, "labels": label_map.labels, "document": document,
            "entry": trajectory.entry, "planted": planted,
            "volume": Volume(np.asfortranarray(hu), geometry, "1.2.826.0.1.3680043.10.1", ())}


def vessel_ensemble(folder: Path) -> Path:
    """Two per-voxel members (:func:`~verification.inference.graphs.interval_model`) that
    differ only in the highest vessel intensity (:data:`VESSEL_INTERVALS`): background below
    150 HU, vessel up to 750 (member-1) or 600 HU (member-2), bone above.  At 700 HU member-1
    says vessel (0.92) and member-2 bone (0.99), so their mean says bone.  On the CT's grid
    (1 mm, native), labels named as the planning phantom's (bone 1, vessel 2)."""
    coded = {"category": {"scheme": "SCT", "value": "91723000",
                          "meaning": "Anatomical Structure"}}
    labels = [{"index": 0, "name": "background"},
              {"index": 1, "name": "bone", **coded,
               "type": {"scheme": "SCT", "value": "272673000", "meaning": "Bone"}},
              {"index": 2, "name": "vessel", "risk_structure": True, **coded,
               "type": {"scheme": "SCT", "value": "51114001", "meaning": "Artery"}}]
    members = [interval_model(low / 1000.0, high / 1000.0, middle=2)
               for low, high in VESSEL_INTERVALS]
    return write_ensemble(folder, members, input_spacing_mm=[1.0] * 3, grid="native",
                          labels=labels, patch_size=[32, 32, 32])
