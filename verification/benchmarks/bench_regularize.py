"""Benchmark of ``corridor.ingest.regularize.regularize`` against SciPy's general linear resampling.

The script builds a CT stack in memory (no files): int16, 512 x 512 x 120 slices by default
(``--shape``), pixel spacing 0.488 mm, axial slices 1.25 mm apart along the table, padding
(Pixel Padding Value) outside a disc inscribed in the image; the content is an ellipsoid of
about 1000 HU (a smooth gradient of +-100 HU across it) in -1000 HU air with noise of 10 HU,
so that the interpolation meets both smooth regions and edges.  Two cases:

* **(a) tilt**: gantry tilted 18.5 degrees (``--tilt``): each slice shifted in-plane along the
  column direction by ``step * tan(tilt)`` from the one before;
* **(b) tilt and variable spacing**: the same tilt, the first half of the slices 1.25 mm apart
  and the second half 2.5 mm apart.

For each case these are timed, best of ``--repeat``, interleaved in each round after one untimed
run of each (the agreement check below):

* **corridor**: ``regularize(stack, positions, orientation, spacing, padding)``, returning the HU
  (float32) and the padding mask on the regular grid;
* **map_coordinates** (the named alternative; the target is judged against it): what a
  straightforward implementation does.  The output grid is Corridor's returned geometry; the
  full coordinate array of every output voxel in the stack's index space (3 x float64 a voxel,
  the fractional slice index from the position along the normal, the in-plane indices with the
  slices' shifts interpolated at it) is built, then ``scipy.ndimage.map_coordinates(stack,
  coords, order=1)`` samples the HU (float32 output) and the padding mask (read as uint8;
  padding where the sample is above 1e-6, Corridor's snapping, and outside the stack), and the
  padding voxels get :data:`~corridor.ingest.regularize.FILL_HU`: the same output as Corridor's,
  HU and mask;
* **affine_transform** (case (a) only): dicom2nifti's approach, ``scipy.ndimage.affine_transform``
  (order 1) with the index-space matrix of the tilted stack, for HU and mask alike; it handles a
  tilt but not variable spacing (the map from output to stack index is then not affine);
* **map_coordinates, Corridor's interpolant** (context): two ``map_coordinates(order=1)`` passes,
  each with a full coordinate array, that sample the two acquired slices bracketing each output
  plane at the output voxel's projection along the normal, blended by the distance: the very
  values Corridor computes, which the single call does not (below).

Agreement, checked in the same run before timing (the script stops when a like-for-like check
fails): Corridor and Corridor's interpolant done with ``map_coordinates`` agree within 0.01 HU on
every voxel that neither marks as padding; ``affine_transform`` and ``map_coordinates`` agree
within 0.01 HU; and on a stack whose HU are an affine function of position (float32; linear
interpolation is exact on it by either rule) Corridor and the single ``map_coordinates`` call
agree within 0.01 HU, which shows that both fill the same grid.  On the CT content the single
call may differ from Corridor, and this is printed, not checked: trilinear interpolation in the
stack's index space blends two slices along the stacking direction (tilted), Corridor along the
slice normal; for a tilted stack they are different linear interpolants, both exact for affine
HU.  They coincide in case (a), where every output plane lies on an acquired one (the slices
are 1.25 mm apart along the normal, the output step), and differ in case (b) on the planes
between the 2.5 mm slices, near edges by hundreds of HU and through the noise.

Peak memory: the peak of the memory traced by :mod:`tracemalloc` (NumPy's and SciPy's array
allocations) during one call, run apart from the timed calls, over the size of the output (HU
float32 plus the mask, one byte a voxel).  The stack, made before, is not counted.

Targets, each case, at the default shape (on small stacks the few planes Corridor keeps weigh
more against the output): Corridor's best wall time at most 1.0 x the ``map_coordinates``
alternative's, and Corridor's peak memory at most 1.5 x the output.  Each line says PASS or
FAIL; a missed target exits 1 unless ``--no-enforce``.  ``--keep DIR`` writes each case's
stack, padding and positions (``.npy``) there, for profiling.

Usage::

    python verification/benchmarks/bench_regularize.py \\
        [--shape 512 512 120] [--tilt 18.5] [--repeat 3] [--keep DIR] [--no-enforce]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import scipy
from numpy.typing import NDArray
from scipy import ndimage

from _common import Timing, cpu_model, memory_total, run_main, source_commit
from corridor.geometry import ImageGeometry
from corridor.ingest.regularize import FILL_HU, regularize

__all__ = [
    "AgreementError",
    "Case",
    "Output",
    "StackFrame",
    "main",
    "make_case",
    "run_affine_transform",
    "run_corridor",
    "run_map_coordinates",
    "run_map_coordinates_exact",
]

DEFAULT_SHAPE = (512, 512, 120)
"""Voxels along i (columns), j (rows) and k (slices) by default."""
DEFAULT_TILT_DEG = 18.5
"""Gantry tilt (degrees) by default."""
DEFAULT_REPEAT = 3
"""Timed rounds by default; the best of each method is reported."""
PIXEL_SPACING_MM = 0.488
"""Pixel spacing along rows and columns (mm)."""
STEP_MM = 1.25
"""Slice step along the table (mm); the second half of case (b) has twice this."""
NOISE_HU = 10.0
"""Standard deviation of the Gaussian noise added to the content (HU)."""
PADDING_VALUE = -2000
"""Stored value of the padding voxels (outside the disc)."""
SEED = 0
"""Seed of the noise."""

TARGET_TIME_RATIO = 1.0
"""Corridor's best wall time over the ``map_coordinates`` alternative's: at most this."""
TARGET_MEMORY_RATIO = 1.5
"""Corridor's traced peak memory over its output (HU float32 plus mask): at most this."""
AGREEMENT_HU = 0.01
"""Largest difference (HU) allowed between like-for-like results, on voxels not padding."""
SNAP = 1e-6
"""As Corridor: a blending weight closer than this to 0 or 1 is taken as 0 or 1."""
MEBIBYTE = 1 << 20
"""Bytes in a mebibyte."""


class AgreementError(AssertionError):
    """Two results that must agree do not; the timings would compare different work."""

    def __init__(self, what: str, found: object, expected: object) -> None:
        self.what = what
        self.found = found
        self.expected = expected
        super().__init__(f"regularize benchmark: {what}: found {found}, expected {expected}")


@dataclass(frozen=True)
class Case:
    """One input stack, as ``regularize`` takes it.

    Attributes
    ----------
    name
        Label of the case.
    stack
        HU ``(k, j, i)``, int16 (float32 for the affine-field check).
    padding
        Padding voxels ``(k, j, i)``.
    positions
        Image Position (Patient) of each slice (mm, LPS).
    orientation
        Image Orientation (Patient): row cosines, then column cosines.
    spacing
        Pixel Spacing (row spacing, column spacing) mm.
    """

    name: str
    stack: NDArray[np.generic]
    padding: NDArray[np.bool_]
    positions: NDArray[np.float64]
    orientation: NDArray[np.float64]
    spacing: NDArray[np.float64]


@dataclass(frozen=True)
class Output:
    """HU and padding mask, both ``(k, j, i)`` C-contiguous (Corridor's ``hu.T``)."""

    hu: NDArray[np.float32]
    mask: NDArray[np.bool_]

    @property
    def nbytes(self) -> int:
        """Size of the output: HU plus mask."""
        return self.hu.nbytes + self.mask.nbytes


def _gaps(count: int, variable: bool) -> NDArray[np.float64]:
    if not variable:
        return np.full(count - 1, STEP_MM)
    first = count // 2 - 1
    return np.concatenate([np.full(first, STEP_MM), np.full(count - 1 - first, 2 * STEP_MM)])


def make_case(name: str, shape: tuple[int, int, int], tilt_deg: float, variable: bool, *,
              affine_field: bool = False) -> Case:
    """The stack of one case: tilted, and with ``variable`` its second half twice as far apart.

    Parameters
    ----------
    name
        Label of the case.
    shape
        Voxels along i (columns), j (rows) and k (slices).
    tilt_deg
        Gantry tilt: slice ``k`` is shifted along the column direction by ``z_k * tan(tilt)``,
        ``z_k`` its distance from the first slice along the table.
    variable
        Second half of the slices twice as far apart as the first.
    affine_field
        HU an affine function of position (float32, no noise) instead of the CT content.
    """
    ni, nj, nk = shape
    sp = PIXEL_SPACING_MM
    z = np.concatenate([[0.0], np.cumsum(_gaps(nk, variable))])
    shift = z * math.tan(math.radians(tilt_deg))
    x0, y0 = -(ni - 1) / 2 * sp, -(nj - 1) / 2 * sp
    positions = np.stack([np.full(nk, x0), y0 + shift, z], axis=1)
    x = x0 + np.arange(ni) * sp
    y = y0 + np.arange(nj) * sp
    radius = (min(ni, nj) - 1) / 2 - 2
    jj, ii = np.ogrid[:nj, :ni]
    disc = (ii - (ni - 1) / 2) ** 2 + (jj - (nj - 1) / 2) ** 2 <= radius**2
    centre = np.array([0.0, shift[-1] / 2, z[-1] / 2])
    semi = np.array([0.35 * ni * sp, 0.25 * nj * sp, 0.45 * max(z[-1], sp)])
    rng = np.random.default_rng(SEED)
    stack = np.empty((nk, nj, ni), dtype=np.float32 if affine_field else np.int16)
    for k in range(nk):
        xs = x[None, :]
        ys = (y + shift[k])[:, None]
        if affine_field:
            values = 0.5 * xs + 0.8 * ys + 2.0 * z[k] - 100.0 + np.zeros((nj, ni))
        else:
            inside = (((xs - centre[0]) / semi[0]) ** 2 + ((ys - centre[1]) / semi[1]) ** 2
                      + ((z[k] - centre[2]) / semi[2]) ** 2) <= 1.0
            values = np.where(inside, 1000.0 + 100.0 * xs / semi[0], -1000.0)
            values += rng.normal(0.0, NOISE_HU, values.shape)
        values[~disc] = PADDING_VALUE
        stack[k] = np.rint(values) if not affine_field else values
    padding = np.broadcast_to(~disc, stack.shape).copy()
    return Case(name, stack, padding, positions, np.array([1.0, 0, 0, 0, 1, 0]),
                np.array([sp, sp]))


class StackFrame:
    """Where each output voxel lies in the stack's index space ``(k, j, i)``.

    The output grid is Corridor's returned geometry: i and j along the rows and columns,
    k along the slice normal (asserted); so the position along the normal depends on the
    output plane only, and each coordinate is a sum of three terms, one per output axis.
    """

    def __init__(self, case: Case, geometry: ImageGeometry) -> None:
        row, column = case.orientation[:3], case.orientation[3:]
        normal = np.cross(row, column)
        normal /= np.linalg.norm(normal)
        affine = geometry.affine
        steps = affine[:3, :3]
        if abs(steps[:, 0] @ normal) > 1e-9 or abs(steps[:, 1] @ normal) > 1e-9:
            raise AgreementError("output grid", "i or j not in the slice plane",
                                 "i and j along the rows and columns")
        self.shape_kji = tuple(reversed(geometry.shape))
        spacing_j, spacing_i = float(case.spacing[0]), float(case.spacing[1])
        relative = case.positions - case.positions[0]
        self.along = case.positions @ normal
        self.u = relative @ row / spacing_i
        self.v = relative @ column / spacing_j
        nk, nj, ni = self.shape_kji
        origin = affine[:3, 3] - case.positions[0]
        m, j, i = np.arange(nk), np.arange(nj), np.arange(ni)
        self.kf = np.interp(affine[:3, 3] @ normal + m * (steps[:, 2] @ normal), self.along,
                            np.arange(len(self.along)))
        # In-plane indices without the slice's own shift, one term per output axis.
        self.i_terms = (origin @ row / spacing_i + m * (steps[:, 2] @ row) / spacing_i,
                        j * (steps[:, 1] @ row) / spacing_i, i * (steps[:, 0] @ row) / spacing_i)
        self.j_terms = (origin @ column / spacing_j + m * (steps[:, 2] @ column) / spacing_j,
                        j * (steps[:, 1] @ column) / spacing_j,
                        i * (steps[:, 0] @ column) / spacing_j)

    def coordinates(self, k: NDArray[np.float64], u: NDArray[np.float64],
                    v: NDArray[np.float64]) -> NDArray[np.float64]:
        """The full ``(3, nk, nj, ni)`` array: slice index ``k`` and shifts ``u``, ``v`` a plane."""
        coords = np.empty((3, *self.shape_kji))
        coords[0] = k[:, None, None]
        for axis, (by_m, by_j, by_i), shift in ((1, self.j_terms, v), (2, self.i_terms, u)):
            coords[axis] = (by_m - shift)[:, None, None]
            coords[axis] += by_j[None, :, None]
            coords[axis] += by_i[None, None, :]
        return coords

    def trilinear(self) -> NDArray[np.float64]:
        """Coordinates for one trilinear sample: the slices' shifts interpolated at ``kf``."""
        index = np.arange(len(self.along))
        return self.coordinates(self.kf, np.interp(self.kf, index, self.u),
                                np.interp(self.kf, index, self.v))

    def bracket(self) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Lower bracketing slice of each output plane and the weight of the upper (snapped)."""
        lower = np.clip(np.floor(self.kf).astype(np.intp), 0, len(self.along) - 2)
        weight = self.kf - lower
        weight[weight < SNAP] = 0.0
        weight[weight > 1.0 - SNAP] = 1.0
        return lower, weight

    def affine_matrix(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``affine_transform``'s matrix and offset; only where the map is affine (tilt only)."""
        coords = self.trilinear()
        nk, nj, ni = self.shape_kji
        offset = coords[:, 0, 0, 0].copy()
        matrix = np.stack([coords[:, min(1, nk - 1), 0, 0], coords[:, 0, min(1, nj - 1), 0],
                           coords[:, 0, 0, min(1, ni - 1)]], axis=1) - offset[:, None]
        corner = matrix @ np.array([nk - 1, nj - 1, ni - 1]) + offset
        if not np.allclose(corner, coords[:, -1, -1, -1], atol=1e-6):
            raise AgreementError("affine_transform", "a map from output to stack index that is "
                                 "not affine", "a stack with uniform spacing")
        return matrix, offset


def run_corridor(case: Case) -> tuple[Output, ImageGeometry]:
    """``regularize`` on the case; HU and mask as ``(k, j, i)``."""
    hu, geometry, mask, _ = regularize(case.stack, case.positions, case.orientation,
                                       case.spacing, case.padding, frame_of_reference_uid=None)
    return Output(hu.T, mask.T), geometry


def _sample(case: Case, coords: NDArray[np.float64]) -> tuple[NDArray[np.float32],
                                                               NDArray[np.bool_]]:
    """HU and padding (a weight above ``SNAP`` on padding, or outside) at ``coords``, linearly.

    The threshold, as Corridor's snapping, keeps floating-point noise in the coordinates
    (8.9999999 for 9) from giving a padding neighbour a weight.
    """
    hu = ndimage.map_coordinates(case.stack, coords, order=1, output=np.float32,
                                 mode="constant", cval=FILL_HU)
    padding = ndimage.map_coordinates(case.padding.view(np.uint8), coords, order=1,
                                      output=np.float32, mode="constant", cval=1.0) > SNAP
    return hu, padding


def run_map_coordinates(case: Case, frame: StackFrame) -> Output:
    """The named alternative: one ``map_coordinates(order=1)`` over the full coordinate array."""
    hu, mask = _sample(case, frame.trilinear())
    hu[mask] = FILL_HU
    return Output(hu, mask)


def run_map_coordinates_exact(case: Case, frame: StackFrame) -> Output:
    """Corridor's interpolant with ``map_coordinates``: the bracketing slices, then a blend."""
    lower, weight = frame.bracket()
    upper = lower + 1
    coords = frame.coordinates(lower.astype(np.float64), frame.u[lower], frame.v[lower])
    hu, mask = _sample(case, coords)
    mask &= (weight < 1.0)[:, None, None]
    coords = frame.coordinates(upper.astype(np.float64), frame.u[upper], frame.v[upper])
    hu_upper, mask_upper = _sample(case, coords)
    del coords
    mask |= mask_upper & (weight > 0.0)[:, None, None]
    w = weight.astype(np.float32)[:, None, None]
    hu *= 1.0 - w
    hu_upper *= w
    hu += hu_upper
    hu[mask] = FILL_HU
    return Output(hu, mask)


def run_affine_transform(case: Case, frame: StackFrame) -> Output:
    """dicom2nifti's approach: ``affine_transform(order=1)`` with the stack's index matrix."""
    matrix, offset = frame.affine_matrix()
    hu = ndimage.affine_transform(case.stack, matrix, offset, output_shape=frame.shape_kji,
                                  output=np.float32, order=1, mode="constant", cval=FILL_HU)
    mask = ndimage.affine_transform(case.padding.view(np.uint8), matrix, offset,
                                    output_shape=frame.shape_kji, output=np.float32, order=1,
                                    mode="constant", cval=1.0) > SNAP
    hu[mask] = FILL_HU
    return Output(hu, mask)


@dataclass(frozen=True)
class Difference:
    """How two outputs differ: HU on voxels neither marks as padding, and the masks."""

    largest_hu: float
    p999_hu: float
    over_tolerance: int
    compared: int
    mask_mismatches: int
    voxels: int


def difference(a: Output, b: Output) -> Difference:
    """Compare ``a`` and ``b`` (same shape) voxel by voxel."""
    if a.hu.shape != b.hu.shape:
        raise AgreementError("output shape", b.hu.shape, a.hu.shape)
    both = ~(a.mask | b.mask)
    delta = np.abs(a.hu[both].astype(np.float64) - b.hu[both])
    return Difference(
        largest_hu=float(delta.max()) if delta.size else 0.0,
        p999_hu=float(np.quantile(delta, 0.999)) if delta.size else 0.0,
        over_tolerance=int(np.count_nonzero(delta > AGREEMENT_HU)),
        compared=int(delta.size),
        mask_mismatches=int(np.count_nonzero(a.mask != b.mask)),
        voxels=a.hu.size,
    )


def _require(what: str, found: Difference) -> None:
    if found.largest_hu > AGREEMENT_HU:
        raise AgreementError(what, f"{found.largest_hu:.4g} HU on voxels not padding",
                             f"at most {AGREEMENT_HU} HU")


Method = Callable[[], Output]


def _clock(method: Method) -> tuple[float, float]:
    gc.collect()
    cpu = time.process_time()
    start = time.perf_counter()
    output = method()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    del output
    return wall, cpu


def traced_peak(method: Method) -> tuple[int, int]:
    """Peak memory traced by :mod:`tracemalloc` during one call, and the output's size."""
    gc.collect()
    tracemalloc.start()
    try:
        output = method()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = output.nbytes
    del output
    return peak, size


@dataclass(frozen=True)
class CaseResult:
    """What one case measured."""

    case: Case
    geometry: ImageGeometry
    tilt_deg: float
    reasons: tuple[str, ...]
    output_bytes: int
    timings: dict[str, Timing]
    peaks: dict[str, int]
    exact: Difference
    single: Difference
    affine_field: Difference
    affine_vs_single: Difference | None


LABELS = {
    "corridor": "corridor regularize()",
    "map_coordinates": "map_coordinates, one call (named)",
    "affine_transform": "affine_transform (dicom2nifti)",
    "exact": "map_coordinates, Corridor's interpolant",
}
"""Printed name of each method."""


def measure_case(case: Case, tilt_deg: float, repeat: int, keep: Path | None) -> CaseResult:
    """Check agreement, time the methods interleaved, measure their traced peaks."""
    if keep is not None:
        folder = keep / case.name.split()[0].strip("()")
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("stack", "padding", "positions"):
            np.save(folder / f"{name}.npy", getattr(case, name))
    hu, geometry, mask, record = regularize(case.stack, case.positions, case.orientation,
                                            case.spacing, case.padding,
                                            frame_of_reference_uid=None)
    corridor = Output(hu.T, mask.T)
    del hu, mask
    frame = StackFrame(case, geometry)
    uniform = not any(r.value == "variable-spacing" for r in record.reasons)
    exact = difference(corridor, run_map_coordinates_exact(case, frame))
    _require("corridor against Corridor's interpolant done with map_coordinates", exact)
    single_output = run_map_coordinates(case, frame)
    single = difference(corridor, single_output)
    affine_vs_single = None
    if uniform:
        affine_vs_single = difference(single_output, run_affine_transform(case, frame))
        _require("affine_transform against map_coordinates", affine_vs_single)
    output_bytes = corridor.nbytes
    del corridor, single_output

    nk, nj, ni = case.stack.shape
    field_case = make_case(case.name, (ni, nj, nk), tilt_deg, not uniform, affine_field=True)
    field_output, field_geometry = run_corridor(field_case)
    if not np.allclose(field_geometry.affine, geometry.affine):
        raise AgreementError("geometry of the affine-field stack", field_geometry.affine,
                             geometry.affine)
    affine_field = difference(field_output,
                              run_map_coordinates(field_case, StackFrame(field_case, geometry)))
    _require("corridor against map_coordinates on HU affine in position", affine_field)
    del field_output, field_case
    gc.collect()

    methods: dict[str, Method] = {
        "corridor": lambda: run_corridor(case)[0],
        "map_coordinates": lambda: run_map_coordinates(case, frame),
    }
    if uniform:
        methods["affine_transform"] = lambda: run_affine_transform(case, frame)
    methods["exact"] = lambda: run_map_coordinates_exact(case, frame)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in methods}
    for _ in range(repeat):
        for name, method in methods.items():
            runs[name].append(_clock(method))
    timings = {name: Timing(tuple(w for w, _ in r), tuple(c for _, c in r))
               for name, r in runs.items()}
    peaks = {name: traced_peak(method)[0] for name, method in methods.items()}
    return CaseResult(case, geometry, record.tilt_deg, tuple(r.value for r in record.reasons),
                      output_bytes, timings, peaks, exact, single, affine_field,
                      affine_vs_single)


def _verdict(met: bool) -> str:
    return "PASS" if met else "FAIL"


def _describe(name: str, found: Difference) -> str:
    return (f"{name}: largest {found.largest_hu:.4g} HU, 99.9th percentile {found.p999_hu:.3g} "
            f"HU, {found.over_tolerance:,} of {found.compared:,} voxels over {AGREEMENT_HU} HU; "
            f"masks differ on {found.mask_mismatches:,} of {found.voxels:,}")


def _report_case(result: CaseResult, default_shape: bool) -> bool:
    case = result.case
    nk, nj, ni = case.stack.shape
    oi, oj, ok = result.geometry.shape
    steps = np.linalg.norm(result.geometry.affine[:3, :3], axis=0)
    gaps = np.unique(np.round(np.diff(case.positions[:, 2]), 6))
    print(f"Case {case.name}")
    print(f"  input   : int16 {ni} x {nj} x {nk}, pixel spacing {PIXEL_SPACING_MM} mm, slices "
          f"{', '.join(f'{g:g}' for g in gaps)} mm apart along the table; tilt "
          f"{result.tilt_deg:.2f} deg; padding {np.count_nonzero(case.padding):,} voxels; "
          f"reasons {', '.join(result.reasons)}")
    print(f"  output  : {oi} x {oj} x {ok} at {steps[0]:.3f} x {steps[1]:.3f} x {steps[2]:.4f} "
          f"mm; HU float32 + mask {result.output_bytes / MEBIBYTE:.1f} MiB")
    indent = " " * 12
    print(f"  agree   : "
          f"{_describe('Corridor vs its interpolant in map_coordinates', result.exact)}")
    print(f"{indent}"
          f"{_describe('Corridor vs map_coordinates, HU affine in position', result.affine_field)}")
    if result.affine_vs_single is not None:
        print(f"{indent}"
              f"{_describe('affine_transform vs map_coordinates', result.affine_vs_single)}")
    print(f"{indent}(not checked: "
          f"{_describe('Corridor vs map_coordinates on this content', result.single)};"
          " trilinear blends slices along the stacking direction, Corridor along the normal; they "
          "coincide where every output plane lies on an acquired one)")
    width = max(len(label) for label in LABELS.values())
    reference = result.timings["map_coordinates"].wall
    print(f"  {'method':<{width}} {'best s':>7} {'cpu s':>6} {'/ named':>8} {'peak MiB':>9} "
          f"{'/ output':>9}  runs (s)")
    for name, timing in result.timings.items():
        peak = result.peaks[name]
        print(f"  {LABELS[name]:<{width}} {timing.wall:7.3f} {timing.cpu:6.3f} "
              f"{timing.wall / reference:8.2f} {peak / MEBIBYTE:9.1f} "
              f"{peak / result.output_bytes:9.2f}  "
              f"{', '.join(f'{w:.3f}' for w in timing.wall_runs)}")
    ratio = result.timings["corridor"].wall / reference
    memory = result.peaks["corridor"] / result.output_bytes
    time_met = ratio <= TARGET_TIME_RATIO
    memory_met = memory <= TARGET_MEMORY_RATIO
    scope = "" if default_shape else " (shape differs from the default the targets are set for)"
    print(f"  target: time <= {TARGET_TIME_RATIO:g} x map_coordinates: {ratio:.2f} "
          f"{_verdict(time_met)}{scope}")
    print(f"  target: peak memory <= {TARGET_MEMORY_RATIO:g} x output: {memory:.2f} "
          f"{_verdict(memory_met)}{scope}")
    print()
    return time_met and memory_met


def _benchmark(args: argparse.Namespace, base: Path) -> bool:
    shape = (args.shape[0], args.shape[1], args.shape[2])
    keep = base if args.keep is not None else None
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "n/a"
    print("Corridor regularize benchmark")
    print(f"  machine : {cpu_model()}; os.cpu_count()={os.cpu_count()}, usable cores "
          f"{affinity}; {memory_total()}; {platform.system()} {platform.release()}")
    print(f"  python  : {platform.python_implementation()} {platform.python_version()}; numpy "
          f"{np.__version__}; scipy {scipy.__version__}; corridor {version('corridor')} at "
          f"{source_commit()}")
    print(f"  rounds  : best of {args.repeat}, methods interleaved, after one untimed run of "
          "each; peak memory by tracemalloc in one more run of each")
    print()
    met = True
    for name, variable in ((f"(a) tilt {args.tilt:g} deg", False),
                           (f"(b) tilt {args.tilt:g} deg, spacing 1.25 then 2.5 mm", True)):
        case = make_case(name, shape, args.tilt, variable)
        result = measure_case(case, args.tilt, args.repeat, keep)
        met = _report_case(result, shape == DEFAULT_SHAPE) and met
        del result
        del case
        gc.collect()
    print(f"  load average {os.getloadavg()[0]:.2f} at the end; targets: "
          f"{'MET' if met else 'MISSED'}")
    return met


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=list(DEFAULT_SHAPE),
                        metavar=("I", "J", "K"),
                        help="voxels along i (columns), j (rows) and k (slices) (default "
                        f"{' '.join(map(str, DEFAULT_SHAPE))})")
    parser.add_argument("--tilt", type=float, default=DEFAULT_TILT_DEG,
                        help=f"gantry tilt in degrees (default {DEFAULT_TILT_DEG:g})")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                        help=f"timed rounds, best reported (default {DEFAULT_REPEAT})")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="write each case's stack, padding and positions (.npy) into DIR")
    parser.add_argument("--enforce", action=argparse.BooleanOptionalAction, default=True,
                        help="exit 1 when a target is missed (default; --no-enforce to report "
                        "only)")
    return parser


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if any(n < 4 for n in args.shape):
        parser.error(f"--shape: found {args.shape}, expected at least 4 voxels along each axis")
    if args.repeat < 1:
        parser.error(f"--repeat: found {args.repeat}, expected at least 1")
    if not 0.0 < args.tilt < 45.0:
        parser.error(f"--tilt: found {args.tilt}, expected between 0 and 45 degrees")


def main(argv: Sequence[str] | None = None) -> int:
    """Build the cases, check agreement, time, print the report.

    Returns
    -------
    int
        0, or 1 when a target is missed (unless ``--no-enforce``).
    """
    return run_main(_parser(), _validate, _benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())
