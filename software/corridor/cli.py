"""The one ``corridor`` command.

Subcommands are small modules registered in the ``corridor.commands`` entry-point group of
``pyproject.toml``: each entry names a function ``add_parser(subparsers)`` that adds its
sub-parser and sets ``handler`` to a callable taking the parsed namespace and returning an exit
status.  The build stamps that table into the package (``corridor._stamp.COMMANDS``, see
``software/corridor_build.py``), so the command reads it without :mod:`importlib.metadata`.
Registration by name keeps the dependency direction of the architecture: the device package
never imports the quality tooling, yet ``corridor trace`` works when the tooling is installed.

Start-up: only the chosen subcommand's module is imported (``corridor ingest`` never loads
ONNX Runtime or VTK); ``corridor --version`` imports none, and ``corridor --help`` all of them
to list them.  Every command maps failures to the same exit statuses
(:class:`corridor.errors.ExitStatus`): an input error 2, a safety refusal 4, an internal
defect 70 with its traceback, an interrupt 130, standard output closed by its reader
(``corridor ingest --json | head``) 141 with one line and no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from corridor import __version__, _stamp
from corridor.errors import CorridorError, ExitStatus, exit_status_of

__all__ = ["EXIT_ERROR", "EXIT_USAGE", "build_parser", "main"]

EXIT_ERROR = ExitStatus.INPUT_ERROR
"""Exit status for an input or environment error reported in one line."""

EXIT_USAGE = ExitStatus.USAGE
"""Exit status for a command line that names no subcommand (``EX_USAGE``)."""

Handler = Callable[[argparse.Namespace], int]
_GLOBAL_OPTIONS = frozenset({"-v", "--verbose", "-vv"})


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (its first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word
        if word not in _GLOBAL_OPTIONS and not word.startswith("-v"):
            return None  # --help, --version or an unknown option: decided by the parser
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser with the subcommands ``argv`` needs.

    Parameters
    ----------
    argv
        The arguments to be parsed: only the subcommand they name is registered (imported);
        none for ``--version``; every subcommand when ``argv`` is ``None``, names none, or
        names one that does not exist (so the parser lists them).

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
    words = () if argv is None else tuple(argv)
    if "--version" in words and _chosen(words) is None:
        return parser
    commands: dict[str, str] = dict(sorted(_stamp.COMMANDS.items()))
    chosen = _chosen(words)
    if chosen in commands:
        commands = {chosen: commands[chosen]}
    for target in commands.values():
        module, _, function = target.partition(":")
        add_parser: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]
        add_parser = getattr(importlib.import_module(module), function)
        add_parser(subparsers)
    return parser


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that flushing it at exit fails no more."""
    import os

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a real stream (captured in tests)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``corridor`` command.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        The exit status (:class:`corridor.errors.ExitStatus`): 0 success, 1 a check that
        found problems, 2 an input error, 3 no safe trajectory, 4 a safety refusal, 64 a
        usage error, 70 an internal defect, 130 interrupted, 141 standard output closed by
        its reader.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    # Imported here, not at the top: `corridor --version` and `--help` exit inside parse_args
    # and need none of this (start-up, verification/benchmarks/bench_startup.py).
    import logging

    from corridor.provenance import software_identity

    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        software_identity()  # a release build without its commit refuses to run
        status = handler(args)
        sys.stdout.flush()  # a reader gone away is reported here, not at exit
        return status
    except BrokenPipeError:
        _discard_stdout()
        print("corridor: standard output was closed by its reader (e.g. `| head`); output "
              "stopped", file=sys.stderr)
        return ExitStatus.BROKEN_PIPE
    except CorridorError as exc:
        print(f"corridor: error: {exc}", file=sys.stderr)
        return exit_status_of(exc)
    except KeyboardInterrupt:
        print("corridor: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except Exception as exc:  # a defect: say so and keep the traceback
        import traceback

        print(f"corridor: internal error ({type(exc).__name__}); please report it with the "
              "traceback below.", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return ExitStatus.INTERNAL_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
