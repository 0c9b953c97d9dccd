"""Benchmark of the MRMC analysis: Corridor's closed-form jackknife against textbook recomputation.

Times, best of ``--repeat``:

* **Van Dyke** (5 readers x 2 modalities x 114 cases, ``verification/fixtures/mrmc``): reading
  the CSV, AUCs, jackknife covariance, the OR analyses and the DBM cross-check (target: well
  under a second).
* **A large study**: 20 readers x 2 modalities x 1,000 cases (500 positive) simulated from the
  Roe-Metz model, the same analysis with jackknife covariance (target: under 5 s).

* **The continuous-endpoint mixed model** (PR-002): ``fit_continuous`` (exact REML) on a
  simulated study of ``--continuous-readers`` x ``--continuous-cases`` (default 4 x 40) x 2
  modalities, against its named alternative measured in the same run on the same data:
  statsmodels MixedLM as Corridor fitted it before PR-002 (three optimisers, the best polished
  by a gradient fit), once.  Then a pivotal 10 x 200 study (target: under 10 s, SRS-VAL-023).

The named alternative of the AUC analyses, measured in the same run: the textbook jackknife,
which recomputes each leave-one-out AUC from every (negative, positive) pair.  On the large
study it would take hours, so it runs on ``--textbook-cases`` left-out cases of one reader and
modality and is extrapolated linearly to every case and cell (stated as an extrapolation).

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
from corridor_qms.validation.continuous import Measurements, fit_continuous

sys.path.insert(0, str(Path(__file__).parents[1] / "validation"))
from roemetz import NullConfiguration, simulate_null_study

VANDYKE = Path(__file__).parents[1] / "fixtures" / "mrmc" / "vandyke.csv"
TARGET_VANDYKE_S = 1.0
TARGET_LARGE_S = 5.0
TARGET_PIVOTAL_S = 10.0


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


def _continuous_study(readers: int, cases: int, seed: int) -> Measurements:
    """Angular errors with every variance component positive; "aided" 1 degree lower."""
    rng = np.random.default_rng(seed)
    y = (5.0 + np.array([-1.0, 0.0])[:, None, None] + rng.normal(0, 1.0, readers)[None, :, None]
         + rng.normal(0, 1.5, cases)[None, None, :] + rng.normal(0, 0.6, (2, readers))[:, :, None]
         + rng.normal(0, 0.8, (2, cases))[:, None, :] + rng.normal(0, 0.5, (readers, cases))[None]
         + rng.normal(0, 0.7, (2, readers, cases)))
    rows = tuple((f"reader-{j}", ("aided", "unaided")[i], f"case-{k}", float(y[i, j, k]))
                 for i in range(2) for j in range(readers) for k in range(cases))
    return Measurements(tuple(f"reader-{j}" for j in range(readers)), ("aided", "unaided"),
                        tuple(f"case-{k}" for k in range(cases)), rows, "simulated")


def _mixedlm(data: Measurements) -> tuple[float, float]:
    """statsmodels MixedLM as fitted before PR-002: the difference and its SE."""
    import warnings

    import pandas as pd
    import statsmodels.formula.api as smf

    frame = pd.DataFrame(data.rows, columns=["reader", "modality", "case", "value"])
    frame["treat"] = (frame["modality"] == "aided").astype(float)
    frame["group"] = 1
    formulas = {"reader": "0 + C(reader)", "case": "0 + C(case)",
                "reader_modality": "0 + C(reader):C(modality)",
                "case_modality": "0 + C(case):C(modality)",
                "reader_case": "0 + C(reader):C(case)"}
    model = smf.mixedlm("value ~ treat", frame, groups="group", vc_formula=formulas,
                        re_formula="0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [model.fit(reml=True, method=m) for m in ("lbfgs", "bfgs", "powell")]
        best = max(fits, key=lambda f: f.llf)
        fit = max((best, model.fit(reml=True, method="lbfgs", start_params=best.params_object)),
                  key=lambda f: f.llf)
    return float(fit.fe_params["treat"]), float(np.sqrt(fit.cov_params().loc["treat", "treat"]))


def _continuous(args: argparse.Namespace) -> bool:
    """Print the continuous-endpoint figures; whether the pivotal target is met."""
    data = _continuous_study(args.continuous_readers, args.continuous_cases, 1)

    def fit() -> None:
        fit_continuous(data, test="aided", reference="unaided", lower_is_better=True)

    fit()  # imports scipy.optimize outside the timing
    ours_s, ours_runs = _best(fit, args.repeat)
    ours = fit_continuous(data, test="aided", reference="unaided", lower_is_better=True)
    clock = time.perf_counter()
    difference, se = _mixedlm(data)
    theirs_s = time.perf_counter() - clock
    pivotal = _continuous_study(10, 200, 2)
    pivotal_s, pivotal_runs = _best(lambda: fit_continuous(
        pivotal, test="aided", reference="unaided", lower_is_better=True), args.repeat)
    shape = f"{args.continuous_readers} readers x 2 modalities x {args.continuous_cases} cases"
    print(f"  continuous endpoint, {shape}, fit_continuous, best of {args.repeat}: "
          f"{ours_s:.4f} s (runs " + ", ".join(f"{r:.4f}" for r in ours_runs) + ")")
    print(f"  statsmodels MixedLM (3 optimisers + polish, as before PR-002), same data, once: "
          f"{theirs_s:.1f} s; speed (MixedLM / fit_continuous): {theirs_s / ours_s:.0f}")
    print(f"    difference {ours.difference:.6f} vs {difference:.6f}; SE {ours.se:.6f} vs "
          f"{se:.6f} (relative {abs(ours.se - se) / se:.1e})")
    print(f"  continuous endpoint, 10 readers x 2 modalities x 200 cases, best of {args.repeat}: "
          f"{pivotal_s:.4f} s (runs " + ", ".join(f"{r:.4f}" for r in pivotal_runs) + ")")
    return pivotal_s < TARGET_PIVOTAL_S


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
    met = _continuous(args) and met
    print(f"  targets: Van Dyke < {TARGET_VANDYKE_S:g} s, large < {TARGET_LARGE_S:g} s, "
          f"continuous 10 x 200 < {TARGET_PIVOTAL_S:g} s: " + ("MET" if met else "MISSED"))
    return met


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--textbook-cases", type=int, default=50)
    parser.add_argument("--continuous-readers", type=int, default=4)
    parser.add_argument("--continuous-cases", type=int, default=40)
    parser.add_argument("--enforce", action="store_true")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="unused; accepted for symmetry")
    return parser


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.repeat < 1 or args.textbook_cases < 1:
        parser.error("--repeat and --textbook-cases must be at least 1")
    if args.continuous_readers < 2 or args.continuous_cases < 2:
        parser.error("--continuous-readers and --continuous-cases must be at least 2")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 with ``--enforce`` when a target is missed."""
    return run_main(_parser(), _validate, _benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())
