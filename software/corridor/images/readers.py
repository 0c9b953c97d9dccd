"""Label maps from files, always with their geometry: NIfTI (RAS converted), NRRD, DICOM SEG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import ImageGeometry
from corridor.images.errors import ImageFileError
from corridor.images.model import LabelMap

__all__ = ["read_label_map"]

_NRRD_SPACES = {"left-posterior-superior": np.diag([1.0, 1.0, 1.0]),
                "right-anterior-superior": np.diag([-1.0, -1.0, 1.0]),
                "LPS": np.diag([1.0, 1.0, 1.0]), "RAS": np.diag([-1.0, -1.0, 1.0])}


def _labels(path: Path, data: NDArray[np.generic]) -> NDArray[np.uint8]:
    if data.ndim != 3:
        raise ImageFileError("dimensions", f"{path}: {data.shape}", "a 3-D label map")
    values = np.asarray(data)
    if not np.issubdtype(values.dtype, np.integer) and (
            not np.all(np.isfinite(values)) or not np.array_equal(values, np.round(values))):
        raise ImageFileError("voxel values", f"{path}: non-integer values", "integer labels")
    if values.min() < 0 or values.max() > 255:
        raise ImageFileError("voxel values", f"{path}: {values.min()}..{values.max()}",
                           "labels from 0 to 255")
    return np.asarray(values, dtype=np.uint8)


def _names(labels: NDArray[np.uint8]) -> tuple[str, ...]:
    return ("background", *(f"label-{n}" for n in range(1, int(labels.max()) + 1)))


def _segment_names(header: dict[str, Any], labels: NDArray[np.uint8]) -> tuple[str, ...] | None:
    """Label names from 3D Slicer's segmentation fields (``Segment<n>_Name`` and
    ``Segment<n>_LabelValue``, one layer); unnamed values keep ``label-<value>``."""
    names = list(_names(labels))
    found = False
    for key, value in header.items():
        if key.startswith("Segment") and key.endswith("_Name"):
            number = key[len("Segment"):-len("_Name")]
            label = header.get(f"Segment{number}_LabelValue")
            if label is None or not str(label).strip().isdigit():
                continue
            index = int(str(label))
            while len(names) <= index:
                names.append(f"label-{len(names)}")
            names[index] = str(value)
            found = True
    return tuple(names) if found else None


def read_label_map(path: Path) -> LabelMap:
    """Read a label map with its geometry (voxel index to LPS mm).

    ``.nii``/``.nii.gz``: the sform (else qform) affine, RAS, converted to LPS.
    ``.nrrd``: ``space directions`` and ``space origin`` in LPS or RAS; label names from
    3D Slicer's ``Segment<n>_Name``/``Segment<n>_LabelValue`` fields where present.
    ``.dcm``: a DICOM Segmentation; segments become labels 1, 2, ... with their
    segment labels as names.

    Raises
    ------
    ImageFileError
        Unknown suffix, unreadable file, missing geometry, not 3-D, or values that
        are not labels from 0 to 255.
    """
    # The readers' libraries load only when a file is read (start-up of every command).
    import highdicom
    import nibabel
    import nrrd

    name = path.name.lower()
    try:
        if name.endswith((".nii", ".nii.gz")):
            image: Any = nibabel.load(path)  # a NIfTI image: dataobj and affine
            labels = _labels(path, np.asanyarray(image.dataobj))
            geometry = ImageGeometry.from_ras_affine(np.asarray(image.affine, np.float64),
                                                     labels.shape)
            return LabelMap(labels, geometry, _names(labels))
        if name.endswith(".nrrd"):
            data, header = nrrd.read(str(path))
            space = header.get("space")
            if space not in _NRRD_SPACES or "space directions" not in header:
                raise ImageFileError("space", f"{path}: {space!r}",
                                   "an LPS or RAS space with space directions and origin")
            flip = _NRRD_SPACES[space]
            affine = np.eye(4)
            affine[:3, :3] = flip @ np.asarray(header["space directions"], float).T
            affine[:3, 3] = flip @ np.asarray(header.get("space origin", [0, 0, 0]), float)
            labels = _labels(path, data)
            return LabelMap(labels, ImageGeometry(affine, labels.shape),
                            _segment_names(header, labels) or _names(labels))
        if name.endswith(".dcm"):
            segmentation = highdicom.seg.segread(path)
            volume = segmentation.get_volume(combine_segments=True)
            labels = _labels(path, volume.array)
            names = ["background"] + [str(item.SegmentLabel)
                                      for item in segmentation.SegmentSequence]
            return LabelMap(labels, ImageGeometry(np.asarray(volume.affine, float),
                                                  labels.shape), tuple(names))
    except ImageFileError:
        raise
    except Exception as exc:  # any reader failure: one clear error naming the file
        raise ImageFileError("file", f"{path}: {type(exc).__name__}: {exc}",
                           "a readable NIfTI, NRRD or DICOM SEG label map") from exc
    raise ImageFileError("suffix", path.name, ".nii, .nii.gz, .nrrd or .dcm (DICOM SEG)")
