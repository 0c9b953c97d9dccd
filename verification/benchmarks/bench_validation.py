"""Benchmark of the MRMC analysis: Corridor's closed-form jackknife against textbook recomputation.

Times, best of ``--repeat``:

* **Van Dyke** (5 readers x 2 modalities x 114 cases, ``verification/fixtures/mrmc``): reading
  the CSV, AUCs, jackknife covariance, the OR analyses and the DBM cross-check (target: well
  under a second).
* **A large study**: 20 readers x 2 modalities x 1,000 cases (500 positive) simulated from the
  Roe-Metz model, the same analysis with jackknife covariance (target: under 5 s).

The named alternative, measured in the same run: the textbook jackknife, which recomputes
each leave-one-out AUC from every (negative, positive) pair.  On the large study it would
take hours, so it runs on ``--textbook-cases`` left-out cases of one reader and modality and
is extrapolated linearly to every case and cell (stated as an extrapolation).

Usage::

    python verification/benchmarks/bench_validation.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from _common import cpu_model, run_main
from corridor import __version__
from corridor.cli import main as corridor_main
from corridor_qms.validation import estimate, or_analysis, readings_from_arrays

sys.path.insert(0, str(Path(__file__).parents[1] / "validation"))
from roemetz import NullConfiguration, simulate_null_study

VANDYKE = Path(__file__).parents[1] / "fixtures" / "mrmc" / "vandyke.csv"
TARGET_VANDYKE_S = 1.0
TARGET_LARGE_S = 5.0


def _best(function: object, repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        clock = time.perf_counter()
        function()  # type: ignore[operator]
        runs.append(time.perf_counter() - clock)
    return min(runs), runs


def _vandyke() -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        status = corridor_main(["validate", "mrmc", str(VANDYKE), "--json"])
    if status != 0:
        raise SystemExit(f"corridor validate mrmc exited {status}")


def _textbook_seconds(ratings: np.ndarray, truth: np.ndarray, cases: int) -> float:
    """Seconds for ``cases`` textbook leave-one-out AUCs of one reader and modality."""
    x = ratings[0, 0]
    clock = time.perf_counter()
    for k in range(cases):
        keep = np.arange(len(x)) != k
        negatives, positives = x[keep][~truth[keep]], x[keep][truth[keep]]
        difference = positives[None, :] - negatives[:, None]
        float(np.mean((difference > 0) + 0.5 * (difference == 0)))
    return time.perf_counter() - clock


def _benchmark(args: argparse.Namespace, base: Path) -> bool:
    del base
    vandyke_s, vandyke_runs = _best(_vandyke, args.repeat)
    rng = np.random.default_rng(1)
    config = NullConfiguration(readers=20, positives=500, negatives=500)
    ratings, truth = simulate_null_study(config, rng)

    def large() -> None:
        readings = readings_from_arrays(ratings, truth)
        or_analysis(estimate(readings), readings.modalities, readings.readers)

    large_s, large_runs = _best(large, args.repeat)
    sample = _textbook_seconds(ratings, truth, args.textbook_cases)
    cells = ratings.shape[0] * ratings.shape[1]
    textbook_s = sample / args.textbook_cases * ratings.shape[2] * cells
    met = vandyke_s < TARGET_VANDYKE_S and large_s < TARGET_LARGE_S
    print("Corridor MRMC analysis benchmark")
    print(f"  machine : {cpu_model()}; os.cpu_count()={os.cpu_count()}; {platform.system()} "
          f"{platform.release()}; Python {platform.python_version()}")
    print(f"  software: corridor {__version__}; numpy {np.__version__}")
    print()
    print(f"  Van Dyke (5 x 2 x 114), CSV to OR + DBM, best of {args.repeat}: {vandyke_s:.4f} s "
          "(runs " + ", ".join(f"{r:.4f}" for r in vandyke_runs) + ")")
    print(f"  20 readers x 2 modalities x 1,000 cases, jackknife OR, best of {args.repeat}: "
          f"{large_s:.3f} s (runs " + ", ".join(f"{r:.3f}" for r in large_runs) + ")")
    print(f"  textbook jackknife (every pair recounted), {args.textbook_cases} left-out cases of "
          f"one cell in {sample:.3f} s; extrapolated to {ratings.shape[2]} cases x {cells} "
          f"cells: {textbook_s:.0f} s")
    print(f"  speed (textbook / Corridor, large study): {textbook_s / large_s:.0f}")
    print(f"  targets: Van Dyke < {TARGET_VANDYKE_S:g} s, large < {TARGET_LARGE_S:g} s: "
          + ("MET" if met else "MISSED"))
    return met


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--textbook-cases", type=int, default=50)
    parser.add_argument("--enforce", action="store_true")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="unused; accepted for symmetry")
    return parser


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.repeat < 1 or args.textbook_cases < 1:
        parser.error("--repeat and --textbook-cases must be at least 1")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 with ``--enforce`` when a target is missed."""
    return run_main(_parser(), _validate, _benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())
