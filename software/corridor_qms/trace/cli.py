"""``corridor trace``: check, render, review and diff the project's trace links.

Registered as the ``trace`` entry point of the ``corridor.commands`` group.
Exit status: 0 all rules hold, 1 findings, 2 bad input (a file, revision or ID
that cannot be used).  ``check`` fails on errors; ``--strict`` adds warnings;
``--release`` (the release gate) fails on every finding, release-only ones
included (an open problem report in a class C item).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path

from corridor_qms.errors import QmsError
from corridor_qms.findings import Finding
from corridor_qms.records.project import (
    GitRevision,
    WorkingTree,
    find_root,
    load_records,
    require_root,
)
from corridor_qms.trace.diff import diff
from corridor_qms.trace.index import TraceIndex, build_index
from corridor_qms.trace.matrix import Format, build_matrix, write_matrix
from corridor_qms.trace.results import load_results
from corridor_qms.trace.review import review
from corridor_qms.trace.rules import CATALOGUE, check

__all__ = ["add_parser", "main"]

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_USAGE = 0, 1, 2, 64


def _index(args: argparse.Namespace) -> tuple[Path, TraceIndex]:
    root = require_root(args.root) if args.root else find_root(Path.cwd())
    records = load_records(WorkingTree(root), root)
    results: Path | None = getattr(args, "results", None)
    outcomes = load_results(results, records.scenarios) if results else None
    return root, build_index(records, outcomes)


def _failing(findings: list[Finding], *, strict: bool, release: bool) -> list[Finding]:
    return [f for f in findings if f.severity.fails(strict=strict, release=release)]


def _check(args: argparse.Namespace) -> int:
    _, index = _index(args)
    findings = check(index)
    for finding in findings:
        print(finding.format())
    failing = _failing(findings, strict=args.strict, release=args.release)
    records = index.records
    gate = " at the release gate" if args.release else ""
    print(
        f"trace check: {len(failing)} failing finding(s) of {len(findings)}{gate}; "
        f"{len(records.requirements)} requirements, {len(records.hazards)} hazards, "
        f"{len(index.controls)} risk controls, {len(records.scenarios)} scenarios"
        + (", with results" if index.outcomes is not None else ", without results"),
        file=sys.stderr,
    )
    return EXIT_FINDINGS if failing else EXIT_OK


def _matrix(args: argparse.Namespace) -> int:
    root, index = _index(args)
    findings = check(index)
    matrix = build_matrix(index, findings, tool=f"corridor {version('corridor')}",
                          results=args.results)
    for fmt in dict.fromkeys(args.format or [Format.HTML]):
        path = write_matrix(matrix, fmt, args.out, root)
        print(f"wrote {path}")
    return EXIT_OK


def _review(args: argparse.Namespace) -> int:
    root, index = _index(args)
    recorded = review(index, root, args.ids)
    for scenario_key, target in recorded:
        print(f"reviewed {target}  {scenario_key}")
    print(f"trace review: recorded {len(recorded)} link(s)", file=sys.stderr)
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    root, after = _index(args)
    before = build_index(load_records(GitRevision(root, args.revision), root))
    impact = diff(before, after)
    for line in impact.lines():
        print(line)
    print(f"trace diff: {len(impact.changes)} change(s) since {args.revision}, "
          f"{len(impact.suspect_scenarios)} suspect scenario(s)", file=sys.stderr)
    return EXIT_OK


def _rules(args: argparse.Namespace) -> int:
    for rule in CATALOGUE.values():
        print(f"{rule.id:26} {rule.severity.value:8} {rule.description}")
    return EXIT_OK


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except QmsError as exc:
            print(f"corridor trace: error: {exc}", file=sys.stderr)
            return EXIT_INPUT

    return run


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``trace`` and its subcommands to the ``corridor`` parser."""
    trace = subparsers.add_parser(
        "trace", help="check and render traceability (requirements, hazards, scenarios)",
        description=__doc__,
    )

    def usage(_args: argparse.Namespace) -> int:
        trace.print_help(sys.stderr)
        return EXIT_USAGE

    trace.set_defaults(handler=usage)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, help="project root (default: found from the "
                        "current folder)")
    with_results = argparse.ArgumentParser(add_help=False)
    with_results.add_argument("--results", type=Path, metavar="FILE",
                              help="test results: JUnit XML (.xml) or cucumber JSON (.json)")
    sub = trace.add_subparsers(title="trace commands", metavar="ACTION")

    p = sub.add_parser("check", parents=[common, with_results],
                       help="exit 0 only when every trace rule holds")
    p.add_argument("--strict", action="store_true", help="warnings fail the check too")
    p.add_argument("--release", action="store_true",
                   help="the release gate: every finding fails the check, warnings and "
                   "release-only findings (an open problem in a class C item) included")
    p.set_defaults(handler=_guarded(_check))

    p = sub.add_parser("matrix", parents=[common, with_results],
                       help="write the traceability matrix")
    p.add_argument("--format", type=Format, action="append", choices=list(Format),
                   help="html, csv or json (repeatable; default html)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.set_defaults(handler=_guarded(_matrix))

    p = sub.add_parser("review", parents=[common],
                       help="record that the scenario links to these IDs were reviewed")
    p.add_argument("ids", nargs="+", metavar="ID", help="requirement or risk control IDs")
    p.set_defaults(handler=_guarded(_review))

    p = sub.add_parser("diff", parents=[common],
                       help="what changed since a git revision, and what that makes suspect")
    p.add_argument("revision", metavar="REV", help="git revision to compare against")
    p.set_defaults(handler=_guarded(_diff))

    p = sub.add_parser("rules", help="list the rule catalogue")
    p.set_defaults(handler=_rules)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``corridor trace`` alone (for tests): ``main(["check"])``."""
    parser = argparse.ArgumentParser(prog="corridor")
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["trace", *(argv or [])])
    return int(args.handler(args))
