"""Anatomy defined analytically in patient LPS millimetres.

Every structure is a solid given by a signed distance function (mm, negative
inside, positive outside): spheres, capsules, rounded boxes, ellipsoids,
cylinders, and their unions, intersections and differences.  A point belongs to
a solid when its value is ``<= 0``.  Labels are decided point by point from these
functions, so any grid (spacing, orientation, patient position, shear) sampling
the same patient point gets the same label: the phantoms are oracles because the
anatomy does not depend on the grid.

Bone has a cortical shell: the points of a bone whose value lies in
``(-t, 0]`` (``t`` the cortical thickness) are cortical, deeper ones cancellous.
For the primitives the value is the exact Euclidean distance, so the shell is
exactly ``t`` thick; where bones are combined (``min``, ``max``) it is a bound,
and the definition above, not the distance, is the ground truth.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from corridor_phantoms.enum import Label, PhantomKind

__all__ = [
    "ANATOMY_CENTRE_LPS_MM",
    "AnatomicalLandmark",
    "Anatomy",
    "Capsule",
    "Cylinder",
    "Difference",
    "Ellipsoid",
    "EllipticCylinder",
    "HalfSpace",
    "Intersection",
    "RoundedBox",
    "SlicePlane",
    "Solid",
    "Sphere",
    "Tissue",
    "build_anatomy",
    "rotation",
]

FloatArray = NDArray[np.float64]
Vector = tuple[float, float, float]

ANATOMY_CENTRE_LPS_MM: Vector = (12.5, 30.0, -180.0)
"""Patient LPS position (mm) of the centre of every phantom's anatomy; the grid is centred on it.
Deliberately off the origin, so that a reader ignoring Image Position (Patient) is caught."""

CORTICAL_THICKNESS_MM = 2.0
"""Thickness of the cortical shell of every bone (mm)."""

_INFINITE_RADIUS = math.inf

_CULLING_MARGIN_MM = 1e-6
"""Added to bounding radii when skipping solids, so rounding cannot skip a point on a surface."""


def _floats(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _unit(vector: ArrayLike) -> Vector:
    array = np.asarray(vector, dtype=np.float64)
    array = array / np.linalg.norm(array)
    return (float(array[0]), float(array[1]), float(array[2]))


def _add(a: Sequence[float], b: Sequence[float]) -> Vector:
    return (float(a[0] + b[0]), float(a[1] + b[1]), float(a[2] + b[2]))


def rotation(axis: ArrayLike, angle_deg: float) -> FloatArray:
    """3x3 rotation by ``angle_deg`` about ``axis`` (right-hand rule, Rodrigues' formula)."""
    x, y, z = _unit(axis)
    cross = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    angle = math.radians(angle_deg)
    return _floats(np.eye(3) + math.sin(angle) * cross
                   + (1.0 - math.cos(angle)) * (cross @ cross))


def _columns(matrix: FloatArray) -> tuple[Vector, Vector, Vector]:
    return (
        (float(matrix[0, 0]), float(matrix[1, 0]), float(matrix[2, 0])),
        (float(matrix[0, 1]), float(matrix[1, 1]), float(matrix[2, 1])),
        (float(matrix[0, 2]), float(matrix[1, 2]), float(matrix[2, 2])),
    )


def _rounded(vector: Sequence[float]) -> list[float]:
    """Plain floats for JSON (full precision: the manifest is the oracle)."""
    return [float(v) for v in vector]


class Solid(ABC):
    """A region of the patient, given by a signed distance function in LPS mm."""

    name: str

    @abstractmethod
    def sdf(self, points: FloatArray) -> FloatArray:
        """Signed distance (mm) of ``(N, 3)`` LPS points: ``<= 0`` inside."""

    @abstractmethod
    def bounding_sphere(self) -> tuple[Vector, float]:
        """Centre (LPS mm) and radius (mm) of a sphere holding the whole solid."""

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The solid's type and parameters, in LPS mm."""


@dataclass(frozen=True, slots=True)
class Sphere(Solid):
    """A ball: ``|p - centre| <= radius``."""

    name: str
    centre: Vector
    radius: float

    def sdf(self, points: FloatArray) -> FloatArray:
        """Exact signed distance."""
        return _floats(np.linalg.norm(points - np.asarray(self.centre), axis=-1) - self.radius)

    def bounding_sphere(self) -> tuple[Vector, float]:
        """The sphere itself."""
        return self.centre, self.radius

    def to_json(self) -> dict[str, Any]:
        """``centre_lps_mm``, ``radius_mm`` and the exact ``volume_mm3``."""
        return {"type": "sphere", "name": self.name, "centre_lps_mm": _rounded(self.centre),
                "radius_mm": self.radius, "volume_mm3": 4.0 / 3.0 * math.pi * self.radius**3}


@dataclass(frozen=True, slots=True)
class Capsule(Solid):
    """All points within ``radius`` of the segment ``start``-``end``."""

    name: str
    start: Vector
    end: Vector
    radius: float

    def sdf(self, points: FloatArray) -> FloatArray:
        """Exact signed distance."""
        a = np.asarray(self.start)
        ab = np.asarray(self.end) - a
        ap = points - a
        t = np.clip(ap @ ab / float(ab @ ab), 0.0, 1.0)
        return _floats(np.linalg.norm(ap - t[:, None] * ab, axis=-1) - self.radius)

    def bounding_sphere(self) -> tuple[Vector, float]:
        """Centred on the segment's midpoint."""
        half = 0.5 * float(np.linalg.norm(np.subtract(self.end, self.start)))
        return _midpoint(self.start, self.end), half + self.radius

    def to_json(self) -> dict[str, Any]:
        """Segment ends (LPS mm) and radius (mm)."""
        return {"type": "capsule", "name": self.name, "start_lps_mm": _rounded(self.start),
                "end_lps_mm": _rounded(self.end), "radius_mm": self.radius}


def _midpoint(a: Sequence[float], b: Sequence[float]) -> Vector:
    return (0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1]), 0.5 * (a[2] + b[2]))


def _local(points: FloatArray, centre: Vector, axes: tuple[Vector, Vector, Vector]) -> FloatArray:
    """Coordinates of LPS points in the frame ``centre`` + columns ``axes`` (orthonormal)."""
    return _floats((points - np.asarray(centre)) @ np.asarray(axes).T)


@dataclass(frozen=True, slots=True)
class RoundedBox(Solid):
    """A box (half extents along three orthonormal ``axes``) grown by ``rounding`` mm."""

    name: str
    centre: Vector
    axes: tuple[Vector, Vector, Vector]
    half_extents: Vector
    rounding: float

    def sdf(self, points: FloatArray) -> FloatArray:
        """Exact signed distance."""
        q = np.abs(_local(points, self.centre, self.axes)) - np.asarray(self.half_extents)
        outside = np.linalg.norm(np.maximum(q, 0.0), axis=-1)
        inside = np.minimum(np.max(q, axis=-1), 0.0)
        return _floats(outside + inside - self.rounding)

    def bounding_sphere(self) -> tuple[Vector, float]:
        """Centred on the box."""
        return self.centre, float(np.linalg.norm(self.half_extents)) + self.rounding

    def to_json(self) -> dict[str, Any]:
        """Centre, axes (unit vectors, LPS), half extents and rounding (mm)."""
        return {"type": "rounded-box", "name": self.name, "centre_lps_mm": _rounded(self.centre),
                "axes_lps": [_rounded(a) for a in self.axes],
                "half_extents_mm": _rounded(self.half_extents), "rounding_mm": self.rounding}


@dataclass(frozen=True, slots=True)
class Ellipsoid(Solid):
    """``sum((u_n / a_n)^2) <= 1`` for coordinates ``u`` along orthonormal ``axes``.

    The value returned is exact in sign (so labels are exact) and a scaled
    algebraic distance elsewhere.
    """

    name: str
    centre: Vector
    axes: tuple[Vector, Vector, Vector]
    semi_axes: Vector

    def sdf(self, points: FloatArray) -> FloatArray:
        """Sign-exact value: ``(|u / a| - 1) * min(a)``."""
        u = _local(points, self.centre, self.axes) / np.asarray(self.semi_axes)
        return _floats((np.linalg.norm(u, axis=-1) - 1.0) * min(self.semi_axes))

    def bounding_sphere(self) -> tuple[Vector, float]:
        """Radius the longest semi-axis."""
        return self.centre, max(self.semi_axes)

    def to_json(self) -> dict[str, Any]:
        """Centre, axes (unit vectors, LPS), semi-axes (mm) and the exact ``volume_mm3``."""
        a, b, c = self.semi_axes
        return {"type": "ellipsoid", "name": self.name, "centre_lps_mm": _rounded(self.centre),
                "axes_lps": [_rounded(v) for v in self.axes],
                "semi_axes_mm": list(self.semi_axes), "volume_mm3": 4.0 / 3.0 * math.pi * a * b * c}


@dataclass(frozen=True, slots=True)
class Cylinder(Solid):
    """A capped cylinder: radial distance from the axis ``<= radius``, axial ``<= half_length``."""

    name: str
    centre: Vector
    axis: Vector
    radius: float
    half_length: float

    def sdf(self, points: FloatArray) -> FloatArray:
        """Exact signed distance."""
        relative = points - np.asarray(self.centre)
        axial = relative @ np.asarray(self.axis)
        radial = np.linalg.norm(relative - axial[:, None] * np.asarray(self.axis), axis=-1)
        d_radial = radial - self.radius
        d_axial = np.abs(axial) - self.half_length
        outside = np.hypot(np.maximum(d_radial, 0.0), np.maximum(d_axial, 0.0))
        return _floats(outside + np.minimum(np.maximum(d_radial, d_axial), 0.0))

    def bounding_sphere(self) -> tuple[Vector, float]:
        """Centred on the cylinder."""
        return self.centre, math.hypot(self.radius, self.half_length)

    def to_json(self) -> dict[str, Any]:
        """Centre, axis (unit, LPS), radius, half length (mm) and the exact ``volume_mm3``."""
        return {"type": "cylinder", "name": self.name, "centre_lps_mm": _rounded(self.centre),
                "axis_lps": _rounded(self.axis), "radius_mm": self.radius,
                "half_length_mm": self.half_length,
                "volume_mm3": math.pi * self.radius**2 * 2.0 * self.half_length}


@dataclass(frozen=True, slots=True)
class EllipticCylinder(Solid):
    """Unbounded along z: ``((x - cx) / a)^2 + ((y - cy) / b)^2 <= 1``; sign-exact value."""

    name: str
    centre: Vector
    semi_axes: tuple[float, float]

    def sdf(self, points: FloatArray) -> FloatArray:
        """Sign-exact value: ``(|(dx / a, dy / b)| - 1) * min(a, b)``."""
        a, b = self.semi_axes
        u = (points[:, 0] - self.centre[0]) / a
        v = (points[:, 1] - self.centre[1]) / b
        return _floats((np.hypot(u, v) - 1.0) * min(a, b))

    def bounding_sphere(self) -> tuple[Vector, float]:
        """Unbounded."""
        return self.centre, _INFINITE_RADIUS

    def to_json(self) -> dict[str, Any]:
        """Axis position (LPS mm, z unused) and semi-axes along x and y (mm)."""
        return {"type": "elliptic-cylinder-z", "name": self.name,
                "centre_lps_mm": _rounded(self.centre), "semi_axes_xy_mm": list(self.semi_axes)}


@dataclass(frozen=True, slots=True)
class HalfSpace(Solid):
    """``normal · (p - point) <= 0`` (``normal`` a unit vector): exact signed distance."""

    name: str
    point: Vector
    normal: Vector

    def sdf(self, points: FloatArray) -> FloatArray:
        """Exact signed distance to the plane."""
        return _floats((points - np.asarray(self.point)) @ np.asarray(self.normal))

    def bounding_sphere(self) -> tuple[Vector, float]:
        """Unbounded."""
        return self.point, _INFINITE_RADIUS

    def to_json(self) -> dict[str, Any]:
        """A point on the plane and its outward unit normal (LPS)."""
        return {"type": "half-space", "name": self.name, "point_lps_mm": _rounded(self.point),
                "outward_normal_lps": _rounded(self.normal)}


@dataclass(frozen=True, slots=True)
class Intersection(Solid):
    """Points inside every part (value: the maximum)."""

    name: str
    parts: tuple[Solid, ...]

    def sdf(self, points: FloatArray) -> FloatArray:
        """Maximum of the parts' values."""
        return _floats(np.max(np.stack([p.sdf(points) for p in self.parts]), axis=0))

    def bounding_sphere(self) -> tuple[Vector, float]:
        """The smallest of the parts' bounding spheres."""
        return min((p.bounding_sphere() for p in self.parts), key=lambda s: s[1])

    def to_json(self) -> dict[str, Any]:
        """The parts."""
        return {"type": "intersection", "name": self.name,
                "parts": [p.to_json() for p in self.parts]}


@dataclass(frozen=True, slots=True)
class Difference(Solid):
    """Points inside ``base`` and not inside ``cut`` (value: ``max(base, -cut)``)."""

    name: str
    base: Solid
    cut: Solid

    def sdf(self, points: FloatArray) -> FloatArray:
        """``max(base, -cut)``."""
        return _floats(np.maximum(self.base.sdf(points), -self.cut.sdf(points)))

    def bounding_sphere(self) -> tuple[Vector, float]:
        """The base's bounding sphere."""
        return self.base.bounding_sphere()

    def to_json(self) -> dict[str, Any]:
        """Base and cut."""
        return {"type": "difference", "name": self.name, "base": self.base.to_json(),
                "cut": self.cut.to_json()}


@dataclass(frozen=True, slots=True)
class AnatomicalLandmark:
    """A named point of the anatomy (LPS mm), with the radius of the sphere it centres, if any.

    Written to ``truth/landmarks.json`` in the format ``corridor plan-trajectory
    --landmarks`` reads: exact, as a surgeon's sphere fit of a femoral head would be.
    """

    name: str
    centre: Vector
    radius: float | None = None

    def to_json(self) -> dict[str, Any]:
        """``name``, ``centre_lps_mm`` and ``radius_mm``."""
        return {"name": self.name, "centre_lps_mm": _rounded(self.centre),
                "radius_mm": self.radius}


@dataclass(frozen=True, slots=True)
class Tissue:
    """One label: its value, name and the HU it is filled with."""

    label: int
    name: str
    hu: int


_ANATOMICAL_TISSUES = (
    Tissue(Label.BACKGROUND, "air", -1000),
    Tissue(Label.SOFT_TISSUE, "soft-tissue", 40),
    Tissue(Label.CORTICAL_BONE, "cortical-bone", 1200),
    Tissue(Label.CANCELLOUS_BONE, "cancellous-bone", 250),
    Tissue(Label.VESSEL, "vessel", 300),
)
_ANALYTIC_TISSUES = (Tissue(0, "background", 0), Tissue(1, "object", 1000))


@dataclass(frozen=True, slots=True)
class SlicePlane:
    """The voxel centres of one slice: ``corner + u * step_i + v * step_j`` for integer u, v.

    Attributes
    ----------
    corner
        LPS mm of voxel ``(0, 0, k)``.
    step_i, step_j
        LPS mm of one voxel step along i and along j.
    size
        Voxels along i and j.
    """

    corner: FloatArray
    step_i: FloatArray
    step_j: FloatArray
    size: tuple[int, int]

    def points(self, i: slice, j: slice) -> FloatArray:
        """LPS mm of the voxel centres of the block ``[i, j]``, shape ``(n_i * n_j, 3)``."""
        u = np.arange(self.size[0], dtype=np.float64)[i]
        v = np.arange(self.size[1], dtype=np.float64)[j]
        block = (self.corner + u[:, None, None] * self.step_i + v[None, :, None] * self.step_j)
        return block.reshape(-1, 3)

    def block_around(self, solid: Solid) -> tuple[slice, slice] | None:
        """The index block of this slice that can hold points of ``solid``; ``None`` if none can.

        Uses the solid's bounding sphere: its disc in the plane, boxed in index
        space (exact for sheared in-plane axes too, through the inverse Gram matrix).
        """
        centre, radius = solid.bounding_sphere()
        if math.isinf(radius):
            return slice(None), slice(None)
        normal = np.cross(self.step_i, self.step_j)
        normal /= np.linalg.norm(normal)
        offset = np.asarray(centre) - self.corner
        distance = float(offset @ normal)
        reach = radius + _CULLING_MARGIN_MM
        if abs(distance) > reach:
            return None
        disc = math.sqrt(reach * reach - distance * distance)
        basis = np.column_stack([self.step_i, self.step_j])
        gram_inverse = np.linalg.inv(basis.T @ basis)
        middle = gram_inverse @ (basis.T @ offset)
        half = disc * np.sqrt(np.diag(gram_inverse))
        low = np.floor(middle - half).astype(int)
        high = np.ceil(middle + half).astype(int) + 1
        i0, j0 = max(0, int(low[0])), max(0, int(low[1]))
        i1, j1 = min(self.size[0], int(high[0])), min(self.size[1], int(high[1]))
        if i0 >= i1 or j0 >= j1:
            return None
        return slice(i0, i1), slice(j0, j1)


def _union_sdf(parts: Sequence[Solid], plane: SlicePlane) -> FloatArray | None:
    """Minimum over the parts, each evaluated only on its block (``+inf`` elsewhere), ``[i, j]``;
    ``None`` when no part reaches the slice."""
    result: FloatArray | None = None
    for part in parts:
        block = plane.block_around(part)
        if block is None:
            continue
        if result is None:
            result = np.full(plane.size, np.inf)
        values = part.sdf(plane.points(*block)).reshape(result[block].shape)
        np.minimum(result[block], values, out=result[block])
    return result


@dataclass(frozen=True, slots=True)
class Anatomy:
    """The solids of one phantom and the labels and HU they are filled with.

    Labels are decided in this order, later ones winning: background, ``body``
    (soft tissue), ``bones`` (cortical shell, then cancellous core), ``vessels``;
    for the analytic shapes, ``objects`` (label 1) in the background.

    Attributes
    ----------
    kind
        The phantom kind.
    centre
        LPS mm point the anatomy is built around (the grid is centred on it).
    tissues
        Label value, name and HU of every label.
    body, bones, vessels, objects
        The solids.
    cortical_thickness_mm
        Thickness of the bones' cortical shell.
    """

    kind: PhantomKind
    centre: Vector
    tissues: tuple[Tissue, ...]
    body: Solid | None = None
    bones: tuple[Solid, ...] = ()
    vessels: tuple[Solid, ...] = ()
    objects: tuple[Solid, ...] = ()
    cortical_thickness_mm: float = CORTICAL_THICKNESS_MM
    landmarks: tuple[AnatomicalLandmark, ...] = ()

    def hu_lookup(self) -> NDArray[np.int16]:
        """Array mapping a label value to its HU."""
        table = np.zeros(max(t.label for t in self.tissues) + 1, dtype=np.int16)
        for tissue in self.tissues:
            table[tissue.label] = tissue.hu
        return table

    def label_slice(self, plane: SlicePlane) -> NDArray[np.uint8]:
        """Labels of the voxel centres of one slice, ``[i, j]``.

        Each solid is evaluated only on the block of the slice its bounding sphere
        reaches, which is what makes slice-wise evaluation fast; the result is the
        same as evaluating every solid everywhere.
        """
        labels = np.zeros(plane.size, dtype=np.uint8)
        if self.body is not None:
            inside = self.body.sdf(plane.points(slice(None), slice(None))) <= 0.0
            labels[inside.reshape(plane.size)] = Label.SOFT_TISSUE
        bone = _union_sdf(self.bones, plane)
        if bone is not None:
            labels[bone <= 0.0] = Label.CORTICAL_BONE
            labels[bone <= -self.cortical_thickness_mm] = Label.CANCELLOUS_BONE
        vessel = _union_sdf(self.vessels, plane)
        if vessel is not None:
            labels[vessel <= 0.0] = Label.VESSEL
        shape = _union_sdf(self.objects, plane)
        if shape is not None:
            labels[shape <= 0.0] = 1
        return labels

    def vessel_bone_clearance_mm(self, step_mm: float = 0.25) -> float | None:
        """Smallest gap between a vessel wall and a bone surface (mm), a lower bound.

        Sampled along each vessel's centre line every ``step_mm``; exact for
        capsule vessels and the primitive bones, a lower bound where bones are
        intersections or differences.  ``None`` without vessels or bones.
        """
        if not self.vessels or not self.bones:
            return None
        gaps: list[float] = []
        for vessel in self.vessels:
            if not isinstance(vessel, Capsule):
                continue
            length = float(np.linalg.norm(np.subtract(vessel.end, vessel.start)))
            t = np.linspace(0.0, 1.0, max(2, int(length / step_mm) + 1))
            line = np.asarray(vessel.start) + t[:, None] * np.subtract(vessel.end, vessel.start)
            bone = np.min(np.stack([b.sdf(line) for b in self.bones]), axis=0)
            gaps.append(float(np.min(bone)) - vessel.radius)
        return min(gaps) if gaps else None

    def to_json(self) -> dict[str, Any]:
        """Kind, centre, tissues and every solid, in LPS mm."""
        document: dict[str, Any] = {
            "centre_lps_mm": _rounded(self.centre),
            "labels": {str(t.label): {"name": t.name, "hu": t.hu} for t in self.tissues},
            "label_order": "background, then body, bones (cortical where -t < sdf <= 0, "
                           "cancellous where sdf <= -t), vessels; later wins; inside is sdf <= 0",
        }
        if self.body is not None:
            document["body"] = self.body.to_json()
        if self.bones:
            document["bones"] = [b.to_json() for b in self.bones]
            document["cortical_thickness_mm"] = self.cortical_thickness_mm
        if self.vessels:
            document["vessels"] = [v.to_json() for v in self.vessels]
            document["vessel_bone_clearance_mm_lower_bound"] = self.vessel_bone_clearance_mm()
        if self.objects:
            document["objects"] = [o.to_json() for o in self.objects]
        if self.landmarks:
            document["landmarks"] = [m.to_json() for m in self.landmarks]
        return document


def _vessel_chain(name: str, points: Sequence[Vector], radius: float) -> tuple[Capsule, ...]:
    return tuple(Capsule(f"{name}-{n}", a, b, radius)
                 for n, (a, b) in enumerate(itertools.pairwise(points), start=1))


def _side_name(s: int) -> str:
    return "left" if s > 0 else "right"


_FEMORAL_HEAD_RADIUS_MM = 24.0


def _femur(s: int, head: Vector, prefix: str) -> tuple[Solid, ...]:
    """Proximal femur of side ``s`` (+1 left, -1 right) with its head centred at ``head``."""
    def at(dx: float, dy: float, dz: float) -> Vector:
        return _add(head, (s * dx, dy, dz))

    return (
        Sphere(f"{prefix}-head", head, _FEMORAL_HEAD_RADIUS_MM),
        Capsule(f"{prefix}-neck", head, at(40.0, 5.0, -30.0), 15.0),
        Sphere(f"{prefix}-greater-trochanter", at(55.0, 10.0, -25.0), 17.0),
        Sphere(f"{prefix}-lesser-trochanter", at(38.0, 18.0, -62.0), 10.0),
        Capsule(f"{prefix}-shaft", at(48.0, 8.0, -40.0), at(58.0, 14.0, -260.0), 14.0),
    )


def _pelvis(c: Vector) -> Anatomy:
    def p(x: float, y: float, z: float) -> Vector:
        return _add(c, (x, y, z))

    bones: list[Solid] = []
    vessels: list[Solid] = []
    landmarks: list[AnatomicalLandmark] = []
    sacrum_axes = _columns(rotation((1.0, 0.0, 0.0), 25.0))
    bones.append(RoundedBox("sacrum", p(0.0, 78.0, 15.0), sacrum_axes, (38.0, 10.0, 48.0), 6.0))
    for s in (1, -1):
        side = _side_name(s)
        posterior, anterior = np.array([s * 42.0, 80.0, 32.0]), np.array([s * 122.0, -18.0, 42.0])
        u = _unit(anterior - posterior)
        w = _unit((s * 0.3, 0.0, 1.0))
        v = _unit(np.cross(w, u))
        w = _unit(np.cross(u, v))
        half_length = 0.5 * float(np.linalg.norm(anterior - posterior))
        bones.append(RoundedBox(f"{side}-iliac-wing", p(*(0.5 * (posterior + anterior))),
                                (u, v, w), (half_length, 2.5, 36.0), 4.0))
        head = p(s * 95.0, 5.0, -45.0)
        bones.append(Capsule(f"{side}-iliac-body", p(s * 68.0, 42.0, 5.0),
                             p(s * 92.0, 12.0, -28.0), 17.0))
        opening = _unit((s * 1.0, -0.5, -0.7))
        bones.append(Intersection(f"{side}-acetabulum", (
            Difference(f"{side}-acetabular-shell", Sphere(f"{side}-acetabulum-outer", head, 38.0),
                       Sphere(f"{side}-acetabular-cup", head, 27.0)),
            HalfSpace(f"{side}-acetabular-rim", head, opening),
        )))
        bones.append(Capsule(f"{side}-superior-pubic-ramus", p(s * 84.0, -14.0, -44.0),
                             p(s * 13.0, -72.0, -56.0), 10.0))
        bones.append(Capsule(f"{side}-ischium", p(s * 92.0, 22.0, -62.0),
                             p(s * 66.0, 30.0, -104.0), 13.0))
        bones.append(Capsule(f"{side}-inferior-pubic-ramus", p(s * 66.0, 30.0, -104.0),
                             p(s * 18.0, -62.0, -76.0), 8.0))
        bones.extend(_femur(s, head, f"{side}-femur"))
        landmarks.append(AnatomicalLandmark(f"{side}-femoral-head", head, _FEMORAL_HEAD_RADIUS_MM))
        vessels.extend(_vessel_chain(f"{side}-external-iliac-artery", [
            p(s * 14.0, 10.0, 110.0), p(s * 42.0, 14.0, 55.0), p(s * 60.0, -10.0, 5.0),
            p(s * 76.0, -44.0, -36.0), p(s * 84.0, -46.0, -130.0),
        ], 4.0))
    return Anatomy(PhantomKind.PELVIS, c, _ANATOMICAL_TISSUES,
                   body=EllipticCylinder("body", p(0.0, 10.0, 0.0), (182.0, 128.0)),
                   bones=tuple(bones), vessels=tuple(vessels), landmarks=tuple(landmarks))


def _femur_anatomy(c: Vector) -> Anatomy:
    head = _add(c, (-42.0, -6.0, 50.0))
    artery = [_add(c, v) for v in ((-48.0, -44.0, 130.0), (-36.0, -40.0, 40.0),
                                   (-18.0, -36.0, -40.0), (-6.0, -28.0, -140.0))]
    return Anatomy(PhantomKind.FEMUR, c, _ANATOMICAL_TISSUES,
                   body=EllipticCylinder("thigh", c, (92.0, 82.0)),
                   bones=_femur(1, head, "left-femur"),
                   vessels=_vessel_chain("left-femoral-artery", artery, 4.0),
                   landmarks=(AnatomicalLandmark("left-femoral-head", head,
                                                 _FEMORAL_HEAD_RADIUS_MM),))


def build_anatomy(kind: PhantomKind, centre: Vector = ANATOMY_CENTRE_LPS_MM) -> Anatomy:
    """The anatomy of one phantom kind, built around ``centre`` (LPS mm).

    The analytic shapes sit slightly off ``centre`` (by less than a millimetre)
    so that no symmetry of a grid centred there hides a sampling error, and their
    axes are oblique to every patient axis.
    """
    if kind is PhantomKind.PELVIS:
        return _pelvis(centre)
    if kind is PhantomKind.FEMUR:
        return _femur_anatomy(centre)
    middle = _add(centre, (0.3, -0.7, 0.45))
    solid: Solid
    if kind is PhantomKind.SPHERE:
        solid = Sphere("sphere", middle, 20.0)
    elif kind is PhantomKind.ELLIPSOID:
        solid = Ellipsoid("ellipsoid", middle, _columns(rotation((1.0, -1.0, 2.0), 35.0)),
                          (22.0, 15.0, 10.0))
    else:
        solid = Cylinder("cylinder", middle, _unit((1.0, 1.0, 3.0)), 10.0, 18.0)
    return Anatomy(kind, centre, _ANALYTIC_TISSUES, objects=(solid,))
