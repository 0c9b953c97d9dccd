"""Benchmark of meshing: Corridor's VTK flying edges against scikit-image's marching cubes.

The script makes the pelvis phantom's bone label map (cortical and cancellous bone,
512 x 512 x 400 voxels at 0.75 x 0.75 x 1.0 mm by default) in memory and times, best
of ``--repeat``, interleaved:

* **extraction, like for like** (the target): Corridor's surface extraction
  (``vtkDiscreteFlyingEdges3D`` on the label cropped to its bounding box, VTK's
  threaded backend) against ``skimage.measure.marching_cubes`` on the same map (level
  0.5, the same spacing).  Both give a raw, unsmoothed triangle surface.
* **Corridor's whole pipeline**: extraction, windowed-sinc smoothing (0.3), quadric
  decimation (``--decimate``, default 0.5), normals, mapping to LPS, and the QA
  (edges, volume, distance of every vertex to the label boundary), for context.

Accuracy is compared in the same run on an analytic sphere (radius 60 mm) in a grid
of the same size and spacing: enclosed volume, area and largest vertex distance to the
sphere for Corridor's default surface and for scikit-image's, against the closed forms.

Target: extraction at least 3 times faster than scikit-image's marching cubes, with
volume and area errors no larger.

Usage::

    python verification/benchmarks/bench_meshing.py [--shape 512 512 400] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import skimage
import vtkmodules
from numpy.typing import NDArray
from skimage.measure import marching_cubes

from _common import cpu_model, run_main, validate_repeat
from corridor import __version__
from corridor.geometry import ImageGeometry
from corridor.meshing.extract import (
    Extractor,
    _extract,
    _image,
    bounding_box,
    extract_surface,
)
from corridor.meshing.quality import enclosed_volume, mesh_quality
from corridor_phantoms import Label, make_phantom

DEFAULT_SHAPE = (512, 512, 400)
DEFAULT_SPACING = (0.75, 0.75, 1.0)
TARGET_SPEED = 3.0
SPHERE_RADIUS_MM = 60.0


def _crop(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    low, high = bounding_box(mask)
    return np.pad(mask[low[0]:high[0], low[1]:high[1], low[2]:high[2]], 1)


def _corridor_extraction(mask: NDArray[np.bool_], spacing: tuple[float, float, float]) -> int:
    polydata = _extract(_image(_crop(mask), spacing), Extractor.FLYING_EDGES)
    return int(polydata.GetNumberOfPolys())


def _skimage(mask: NDArray[np.bool_], spacing: tuple[float, float, float],
             ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    vertices, faces, _, _ = marching_cubes(mask.astype(np.uint8), level=0.5, spacing=spacing)
    return vertices.astype(np.float64), faces.astype(np.int64)


def _area(points: NDArray[np.float64], triangles: NDArray[np.int64]) -> float:
    a, b, c = (points[triangles[:, n]] for n in range(3))
    return float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum() / 2.0)


def _sphere_accuracy(shape: tuple[int, int, int], spacing: tuple[float, float, float],
                     ) -> dict[str, dict[str, float]]:
    geometry = ImageGeometry.from_components(shape=shape, spacing=spacing, direction=np.eye(3),
                                             origin=(0.0, 0.0, 0.0))
    centre = geometry.index_to_lps((np.asarray(shape) - 1) / 2.0) + np.array([0.3, -0.2, 0.1])
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing, strict=True)],
                        indexing="ij", sparse=True)
    mask = sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True)) <= SPHERE_RADIUS_MM**2
    volume = 4.0 / 3.0 * math.pi * SPHERE_RADIUS_MM**3
    area = 4.0 * math.pi * SPHERE_RADIUS_MM**2
    results = {}
    points, triangles = extract_surface(mask, geometry)
    results["corridor (flying edges, smoothing 0.3)"] = (points, triangles)
    vertices, faces = _skimage(mask, spacing)
    results["scikit-image marching cubes"] = (vertices, faces[:, ::-1])  # its winding points in
    report = {}
    for name, (p, t) in results.items():
        report[name] = {
            "volume_error": enclosed_volume(p, t) / volume - 1,
            "area_error": _area(p, t) / area - 1,
            "max_distance_mm": float(np.abs(np.linalg.norm(p - centre, axis=1)
                                            - SPHERE_RADIUS_MM).max()),
        }
    return report


def _benchmark(args: argparse.Namespace, base: Path) -> bool:
    del base
    vtkmodules_version = vtkmodules.__version__ if hasattr(vtkmodules, "__version__") else "?"
    shape = tuple(args.shape)
    spacing = tuple(args.spacing)
    started = time.perf_counter()
    phantom = make_phantom("pelvis", shape=shape, spacing=spacing, seed=3)
    mask = np.isin(np.asarray(phantom.labels), [Label.CORTICAL_BONE, Label.CANCELLOUS_BONE])
    generate_s = time.perf_counter() - started
    geometry = phantom.geometry
    extraction, reference, pipeline = [], [], []
    triangles_corridor = triangles_reference = 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        triangles_corridor = _corridor_extraction(mask, geometry.spacing)
        extraction.append(time.perf_counter() - t)
        t = time.perf_counter()
        triangles_reference = len(_skimage(mask, geometry.spacing)[1])
        reference.append(time.perf_counter() - t)
    t = time.perf_counter()
    points, triangles = extract_surface(mask, geometry, smoothing=0.3, decimation=args.decimate)
    surface_s = time.perf_counter() - t
    t = time.perf_counter()
    quality = mesh_quality(points, triangles, mask, geometry)
    qa_s = time.perf_counter() - t
    pipeline.append(surface_s + qa_s)
    accuracy = _sphere_accuracy(shape, spacing)
    speed = min(reference) / min(extraction)
    print("Corridor meshing benchmark")
    print(f"  machine   : {cpu_model()}; os.cpu_count()={os.cpu_count()}; "
          f"{platform.system()} {platform.release()}")
    print(f"  software  : corridor {__version__}; VTK {vtkmodules_version} (SMP backend "
          f"STDThread); scikit-image {skimage.__version__}; numpy {np.__version__}")
    print(f"  label map : pelvis phantom bone, {shape[0]} x {shape[1]} x {shape[2]} at "
          f"{' x '.join(f'{s:g}' for s in spacing)} mm, {int(mask.sum()):,} bone voxels; "
          f"generated in {generate_s:.0f} s")
    print()
    print(f"  extraction, best of {args.repeat} (runs):")
    print(f"    corridor flying edges        {min(extraction):7.3f} s  "
          f"({', '.join(f'{v:.3f}' for v in extraction)})  {triangles_corridor:,} triangles")
    print(f"    scikit-image marching cubes  {min(reference):7.3f} s  "
          f"({', '.join(f'{v:.3f}' for v in reference)})  {triangles_reference:,} triangles")
    print(f"    speed (scikit-image time / corridor time): {speed:.1f}")
    print()
    print(f"  corridor whole pipeline (one run): surface {surface_s:.2f} s (extraction, "
          f"smoothing 0.3, decimation {args.decimate}, normals), QA {qa_s:.2f} s; "
          f"{len(triangles):,} triangles; QA {'passed' if quality.passed else 'FAILED'}")
    print()
    print(f"  accuracy on an analytic sphere of radius {SPHERE_RADIUS_MM:g} mm, same grid:")
    for name, values in accuracy.items():
        print(f"    {name:<40} volume {values['volume_error']:+.3%}  area "
              f"{values['area_error']:+.3%}  max distance {values['max_distance_mm']:.3f} mm")
    ours, theirs = accuracy.values()
    accurate = (abs(ours["volume_error"]) <= abs(theirs["volume_error"])
                and abs(ours["area_error"]) <= abs(theirs["area_error"]))
    met = speed >= TARGET_SPEED and accurate
    print(f"  target: extraction >= {TARGET_SPEED:g} x faster than scikit-image with volume and "
          f"area errors no larger: {'met' if met else 'MISSED'} (speed {speed:.1f}; accuracy "
          f"{'no worse' if accurate else 'worse'})")
    return met


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", type=int, nargs=3, default=list(DEFAULT_SHAPE))
    parser.add_argument("--spacing", type=float, nargs=3, default=list(DEFAULT_SPACING))
    parser.add_argument("--decimate", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--enforce", action="store_true")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="unused; accepted for symmetry")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 with ``--enforce`` when the target is missed."""
    return run_main(_parser(), validate_repeat, _benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())
