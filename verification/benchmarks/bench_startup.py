"""Benchmark of the ``corridor`` command's start-up: what a user waits for before the job begins.

Every figure is the wall time of a fresh process (``subprocess.run``, output discarded), best of
``--repeat`` after one untimed warm-up; the command and its named alternative are run in turn
within each repeat, so drift on a shared machine reaches both alike:

* **``corridor --version``** against ``python -c "import argparse"``: the interpreter and the
  parser module, which the command cannot do without; ``--version`` needs nothing else.
  Target: at most 1.5 times the alternative.
* **``corridor ingest --help``** against ``python -c "import argparse, numpy, pydicom"``: the
  libraries ingest itself needs. Target: at most 1.5 times the alternative.
* **``corridor ingest SERIES``** on the demo pelvis (``corridor phantom pelvis``, default size,
  written once before timing) against ``corridor.ingest.ingest(SERIES)`` called in this
  process after a warm-up call (imports done, files in the page cache): what the command adds
  to the work itself (interpreter, imports, parser, printing). Target: at most 0.5 s more.

The commands are the ``corridor`` script and the interpreter of the environment running the
benchmark, with its environment (so ``PYTHONPATH`` reaches both). Each line says PASS or FAIL;
a missed target exits 1 unless ``--no-enforce``.

Usage::

    python verification/benchmarks/bench_startup.py [--repeat 10] [--keep DIR] [--no-enforce]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import corridor as corridor_package
from _common import cpu_model, run_main
from corridor import __version__
from corridor.ingest import ingest

__all__ = ["Comparison", "compare", "compare_ingest", "main"]

RATIO_TARGET = 1.5
"""A start-up may take at most this multiple of its named alternative."""
INGEST_OVERHEAD_TARGET_S = 0.5
"""``corridor ingest SERIES`` may take at most this many seconds more than the ingest itself."""
DEFAULT_REPEAT = 10
"""Timed repetitions by default; the best is reported."""


@dataclass(frozen=True)
class Comparison:
    """One command and its named alternative, each best of the same number of runs (s)."""

    label: str
    command: float
    command_runs: tuple[float, ...]
    alternative_label: str
    alternative: float
    alternative_runs: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """Command over alternative."""
        return self.command / self.alternative

    @property
    def difference(self) -> float:
        """Command minus alternative (s)."""
        return self.command - self.alternative


def _corridor() -> str:
    """The ``corridor`` script beside this interpreter, else the one on ``PATH``."""
    beside = Path(sys.executable).with_name("corridor")
    found = str(beside) if beside.is_file() else shutil.which("corridor")
    if found is None:
        raise SystemExit(f"no corridor command beside {sys.executable} or on PATH; install the "
                         "project (pip install -e .) first")
    return found


def _seconds(argv: Sequence[str]) -> float:
    """Wall time of one process from start to exit; a non-zero exit stops the benchmark."""
    clock = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - clock
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: "
                         f"{done.stderr.decode(errors='replace').strip()}")
    return elapsed


def compare(label: str, argv: Sequence[str], alternative_label: str,
            alternative: Sequence[str], repeat: int) -> Comparison:
    """Time ``argv`` and ``alternative`` in turn, ``repeat`` times after one warm-up of each."""
    _seconds(argv)
    _seconds(alternative)
    runs: list[float] = []
    alternative_runs: list[float] = []
    for _ in range(repeat):
        runs.append(_seconds(argv))
        alternative_runs.append(_seconds(alternative))
    return Comparison(label, min(runs), tuple(runs), alternative_label, min(alternative_runs),
                      tuple(alternative_runs))


def compare_ingest(corridor: str, series: Path, repeat: int) -> Comparison:
    """``corridor ingest SERIES`` and ``ingest(SERIES)`` in this process, in turn.

    One untimed run of each first: the command's byte-code caches are written, this process
    has imported ingest, and the series is in the page cache for both.
    """
    argv = [corridor, "ingest", str(series)]
    _seconds(argv)
    ingest(series)
    runs: list[float] = []
    in_process_runs: list[float] = []
    for _ in range(repeat):
        runs.append(_seconds(argv))
        clock = time.perf_counter()
        ingest(series)
        in_process_runs.append(time.perf_counter() - clock)
    return Comparison("corridor ingest SERIES", min(runs), tuple(runs), "ingest() in process",
                      min(in_process_runs), tuple(in_process_runs))


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return "unknown"


def _runs(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def _verdict(met: bool) -> str:
    return "PASS" if met else "FAIL"


def _benchmark(args: argparse.Namespace, base: Path) -> bool:
    corridor, python = _corridor(), sys.executable
    phantom = base / "pelvis"
    series = phantom / "dicom"
    written = "reused"
    if not series.is_dir():
        seconds = _seconds([corridor, "phantom", "pelvis", "--out", str(phantom)])
        written = f"written in {seconds:.1f} s"

    version = compare("corridor --version", [corridor, "--version"],
                      'python -c "import argparse"', [python, "-c", "import argparse"],
                      args.repeat)
    help_ = compare("corridor ingest --help", [corridor, "ingest", "--help"],
                    'python -c "import argparse, numpy, pydicom"',
                    [python, "-c", "import argparse, numpy, pydicom"], args.repeat)
    command = compare_ingest(corridor, series, args.repeat)

    version_met = version.ratio <= RATIO_TARGET
    help_met = help_.ratio <= RATIO_TARGET
    overhead_met = command.difference <= INGEST_OVERHEAD_TARGET_S

    print("Corridor start-up benchmark")
    print(f"  machine : {cpu_model()}; os.cpu_count()={os.cpu_count()}; memory {_memory_gib()}; "
          f"{platform.system()} {platform.release()}; Python {platform.python_version()}")
    print(f"  software: corridor {__version__} from {Path(corridor_package.__file__).parent}; "
          f"command {corridor}; interpreter {python}")
    print(f"  phantom : {series} (corridor phantom pelvis, default size; {written})")
    print(f"  best of {args.repeat} after one warm-up, seconds")
    print()
    for comparison, met in ((version, version_met), (help_, help_met)):
        print(f"  {comparison.label:<44} {comparison.command:.3f}  (runs "
              f"{_runs(comparison.command_runs)})")
        print(f"  {comparison.alternative_label:<44} {comparison.alternative:.3f}  (runs "
              f"{_runs(comparison.alternative_runs)})")
        print(f"    ratio {comparison.ratio:.2f} (target <= {RATIO_TARGET:g}): {_verdict(met)}")
        print()
    print(f"  {command.label:<44} {command.command:.3f}  (runs {_runs(command.command_runs)})")
    print(f"  {command.alternative_label:<44} {command.alternative:.3f}  (runs "
          f"{_runs(command.alternative_runs)})")
    print(f"    difference {command.difference:+.3f} s (target <= {INGEST_OVERHEAD_TARGET_S:g} "
          f"s): {_verdict(overhead_met)}")
    met = version_met and help_met and overhead_met
    print()
    print(f"  targets: {'MET' if met else 'MISSED'}")
    return met


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                        help=f"timed runs of each command; the best is reported "
                             f"(default {DEFAULT_REPEAT})")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="write (or reuse) the phantom in DIR instead of a temporary folder")
    parser.add_argument("--enforce", action=argparse.BooleanOptionalAction, default=True,
                        help="exit 1 when a target is missed (default; --no-enforce to report "
                             "only)")
    return parser


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 when a target is missed (unless ``--no-enforce``)."""
    return run_main(_parser(), _validate, _benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())
