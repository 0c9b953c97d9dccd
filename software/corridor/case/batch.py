"""Many planning cases from one CSV: a process pool on this machine or a Dask cluster.

Every row is checked before any case runs (a bad row stops the batch with every problem
named, nothing run).  Each case then runs :func:`~corridor.case.job.run_case` in a process of
its own, writing its own case folder all or nothing and its own audit record; a case that
fails is recorded with its status and message and the others go on.  The ledger
(``batch.json`` and ``batch-results.csv``) lists every row from the start, as ``not-run``
until its result arrives, and is rewritten atomically after each one, so a batch stopped
part-way shows exactly which cases finished.

A worker process that dies (killed, out of memory, a crash in a native library) breaks the
local pool: the cases it took down are run again, each alone in a fresh pool, and a case that
kills its worker a second time is recorded ``worker-lost``.  On a Dask cluster the scheduler
re-runs a case whose worker died on another worker, up to its ``allowed-failures``, then
the case is recorded ``worker-lost``.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import re
import secrets
import socket
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from corridor.audit import ANCHOR_KEY, AuditAnchor
from corridor.case.job import (
    CASE_RECORD,
    CaseRequest,
    run_case,
    verify_case_folder,
)
from corridor.errors import CorridorError, ExitStatus, InputError, SafetyRefusalError
from corridor.images import read_class_map
from corridor.inference.package import load_model_package
from corridor.planning import (
    FINDABLE_LANDMARKS,
    Landmark,
    LoadedProcedure,
    Side,
    Verdict,
    check_case_request,
    load_landmarks,
    load_procedure,
)
from corridor.planning.errors import PlanningError
from corridor.planning.procedure import SHIPPED_PROCEDURES
from corridor.provenance import sha256_file, software_identity
from corridor.reading import InputFileError, read_regular_file
from corridor.staging import write_text_atomic

__all__ = ["COLUMNS", "LEDGER_CSV", "LEDGER_JSON", "MAX_CASES_BYTES", "REQUIRED_COLUMNS",
           "BatchCase", "BatchError", "CaseResult", "CaseStatus", "Ledger", "read_cases",
           "run_in_pool", "run_on_cluster", "run_one"]

MAX_CASES_BYTES = 16 << 20
"""The largest CASES.csv read (some hundred thousand rows)."""

REQUIRED_COLUMNS = ("case_id", "dicom", "procedure")
COLUMNS = (*REQUIRED_COLUMNS, "side", "landmarks", "series", "model", "regularize", "segmentation",
           "class_map")
"""The columns of CASES.csv; relative paths are taken from the CSV file's folder."""

_YES, _NO = frozenset({"yes", "true", "1"}), frozenset({"no", "false", "0", ""})
"""Values of the ``regularize`` column."""

CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
LEDGER_JSON, LEDGER_CSV = "batch.json", "batch-results.csv"


class BatchError(InputError):
    """CASES.csv or the batch's options cannot be used; nothing was run."""


class CaseStatus(StrEnum):
    """How one case of a batch ended."""

    SAFE = "safe"
    NO_SAFE_TRAJECTORY = "no-safe-trajectory"
    REJECTED_BY_RECHECK = "rejected-by-recheck"
    NOT_FULLY_CHECKED = "not-fully-checked"
    """Planned, but a risk structure the template needs was not segmented (not checked)."""
    INPUT_ERROR = "input-error"
    REFUSED = "refused"
    """The software declined (a safety refusal: mesh QA, non-finite model output)."""
    INTERNAL_ERROR = "internal-error"
    WORKER_LOST = "worker-lost"
    NOT_RUN = "not-run"

    @property
    def planned(self) -> bool:
        """The case ran to a verdict (safe or not)."""
        return self in (CaseStatus.SAFE, CaseStatus.NO_SAFE_TRAJECTORY,
                        CaseStatus.REJECTED_BY_RECHECK, CaseStatus.NOT_FULLY_CHECKED)


_VERDICT_STATUS = {Verdict.SAFE: CaseStatus.SAFE,
                   Verdict.NO_SAFE_TRAJECTORY: CaseStatus.NO_SAFE_TRAJECTORY,
                   Verdict.REJECTED_BY_RECHECK: CaseStatus.REJECTED_BY_RECHECK,
                   Verdict.NOT_FULLY_CHECKED: CaseStatus.NOT_FULLY_CHECKED}
"""The ledger status of each verdict."""


@dataclass(frozen=True, slots=True)
class BatchCase:
    """One row of CASES.csv, checked, as the worker runs it."""

    case_id: str
    row: int
    request: CaseRequest


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case's result as the ledger records it."""

    case_id: str
    row: int
    status: CaseStatus
    exit_code: int | None = None
    message: str | None = None
    detail: str | None = None
    case_record_sha256: str | None = None
    seconds: float | None = None
    attempts: int = 0
    worker: str | None = None
    resumed: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ledger's entry (``status`` as its text)."""
        return {**asdict(self), "status": self.status.value}


# --- CASES.csv ----------------------------------------------------------------------------

class _Checks:
    """Loads shared by the rows (each procedure and model package read once)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procedures: dict[str, LoadedProcedure] = {}
        self.models: set[Path] = set()

    def path(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.folder / path

    def procedure(self, text: str) -> tuple[str, LoadedProcedure]:
        source = text if text in SHIPPED_PROCEDURES else str(self.path(text))
        if source not in self.procedures:
            self.procedures[source] = load_procedure(source)
        return source, self.procedures[source]

    def model(self, path: Path) -> Path:
        if path not in self.models:
            load_model_package(path)
            self.models.add(path)
        return path


def _row_case(row: dict[str, str], number: int, checks: _Checks, *, out: Path,
              model: Path, audit_log: Path) -> BatchCase:
    """One row to a checked case; raises CorridorError naming the column."""
    def column(name: str, error: CorridorError) -> InputError:
        return InputError(f"column {name}: {error}")

    case_id = row["case_id"]
    if not CASE_ID.fullmatch(case_id):
        raise InputError(f"column case_id: found {case_id!r}, expected 1 to 64 letters, "
                            "digits, '.', '_' or '-', starting with a letter or digit (it "
                            "names the case folder; use a study code, never a patient name "
                            "or ID)")
    dicom = checks.path(row["dicom"])
    if not row["dicom"] or not dicom.exists():
        raise InputError(f"column dicom: {dicom} does not exist; expected a DICOM file or "
                            "folder")
    try:
        source, loaded = checks.procedure(row["procedure"])
    except CorridorError as exc:
        raise column("procedure", exc) from exc
    side_text = row.get("side") or ""
    if side_text and side_text not in {s.value for s in Side}:
        raise InputError(f"column side: found {side_text!r}, expected left, right or empty")
    side = Side(side_text) if side_text else None
    landmarks: dict[str, Landmark] = {}
    if row.get("landmarks"):
        try:
            landmarks = load_landmarks(checks.path(row["landmarks"]))
        except CorridorError as exc:
            raise column("landmarks", exc) from exc
    try:  # landmarks planning can find from the segmentation may be left out
        check_case_request(loaded, side=side, landmarks=landmarks, findable=FINDABLE_LANDMARKS)
    except PlanningError as exc:
        raise column("side" if exc.field == "side" else "landmarks", exc) from exc
    segmentation, class_map = _segmentation(row, checks)
    package = checks.path(row["model"]) if row.get("model") else model
    if segmentation is None:  # a segmentation given is planned on without running a model
        try:
            checks.model(package)
        except CorridorError as exc:
            raise column("model", exc) from exc
    regularize_text = (row.get("regularize") or "").strip().lower()
    if regularize_text not in _YES | _NO:
        raise InputError(f"column regularize: found {row.get('regularize')!r}, expected yes, "
                         "no or empty (no)")
    request = CaseRequest(dicom=dicom, procedure=source, model=package, out=out / case_id,
                          side=side, landmarks=landmarks, audit_log=audit_log,
                          series=row.get("series") or None,
                          regularize=regularize_text in _YES, segmentation=segmentation,
                          class_map=class_map)
    return BatchCase(case_id, number, request)


def _segmentation(row: dict[str, str], checks: _Checks) -> tuple[Path | None, Path | None]:
    """The ``segmentation`` and ``class_map`` columns: a segmentation that exists, a class map
    that reads as one, only beside a segmentation, and no ``model`` beside a segmentation (the
    segmentation itself is read by its case, which checks it against its CT)."""
    if not row.get("segmentation"):
        if row.get("class_map"):
            raise InputError(f"column class_map: found {row['class_map']!r} with the "
                             "segmentation column empty; expected a class map only beside a "
                             "segmentation (a multi-label NIfTI's names)")
        return None, None
    if row.get("model"):
        raise InputError(f"column model: found {row['model']!r} beside a segmentation; "
                         "expected one of the two (a segmentation given is planned on without "
                         "running a model)")
    segmentation = checks.path(row["segmentation"])
    if not segmentation.exists():
        raise InputError(f"column segmentation: {segmentation} does not exist; expected a "
                         "TotalSegmentator folder or multi-label NIfTI, a 3D Slicer .seg.nrrd "
                         "or a DICOM SEG of the case's CT")
    if not row.get("class_map"):
        return segmentation, None
    class_map = checks.path(row["class_map"])
    try:
        read_class_map(class_map)
    except CorridorError as exc:
        raise InputError(f"column class_map: {exc}") from exc
    return segmentation, class_map


def read_cases(path: Path, *, out: Path, model: Path, audit_log: Path) -> list[BatchCase]:
    """Read and check every row of CASES.csv.

    Columns (header row, any order): ``case_id``, ``dicom`` and ``procedure`` required;
    ``side``, ``landmarks`` (a landmarks JSON file), ``series`` (a Series Instance UID),
    ``model`` (a model package folder, default ``model``), ``regularize`` (``yes`` to
    resample a tilted or unevenly spaced series, default no), ``segmentation`` (a segmentation
    made elsewhere, planned on instead of running a model: ``corridor plan --segmentation``)
    and ``class_map`` (its ``--class-map``) optional.  Paths may be relative to the CSV file's
    folder.

    Raises
    ------
    BatchError
        The file cannot be read, lacks a required column, names an unknown one, holds no
        case, or any row is bad (a repeated case_id, a missing file, an unknown procedure,
        a side or landmark the procedure cannot use, an unusable model, a segmentation or
        class map that does not exist, a class map without a segmentation, a model beside a
        segmentation): every bad row is named with its column, in one error.
    """
    try:
        text = read_regular_file(path, MAX_CASES_BYTES, field="CASES.csv",
                                 expected="a CSV file").decode("utf-8-sig")
        for _row in csv.reader(io.StringIO(text, newline="")):  # the csv module's own checks
            pass
    except InputFileError as exc:
        raise BatchError(str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise BatchError(f"{path}: cannot read it as UTF-8 text ({exc})") from exc
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit
        raise BatchError(f"{path}: not a CSV file ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise BatchError(f"{path}: header {header}: expected the columns "
                         f"{', '.join(REQUIRED_COLUMNS)} and optionally "
                         f"{', '.join(COLUMNS[len(REQUIRED_COLUMNS):])}, each once"
                         + (f"; missing {', '.join(missing)}" if missing else "")
                         + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    reader.fieldnames = header
    checks = _Checks(path.resolve().parent)
    cases: list[BatchCase] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):  # the header is line 1
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw or not all(row.get(c) for c in REQUIRED_COLUMNS):
            problems.append(f"row {number}: expected {len(header)} fields with "
                            f"{', '.join(REQUIRED_COLUMNS)} filled in")
            continue
        if row["case_id"] in seen:
            problems.append(f"row {number}: column case_id: {row['case_id']!r} repeats row "
                            f"{seen[row['case_id']]}; expected a case_id once per file")
            continue
        seen[row["case_id"]] = number
        try:
            cases.append(_row_case(row, number, checks, out=out.resolve(),
                                   model=model.resolve(), audit_log=audit_log.resolve()))
        except CorridorError as exc:
            problems.append(f"row {number}: {exc}")
    if problems:
        raise BatchError(f"{path}: {len(problems)} bad row(s), nothing was run:\n  "
                         + "\n  ".join(problems))
    if not cases:
        raise BatchError(f"{path}: no case; expected one row per case after the header")
    return cases


# --- one case, in a worker -----------------------------------------------------------------

def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_one(case: BatchCase) -> CaseResult:
    """Run one case (in a worker process) and describe how it ended; never raises an error
    of the case's own: bad input and defects become the result's status."""
    clock = time.perf_counter()
    base = CaseResult(case.case_id, case.row, CaseStatus.NOT_RUN, attempts=1, worker=_worker())
    try:
        outcome = run_case(case.request)
    except SafetyRefusalError as exc:
        return replace(base, status=CaseStatus.REFUSED, exit_code=ExitStatus.SAFETY_REFUSAL,
                       message=str(exc), seconds=round(time.perf_counter() - clock, 3))
    except InputError as exc:
        return replace(base, status=CaseStatus.INPUT_ERROR, exit_code=ExitStatus.INPUT_ERROR,
                       message=str(exc), seconds=round(time.perf_counter() - clock, 3))
    except Exception as exc:  # a defect: keep the traceback in the ledger
        return replace(base, status=CaseStatus.INTERNAL_ERROR, exit_code=ExitStatus.INTERNAL_ERROR,
                       message=f"internal error ({type(exc).__name__}: {exc})",
                       detail=traceback.format_exc(),
                       seconds=round(time.perf_counter() - clock, 3))
    return replace(_planned(case, outcome.verdict), attempts=1, worker=base.worker,
                   seconds=round(time.perf_counter() - clock, 3))


def _planned(case: BatchCase, verdict: Verdict) -> CaseResult:
    """A case that ran to ``verdict``, with the SHA-256 of the case.json it wrote."""
    return CaseResult(case.case_id, case.row, _VERDICT_STATUS[verdict], verdict.exit_status,
                      case_record_sha256=sha256_file(case.request.out / CASE_RECORD))


def _software() -> dict[str, Any]:
    """This installation's identity (asked of every cluster worker too)."""
    return software_identity().to_json()


def _lost(case: BatchCase, attempts: int, why: str) -> CaseResult:
    return CaseResult(case.case_id, case.row, CaseStatus.WORKER_LOST, message=why,
                      attempts=attempts)


def _failed(case: BatchCase, exc: BaseException) -> CaseResult:
    return CaseResult(case.case_id, case.row, CaseStatus.INTERNAL_ERROR, ExitStatus.INTERNAL_ERROR,
                      message=f"the case could not be run ({type(exc).__name__}: {exc})",
                      attempts=1)


# --- the ledger ------------------------------------------------------------------------------

class Ledger:
    """Every case's result, rewritten atomically as ``batch.json`` and ``batch-results.csv``
    each time one arrives."""

    def __init__(self, out: Path, cases: Sequence[BatchCase], about: dict[str, Any],
                 on_result: Callable[[CaseResult], Any] | None = None) -> None:
        self.out, self.about, self.on_result = out, about, on_result
        self.results = {c.case_id: CaseResult(c.case_id, c.row, CaseStatus.NOT_RUN)
                        for c in cases}
        self.started = time.time()
        self.finished: float | None = None
        self.audit: AuditAnchor | None = None
        self.write()

    def record(self, result: CaseResult) -> None:
        """Keep one case's result and rewrite the ledger."""
        self.results[result.case_id] = result
        self.write()
        if self.on_result is not None:
            self.on_result(result)

    def pending(self, cases: Iterable[BatchCase]) -> list[BatchCase]:
        """The cases still ``not-run``."""
        return [c for c in cases if self.results[c.case_id].status is CaseStatus.NOT_RUN]

    def counts(self) -> dict[str, int]:
        """How many cases ended each way."""
        counts = {status.value: 0 for status in CaseStatus}
        for result in self.results.values():
            counts[result.status.value] += 1
        return counts

    def close(self, audit: AuditAnchor | None = None) -> None:
        """Stamp the end time and write the ledger a last time, with the anchor of the batch's
        audit record."""
        self.finished, self.audit = time.time(), audit
        self.write()

    def write(self) -> None:
        """Rewrite both ledger files, each atomically."""
        document = {"format": "corridor-batch/1", **self.about,
                    "started_unix": round(self.started, 3),
                    "finished_unix": None if self.finished is None else round(self.finished, 3),
                    "counts": self.counts(),
                    ANCHOR_KEY: None if self.audit is None else self.audit.to_json(),
                    "cases": [r.to_json() for r in self.results.values()]}
        write_text_atomic(self.out / LEDGER_JSON,
                          json.dumps(document, indent=2, sort_keys=True) + "\n")
        table = io.StringIO(newline="")
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(["case_id", "row", "status", "exit_code", "attempts", "seconds",
                         "resumed", "message"])
        for r in self.results.values():
            writer.writerow([r.case_id, r.row, r.status.value,
                             "" if r.exit_code is None else r.exit_code, r.attempts,
                             "" if r.seconds is None else r.seconds, str(r.resumed).lower(),
                             (r.message or "").replace("\n", " ")])
        write_text_atomic(self.out / LEDGER_CSV, table.getvalue())


def resumed_result(case: BatchCase) -> CaseResult | None:
    """The result of a case whose folder already holds a complete case, else ``None``."""
    record = verify_case_folder(case.request.out)
    if record is None:
        return None
    return replace(_planned(case, Verdict(record["verdict"])), resumed=True)


# --- executors -------------------------------------------------------------------------------

Runner = Callable[[BatchCase], CaseResult]


def _pool_pass(cases: Sequence[BatchCase], workers: int, runner: Runner, ledger: Ledger,
               attempt: int) -> list[BatchCase]:
    """Run ``cases`` in one pool; return those a dead worker took down."""
    broken: list[BatchCase] = []
    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"),
                               max_tasks_per_child=1)  # a fresh process for every case
    futures: dict[Future[CaseResult], BatchCase] = {}
    try:
        futures = {pool.submit(runner, case): case for case in cases}
        for future in as_completed(futures):
            case = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                broken.append(case)
                continue
            except Exception as exc:  # the result could not come back (e.g. pickling)
                ledger.record(_failed(case, exc))
                continue
            ledger.record(replace(result, attempts=attempt))
    except BaseException:  # interrupted: keep what finished, cancel what had not started
        pool.shutdown(wait=True, cancel_futures=True)
        for future, case in futures.items():
            if (future.done() and not future.cancelled() and future.exception() is None
                    and ledger.results[case.case_id].status is CaseStatus.NOT_RUN):
                ledger.record(replace(future.result(), attempts=attempt))
        raise
    pool.shutdown(wait=True)
    return broken


def run_in_pool(cases: Sequence[BatchCase], ledger: Ledger, *, workers: int,
                runner: Runner = run_one) -> None:
    """Run every case in a pool of ``workers`` processes on this machine.

    Cases a dead worker took down are run again, each alone; a case that takes its worker
    down twice is recorded ``worker-lost``.
    """
    broken = _pool_pass(cases, workers, runner, ledger, attempt=1)
    for case in broken:
        if _pool_pass([case], 1, runner, ledger, attempt=2):
            ledger.record(_lost(case, 2, "its worker process ended abruptly twice (killed, "
                                         "out of memory, or a crash in a native library)"))


def run_on_cluster(cases: Sequence[BatchCase], ledger: Ledger, *, address: str,
                   runner: Runner = run_one) -> dict[str, Any]:
    """Run every case on the Dask distributed cluster whose scheduler is at ``address``.

    Every worker must run this very software (version and commit), and must see the
    cases' paths (a shared file system).  Returns a description of the cluster for the
    ledger.

    Raises
    ------
    BatchError
        ``distributed`` is not installed, no scheduler answers at ``address``, it has no
        worker, or a worker runs other software.
    """
    try:
        from distributed import Client
        from distributed import as_completed as cluster_completed
        from distributed.scheduler import KilledWorker
    except ImportError as exc:
        raise BatchError("--scheduler needs the Dask 'distributed' package: install "
                         "corridor[cluster]") from exc
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BatchError(f"--scheduler {address}: no Dask scheduler answered ({exc}); "
                         "expected the address of a running scheduler, e.g. "
                         "tcp://host:8786") from exc
    with client:
        identities = client.run(_software)
        mine = _software()
        others = {w: i for w, i in identities.items() if i != mine}
        if not identities or others:
            raise BatchError(f"--scheduler {address}: " + (
                "the cluster has no worker" if not identities else
                f"{len(others)} worker(s) run other software than this one ({mine}): "
                + "; ".join(f"{w}: {i}" for w, i in sorted(others.items()))))
        token = secrets.token_hex(4)
        futures = {client.submit(runner, case, key=f"corridor-case-{case.case_id}-{token}",
                                 pure=False): case for case in cases}
        try:
            for future in cluster_completed(list(futures), loop=client.loop):
                case = futures[future]
                try:
                    ledger.record(future.result())
                except KilledWorker as exc:
                    ledger.record(_lost(case, exc.allowed_failures + 1,
                                        f"every worker that ran it died ({exc})"))
                except Exception as exc:
                    ledger.record(_failed(case, exc))
        except BaseException:
            client.cancel(list(futures))
            raise
        return {"scheduler": address, "workers": len(identities)}
