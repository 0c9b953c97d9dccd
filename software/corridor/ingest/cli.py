"""``corridor ingest PATH [--series UID] [--regularize] [--json] [--export FILE]``.

Lists every series found under PATH, loads one CT series into a volume, prints
its geometry (or all of it as JSON), and optionally exports it as NIfTI (RAS) or
NRRD (LPS) for other tools.  Exit status: 0 loaded, 2 refused or bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from corridor.ingest.api import IngestResult, ingest

__all__ = ["add_parser", "render_json", "render_text"]


def render_json(result: IngestResult) -> str:
    """The ``--json`` document: ``series``, ``skipped`` and ``volume``."""
    document = {
        "series": [s.to_json() for s in result.series],
        "skipped": [{"path": s.path, "reason": s.reason.value, "detail": s.detail}
                    for s in result.skipped],
        "volume": result.volume.to_json(),
    }
    return json.dumps(document, indent=2, sort_keys=True)


def render_text(result: IngestResult) -> str:
    """A short human-readable report."""
    lines = ["series found:"]
    for s in result.series:
        aside = f"  (set aside: {s.set_aside.words})" if s.set_aside is not None else ""
        lines.append(f"  {s.label()}{aside}")
    for skipped in result.skipped:
        lines.append(f"skipped {skipped.path}: {skipped.reason.value} ({skipped.detail})")
    volume = result.volume
    geometry = volume.geometry
    hu_min, hu_max = volume.hu_range()
    lines += [
        f"loaded {volume.series_instance_uid}",
        f"  shape (i, j, k): {geometry.shape}",
        "  spacing (mm): " + ", ".join(f"{v:.4f}" for v in geometry.spacing),
        "  origin (LPS mm): " + ", ".join(f"{v:.3f}" for v in geometry.origin),
        f"  HU range: {hu_min:.0f} to {hu_max:.0f} ({volume.hu.dtype})"
        if volume.not_hounsfield is None else
        f"  value range: {hu_min:.0f} to {hu_max:.0f} ({volume.hu.dtype}); NOT Hounsfield "
        f"units: {volume.not_hounsfield}",
    ]
    lines += [f"  warning [{w.code.value}]: {w.message}" for w in volume.warnings]
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    result = ingest(args.path, args.series, regularize=args.regularize)
    print(render_json(result) if args.json else render_text(result))
    if args.export is not None:
        from corridor.images import export_volume  # only when asked: start-up (SRS-CLI-002)

        export_volume(result.volume, args.export)
        print(f"wrote {args.export}", file=sys.stderr)
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ingest`` to the ``corridor`` parser."""
    parser = subparsers.add_parser("ingest", help="load a DICOM CT series into a volume",
                                   description=__doc__)
    parser.add_argument("path", type=Path, help="a DICOM file or a folder (scanned recursively)")
    parser.add_argument("--series", metavar="UID", help="Series Instance UID to load")
    parser.add_argument("--regularize", action="store_true",
                        help="resample a gantry-tilted or unevenly spaced series onto a regular "
                             "grid instead of refusing it (recorded; flagged for review)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--export", type=Path, metavar="FILE",
                        help="write the volume as .nii / .nii.gz (RAS) or .nrrd (LPS)")
    parser.set_defaults(handler=_run)
