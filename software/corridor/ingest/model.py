"""Value objects the ingest stage returns."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import GeometryError, ImageGeometry
from corridor.ingest.enum import RegularizationReason, SetAsideReason, SkipReason, WarningCode
from corridor.ingest.errors import RegularizationInputError

__all__ = ["IngestWarning", "Regularization", "SeriesDisplay", "SeriesSummary", "SkippedFile",
           "SourceFile", "Volume"]


@dataclass(frozen=True, slots=True)
class SeriesDisplay:
    """Patient and study fields of a series, for display to the clinician only.

    Shown in the case report so the surgeon can confirm the patient; never logged, never
    written into a record (the ``repr`` hides them).  Empty strings where the files have
    none (anonymised series).
    """

    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    series_description: str = ""

    def __repr__(self) -> str:
        return "SeriesDisplay(<patient fields not shown>)"


@dataclass(frozen=True, slots=True)
class IngestWarning:
    """A tolerable deviation, kept with the volume and written into its provenance.

    Messages name files, tags and values, never patient-identifying data.
    """

    code: WarningCode
    message: str

    def to_json(self) -> dict[str, str]:
        """``{"code": ..., "message": ...}``."""
        return {"code": self.code.value, "message": self.message}


@dataclass(frozen=True, slots=True)
class Regularization:
    """How a tilted or unevenly spaced series was resampled onto a regular grid.

    Kept with the volume and written into its provenance, so that a resampled volume is
    never taken for acquired data.  Valid once constructed (every number finite, the
    spacing and shape positive, at least two acquired slices in increasing order).

    Attributes
    ----------
    reasons
        Why the series needed it (empty when it was already regular).
    method
        The interpolation, in words.
    tilt_deg
        Angle (degrees) between the stacking direction (first to last slice) and the
        slice normal; ``0`` for slices stacked along their normal.
    source_slice_positions_mm
        Position of each acquired slice along the slice normal (Image Position (Patient)
        projected on it, mm), in slice order.
    output_spacing_mm
        Voxel spacing of the regular grid along i, j and k (mm).
    output_shape
        Voxels of the regular grid along i, j and k.
    largest_displacement_mm
        How far (mm) the naive regular stack (the first slice, then one mean slice gap
        along the normal per slice) would misplace a voxel centre: the size of the
        correction.
    fill_hu
        HU given to the voxels outside the acquired region, which are also marked as padding.
    """

    reasons: tuple[RegularizationReason, ...]
    method: str
    tilt_deg: float
    source_slice_positions_mm: tuple[float, ...]
    output_spacing_mm: tuple[float, float, float]
    output_shape: tuple[int, int, int]
    largest_displacement_mm: float
    fill_hu: float

    def __post_init__(self) -> None:
        if not all(isinstance(r, RegularizationReason) for r in self.reasons):
            raise RegularizationInputError("reasons", self.reasons,
                                           "RegularizationReason members")
        numbers = (self.tilt_deg, self.largest_displacement_mm, self.fill_hu,
                   *self.source_slice_positions_mm, *self.output_spacing_mm)
        if not all(math.isfinite(v) for v in numbers):
            raise RegularizationInputError("regularization", numbers, "finite numbers")
        positions = self.source_slice_positions_mm
        if len(positions) < 2 or any(b <= a for a, b in itertools.pairwise(positions)):
            raise RegularizationInputError("source_slice_positions_mm", positions,
                                           "two or more increasing positions")
        if len(self.output_spacing_mm) != 3 or min(self.output_spacing_mm) <= 0:
            raise RegularizationInputError("output_spacing_mm", self.output_spacing_mm,
                                           "three spacings above 0 mm")
        if len(self.output_shape) != 3 or min(self.output_shape) < 1:
            raise RegularizationInputError("output_shape", self.output_shape,
                                           "three positive voxel counts")
        if self.largest_displacement_mm < 0:
            raise RegularizationInputError("largest_displacement_mm",
                                           self.largest_displacement_mm, "0 mm or more")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, for the volume's provenance."""
        return {
            "reasons": [r.value for r in self.reasons],
            "method": self.method,
            "tilt_deg": self.tilt_deg,
            "source_slice_positions_mm": list(self.source_slice_positions_mm),
            "output_spacing_mm": list(self.output_spacing_mm),
            "output_shape": list(self.output_shape),
            "largest_displacement_mm": self.largest_displacement_mm,
            "fill_hu": self.fill_hu,
        }


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file under the input path that is not an image of any series, and why."""

    path: str
    reason: SkipReason
    detail: str
    series_instance_uid: str | None = None
    """For an ``unreadable`` DICOM file: the Series Instance UID (0020,000E) its header names,
    read whole and well formed, or ``None`` when the damage leaves it unknown (then the file
    may be an image of any series found)."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file used to build a volume: where it is, its SOP Instance UID and SHA-256."""

    path: str
    sop_instance_uid: str
    sha256: str


@dataclass(frozen=True, slots=True)
class SeriesSummary:
    """One series found under the input path, as ``corridor ingest`` lists it."""

    series_instance_uid: str
    modality: str
    description: str
    images: int
    orientation: str
    """Coarse orientation of the first image: axial, coronal, sagittal or oblique."""
    slice_thickness_mm: float | None = None
    """Slice Thickness (0018,0050) of the first image, mm (``None`` when absent)."""
    convolution_kernel: str = ""
    """Convolution Kernel (0018,1210) of the first image (the reconstruction filter)."""
    set_aside: SetAsideReason | None = None
    """Why the series is not a candidate volume, or ``None`` for a volumetric CT series."""
    files: tuple[str, ...] = ()
    """The series' files, sorted."""

    def label(self) -> str:
        """One line a user can choose a series by: description, images, thickness, kernel."""
        thickness = (f"{self.slice_thickness_mm:g} mm slices"
                     if self.slice_thickness_mm is not None else "slice thickness not stated")
        kernel = f"kernel {self.convolution_kernel}" if self.convolution_kernel else "no kernel"
        return (f"{self.series_instance_uid} ('{self.description or 'no description'}', "
                f"{self.modality or 'no modality'}, {self.images} images, {self.orientation}, "
                f"{thickness}, {kernel})")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "series_instance_uid": self.series_instance_uid,
            "modality": self.modality,
            "description": self.description,
            "images": self.images,
            "orientation": self.orientation,
            "slice_thickness_mm": self.slice_thickness_mm,
            "convolution_kernel": self.convolution_kernel,
            "set_aside": self.set_aside.value if self.set_aside is not None else None,
        }


@dataclass(frozen=True, slots=True, eq=False)
class Volume:
    """A CT volume in Hounsfield units, placed in the patient by its geometry.

    Attributes
    ----------
    hu
        Voxel values in HU, indexed ``[i, j, k]`` (column, row, slice), read-only.
        Stored so that ``i`` varies fastest in memory (NIfTI order).
    geometry
        Where each voxel lies, LPS mm.
    series_instance_uid
        The series the volume was built from.
    sources
        The files used, in slice order (k = 0 first; for a regularised volume, the acquired
        slices in their order along the normal).
    warnings
        Tolerable deviations found while loading.
    display
        Patient and study fields for the clinician's eyes only (:class:`SeriesDisplay`).
    padding_packed
        Bit-packed mask (``numpy.packbits`` over the voxels in memory order) of the
        voxels whose stored value was the Pixel Padding Value, or ``None`` when the
        series declares no padding.  Packed so that the mask costs 1/16 of an int16
        volume; :meth:`padding_mask` unpacks it.
    """

    hu: NDArray[np.generic]
    geometry: ImageGeometry
    series_instance_uid: str
    sources: tuple[SourceFile, ...]
    warnings: tuple[IngestWarning, ...] = field(default=())
    padding_packed: NDArray[np.uint8] | None = None
    display: SeriesDisplay = field(default_factory=SeriesDisplay)
    """Patient and study fields for display only (from the first image; never logged)."""
    not_hounsfield: str | None = None
    """Why the voxel values are not CT Hounsfield units (the tag and value), or ``None`` when
    they are.  Such a volume may be inspected and exported but never segmented."""
    regularization: Regularization | None = None
    """How a tilted or unevenly spaced series was resampled onto this regular grid
    (``--regularize``), or ``None`` for the acquired grid.  When set, :attr:`sources` are the
    acquired slices in their order along the normal, not the volume's k planes."""

    def __post_init__(self) -> None:
        if self.hu.ndim != 3 or tuple(self.hu.shape) != self.geometry.shape:
            raise GeometryError("shape", tuple(self.hu.shape),
                                f"voxels of the geometry's shape {self.geometry.shape}")
        if not self.hu.T.flags.c_contiguous:
            raise GeometryError("shape", "memory order of hu",
                                "i varying fastest (hu.T C-contiguous)")
        expected_bytes = (self.hu.size + 7) // 8
        if self.padding_packed is not None and self.padding_packed.size != expected_bytes:
            raise GeometryError("shape", self.padding_packed.size,
                                f"a packed padding mask of {expected_bytes} bytes")
        self.hu.setflags(write=False)
        if self.padding_packed is not None:
            self.padding_packed.setflags(write=False)

    @property
    def voxels(self) -> NDArray[np.generic]:
        """The HU (:attr:`hu`), under the name every gridded image uses."""
        return self.hu

    @staticmethod
    def pack_padding(mask: NDArray[np.bool_]) -> NDArray[np.uint8]:
        """Pack a ``[i, j, k]`` padding mask the way :attr:`padding_packed` stores it."""
        return np.packbits(np.ascontiguousarray(mask.T).reshape(-1))

    def padding_mask(self) -> NDArray[np.bool_] | None:
        """The padding mask, ``[i, j, k]``, unpacked (``None`` if the series has none)."""
        if self.padding_packed is None:
            return None
        bits = np.unpackbits(self.padding_packed, count=self.hu.size).astype(bool)
        return bits.reshape(self.hu.shape[::-1]).T

    def padding_slice(self, k: int) -> NDArray[np.bool_] | None:
        """The padding mask of slice ``k``, ``(j, i)`` like ``hu.T[k]`` (``None`` if none).

        Unpacks only that slice's bits, so that a caller going slice by slice never
        holds the whole mask.
        """
        if self.padding_packed is None:
            return None
        columns, rows, _ = self.hu.shape
        first, count = k * rows * columns, rows * columns
        start, stop = first // 8, (first + count + 7) // 8
        bits = np.unpackbits(self.padding_packed[start:stop])[first - 8 * start:][:count]
        return bits.astype(bool).reshape(rows, columns)

    def hu_range(self) -> tuple[float, float]:
        """Smallest and largest HU of the non-padding voxels (NaN if there are none).

        Computed slice by slice so that no full-size temporary (not even the whole
        padding mask) is allocated.
        """
        low, high = np.inf, -np.inf
        stack = self.hu.T  # (k, j, i), C-contiguous
        for k in range(stack.shape[0]):
            padding = self.padding_slice(k)
            values = stack[k] if padding is None else stack[k][~padding]
            if values.size:
                low, high = min(low, float(values.min())), max(high, float(values.max()))
        if low > high:
            return (float("nan"), float("nan"))
        return (low, high)

    def to_json(self) -> dict[str, Any]:
        """The ``volume`` object of ``corridor ingest --json``."""
        hu_min, hu_max = self.hu_range()
        padding = self.padding_mask()
        return {
            "series_instance_uid": self.series_instance_uid,
            **self.geometry.to_json(),
            "dtype": str(self.hu.dtype),
            "hu_min": hu_min,
            "hu_max": hu_max,
            "padding_voxels": int(padding.sum()) if padding is not None else 0,
            "hounsfield": self.not_hounsfield is None,
            "not_hounsfield": self.not_hounsfield,
            "regularization": (self.regularization.to_json()
                               if self.regularization is not None else None),
            "warnings": [w.to_json() for w in self.warnings],
            "sources": [
                {"path": s.path, "sop_instance_uid": s.sop_instance_uid, "sha256": s.sha256}
                for s in self.sources
            ],
        }
