"""``corridor audit verify LOG [--anchors DIR]... [--expect SEQUENCE:SHA256]...``: check every
record of a hash-chained audit log, and that the log still holds every record its outputs
anchor.

A chain alone cannot see records cut from its tail.  Each complete case folder's ``case.json``
and each batch's ``batch.json`` name the record their run appended (its sequence and the hash
before it; :class:`corridor.audit.AuditAnchor`); this command reads those anchors from the
folders beside the log (or those given with ``--anchors``) and reports any record missing or
changed.  The head it prints can be written down elsewhere and checked later with
``--expect``, which covers records after the newest anchor.

Exits 0 when the chain is intact and every anchor holds, 1 naming the line, folder or head of
each break, 2 when the log cannot be read or an option is malformed.  A module of its own,
importing only :mod:`corridor.audit` and the bounded reader, so the check starts without the
planning stages' libraries.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from corridor.audit import ANCHOR_KEY, AuditAnchor, Expectation, verify_log
from corridor.errors import ExitStatus
from corridor.reading import InputFileError, read_regular_file

__all__ = ["add_parser", "anchors_in"]

ANCHORING_FILES = ("case.json", "batch.json")
"""The output documents that carry an anchor: a case folder's record, a batch's ledger."""

MAX_ANCHORING_BYTES = 64 << 20
"""The largest ``case.json`` or ``batch.json`` read (a batch of many thousand cases fits)."""

_EXPECT = re.compile(r"(?P<sequence>[1-9][0-9]*):(?P<sha256>[0-9a-f]{64})")


def _documents(folder: Path) -> Iterator[Path]:
    """The anchoring files of ``folder`` itself and of its subfolders, one level down."""
    for candidate in (folder, *sorted(p for p in folder.iterdir() if p.is_dir())):
        for name in ANCHORING_FILES:
            if (candidate / name).is_file():
                yield candidate / name


def anchors_in(folders: list[Path], log: str) -> tuple[list[Expectation], list[str]]:
    """The expectations the anchors naming the log ``log`` set, and the anchoring files that
    could not be read (each a line naming the file)."""
    expected: list[Expectation] = []
    unreadable: list[str] = []
    for folder in folders:
        for path in _documents(folder):
            try:
                data = read_regular_file(path, MAX_ANCHORING_BYTES, field=path.name,
                                         expected="a case or batch record")
                document = json.loads(data)
            except (InputFileError, ValueError) as exc:
                unreadable.append(f"{path}: cannot be read as a record ({exc})")
                continue
            anchor = AuditAnchor.from_json(document.get(ANCHOR_KEY)
                                           if isinstance(document, dict) else None)
            if anchor is None or anchor.log != log:
                continue  # written before anchors, still running, or of another log
            kind = "case folder" if path.name == "case.json" else "batch folder"
            expected.append(Expectation(f"{kind} {path.parent.name} ({path.name})",
                                        anchor.sequence, previous_sha256=anchor.previous_sha256,
                                        output=(path.name, hashlib.sha256(data).hexdigest())))
    return expected, unreadable


def _expectation(text: str) -> Expectation:
    found = _EXPECT.fullmatch(text.strip().lower())
    if found is None:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected SEQUENCE:SHA256, the head 'corridor audit verify' printed")
    return Expectation(f"--expect {found['sequence']}", int(found["sequence"]),
                       record_sha256=found["sha256"])


def _verify(args: argparse.Namespace) -> int:
    folders = args.anchors or [args.log.parent]
    for folder in folders:
        if not folder.is_dir():
            print(f"corridor audit verify: --anchors {folder}: not a folder (expected a case or "
                  "batch folder, or a folder of them)", file=sys.stderr)
            return ExitStatus.INPUT_ERROR
    try:
        expected, unreadable = anchors_in(folders, args.log.name)
        anchors = len(expected)
        checked = verify_log(args.log, [*expected, *args.expect])
    except OSError as exc:
        print(f"corridor audit verify: {args.log}: {exc.strerror or exc}", file=sys.stderr)
        return ExitStatus.INPUT_ERROR
    for line in unreadable:
        print(line)
    for item in checked.breaks:
        print(f"{args.log}: {item}")
    problems = len(checked.breaks) + len(unreadable)
    head = ("empty" if checked.head is None
            else f"head {checked.head[0]}:{checked.head[1]}")
    print(f"audit log {args.log}: {checked.count} record(s), {head}; {anchors} anchor(s) in "
          f"case and batch folders, {len(args.expect)} expected head(s); "
          + ("chain intact" if not problems else f"{problems} break(s)"))
    return ExitStatus.FINDINGS if problems else ExitStatus.OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit verify`` to the ``corridor`` parser."""
    audit = subparsers.add_parser("audit", help="the hash-chained audit log")
    inner = audit.add_subparsers(title="actions", metavar="ACTION", required=True)
    verify = inner.add_parser("verify", help="check every record's hash and link, and the "
                                             "records case and batch folders anchor",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    verify.add_argument("log", type=Path, metavar="LOG")
    verify.add_argument("--anchors", type=Path, action="append", metavar="DIR",
                        help="a case or batch folder, or a folder of them, whose case.json and "
                             "batch.json anchor records of LOG (default: LOG's own folder; "
                             "repeatable)")
    verify.add_argument("--expect", type=_expectation, action="append", default=[],
                        metavar="SEQUENCE:SHA256",
                        help="a head printed by an earlier verify and written down elsewhere: "
                             "the log must still hold that record (repeatable)")
    verify.set_defaults(handler=_verify)
