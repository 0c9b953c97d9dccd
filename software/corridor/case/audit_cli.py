"""``corridor audit verify LOG``: check every record of a hash-chained audit log.

Exits 0 when the chain is intact, 1 naming the line of any edited, removed or reordered record,
2 when the log cannot be read.  A module of its own, importing only :mod:`corridor.audit`, so
the check starts without the planning stages' libraries.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from corridor.audit import verify_log
from corridor.errors import ExitStatus

__all__ = ["add_parser"]


def _verify(args: argparse.Namespace) -> int:
    try:
        count, breaks = verify_log(args.log)
    except OSError as exc:
        print(f"corridor audit verify: {args.log}: {exc.strerror or exc}", file=sys.stderr)
        return ExitStatus.INPUT_ERROR
    for item in breaks:
        print(f"{args.log}: {item}")
    print(f"audit log {args.log}: {count} record(s), "
          + ("chain intact" if not breaks else f"{len(breaks)} break(s)"))
    return ExitStatus.FINDINGS if breaks else ExitStatus.OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit verify`` to the ``corridor`` parser."""
    audit = subparsers.add_parser("audit", help="the hash-chained audit log")
    inner = audit.add_subparsers(title="actions", metavar="ACTION", required=True)
    verify = inner.add_parser("verify", help="check every record's hash and link")
    verify.add_argument("log", type=Path, metavar="LOG")
    verify.set_defaults(handler=_verify)
