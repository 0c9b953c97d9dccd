"""The study's store: one SQLite file holding the schedule, the tokens and the audit trail.

A study folder holds ``study.sqlite`` (WAL journal, ``synchronous=FULL``), the definition as
given (``definition.yaml``, byte for byte: the pre-registered protocol), the protocol document
(``protocol/``), and the schedule (``schedule.json``, ``schedule.csv``).

Every change is an *event* appended to a hash chain: ``created``, each ``answer`` (an edit is a
new ``answer`` event for the same item; nothing is ever overwritten), ``locked``.  An event is
the canonical JSON record of :mod:`corridor.audit` (``sequence``, ``previous_sha256``,
``record_sha256`` over the rest), so :func:`corridor.audit.verify_records` checks the chain.
Each answer is its own transaction, committed before :meth:`StudyStore.record_answer` returns
its receipt: an acknowledged answer survives a killed process.  Writers take SQLite's write
lock first (``BEGIN IMMEDIATE``), so two readers answering at once (threads, or processes on
the same folder) are serialised, never interleaved.  The chain cannot show its own tail cut
off; the receipt (sequence and hash) a reader gets back is the evidence that an answer was
taken.

The folder keeps the absolute path of the definition's folder, from which the case folders
are found (:meth:`StudyStore.case_folder`).  :meth:`StudyStore.create` takes the definition's
*path* (not the loaded definition): its bytes are copied as the pre-registered protocol and
hashed into the ``created`` event, with ``schedule.json``'s; :meth:`StudyStore.verify` checks
both.

Tokens: each reader and the coordinator get a random token (``secrets.token_urlsafe(32)``, 256
bits); only its SHA-256 is stored.  A plain hash suffices for such high-entropy random secrets
(no dictionary to try; a salt or a slow hash protects low-entropy passwords).  Look-ups compare
the digest with every stored digest by :func:`hmac.compare_digest`, so the time taken does not
depend on which token, if any, matched.

Readers see their own work items only, in their stored order, with the case alias and the
modality label: never the truth, the case ID, another reader's items, or (blinded) a modality's
ID.  Answers are readable only once the study is locked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from corridor.audit import GENESIS, AuditBreak, record_digest, verify_records
from corridor.staging import (
    check_output_folder,
    staged_folder,
    write_bytes_atomic,
    write_text_atomic,
)
from corridor_qms.errors import QmsError
from corridor_qms.study.ct import (
    CASES_FOLDER,
    CT_FOLDER,
    CT_VIEWS,
    CaseSeriesError,
    render_case_cts,
)
from corridor_qms.study.definition import StudyDefinition, load_definition
from corridor_qms.study.schedule import Schedule

__all__ = [
    "DATABASE",
    "DEFINITION",
    "SCHEDULE_CSV",
    "SCHEDULE_JSON",
    "Answer",
    "AnswerReceipt",
    "AnswerRefusedError",
    "ChainCheck",
    "Clock",
    "ReaderProgress",
    "Refusal",
    "SessionState",
    "SessionStatus",
    "StudyError",
    "StudyFolderError",
    "StudyNotLockedError",
    "StudyStore",
    "WorkItem",
    "digest_token",
    "write_tokens",
]

DATABASE = "study.sqlite"
DEFINITION = "definition.yaml"
SCHEDULE_JSON = "schedule.json"
SCHEDULE_CSV = "schedule.csv"
PROTOCOL_FOLDER = "protocol"
FORMAT = "corridor-study-store/1"

MAX_READING_MS = 24 * 3600 * 1000
"""Longest reading time accepted for one case (a day, in milliseconds)."""

BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another's transaction before giving up."""

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime (injectable for the washout's tests)."""


def _now() -> datetime:
    return datetime.now(UTC)


class StudyError(QmsError):
    """Base of the reader study's errors."""


class StudyFolderError(StudyError, FileNotFoundError):
    """A study folder that is missing, not a study, or of another format.

    Attributes
    ----------
    path, found, expected
        The folder, what was found and what was expected.
    """

    def __init__(self, path: Path, found: str, expected: str) -> None:
        self.path, self.found, self.expected = path, found, expected
        super().__init__(f"{path}: found {found}, expected {expected}")

    def __str__(self) -> str:
        return str(self.args[0])


class StudyNotLockedError(StudyError, RuntimeError):
    """Answers asked for before the study is locked (they stay hidden until then)."""


class Refusal(StrEnum):
    """Why an answer was refused."""

    NOT_YOURS = "not-yours"
    """No such item in the reader's worklist (another reader's item, or none at all: the
    two are not told apart, so that a reader learns nothing about others' items)."""
    SESSION_CLOSED = "session-closed"
    """The item's session is not open yet (previous session unfinished, or washout), or it
    is closed to edits (an item of a later session has been answered)."""
    LOCKED = "locked"
    """The study is locked."""
    INVALID = "invalid"
    """An answer missing, unknown, or not what its question takes; or a bad reading time."""


class AnswerRefusedError(StudyError, ValueError):
    """An answer that was not recorded; nothing was written.

    Attributes
    ----------
    reason
        Why (:class:`Refusal`).
    item
        The item key given.
    opens_at
        For :attr:`Refusal.SESSION_CLOSED` after a finished session: when the session opens.
    """

    def __init__(self, reason: Refusal, item: str, message: str, *,
                 opens_at: datetime | None = None) -> None:
        self.reason, self.item, self.opens_at = reason, item, opens_at
        super().__init__(f"item {item}: {message}")


class SessionStatus(StrEnum):
    """Where a reader stands with one session."""

    OPEN = "open"
    DONE = "done"
    WAITING = "waiting"
    """Not open yet: the previous session is unfinished, or its washout has not ended."""


@dataclass(frozen=True, slots=True)
class SessionState:
    """One session of one reader: status, when it opens, its progress (no answers)."""

    session: int
    status: SessionStatus
    opens_at: datetime | None
    """When a waiting session opens (end of the previous session + washout); ``None`` while
    the previous session is unfinished, and for session 1."""
    started_at: datetime | None
    """The first answer of the session."""
    finished_at: datetime | None
    """The answer that completed the session (its last unanswered item)."""
    done: int
    left: int


@dataclass(frozen=True, slots=True)
class ReaderProgress:
    """A reader's progress per session, for the coordinator (no answers)."""

    reader: str
    sessions: tuple[SessionState, ...]

    @property
    def done(self) -> int:
        """Items answered, all sessions."""
        return sum(s.done for s in self.sessions)

    @property
    def left(self) -> int:
        """Items not answered yet, all sessions."""
        return sum(s.left for s in self.sessions)


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One item of a reader's worklist, as the reader may see it.

    Attributes
    ----------
    key
        Opaque, random key of the item (what :meth:`StudyStore.record_answer` takes).
    session, position
        When it is read (1-based).
    alias
        The case's alias (never its ID).
    label
        The modality's label (never its ID in a blinded study).
    shows_plan
        Whether the modality shows the case's plan.
    training
        A training case (answered, never analysed).
    answered
        Whether the reader has answered it.
    """

    key: str
    session: int
    position: int
    alias: str
    label: str
    shows_plan: bool
    training: bool
    answered: bool


@dataclass(frozen=True, slots=True)
class AnswerReceipt:
    """What a recorded answer's reader gets back: the event, committed."""

    item: str
    sequence: int
    record_sha256: str
    recorded_at: datetime
    revision: int
    """1 for the first answer to the item, 2 for the first edit, ..."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer to one question of one reading, in one revision (readable once locked).

    ``latest`` marks the revision that counts; earlier revisions are the edit history.
    """

    reader: str
    session: int
    position: int
    case: str
    modality: str
    training: bool
    truth: int
    question: str
    value: int | float | str | None
    """``None``: an optional question left unanswered."""
    revision: int
    latest: bool
    reading_ms: int
    answered_at: datetime
    sequence: int


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """What :meth:`StudyStore.verify` found: the events, the head, every break."""

    events: int
    head: tuple[int, str] | None
    breaks: tuple[AuditBreak, ...]

    @property
    def ok(self) -> bool:
        """No break."""
        return not self.breaks

    @property
    def first_broken(self) -> str | None:
        """Where the first break is (``event N``), or ``None``."""
        return self.breaks[0].where if self.breaks else None


def digest_token(token: str) -> str:
    """The SHA-256 (hex) stored for ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tokens (digest TEXT PRIMARY KEY, role TEXT NOT NULL, reader TEXT);
CREATE TABLE items (key TEXT PRIMARY KEY, reader TEXT NOT NULL, session INTEGER NOT NULL,
                    position INTEGER NOT NULL, ordinal INTEGER NOT NULL UNIQUE,
                    case_id TEXT NOT NULL, modality TEXT NOT NULL, training INTEGER NOT NULL);
CREATE TABLE events (sequence INTEGER PRIMARY KEY, record TEXT NOT NULL);
"""



def write_tokens(path: Path, tokens: Mapping[str, str]) -> None:
    """Write the plain tokens to a new file ``path`` readable by its owner only (0600), one
    ``who<TAB>token`` line each under a header saying how to hand them out."""
    text = ("# Reader study tokens: give each reader their own line's token, the coordinator\n"
            "# theirs. Shown nowhere else and stored only as SHA-256: keep this file out of\n"
            "# version control and delete it once handed out.\n"
            + "".join(f"{who}\t{token}\n" for who, token in tokens.items()))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())


class StudyStore:
    """A study folder's store (see the module's docstring).

    Use :meth:`create` once, then :meth:`open`.  Safe to share between threads (one
    connection, serialised by a lock) and between processes on the same folder (SQLite's
    locking).
    """

    def __init__(self, folder: Path, connection: sqlite3.Connection,
                 definition: StudyDefinition, clock: Clock) -> None:
        self.folder, self._db, self.definition, self._clock = folder, connection, definition, clock
        self._lock = threading.RLock()
        rows = connection.execute("SELECT key, reader, session, position, case_id, modality, "
                                  "training FROM items ORDER BY ordinal").fetchall()
        self._items: dict[str, tuple[str, int, int, str, str, bool]] = {
            r[0]: (r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows}
        self._tokens: list[tuple[str, str, str | None]] = connection.execute(
            "SELECT digest, role, reader FROM tokens").fetchall()

    # creation and opening ------------------------------------------------------------------

    @classmethod
    def create(cls, folder: Path, definition_path: Path, schedule: Schedule,
               clock: Clock | None = None, tokens_file: str | None = None) -> dict[str, str]:
        """Create the study folder: store, definition, protocol, schedule; return the tokens.

        Parameters
        ----------
        folder
            The study folder: new, or an empty folder.
        definition_path
            The definition file (copied byte for byte; its protocol is copied too).
        schedule
            The schedule (:func:`~corridor_qms.study.schedule.build_schedule`).
        clock
            The time of the ``created`` event (default: now).
        tokens_file
            When given, the name of a file (mode 0600) in the study folder that the plain
            tokens are written to, inside the staged folder, so that the study appears with
            its tokens or not at all (:func:`write_tokens`).

        Returns
        -------
        dict
            ``{reader ID: token, ..., "coordinator": token}``: the only time the plain tokens
            exist; the store keeps their SHA-256.

        Raises
        ------
        corridor.staging.OutputFolderError
            The folder exists and is not empty (nothing written).
        StudyDataError
            The definition is invalid.
        StudyFolderError
            The protocol or a case folder the definition names is missing, or the schedule
            is not this definition's.
        """
        clock = clock or _now
        definition = load_definition(definition_path)
        protocol = definition_path.parent / definition.protocol
        if not protocol.is_file():
            raise StudyFolderError(protocol, "no file", "the protocol the definition names")
        missing = [f for c in definition.cases for f in c.all_folders
                   if not (definition_path.parent / f).is_dir()]
        if missing:
            raise StudyFolderError(definition_path.parent / missing[0], "no folder",
                                   "the case folder the definition names (relative to it)")
        if schedule.study != definition.name or schedule.seed != definition.seed:
            raise StudyFolderError(folder, f"a schedule of study {schedule.study!r} seed "
                                   f"{schedule.seed}", f"the schedule of {definition.name!r}")
        check_output_folder(folder)
        try:
            cts = render_case_cts(definition, definition_path.parent)
        except CaseSeriesError as exc:
            raise StudyFolderError(exc.path, exc.found, exc.expected) from exc
        tokens = {reader: secrets.token_urlsafe(32) for reader in definition.readers}
        tokens["coordinator"] = secrets.token_urlsafe(32)
        with staged_folder(folder) as staging:
            shutil.copyfile(definition_path, staging / DEFINITION)
            (staging / PROTOCOL_FOLDER).mkdir()
            shutil.copyfile(protocol, staging / PROTOCOL_FOLDER / protocol.name)
            write_text_atomic(staging / SCHEDULE_JSON,
                              json.dumps(schedule.to_json(), indent=1, sort_keys=True) + "\n")
            write_text_atomic(staging / SCHEDULE_CSV, schedule.to_csv())
            for case_id, views in cts.items():
                (staging / CASES_FOLDER / case_id / CT_FOLDER).mkdir(parents=True)
                for view, data in views.items():
                    write_bytes_atomic(staging / CASES_FOLDER / case_id / CT_FOLDER
                                       / f"{view}.png", data)
            db = sqlite3.connect(staging / DATABASE)
            try:
                db.executescript(_SCHEMA)
                meta = {"format": FORMAT, "study": definition.name,
                        "source": str(definition_path.parent.resolve()),
                        "protocol": f"{PROTOCOL_FOLDER}/{protocol.name}",
                        "definition_sha256": hashlib.sha256(
                            definition_path.read_bytes()).hexdigest()}
                db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
                db.executemany("INSERT INTO tokens VALUES (?, ?, ?)",
                               [(digest_token(t), "reader" if r != "coordinator"
                                 else "coordinator", r if r != "coordinator" else None)
                                for r, t in tokens.items()])
                db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               [(secrets.token_hex(8), i.reader, i.session, i.position, n,
                                 i.case, i.modality, int(i.training))
                                for n, i in enumerate(schedule.items)])
                record = {"event": "created", "at": _iso(clock()), "study": definition.name,
                          "definition_sha256": meta["definition_sha256"],
                          "schedule_sha256": hashlib.sha256(
                              (staging / SCHEDULE_JSON).read_bytes()).hexdigest(),
                          "sequence": 1, "previous_sha256": GENESIS}
                record["record_sha256"] = record_digest(record)
                db.execute("INSERT INTO events VALUES (?, ?)", (1, _canonical(record)))
                db.commit()
            finally:
                db.close()
            if tokens_file is not None:
                write_tokens(staging / tokens_file, tokens)
        return tokens

    @classmethod
    def open(cls, folder: Path, clock: Clock | None = None) -> StudyStore:
        """Open a study folder made by :meth:`create`.

        Raises
        ------
        StudyFolderError
            No such folder, no store in it, or a store of another format.
        StudyDataError
            Its definition no longer validates.
        """
        path = folder / DATABASE
        if not path.is_file():
            raise StudyFolderError(folder, f"no {DATABASE}",
                                   "a study folder made by corridor study create")
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                     check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            found = connection.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise StudyFolderError(folder, f"{DATABASE} unreadable ({exc})",
                                   "a study store") from exc
        if found is None or found[0] != FORMAT:
            connection.close()
            raise StudyFolderError(folder, f"store format {found[0] if found else None!r}",
                                   repr(FORMAT))
        definition = load_definition(folder / DEFINITION)
        return cls(folder, connection, definition, clock or _now)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> StudyStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # reading the store ----------------------------------------------------------------------

    def _now(self) -> datetime:
        moment = self._clock()
        if moment.tzinfo is None:
            raise ValueError("the clock must return an aware datetime (UTC)")
        return moment.astimezone(UTC)

    def _events(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT record FROM events ORDER BY sequence").fetchall()
        return [json.loads(r[0]) for r in rows]

    def _answer_events(self) -> list[dict[str, Any]]:
        return [e for e in self._events() if e.get("event") == "answer"]

    @property
    def locked(self) -> bool:
        """Whether the study is locked (no answer accepted any more)."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM meta WHERE key='locked_at'").fetchone() \
                is not None

    @property
    def schedule(self) -> Schedule:
        """The stored schedule (``schedule.json``)."""
        return Schedule.from_json(json.loads((self.folder / SCHEDULE_JSON).read_text("utf-8")))

    @property
    def protocol_path(self) -> str:
        """The copied protocol's path inside the study folder."""
        with self._lock:
            return self._meta("protocol")

    def reader_for_token(self, token: str) -> str | None:
        """The reader whose token this is, or ``None`` (constant time over the stored
        digests)."""
        digest, found = digest_token(token), None
        for stored, role, reader in self._tokens:
            if hmac.compare_digest(stored, digest) and role == "reader":
                found = reader
        return found

    def is_coordinator(self, token: str) -> bool:
        """Whether this is the coordinator's token (constant time over the stored digests)."""
        digest, found = digest_token(token), False
        for stored, role, _ in self._tokens:
            if hmac.compare_digest(stored, digest) and role == "coordinator":
                found = True
        return found

    def _first_answers(self, events: list[dict[str, Any]]) -> dict[str, datetime]:
        first: dict[str, datetime] = {}
        for event in events:
            first.setdefault(event["item"], _time(event["at"]))
        return first

    def _sessions(self, reader: str, first: Mapping[str, datetime],
                  now: datetime) -> list[SessionState]:
        states: list[SessionState] = []
        washout = timedelta(days=self.definition.washout_days)
        for session in range(1, self.definition.session_count + 1):
            keys = [k for k, v in self._items.items() if v[0] == reader and v[1] == session]
            times = [first[k] for k in keys if k in first]
            done, left = len(times), len(keys) - len(times)
            started = min(times) if times else None
            finished = max(times) if times and not left else None
            opens_at: datetime | None = None
            if session == 1:
                is_open = True
            else:
                previous = states[-1]
                opens_at = (previous.finished_at + washout
                            if previous.finished_at is not None else None)
                is_open = opens_at is not None and now >= opens_at
            status = (SessionStatus.DONE if not left else
                      SessionStatus.OPEN if is_open else SessionStatus.WAITING)
            states.append(SessionState(session, status, opens_at, started, finished, done, left))
        return states

    def session_state(self, reader: str, session: int) -> SessionState:
        """Where ``reader`` stands with ``session`` (1-based).

        Raises
        ------
        KeyError
            An unknown reader or session.
        """
        if reader not in self.definition.readers:
            raise KeyError(reader)
        with self._lock:
            states = self._sessions(reader, self._first_answers(self._answer_events()),
                                    self._now())
        if not 1 <= session <= len(states):
            raise KeyError(session)
        return states[session - 1]

    def worklist(self, reader: str) -> list[WorkItem]:
        """The reader's items in their stored order (nothing about truth, other readers or a
        blinded modality's ID); ``[]`` for an unknown reader."""
        with self._lock:
            answered = {e["item"] for e in self._answer_events() if e["reader"] == reader}
        items = []
        for key, (owner, session, position, _case, modality_id, training) in self._items.items():
            if owner != reader:
                continue
            modality = self.definition.modality(modality_id)
            items.append(WorkItem(key, session, position, self.definition.case(_case).alias,
                                  modality.label, modality.shows_plan, training,
                                  key in answered))
        return items

    def _own(self, reader: str, key: str) -> tuple[str, int, int, str, str, bool]:
        """The reader's item ``key`` (reader, session, position, case ID, modality ID,
        training); refused as not theirs when it is another reader's or does not exist (the
        two are not told apart)."""
        item = self._items.get(key)
        if item is None or item[0] != reader:
            raise AnswerRefusedError(Refusal.NOT_YOURS, key, f"no such item in reader "
                                     f"{reader}'s worklist")
        return item

    def case_folder(self, reader: str, key: str) -> Path:
        """The case folder of the reader's item ``key`` (for the reading page to show).

        Raises
        ------
        AnswerRefusedError
            Not an item of this reader (:attr:`Refusal.NOT_YOURS`).
        """
        item = self._own(reader, key)
        source = Path(self._meta("source"))
        return source / self.definition.case(item[3]).folder_for(item[4])

    def ct_images(self, reader: str, key: str) -> list[tuple[str, bytes]]:
        """The CT-only images of the reader's item ``key`` (view, PNG bytes), rendered by
        :meth:`create` from the case's CT; ``[]`` when the case names no CT.

        Raises
        ------
        AnswerRefusedError
            Not an item of this reader (:attr:`Refusal.NOT_YOURS`).
        """
        item = self._own(reader, key)
        folder = self.folder / CASES_FOLDER / item[3] / CT_FOLDER
        return [(view, (folder / f"{view}.png").read_bytes()) for view in CT_VIEWS
                if (folder / f"{view}.png").is_file()]

    def closed_by(self, reader: str, key: str) -> int | None:
        """The later session whose answering closed the item's session to edits, or ``None``.

        Once a reader has answered an item of a later session, the answers of earlier
        sessions are final: an edit then could carry what the other modality showed back into
        an earlier reading (order bias, RC-101).
        """
        item = self._items.get(key)
        if item is None or item[0] != reader:
            return None
        with self._lock:
            answered = {e["item"] for e in self._answer_events() if e["reader"] == reader}
        later = [self._items[k][1] for k in answered if self._items[k][1] > item[1]]
        return min(later) if later else None

    def _meta(self, key: str) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return str(row[0])

    def progress(self) -> list[ReaderProgress]:
        """Every reader's progress per session (no answers), in the definition's order."""
        with self._lock:
            first = self._first_answers(self._answer_events())
            now = self._now()
            return [ReaderProgress(r, tuple(self._sessions(r, first, now)))
                    for r in self.definition.readers]

    # writing --------------------------------------------------------------------------------

    def _append(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Append an event inside the caller's transaction; return the record."""
        last = self._db.execute(
            "SELECT sequence, record FROM events ORDER BY sequence DESC LIMIT 1").fetchone()
        record = {**fields, "sequence": last[0] + 1,
                  "previous_sha256": json.loads(last[1])["record_sha256"]}
        record["record_sha256"] = record_digest(record)
        self._db.execute("INSERT INTO events VALUES (?, ?)", (record["sequence"],
                                                              _canonical(record)))
        return record

    def _checked(self, key: str, answers: Mapping[str, object],
                 reading_ms: int) -> dict[str, int | float | str | None]:
        if isinstance(reading_ms, bool) or not isinstance(reading_ms, int) \
                or not 0 <= reading_ms <= MAX_READING_MS:
            raise AnswerRefusedError(Refusal.INVALID, key, f"reading_ms: found {reading_ms!r}, "
                                     f"expected an integer from 0 to {MAX_READING_MS}")
        if not isinstance(answers, Mapping):
            raise AnswerRefusedError(Refusal.INVALID, key, f"answers: found "
                                     f"{type(answers).__name__}, expected a mapping of question "
                                     "IDs to answers")
        questions = {q.id: q for q in self.definition.questions}
        unknown = sorted(set(answers) - set(questions))
        if unknown:
            raise AnswerRefusedError(Refusal.INVALID, key, f"unknown question {unknown[0]!r}; "
                                     f"expected {', '.join(questions)}")
        checked: dict[str, int | float | str | None] = {}
        for qid, question in questions.items():
            if qid not in answers or answers[qid] is None:
                if question.required:
                    raise AnswerRefusedError(Refusal.INVALID, key, f"question {qid}: no "
                                             "answer, expected one (required)")
                checked[qid] = None
                continue
            try:
                checked[qid] = question.check(answers[qid])
            except ValueError as exc:
                raise AnswerRefusedError(Refusal.INVALID, key, str(exc)) from exc
        return checked

    def record_answer(self, reader: str, item_key: str, answers: Mapping[str, object],
                      reading_ms: int) -> AnswerReceipt:
        """Record the reader's answers to one item (a new answer or an edit), committed before
        returning.

        Parameters
        ----------
        reader
            The signed-in reader.
        item_key
            A key of the reader's worklist.
        answers
            ``{question ID: value}`` for every required question.
        reading_ms
            Reading time of this visit, in milliseconds.

        Raises
        ------
        AnswerRefusedError
            The study is locked; the item is not the reader's; its session is not open
            (``opens_at`` says when it opens, when known); an answer is missing or invalid.
            Nothing is written.
        """
        item = self._own(reader, item_key)
        checked = self._checked(item_key, answers, reading_ms)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if self._db.execute("SELECT 1 FROM meta WHERE key='locked_at'").fetchone():
                    raise AnswerRefusedError(Refusal.LOCKED, item_key, "the study is locked; "
                                             "no answer is accepted")
                now = self._now()
                events = self._answer_events()
                state = self._sessions(reader, self._first_answers(events), now)[item[1] - 1]
                earlier = sum(1 for e in events if e["item"] == item_key)
                later = sorted({self._items[e["item"]][1] for e in events
                                if e["reader"] == reader and self._items[e["item"]][1] > item[1]})
                if earlier and later:
                    raise AnswerRefusedError(
                        Refusal.SESSION_CLOSED, item_key,
                        f"session {item[1]} is closed to edits: session {later[0]} has been "
                        f"answered, so session {item[1]}'s answers are final")
                if state.status is SessionStatus.WAITING:
                    when = (f"it opens at {_iso(state.opens_at)} (washout of "
                            f"{self.definition.washout_days} days)" if state.opens_at
                            else "it opens once session "
                                 f"{item[1] - 1} is finished and its washout has passed")
                    raise AnswerRefusedError(Refusal.SESSION_CLOSED, item_key,
                                             f"session {item[1]} is not open: {when}",
                                             opens_at=state.opens_at)
                record = self._append({"event": "answer", "at": _iso(now), "reader": reader,
                                       "item": item_key, "answers": checked,
                                       "reading_ms": reading_ms, "revision": earlier + 1})
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return AnswerReceipt(item_key, record["sequence"], record["record_sha256"], now,
                             earlier + 1)

    def lock(self) -> datetime:
        """Lock the study (idempotent): no answer is accepted after; answers become readable.
        Returns when it was locked."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT value FROM meta WHERE key='locked_at'").fetchone()
                if row is not None:
                    self._db.execute("ROLLBACK")
                    return _time(row[0])
                now = self._now()
                self._append({"event": "locked", "at": _iso(now)})
                self._db.execute("INSERT INTO meta VALUES ('locked_at', ?)", (_iso(now),))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return now

    # once locked ---------------------------------------------------------------------------

    def answers(self) -> list[Answer]:
        """Every answer of every revision, in reading-schedule order, latest revision marked.

        Raises
        ------
        StudyNotLockedError
            The study is not locked.
        """
        if not self.locked:
            raise StudyNotLockedError("answers are readable only once the study is locked "
                                      "(corridor study lock)")
        with self._lock:
            events = self._answer_events()
        latest: dict[str, int] = {}
        for event in events:
            latest[event["item"]] = event["revision"]
        order = {key: n for n, key in enumerate(self._items)}
        events.sort(key=lambda e: (order[e["item"]], e["revision"]))
        result = []
        for event in events:
            reader, session, position, case_id, modality, training = self._items[event["item"]]
            for question in self.definition.questions:
                result.append(Answer(
                    reader, session, position, case_id, modality, training,
                    self.definition.case(case_id).truth, question.id,
                    event["answers"].get(question.id), event["revision"],
                    event["revision"] == latest[event["item"]], event["reading_ms"],
                    _time(event["at"]), event["sequence"]))
        return result

    def verify(self) -> ChainCheck:
        """Check the chain of events (each event's hash, sequence and link; a break names the
        event, ``event N``) and that ``definition.yaml`` and ``schedule.json`` are the files
        the ``created`` event hashed (a break names the file)."""
        with self._lock:
            rows = self._db.execute("SELECT record FROM events ORDER BY sequence").fetchall()
        check = verify_records((r[0].encode("utf-8") for r in rows), unit="event")
        breaks = list(check.breaks)
        created = json.loads(rows[0][0]) if rows else {}
        for name, key in ((DEFINITION, "definition_sha256"), (SCHEDULE_JSON, "schedule_sha256")):
            path = self.folder / name
            found = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            if found != created.get(key):
                breaks.append(AuditBreak(name, f"SHA-256 {found}, expected {created.get(key)} "
                                               "(the created event's): changed after creation"))
        return ChainCheck(check.count, check.head, tuple(breaks))


def _canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
