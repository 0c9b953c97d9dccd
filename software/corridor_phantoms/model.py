"""Value objects of the phantom generator: a phantom, and a series written from it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import ImageGeometry
from corridor_phantoms.errors import PhantomError

__all__ = ["HU_MAX", "HU_MIN", "PADDING_HU", "Phantom", "SeriesWritten"]

HU_MIN = -1024
"""Lowest HU an anatomy voxel takes (noise is clipped here)."""

HU_MAX = 3071
"""Highest HU an anatomy voxel takes (noise is clipped here)."""

PADDING_HU = -3024
"""HU of every voxel outside the reconstruction field of view: the stored Pixel Padding
Value (-2000) through the rescale (intercept -1024).  No anatomy voxel takes it."""


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _readonly(array: NDArray[Any]) -> None:
    array.setflags(write=False)


@dataclass(frozen=True, slots=True, eq=False)
class Phantom:
    """A synthetic CT volume and its exact ground truth.

    Valid once constructed: ``hu`` is int16 and ``labels`` uint8, both shaped
    like the geometry; both are made read-only (not copied); the manifest is
    checked to be JSON (no NaN) and frozen.

    Attributes
    ----------
    hu
        HU per voxel, indexed ``[i, j, k]`` (column, row, slice): exactly what the
        written DICOM encodes.  Voxels outside the reconstruction field of view
        hold :data:`PADDING_HU`, a value no anatomy voxel takes.
    labels
        Label per voxel, ``[i, j, k]``, decided at the voxel centre
        (``geometry.index_to_lps``) from the analytic anatomy.  Labels are anatomy,
        so they are set outside the field of view too.
    geometry
        Where each voxel lies (LPS mm), with the Frame of Reference UID.
    manifest
        Read-only description: kind, seed, request, label names and HU, the
        anatomy's solids in LPS mm, geometry, noise and padding.
        :meth:`to_json` gives a plain copy.
    """

    hu: NDArray[np.int16]
    labels: NDArray[np.uint8]
    geometry: ImageGeometry
    manifest: Mapping[str, Any]

    def __post_init__(self) -> None:
        for name, array, dtype in (("hu", self.hu, np.int16), ("labels", self.labels, np.uint8)):
            if not isinstance(array, np.ndarray) or array.dtype != dtype:
                found = getattr(array, "dtype", type(array).__name__)
                raise PhantomError(name, str(found), f"a numpy {np.dtype(dtype).name} array")
            if array.shape != self.geometry.shape:
                raise PhantomError(name, array.shape,
                                   f"the geometry's shape {self.geometry.shape} (i, j, k)")
        try:
            text = json.dumps(_thaw(self.manifest), allow_nan=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise PhantomError("manifest", type(self.manifest).__name__,
                               "JSON-serialisable values without NaN") from exc
        _readonly(self.hu)
        _readonly(self.labels)
        object.__setattr__(self, "manifest", _freeze(json.loads(text)))

    @property
    def padding(self) -> NDArray[np.bool_]:
        """Voxels outside the reconstruction field of view (``hu == PADDING_HU``), ``[i, j, k]``."""
        return np.asarray(self.hu == PADDING_HU)

    def to_json(self) -> dict[str, Any]:
        """The manifest as plain, mutable, JSON-ready dicts and lists."""
        result: dict[str, Any] = _thaw(self.manifest)
        return result


@dataclass(frozen=True, slots=True)
class SeriesWritten:
    """What :func:`~corridor_phantoms.write_series` put on disk.

    Attributes
    ----------
    out_dir
        The output folder: ``dicom/`` and ``truth/`` under it.
    paths
        Every file written under ``dicom/``, sorted by name.
    slice_paths
        The files of the series' images in slice order (one multi-frame file
        when enhanced), excluding fault extras (duplicate, localizer, other series).
    series_instance_uid
        Series Instance UID of the phantom's series.
    sop_instance_uids
        SOP Instance UIDs of ``slice_paths``, in the same order.
    slices
        Slice index ``k`` (into the ground truth) of each written slice or frame,
        in slice order; a ``missing-slice`` fault shows as a gap, ``variable-spacing`` as
        steps of 4 and then 7.
    phantom
        The phantom written (differs from the one given when ``gantry-tilt``
        had to tilt it or ``variable-spacing`` made its k grid finer); its arrays
        are the ground truth.
    manifest
        The manifest written to ``truth/manifest.json``: the phantom's, plus
        ``series`` (UIDs, transfer syntax, files) and ``faults`` (what each did).
    """

    out_dir: Path
    paths: tuple[Path, ...]
    slice_paths: tuple[Path, ...]
    series_instance_uid: str
    sop_instance_uids: tuple[str, ...]
    slices: tuple[int, ...]
    phantom: Phantom
    manifest: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "manifest", _freeze(_thaw(self.manifest)))
