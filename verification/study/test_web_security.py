"""Steps of ``study/web_security.feature``: sign-in, isolation, the coordinator page, the
security headers, concurrent answers and a SIGKILL, over real HTTP against the real server.

The oracles are what the scenarios themselves planted and posted: the tokens the store
returned at creation, the answers each scripted reader sent, the keys of each reader's items
as read from the store's schedule table; answers are read back from the locked store (which
the web application never reads answers from).
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pytest_bdd import given, scenarios, then, when

from corridor_qms.study.store import StudyStore
from corridor_qms.study.web import CSP, is_loopback
from verification.command_run import run_corridor
from verification.study.web_helpers import (
    Client,
    Reply,
    WebStudy,
    free_port,
    item_keys,
    make_study,
    served,
    server_process,
)

scenarios("study/web_security.feature")

MARK = "comment-of-reader-2-MUST-NOT-LEAK"
MARKUP_ALIAS = "Case <b id=injected>A</b>"


@dataclass
class Web:
    """The scenario's context: the study, the server, the clients and what they received."""

    root: Path
    stack: contextlib.ExitStack
    study: WebStudy | None = None
    base: str = ""
    clients: dict[str, Client] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    refused: list[Reply] = field(default_factory=list)
    posted: dict[str, dict[str, object]] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)
    reader2_before: list[Any] = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen[str] | None = None
    runs: list[Any] = field(default_factory=list)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    """A fresh context; its servers stopped afterwards."""
    with contextlib.ExitStack() as stack:
        yield Web(tmp_path, stack)


def _answers(n: int, comment: str = "") -> dict[str, object]:
    """The answers of the ``n``-th reading of a scripted reader (distinct per reading)."""
    return {"acceptable": 1 + n % 5, "confidence": 10 * (n % 10) + 0.5, "modify": n % 2,
            "comment": comment or f"reading {n}"}


def _reader(web: Web, reader: str) -> Client:
    assert web.study is not None
    client = Client(web.base)
    reply = client.sign_in(web.study.tokens[reader])
    assert reply.status == 200, reply.status
    web.clients[reader] = client
    web.replies.append(reply)
    return client


def _answer(web: Web, client: Client, key: str, values: dict[str, object]) -> Reply:
    """Open the item's reading page, then post the answers; both replies kept."""
    page = client.get(f"/read/{key}")
    assert page.status == 200, (page.status, page.body[:300])
    reply = client.post(f"/read/{key}", values)
    web.replies += [page, reply]
    return reply


def _keys(web: Web, reader: str, session: int | None = None) -> list[str]:
    """The reader's item keys in the stored order, from the store's table (not the web)."""
    assert web.study is not None
    with StudyStore.open(web.study.folder) as store:
        return [i.key for i in store.worklist(reader) if session in (None, i.session)]


def _locked_answers(web: Web) -> list[Any]:
    assert web.study is not None
    with StudyStore.open(web.study.folder) as store:
        store.lock()
        return [a for a in store.answers() if a.latest]


@given("a study of 3 readers served over HTTP")
def served_study(web: Web) -> None:
    web.study = make_study(web.root, training=0)
    web.base = web.stack.enter_context(served(web.study))


@given("a study of 3 readers whose first case's alias is markup, served over HTTP")
def served_markup_study(web: Web) -> None:
    web.study = make_study(web.root, first_alias=MARKUP_ALIAS, training=0)
    web.base = web.stack.enter_context(served(web.study))


@given("a study of 3 readers")
def plain_study(web: Web) -> None:
    web.study = make_study(web.root, training=0)


@given("reader-2 has answered their first item with a marked comment")
def reader2_answered(web: Web) -> None:
    client = _reader(web, "reader-2")
    key = _keys(web, "reader-2")[0]
    assert _answer(web, client, key, _answers(1, MARK)).status == 200
    with StudyStore.open(web.study.folder) as store:  # type: ignore[union-attr]
        web.reader2_before = [e["record_sha256"] for e in store._answer_events()]
    assert len(web.reader2_before) == 1


@when("a browser signs in with a wrong token")
def wrong_token(web: Web) -> None:
    client = Client(web.base)
    web.refused.append(client.sign_in("not-a-token-" + "x" * 30))
    web.clients["stranger"] = client


@then("it is refused with 401 and no session cookie, and the worklist and coordinator pages "
      "send it to sign in")
def refused_wrong_token(web: Web) -> None:
    reply = web.refused[0]
    assert reply.status == 401
    assert reply.cookies == []
    assert len(web.clients["stranger"].jar) == 0
    assert "This token is not recognised." in reply.body
    bare = Client(web.base, follow=False)
    for path in ("/worklist", "/coordinator", "/read/0123456789abcdef"):
        answer = bare.get(path)
        assert (answer.status, answer.headers.get("location")) == (303, "/"), (path, answer)


@when("reader-1 signs in with their token")
def reader1_signs_in(web: Web) -> None:
    client = Client(web.base, follow=False)
    web.replies.append(client.sign_in(web.study.tokens["reader-1"]))  # type: ignore[union-attr]
    web.clients["reader-1"] = client


@then("the session cookie is HttpOnly and SameSite=Strict and is not the token")
def strict_cookie(web: Web) -> None:
    reply = web.replies[-1]
    assert reply.status == 303
    assert reply.headers["location"] == "/worklist"
    assert len(reply.cookies) == 1
    cookie = reply.cookies[0]
    attributes = {part.strip().split("=")[0].lower(): part.strip()
                  for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/"
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) >= 40
    assert all(value != t and t not in cookie for t in web.study.tokens.values())  # type: ignore[union-attr]


@then("no page served to reader-1 holds any token")
def no_token_shown(web: Web) -> None:
    client = web.clients["reader-1"]
    pages = [client.get("/worklist")]
    key = item_keys(pages[0].body)[0]
    pages += [client.get(f"/read/{key}"), client.get("/")]
    assert pages[0].status == 200
    assert pages[1].status == 200
    for page in pages:
        for token in web.study.tokens.values():  # type: ignore[union-attr]
            assert token not in page.body
            assert token not in page.url


@when("reader-1 requests each of reader-2's items' page, image and answer by its key, and a "
      "made-up key")
def cross_reader(web: Web) -> None:
    client = _reader(web, "reader-1")
    own = _keys(web, "reader-1")
    client.get(f"/read/{own[0]}")  # reader-1 has a served page: reading times exist
    foreign = [*_keys(web, "reader-2"), "0123456789abcdef"]
    assert not set(foreign) & set(own)
    for key in foreign:
        web.refused += [client.get(f"/read/{key}"), client.get(f"/read/{key}/image/0"),
                        client.post(f"/read/{key}", _answers(3, "from reader-1"))]


@then("every one of those requests gets 404 and reader-2's answers are unchanged")
def all_404(web: Web) -> None:
    assert len(web.refused) == 3 * (12 + 1)  # 2 sessions x 6 cases, and a made-up key
    assert {r.status for r in web.refused} == {404}
    bodies = {r.body for r in web.refused if "/image/" not in r.url}
    assert len(bodies) == 1, "another reader's item and a made-up key must read the same"
    with StudyStore.open(web.study.folder) as store:  # type: ignore[union-attr]
        after = [e["record_sha256"] for e in store._answer_events()]
    assert after == web.reader2_before


@then("no page served to reader-1 names a case ID, a modality ID, the truth or reader-2's "
      "comment")
def nothing_leaks(web: Web) -> None:
    client = web.clients["reader-1"]
    pages = [client.get("/worklist")] + [client.get(f"/read/{k}")
                                        for k in _keys(web, "reader-1")[:3]]
    pages += web.refused
    document = web.study.document  # type: ignore[union-attr]
    forbidden = [MARK, "truth", *(c["id"] for c in document["cases"]),
                 *(m["id"] for m in document["modalities"]),
                 *(m["description"] for m in document["modalities"])]
    for page in pages:
        for word in forbidden:
            assert not re.search(rf"\b{re.escape(word)}\b", page.body), (word, page.url)


@when("reader-1 opens the coordinator page")
def reader_on_coordinator(web: Web) -> None:
    web.refused.append(_reader(web, "reader-1").get("/coordinator"))


@then("reader-1 is refused with 403")
def refused_403(web: Web) -> None:
    assert web.refused[-1].status == 403
    assert "progress" not in web.refused[-1].body.lower()


@when("the coordinator signs in")
def coordinator_signs_in(web: Web) -> None:
    client = Client(web.base)
    web.replies.append(client.sign_in(web.study.tokens["coordinator"]))  # type: ignore[union-attr]


@then("the coordinator page shows reader-2 with 1 done and 5 left in session 1 and no answer")
def coordinator_page(web: Web) -> None:
    page = web.replies[-1]
    assert page.status == 200
    assert page.url.endswith("/coordinator")
    rows = re.findall(r"<tr><td>([^<]*)</td><td>(\d)</td><td>(\d+)</td><td>(\d+)</td>",
                      page.body)
    assert ("reader-2", "1", "1", "5") in rows
    assert ("reader-1", "1", "0", "6") in rows
    assert len(rows) == 6
    assert MARK not in page.body


@when("reader-1 signs in and opens each page of their first item")
def open_pages(web: Web) -> None:
    client = _reader(web, "reader-1")
    key = _keys(web, "reader-1")[0]
    web.replies += [client.get("/"), client.get("/worklist"), client.get(f"/read/{key}"),
                    client.get(f"/read/{key}/image/0"), client.get("/static/study.css"),
                    client.get("/read/0123456789abcdef"),
                    client.post(f"/read/{key}", {"acceptable": "9"})]


@then("every response carries the Content-Security-Policy and the other security headers")
def security_headers(web: Web) -> None:
    assert len(web.replies) == 8
    for reply in web.replies:
        headers = {k.lower(): v for k, v in reply.headers.items()}
        assert headers["content-security-policy"] == CSP, reply.url
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
    assert "default-src 'none'" in CSP
    assert "script-src 'self';" in CSP  # the viewer's file only: no inline script
    assert "unsafe" not in CSP


@then("the alias's markup is shown as text, and no page holds an inline script or a reference "
      "to another origin")
def escaped(web: Web) -> None:
    html_pages = [r for r in web.replies
                  if r.headers.get("content-type", "").startswith("text/html")]
    assert len(html_pages) == 6
    shown = [r for r in html_pages if "Case &lt;b id=injected&gt;A&lt;/b&gt;" in r.body]
    assert len(shown) >= 2  # the worklist and the reading page
    for page in html_pages:
        assert "<b id=injected>" not in page.body
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.body, re.I | re.S)
        assert all(attrs == ' src="/static/viewer.js"' and not text for attrs, text in scripts)
        assert page.body.lower().count("<script") == len(scripts)
        for url in re.findall(r'(?:src|href|action)="([^"]*)"', page.body):
            assert url.startswith("/"), url
            assert not url.startswith("//")


def _answer_all(web: Web, reader: str, keys: list[str], barrier: threading.Barrier,
                failures: list[str]) -> None:
    try:
        client = _reader(web, reader)
        barrier.wait(10)
        for n, key in enumerate(keys):
            values = _answers(n, f"{reader} {n}")
            reply = _answer(web, client, key, values)
            if reply.status != 200:
                failures.append(f"{reader} {key}: {reply.status}")
            web.posted[key] = values
    except Exception as exc:
        failures.append(f"{reader}: {exc!r}")


@when("reader-1 and reader-2 answer all of session 1 from two threads at once")
def concurrent(web: Web) -> None:
    barrier, failures = threading.Barrier(2), []
    threads = [threading.Thread(target=_answer_all,
                                args=(web, r, _keys(web, r, 1), barrier, failures))
               for r in ("reader-1", "reader-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []


@then("every answer of both readers is stored with the values they posted")
def all_stored(web: Web) -> None:
    stored = _locked_answers(web)
    assert len(web.posted) == 12
    found = {(a.reader, a.question): a for a in stored}
    assert len({a.reader for a in stored}) == 2
    keyed: dict[str, dict[str, object]] = {}
    with StudyStore.open(web.study.folder) as store:  # type: ignore[union-attr]
        for event in store._answer_events():
            keyed[event["item"]] = event["answers"]
    assert found
    assert set(keyed) == set(web.posted)
    for key, values in web.posted.items():
        assert keyed[key] == {k: (float(v) if k == "confidence" else v)
                              for k, v in values.items()}


@given("a study of 3 readers served by a corridor study serve process")
def process_study(web: Web) -> None:
    web.study = make_study(web.root, training=0)
    web.port = free_port()
    web.process = web.stack.enter_context(server_process(web.study, web.port))
    web.base = f"http://127.0.0.1:{web.port}"


@when("reader-1 answers session 1 and the process is killed with SIGKILL after the third "
      "acknowledgement")
def kill_during_answers(web: Web) -> None:
    assert web.process is not None
    client = Client(web.base, follow=False)
    assert client.sign_in(web.study.tokens["reader-1"]).status == 303  # type: ignore[union-attr]
    for n, key in enumerate(_keys(web, "reader-1", 1)):
        values = _answers(n)
        try:
            client.get(f"/read/{key}")
            if n == 3:
                web.process.send_signal(signal.SIGKILL)
            reply = client.post(f"/read/{key}", values)
        except OSError:
            break
        if reply.status == 303:
            web.acknowledged.append(key)
            web.posted[key] = values
    assert len(web.acknowledged) == 3


@when("the server is started again")
def restart(web: Web) -> None:
    web.stack.enter_context(server_process(web.study, web.port))  # type: ignore[arg-type]


@then("every acknowledged answer is stored with the values posted, and reader-1 can go on "
      "answering")
def kept(web: Web) -> None:
    client = _reader(web, "reader-1")
    keys = _keys(web, "reader-1", 1)
    rest = [k for k in keys if k not in web.acknowledged]
    assert _answer(web, client, rest[-1], _answers(9)).status == 200
    with StudyStore.open(web.study.folder) as store:  # type: ignore[union-attr]
        events = {e["item"]: e["answers"] for e in store._answer_events()}
    for key in web.acknowledged:
        values = web.posted[key]
        assert events[key] == {k: (float(v) if k == "confidence" else v)
                               for k, v in values.items()}
    assert rest[-1] in events


@when("corridor study serve is run on it without --host, and then with --host 0.0.0.0")
def serve_twice(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: web.runs.append(kw))
    folder = str(web.study.folder)  # type: ignore[union-attr]
    web.runs.append(run_corridor(["study", "serve", folder]))
    web.runs.append(run_corridor(["study", "serve", folder, "--host", "0.0.0.0", "--port",
                                  "8765"]))


@then("the first listens on 127.0.0.1 port 8000 without a warning, the second prints one "
      "warning line")
def listened(web: Web) -> None:
    first_kw, first, second_kw, second = web.runs
    assert first.status == 0
    assert second.status == 0
    assert (first_kw["host"], first_kw["port"]) == ("127.0.0.1", 8000)
    assert (second_kw["host"], second_kw["port"]) == ("0.0.0.0", 8765)
    assert "warning" not in first.stderr
    warnings = [line for line in second.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "0.0.0.0" in warnings[0]


@then("127.0.0.1, ::1 and localhost count as loopback, 0.0.0.0 and 192.168.1.20 do not")
def loopback() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.20", "example.org"))
