"""A tamper-evident audit trail: one JSON record per line, each holding the hash of the one before.

``record_sha256`` is the SHA-256 of the record's canonical JSON (sorted keys, no spaces)
without that field; ``previous_sha256`` is the previous record's ``record_sha256`` (64 zeros
for the first) and ``sequence`` counts from 1.  Editing a record breaks its own hash, removing
one breaks the sequence and the next record's link, reordering breaks both.  Records hold
hashes, identifiers of the software and parameters, never a path or value that could identify
a patient.

A chain cannot see its own tail cut off: a log whose last records were removed is still a
valid chain.  So a run that writes an output document (a case folder's ``case.json``, a
batch's ``batch.json``) writes into it an :class:`AuditAnchor` (the log's file name, the
sequence its record will take and the hash of the record before it) while it holds the log's
lock, and appends its record, holding the output's SHA-256, before letting go
(:func:`reserved_record`).  :func:`verify_log` checks such anchors against the log, so a tail
cut below any anchored record is reported; records after the newest anchor are covered only by
a head written down elsewhere (:class:`Expectation`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["ANCHOR_KEY", "GENESIS", "MAX_RECORD_BYTES", "AuditAnchor", "AuditBreak", "AuditSlot",
           "Expectation", "LogCheck", "append_record", "record_digest", "reserved_record",
           "verify_log", "verify_records"]

GENESIS = "0" * 64
"""``previous_sha256`` of the first record."""

ANCHOR_KEY = "audit"
"""The key of the anchor in ``case.json`` and ``batch.json``."""

MAX_RECORD_BYTES = 1 << 20
"""The longest line read as one record (a record is a few kilobytes)."""


def record_digest(record: dict[str, Any]) -> str:
    """The SHA-256 (hex) of ``record``'s canonical JSON (sorted keys, no spaces, ASCII) without
    its ``record_sha256`` field: what ``record_sha256`` must hold."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditAnchor:
    """Where a run's record sits in its log, written into the run's output document.

    Attributes
    ----------
    log
        The log's file name (never its folder, which may name a patient).
    sequence
        The sequence of the run's record.
    previous_sha256
        The ``record_sha256`` of the record before it (which log, at which point).
    """

    log: str
    sequence: int
    previous_sha256: str

    def to_json(self) -> dict[str, Any]:
        """``{"log": ..., "sequence": ..., "previous_sha256": ...}``."""
        return {"log": self.log, "sequence": self.sequence,
                "previous_sha256": self.previous_sha256}

    @classmethod
    def from_json(cls, value: object) -> AuditAnchor | None:
        """The anchor ``value`` holds, or ``None`` when it is not one."""
        if not isinstance(value, dict):
            return None
        log, sequence, previous = (value.get("log"), value.get("sequence"),
                                   value.get("previous_sha256"))
        if (not isinstance(log, str) or isinstance(sequence, bool)
                or not isinstance(sequence, int) or sequence < 1
                or not isinstance(previous, str)):
            return None
        return cls(log, sequence, previous)


class AuditSlot:
    """The next record of a log, reserved while its lock is held: :attr:`anchor` says where it
    will sit, :meth:`append` writes it (once)."""

    def __init__(self, stream: IO[str], log: str, last: dict[str, Any] | None) -> None:
        self._stream, self._written = stream, False
        self.anchor = AuditAnchor(log, 1 if last is None else int(last["sequence"]) + 1,
                                  GENESIS if last is None else str(last["record_sha256"]))

    def append(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Append ``fields`` with the reserved sequence and hashes; return the record."""
        if self._written:
            raise RuntimeError("an audit slot holds one record")
        record = {**fields, "sequence": self.anchor.sequence,
                  "previous_sha256": self.anchor.previous_sha256}
        record["record_sha256"] = record_digest(record)
        self._stream.seek(0, os.SEEK_END)
        self._stream.write(json.dumps(record, sort_keys=True) + "\n")
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self._written = True
        return record


@contextmanager
def reserved_record(path: Path) -> Iterator[AuditSlot]:
    """Hold the log's lock (one writer at a time: batch workers share a log) and reserve its
    next record; write the outputs that carry the anchor, then :meth:`AuditSlot.append`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        try:
            stream.seek(0)
            last: dict[str, Any] | None = None
            for line in stream:
                if line.strip():
                    last = json.loads(line)
            yield AuditSlot(stream, path.name, last)
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)


def append_record(path: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """Append one record (``fields`` plus sequence and hashes) and return it as written."""
    with reserved_record(path) as slot:
        return slot.append(fields)


@dataclass(frozen=True, slots=True)
class AuditBreak:
    """What is wrong and where: a line of the log, an anchoring document, a head given."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Expectation:
    """A record the log must hold: an anchor read from an output document, or a head written
    down earlier (``sequence`` and ``record_sha256``).

    Attributes
    ----------
    where
        What asks for the record (``case folder P1 (case.json)``, ``--expect 12:…``).
    sequence
        The record's sequence.
    previous_sha256, record_sha256
        The hash of the record before it, of the record itself (either may be ``None``).
    output
        The output's file name and SHA-256, which the record's ``outputs_sha256`` must hold.
    """

    where: str
    sequence: int
    previous_sha256: str | None = None
    record_sha256: str | None = None
    output: tuple[str, str] | None = None

    def mismatch(self, record: dict[str, Any]) -> str | None:
        """Why ``record`` (the log's record at :attr:`sequence`) is not the one expected."""
        if self.previous_sha256 is not None and record.get("previous_sha256") != \
                self.previous_sha256:
            return (f"record {self.sequence} of this log does not follow the record it names "
                    "(a different log, or the log rewritten)")
        if self.record_sha256 is not None and record.get("record_sha256") != self.record_sha256:
            return (f"record {self.sequence} of this log is not the record written down "
                    "(the log rewritten)")
        if self.output is not None:
            name, digest = self.output
            held = record.get("outputs_sha256")
            if not isinstance(held, dict) or held.get(name) != digest:
                return (f"record {self.sequence} of this log does not hold the SHA-256 of "
                        f"{name} (the file or the record changed)")
        return None


@dataclass(frozen=True, slots=True)
class LogCheck:
    """What :func:`verify_log` found: the records, the head, every break."""

    count: int
    head: tuple[int, str] | None
    """The last record's sequence and ``record_sha256`` (``None`` for an empty log)."""
    breaks: tuple[AuditBreak, ...]


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise OSError(f"{path}: not a regular file")
        while line := stream.readline(MAX_RECORD_BYTES + 1):
            yield line


def verify_log(path: Path, expected: Sequence[Expectation] = ()) -> LogCheck:
    """Check every record's hash, sequence and link, and that the log holds every record
    ``expected`` (anchors, heads written down).

    Raises
    ------
    OSError
        The log cannot be read or is not a regular file.
    """
    return verify_records(_lines(path), expected)


def verify_records(lines: Iterable[bytes], expected: Sequence[Expectation] = (), *,
                   unit: str = "line") -> LogCheck:
    """:func:`verify_log` over records given one per item of ``lines`` (a log's lines, or the
    rows of a store holding the same records); breaks name ``unit`` and its 1-based number."""
    breaks: list[AuditBreak] = []
    wanted: dict[int, list[Expectation]] = {}
    for item in expected:
        wanted.setdefault(item.sequence, []).append(item)
    previous = GENESIS
    count, long_line = 0, False
    head: tuple[int, str] | None = None
    for number, line in enumerate(lines, start=1):
        if long_line:  # the rest of a line longer than a record can be
            long_line = not line.endswith(b"\n")
            continue
        if not line.strip():
            continue
        count += 1
        long_line = len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n")
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError(record)
        except ValueError:
            breaks.append(AuditBreak(f"{unit} {number}", "not a JSON record"))
            continue
        if record.get("record_sha256") != record_digest(record):
            breaks.append(AuditBreak(f"{unit} {number}",
                                     "the record was changed (its hash does not match)"))
        if record.get("sequence") != count:
            breaks.append(AuditBreak(f"{unit} {number}",
                                     f"sequence {record.get('sequence')}, expected {count} "
                                     "(a record removed or moved)"))
        if record.get("previous_sha256") != previous:
            breaks.append(AuditBreak(f"{unit} {number}", "it does not follow the record before "
                                                       "it (a record removed, inserted or moved)"))
        previous = str(record.get("record_sha256"))
        head = (count, previous)
        for item in wanted.pop(count, ()):
            why = item.mismatch(record)
            if why is not None:
                breaks.append(AuditBreak(item.where, why))
    for sequence, items in sorted(wanted.items()):
        for item in items:
            breaks.append(AuditBreak(item.where, f"its record {sequence} is missing: the log "
                                                 f"ends at record {count} (records removed "
                                                 "from its tail)"))
    return LogCheck(count, head, tuple(breaks))
