"""What every benchmark script shares: machine description and the command-line shell."""

from __future__ import annotations

import argparse
import platform
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Timing", "cpu_model", "memory_total", "run_main", "source_commit",
           "validate_repeat"]


def cpu_model() -> str:
    """The CPU model from ``/proc/cpuinfo`` where there is one, else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_main(
    parser: argparse.ArgumentParser,
    validate: Callable[[argparse.ArgumentParser, argparse.Namespace], None],
    benchmark: Callable[[argparse.Namespace, Path], bool],
    argv: Sequence[str] | None,
) -> int:
    """Parse, validate, run ``benchmark`` in ``--keep DIR`` or a temporary folder.

    Returns
    -------
    int
        0, or 1 when ``--enforce`` is given and a target is missed.
    """
    args = parser.parse_args(argv)
    validate(parser, args)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        met = benchmark(args, args.keep.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="corridor-bench-") as temp:
            met = benchmark(args, Path(temp))
    return 1 if args.enforce and not met else 0


def validate_repeat(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The validation of a benchmark whose only checked option is ``--repeat`` (at least 1)."""
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")


@dataclass(frozen=True)
class Timing:
    """One program's runs: wall time and CPU time (user + system) of each, in seconds."""

    wall_runs: tuple[float, ...]
    cpu_runs: tuple[float, ...]

    @property
    def wall(self) -> float:
        """Best wall time."""
        return min(self.wall_runs)

    @property
    def cpu(self) -> float:
        """Least CPU time."""
        return min(self.cpu_runs)


def memory_total() -> str:
    """Total memory from ``/proc/meminfo``, in GiB, or ``unknown``."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def source_commit() -> str:
    """The repository's commit, marked ``+modified`` when ``software/`` has changes."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "software"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+modified" if dirty else "")
