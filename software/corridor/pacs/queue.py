"""The planning service's job queue: one SQLite file that survives restarts.

Each job is one study seen complete in the PACS (its CT series and their instance counts, the
*signature*, unchanged for the stability time).  A job moves ``received -> running -> done`` or
``-> failed`` (with its reason); a retryable failure (the PACS unreachable, a timeout) goes back
to ``received`` with a time before which it is not taken again, until its attempts run out.

Restarts lose nothing and repeat nothing:

- every state change is one transaction (``BEGIN IMMEDIATE``, WAL journal, ``synchronous=FULL``),
  so a service killed at any instant leaves each job in the state of its last commit;
- a job found ``running`` when the service starts was cut short: it goes back to ``received``
  and is taken again (:meth:`JobQueue.resume`); its results carry UIDs fixed by the study and
  the input's SHA-256, so objects it stored before it was cut short are found in the PACS and not
  stored twice;
- the idempotency key is the study UID and the SHA-256 of the input series (table
  ``planned``): the same input seen again, under a new signature or a new job, is recorded
  ``done`` as a duplicate of the job that planned it and nothing is stored.

One service per queue: :func:`open_queue` holds an exclusive lock on the state folder.
No patient data is stored here: study UIDs, hashes, states and reasons only.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from corridor.errors import InputError

__all__ = ["QUEUE_FILE", "Job", "JobQueue", "JobState", "QueueBusyError", "open_queue"]

QUEUE_FILE = "jobs.sqlite"
_LOCK_FILE = "service.lock"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    study_uid TEXT NOT NULL,
    signature TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('received', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    retryable INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    input_sha256 TEXT,
    result TEXT,
    received_unix REAL NOT NULL,
    updated_unix REAL NOT NULL,
    not_before_unix REAL NOT NULL DEFAULT 0,
    UNIQUE (study_uid, signature)
);
CREATE TABLE IF NOT EXISTS planned (
    study_uid TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    PRIMARY KEY (study_uid, input_sha256)
);
"""


class JobState(StrEnum):
    """Where a job stands."""

    RECEIVED = "received"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class QueueBusyError(InputError):
    """Another service holds the state folder."""


@dataclass(frozen=True, slots=True)
class Job:
    """One row of the queue.

    Attributes
    ----------
    id
        The job's number, in the order studies were received.
    study_uid, signature
        The study and what of it was seen complete (CT series UIDs and instance counts).
    state, attempts, retryable, reason
        Where it stands, how often it was taken, and why it failed (``None`` unless it did).
    input_sha256
        The SHA-256 of the series planned on, once retrieved.
    result
        What was stored (``verdict``, ``outputs``) or whose duplicate it is (``duplicate_of``).
    """

    id: int
    study_uid: str
    signature: str
    state: JobState
    attempts: int
    retryable: bool
    reason: str | None
    input_sha256: str | None
    result: Mapping[str, Any] | None
    received_unix: float
    updated_unix: float
    not_before_unix: float

    def to_json(self) -> dict[str, Any]:
        """The job as ``corridor serve --list`` prints it."""
        return {"id": self.id, "study_uid": self.study_uid, "state": self.state.value,
                "attempts": self.attempts, "retryable": self.retryable, "reason": self.reason,
                "input_sha256": self.input_sha256,
                "result": None if self.result is None else dict(self.result),
                "received_unix": self.received_unix, "updated_unix": self.updated_unix}


def _job(row: sqlite3.Row) -> Job:
    return Job(id=row["id"], study_uid=row["study_uid"], signature=row["signature"],
               state=JobState(row["state"]), attempts=row["attempts"],
               retryable=bool(row["retryable"]), reason=row["reason"],
               input_sha256=row["input_sha256"],
               result=None if row["result"] is None else json.loads(row["result"]),
               received_unix=row["received_unix"], updated_unix=row["updated_unix"],
               not_before_unix=row["not_before_unix"])


class JobQueue:
    """The queue in ``folder/jobs.sqlite`` (use :func:`open_queue`, which also locks it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _get(self, db: sqlite3.Connection, job_id: int) -> Job:
        return _job(db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())

    def receive(self, study_uid: str, signature: str, now: float | None = None) -> Job | None:
        """Record a study seen complete; ``None`` when this study and signature were seen."""
        now = time.time() if now is None else now
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO jobs (study_uid, signature, state, received_unix, "
                "updated_unix) VALUES (?, ?, 'received', ?, ?)",
                (study_uid, signature, now, now))
            if not cursor.rowcount or cursor.lastrowid is None:
                return None
            return self._get(db, cursor.lastrowid)

    def known(self, study_uid: str, signature: str) -> bool:
        """Whether this study was received with this signature."""
        return self._db.execute("SELECT 1 FROM jobs WHERE study_uid = ? AND signature = ?",
                                (study_uid, signature)).fetchone() is not None

    def claim(self, now: float | None = None) -> Job | None:
        """Take the oldest received job that is due, marking it running; ``None`` if none."""
        now = time.time() if now is None else now
        with self._transaction() as db:
            row = db.execute("SELECT id FROM jobs WHERE state = 'received' AND "
                             "not_before_unix <= ? ORDER BY id LIMIT 1", (now,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET state = 'running', attempts = attempts + 1, "
                       "updated_unix = ? WHERE id = ?", (now, row["id"]))
            return self._get(db, row["id"])

    def resume(self, max_attempts: int) -> list[Job]:
        """Put every job left running by a service that stopped back to received; one that
        has been taken ``max_attempts`` times fails (a study that stops the service every
        time it is taken must not stop it forever).  Jobs waiting to be retried are due at
        once: a service is restarted when what failed them has been put right."""
        now = time.time()
        with self._transaction() as db:
            ids = [r["id"] for r in db.execute("SELECT id FROM jobs WHERE state = 'running'")]
            db.execute("UPDATE jobs SET state = 'failed', retryable = 0, reason = 'the service "
                       "stopped during each of the job''s ' || attempts || ' attempts', "
                       "updated_unix = ? WHERE state = 'running' AND attempts >= ?",
                       (now, max_attempts))
            db.execute("UPDATE jobs SET state = 'received', not_before_unix = 0, "
                       "reason = 'resumed: the service stopped during the job', "
                       "updated_unix = ? WHERE state = 'running'", (now,))
            db.execute("UPDATE jobs SET not_before_unix = 0 WHERE state = 'received'")
            return [self._get(db, i) for i in ids]

    def record_input(self, job_id: int, study_uid: str, input_sha256: str) -> int | None:
        """Record the job's input hash; the job that planned this input, if another did."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET input_sha256 = ? WHERE id = ?", (input_sha256, job_id))
            row = db.execute("SELECT job_id FROM planned WHERE study_uid = ? AND "
                             "input_sha256 = ?", (study_uid, input_sha256)).fetchone()
            return None if row is None or row["job_id"] == job_id else int(row["job_id"])

    def finish(self, job: Job, result: Mapping[str, Any]) -> Job:
        """Mark the job done with what it stored; its input is now planned (the key)."""
        now = time.time()
        with self._transaction() as db:
            digest = self._get(db, job.id).input_sha256
            if digest is not None and "duplicate_of" not in result:
                db.execute("INSERT OR IGNORE INTO planned (study_uid, input_sha256, job_id) "
                           "VALUES (?, ?, ?)", (job.study_uid, digest, job.id))
            db.execute("UPDATE jobs SET state = 'done', reason = NULL, retryable = 0, "
                       "result = ?, updated_unix = ? WHERE id = ?",
                       (json.dumps(dict(result), sort_keys=True), now, job.id))
            return self._get(db, job.id)

    def fail(self, job_id: int, reason: str, *, retryable: bool, retry_after_s: float,
             max_attempts: int) -> Job:
        """Record a failure: retried after ``retry_after_s`` while attempts remain and the
        failure is retryable, else failed for good."""
        now = time.time()
        with self._transaction() as db:
            attempts = db.execute("SELECT attempts FROM jobs WHERE id = ?",
                                  (job_id,)).fetchone()["attempts"]
            again = retryable and attempts < max_attempts
            db.execute("UPDATE jobs SET state = ?, reason = ?, retryable = ?, "
                       "not_before_unix = ?, updated_unix = ? WHERE id = ?",
                       ("received" if again else "failed", reason, int(retryable),
                        now + retry_after_s if again else 0, now, job_id))
            return self._get(db, job_id)

    def release(self, job_id: int) -> None:
        """Put a running job back (the service is stopping): taken again at the next start."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET state = 'received', attempts = MAX(attempts - 1, 0), "
                       "updated_unix = ? WHERE id = ? AND state = 'running'",
                       (time.time(), job_id))

    def jobs(self) -> list[Job]:
        """Every job, oldest first."""
        return [_job(r) for r in self._db.execute("SELECT * FROM jobs ORDER BY id")]

    def pending(self) -> int:
        """How many jobs are received or running."""
        row = self._db.execute("SELECT COUNT(*) FROM jobs WHERE state IN "
                               "('received', 'running')").fetchone()
        return int(row[0])


@contextmanager
def open_queue(folder: Path, *, exclusive: bool = True) -> Iterator[JobQueue]:
    """The queue of the state folder ``folder`` (created), locked for this service.

    Raises
    ------
    QueueBusyError
        When ``exclusive`` and another service holds the folder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / _LOCK_FILE).open("a") as lock:
        if exclusive:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise QueueBusyError(f"{folder}: another corridor serve uses this state folder "
                                     "(one service per state folder)") from None
        queue = JobQueue(folder / QUEUE_FILE)
        try:
            yield queue
        finally:
            queue.close()
