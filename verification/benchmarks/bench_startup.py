"""Benchmark of the ``corridor`` command's start-up: what a user waits for before the job begins.

Every figure is the wall time of a fresh process (``subprocess.run``, output discarded), best of
``--repeat`` after one untimed warm-up; the command and its named alternative are run in turn
within each repeat, so drift on a shared machine reaches both alike. The targets are judged on
wall time, what the user waits for; each process's CPU time (user + system) is printed beside it,
because on a busy machine the wall times of short processes inflate and the CPU times barely move:

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
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import corridor as corridor_package
from _common import Timing, cpu_model, run_main, validate_repeat
from corridor import __version__
from corridor.ingest import ingest

__all__ = ["Comparison", "Timing", "compare", "compare_ingest", "main"]

RATIO_TARGET = 1.5
"""A start-up may take at most this multiple of its named alternative."""
INGEST_OVERHEAD_TARGET_S = 0.5
"""``corridor ingest SERIES`` may take at most this many seconds more than the ingest itself."""
DEFAULT_REPEAT = 10
"""Timed repetitions by default; the best is reported."""


@dataclass(frozen=True)
class Comparison:
    """One command and its named alternative, timed the same number of times in turn."""

    label: str
    command: Timing
    alternative_label: str
    alternative: Timing

    @property
    def ratio(self) -> float:
        """Best wall time of the command over the alternative's (the target's measure)."""
        return self.command.wall / self.alternative.wall

    @property
    def cpu_ratio(self) -> float:
        """The same for CPU time: barely moved by other load on the machine."""
        return self.command.cpu / self.alternative.cpu

    @property
    def difference(self) -> float:
        """Best wall time of the command minus the alternative's (s)."""
        return self.command.wall - self.alternative.wall

    @property
    def cpu_difference(self) -> float:
        """The same for CPU time (s)."""
        return self.command.cpu - self.alternative.cpu


def _corridor() -> str:
    """The ``corridor`` script beside this interpreter, else the one on ``PATH``."""
    beside = Path(sys.executable).with_name("corridor")
    found = str(beside) if beside.is_file() else shutil.which("corridor")
    if found is None:
        raise SystemExit(f"no corridor command beside {sys.executable} or on PATH; install the "
                         "project (pip install -e .) first")
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: Sequence[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process, start to exit; a non-zero exit stops the benchmark.

    The CPU time is the child's user + system time (``RUSAGE_CHILDREN`` before and after; this
    process has no other children meanwhile).
    """
    cpu = _children_cpu()
    clock = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - clock
    cpu = _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: "
                         f"{done.stderr.decode(errors='replace').strip()}")
    return wall, cpu


def _in_process(series: Path) -> tuple[float, float]:
    """Wall and CPU seconds (all threads of this process) of one ``ingest(series)`` call."""
    cpu = time.process_time()
    clock = time.perf_counter()
    ingest(series)
    return time.perf_counter() - clock, time.process_time() - cpu


def _timed(first: Callable[[], tuple[float, float]], second: Callable[[], tuple[float, float]],
           repeat: int) -> tuple[Timing, Timing]:
    """``first`` and ``second`` in turn, ``repeat`` times after one untimed call of each."""
    first()
    second()
    a: list[tuple[float, float]] = []
    b: list[tuple[float, float]] = []
    for _ in range(repeat):
        a.append(first())
        b.append(second())
    return (Timing(tuple(w for w, _ in a), tuple(c for _, c in a)),
            Timing(tuple(w for w, _ in b), tuple(c for _, c in b)))


def compare(label: str, argv: Sequence[str], alternative_label: str,
            alternative: Sequence[str], repeat: int) -> Comparison:
    """Time the command ``argv`` and the command ``alternative`` in turn."""
    command, other = _timed(lambda: _run(argv), lambda: _run(alternative), repeat)
    return Comparison(label, command, alternative_label, other)


def compare_ingest(corridor: str, series: Path, repeat: int) -> Comparison:
    """``corridor ingest SERIES`` and ``ingest(SERIES)`` in this process, in turn.

    The untimed first calls write the command's byte-code caches, import ingest here and put
    the series in the page cache for both.
    """
    argv = [corridor, "ingest", str(series)]
    command, other = _timed(lambda: _run(argv), lambda: _in_process(series), repeat)
    return Comparison("corridor ingest SERIES", command, "ingest() in process", other)


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
        seconds, _ = _run([corridor, "phantom", "pelvis", "--out", str(phantom)])
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
          f"{platform.system()} {platform.release()}; Python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    print(f"  software: corridor {__version__} from {Path(corridor_package.__file__).parent}; "
          f"command {corridor}; interpreter {python}")
    print(f"  phantom : {series} (corridor phantom pelvis, default size; {written})")
    print(f"  best of {args.repeat} after one warm-up; wall seconds (the targets), and CPU seconds "
          "(user + system) beside them as a check against other load on the machine")
    print()
    for comparison, met in ((version, version_met), (help_, help_met), (command, overhead_met)):
        for name, timing in ((comparison.label, comparison.command),
                             (comparison.alternative_label, comparison.alternative)):
            print(f"  {name:<44} {timing.wall:.3f} s  (cpu {timing.cpu:.3f} s; wall runs "
                  f"{_runs(timing.wall_runs)})")
        if comparison is command:
            print(f"    difference {comparison.difference:+.3f} s (target <= "
                  f"{INGEST_OVERHEAD_TARGET_S:g} s): {_verdict(met)}; cpu "
                  f"{comparison.cpu_difference:+.3f} s")
        else:
            print(f"    ratio {comparison.ratio:.2f} (target <= {RATIO_TARGET:g}): "
                  f"{_verdict(met)}; cpu ratio {comparison.cpu_ratio:.2f}")
        print()
    met = version_met and help_met and overhead_met
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 when a target is missed (unless ``--no-enforce``)."""
    return run_main(_parser(), validate_repeat, _benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())
