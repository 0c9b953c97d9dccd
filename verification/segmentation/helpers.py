"""Writers of a phantom's truth labels in the formats other tools write (TotalSegmentator cannot
run here): TotalSegmentator's per-class folder, its multi-label NIfTI with the ecode-0 Caret-XML
label table (byte for byte as ``nifti_ext_header.add_label_map_to_nifti`` writes it), its DICOM
SEG with SNOMED CT codes (highdicom, as TotalSegmentator uses), and 3D Slicer's ``.seg.nrrd``.

The phantom's bone voxels are split per bone by the analytic anatomy (the nearest solid by its
signed distance: the sacrum, each side's femur, the rest of each side's pelvis as ``hip_<side>``)
and its vessels named as TotalSegmentator would (the external iliac arteries as
``iliac_artery_<side>``; a femoral artery has no TotalSegmentator class and is left out).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nibabel
import nrrd
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap
from corridor_phantoms.anatomy import build_anatomy
from corridor_phantoms.enum import Label, PhantomKind

__all__ = ["SLICER_NAMES", "SNOMED", "TS_TOTAL_IDS", "boundary_error_mm", "masks_label_map",
           "near_axis", "split_truth", "write_dicom_seg", "write_multilabel_nifti",
           "write_slicer_seg_nrrd", "write_ts_folder"]

TS_TOTAL_IDS = {"sacrum": 25, "iliac_artery_left": 65, "iliac_artery_right": 66,
                "femur_left": 75, "femur_right": 76, "hip_left": 77, "hip_right": 78}
"""TotalSegmentator ``total`` (v2) class ids (``map_to_binary.py``; research §5.1)."""

SNOMED = {"hip": ("29836001", "Hip"), "femur": ("71341001", "Femur"),
          "sacrum": ("54735007", "Sacrum"), "iliac_artery": ("73634005", "Common iliac artery")}
"""SNOMED CT property types TotalSegmentator's DICOM SEG gives these classes."""

LATERALITY = {"left": ("7771000", "Left"), "right": ("24028007", "Right")}

SLICER_NAMES = {"hip_left": "Left hip bone", "hip_right": "Right hip bone",
                "femur_left": "Left femur", "femur_right": "Right femur", "sacrum": "Sacrum",
                "iliac_artery_left": "Left external iliac artery",
                "iliac_artery_right": "Right external iliac artery"}
"""Segment names as a 3D Slicer user names them."""

_COLOURS = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255],
            [255, 128, 0], [255, 0, 128], [128, 255, 128], [0, 128, 255], [128, 128, 128],
            [185, 170, 155]]


def _bone_class(name: str) -> str:
    if name == "sacrum":
        return "sacrum"
    side = "left" if name.startswith("left-") else "right"
    return f"femur_{side}" if "-femur-" in name else f"hip_{side}"


def split_truth(labels: NDArray[np.uint8], geometry: ImageGeometry, kind: str
                ) -> dict[str, NDArray[np.bool_]]:
    """The phantom's truth labels as TotalSegmentator's classes (masks by class name)."""
    anatomy = build_anatomy(PhantomKind(kind))
    bone = (labels == Label.CORTICAL_BONE) | (labels == Label.CANCELLOUS_BONE)
    index = np.argwhere(bone)
    points = geometry.index_to_lps(index.astype(np.float64))
    classes = sorted({_bone_class(s.name) for s in anatomy.bones})
    distance = np.full((len(classes), len(points)), np.inf)
    for solid in anatomy.bones:
        row = classes.index(_bone_class(solid.name))
        distance[row] = np.minimum(distance[row], solid.sdf(points))
    nearest = np.argmin(distance, axis=0)
    masks: dict[str, NDArray[np.bool_]] = {}
    for row, name in enumerate(classes):
        mask = np.zeros(labels.shape, dtype=bool)
        chosen = index[nearest == row]
        mask[chosen[:, 0], chosen[:, 1], chosen[:, 2]] = True
        masks[name] = mask
    vessel = labels == Label.VESSEL
    arteries = [v for v in anatomy.vessels if "iliac-artery" in v.name]
    if arteries:
        index = np.argwhere(vessel)
        x = geometry.index_to_lps(index.astype(np.float64))[:, 0]
        for side, chosen in (("left", index[x > anatomy.centre[0]]),
                             ("right", index[x <= anatomy.centre[0]])):
            mask = np.zeros(labels.shape, dtype=bool)
            mask[chosen[:, 0], chosen[:, 1], chosen[:, 2]] = True
            masks[f"iliac_artery_{side}"] = mask
    return masks


def write_ts_folder(masks: Mapping[str, NDArray[np.bool_]], geometry: ImageGeometry,
                    folder: Path, extra: tuple[str, ...] = ("spleen", "urinary_bladder")) -> None:
    """One uint8 NIfTI per class, ``<class>.nii.gz``, plus empty masks of ``extra`` classes."""
    folder.mkdir(parents=True)
    shape = geometry.shape
    for name, mask in {**masks, **{n: np.zeros(shape, bool) for n in extra}}.items():
        nibabel.save(nibabel.Nifti1Image(mask.astype(np.uint8), geometry.affine_ras()),
                     folder / f"{name}.nii.gz")


def caret_xml(label_map: Mapping[int, str]) -> bytes:
    """The label table exactly as TotalSegmentator's ``add_label_map_to_nifti`` writes it."""
    xmlpre = ('<?xml version="1.0" encoding="UTF-8"?> <CaretExtension>  <Date><![CDATA['
              '2013-07-14T05:45:09]]></Date>   <VolumeInformation Index="0">   <LabelTable>')
    body = ""
    for label_id, label_name in label_map.items():
        rgb = _COLOURS[label_id % len(_COLOURS)]
        body += (f'<Label Key="{label_id}" Red="{rgb[0]/255}" Green="{rgb[1]/255}" '
                 f'Blue="{rgb[2]/255}" Alpha="1"><![CDATA[{label_name}]]></Label>\n')
    xmlpost = ("  </LabelTable>  <StudyMetaDataLinkSet>  </StudyMetaDataLinkSet>  <VolumeType>"
               "<![CDATA[Label]]></VolumeType>   </VolumeInformation></CaretExtension>")
    return bytes(xmlpre + "\n" + body + "\n" + xmlpost + "\n              ", "utf-8")


def write_multilabel_nifti(masks: Mapping[str, NDArray[np.bool_]], geometry: ImageGeometry,
                           path: Path, ids: Mapping[str, int] | None = None,
                           table: Mapping[int, str] | None = None) -> None:
    """One label map with ``ids`` (default TotalSegmentator's) and the label table ``table``
    (default: the ids' names; ``{}``: no extension at all)."""
    ids = dict(TS_TOTAL_IDS if ids is None else ids)
    labels = np.zeros(geometry.shape, dtype=np.uint8)
    for name, mask in masks.items():
        labels[mask] = ids[name]
    image = nibabel.Nifti1Image(labels, geometry.affine_ras())
    names = {v: k for k, v in sorted(ids.items(), key=lambda e: e[1])} if table is None else table
    if names:
        image.header.extensions.append(nibabel.nifti1.Nifti1Extension(0, caret_xml(names)))
    nibabel.save(image, path)


def write_slicer_seg_nrrd(masks: Mapping[str, NDArray[np.bool_]], geometry: ImageGeometry,
                          path: Path) -> None:
    """A one-layer 3D Slicer segmentation, segments named as a Slicer user names them."""
    labels = np.zeros(geometry.shape, dtype=np.uint8)
    header: dict[str, Any] = {"space": "left-posterior-superior",
                              "space directions": geometry.affine[:3, :3].T,
                              "space origin": geometry.affine[:3, 3], "encoding": "gzip"}
    for number, (name, mask) in enumerate(sorted(masks.items())):
        labels[mask] = number + 1
        header[f"Segment{number}_ID"] = f"Segment_{number + 1}"
        header[f"Segment{number}_Name"] = SLICER_NAMES[name]
        header[f"Segment{number}_LabelValue"] = str(number + 1)
        header[f"Segment{number}_Layer"] = "0"
    nrrd.write(str(path), labels, header, compression_level=1)


def write_dicom_seg(masks: Mapping[str, NDArray[np.bool_]], dicom_folder: Path, path: Path,
                    frame_of_reference_uid: str | None = None) -> None:
    """A DICOM SEG over the phantom's CT series (highdicom), each segment labelled with its
    class name and coded as TotalSegmentator codes it (SNOMED CT, laterality modifier)."""
    import highdicom
    import pydicom
    from pydicom.uid import ExplicitVRLittleEndian

    sources = sorted((pydicom.dcmread(f) for f in dicom_folder.glob("*.dcm")),
                     key=lambda d: float(d.ImagePositionPatient[2]))
    names = sorted(masks)
    shape = next(iter(masks.values())).shape
    labels = np.zeros(shape, dtype=np.uint8)
    for number, name in enumerate(names, start=1):
        labels[masks[name]] = number
    code = highdicom.sr.CodedConcept
    segments = []
    for number, name in enumerate(names, start=1):
        base = name.rpartition("_")[0] if name.endswith(("_left", "_right")) else name
        value, meaning = SNOMED[base]
        segments.append(highdicom.seg.SegmentDescription(
            segment_number=number, segment_label=name,
            segmented_property_category=code("91723000", "SCT", "Anatomical Structure"),
            segmented_property_type=code(value, "SCT", meaning),
            algorithm_type=highdicom.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=highdicom.AlgorithmIdentificationSequence(
                name="TotalSegmentator (phantom stand-in)", version="2.18.0",
                family=code("123109", "DCM", "Artificial Intelligence"))))
    # (slice, row, column) in slice order; the phantom's index is (column, row, slice).
    pixels = np.ascontiguousarray(labels.transpose(2, 1, 0))
    if float(sources[0].ImagePositionPatient[2]) > float(sources[-1].ImagePositionPatient[2]):
        pixels = pixels[::-1]
    seg = highdicom.seg.Segmentation(
        source_images=sources, pixel_array=pixels,
        segmentation_type=highdicom.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=segments, series_instance_uid=highdicom.UID(), series_number=99,
        sop_instance_uid=highdicom.UID(), instance_number=1, manufacturer="verification",
        manufacturer_model_name="TotalSegmentator stand-in", software_versions="0",
        device_serial_number="0", transfer_syntax_uid=ExplicitVRLittleEndian)
    for item in seg.SegmentSequence:
        name = str(item.SegmentLabel)
        if name.endswith(("_left", "_right")):
            value, meaning = LATERALITY[name.rpartition("_")[2]]
            modifier = pydicom.Dataset()
            modifier.CodeValue, modifier.CodingSchemeDesignator = value, "SCT"
            modifier.CodeMeaning = meaning
            item.SegmentedPropertyTypeCodeSequence[0].SegmentedPropertyTypeModifierCodeSequence = (
                pydicom.Sequence([modifier]))
    if frame_of_reference_uid is not None:
        seg.FrameOfReferenceUID = frame_of_reference_uid
    seg.save_as(path)


def masks_label_map(masks: Mapping[str, NDArray[np.bool_]], geometry: ImageGeometry) -> LabelMap:
    """The class masks as one label map, each class named (values in sorted name order)."""
    names = sorted(masks)
    labels = np.zeros(geometry.shape, dtype=np.uint8)
    for value, name in enumerate(names, start=1):
        labels[masks[name]] = value
    return LabelMap(labels, geometry, ("background", *names))


def near_axis(geometry: ImageGeometry, entry: NDArray[np.float64], tip: NDArray[np.float64],
              radius_mm: float) -> NDArray[np.bool_]:
    """The voxels whose centres lie within ``radius_mm`` of the segment ``entry``-``tip``
    (LPS mm)."""
    ends = np.vstack([entry, tip])
    corners = np.array([[x, y, z] for x in (ends[:, 0].min() - radius_mm,
                                            ends[:, 0].max() + radius_mm)
                        for y in (ends[:, 1].min() - radius_mm, ends[:, 1].max() + radius_mm)
                        for z in (ends[:, 2].min() - radius_mm, ends[:, 2].max() + radius_mm)])
    index = geometry.lps_to_index(corners)
    shape = np.asarray(geometry.shape)
    low = np.clip(np.floor(index.min(axis=0)).astype(int), 0, shape)
    high = np.clip(np.ceil(index.max(axis=0)).astype(int) + 1, 0, shape)
    grid = np.indices(tuple(high - low)).reshape(3, -1).T + low
    points = geometry.index_to_lps(grid.astype(np.float64))
    axis = tip - entry
    along = np.clip((points - entry) @ axis / float(axis @ axis), 0.0, 1.0)
    distance = np.linalg.norm(points - (entry + along[:, None] * axis), axis=1)
    near = np.zeros(geometry.shape, dtype=bool)
    chosen = grid[distance <= radius_mm]
    near[chosen[:, 0], chosen[:, 1], chosen[:, 2]] = True
    return near


def boundary_error_mm(truth: NDArray[np.bool_], other: NDArray[np.bool_],
                      geometry: ImageGeometry, near: NDArray[np.bool_], *,
                      percentile: float = 95.0, pad_mm: float = 20.0) -> float:
    """A percentile of the symmetric boundary distance (mm) between two masks, over the
    boundary voxels of either that lie in ``near``: each boundary voxel's distance to the
    other mask's nearest boundary voxel centre (the HD95 of SRS-INF-013 at 95).

    Computed on the box holding ``near`` grown by ``pad_mm`` (a boundary farther than that
    from ``near`` counts as that far, so the result is exact up to ``pad_mm``); 0 when
    neither mask has a boundary voxel in ``near``.
    """
    spacing = np.asarray(geometry.spacing)
    found = np.argwhere(near)
    pad = np.ceil(pad_mm / spacing).astype(int)
    low = np.maximum(found.min(axis=0) - pad, 0)
    high = np.minimum(found.max(axis=0) + pad + 1, np.asarray(geometry.shape))
    box = tuple(slice(a, b) for a, b in zip(low, high, strict=True))

    def boundary(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
        part = mask[box]
        return np.asarray(part & ~ndimage.binary_erosion(part))

    edges = boundary(truth), boundary(other)
    distances = [ndimage.distance_transform_edt(~edge, sampling=spacing) for edge in edges]
    inside = near[box]
    values = np.concatenate([distances[1][edges[0] & inside], distances[0][edges[1] & inside]])
    return float(np.percentile(values, percentile)) if len(values) else 0.0
