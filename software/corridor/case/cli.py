"""``corridor plan DICOM_PATH --procedure NAME|FILE [--model DIR] [--out DIR]
[--side left|right] [--landmarks FILE] [--landmark NAME=X,Y,Z[,R]] [--audit-log FILE]``.

``corridor plan`` runs the whole job on one CT series: ingest, segmentation (the shipped
reference model unless ``--model``), meshing, trajectory planning, and writes one case folder
all or nothing (``segmentation/``, ``meshes/``, ``plan/``, ``case.json``), with a progress line
per stage and a one-screen summary.  Exit status: 0 a safe plan; 3 no safe trajectory; 4 the
plan rejected by its independent re-check or another safety refusal; 2 bad input (nothing
written); 70 internal error.  Every run appends a record to the hash-chained audit log (default:
``corridor-audit.jsonl`` beside the case folder), which ``corridor audit verify`` checks.
Femoral heads the procedure needs and neither ``--landmarks`` nor ``--landmark`` gives are
found from the segmentation (a robust sphere fit; refused, exit 2, when the head is truncated,
not spherical or the fit unstable); given landmarks override found ones.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from importlib.resources import files
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from corridor.case.job import STAGES, CaseOutcome, CaseRequest, run_case
from corridor.errors import CorridorError, ExitStatus, exit_status_of
from corridor.planning import Side, load_landmarks
from corridor.planning.cli import landmark_option

__all__ = ["add_parser", "reference_model"]

def reference_model() -> Path:
    """The shipped reference model package's folder."""
    return Path(str(files("corridor.inference") / "models" / "reference-bone-vessel"))


def _summary(console: Console, outcome: CaseOutcome, out: Path) -> None:
    plan = outcome.planned.plan.to_json()
    console.print(f"{plan.get('procedure')} ({plan.get('side') or 'unsided'}): "
                  f"{plan.get('verdict')}", style="bold", markup=False)
    implant = plan.get("trajectory") or plan.get("best_candidate")
    if implant:
        label = ("best candidate (NOT SAFE)" if not plan.get("trajectory")
                 else "trajectory" if plan.get("verdict") == "safe"
                 else "trajectory (NOT FULLY CHECKED)")
        console.print(f"  {label}: entry {implant['entry_lps_mm']} -> tip "
                      f"{implant['tip_lps_mm']} (LPS mm), {implant['length_mm']} x "
                      f"{implant['diameter_mm']} mm", markup=False, highlight=False)
    for item in plan.get("clearances", []):
        console.print(f"  {item['structure']:<18} {item['clearance_mm']:7.2f} mm (guaranteed "
                      f"{item['guaranteed_min_mm']:.2f}, required {item['required_mm']:.2f})"
                      + ("" if item["met"] else "  NOT MET"), highlight=False, markup=False)
    for landmark in outcome.planned.plan.inputs.landmarks:
        console.print(f"  landmark {landmark.describe()}", highlight=False, markup=False)
    for item in plan.get("not_checked", []):
        console.print(f"  {item['structure']:<18} {item['status']} ({item['detail']})",
                      highlight=False, markup=False)
    uncertainty = outcome.planned.uncertainty
    if uncertainty is not None:
        names = [a.name for a in uncertainty.alternatives]
        console.print("  margin under the segmentation's alternatives (mm): nominal / "
                      + " / ".join(names), highlight=False, markup=False)
        for row in uncertainty.to_json()["clearances"]:
            values = [row["nominal_margin_mm"], *(
                None if v is None else v["margin_mm"] for v in row["alternatives"].values())]
            console.print(f"    {row['structure']:<16} " + " / ".join(
                "n/a" if v is None else f"{v:+.2f}" for v in values), highlight=False,
                markup=False)
        if uncertainty.choice is not None:
            choice = uncertainty.choice
            held = ("meets every clearance under every alternative" if choice.robust
                    else "NOT robust under the alternatives")
            console.print(f"  trajectory chosen: {choice.chosen.value}; {held}: "
                          f"{choice.reason}", highlight=False, markup=False)
    for flag in outcome.record.flags:
        console.print(f"  review flag [{flag['code']}]: {flag['message']}", highlight=False,
                      markup=False)
    console.print("  stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in
                                                outcome.timings.items()))
    console.print(f"case folder: {out}", markup=False, highlight=False)


def _plan(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    if args.segmentation is not None and args.model is not None:
        console.print("corridor plan: error: --model and --segmentation: give one (a segmentation "
                      "given is planned on without running a model)", markup=False)
        return ExitStatus.INPUT_ERROR
    if args.class_map is not None and args.segmentation is None:
        console.print("corridor plan: error: --class-map needs --segmentation", markup=False)
        return ExitStatus.INPUT_ERROR
    landmarks = load_landmarks(args.landmarks) if args.landmarks else {}
    for mark in args.landmark or ():
        landmarks[mark.name] = mark
    request = CaseRequest(dicom=args.dicom_path, procedure=args.procedure,
                          model=args.model or reference_model(), out=args.out,
                          side=Side(args.side) if args.side else None, landmarks=landmarks,
                          audit_log=args.audit_log or args.out.parent / "corridor-audit.jsonl",
                          series=args.series, regularize=args.regularize,
                          segmentation=args.segmentation, class_map=args.class_map)
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=False) as progress:
            tasks = {name: progress.add_task(name, total=1, start=False) for name in STAGES}
            current: list[str] = []

            def advance(name: str) -> None:
                if current:
                    progress.update(tasks[current[-1]], completed=1)
                progress.start_task(tasks[name])
                current.append(name)

            outcome = run_case(request, advance)
            if current:
                progress.update(tasks[current[-1]], completed=1)
    except CorridorError as exc:
        console.print(f"corridor plan: error: {exc}", highlight=False, markup=False)
        return exit_status_of(exc)
    except Exception as exc:  # a defect: say so, keep the traceback, nothing half-written
        console.print(f"corridor plan: internal error ({type(exc).__name__}); nothing was "
                      "written. Please report it with the traceback below.", markup=False)
        traceback.print_exc(file=sys.stderr)
        return ExitStatus.INTERNAL_ERROR
    _summary(Console(soft_wrap=True), outcome, args.out)
    return outcome.verdict.exit_status


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``plan`` to the ``corridor`` parser."""
    parser = subparsers.add_parser("plan", help="the whole planning job on one CT series",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dicom_path", type=Path, metavar="DICOM_PATH")
    parser.add_argument("--procedure", required=True, metavar="NAME|FILE")
    parser.add_argument("--model", type=Path, metavar="DIR",
                        help="model package (default: the shipped reference model)")
    parser.add_argument("--out", type=Path, default=Path("corridor-case"), metavar="DIR",
                        help="case folder, new or empty (default corridor-case)")
    parser.add_argument("--series", metavar="UID", help="Series Instance UID, if several")
    parser.add_argument("--regularize", action="store_true",
                        help="resample a gantry-tilted or unevenly spaced series onto a regular "
                             "grid instead of refusing it (recorded; flagged for review)")
    parser.add_argument("--side", choices=[s.value for s in Side])
    parser.add_argument("--landmarks", type=Path, metavar="FILE",
                        help="landmarks JSON; femoral heads not given are found from the "
                             "segmentation")
    parser.add_argument("--landmark", type=landmark_option, action="append",
                        metavar="NAME=X,Y,Z[,R]", help="one landmark (LPS mm; repeatable; "
                        "overrides --landmarks and a found one)")
    parser.add_argument("--segmentation", type=Path, metavar="PATH",
                        help="plan on this segmentation instead of running the model: a "
                        "TotalSegmentator folder or multi-label NIfTI, a 3D Slicer .seg.nrrd or a "
                        "DICOM SEG, of this CT (its geometry is checked)")
    parser.add_argument("--class-map", type=Path, metavar="FILE",
                        help='names of a multi-label NIfTI\'s values: JSON {"1": "hip_left", ...}')
    parser.add_argument("--audit-log", type=Path, metavar="FILE",
                        help="hash-chained audit log (default: corridor-audit.jsonl beside the "
                             "case folder)")
    parser.set_defaults(handler=_plan)
