"""Step definitions of ``verification/features/study/store.feature``.

Verifies the study store: tokens kept only as SHA-256 and resolved to their own role; a
reader refused another reader's item; the washout enforced with its opening time; edits
appended as revisions; the hash chain verified and a changed event named; a locked study
refusing answers and an unlocked one hiding them; no acknowledged answer lost when the
answering process is killed.

Oracles: the tokens and answers planted by the scenario, the raw bytes of the study folder's
files, SHA-256 computed here with ``hashlib``, the fake clock's times, the events read back
with ``sqlite3`` and ``json``, and the receipts a separate (killed) process printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_bdd import given, scenarios, then, when

from corridor_qms.study import (
    AnswerRefusedError,
    Refusal,
    StudyNotLockedError,
    StudyStore,
)
from corridor_qms.study.cli import TOKENS
from verification.command_run import run_corridor
from verification.study.helpers import QUESTIONS, Study

scenarios("study/store.feature")

ROOT = Path(__file__).parents[2]

ANSWER = {"acceptable": 4, "confidence": 80.0, "modify": 0, "comment": "fine"}
"""An answer to every question."""

CHANGED = {"acceptable": 2, "confidence": 35.5, "modify": 1, "comment": ""}
"""A different answer (an edit)."""


def _events(folder: Path) -> list[dict[str, object]]:
    with sqlite3.connect(folder / "study.sqlite") as db:
        rows = db.execute("SELECT record FROM events ORDER BY sequence").fetchall()
    return [json.loads(r[0]) for r in rows]


@then("no reader's or the coordinator's token appears in the study folder's files except the "
      "tokens file, which has mode 0600")
def tokens_hashed(study: Study) -> None:
    assert study.status == 0, study.stderr
    lines = [line.split("\t") for line in
             (study.folder / TOKENS).read_text(encoding="utf-8").splitlines()
             if not line.startswith("#")]
    study.tokens = {who: token for who, token in lines}
    assert set(study.tokens) == {*study.document["readers"], "coordinator"}
    assert stat.S_IMODE((study.folder / TOKENS).stat().st_mode) == 0o600
    stored = b"".join(p.read_bytes() for p in sorted(study.folder.rglob("*"))
                      if p.is_file() and p.name != TOKENS)
    for token in study.tokens.values():
        assert len(token) >= 43  # 32 random bytes, URL-safe base64
        assert token.encode() not in stored
        assert hashlib.sha256(token.encode()).hexdigest().encode() in stored
    assert not any(t in study.stdout + study.stderr for t in study.tokens.values())


@then("each reader's token names that reader, the coordinator's token is the coordinator's, "
      "and a wrong token names nobody")
def tokens_resolve(study: Study) -> None:
    with StudyStore.open(study.folder) as store:
        for who, token in study.tokens.items():
            if who == "coordinator":
                assert store.is_coordinator(token)
                assert store.reader_for_token(token) is None
            else:
                assert store.reader_for_token(token) == who
                assert not store.is_coordinator(token)
        wrong = study.tokens["reader-1"][:-1] + ("A" if study.tokens["reader-1"][-1] != "A"
                                                 else "B")
        assert store.reader_for_token(wrong) is None
        assert not store.is_coordinator(wrong)
        assert store.reader_for_token("") is None


@when("reader-1 answers an item of reader-2's worklist")
def answer_other(study: Study) -> None:
    store = study.opened()
    item = store.worklist("reader-2")[0]
    assert all(w.key != item.key for w in store.worklist("reader-1"))
    with pytest.raises(AnswerRefusedError) as refused:
        store.record_answer("reader-1", item.key, ANSWER, 1000)
    study.refusal = refused.value


@then("the answer is refused as not reader-1's item and nothing is recorded")
def refused_other(study: Study) -> None:
    assert isinstance(study.refusal, AnswerRefusedError)
    assert study.refusal.reason is Refusal.NOT_YOURS
    assert "reader-1's worklist" in str(study.refusal)
    assert len(_events(study.folder)) == 1  # the "created" event only
    assert not any(w.answered for w in study.opened().worklist("reader-2"))


@given("reader-1 has answered every item of session 1")
def session_one(study: Study) -> None:
    store = study.opened()
    for item in store.worklist("reader-1"):
        if item.session == 1:
            study.clock.advance(minutes=3)
            store.record_answer("reader-1", item.key, ANSWER, 180_000)
    study.given["session 1 ended"] = study.clock.now


@when("reader-1 answers an item of session 2 27 days later")
def too_early(study: Study) -> None:
    store = study.opened()
    study.clock.advance(days=27)
    item = next(w for w in store.worklist("reader-1") if w.session == 2)
    study.given["item"] = item.key
    with pytest.raises(AnswerRefusedError) as refused:
        store.record_answer("reader-1", item.key, ANSWER, 1000)
    study.refusal = refused.value


@then("the answer is refused, saying that session 2 opens 28 days after session 1 ended")
def refused_washout(study: Study) -> None:
    opens = study.given["session 1 ended"] + timedelta(days=28)
    assert isinstance(study.refusal, AnswerRefusedError)
    assert study.refusal.reason is Refusal.SESSION_CLOSED
    assert study.refusal.opens_at == opens
    assert opens.isoformat(timespec="microseconds") in str(study.refusal)
    state = study.opened().session_state("reader-1", 2)
    assert (state.status.value, state.opens_at) == ("waiting", opens)


@then("28 days after session 1 ended the same answer is accepted")
def accepted_after(study: Study) -> None:
    study.clock.now = study.given["session 1 ended"] + timedelta(days=28)
    receipt = study.opened().record_answer("reader-1", study.given["item"], ANSWER, 1000)
    assert receipt.revision == 1
    assert study.opened().session_state("reader-1", 2).status.value == "open"


@given("reader-1 has answered their first item")
def first_item(study: Study) -> None:
    store = study.opened()
    item = store.worklist("reader-1")[0]
    study.given["item"] = item.key
    study.receipts.append(store.record_answer("reader-1", item.key, ANSWER, 61_000))


@when("reader-1 changes that answer")
def change(study: Study) -> None:
    study.clock.advance(minutes=5)
    study.receipts.append(study.opened().record_answer("reader-1", study.given["item"],
                                                       CHANGED, 12_000))


@then("the answers hold both revisions, the latest marked, each with its own time and event")
def both_revisions(study: Study) -> None:
    answers = study.opened().answers()
    first = study.opened().schedule.for_reader("reader-1")[0]
    mine = [a for a in answers if a.reader == "reader-1" and a.case == first.case
            and a.modality == first.modality]
    assert len(mine) == 2 * len(QUESTIONS)
    for question in QUESTIONS:
        old, new = [a for a in mine if a.question == question["id"]]
        assert (old.revision, old.latest, new.revision, new.latest) == (1, False, 2, True)
        assert old.value == ANSWER[question["id"]]
        assert new.value == CHANGED[question["id"]]
        assert new.answered_at - old.answered_at == timedelta(minutes=5)
        assert (old.sequence, new.sequence) == tuple(r.sequence for r in study.receipts)
        assert (old.reading_ms, new.reading_ms) == (61_000, 12_000)
    assert len(answers) == 2 * len(QUESTIONS)


@then("the chain of events verifies")
def chain_verifies(study: Study) -> None:
    check = study.opened().verify()
    assert check.ok, check.breaks
    assert check.events == 4  # created, answer, edit, locked
    records = _events(study.folder)
    assert check.head == (4, records[-1]["record_sha256"])
    for receipt in study.receipts:
        assert records[receipt.sequence - 1]["record_sha256"] == receipt.record_sha256


@then("after one byte of the first answer's event is changed in study.sqlite, verification "
      "names that event")
def byte_changed(study: Study) -> None:
    sequence = study.receipts[0].sequence
    with sqlite3.connect(study.folder / "study.sqlite") as db:
        (text,) = db.execute("SELECT record FROM events WHERE sequence = ?",
                             (sequence,)).fetchone()
        changed = text.replace('"acceptable":4', '"acceptable":5')
        assert sum(a != b for a, b in zip(text, changed, strict=True)) == 1
        db.execute("UPDATE events SET record = ? WHERE sequence = ?", (changed, sequence))
    check = study.opened().verify()
    assert not check.ok
    assert check.first_broken == f"event {sequence}"
    assert [b.where for b in check.breaks] == [f"event {sequence}"]
    study.opened().close()
    study.store = None
    done = run_corridor(["study", "verify", str(study.folder)])
    assert done.status == 1
    assert f"event {sequence}: the record was changed" in done.stdout


@then("the answers are refused before the study is locked")
def hidden_before_lock(study: Study) -> None:
    with pytest.raises(StudyNotLockedError, match="once the study is locked"):
        study.opened().answers()


@then("reader-1's answer to their next item is refused because the study is locked")
def refused_locked(study: Study) -> None:
    store = study.opened()
    item = store.worklist("reader-1")[1]
    count = len(_events(study.folder))
    with pytest.raises(AnswerRefusedError) as refused:
        store.record_answer("reader-1", item.key, ANSWER, 1000)
    assert refused.value.reason is Refusal.LOCKED
    assert len(_events(study.folder)) == count
    assert len(store.answers()) == len(QUESTIONS)


CHILD = """
import json, sys
from pathlib import Path
from corridor_qms.study import StudyStore
store = StudyStore.open(Path(sys.argv[1]))
items = [w for w in store.worklist("reader-1") if w.session == 1]
n = 0
while True:  # answer, then keep editing, until killed
    for item in items:
        n += 1
        receipt = store.record_answer("reader-1", item.key, {
            "acceptable": 1 + n % 5, "confidence": float(n % 101), "modify": n % 2}, n)
        print(json.dumps([receipt.item, receipt.sequence, receipt.record_sha256, n]),
              flush=True)
"""


@when("a separate process answering reader-1's items is killed with SIGKILL after 5 "
      "acknowledged answers")
def killed(study: Study) -> None:
    study.opened().close()
    study.store = None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "software"), str(ROOT)])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(study.folder)], env=env,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    try:
        for _ in range(5):
            line = child.stdout.readline()
            assert line, "the answering process ended early"
            study.receipts.append(json.loads(line))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@then("every acknowledged answer is in the store with its sequence and hash, and the chain "
      "verifies")
def none_lost(study: Study) -> None:
    records = {r["sequence"]: r for r in _events(study.folder)}
    for item, sequence, digest, n in study.receipts:
        record = records[sequence]
        assert (record["item"], record["record_sha256"], record["reading_ms"]) == \
            (item, digest, n)
        assert record["answers"]["acceptable"] == 1 + n % 5
    with StudyStore.open(study.folder) as store:
        assert store.verify().ok
        answered = {w.key for w in store.worklist("reader-1") if w.answered}
        assert {r[0] for r in study.receipts} <= answered


@when("reader-1 and reader-2 answer their session 1 items at the same time, each through "
      "their own connection")
def concurrent(study: Study) -> None:
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def answer(reader: str) -> None:
        try:
            with StudyStore.open(study.folder, study.clock) as store:
                items = [w for w in store.worklist(reader) if w.session == 1]
                barrier.wait(timeout=30)
                for n, item in enumerate(items):
                    receipt = store.record_answer(reader, item.key,
                                                  {**ANSWER, "acceptable": 1 + n % 5}, n)
                    study.receipts.append((reader, receipt))
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(r,)) for r in ("reader-1", "reader-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


@then("every answer of both is in the store once, and the chain verifies")
def no_clash(study: Study) -> None:
    records = [r for r in _events(study.folder) if r["event"] == "answer"]
    assert len(records) == len(study.receipts) == 2 * 7
    assert sorted(r["sequence"] for r in records) == list(range(2, 16))
    by_sequence = {r["sequence"]: r for r in records}
    for reader, receipt in study.receipts:
        record = by_sequence[receipt.sequence]
        assert (record["reader"], record["item"], record["record_sha256"]) == \
            (reader, receipt.item, receipt.record_sha256)
    assert study.opened().verify().ok
