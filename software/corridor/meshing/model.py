"""Value objects of the meshing stage: a triangle surface in patient LPS mm, and its QA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.geometry import GeometryError

__all__ = ["MeshQuality", "Surface"]


@dataclass(frozen=True, slots=True, eq=False)
class Surface:
    """One closed triangle surface of one label, in patient LPS millimetres.

    Attributes
    ----------
    name
        The label's name.
    label
        The label value it was extracted from.
    points
        ``(n, 3)`` float64 vertex positions, LPS mm, read-only.
    triangles
        ``(m, 3)`` int64 vertex indices, counter-clockwise seen from outside (normals
        point out of the structure), read-only.
    """

    name: str
    label: int
    points: NDArray[np.float64]
    triangles: NDArray[np.int64]

    def __post_init__(self) -> None:
        if self.points.ndim != 2 or self.points.shape[1] != 3:
            raise GeometryError("points", self.points.shape, "(n, 3) vertex positions")
        if self.triangles.ndim != 2 or self.triangles.shape[1] != 3:
            raise GeometryError("triangles", self.triangles.shape, "(m, 3) vertex indices")
        if self.triangles.size and (self.triangles.min() < 0
                                    or self.triangles.max() >= len(self.points)):
            raise GeometryError("triangles", "index out of range", "indices of existing points")
        if not np.all(np.isfinite(self.points)):
            raise GeometryError("points", "non-finite value", "finite LPS coordinates")
        self.points.setflags(write=False)
        self.triangles.setflags(write=False)


@dataclass(frozen=True, slots=True)
class MeshQuality:
    """The QA of one surface, computed from its vertices and triangles alone (no VTK).

    Attributes
    ----------
    boundary_edges
        Edges used by one triangle only (0 for a closed surface).
    non_manifold_edges
        Edges used by more than two triangles (0 for a manifold).
    inconsistent_edges
        Edges whose two triangles run along them in the same direction (0 when
        every triangle is wound the same way).
    degenerate_triangles
        Triangles with repeated vertices or an area below 1e-9 mm^2.
    volume_mm3
        Enclosed volume (divergence theorem); positive when the normals point out.
    area_mm2
        Surface area.
    voxel_volume_mm3
        Voxel count of the label times the voxel volume.
    max_distance_mm, mean_distance_mm
        Distance from the vertices to the label's boundary (mm).
    limits
        The limits the surface was checked against.
    """

    boundary_edges: int
    non_manifold_edges: int
    inconsistent_edges: int
    degenerate_triangles: int
    volume_mm3: float
    area_mm2: float
    voxel_volume_mm3: float
    max_distance_mm: float
    mean_distance_mm: float
    limits: dict[str, float]

    @property
    def volume_error(self) -> float:
        """Relative difference of the enclosed volume from the voxel-count volume."""
        if self.voxel_volume_mm3 == 0:
            return float("inf")
        return (self.volume_mm3 - self.voxel_volume_mm3) / self.voxel_volume_mm3

    def failures(self) -> list[str]:
        """What fails the QA gate, each with the value found and the limit (empty: passed)."""
        found = []
        for name in ("boundary_edges", "non_manifold_edges", "inconsistent_edges",
                     "degenerate_triangles"):
            value = getattr(self, name)
            if value:
                found.append(f"{name.replace('_', ' ')}: {value} (expected 0)")
        if self.volume_mm3 <= 0:
            found.append(f"enclosed volume {self.volume_mm3:.3f} mm^3 (expected > 0: "
                         "normals pointing out)")
        if abs(self.volume_error) > self.limits["volume_error"]:
            found.append(f"volume {self.volume_mm3:.1f} mm^3 differs from the voxel volume "
                         f"{self.voxel_volume_mm3:.1f} mm^3 by {self.volume_error:+.2%} "
                         f"(limit {self.limits['volume_error']:.0%})")
        if self.max_distance_mm > self.limits["max_distance_mm"]:
            found.append(f"a vertex lies {self.max_distance_mm:.3f} mm from the label boundary "
                         f"(limit {self.limits['max_distance_mm']:.3f} mm, one voxel diagonal)")
        return found

    @property
    def passed(self) -> bool:
        """Whether the surface passes every QA check."""
        return not self.failures()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, with the verdict and the failures."""
        return {
            "passed": self.passed, "failures": self.failures(),
            "boundary_edges": self.boundary_edges, "non_manifold_edges": self.non_manifold_edges,
            "inconsistent_edges": self.inconsistent_edges,
            "degenerate_triangles": self.degenerate_triangles,
            "volume_mm3": round(self.volume_mm3, 3), "area_mm2": round(self.area_mm2, 3),
            "voxel_volume_mm3": round(self.voxel_volume_mm3, 3),
            "volume_error": round(self.volume_error, 6),
            "max_distance_to_label_boundary_mm": round(self.max_distance_mm, 4),
            "mean_distance_to_label_boundary_mm": round(self.mean_distance_mm, 4),
            "limits": self.limits,
        }

