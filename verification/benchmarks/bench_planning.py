"""Benchmark of trajectory planning: Corridor's planner against a VTK brute-force search.

The script makes the pelvis phantom's ground-truth label map (512 x 512 x 400 voxels at
0.75 x 0.75 x 1.0 mm by default), writes it as ``labels.seg.nrrd`` with the phantom's
landmarks, and times, best of ``--repeat``:

* **Corridor, total** (the target): reading the label map, then planning an acetabular
  screw on the left (region of interest, distance fields, coarse search, refinement,
  final evaluation, the independent VTK re-check), the risk map and writing the plan
  folder: what ``corridor plan-trajectory`` does after start-up.
* **Brute force with VTK mesh-distance queries** (the named alternative): the same
  candidate lines (the coarse search's and the refinement's, same sampling step), judged
  by the same constraint code, but with every distance a ``vtkImplicitPolyDataDistance``
  query to marching-cubes surfaces of the corridor and the risk structures instead of a
  distance-field lookup.  It would take hours on every candidate, so it runs on a random
  sample of ``--brute-lines`` candidate lines and its time is extrapolated linearly to the
  whole candidate set (surface building counted once).  On the sampled lines the two
  methods' margins are compared.

Targets: Corridor's total under 10 s on the 2-core machine, and at least 20 times faster
than the brute force on the same candidate set.

Usage::

    python verification/benchmarks/bench_planning.py [--shape 512 512 400] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import vtkmodules
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkDoubleArray
from vtkmodules.vtkFiltersCore import vtkImplicitPolyDataDistance

from _common import cpu_model, run_main
from corridor import __version__
from corridor.cli import main as corridor_main
from corridor.images import read_label_map
from corridor.planning import Side, load_landmarks, load_procedure
from corridor.planning import search as search_module
from corridor.planning.prepare import prepare_case
from corridor.planning.recheck import structure_surface
from corridor.planning.search import Problem, SearchOptions, evaluate
from corridor_phantoms import make_phantom, write_series

DEFAULT_SHAPE = (512, 512, 400)
DEFAULT_SPACING = (0.75, 0.75, 1.0)
TARGET_SECONDS = 10.0
TARGET_SPEED = 20.0


class _VtkField:
    """A distance "field" answering every lookup with VTK point-to-surface queries."""

    def __init__(self, surface: Any, geometry: Any, sign: float, outside_value: float,
                 cap: float, offset: float) -> None:
        self.query = vtkImplicitPolyDataDistance()
        self.query.SetInput(surface)
        self.geometry, self.sign, self.outside_value = geometry, sign, outside_value
        self.cap, self.offset = cap, offset
        self.queries = 0

    def sample(self, index: NDArray[np.float64], *, order: int) -> NDArray[np.float32]:
        del order
        points = self.geometry.index_to_lps(index.T)
        values = vtkDoubleArray()
        self.query.FunctionValue(numpy_to_vtk(np.ascontiguousarray(points), deep=1), values)
        self.queries += len(points)
        distance = self.sign * vtk_to_numpy(values)
        return np.minimum(distance, self.cap).astype(np.float32)


def _brute_problem(problem: Problem, prepared: Any) -> tuple[Problem, float]:
    clock = time.perf_counter()
    geometry = problem.roi.geometry
    surface = structure_surface(prepared.corridor_mask, geometry)
    corridor = _VtkField(surface, geometry, -1.0, problem.corridor.outside_value,
                         prepared.cap_mm, 0.0)
    risks = []
    for (field, required), mask in zip(problem.risks, prepared.risk_masks, strict=True):
        risk_surface = structure_surface(mask.mask, geometry)
        risks.append((_VtkField(risk_surface, geometry, 1.0, field.outside_value,
                                prepared.cap_mm, 0.0), required))
    values = {f: getattr(problem, f) for f in Problem.__dataclass_fields__}
    values.update(corridor=corridor, risks=tuple(risks))
    return Problem(**values), time.perf_counter() - clock


def _queries(problem: Problem) -> int:
    fields = [problem.corridor, *(field for field, _ in problem.risks)]
    return sum(int(getattr(field, "queries", 0)) for field in fields)


def _corridor_run(labels: Path, landmarks: Path, out: Path) -> tuple[float, dict[str, Any]]:
    if out.exists():
        shutil.rmtree(out)
    clock = time.perf_counter()
    status = corridor_main(["plan-trajectory", str(labels), "--procedure", "acetabular-screw",
                            "--side", "left", "--landmarks", str(landmarks), "--out", str(out)])
    seconds = time.perf_counter() - clock
    if status != 0:
        raise SystemExit(f"corridor plan-trajectory exited {status}")
    return seconds, json.loads((out / "plan.json").read_text())


def _benchmark(args: argparse.Namespace, base: Path) -> bool:
    shape, spacing = tuple(args.shape), tuple(args.spacing)
    clock = time.perf_counter()
    written = write_series(make_phantom("pelvis", shape=shape, spacing=spacing, noise_hu=0.0),
                           base / "pelvis")
    setup_s = time.perf_counter() - clock
    labels = written.out_dir / "truth" / "labels.seg.nrrd"
    landmarks = written.out_dir / "truth" / "landmarks.json"
    runs = []
    for number in range(args.repeat):
        with contextlib.redirect_stdout(io.StringIO()):
            runs.append(_corridor_run(labels, landmarks, base / f"plan-{number}"))
    total = min(r[0] for r in runs)
    document = runs[0][1]
    search = document["search"]
    timings = search["timings_s"]

    # The same candidate lines, judged with VTK queries: rebuild the case in process.
    label_map = read_label_map(labels)
    loaded = load_procedure("acetabular-screw")
    prepared = prepare_case(label_map, loaded, side=Side.LEFT, landmarks=load_landmarks(landmarks))
    problem = prepared.problem
    options = SearchOptions()
    rng = np.random.default_rng(0)
    anchors = search_module._seeds(prepared.seeds, options.seed_spacing_mm)
    directions = search_module.cone_directions(problem.reference, problem.max_deviation_deg,
                                               options.direction_step_deg)
    normals = search_module.inward_normals(problem.corridor, problem.roi, anchors)
    keep = np.nonzero(normals @ directions.T >= np.cos(np.radians(
        min(90.0, problem.max_entry_angle_deg + 20.0))))
    candidates = np.column_stack(keep)
    sample = candidates[rng.choice(len(candidates), size=min(args.brute_lines, len(candidates)),
                                   replace=False)]
    lines_a, lines_d = anchors[sample[:, 0]], directions[sample[:, 1]]
    brute, surfaces_s = _brute_problem(problem, prepared)
    clock = time.perf_counter()
    judged = evaluate(brute, lines_a, lines_d, step_mm=options.coarse_step_mm, order=0)
    brute_lines_s = time.perf_counter() - clock
    fields = evaluate(problem, lines_a, lines_d, step_mm=options.coarse_step_mm, order=1)
    # Compare where both methods measure a distance: admissible lines, and values neither
    # capped nor outside the corridor (the field reads outside points as a constant; VTK
    # gives how far outside, which the constraint does not need).
    both = (judged.admissible & fields.admissible)[:, :, None]
    cap = prepared.cap_mm - problem.radius_mm
    valid = (both & np.isfinite(judged.estimates) & np.isfinite(fields.estimates)
             & (fields.estimates >= 0) & (judged.estimates >= 0)
             & (fields.estimates < cap - 1e-3) & (judged.estimates < cap - 1e-3))
    difference = np.abs(judged.estimates - fields.estimates)[valid]
    coarse_lines = int(search["coarse_lines_sampled"])
    refined_lines = int(search["refined_lines"])
    per_line = brute_lines_s / len(sample)
    # Refinement samples at 0.5 mm instead of 1 mm: twice the queries per line.
    brute_total = (surfaces_s + per_line * coarse_lines
                   + per_line * (options.coarse_step_mm / options.refine_step_mm) * refined_lines)
    speed = brute_total / total
    met = total < TARGET_SECONDS and speed >= TARGET_SPEED

    print("Corridor planning benchmark")
    print(f"  machine   : {cpu_model()}; os.cpu_count()={os.cpu_count()}; "
          f"{platform.system()} {platform.release()}; Python {platform.python_version()}")
    print(f"  software  : corridor {__version__}; VTK {vtkmodules.__version__}; "
          f"numpy {np.__version__}")
    print(f"  label map : pelvis phantom ground truth, {shape[0]} x {shape[1]} x {shape[2]} at "
          + " x ".join(f"{s:g}" for s in spacing) + f" mm (made in {setup_s:.1f} s, not timed)")
    print(f"  procedure : acetabular-screw, left; verdict {document['verdict']}")
    print()
    print(f"  Corridor, total, best of {args.repeat}: {total:6.2f} s  (runs: "
          + ", ".join(f"{r[0]:.2f}" for r in runs) + ")")
    print(f"    read label map {document['timings_s']['read_s']:.2f} s, plan "
          f"{document['timings_s']['plan_s']:.2f} s of which: "
          + ", ".join(f"{k[:-2]} {v:.2f} s" for k, v in timings.items()))
    print(f"    region of interest {search['roi_shape_ijk']}, {search['candidates']} candidates "
          f"in the cone, {coarse_lines} coarse lines sampled, {refined_lines} refined")
    print()
    print(f"  brute force with VTK mesh-distance queries, {len(sample)} random candidate lines "
          f"of the same set:")
    print(f"    surfaces {surfaces_s:.2f} s, {per_line * 1000:.1f} ms a line "
          f"({_queries(brute)} queries)")
    print(f"    extrapolated to the whole candidate set ({coarse_lines} + {refined_lines} lines):"
          f" {brute_total:.0f} s")
    print(f"    agreement on the sampled lines: |VTK - field| median "
          f"{np.median(difference):.3f} mm, 99th percentile {np.percentile(difference, 99):.3f} "
          f"mm, largest {np.max(difference):.3f} mm over {difference.size} clearances (admissible"
          f" lines, inside, below the cap)")
    print(f"  speed (brute force / Corridor total): {speed:.0f}")
    print()
    print(f"  targets: total < {TARGET_SECONDS:g} s and >= {TARGET_SPEED:g} x faster: "
          + ("MET" if met else "MISSED"))
    return met


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=list(DEFAULT_SHAPE))
    parser.add_argument("--spacing", type=float, nargs=3, default=list(DEFAULT_SPACING))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--brute-lines", type=int, default=300)
    parser.add_argument("--enforce", action="store_true")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the phantom and plans")
    return parser


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.repeat < 1 or args.brute_lines < 10:
        parser.error("--repeat must be at least 1 and --brute-lines at least 10")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 with ``--enforce`` when a target is missed."""
    return run_main(_parser(), _validate, _benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())
