"""A tamper-evident audit trail: one JSON record per line, each holding the hash of the one before.

``record_sha256`` is the SHA-256 of the record's canonical JSON (sorted keys, no spaces)
without that field; ``previous_sha256`` is the previous record's ``record_sha256`` (64 zeros
for the first) and ``sequence`` counts from 1.  Editing a record breaks its own hash, removing
one breaks the sequence and the next record's link, reordering breaks both.  Records hold
hashes, identifiers of the software and parameters, never a path or value that could identify
a patient.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["GENESIS", "AuditBreak", "append_record", "verify_log"]

GENESIS = "0" * 64
"""``previous_sha256`` of the first record."""


def _digest(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)  # one writer at a time (batch runs)
        try:
            yield stream
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)


def append_record(path: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """Append one record (``fields`` plus sequence and hashes) and return it as written."""
    with _locked(path) as stream:
        stream.seek(0)
        last: dict[str, Any] | None = None
        for line in stream:
            if line.strip():
                last = json.loads(line)
        record = {**fields, "sequence": 1 if last is None else int(last["sequence"]) + 1,
                  "previous_sha256": GENESIS if last is None else last["record_sha256"]}
        record["record_sha256"] = _digest(record)
        stream.seek(0, os.SEEK_END)
        stream.write(json.dumps(record, sort_keys=True) + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    return record


@dataclass(frozen=True, slots=True)
class AuditBreak:
    """Where the chain breaks: the line (1-based) and what is wrong."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def verify_log(path: Path) -> tuple[int, list[AuditBreak]]:
    """Check every record's hash, sequence and link; return the record count and the breaks."""
    breaks: list[AuditBreak] = []
    previous = GENESIS
    count = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        count += 1
        try:
            record = json.loads(line)
        except ValueError:
            breaks.append(AuditBreak(number, "not a JSON record"))
            continue
        if record.get("record_sha256") != _digest(record):
            breaks.append(AuditBreak(number, "the record was changed (its hash does not match)"))
        if record.get("sequence") != count:
            breaks.append(AuditBreak(number, f"sequence {record.get('sequence')}, expected "
                                             f"{count} (a record removed or moved)"))
        if record.get("previous_sha256") != previous:
            breaks.append(AuditBreak(number, "it does not follow the record before it (a "
                                             "record removed, inserted or moved)"))
        previous = str(record.get("record_sha256"))
    return count, breaks
