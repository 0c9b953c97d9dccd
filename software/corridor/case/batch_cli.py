"""``corridor plan-batch CASES.csv [--out DIR] [--workers N | --scheduler ADDRESS]
[--model DIR] [--audit-log FILE] [--resume]``

Runs ``corridor plan`` on every row of CASES.csv (columns ``case_id``, ``dicom``,
``procedure``; optional ``side``, ``landmarks``, ``series``, ``model``,
``regularize``, ``segmentation`` and ``class_map`` (``corridor plan --segmentation`` and
``--class-map``: a segmentation made elsewhere, planned on instead of running a model);
relative paths from the CSV's folder), one process per case: a pool of N
processes on this machine (default: one per CPU core), or the workers of the Dask
distributed cluster whose scheduler is at ADDRESS (every worker must run this same software
and see the same paths).  Each case writes ``DIR/CASE_ID/`` all or nothing and its own audit
record; ``DIR/batch.json`` and ``DIR/batch-results.csv`` list every case with its status,
rewritten after each one.

Every row is checked before any case runs.  Exit status: 0 every case has a safe plan; 3
every case ran, some without a safe plan; 1 a case failed (bad input, internal error, a lost
worker) or did not run; 2 a bad CSV or option (nothing run); 130 interrupted (the ledger says
which cases finished; ``--resume`` runs the rest).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from corridor.audit import reserved_record
from corridor.case.batch import (
    LEDGER_CSV,
    LEDGER_JSON,
    BatchCase,
    BatchError,
    CaseResult,
    CaseStatus,
    Ledger,
    read_cases,
    resumed_result,
    run_in_pool,
    run_on_cluster,
)
from corridor.case.cli import reference_model
from corridor.case.job import audit_header
from corridor.errors import CorridorError, ExitStatus, exit_status_of
from corridor.provenance import sha256_file
from corridor.staging import check_output_folder

__all__ = ["add_parser"]


def _exit_status(ledger: Ledger, interrupted: bool) -> int:
    statuses = {r.status for r in ledger.results.values()}
    if interrupted:
        return ExitStatus.INTERRUPTED
    if not all(s.planned for s in statuses):
        return ExitStatus.FINDINGS
    return (ExitStatus.OK if statuses == {CaseStatus.SAFE}
            else ExitStatus.NO_SAFE_TRAJECTORY)


def _cases(args: argparse.Namespace, audit_log: Path) -> tuple[list[BatchCase], int]:
    """The checked cases and the local pool's size (ONNX threads shared out)."""
    cases = read_cases(args.cases, out=args.out, model=args.model or reference_model(),
                       audit_log=audit_log)
    cores = os.cpu_count() or 1
    workers = min(args.workers or cores, len(cases))
    if args.scheduler is None:
        threads = max(1, cores // workers)
        cases = [replace(c, request=replace(c.request, threads=threads)) for c in cases]
    return cases, workers


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"found {text!r}, expected a whole number >= 1")
    return value


def _line(console: Console, result: CaseResult) -> None:
    seconds = "" if result.seconds is None else f" in {result.seconds:.1f} s"
    note = " (complete already, not run again)" if result.resumed else ""
    console.print(f"{result.case_id}: {result.status.value}{seconds}{note}"
                  + (f" - {result.message.splitlines()[0]}" if result.message else ""),
                  markup=False, highlight=False)


def _summary(ledger: Ledger, out: Path) -> None:
    table = Table(title=f"corridor plan-batch: {len(ledger.results)} case(s)")
    for name in ("case", "status", "exit", "attempts", "seconds"):
        table.add_column(name)
    for r in ledger.results.values():
        table.add_row(r.case_id, r.status.value, "" if r.exit_code is None else str(r.exit_code),
                      str(r.attempts), "" if r.seconds is None else f"{r.seconds:.1f}")
    console = Console(soft_wrap=True)
    console.print(table)
    counts = ", ".join(f"{n} {s}" for s, n in ledger.counts().items() if n)
    console.print(f"{counts}; ledger {out / LEDGER_JSON}", markup=False, highlight=False)


def _plan_batch(args: argparse.Namespace) -> int:
    console = Console(stderr=True, soft_wrap=True)
    audit_log = args.audit_log or args.out / "corridor-audit.jsonl"
    audit = audit_header("corridor plan-batch")
    try:
        if not args.resume:
            check_output_folder(args.out)
        cases, workers = _cases(args, audit_log)
    except CorridorError as exc:
        console.print(f"corridor plan-batch: error: {exc}", markup=False, highlight=False)
        return exit_status_of(exc)
    about: dict[str, Any] = {
        "software": audit["software"],
        "cases_csv": {"file": args.cases.name, "sha256": sha256_file(args.cases)},
        "executor": ({"kind": "dask-distributed", "scheduler": args.scheduler}
                     if args.scheduler else {"kind": "process-pool", "workers": workers})}
    audit.update(inputs={"cases_csv_sha256": about["cases_csv"]["sha256"], "cases": len(cases)},
                 parameters={"executor": about["executor"], "resume": args.resume})
    interrupted, refused = False, None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("cases", total=len(cases))

        def shown(result: CaseResult) -> None:
            _line(progress.console, result)
            progress.advance(task)

        ledger = Ledger(args.out, cases, about, on_result=shown)
        try:
            for case in cases if args.resume else ():
                done = resumed_result(case)
                if done is not None:
                    ledger.record(done)
            pending = ledger.pending(cases)
            if args.scheduler:
                about["executor"].update(run_on_cluster(pending, ledger, address=args.scheduler))
            elif pending:
                run_in_pool(pending, ledger, workers=workers)
        except KeyboardInterrupt:
            interrupted = True
        except BatchError as exc:
            refused = exc
        finally:
            with reserved_record(audit_log) as slot:  # batch.json anchors the batch's record
                ledger.close(slot.anchor)
                audit.update(counts=ledger.counts(),
                             outcome="interrupted" if interrupted else
                             "refused" if refused else "complete",
                             outputs_sha256={name: sha256_file(args.out / name)
                                             for name in (LEDGER_JSON, LEDGER_CSV)})
                slot.append(audit)
    if refused is not None:
        console.print(f"corridor plan-batch: error: {refused}", markup=False, highlight=False)
        return ExitStatus.INPUT_ERROR
    _summary(ledger, args.out)
    return _exit_status(ledger, interrupted)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``plan-batch`` to the ``corridor`` parser."""
    parser = subparsers.add_parser("plan-batch", help="the planning job on every case of a CSV",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", type=Path, metavar="CASES.csv")
    parser.add_argument("--out", type=Path, default=Path("corridor-batch"), metavar="DIR",
                        help="batch folder, new or empty unless --resume (default "
                             "corridor-batch)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_count, metavar="N",
                       help="processes on this machine (default: one per CPU core)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a Dask distributed scheduler, e.g. tcp://host:8786")
    parser.add_argument("--model", type=Path, metavar="DIR",
                        help="model package for rows with neither a model nor a "
                             "segmentation (default: the shipped reference model)")
    parser.add_argument("--audit-log", type=Path, metavar="FILE",
                        help="hash-chained audit log (default: DIR/corridor-audit.jsonl)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the complete case folders already in DIR and run the rest")
    parser.set_defaults(handler=_plan_batch)
