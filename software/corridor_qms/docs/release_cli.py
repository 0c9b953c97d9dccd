"""``corridor release VERSION --out DIR``: every audit document of the commit, in one folder.

``corridor release VERSION --out DIR [--results junit.xml] [--validation RESULTS.json]
[--model DIR] [--signatures DIR --allowed-signers FILE] [--previous REF] [--draft]
[--root DIR]``.

Writes into the new folder ``DIR``: ``dhf/`` (the design-history report, HTML and PDF, and its
content manifest), ``model-card/``, ``traceability/`` (the matrix as HTML, CSV and JSON),
``sbom.cdx.json``, ``change-impact.txt`` (since ``--previous``, default the latest ``v*`` or
``release-*`` tag before this commit), the results, validation and signature records given,
``release-manifest.json`` (version, commit, commit date, status, reasons, every file's SHA-256
and size) and ``SHA256SUMS``.  Registered as the ``release`` entry point of the
``corridor.commands`` group (:mod:`corridor_qms.docs.release`).

Exit status: 0 written (released, or a draft with ``--draft``); 1 refused, every reason listed
and nothing written (wrong version, no test results, trace findings at the release gate such
as an open problem report in a class C item, missing or invalid approvals, uncommitted
changes); 2 bad input (nothing written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from corridor.errors import InputError
from corridor_qms.docs.release import MANIFEST_NAME, prepare_release, write_release
from corridor_qms.errors import QmsError
from corridor_qms.records import find_root
from corridor_qms.records.project import require_root

__all__ = ["EXIT_INPUT", "EXIT_OK", "EXIT_REFUSED", "add_parser"]

EXIT_OK, EXIT_REFUSED, EXIT_INPUT = 0, 1, 2


def _release(args: argparse.Namespace) -> int:
    try:
        root = require_root(args.root) if args.root else find_root(Path.cwd())
        release = prepare_release(root, args.version, results=args.results,
                                  validation=args.validation, model=args.model,
                                  signatures=args.signatures,
                                  allowed_signers=args.allowed_signers,
                                  previous=args.previous, draft=args.draft)
    except (QmsError, InputError, OSError, ValueError, ImportError) as exc:
        print(f"corridor release: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if not (release.ready or args.draft):
        for reason in release.reasons:
            print(f"  {reason}", file=sys.stderr)
        print(f"corridor release: {args.version} is not ready ({len(release.reasons)} "
              f"reason(s) above); nothing written (fix them, or give --draft for a draft)",
              file=sys.stderr)
        return EXIT_REFUSED
    try:
        written = write_release(release, args.out)
    except (QmsError, InputError, OSError, ValueError, ImportError) as exc:
        print(f"corridor release: {exc} (nothing written)", file=sys.stderr)
        return EXIT_INPUT
    status = "DRAFT" if args.draft else "released"
    print(f"wrote {args.out}: {args.version} {status}, {len(written)} files, "
          f"commit {release.commit or 'none'}; see {args.out / MANIFEST_NAME}")
    for reason in release.reasons:
        print(f"  draft because: {reason}")
    return EXIT_OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``release`` to the ``corridor`` parser."""
    parser = subparsers.add_parser(
        "release", help="write every audit document of this commit into one folder, or "
        "refuse listing why", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("version", metavar="VERSION",
                        help="the version released: the project's [project] version")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="a new folder for the release (never overwritten)")
    parser.add_argument("--results", type=Path, metavar="junit.xml",
                        help="test results of this commit (JUnit XML or cucumber JSON)")
    parser.add_argument("--validation", type=Path, metavar="RESULTS.json",
                        help="results.json of corridor validate study")
    parser.add_argument("--model", type=Path, metavar="DIR", help="model package for the "
                        "model card (default: the project's reference model, if it has one)")
    parser.add_argument("--signatures", type=Path, metavar="DIR",
                        help="the release's signature records (corridor docs sign)")
    parser.add_argument("--allowed-signers", type=Path, metavar="FILE",
                        help="the keys allowed to sign (with --signatures)")
    parser.add_argument("--previous", metavar="REF", help="git revision of the previous "
                        "release (default: the latest v* or release-* tag before HEAD)")
    parser.add_argument("--draft", action="store_true",
                        help="write everything even when not ready, marked draft")
    parser.add_argument("--root", type=Path, help="project root (default: found from here)")
    parser.set_defaults(handler=_release)
