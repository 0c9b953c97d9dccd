"""Gridded images other than the CT itself: a label map and a scalar map, each holding the
geometry that places it in the patient, and the protocol every gridded image meets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import GeometryError, ImageGeometry

__all__ = ["GriddedImage", "LabelMap", "ScalarMap"]


class GriddedImage(Protocol):
    """Anything with voxels ``[i, j, k]`` placed by an :class:`~corridor.geometry.ImageGeometry`:
    a CT :class:`~corridor.ingest.Volume`, a :class:`LabelMap`, a :class:`ScalarMap`."""

    @property
    def geometry(self) -> ImageGeometry: ...

    @property
    def voxels(self) -> NDArray[np.generic]: ...


def _check_grid(values: NDArray[Any], geometry: ImageGeometry) -> None:
    if values.ndim != 3 or tuple(values.shape) != geometry.shape:
        raise GeometryError("shape", tuple(values.shape),
                            f"voxels of the geometry's shape {geometry.shape}")


@dataclass(frozen=True, slots=True, eq=False)
class LabelMap:
    """One label per voxel, on a CT's grid (inferred by a model, or read from a file).

    Attributes
    ----------
    labels
        uint8 ``[i, j, k]``, read-only; value ``n`` is ``names[n]`` (0: background).
    geometry
        Where each voxel lies, LPS mm (the CT's own geometry).
    names
        Label names by value.
    """

    labels: NDArray[np.uint8]
    geometry: ImageGeometry
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_grid(self.labels, self.geometry)
        if self.labels.dtype != np.uint8:
            raise GeometryError("dtype", str(self.labels.dtype), "uint8 labels")
        if self.labels.size and int(self.labels.max()) >= len(self.names):
            raise GeometryError("labels", int(self.labels.max()),
                                f"values below {len(self.names)} (the named labels)")
        self.labels.setflags(write=False)

    @property
    def voxels(self) -> NDArray[np.uint8]:
        """The labels, under the name every gridded image uses."""
        return self.labels


@dataclass(frozen=True, slots=True, eq=False)
class ScalarMap:
    """One float32 value per voxel of a grid (an uncertainty map), with what it measures."""

    values: NDArray[np.float32]
    geometry: ImageGeometry
    quantity: str
    """What the values are, with their unit (e.g. ``predictive entropy (nats)``)."""

    def __post_init__(self) -> None:
        _check_grid(self.values, self.geometry)
        self.values.setflags(write=False)

    @property
    def voxels(self) -> NDArray[np.float32]:
        """The values, under the name every gridded image uses."""
        return self.values
