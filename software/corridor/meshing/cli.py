"""``corridor mesh LABELMAP --out DIR [--labels ...] [--smoothing F] [--decimate F]
[--format stl|ply|obj|vtp] [--ras] [--extractor flying-edges|surface-nets]``.

One closed surface per label, QA checked, written in LPS millimetres (RAS with
``--ras``; the file names and headers say which), with ``meshes.json``.  Exit 0
written; 2 bad input, a surface failing QA, or a non-empty output folder (nothing
written).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from corridor.images import read_label_map
from corridor.meshing.api import MeshOptions, mesh_label_map, write_meshes
from corridor.meshing.extract import Extractor
from corridor.meshing.files import Frame, MeshFormat
from corridor.provenance import describe_file
from corridor.staging import check_output_folder

__all__ = ["add_parser"]


def _run(args: argparse.Namespace) -> int:
    check_output_folder(args.out)
    label_map = read_label_map(args.label_map)
    options = MeshOptions(extractor=Extractor(args.extractor), smoothing=args.smoothing,
                          decimation=args.decimate)
    meshed = mesh_label_map(label_map, args.labels, options,
                            source=describe_file(args.label_map, args.label_map.parent))
    record = write_meshes(meshed, args.out, fmt=MeshFormat(args.format),
                          frame=Frame.RAS if args.ras else Frame.LPS)
    for entry in record["surfaces"]:
        quality = entry["quality"]
        print(f"  {entry['name']:<16} {entry['triangles']:8d} triangles  "
              f"{quality['volume_mm3'] / 1000:9.2f} ml  volume vs voxels "
              f"{quality['volume_error']:+.2%}  max distance to label "
              f"{quality['max_distance_to_label_boundary_mm']:.2f} mm  -> {entry['file']}")
    print(f"wrote {args.out} ({record['frame']}, mm)")
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``mesh`` to the ``corridor`` parser."""
    parser = subparsers.add_parser("mesh", help="closed surfaces of a label map",
                                   description=__doc__)
    parser.add_argument("label_map", type=Path, metavar="LABELMAP",
                        help="NIfTI (.nii, .nii.gz), NRRD or DICOM SEG (.dcm)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="output folder (new or empty); written all or nothing")
    parser.add_argument("--labels", nargs="+", metavar="LABEL",
                        help="label values or names (default: every non-empty label)")
    parser.add_argument("--smoothing", type=float, default=MeshOptions().smoothing,
                        help="windowed-sinc smoothing factor in [0, 1] (default "
                        f"{MeshOptions().smoothing})")
    parser.add_argument("--decimate", type=float, default=0.0,
                        help="fraction of triangles to remove, in [0, 1) (default 0)")
    parser.add_argument("--format", choices=[f.value for f in MeshFormat], default="stl")
    parser.add_argument("--ras", action="store_true",
                        help="write RAS coordinates (3D Slicer's world) instead of LPS")
    parser.add_argument("--extractor", choices=[e.value for e in Extractor],
                        default=Extractor.FLYING_EDGES.value)
    parser.set_defaults(handler=_run)
