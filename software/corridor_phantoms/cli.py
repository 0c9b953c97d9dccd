"""``corridor phantom KIND --out DIR``: write a synthetic CT phantom and its ground truth.

Writes ``DIR/dicom/`` (the DICOM series, with any planted faults) and ``DIR/truth/``
(``hu.npy``, ``labels.npy``, ``padding.npy``, ``geometry.json``, ``manifest.json``).  Registered as
the ``phantom`` entry point of the ``corridor.commands`` group.  Exit status: 0
written, 2 a bad option value or an output that cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from corridor_phantoms.enum import (
    Fault,
    Orientation,
    PatientPosition,
    PhantomKind,
    TransferSyntax,
)
from corridor_phantoms.errors import PhantomError
from corridor_phantoms.faint import DEFAULT_BLUR_MM, DEFAULT_CONTRAST, FaintVessel
from corridor_phantoms.grid import DEFAULT_OBLIQUE_ANGLE_DEG
from corridor_phantoms.phantom import DEFAULT_NOISE_HU, DEFAULT_SHAPES, make_phantom
from corridor_phantoms.writer import write_series

__all__ = ["EXIT_INPUT", "EXIT_OK", "add_parser", "main"]

EXIT_OK, EXIT_INPUT = 0, 2


def _choices(enum: type[PhantomKind | Orientation | PatientPosition | Fault | TransferSyntax]
             ) -> str:
    return "{" + ",".join(member.value for member in enum) + "}"


def _faint_vessel(args: argparse.Namespace) -> FaintVessel | None:
    """The ``--faint-vessel`` segment, or ``None`` (the kind's default, with the fault)."""
    if args.faint_vessel is None:
        return None
    values = args.faint_vessel
    return FaintVessel((values[0], values[1], values[2]), (values[3], values[4], values[5]),
                       values[6], contrast=args.faint_contrast, blur_mm=args.faint_blur)


def _run(args: argparse.Namespace) -> int:
    try:
        phantom = make_phantom(
            args.kind, shape=args.shape, spacing=args.spacing, orientation=args.orientation,
            patient_position=args.patient_position, seed=args.seed, noise_hu=args.noise,
            oblique_angle_deg=args.oblique_angle,
        )
        written = write_series(phantom, args.out, faults=args.fault or (),
                               transfer_syntax=args.transfer_syntax, enhanced=args.enhanced,
                               overwrite=args.overwrite, faint_vessel=_faint_vessel(args))
    except PhantomError as exc:
        print(f"corridor phantom: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:
        print(f"corridor phantom: error: cannot write {args.out}: {exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_INPUT
    geometry = written.phantom.geometry
    faults = ", ".join(written.manifest["faults"]) or "none"
    print(f"wrote {written.out_dir}: {len(written.paths)} file(s) in dicom/, truth in truth/")
    print(f"  series {written.series_instance_uid}")
    print(f"  shape (i, j, k) {geometry.shape}, spacing (mm) "
          + ", ".join(f"{s:g}" for s in geometry.spacing) + f"; faults: {faults}")
    return EXIT_OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``phantom`` to the ``corridor`` parser."""
    defaults = ", ".join(f"{kind.value} {' x '.join(map(str, shape))} at "
                         f"{' x '.join(f'{s:g}' for s in spacing)} mm"
                         for kind, (shape, spacing) in DEFAULT_SHAPES.items())
    parser = subparsers.add_parser(
        "phantom", help="write a synthetic CT phantom as DICOM, with its ground truth",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", metavar=_choices(PhantomKind), help="what the phantom holds")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="output folder (must be new or empty unless --overwrite)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seeds noise, UIDs and fault choices (default 0)")
    parser.add_argument("--shape", type=int, nargs=3, metavar=("I", "J", "K"),
                        help=f"voxels along i, j, k (defaults: {defaults})")
    parser.add_argument("--spacing", type=float, nargs=3, metavar=("SI", "SJ", "SK"),
                        help="voxel spacing along i, j, k in mm (default per kind)")
    parser.add_argument("--orientation", default=Orientation.AXIAL.value,
                        metavar=_choices(Orientation), help="image plane (default axial)")
    parser.add_argument("--oblique-angle", type=float, default=DEFAULT_OBLIQUE_ANGLE_DEG,
                        metavar="DEG", help="turn of the oblique plane "
                        f"(default {DEFAULT_OBLIQUE_ANGLE_DEG:g})")
    parser.add_argument("--patient-position", default=PatientPosition.HFS.value,
                        metavar=_choices(PatientPosition), help="default HFS")
    parser.add_argument("--noise", type=float, default=DEFAULT_NOISE_HU, metavar="HU",
                        help=f"standard deviation of the noise (default {DEFAULT_NOISE_HU:g})")
    parser.add_argument("--fault", action="extend", nargs="+", metavar="NAME",
                        help=f"plant one or more faults {_choices(Fault)} (repeatable)")
    parser.add_argument("--faint-vessel", type=float, nargs=7,
                        metavar=("X1", "Y1", "Z1", "X2", "Y2", "Z2", "RADIUS"),
                        help="with --fault faint-vessel: the segment's ends (LPS mm) and radius "
                             "(default: beside the shipped template's entry, per kind)")
    parser.add_argument("--faint-contrast", type=float, default=DEFAULT_CONTRAST, metavar="F",
                        help="with --faint-vessel: fraction of a vessel's contrast kept "
                             f"(default {DEFAULT_CONTRAST:g})")
    parser.add_argument("--faint-blur", type=float, default=DEFAULT_BLUR_MM, metavar="MM",
                        help="with --faint-vessel: Gaussian blur of its edge "
                             f"(default {DEFAULT_BLUR_MM:g} mm)")
    parser.add_argument("--transfer-syntax", default=TransferSyntax.EXPLICIT_LITTLE_ENDIAN.value,
                        metavar=_choices(TransferSyntax), help="default explicit-little-endian")
    parser.add_argument("--enhanced", action="store_true",
                        help="one Enhanced CT multi-frame file instead of a file a slice")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a non-empty output folder")
    parser.set_defaults(handler=_run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``corridor phantom`` alone (for tests): ``main(["sphere", "--out", "x"])``."""
    parser = argparse.ArgumentParser(prog="corridor")
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["phantom", *(argv if argv is not None else sys.argv[1:])])
    return int(args.handler(args))
