"""``corridor plan-trajectory LABELMAP --procedure NAME|FILE --out DIR [--side left|right]
[--landmarks FILE] [--landmark NAME=X,Y,Z[,R]] [--label-names NAMES | --class-map FILE] [--json]``.

Plans one implant trajectory on a label map and writes ``plan.json``, the implant as
``implant.stl`` (safe plans only) and ``risk-map.png`` into a new or empty folder, all
or nothing.  LABELMAP is a segmentation with named labels: a TotalSegmentator output folder
(one ``<class>.nii.gz`` per class), a multi-label NIfTI with its label table in the header
(TotalSegmentator ``--ml``) or a ``--class-map``, a 3D Slicer ``.seg.nrrd`` or a DICOM SEG; or
any label map with ``--label-names``.  Labels get their roles from their names, never their
numbers.  Exit status: 0 a safe plan; 3 no safe trajectory (the best candidate and its
shortfall are in plan.json); 4 the independent re-check rejected the plan; 5 not fully
checked (a risk structure the template needs is not segmented); 2 bad input (nothing
written).  Femoral heads the procedure needs and the landmarks do not give are found from the
label map's bone (recorded as ``found`` with their fit quality; a head that is truncated, not
spherical or unstably fitted is refused, exit 2); given ones override them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corridor.errors import ExitStatus, exit_status_of
from corridor.images import LabelMap, SegmentCode, read_label_map
from corridor.planning.api import plan_trajectory
from corridor.planning.errors import PlanningError, StalePlanError
from corridor.planning.external import read_external
from corridor.planning.landmarks import complete_landmarks
from corridor.planning.outputs import check_plan_current
from corridor.planning.procedure import SHIPPED_PROCEDURES, Side, load_procedure
from corridor.planning.regions import Landmark, load_landmarks
from corridor.provenance import describe_file
from corridor.staging import check_output_folder

__all__ = ["add_check_parser", "add_parser", "landmark_option"]


def landmark_option(text: str) -> Landmark:
    """Parse ``NAME=X,Y,Z[,R]`` (LPS mm) for ``--landmark`` (also used by ``corridor plan``)."""
    try:
        name, values = text.split("=", 1)
        numbers = [float(v) for v in values.split(",")]
        if len(numbers) not in (3, 4) or not name:
            raise ValueError(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=X,Y,Z or NAME=X,Y,Z,RADIUS (LPS mm)") from exc
    return Landmark(name, (numbers[0], numbers[1], numbers[2]),
                    numbers[3] if len(numbers) == 4 else None)


def _run(args: argparse.Namespace) -> int:
    check_output_folder(args.out)
    clock = time.perf_counter()
    procedure = load_procedure(args.procedure)
    landmarks = load_landmarks(args.landmarks) if args.landmarks else {}
    for mark in args.landmark or ():
        landmarks[mark.name] = mark
    codes: dict[int, SegmentCode] = {}
    segmentation: dict[str, Any] | None = None
    if args.label_names:
        if args.class_map:
            raise PlanningError("--class-map", str(args.class_map), "either --label-names or "
                                "--class-map, not both")
        label_map = read_label_map(args.label_map)
        label_map_file = describe_file(args.label_map, relative_to=args.label_map.parent)
    else:
        external = read_external(args.label_map, class_map=args.class_map)
        label_map, label_map_file = external.label_map, external.file
        codes, segmentation = dict(external.codes), external.record
    if args.label_names:
        names = tuple(n.strip() for n in args.label_names.split(","))
        if len(names) <= int(label_map.labels.max()) or len(set(names)) != len(names):
            raise PlanningError("--label-names", args.label_names,
                                f"{int(label_map.labels.max()) + 1} or more distinct names, "
                                "one per label value from 0")
        label_map = LabelMap(label_map.labels, label_map.geometry, names)
    read_s = time.perf_counter() - clock
    side = Side(args.side) if args.side else None
    clock = time.perf_counter()
    landmarks = complete_landmarks(label_map, procedure, side=side, given=landmarks, codes=codes)
    landmarks_s = time.perf_counter() - clock
    clock = time.perf_counter()
    result = plan_trajectory(label_map, procedure, side=side, landmarks=landmarks,
                             label_map_file=label_map_file, codes=codes,
                             segmentation=segmentation)
    plan_s = time.perf_counter() - clock
    document = result.write(args.out, timings_s={"read_s": read_s, "landmarks_s": landmarks_s,
                                                 "plan_s": plan_s})
    if args.json:
        json.dump(document, sys.stdout, indent=2, sort_keys=True)
        print()
    else:
        _summary(document, args.out, result.plan.inputs.landmarks)
    return result.plan.verdict.exit_status


def _summary(document: dict[str, object], out: Path, landmarks: Sequence[Landmark]) -> None:
    print(f"{document['procedure']} ({document['side'] or 'unsided'}): {document['verdict']}")
    implant = document.get("trajectory") or document.get("best_candidate")
    if isinstance(implant, dict):
        label = ("best candidate (NOT SAFE)" if not document.get("trajectory")
                 else "trajectory" if document["verdict"] == "safe"
                 else "trajectory (NOT FULLY CHECKED)")
        print(f"  {label}: entry {implant['entry_lps_mm']} -> tip {implant['tip_lps_mm']} "
              f"(LPS mm), {implant['length_mm']} x {implant['diameter_mm']} mm")
    for item in document.get("clearances", []):  # type: ignore[attr-defined]
        print(f"  {item['structure']:<18} clearance {item['clearance_mm']:7.2f} mm "
              f"(guaranteed {item['guaranteed_min_mm']:.2f}, required {item['required_mm']:.2f})"
              + (" capped" if item["capped"] else "") + ("" if item["met"] else "  NOT MET"))
    for item in document.get("not_checked", []):  # type: ignore[attr-defined]
        print(f"  {item['structure']:<18} {item['status']} ({item['detail']})")
    if document.get("failed_constraints"):
        print(f"  failed: {', '.join(document['failed_constraints'])}"  # type: ignore[arg-type]
              + (f"; shortfall {document['shortfall_mm']} mm"
                 if document.get("shortfall_mm") is not None else ""))
    for landmark in landmarks:
        print(f"  landmark {landmark.describe()}")
    print(f"wrote {out}")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``plan-trajectory`` to the ``corridor`` parser."""
    parser = subparsers.add_parser(
        "plan-trajectory", help="plan a safe implant trajectory on a label map",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("label_map", type=Path, metavar="LABELMAP",
                        help="TotalSegmentator folder, multi-label NIfTI, 3D Slicer .seg.nrrd, "
                        "DICOM SEG, or any NIfTI/NRRD with --label-names")
    parser.add_argument("--procedure", required=True, metavar="NAME|FILE",
                        help=f"shipped template ({', '.join(SHIPPED_PROCEDURES)}) or a YAML file")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="output folder (new or empty); written all or nothing")
    parser.add_argument("--side", choices=[s.value for s in Side],
                        help="patient side (required by sided procedures)")
    parser.add_argument("--landmarks", type=Path, metavar="FILE",
                        help='JSON {"landmarks": [{"name", "centre_lps_mm", "radius_mm"?}]}; '
                        "femoral heads not given are found from the label map")
    parser.add_argument("--landmark", type=landmark_option, action="append",
                        metavar="NAME=X,Y,Z[,R]", help="one landmark (LPS mm; repeatable; "
                        "overrides --landmarks and a found one)")
    parser.add_argument("--label-names", metavar="NAME,NAME,...",
                        help="names of the label values 0, 1, ... (for label maps that carry "
                        "none, such as NIfTI)")
    parser.add_argument("--class-map", type=Path, metavar="FILE",
                        help='names of a multi-label NIfTI\'s values: JSON {"1": "hip_left", '
                        '...} (where its header has no label table)')
    parser.add_argument("--json", action="store_true", help="print plan.json to stdout")
    parser.set_defaults(handler=_run)


def _check(args: argparse.Namespace) -> int:
    procedure = load_procedure(args.procedure).sha256 if args.procedure else None
    try:
        document = check_plan_current(args.plan, args.label_map, procedure)
    except StalePlanError as exc:
        print(f"corridor plan-check: {exc}", file=sys.stderr)
        return exit_status_of(exc)
    print(f"current: {args.plan} was planned on {args.label_map.name}"
          + (" with this template" if procedure else "")
          + f" (verdict {document.get('verdict')})")
    return ExitStatus.OK


def add_check_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``plan-check`` to the ``corridor`` parser."""
    parser = subparsers.add_parser(
        "plan-check", help="check a plan was made on this label map (and template)",
        description="Exit 0 when PLAN_DIR's plan.json records this label map's (and "
        "template's) SHA-256; 4 when either changed since planning (a stale plan, a safety "
        "refusal: re-plan); 2 bad input.")
    parser.add_argument("plan", type=Path, metavar="PLAN_DIR", help="folder with plan.json")
    parser.add_argument("--label-map", type=Path, required=True, metavar="PATH",
                        help="the label map or segmentation (file, or TotalSegmentator folder) "
                        "the plan is about to be used with")
    parser.add_argument("--procedure", metavar="NAME|FILE",
                        help="the template the plan is about to be used with")
    parser.set_defaults(handler=_check)
