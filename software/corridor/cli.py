"""The one ``corridor`` command.

Subcommands are small modules that register themselves through the
``corridor.commands`` entry-point group: each entry point names a function
``add_parser(subparsers)`` that adds its sub-parser and sets ``handler`` to a
callable taking the parsed namespace and returning an exit status.  Discovery by
entry point keeps the dependency direction of the architecture: the device
package never imports the quality tooling, yet ``corridor trace`` works when the
tooling is installed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from corridor import __version__
from corridor.errors import CorridorError

__all__ = ["EXIT_ERROR", "EXIT_USAGE", "build_parser", "main"]

EXIT_ERROR = 2
"""Exit status for an input or environment error reported in one line."""

EXIT_USAGE = 64
"""Exit status for a command line that names no subcommand (``EX_USAGE``)."""

_log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered subcommand.

    Returns
    -------
    argparse.ArgumentParser
        The parser; each subcommand's namespace carries a ``handler``.
    """
    parser = argparse.ArgumentParser(
        prog="corridor",
        description="Corridor: CT to verified surgical plan, with machine-checked traceability.",
    )
    parser.add_argument("--version", action="version", version=f"corridor {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (repeatable)"
    )
    subparsers = parser.add_subparsers(title="subcommands", metavar="COMMAND")
    for entry_point in sorted(entry_points(group="corridor.commands"), key=lambda e: e.name):
        add_parser: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]
        add_parser = entry_point.load()
        add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``corridor`` command.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        The exit status: 0 success, 1 a check that found problems, 2 an input
        error, 64 a usage error.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except CorridorError as exc:
        print(f"corridor: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
