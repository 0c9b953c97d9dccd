"""Landmarks found from the bone segmentation: the femoral head's centre and radius, per side.

A procedure such as the supra-acetabular screw needs each hip's femoral-head centre and radius.
When the case gives none, they are found here from the label map alone, or the case is refused
naming why; a landmark is never guessed.

How a head is found (all in patient LPS millimetres):

1. **Bone surface with normals.**  The faces between a bone voxel and a non-bone neighbour,
   each at the face's centre (the surface's unbiased sample on a binary map), with the outward
   normal of the bone mask smoothed by :data:`SMOOTHING_MM`.
2. **Convex spheres vote.**  Each face votes for the centres ``p - r n`` of the convex spheres
   it could lie on, for radii in :data:`FEMORAL_HEAD_RADIUS_MM`; the concave socket of the
   acetabulum votes away from the head's centre, so the femur need not be separated from the
   pelvis (a one-label segmentation joins them across the joint space).
3. **Robust fit per candidate.**  Around each vote peak, the faces whose distance from it is
   within :data:`BAND_MM` of the peak's radius and whose normal points away from it; a RANSAC
   sphere (4 faces per hypothesis, inliers within the voxel-sized tolerance *and* with a radial
   normal), then a geometric least-squares refit on the inliers, repeated until the inliers
   settle.  A least-squares fit over a region reaching into the neck misses by millimetres;
   the consensus is what reaches sub-millimetre accuracy (research note, next capabilities §3.2).
4. **Side.**  LPS +x is the patient's left.  A head's own anatomy tells its side: the
   acetabular socket (concave, concentric) is medial to it, or, without a socket in view, the
   neck leaves it laterally.  Two heads side by side are the left one (the larger x) and the
   right one, and one whose own anatomy says otherwise is refused; so is a single head whose
   anatomy does not tell its side.
5. **Checks, each a refusal** (:class:`LandmarkRefusal`), in this order: the sphere reaching
   outside the imaged volume (truncated); too few inliers, or a bootstrap 95 % confidence
   radius of the centre above :data:`MAX_CENTRE_CI95_MM`, or a surface no ellipsoid fits
   (unstable); an ellipsoid fitted to the head's surface with axes differing by more than
   :data:`MAX_AXIS_RATIO`, or fewer than :data:`MIN_INLIER_FRACTION` of the faces about the
   sphere on it (not spherical).  A head that fails a check is refused for it even when its
   side is unclear too.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from corridor.images import LabelMap, SegmentCode
from corridor.planning.errors import PlanningError
from corridor.planning.procedure import LateralityCheck, LoadedProcedure, Side
from corridor.planning.regions import (
    Landmark,
    LandmarkSource,
    SphereFitQuality,
    corridor_values,
)
from corridor.planning.roles import map_roles

__all__ = [
    "BAND_MM",
    "BOOTSTRAP_BLOCKS",
    "BOOTSTRAP_POINTS",
    "BOOTSTRAP_SAMPLES",
    "FEMORAL_HEAD",
    "FEMORAL_HEAD_RADIUS_MM",
    "FEMUR_ROLE",
    "FINDABLE_LANDMARKS",
    "MAX_AXIS_RATIO",
    "MAX_CENTRE_CI95_MM",
    "MIN_INLIERS",
    "MIN_INLIER_FRACTION",
    "RANSAC_ITERATIONS",
    "SMOOTHING_MM",
    "LandmarkNotFoundError",
    "LandmarkRefusal",
    "complete_landmarks",
    "find_femoral_head",
    "find_femoral_heads",
    "needed_landmarks",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

FEMORAL_HEAD = "femoral-head"
"""The landmark name (without the side's prefix) this module finds."""

FINDABLE_LANDMARKS = frozenset({FEMORAL_HEAD})
"""Landmark names (without the side's prefix) planning finds when the case does not give them."""

FEMUR_ROLE = "femur"
"""The role table's role of a femur labelled apart (it also stands for ``bone``)."""

FEMORAL_HEAD_RADIUS_MM = (18.0, 32.0)
"""Radii (mm) a femoral head may have: adult heads measure 40-56 mm across (radius 20-28 mm);
the range keeps out the greater trochanter and the ends of the iliac and pubic bones, whose
convex ends are smaller, and the acetabulum's outer wall, which is larger."""

SMOOTHING_MM = 1.0
"""Standard deviation (mm) of the Gaussian the bone mask is smoothed with for surface normals."""

HOUGH_BIN_MM = 2.0
"""Side (mm) of a vote bin for sphere centres."""

HOUGH_RADIUS_STEP_MM = 1.0
"""Step (mm) of the radii a surface face votes for."""

MAX_CANDIDATES = 8
"""Vote peaks fitted, strongest first."""

_SMOOTHING_SLAB = 128
"""Slices of the bone mask smoothed at a time for the surface normals."""

MAX_VOTE_BINS = 1 << 24
"""Most vote bins (float64, 128 MiB) held at once: a larger bone's bins are made coarser than
:data:`HOUGH_BIN_MM` (the fit around each peak does not need them finer)."""

_PEAK_FLOOR = 0.05
"""Vote bins below this fraction of the strongest are not peaks."""

BAND_MM = 4.0
"""Faces within this distance (mm) of a candidate's sphere are its head's surface."""

NORMAL_COSINE = 0.8
"""A face's outward normal must be within about 37 degrees of the direction away from the
centre (cosine at least this) to lie on a convex sphere about it."""

INLIER_MARGIN_MM = 0.1
"""Added to a face's own discretisation bound (half the voxel step across it, projected on the
normal) for its inlier tolerance: the smoothed normal's error and rounding."""

RANSAC_ITERATIONS = 256
"""Sphere hypotheses drawn per candidate (4 faces each; seeded, so results repeat)."""

RANSAC_POINTS = 4000
"""Faces a hypothesis is scored on (drawn at random when the band holds more); the refit uses
every face of the band."""

REFIT_ROUNDS = 6
"""Most inlier-selection and least-squares rounds after RANSAC."""

BOOTSTRAP_SAMPLES = 200
"""Resamples of the inliers' patches for the centre's confidence region (seeded)."""

BOOTSTRAP_POINTS = 1000
"""Inliers the bootstrap refits (drawn at random when there are more): the patches' spread,
not the number of faces in each, sets the region's size."""

BOOTSTRAP_BLOCKS = 96
"""Patches (by direction from the centre, over the whole sphere: about 22 degrees, 9 mm on a
24 mm head) the block bootstrap resamples."""

MIN_INLIERS = 60
"""Fewest inlier faces a head may be fitted on."""

MIN_COVERAGE = 0.1
"""Smallest part of a sphere's area its inlier faces must cover for it to be a head candidate."""

MAX_AXIS_RATIO = 1.05
"""Largest ratio of the longest to the shortest axis of the ellipsoid fitted to a head's
surface.  A head more elongated than this is not a sphere, and a sphere's centre is no longer
its centre to the accuracy claimed: on a femur whose head is an ellipsoid (every orientation
tried, axes up to 6 % apart) the fitted centre moved by up to 0.34 mm; an ellipsoid with axes
15 % apart is refused."""

MIN_INLIER_FRACTION = 0.6
"""Smallest part of the faces about a head's sphere (its band, with radial normals) that must
lie on it.  On the pelvis phantom, planted segmentation noise displacing 60-80 % of a head's
exposed surface by a voxel moved the fitted centre by up to 1.6 mm, the bootstrap region
staying narrow (the displaced patches agree), while the inliers fell to 42-55 %; with up to
about half displaced the centre stayed within 0.31 mm (inliers 51-84 %)."""

MAX_CENTRE_CI95_MM = 0.5
"""Largest radius (mm) of the bootstrap 95 % confidence region of the centre: the accuracy the
finder claims (SRS-PLN-015)."""

PAIR_MIN_SEPARATION_MM = 100.0
"""Two heads at least this far apart along LPS x are a left and a right one."""

PAIR_MAX_RADIUS_RATIO = 1.2
"""Two heads of a pair differ in radius by at most this ratio."""

SOCKET_MIN_COVERAGE = 0.1
"""A concave, concentric surface covering at least this part of the head's sphere within
:data:`SOCKET_REACH_MM` is the acetabulum (medial to the head)."""

SOCKET_REACH_MM = 8.0
"""How far (mm) beyond the head's surface its socket is looked for."""

NECK_SHELL_MM = (3.0, 15.0)
"""Shell (mm beyond the head's surface) whose bone, without a socket in view, is the neck."""

MIN_SIDE_COSINE = 0.3
"""The socket's or neck's mean direction must lean at least this much along x to tell a side."""

_SEED = 20240519
"""Seed of the random draws (RANSAC, per vote peak, and bootstrap, per head): the same label map
gives the same result, whichever sides are asked for."""


class LandmarkRefusal(StrEnum):
    """Why a landmark was not found."""

    NOT_FOUND = "not-found"
    """No femoral head of the side in the segmentation."""
    SIDE_UNCLEAR = "side-unclear"
    """A head was found but its side cannot be told, or its anatomy and its position disagree."""
    TRUNCATED = "truncated"
    """The head's sphere reaches outside the imaged volume."""
    NOT_SPHERICAL = "not-spherical"
    """The head's surface is an ellipsoid too far from a sphere, or too little of it lies on
    the fitted sphere."""
    UNSTABLE = "unstable"
    """Too few inliers, the centre's confidence region wider than claimed, or too little of the
    head seen to fix its shape."""


class LandmarkNotFoundError(PlanningError):
    """A landmark the case needs could not be found from its segmentation (never guessed).

    Attributes
    ----------
    reason
        Which check refused it.
    field, found, expected
        The landmark, the value measured and the limit (inherited).
    """

    def __init__(self, reason: LandmarkRefusal, name: str, found: object, expected: str) -> None:
        self.reason = reason
        super().__init__(f"landmark {name} ({reason.value})", found,
                         f"{expected}; give it with --landmark {name}=X,Y,Z,RADIUS or --landmarks")


@dataclass(frozen=True, slots=True, eq=False)
class _Surface:
    """Bone surface faces: centres and outward unit normals (LPS mm), the area of surface each
    stands for (mm^2) and how far (mm) from the true surface along the normal its centre can
    lie (half the voxel step across the face, times the cosine to the normal)."""

    points: FloatArray
    normals: FloatArray
    areas: FloatArray
    half_steps: FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class _Candidate:
    """A sphere fitted robustly around a vote peak."""

    centre: FloatArray
    radius: float
    inliers: NDArray[np.intp]
    band: NDArray[np.intp]
    rms_mm: float
    coverage: float

    @property
    def support_mm2(self) -> float:
        """Area (mm^2) of the sphere seen as bone surface."""
        return self.coverage * 4.0 * math.pi * self.radius ** 2


def _bone_crop(label_map: LabelMap, values: Sequence[int]
               ) -> tuple[BoolArray, NDArray[np.intp]] | None:
    """The bone mask cropped to its bounding box grown by 2 voxels, and the crop's start
    (``None`` without bone).  Slice by slice: the whole map's mask is never held twice."""
    table = np.zeros(256, dtype=bool)
    table[list(values)] = True
    labels = label_map.labels
    along_i = np.zeros(labels.shape[0], dtype=bool)
    along_j = np.zeros(labels.shape[1], dtype=bool)
    along_k = np.zeros(labels.shape[2], dtype=bool)
    for k in range(labels.shape[2]):
        plane = table[labels[:, :, k]]
        if plane.any():
            along_k[k] = True
            along_i |= plane.any(axis=1)
            along_j |= plane.any(axis=0)
    if not along_k.any():
        return None
    start, stop = [], []
    for present, n in zip((along_i, along_j, along_k), labels.shape, strict=True):
        found = np.flatnonzero(present)
        start.append(max(0, int(found[0]) - 2))
        stop.append(min(n, int(found[-1]) + 3))
    window = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
    return table[labels[window]], np.asarray(start, dtype=np.intp)


def _smoothed_at(mask: BoolArray, sigma: FloatArray, voxels: NDArray[np.intp]
                 ) -> NDArray[np.float32]:
    """The mask smoothed by a Gaussian (``sigma`` voxels per axis, zero outside) at ``voxels``.

    Smoothed :data:`_SMOOTHING_SLAB` slices at a time, each with a margin of 3 sigma, so that a
    whole-body label map does not need a float copy of itself.
    """
    result = np.empty(len(voxels), dtype=np.float32)
    margin = math.ceil(3.0 * float(sigma[2])) + 1
    depth = mask.shape[2]
    for first in range(0, depth, _SMOOTHING_SLAB):
        last = min(first + _SMOOTHING_SLAB, depth)
        chosen = np.flatnonzero((voxels[:, 2] >= first) & (voxels[:, 2] < last))
        if not len(chosen):
            continue
        low, high = max(0, first - margin), min(depth, last + margin)
        slab = ndimage.gaussian_filter(mask[:, :, low:high].astype(np.float32), sigma,
                                       mode="constant", truncate=3.0)
        at = voxels[chosen]
        result[chosen] = slab[at[:, 0], at[:, 1], at[:, 2] - low]
    return result


def _surface(mask: BoolArray, start: NDArray[np.intp], label_map: LabelMap) -> _Surface:
    """Faces between bone and non-bone voxels, with the smoothed mask's outward normals."""
    geometry = label_map.geometry
    steps = geometry.affine[:3, :3]
    inverse = np.linalg.inv(steps)
    per_axis = []
    for axis in range(3):
        low = [slice(None)] * 3
        high = [slice(None)] * 3
        low[axis], high[axis] = slice(None, -1), slice(1, None)
        per_axis.append(np.argwhere(mask[tuple(low)] != mask[tuple(high)]))
    faces = np.concatenate(per_axis)
    if len(faces) < MIN_INLIERS:
        empty = np.zeros((0, 3))
        return _Surface(empty, empty, np.zeros(0), np.zeros(0))
    axes = np.concatenate([np.full(len(f), axis) for axis, f in enumerate(per_axis)])
    upper = faces.copy()
    upper[np.arange(len(faces)), axes] += 1
    # Central differences of the smoothed mask at both voxels of every face, in one pass.
    voxels = np.concatenate([faces, upper])
    top = np.asarray(mask.shape) - 1
    ahead, behind = [], []
    for d in range(3):
        forward, backward = voxels.copy(), voxels.copy()
        forward[:, d] = np.minimum(forward[:, d] + 1, top[d])
        backward[:, d] = np.maximum(backward[:, d] - 1, 0)
        ahead.append(forward)
        behind.append(backward)
    values = _smoothed_at(mask, SMOOTHING_MM / np.asarray(geometry.spacing),
                          np.concatenate(ahead + behind)).reshape(2, 3, len(voxels))
    gradient = np.stack([(values[0, d] - values[1, d])
                         / np.maximum(ahead[d][:, d] - behind[d][:, d], 1) for d in range(3)],
                        axis=1)
    g = 0.5 * (gradient[:len(faces)] + gradient[len(faces):])
    index = faces.astype(np.float64) + start
    index[np.arange(len(faces)), axes] += 0.5
    normal = -(g @ inverse)
    length = np.linalg.norm(normal, axis=1)
    keep = length > 1e-6
    normal = normal[keep] / length[keep, None]
    across = np.stack([np.cross(steps[:, (a + 1) % 3], steps[:, (a + 2) % 3]) for a in range(3)])
    area = np.linalg.norm(across, axis=1)
    facing = across / area[:, None]
    gap = 1.0 / np.linalg.norm(inverse, axis=1)  # distance between voxel planes along each axis
    kept = axes[keep]
    # A face stands for the surface it crosses projected onto it: its area times the cosine
    # between its own normal and the surface's (the staircase's faces overcount otherwise).
    cosine = np.abs(np.einsum("ij,ij->i", facing[kept], normal))
    return _Surface(geometry.index_to_lps(index[keep]), normal, area[kept] * cosine,
                    0.5 * gap[kept] * cosine)


def _vote_peaks(surface: _Surface, radii: tuple[float, float]) -> FloatArray:
    """Centres (LPS mm) of the strongest convex-sphere vote peaks, strongest first."""
    if len(surface.points) < MIN_INLIERS:
        return np.zeros((0, 3))
    low = surface.points.min(axis=0) - radii[1]
    extent = surface.points.max(axis=0) + radii[1] - low
    size = max(HOUGH_BIN_MM, float(np.prod(extent) / MAX_VOTE_BINS) ** (1.0 / 3.0))
    shape = np.ceil(extent / size).astype(int) + 1
    points = surface.points.astype(np.float32)
    normals = surface.normals.astype(np.float32)
    flats, weights = [], []
    for radius in np.arange(radii[0], radii[1] + 1e-9, HOUGH_RADIUS_STEP_MM):
        centres = points - np.float32(radius) * normals
        bins = np.floor((centres - low.astype(np.float32)) / np.float32(size)).astype(np.intp)
        inside = np.all((bins >= 0) & (bins < shape), axis=1)
        flats.append(np.ravel_multi_index(tuple(bins[inside].T), tuple(shape)))
        weights.append(surface.areas[inside])
    votes = np.bincount(np.concatenate(flats), weights=np.concatenate(weights),
                        minlength=int(np.prod(shape)))
    grid = ndimage.gaussian_filter(votes.reshape(shape).astype(np.float32), 1.0).ravel()
    if not float(grid.max()) > 0.0:
        return np.zeros((0, 3))
    strong = np.flatnonzero(grid >= _PEAK_FLOOR * float(grid.max()))
    centres = low + (np.column_stack(np.unravel_index(strong, tuple(shape))) + 0.5) * size
    strength = grid[strong].astype(np.float64)
    kept: list[FloatArray] = []
    while len(kept) < MAX_CANDIDATES and len(strength) and strength.max() > -np.inf:
        best = int(np.argmax(strength))  # the strongest left; bins near it are the same sphere
        kept.append(centres[best])
        strength[np.linalg.norm(centres - centres[best], axis=1) < radii[0] / 2] = -np.inf
    return np.asarray(kept).reshape(-1, 3)


def _fit_algebraic(points: FloatArray, weights: FloatArray | None = None
                   ) -> tuple[FloatArray, float]:
    """Sphere through points by linear least squares (``|p|^2 = 2 p.c + k``)."""
    design = np.column_stack([2.0 * points, np.ones(len(points))])
    target = np.einsum("ij,ij->i", points, points)
    if weights is not None:
        design, target = design * weights[:, None], target * weights
    solution = np.linalg.lstsq(design, target, rcond=None)[0]
    centre = solution[:3]
    return centre, float(math.sqrt(max(solution[3] + centre @ centre, 0.0)))


def _fit_geometric(points: FloatArray, centre: FloatArray, radius: float,
                   weights: FloatArray | None = None, iterations: int = 8
                   ) -> tuple[FloatArray, float]:
    """Geometric least squares (sum of squared distances to the sphere), Gauss-Newton."""
    centre = centre.astype(np.float64).copy()
    w = np.ones(len(points)) if weights is None else weights
    for _ in range(iterations):
        offset = points - centre
        distance = np.maximum(np.linalg.norm(offset, axis=1), 1e-9)
        residual = distance - radius
        jacobian = np.column_stack([-offset / distance[:, None], -np.ones(len(points))])
        normal = jacobian.T @ (jacobian * w[:, None])
        try:
            step = np.linalg.solve(normal, -(jacobian.T @ (w * residual)))
        except np.linalg.LinAlgError:  # points that fix no sphere: keep the estimate
            break
        centre += step[:3]
        radius += float(step[3])
        if float(np.linalg.norm(step)) < 1e-6:
            break
    return centre, radius


def _radial(points: FloatArray, normals: FloatArray, centre: FloatArray
            ) -> tuple[FloatArray, FloatArray]:
    """Distances of points from ``centre`` and the cosine between normal and radial direction."""
    offset = points - centre
    distance = np.maximum(np.linalg.norm(offset, axis=1), 1e-9)
    return distance, np.einsum("ij,ij->i", offset, normals) / distance


def _fit_candidate(surface: _Surface, peak: FloatArray, radii: tuple[float, float],
                   rng: np.random.Generator) -> _Candidate | None:
    """RANSAC then least-squares refit of the head around one vote peak."""
    distance, cosine = _radial(surface.points, surface.normals, peak)
    near = np.flatnonzero((distance > radii[0] - BAND_MM) & (distance < radii[1] + BAND_MM)
                          & (cosine > NORMAL_COSINE))
    if len(near) < MIN_INLIERS:
        return None
    histogram, edges = np.histogram(distance[near], bins=np.arange(
        radii[0] - BAND_MM, radii[1] + BAND_MM + 0.5, 0.5), weights=surface.areas[near])
    smoothed = np.convolve(histogram, np.ones(5), mode="same")
    estimate = float(edges[int(np.argmax(smoothed))] + 0.25)
    band = near[np.abs(distance[near] - estimate) < BAND_MM]
    if len(band) < MIN_INLIERS:
        return None
    points, normals = surface.points[band], surface.normals[band]
    tolerance = surface.half_steps[band] + INLIER_MARGIN_MM
    scored = (np.arange(len(band)) if len(band) <= RANSAC_POINTS
              else np.sort(rng.choice(len(band), RANSAC_POINTS, replace=False)))
    hypotheses = _ransac_hypotheses(points[scored], rng)
    plausible = ((hypotheses[:, 3] > radii[0] - BAND_MM) & (hypotheses[:, 3] < radii[1] + BAND_MM))
    hypotheses = hypotheses[plausible]
    if not len(hypotheses):
        return None
    centres, spheres = hypotheses[:, :3], hypotheses[:, 3]
    some, directions = points[scored], normals[scored]
    squared = (np.einsum("ij,ij->i", some, some)[None, :] - 2.0 * centres @ some.T
               + np.einsum("ij,ij->i", centres, centres)[:, None])
    d = np.sqrt(np.maximum(squared, 1e-18))
    facing = (np.einsum("ij,ij->i", some, directions)[None, :] - centres @ directions.T) / d
    counts = np.count_nonzero((np.abs(d - spheres[:, None]) <= tolerance[scored][None, :])
                              & (facing > NORMAL_COSINE), axis=1)
    best = int(np.argmax(counts))
    centre, radius = centres[best].copy(), float(spheres[best])
    inliers = np.zeros(0, dtype=np.intp)
    for _ in range(REFIT_ROUNDS):
        d1, c1 = _radial(points, normals, centre)
        chosen = np.flatnonzero((np.abs(d1 - radius) <= tolerance) & (c1 > NORMAL_COSINE))
        if len(chosen) < MIN_INLIERS // 2:
            return None
        if np.array_equal(chosen, inliers):
            break
        inliers = chosen
        centre, radius = _fit_geometric(points[inliers], centre, radius)
    d1, _ = _radial(points[inliers], normals[inliers], centre)
    rms = float(np.sqrt(np.mean((d1 - radius) ** 2)))
    coverage = float(surface.areas[band][inliers].sum() / (4.0 * math.pi * radius ** 2))
    return _Candidate(centre, float(radius), band[inliers], band, rms, coverage)


def _ransac_hypotheses(points: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Spheres ``(x, y, z, r)`` through 4 points drawn at random, :data:`RANSAC_ITERATIONS`
    of them (degenerate draws dropped)."""
    picks = points[rng.integers(0, len(points), size=(RANSAC_ITERATIONS, 4))]
    design = np.concatenate([2.0 * picks, np.ones((RANSAC_ITERATIONS, 4, 1))], axis=2)
    target = np.einsum("hij,hij->hi", picks, picks)
    regular = np.abs(np.linalg.det(design)) > 1e-3 * float(np.mean(np.abs(picks))) ** 3
    solution = np.linalg.solve(design[regular], target[regular][..., None])[..., 0]
    centres = solution[:, :3]
    squared = solution[:, 3] + np.einsum("ij,ij->i", centres, centres)
    valid = squared > 0
    return np.column_stack([centres[valid], np.sqrt(squared[valid])])


def _bootstrap_ci95(points: FloatArray, centre: FloatArray, radius: float,
                    rng: np.random.Generator) -> tuple[float, FloatArray]:
    """Radius (mm) of the 95 % bootstrap region of the centre, and per-axis 95 % intervals.

    A block bootstrap: the inliers are grouped into patches by direction from the centre
    (:data:`BOOTSTRAP_BLOCKS` over the whole sphere) and whole patches are resampled, so that
    an error shared by a patch of the surface (a segmentation a voxel too large or too small
    there) widens the region as it moves the centre; resampling single faces would not.  Each
    resample is refitted by three Gauss-Newton steps from the fit, all resamples at once.
    """
    if len(points) > BOOTSTRAP_POINTS:
        points = points[np.sort(rng.choice(len(points), BOOTSTRAP_POINTS, replace=False))]
    directions = (points - centre) / np.linalg.norm(points - centre, axis=1)[:, None]
    block = np.argmax(directions @ _fibonacci(BOOTSTRAP_BLOCKS).T, axis=1)
    used, member = np.unique(block, return_inverse=True)
    counts = rng.multinomial(len(used), np.full(len(used), 1.0 / len(used)),
                             size=BOOTSTRAP_SAMPLES).astype(np.float64)
    weights = counts[:, member]  # (samples, points)
    centres = np.repeat(centre[None, :], BOOTSTRAP_SAMPLES, axis=0)
    radii = np.full(BOOTSTRAP_SAMPLES, radius)
    for _ in range(3):
        offset = points[None, :, :] - centres[:, None, :]
        distance = np.maximum(np.linalg.norm(offset, axis=2), 1e-9)
        jacobian = np.concatenate([-offset / distance[..., None],
                                   -np.ones((*distance.shape, 1))], axis=2)
        weighted = jacobian * weights[..., None]
        normal = np.matmul(weighted.transpose(0, 2, 1), jacobian)
        gradient = np.matmul(weighted.transpose(0, 2, 1),
                             (distance - radii[:, None])[..., None])[..., 0]
        try:
            step = np.linalg.solve(normal, -gradient[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return math.inf, np.column_stack([np.full(3, -np.inf), np.full(3, np.inf)])
        centres += step[:, :3]
        radii += step[:, 3]
    spread = np.linalg.norm(centres - centre, axis=1)
    return (float(np.quantile(spread, 0.95)),
            np.quantile(centres, [0.025, 0.975], axis=0).T)


def _axis_ratio(points: FloatArray, centre: FloatArray, radius: float) -> float:
    """Longest over shortest semi-axis of the ellipsoid fitted (algebraically) to ``points``."""
    u = (points - centre) / radius
    x, y, z = u.T
    design = np.column_stack([x * x, y * y, z * z, 2 * x * y, 2 * x * z, 2 * y * z,
                              2 * x, 2 * y, 2 * z])
    v = np.linalg.lstsq(design, np.ones(len(u)), rcond=None)[0]
    quadric = np.array([[v[0], v[3], v[4]], [v[3], v[1], v[5]], [v[4], v[5], v[2]]])
    linear = v[6:9]
    try:
        middle = -np.linalg.solve(quadric, linear)
    except np.linalg.LinAlgError:
        return math.inf
    scale = 1.0 + float(middle @ quadric @ middle)
    eigen = np.linalg.eigvalsh(quadric / scale)
    if np.any(eigen <= 0):
        return math.inf
    axes = 1.0 / np.sqrt(eigen)
    return float(axes.max() / axes.min())


def _fibonacci(n: int) -> FloatArray:
    """``n`` unit vectors spread evenly over the sphere."""
    k = np.arange(n) + 0.5
    polar = np.arccos(1.0 - 2.0 * k / n)
    azimuth = math.pi * (1.0 + math.sqrt(5.0)) * k
    return np.column_stack([np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth),
                            np.cos(polar)])


def _outside_fraction(label_map: LabelMap, centre: FloatArray, radius: float,
                      outside_view: BoolArray | None) -> float:
    """Part of the sphere's surface outside the grid (beyond its outermost voxels' extent) or
    in ``outside_view`` (voxels not imaged)."""
    points = centre + radius * _fibonacci(2000)
    index = label_map.geometry.lps_to_index(points)
    shape = np.asarray(label_map.geometry.shape)
    outside = np.any((index < -0.5) | (index > shape - 0.5), axis=1)
    if outside_view is not None:
        inside = ~outside
        nearest = np.clip(np.rint(index[inside]).astype(int), 0, shape - 1)
        outside[inside] = outside_view[tuple(nearest.T)]
    return float(np.mean(outside))


def _own_side(candidate: _Candidate, surface: _Surface, mask_lookup: BoolArray,
              label_map: LabelMap) -> tuple[Side | None, str]:
    """The side a head's anatomy tells: its socket medial, else its neck lateral."""
    distance, cosine = _radial(surface.points, surface.normals, candidate.centre)
    socket = ((distance > candidate.radius) & (distance < candidate.radius + SOCKET_REACH_MM)
              & (cosine < -NORMAL_COSINE))
    area = float(surface.areas[socket].sum()) / (4.0 * math.pi * candidate.radius ** 2)
    if area >= SOCKET_MIN_COVERAGE:
        direction = (surface.points[socket] - candidate.centre) / distance[socket, None]
        lean = float(np.average(direction[:, 0], weights=surface.areas[socket]))
        how = f"acetabular socket (x lean {lean:+.2f})"
        if abs(lean) >= MIN_SIDE_COSINE:
            return (Side.RIGHT if lean > 0 else Side.LEFT), how
        return None, how
    inner, outer = (candidate.radius + d for d in NECK_SHELL_MM)
    geometry = label_map.geometry
    reach = geometry.lps_to_index(candidate.centre + np.array(
        [[sx * outer, sy * outer, sz * outer] for sx in (-1, 1) for sy in (-1, 1)
         for sz in (-1, 1)]))
    low = np.clip(np.floor(reach.min(axis=0)).astype(int), 0, geometry.shape)
    high = np.clip(np.ceil(reach.max(axis=0)).astype(int) + 1, 0, geometry.shape)
    window = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
    bone = np.argwhere(mask_lookup[label_map.labels[window]]) + low
    offset = geometry.index_to_lps(bone.astype(np.float64)) - candidate.centre
    length = np.linalg.norm(offset, axis=1)
    shell = (length > inner) & (length < outer)
    if not np.any(shell):
        return None, "no socket and no neck in view"
    lean = float(np.mean(offset[shell, 0] / length[shell]))
    how = f"neck (x lean {lean:+.2f})"
    if abs(lean) >= MIN_SIDE_COSINE:
        return (Side.LEFT if lean > 0 else Side.RIGHT), how
    return None, how


def _describe(candidate: _Candidate) -> str:
    centre = ", ".join(f"{v:.1f}" for v in candidate.centre)
    return f"r {candidate.radius:.1f} mm at ({centre}) LPS mm"


def find_femoral_heads(label_map: LabelMap, *, bone_labels: Sequence[int],
                       sides: Collection[Side] = (Side.LEFT, Side.RIGHT),
                       femur_labels: Mapping[Side, Sequence[int]] | None = None,
                       outside_view: BoolArray | None = None
                       ) -> dict[Side, Landmark | LandmarkNotFoundError]:
    """Find the femoral head of each side: a robust sphere fit on the bone surface.

    Parameters
    ----------
    label_map
        The case's labels, with their geometry (LPS mm).
    bone_labels
        Label values of bone (pelvis and femur together, as one segmentation label may hold
        both); not used when ``femur_labels`` is given.
    sides
        The sides to find.
    femur_labels
        Where the segmentation labels each femur apart: its label values per side (the head
        is then searched on that label's surface only, and its side is the label's).
    outside_view
        Voxels of the grid that were not imaged (the CT's padding), ``[i, j, k]``; a head
        reaching into them is truncated.

    Returns
    -------
    dict
        Per side, the found landmark (``<side>-femoral-head``, source ``found``, with its fit
        quality), or the :class:`LandmarkNotFoundError` that refuses it.
    """
    clock = time.perf_counter()
    radii = FEMORAL_HEAD_RADIUS_MM
    results: dict[Side, Landmark | LandmarkNotFoundError] = {}
    searches: list[tuple[tuple[Side, ...], Sequence[int]]] = []
    if femur_labels is not None:
        searches = [((side,), femur_labels[side]) for side in sides if side in femur_labels]
        for side in sides:
            if side not in femur_labels:
                results[side] = LandmarkNotFoundError(
                    LandmarkRefusal.NOT_FOUND, f"{side.value}-{FEMORAL_HEAD}",
                    "no femur label for this side", "a femur label for each side searched")
    else:
        searches = [(tuple(sides), bone_labels)]
    for searched, values in searches:
        found = _find(label_map, values, searched, femur_labels is not None, radii,
                      outside_view)
        results.update(found)
    elapsed = time.perf_counter() - clock
    return {side: (r if isinstance(r, LandmarkNotFoundError)
                   else _with_seconds(r, elapsed / max(len(sides), 1)))
            for side, r in results.items()}


def _with_seconds(landmark: Landmark, seconds: float) -> Landmark:
    """The landmark with the search's time (per side) in its fit quality."""
    assert landmark.fit is not None
    return dataclasses.replace(landmark, fit=dataclasses.replace(landmark.fit,
                                                                 seconds=round(seconds, 3)))


def _find(label_map: LabelMap, values: Sequence[int], sides: tuple[Side, ...], labelled: bool,
          radii: tuple[float, float], outside_view: BoolArray | None
          ) -> dict[Side, Landmark | LandmarkNotFoundError]:
    """Find the heads of ``sides`` on the surface of the labels ``values``."""
    names = {side: f"{side.value}-{FEMORAL_HEAD}" for side in sides}
    crop = _bone_crop(label_map, values)
    if crop is None:
        return {side: LandmarkNotFoundError(
            LandmarkRefusal.NOT_FOUND, names[side], f"no voxel labelled {list(values)}",
            "a segmented femur") for side in sides}
    mask, start = crop
    surface = _surface(mask, start, label_map)
    candidates: list[_Candidate] = []
    for number, peak in enumerate(_vote_peaks(surface, radii)):
        candidate = _fit_candidate(surface, peak, radii, np.random.default_rng([_SEED, number]))
        if (candidate is None or not radii[0] <= candidate.radius <= radii[1]
                or candidate.coverage < MIN_COVERAGE):
            continue
        if any(np.linalg.norm(candidate.centre - c.centre) < radii[0] for c in candidates):
            continue
        candidates.append(candidate)
    candidates.sort(key=lambda c: -c.support_mm2)
    lookup = np.zeros(256, dtype=bool)
    lookup[list(values)] = True
    results: dict[Side, Landmark | LandmarkNotFoundError] = {}
    if not candidates:
        for side in sides:
            results[side] = LandmarkNotFoundError(
                LandmarkRefusal.NOT_FOUND, names[side], "no convex sphere of radius "
                f"{radii[0]:g}-{radii[1]:g} mm on the surface of labels {list(values)}",
                "a femoral head in the segmentation")
        return results
    assigned = _assign_sides(candidates, surface, lookup, label_map, sides if labelled else None)
    for side in sides:
        if side not in assigned:
            seen = "; ".join(f"{_describe(c)}" for c in candidates[:3])
            results[side] = LandmarkNotFoundError(
                LandmarkRefusal.NOT_FOUND, names[side], f"heads found: {seen}, none on the "
                f"{side.value}", f"a {side.value} femoral head in the segmentation")
            continue
        candidate, unclear = assigned[side]
        checked = _checked(candidate, surface, label_map, names[side], outside_view,
                           np.random.default_rng(_SEED))
        # A head that fails its own checks is refused for that, whatever its side.
        results[side] = (unclear if unclear is not None and isinstance(checked, Landmark)
                         else checked)
    return results


def _assign_sides(candidates: list[_Candidate], surface: _Surface, lookup: BoolArray,
                  label_map: LabelMap, labelled: tuple[Side, ...] | None
                  ) -> dict[Side, tuple[_Candidate, LandmarkNotFoundError | None]]:
    """Each side's head among the candidates (strongest first), its side told by its anatomy
    and, for a pair side by side, by which is to the left; with the refusal of a head whose
    side is unclear."""
    if labelled is not None:
        return {labelled[0]: (candidates[0], None)}
    best = candidates[0]
    pair: tuple[_Candidate, _Candidate] | None = None
    for other in candidates[1:]:
        apart = abs(float(other.centre[0] - best.centre[0]))
        ratio = max(other.radius, best.radius) / min(other.radius, best.radius)
        if apart >= PAIR_MIN_SEPARATION_MM and ratio <= PAIR_MAX_RADIUS_RATIO:
            pair = (best, other) if best.centre[0] > other.centre[0] else (other, best)
            break
    chosen: dict[Side, tuple[_Candidate, LandmarkNotFoundError | None]] = {}
    heads = (list(zip((Side.LEFT, Side.RIGHT), pair, strict=True)) if pair is not None
             else [(None, best)])
    for by_position, candidate in heads:
        own, how = _own_side(candidate, surface, lookup, label_map)
        if own is not None and by_position is not None and own is not by_position:
            chosen[by_position] = (candidate, LandmarkNotFoundError(
                LandmarkRefusal.SIDE_UNCLEAR, f"{by_position.value}-{FEMORAL_HEAD}",
                f"head {_describe(candidate)} is the {by_position.value} one of the pair but "
                f"its {how} says {own.value}", "a head whose anatomy agrees with its position"))
        elif own is None and by_position is None:
            for s in (Side.LEFT, Side.RIGHT):
                chosen[s] = (candidate, LandmarkNotFoundError(
                    LandmarkRefusal.SIDE_UNCLEAR, f"{s.value}-{FEMORAL_HEAD}",
                    f"one head, {_describe(candidate)}, whose side its {how} does not tell",
                    f"an x lean of at least {MIN_SIDE_COSINE:g}, or both hips in view"))
        else:
            side = by_position if by_position is not None else own
            assert side is not None
            chosen[side] = (candidate, None)
    return chosen


def _checked(candidate: _Candidate, surface: _Surface, label_map: LabelMap, name: str,
             outside_view: BoolArray | None, rng: np.random.Generator
             ) -> Landmark | LandmarkNotFoundError:
    """The head's checks (truncation, stability, sphericity); the landmark if it passes."""
    centre, radius = candidate.centre, candidate.radius
    outside = _outside_fraction(label_map, centre, radius, outside_view)
    if outside > 0.0:
        return LandmarkNotFoundError(
            LandmarkRefusal.TRUNCATED, name, f"{100 * outside:.1f} % of the sphere "
            f"({_describe(candidate)}) outside the imaged volume",
            "a head wholly inside the field of view (0 % outside)")
    if len(candidate.inliers) < MIN_INLIERS:
        return LandmarkNotFoundError(
            LandmarkRefusal.UNSTABLE, name, f"{len(candidate.inliers)} inlier faces",
            f"at least {MIN_INLIERS}")
    inliers = surface.points[candidate.inliers]
    ci95, box = _bootstrap_ci95(inliers, centre, radius, rng)
    if not ci95 <= MAX_CENTRE_CI95_MM:
        return LandmarkNotFoundError(
            LandmarkRefusal.UNSTABLE, name, f"bootstrap 95 % confidence radius of the centre "
            f"{ci95:.2f} mm ({_describe(candidate)})", f"at most {MAX_CENTRE_CI95_MM:g} mm")
    band = surface.points[candidate.band]
    distance = np.linalg.norm(band - centre, axis=1)
    ratio = _axis_ratio(band[np.abs(distance - radius) <= BAND_MM], centre, radius)
    if not math.isfinite(ratio):
        return LandmarkNotFoundError(
            LandmarkRefusal.UNSTABLE, name, f"no ellipsoid fits the head's surface seen "
            f"({100 * candidate.coverage:.0f} % of the sphere; {_describe(candidate)})",
            "a surface whose shape is determined: an ellipsoid with axes at most "
            f"{MAX_AXIS_RATIO:g} apart")
    if not ratio <= MAX_AXIS_RATIO:
        return LandmarkNotFoundError(
            LandmarkRefusal.NOT_SPHERICAL, name, f"ellipsoid axis ratio {ratio:.3f} "
            f"({_describe(candidate)})", f"at most {MAX_AXIS_RATIO:g}")
    fraction = len(candidate.inliers) / len(candidate.band)
    if not fraction >= MIN_INLIER_FRACTION:
        return LandmarkNotFoundError(
            LandmarkRefusal.NOT_SPHERICAL, name, f"{100 * fraction:.0f} % of the head's surface "
            f"faces on the fitted sphere ({_describe(candidate)})",
            f"at least {100 * MIN_INLIER_FRACTION:.0f} %")
    fit = SphereFitQuality(
        rms_mm=round(candidate.rms_mm, 4), inliers=len(candidate.inliers),
        inlier_fraction=round(fraction, 4),
        coverage=round(candidate.coverage, 4), ci95_radius_mm=round(ci95, 4),
        ci95_lps_mm=tuple((round(float(a), 4), round(float(b), 4)) for a, b in box),
        axis_ratio=round(ratio, 4), seconds=0.0)
    return Landmark(name, (round(float(centre[0]), 4), round(float(centre[1]), 4),
                           round(float(centre[2]), 4)), round(float(radius), 4),
                    LandmarkSource.FOUND, fit)


def find_femoral_head(label_map: LabelMap, *, bone_labels: Sequence[int], side: Side,
                      femur_labels: Sequence[int] | None = None,
                      outside_view: BoolArray | None = None) -> Landmark:
    """Find one side's femoral head (see :func:`find_femoral_heads`).

    Raises
    ------
    LandmarkNotFoundError
        No head of the side, its side unclear, truncated by the field of view, not spherical
        enough or unstable; the check, the value measured and its limit are named.
    """
    result = find_femoral_heads(
        label_map, bone_labels=bone_labels, sides=(side,),
        femur_labels=None if femur_labels is None else {side: femur_labels},
        outside_view=outside_view)[side]
    if isinstance(result, LandmarkNotFoundError):
        raise result
    return result


def needed_landmarks(procedure: LoadedProcedure, side: Side | None) -> tuple[str, ...]:
    """Landmark names (with the side's prefix) a case of the template needs, in name order:
    its regions' landmarks for the side, and both of the midline check's pair."""
    template = procedure.procedure
    prefix = "" if side is None else f"{side.value}-"
    names = {f"{prefix}{name}" for name in template.landmarks()}
    if template.laterality_check is LateralityCheck.MIDLINE:
        names |= {f"{s.value}-{template.laterality_landmark}" for s in (Side.LEFT, Side.RIGHT)}
    return tuple(sorted(names))


def complete_landmarks(label_map: LabelMap, procedure: LoadedProcedure, *, side: Side | None,
                       given: Mapping[str, Landmark], outside_view: BoolArray | None = None,
                       codes: Mapping[int, SegmentCode] | None = None) -> dict[str, Landmark]:
    """The case's landmarks: those given, and the needed femoral heads not given, found.

    Given landmarks override found ones (and are recorded as given); only the landmarks the
    template needs and the case lacks are searched for.  The bone is the labels playing the
    template's corridor roles (the role table, with the DICOM SEG ``codes``); where the
    segmentation labels each femur apart with its side (TotalSegmentator's ``femur_left``), a
    head is searched on its own side's femur only.

    Raises
    ------
    LandmarkNotFoundError
        A needed landmark that is not given cannot be found (the first refusal, by name).
    PlanningError
        None of the corridor's labels is in the label map.
    """
    landmarks = dict(given)
    if procedure.procedure.sided != (side is not None):
        return landmarks  # the planner refuses the side, naming it, before any landmark
    wanted: dict[Side, str] = {}
    for name in needed_landmarks(procedure, side):
        if name in landmarks:
            continue
        for s in Side:
            if name == f"{s.value}-{FEMORAL_HEAD}":
                wanted[s] = name
    if not wanted:
        return landmarks
    mapping = map_roles(label_map.names, codes)
    bone = corridor_values(procedure.procedure.corridor, label_map.names, mapping)
    femurs = [item for item in mapping.labels if item.role == FEMUR_ROLE]
    femur_labels: dict[Side, tuple[int, ...]] | None = None
    if femurs and all(item.side is not None for item in femurs):
        femur_labels = {s: tuple(i.value for i in femurs if i.side == s.value) for s in Side}
        femur_labels = {s: v for s, v in femur_labels.items() if v}
    found = find_femoral_heads(label_map, bone_labels=bone, sides=tuple(wanted),
                               femur_labels=femur_labels, outside_view=outside_view)
    for s, name in sorted(wanted.items(), key=lambda item: item[1]):
        result = found[s]
        if isinstance(result, LandmarkNotFoundError):
            raise result
        landmarks[name] = result
    return landmarks
