"""What every benchmark script shares: machine description and the command-line shell."""

from __future__ import annotations

import argparse
import platform
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["cpu_model", "run_main"]


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
