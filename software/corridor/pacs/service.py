"""The planning service: studies found complete in a PACS are planned and the results stored
back into the same study.

One loop (:meth:`PlanningService.run`):

1. **Find** (QIDO-RS): every study's CT series and their instance counts (its *signature*);
   a study whose signature has not changed for ``stable_s`` is complete and is received as a
   job (:mod:`corridor.pacs.queue`), once per signature.
2. **Plan** (one job at a time): the routing file picks the series, the procedure and the side;
   the series is retrieved (WADO-RS) into the job's scratch folder; its SHA-256 (over the
   files' SHA-256s, sorted) with the study UID is the idempotency key: an input planned before is
   recorded as a duplicate and nothing is stored.  ``corridor plan``'s job
   (:func:`~corridor.case.job.run_case`) makes the case folder.
3. **Result** (the outbox): the case folder and the DICOM objects built from it
   (:func:`~corridor.pacs.objects.build_result_objects`: SEG, SR, PDF and, for a safe plan, the
   implant as STL) are written all or nothing to ``results/job-N/`` before anything is sent, so a
   job cut short after this point stores exactly these bytes when resumed.
4. **Store** (STOW-RS): the objects not yet in the study, in one request; then each is found in
   the study (QIDO-RS) before the job is done.
5. **Audit**: one record per job outcome in the hash-chained log, linking the study UID (no
   patient data) to every object's SOP Instance UID and SHA-256; credentials never appear.

Failures: the PACS unreachable or failing (:class:`~corridor.pacs.errors.PacsError` marked
retryable) puts the job back for a later attempt; anything the input decides (no CT series, no
rule, a refused plan) fails it with its reason.  SIGTERM or Ctrl-C puts a running job back and
stops; a killed service finds the job running at its next start and takes it again.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
import traceback
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom

from corridor.audit import append_record
from corridor.case.job import CaseRequest, audit_header, run_case
from corridor.errors import CorridorError, InputError
from corridor.pacs.client import Pacs
from corridor.pacs.errors import PacsError
from corridor.pacs.objects import ResultObject, build_result_objects
from corridor.pacs.queue import Job, JobQueue
from corridor.pacs.routing import Routing
from corridor.provenance import sha256_bytes, sha256_file
from corridor.staging import staged_folder, write_text_atomic

__all__ = ["OBJECTS_RECORD", "PlanningService", "ServiceOptions", "ServiceStopped",
           "input_digest", "series_signature", "stop_on_signals"]

OBJECTS_RECORD = "objects.json"
"""The outbox's list of objects (kind, UIDs, SHA-256, file) beside ``objects/``."""


class ServiceStopped(BaseException):
    """SIGTERM or SIGINT: the running job is put back and the service stops."""


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    """How the service runs.

    Attributes
    ----------
    state
        The state folder: ``jobs.sqlite``, ``work/`` (scratch), ``results/job-N/`` (each job's
        case folder and objects) and, by default, the audit log.
    routing
        Which series, procedure and side.
    model
        The model package.
    audit_log
        The hash-chained audit log.
    pacs_name
        The PACS as the audit trail names it (scheme, host and port: no credentials).
    poll_s, stable_s
        Seconds between polls; seconds a study's CT series must stay unchanged.
    retry_after_s, max_attempts
        When a retryable failure is tried again, and how many attempts a job gets.
    once
        Stop when every study found is stable and no job is waiting (a run from cron, a test).
    """

    state: Path
    routing: Routing
    model: Path
    audit_log: Path
    pacs_name: str
    poll_s: float = 10.0
    stable_s: float = 30.0
    retry_after_s: float = 60.0
    max_attempts: int = 5
    once: bool = False


def series_signature(series: Sequence[Any]) -> str:
    """What of a study must stay unchanged for it to count as complete: its CT series and
    their instance counts (the results the service stores are not CT, so they do not change
    it), or, with no CT series, the modalities found."""
    ct = sorted(f"{s.series_uid}={s.instances}" for s in series
                if (s.modality or "").upper() == "CT")
    if ct:
        return "CT:" + ";".join(ct)
    return "no-CT:" + ";".join(sorted(f"{s.modality or '-'}={s.instances}" for s in series))


def input_digest(files: Sequence[Path]) -> str:
    """The input's SHA-256: over the files' SHA-256s, sorted (independent of file order)."""
    return sha256_bytes("".join(sorted(sha256_file(f) for f in files)).encode("ascii"))


@dataclass
class _Seen:
    """A study as last polled: its cheap key, signature and since when it is unchanged."""

    key: tuple[Any, ...]
    signature: str
    since: float


@dataclass
class PlanningService:
    """The service: a PACS, a queue, options and where progress lines go."""

    pacs: Pacs
    queue: JobQueue
    options: ServiceOptions
    say: Callable[[str], Any] = print
    _seen: dict[str, _Seen] = field(default_factory=dict)

    # -- finding studies ---------------------------------------------------------------------

    def poll(self, now: float | None = None) -> tuple[list[Job], int]:
        """Receive every study found complete; the new jobs and how many studies still wait
        to become stable."""
        now = time.time() if now is None else now
        received: list[Job] = []
        waiting = 0
        for study in self.pacs.find_studies():
            key = (tuple(sorted(study.modalities)), study.instances)
            seen = self._seen.get(study.study_uid)
            if seen is None or seen.key != key:
                signature = series_signature(self.pacs.series_of(study.study_uid))
                if seen is None or seen.signature != signature:
                    seen = _Seen(key, signature, now)
                else:
                    seen.key = key
                self._seen[study.study_uid] = seen
            if self.queue.known(study.study_uid, seen.signature):
                continue
            if now - seen.since < self.options.stable_s:
                waiting += 1
                continue
            job = self.queue.receive(study.study_uid, seen.signature, now)
            if job is not None:
                self.say(f"job {job.id}: study {job.study_uid} received")
                received.append(job)
        return received, waiting

    # -- one job -------------------------------------------------------------------------------

    def _folders(self, job: Job) -> tuple[Path, Path]:
        return (self.options.state / "work" / f"job-{job.id}",
                self.options.state / "results" / f"job-{job.id}")

    def run_job(self, job: Job) -> Job:
        """Plan one claimed job and store its results; its final or retry state."""
        work, results = self._folders(job)
        record: dict[str, Any] = {"job": job.id, "study_uid": job.study_uid,
                                  "attempt": job.attempts, "pacs": self.options.pacs_name}
        try:
            if not (results / OBJECTS_RECORD).is_file():
                shutil.rmtree(work, ignore_errors=True)
                outcome = self._plan(job, work, results, record)
                if outcome is not None:
                    return outcome
            objects = _read_outbox(results)
            record.update(json.loads((results / "job.json").read_text(encoding="utf-8")))
            stored = self._store(job, objects)
        except PacsError as exc:
            return self._failed(job, record, str(exc), retryable=exc.retryable)
        except CorridorError as exc:
            return self._failed(job, record, str(exc), retryable=False)
        except Exception as exc:  # a defect: this study fails, the service goes on
            traceback.print_exc(file=sys.stderr)
            return self._failed(job, record, f"internal error ({type(exc).__name__}); the "
                                "traceback is in the service's log", retryable=False)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        outputs = [_describe(o) for o in objects]
        record.update(outcome="stored", outputs=outputs, stored_now=stored)
        self._audit(record)
        self.say(f"job {job.id}: {record.get('verdict')}; {len(stored)} of {len(objects)} "
                 "object(s) stored in the study, all found there")
        return self.queue.finish(job, {"verdict": record.get("verdict"), "outputs": outputs})

    def _plan(self, job: Job, work: Path, results: Path,
              record: dict[str, Any]) -> Job | None:
        """Retrieve, route, plan and write the outbox; a finished job when it is a duplicate."""
        routing = self.options.routing
        series = routing.select_series(self.pacs.series_of(job.study_uid))
        record["series_uid"] = series.series_uid
        files = sorted(self.pacs.retrieve_series(job.study_uid, series.series_uid,
                                                 work / "ct"))
        if not files:
            raise PacsError(f"series {series.series_uid}: the PACS returned no instance",
                            host=self.options.pacs_name, operation="retrieve a series",
                            retryable=True)
        digest = input_digest(files)
        record["input_sha256"] = digest
        duplicate_of = self.queue.record_input(job.id, job.study_uid, digest)
        if duplicate_of is not None:
            record.update(outcome="duplicate", duplicate_of=duplicate_of, outputs=[])
            self._audit(record)
            self.say(f"job {job.id}: the same input was planned by job {duplicate_of}; "
                     "nothing stored")
            return self.queue.finish(job, {"duplicate_of": duplicate_of, "outputs": []})
        header = pydicom.dcmread(files[0], stop_before_pixels=True)
        route = routing.route(header)
        side = None if route.side is None else route.side.value
        record.update(rule=route.rule, procedure=route.procedure, side=side)
        self.say(f"job {job.id}: planning {route.procedure} ({side or 'unsided'}) on series "
                 f"{series.series_uid}, {len(files)} instance(s)")
        case = work / "case"
        outcome = run_case(CaseRequest(
            dicom=work / "ct", procedure=route.procedure, model=self.options.model, out=case,
            side=route.side, landmarks={}, audit_log=self.options.audit_log,
            series=series.series_uid))
        record["verdict"] = outcome.verdict.value
        objects = build_result_objects(case, files, key=f"{job.study_uid}/{digest}")
        with staged_folder(results) as staging:
            case.rename(staging / "case")
            for item in objects:
                (staging / "objects").mkdir(exist_ok=True)
                (staging / "objects" / f"{item.kind}.dcm").write_bytes(item.data)
            write_text_atomic(staging / "job.json", json.dumps(
                {k: record[k] for k in ("series_uid", "input_sha256", "rule", "procedure",
                                        "side", "verdict")}, indent=1, sort_keys=True) + "\n")
            write_text_atomic(staging / OBJECTS_RECORD, json.dumps(
                [_describe(o) for o in objects], indent=1, sort_keys=True) + "\n")
        return None

    def _store(self, job: Job, objects: Sequence[ResultObject]) -> list[str]:
        """Store the objects the study lacks (one request), then find every one there."""
        present = {i.sop_instance_uid for i in self.pacs.instances_of(job.study_uid)}
        missing = [o for o in objects if o.sop_instance_uid not in present]
        if missing:
            self.pacs.store([o.data for o in missing])
        found = {i.sop_instance_uid for i in self.pacs.instances_of(job.study_uid)}
        absent = [o.kind for o in objects if o.sop_instance_uid not in found]
        if absent:
            raise PacsError(f"stored, but not found in study {job.study_uid}: "
                            + ", ".join(absent), host=self.options.pacs_name,
                            operation="find the stored objects", retryable=True)
        return [o.kind for o in missing]

    def _failed(self, job: Job, record: dict[str, Any], reason: str, *,
                retryable: bool) -> Job:
        failed = self.queue.fail(job.id, reason, retryable=retryable,
                                 retry_after_s=self.options.retry_after_s,
                                 max_attempts=self.options.max_attempts)
        again = failed.state.value == "received"
        record.update(outcome="retry" if again else "failed", reason=reason,
                      retryable=retryable, outputs=[])
        self._audit(record)
        when = (f"retryable, tried again in {self.options.retry_after_s:g} s" if again
                else "retryable, no attempt left" if retryable else "not retryable")
        self.say(f"job {job.id}: failed ({when}): {reason}")
        return failed

    def _audit(self, record: dict[str, Any]) -> None:
        append_record(self.options.audit_log, {**audit_header("corridor serve"), **record})

    # -- the loop ------------------------------------------------------------------------------

    def start(self) -> None:
        """Resume jobs a stopped service left running and clear its scratch files."""
        for job in self.queue.resume(self.options.max_attempts):
            self.say(f"job {job.id}: the service stopped during the job; resumed")
        shutil.rmtree(self.options.state / "work", ignore_errors=True)
        results = self.options.state / "results"
        for partial in results.glob(".job-*.tmp-*") if results.is_dir() else ():
            shutil.rmtree(partial, ignore_errors=True)

    def run(self) -> None:
        """Poll and plan until stopped (or, with ``once``, until nothing is left to do)."""
        self.start()
        while True:
            try:
                _, waiting = self.poll()
            except PacsError as exc:
                if not exc.retryable:
                    raise
                self.say(f"poll failed (retrying in {self.options.poll_s:g} s): {exc}")
                waiting = 1
            while (job := self.queue.claim()) is not None:
                try:
                    self.run_job(job)
                except BaseException:
                    self.queue.release(job.id)
                    raise
            if self.options.once and waiting == 0 and self.queue.pending() == 0:
                return
            time.sleep(self.options.poll_s)


def _describe(item: ResultObject) -> dict[str, str]:
    return {"kind": item.kind, "sop_class_uid": item.sop_class_uid,
            "series_instance_uid": item.series_instance_uid,
            "sop_instance_uid": item.sop_instance_uid, "sha256": item.sha256}


def _read_outbox(results: Path) -> list[ResultObject]:
    """The objects a job wrote to its outbox, each checked against its recorded SHA-256."""
    listed = json.loads((results / OBJECTS_RECORD).read_text(encoding="utf-8"))
    objects = []
    for entry in listed:
        data = (results / "objects" / f"{entry['kind']}.dcm").read_bytes()
        if sha256_bytes(data) != entry["sha256"]:
            raise InputError(f"{results}: objects/{entry['kind']}.dcm changed since it was "
                             "written (SHA-256 differs from objects.json)")
        objects.append(ResultObject(kind=entry["kind"], data=data,
                                    sop_class_uid=entry["sop_class_uid"],
                                    sop_instance_uid=entry["sop_instance_uid"],
                                    series_instance_uid=entry["series_instance_uid"],
                                    sha256=entry["sha256"]))
    return objects


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into :class:`ServiceStopped` while the block runs."""
    def stop(signum: int, frame: types.FrameType | None) -> None:
        raise ServiceStopped(signal.Signals(signum).name)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
