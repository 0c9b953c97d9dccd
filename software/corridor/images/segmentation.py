"""Segmentations made elsewhere, read with their label names, and checked against the CT.

Accepted (HAZ-040, HAZ-042; a damaged file is refused whole, never read in part, HAZ-044):

- a **TotalSegmentator output folder**: one binary NIfTI mask per class, named
  ``<class>.nii.gz`` (or ``.nii``), all on one grid; a mask's name is its file's name;
- a **multi-label NIfTI** (TotalSegmentator ``--ml``): names from its NIfTI-1 header extension of
  code 0, the Caret-XML ``LabelTable`` TotalSegmentator writes (``<Label Key="n" ...>
  <![CDATA[name]]></Label>``), or from a **class map** given beside it: a JSON object of label
  values to names, ``{"1": "hip_left", ...}`` (TotalSegmentator's ``class_map`` dictionaries
  written as JSON; :func:`read_class_map`); where both are present they must agree;
- a **3D Slicer** ``.seg.nrrd``: ``Segment<n>_Name``, ``_LabelValue`` and ``_Layer`` (one layer);
- a **DICOM SEG**: segment labels, their coded types (``SegmentedPropertyTypeCodeSequence``,
  with a laterality modifier) and its Frame of Reference UID.

A segmentation without names is refused: label numbers alone mean different structures in
different versions of the same tool.  Every label value present must have a name.

:func:`fit_to_ct` checks that a segmentation belongs to the CT: the same Frame of Reference
UID where both state one, the same axis directions, and either the same grid (every voxel
within :data:`GEOMETRY_TOLERANCE_MM`) or the same lattice cropped, or another grid of the same
scan lying within the CT's field; the latter two are resampled onto the CT's grid with nearest
neighbour only, and the resampling is returned to be recorded and flagged for review.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import ImageGeometry
from corridor.images.errors import ImageFileError
from corridor.images.model import LabelMap
from corridor.images.readers import read_label_map
from corridor.reading import InputFileError, json_depth, open_bounded, read_regular_file

__all__ = ["CLASS_MAP_BYTES", "DIRECTION_MATCH", "GEOMETRY_TOLERANCE_MM", "MAX_CLASS_FILES",
           "SegmentCode", "Segmentation", "SegmentationMismatchError", "fit_to_ct",
           "read_class_map", "read_segmentation"]

GEOMETRY_TOLERANCE_MM = 0.1
"""Largest distance (mm) between a segmentation's voxel centre and the CT's for the grids to be
the same: ten times float32 rounding of a NIfTI affine 500 mm from the origin, and well below
a 0.6 mm shift (a third of a 1.5 mm voxel)."""

DIRECTION_MATCH = 1e-3
"""Largest difference of any direction cosine between the segmentation and the CT (a flipped
or swapped axis differs by 1 or more)."""

MAX_CLASS_FILES = 512
"""The most NIfTI masks read from one folder (TotalSegmentator's ``total`` writes 117)."""

CLASS_MAP_BYTES = 1 << 20
"""The largest class-map file read."""

_LABEL = re.compile(r'<Label\s+Key="(\d+)"[^>]*>\s*<!\[CDATA\[(.*?)\]\]>\s*</Label>', re.S)


class SegmentationMismatchError(ImageFileError):
    """A segmentation that is not of this CT (another frame of reference, shifted, flipped)."""


@dataclass(frozen=True, slots=True)
class SegmentCode:
    """A DICOM SEG segment's coded type: scheme, value and meaning, with its laterality."""

    scheme: str
    value: str
    meaning: str
    laterality: str | None = None
    """The laterality modifier's code value, if the segment has one."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"scheme": self.scheme, "value": self.value, "meaning": self.meaning,
                "laterality": self.laterality}


@dataclass(frozen=True, slots=True, eq=False)
class Segmentation:
    """A segmentation read from elsewhere: its label map (names by value), where it came from.

    Attributes
    ----------
    label_map
        The labels on the segmentation's own grid, each value named.
    format
        ``totalsegmentator-folder``, ``nifti-multilabel``, ``slicer-seg-nrrd`` or ``dicom-seg``.
    files
        The files read.
    names_from
        Where the names came from (``file names``, ``nifti extension``, ``class map``,
        ``segment fields``, ``segment labels``).
    codes
        DICOM SEG segments' coded types by label value.
    skipped
        Masks of a folder not read, because ``keep`` did not want their names.
    """

    label_map: LabelMap
    format: str
    files: tuple[Path, ...]
    names_from: str
    codes: Mapping[int, SegmentCode] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready description (the names, never the voxels)."""
        return {"format": self.format, "files": [p.name for p in self.files],
                "names_from": self.names_from, "names": list(self.label_map.names),
                "codes": {str(k): v.to_json() for k, v in sorted(self.codes.items())},
                "skipped": list(self.skipped),
                "geometry": self.label_map.geometry.to_json()}


def _unnamed(path: Path, how: str) -> ImageFileError:
    return ImageFileError("label names", f"{path}: none ({how})",
                          "a segmentation whose labels are named (numbers alone mean different "
                          "structures in different versions of a tool)")


def _named(path: Path, label_map: LabelMap, names: Mapping[int, str], source: str) -> LabelMap:
    """``label_map`` with ``names`` (value to name); every value present must be named."""
    outside = sorted(v for v in names if not 0 < v < 256)
    if outside:
        raise ImageFileError("label names", f"{path}: values {outside[:8]} named in the "
                             f"{source}", "names of the label values 1 to 255 only")
    present = np.flatnonzero(np.bincount(label_map.labels.ravel(), minlength=256))
    missing = [int(v) for v in present if v and int(v) not in names]
    if missing:
        raise ImageFileError("label names", f"{path}: values {missing} have no name in the "
                             f"{source}", "a name for every label value present")
    top = max([int(present.max()), *names])
    table = ["background"] + [names.get(v, "") for v in range(1, top + 1)]
    if len(set(names.values())) != len(names):
        raise ImageFileError("label names", f"{path}: repeated names in the {source}",
                             "each name once")
    return LabelMap(label_map.labels, label_map.geometry, tuple(table))


def _nifti_extension_names(path: Path) -> dict[int, str] | None:
    """Names from the NIfTI-1 header extension of code 0 (TotalSegmentator's Caret XML)."""
    import nibabel

    image: Any = nibabel.load(path)
    for extension in image.header.extensions:
        if extension.get_code() != 0:
            continue
        text = extension.get_content().decode("utf-8", errors="replace")
        found = {int(key): name.strip() for key, name in _LABEL.findall(text)}
        if found:
            return found
    return None


_CLASS_VALUE = re.compile(r"[1-9][0-9]{0,2}")
"""A class map's key: a label value in plain decimal (``"1"``, never ``"01"``, ``" 1"`` or
``"1_0"``, which Python's ``int`` would also read as numbers)."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's members; a key given twice is refused (JSON parsers keep the last)."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"the key {key!r} twice")
        document[key] = value
    return document


def read_class_map(path: Path) -> dict[int, str]:
    """A class map: a JSON object of label values (1 to 255, in plain decimal) to non-empty
    names, ``{"1": "hip_left", ...}``, each value once.

    Raises
    ------
    ImageFileError
        Not a regular file of at most :data:`CLASS_MAP_BYTES`, not UTF-8 JSON, not one flat
        object, a key given twice, a key that is not a label value or a name that is not
        non-empty text.
    """
    expected = 'a JSON object of label values to names, {"1": "hip_left", ...}'
    try:
        text = read_regular_file(path, CLASS_MAP_BYTES, field="class map",
                                 expected=expected).decode("utf-8")
        if json_depth(text) > 1:  # checked before parsing: no parser recurses into it
            raise ValueError(f"objects or arrays nested {json_depth(text)} deep")
        document = json.loads(text, object_pairs_hook=_pairs)
    except InputFileError as exc:
        raise ImageFileError("class map", f"{path}: {exc.found}", exc.expected) from exc
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError among them
        raise ImageFileError("class map", f"{path}: {type(exc).__name__}: {exc}",
                             expected) from exc
    if not isinstance(document, dict) or not document:
        raise ImageFileError("class map", f"{path}: {type(document).__name__} "
                             f"{str(document)[:60]!r}", expected)
    bad = [(k, v) for k, v in document.items()
           if not _CLASS_VALUE.fullmatch(k) or int(k) > 255 or not isinstance(v, str)
           or not v.strip()]
    if bad:
        raise ImageFileError("class map", f"{path}: {bad[:5]}",
                             "keys the label values 1 to 255 in plain decimal, each with a "
                             "non-empty name")
    return {int(k): v for k, v in document.items()}


def _folder(path: Path, keep: Callable[[str], bool] | None) -> Segmentation:
    masks = sorted(p for p in path.iterdir() if p.name.endswith((".nii.gz", ".nii")))
    if not masks:
        raise ImageFileError("segmentation", f"{path}: no .nii.gz masks",
                             "a TotalSegmentator folder (one <class>.nii.gz per class)")
    if len(masks) > MAX_CLASS_FILES:
        raise ImageFileError("segmentation", f"{path}: {len(masks)} masks",
                             f"at most {MAX_CLASS_FILES}")
    names = [p.name.removesuffix(".gz").removesuffix(".nii") for p in masks]
    wanted = [(n, p) for n, p in zip(names, masks, strict=True) if keep is None or keep(n)]
    skipped = tuple(n for n in names if keep is not None and not keep(n))
    if not wanted:
        raise ImageFileError("segmentation", f"{path}: classes {names[:8]}...",
                             "at least one class the role table knows")
    labels: NDArray[np.uint8] | None = None
    geometry: ImageGeometry | None = None
    for value, (name, mask_path) in enumerate(wanted, start=1):
        mask = read_label_map(mask_path)
        if int(mask.labels.max(initial=0)) > 1:
            raise ImageFileError("voxel values", f"{mask_path}: up to {int(mask.labels.max())}",
                                 "a binary mask (0 and 1) per class")
        if geometry is None or labels is None:
            geometry, labels = mask.geometry, np.zeros(mask.labels.shape, np.uint8)
        elif not mask.geometry.same_as(geometry, GEOMETRY_TOLERANCE_MM):
            raise ImageFileError("geometry", f"{mask_path}: {mask.geometry.to_json()}",
                                 f"the grid of {wanted[0][1].name}: {geometry.to_json()}")
        inside = mask.labels.astype(bool)
        if np.any(labels[inside]):
            raise ImageFileError("voxel values", f"{mask_path}: {name} overlaps another class",
                                 "classes that do not overlap (one label per voxel)")
        labels[inside] = value
    assert geometry is not None
    assert labels is not None
    return Segmentation(LabelMap(labels, geometry, ("background", *(n for n, _ in wanted))),
                        "totalsegmentator-folder", tuple(p for _, p in wanted), "file names",
                        skipped=skipped)


def _slicer(path: Path, label_map: LabelMap) -> Segmentation:
    import nrrd

    with path.open("rb") as stream:
        header = nrrd.read_header(stream)
    layers = {str(v).strip() for k, v in header.items()
              if k.startswith("Segment") and k.endswith("_Layer")}
    if layers - {"0"}:
        raise ImageFileError("Segment<n>_Layer", f"{path}: layers {sorted(layers)}",
                             "one layer (segments that do not overlap; in 3D Slicer, export "
                             "with a single layer)")
    names: dict[int, str] = {}
    for key, value in header.items():
        if key.startswith("Segment") and key.endswith("_Name"):
            number = key[len("Segment"):-len("_Name")]
            label = str(header.get(f"Segment{number}_LabelValue", "")).strip()
            if label.isdigit():
                names[int(label)] = str(value)
    if not names:
        raise _unnamed(path, "no Segment<n>_Name with Segment<n>_LabelValue")
    return Segmentation(_named(path, label_map, names, "segment fields"), "slicer-seg-nrrd",
                        (path,), "segment fields")


def _code_value(path: Path, number: int, concept: Any, keyword: str, where: str) -> str:
    """One attribute of a coded concept of a segment; a concept without it is refused."""
    value = str(getattr(concept, keyword, None) or "").strip()
    if not value:
        raise ImageFileError(f"segment {number}: {where}", f"{path}: no {keyword}",
                             "a coded concept with its CodeValue, CodingSchemeDesignator and "
                             "CodeMeaning")
    return value


def _code(path: Path, number: int, item: Any) -> SegmentCode | None:
    """A segment's coded type with its laterality modifier (``None`` when it has no type)."""
    types = getattr(item, "SegmentedPropertyTypeCodeSequence", None)
    if not types:
        return None
    kind = types[0]
    where = "SegmentedPropertyTypeCodeSequence"
    laterality = None
    for modifier in getattr(kind, "SegmentedPropertyTypeModifierCodeSequence", None) or ():
        laterality = _code_value(path, number, modifier, "CodeValue",
                                 f"{where} > SegmentedPropertyTypeModifierCodeSequence")
    for region in getattr(item, "AnatomicRegionSequence", None) or ():
        for modifier in getattr(region, "AnatomicRegionModifierSequence", None) or ():
            laterality = laterality or _code_value(
                path, number, modifier, "CodeValue",
                "AnatomicRegionSequence > AnatomicRegionModifierSequence")
    scheme, value, meaning = (_code_value(path, number, kind, keyword, where)
                              for keyword in ("CodingSchemeDesignator", "CodeValue",
                                              "CodeMeaning"))
    return SegmentCode(scheme, value, meaning, laterality)


def _dicom_seg(path: Path, label_map: LabelMap) -> Segmentation:
    import pydicom

    with open_bounded(path, field="file", expected="a DICOM SEG") as stream:
        header = pydicom.dcmread(cast(BinaryIO, stream), stop_before_pixels=True)
    names: dict[int, str] = {}
    codes: dict[int, SegmentCode] = {}
    for item in getattr(header, "SegmentSequence", None) or ():
        try:
            number = int(item.SegmentNumber)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ImageFileError("SegmentNumber", f"{path}: {getattr(item, 'SegmentNumber', None)}",
                                 "a number for every segment") from exc
        label = str(getattr(item, "SegmentLabel", "") or "").strip()
        if label:
            names[number] = label
        code = _code(path, number, item)
        if code is not None:
            codes[number] = code
    if not names:
        raise _unnamed(path, "no SegmentLabel")
    frame = str(getattr(header, "FrameOfReferenceUID", "") or "") or None
    # The SEG's volume is indexed (frame, row, column); the CT's (column, row, slice): the same
    # voxels re-indexed, exactly, so that a SEG of this CT lies on the CT's own grid.
    # Slices run along the normal (column x row direction), as ingest orders a CT's slices.
    affine = label_map.geometry.affine[:, [2, 1, 0, 3]].copy()
    labels = label_map.labels.transpose(2, 1, 0)
    if float(np.dot(affine[:3, 2], np.cross(affine[:3, 0], affine[:3, 1]))) < 0:
        affine[:3, 3] += (labels.shape[2] - 1) * affine[:3, 2]
        affine[:3, 2] = -affine[:3, 2]
        labels = labels[:, :, ::-1]
    labels = np.ascontiguousarray(labels)
    geometry = ImageGeometry(affine, (labels.shape[0], labels.shape[1], labels.shape[2]),
                             frame_of_reference_uid=frame)
    named = _named(path, LabelMap(labels, geometry, label_map.names), names, "segment labels")
    return Segmentation(named, "dicom-seg", (path,), "segment labels", codes)


def read_segmentation(path: Path, *, class_map: Path | None = None,
                      keep: Callable[[str], bool] | None = None) -> Segmentation:
    """Read a segmentation made elsewhere, with its label names (see the module docstring).

    Parameters
    ----------
    path
        A TotalSegmentator folder, a multi-label NIfTI, a 3D Slicer ``.seg.nrrd`` or a DICOM SEG.
    class_map
        For a multi-label NIfTI: a JSON file of label values to names.
    keep
        For a folder: which class names to read (the others are listed as skipped).

    Raises
    ------
    ImageFileError
        A file that cannot be read as a label map (:func:`read_label_map`), a segmentation
        without names, a value without a name, masks on different grids, overlapping or not
        binary, several Slicer layers, or a class map that is not valid or disagrees with the
        names in the NIfTI header.
    """
    if path.is_dir():
        if class_map is not None:
            raise ImageFileError("--class-map", str(class_map),
                                 "no class map for a folder (its files are named by class)")
        return _folder(path, keep)
    name = path.name.lower()
    label_map = read_label_map(path)
    if name.endswith((".nii", ".nii.gz")):
        from_header = _nifti_extension_names(path)
        given = read_class_map(class_map) if class_map is not None else None
        if from_header is not None and given is not None and from_header != given:
            differ = sorted(k for k in set(from_header) | set(given)
                            if from_header.get(k) != given.get(k))
            raise ImageFileError("class map", f"{class_map}: values {differ[:8]} named "
                                 "differently from the NIfTI header's label table",
                                 "the same names as the header (or no class map)")
        names = from_header or given
        if names is None:
            raise _unnamed(path, "no label table in its header extension and no --class-map")
        source = "nifti extension" if from_header is not None else "class map"
        return Segmentation(_named(path, label_map, names, source), "nifti-multilabel",
                            (path,) if class_map is None else (path, class_map), source)
    if class_map is not None:
        raise ImageFileError("--class-map", str(class_map), "a class map only for a NIfTI file")
    if name.endswith(".nrrd"):
        return _slicer(path, label_map)
    return _dicom_seg(path, label_map)


def _describe(geometry: ImageGeometry) -> str:
    direction = np.round(geometry.direction, 4).tolist()
    return (f"shape {list(geometry.shape)}, spacing {[round(s, 4) for s in geometry.spacing]} "
            f"mm, origin {[round(o, 3) for o in geometry.origin]} mm LPS, direction "
            f"{direction}, frame {geometry.frame_of_reference_uid or 'not stated'}")


def _mismatch(what: str, segmentation: ImageGeometry, ct: ImageGeometry) -> ImageFileError:
    return SegmentationMismatchError(
        "segmentation geometry", f"{what}: segmentation {_describe(segmentation)}",
        f"the CT's: {_describe(ct)} (within {GEOMETRY_TOLERANCE_MM} mm)")


def fit_to_ct(label_map: LabelMap, ct: ImageGeometry
              ) -> tuple[LabelMap, dict[str, Any] | None]:
    """The segmentation on the CT's grid, and its resampling (``None`` when on the same grid).

    Raises
    ------
    SegmentationMismatchError
        Another Frame of Reference UID (where both state one), another axis direction (a
        flipped or swapped axis), a grid of the same spacing shifted off the CT's lattice by
        more than :data:`GEOMETRY_TOLERANCE_MM`, or a grid reaching outside the CT's field.
    """
    own = label_map.geometry
    if (own.frame_of_reference_uid and ct.frame_of_reference_uid
            and own.frame_of_reference_uid != ct.frame_of_reference_uid):
        raise _mismatch("another frame of reference", own, ct)
    if float(np.max(np.abs(own.direction - ct.direction))) > DIRECTION_MATCH:
        raise _mismatch("another axis direction (flipped or swapped)", own, ct)
    if own.same_as(ct, GEOMETRY_TOLERANCE_MM):
        return LabelMap(label_map.labels, ct, label_map.names), None
    # Where each segmentation voxel centre lies on the CT's grid (continuous index).
    corners = ct.lps_to_index(own.corners_lps())
    same_spacing = np.allclose(own.spacing, ct.spacing, rtol=0, atol=1e-4)
    if same_spacing:
        offset = (corners[0] if own.shape == ct.shape
                  else corners[0] - np.round(corners[0]))  # the same grid, or a crop of it
        shift = float(np.linalg.norm(offset * np.asarray(ct.spacing)))
        if shift > GEOMETRY_TOLERANCE_MM:
            raise _mismatch(f"shifted {shift:.2f} mm off the CT's voxel lattice", own, ct)
    half = 0.5 + GEOMETRY_TOLERANCE_MM / min(ct.spacing)
    if np.any(corners < -half) or np.any(corners > np.asarray(ct.shape) - 1 + half):
        raise _mismatch("reaching outside the CT's field", own, ct)
    # Nearest neighbour only: each CT voxel takes the label of the nearest segmentation voxel.
    axes = [np.arange(n) for n in ct.shape]
    labels = np.zeros(ct.shape, dtype=np.uint8)
    inverse = np.linalg.inv(own.affine) @ ct.affine
    for k in axes[2]:
        ii, jj = np.meshgrid(axes[0], axes[1], indexing="ij")
        points = np.stack([ii.ravel(), jj.ravel(), np.full(ii.size, k), np.ones(ii.size)])
        index = np.rint((inverse @ points)[:3]).astype(np.int64)
        inside = np.all((index >= 0) & (index < np.asarray(own.shape)[:, None]), axis=0)
        plane = np.zeros(ii.size, dtype=np.uint8)
        plane[inside] = label_map.labels[index[0, inside], index[1, inside], index[2, inside]]
        labels[:, :, k] = plane.reshape(ii.shape)
    record = {"method": "nearest neighbour", "from": own.to_json(), "to_shape_ijk": list(ct.shape),
              "reason": ("the same lattice, another extent" if same_spacing
                         else "another grid of the same scan"),
              "review": "the segmentation was resampled onto the CT's grid: review its outline"}
    return LabelMap(labels, ct, label_map.names), record
