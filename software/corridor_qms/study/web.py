"""The reading web application: ``corridor study serve STUDY_DIR [--host H --port P]``.

A small FastAPI application over one study's :class:`~corridor_qms.study.store.StudyStore`,
served by uvicorn.  Readers sign in with their personal token (a form, never a URL), see
their own worklist in the stored order, read each case and answer its questions; the
coordinator sees each reader's progress, never an answer (answers leave the study only by
``corridor study export`` after ``corridor study lock``).

Security, in one place (RC-096, RC-097):

- **Sign-in.** The token is posted in a form body and checked by the store in constant time
  (:meth:`StudyStore.reader_for_token`, :meth:`StudyStore.is_coordinator`); it is never put
  in a URL, a page, a cookie or a log line.  The server answers with a cookie holding a
  fresh random session id (``secrets.token_urlsafe(32)``; ``HttpOnly``,
  ``SameSite=Strict``, ``Path=/``), mapped in memory to the reader; a restart signs everyone
  out (sessions are not stored).  ``SameSite=Strict`` keeps other sites from posting answers
  in the reader's name.
- **Isolation.** Every item is looked up in the signed-in reader's own worklist; an item of
  another reader and an item that does not exist get the same 404, so guessing keys tells
  nothing.  Pages show the case alias and the modality's label (``Reading A``), never the case
  ID, the truth, a blinded modality's ID or description, or another reader's answers.  The
  coordinator page refuses readers (403).
- **Pages.** Jinja2 with autoescape and ``StrictUndefined``; no inline script: the one script,
  the case report's 3-D viewer, is served as ``/static/viewer.js``; every response carries a
  Content-Security-Policy that allows only this server's own style sheet, images, script and
  fetches (``default-src 'none'``), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer``, ``Cache-Control: no-store`` and no framing.
- **Durability** (RC-098, RC-099).  An answer is acknowledged (the redirect to the next item)
  only after :meth:`StudyStore.record_answer` has committed its transaction.  Every request
  that touches the store runs on the event loop's one thread (the handlers are ``async`` and
  call the store directly), so concurrent readers' answers are serialised, each a short
  SQLite transaction.

What a reading page shows (the design's modality, from the case folder that ``corridor
plan`` wrote):

- ``shows_plan: true`` (e.g. "CT with the AI plan"): the case report's slices with the
  segmentation and the planned implant (the ``<img>`` slices of ``report.html``, served as PNG
  files) and the plan's verdict, implant and clearances from ``plan/plan.json``, and the
  report's WebGL 3-D view: the report's own viewer (``corridor/case/templates/viewer.js``,
  the script the report inlines) draws the scene the report embeds, served as
  ``/item/{key}/scene.json`` with only each object's colours, positions and triangles (the
  object names, free text from segmentation and planning, are dropped; RC-102).  The
  report's patient fields are never shown (only the alias).
- ``shows_plan: false`` (e.g. "CT only: the reader plans the trajectory"): the CT slices
  without any plan, rendered by ``corridor study create`` from the case's CT series into the
  study folder's ``cases/<case ID>/ct/`` (:mod:`corridor_qms.study.ct`).  No 3-D view: its
  surfaces are the AI's segmentation, so the item's scene is 404, as for an item that is not
  the reader's.

A case may give a folder per modality (plan A vs plan B): each reading shows its modality's
folder's plan; no page names a folder.  Once a reader has answered an item of a later
session, the earlier sessions' answered items are shown without the answer form, saying that
they are closed to edits (RC-101); the store refuses such an edit in any case.

Reading time per case is measured by the server, from serving the reading page to receiving
its answer (``time.monotonic``, so the injected study clock does not touch it); nothing is
posted by the browser.  An answer to a page served before a restart is refused with the page
served again, so that no reading time is made up.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import html.parser
import json
import logging
import secrets
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from corridor_qms.study.ct import CT_EDGES
from corridor_qms.study.definition import Question, QuestionKind, StudyDefinition
from corridor_qms.study.store import (
    AnswerRefusedError,
    Clock,
    Refusal,
    SessionState,
    SessionStatus,
    StudyError,
    StudyStore,
    WorkItem,
)

__all__ = ["COOKIE", "CSP", "SCENE_KEYS", "VIEWER_SCRIPT", "create_app", "is_loopback", "serve"]

_log = logging.getLogger(__name__)

COOKIE = "corridor_study_session"
"""Name of the session cookie (a random server-side session id, never the token)."""

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
"""Content-Security-Policy of every response: this server's own style sheet, images, script
(the 3-D viewer, a file: no inline script runs) and fetches (the scene) only, no external
resource, forms posted only here, never framed."""

VIEWER_SCRIPT = ("corridor.case", "templates/viewer.js")
"""The case report's 3-D viewer (package, resource), served as ``/static/viewer.js``: the
same file the report inlines (``corridor.case.report.VIEWER_SCRIPT``), read as package data so
that the server imports none of the report's libraries."""

SCENE_KEYS = ("colour", "positions", "indices", "colours")
"""What a scene object keeps when served (RGBA, LPS mm flat, triangles flat, RGB per vertex):
what the viewer draws, and nothing that names anything."""

_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
"""Headers added to every response."""

MAX_FORM_BYTES = 64_000
"""Largest answer form accepted (bytes); the longest free text is 10,000 characters."""


@dataclass(frozen=True)
class _Session:
    """Who a session cookie belongs to: a reader's ID, or the coordinator (``reader=None``)."""

    reader: str | None
    served: dict[str, float] = field(default_factory=dict, compare=False)
    """Item key -> ``time.monotonic()`` when its reading page was last served."""


class _ReportSlices(html.parser.HTMLParser):
    """The slice images of a case report: each ``<img>`` whose alt text ends in "slice" and
    whose source is an inline PNG (``data:image/png;base64,...``)."""

    def __init__(self) -> None:
        super().__init__()
        self.slices: list[tuple[str, bytes]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        found = dict(attrs)
        alt, src = found.get("alt") or "", found.get("src") or ""
        prefix = "data:image/png;base64,"
        if alt.endswith("slice") and src.startswith(prefix):
            try:
                self.slices.append((alt, base64.b64decode(src[len(prefix):], validate=True)))
            except binascii.Error:
                return


class _ReportScene(html.parser.HTMLParser):
    """The text of a case report's ``<script type="application/json" id="scene">``."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.text: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.inside = (tag == "script" and found.get("id") == "scene"
                       and found.get("type") == "application/json" and self.text is None)
        if self.inside:
            self.text = ""

    def handle_endtag(self, tag: str) -> None:
        self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside and self.text is not None:
            self.text += data


def _scene_object(shown: object) -> dict[str, Any] | None:
    """One scene object as served: only :data:`SCENE_KEYS`, each a list of numbers (None if
    the object lacks its colour, positions or triangles)."""
    if not isinstance(shown, dict):
        return None
    kept = {key: shown[key] for key in SCENE_KEYS if key in shown}
    numbers = all(isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        for value in kept.values())
    return kept if numbers and {"colour", "positions", "indices"} <= kept.keys() else None


@lru_cache(maxsize=64)
def _report_scene(report: Path) -> bytes | None:
    """The 3-D view's scene embedded in ``report`` as served (JSON: a list of objects with only
    :data:`SCENE_KEYS`), or None when the report holds none or an object is malformed."""
    if not report.is_file():
        return None
    parser = _ReportScene()
    parser.feed(report.read_text(encoding="utf-8"))
    if parser.text is None:
        return None
    try:
        scene = json.loads(parser.text)
    except ValueError:
        _log.warning("report.html: its scene is not JSON")
        return None
    objects = [_scene_object(o) for o in scene] if isinstance(scene, list) else [None]
    if not objects or any(o is None for o in objects):
        _log.warning("report.html: its scene is not a list of objects with colour, positions "
                     "and indices")
        return None
    return json.dumps(objects, separators=(",", ":")).encode("utf-8")


@lru_cache(maxsize=1)
def _viewer_script() -> str:
    """The 3-D viewer's JavaScript (:data:`VIEWER_SCRIPT`)."""
    package, name = VIEWER_SCRIPT
    return files(package).joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=64)
def _report_slices(report: Path) -> tuple[tuple[str, bytes], ...]:
    """The slice images of ``report`` (alt text, PNG bytes), in the report's order."""
    if not report.is_file():
        return ()
    parser = _ReportSlices()
    parser.feed(report.read_text(encoding="utf-8"))
    return tuple(parser.slices)


def _plan_summary(plan_json: Path) -> dict[str, Any] | None:
    """The plan's verdict, implant and clearances from ``plan/plan.json`` (None if absent)."""
    if not plan_json.is_file():
        return None
    document = json.loads(plan_json.read_text(encoding="utf-8"))
    trajectory = document.get("trajectory") or {}
    return {
        "procedure": str(document.get("procedure", "")),
        "side": str(document.get("side", "")),
        "verdict": str(document.get("verdict", "")),
        "length_mm": trajectory.get("length_mm"),
        "diameter_mm": trajectory.get("diameter_mm"),
        "clearances": [
            {"structure": str(c.get("structure", "")),
             "clearance_mm": c.get("clearance_mm"), "required_mm": c.get("required_mm"),
             "met": bool(c.get("met"))}
            for c in document.get("clearances", [])],
    }


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``localhost`` or a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _form_value(question: Question, raw: str) -> object:
    """A posted form field as the store expects it: likert and binary as int, scale as a
    number, text as it is; a value that is not a number is passed on as text so that the
    store's check names it."""
    if question.kind is QuestionKind.TEXT:
        return raw
    try:
        return int(raw) if question.kind is not QuestionKind.SCALE else float(raw)
    except ValueError:
        return raw


class _Study:
    """The store and definition behind the application, with the signed-in sessions."""

    def __init__(self, folder: Path, clock: Clock | None) -> None:
        self.folder = folder
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.store = StudyStore.open(folder, self.clock)
        self.definition: StudyDefinition = self.store.definition
        self.sessions: dict[str, _Session] = {}

    def state(self, reader: str, item: WorkItem) -> SessionState:
        """The reader's state in ``item``'s session."""
        return self.store.session_state(reader, item.session)

    def images(self, reader: str, item: WorkItem) -> list[tuple[str, bytes]]:
        """The images the item's reading page shows (name, PNG bytes): the report's slices
        when its modality shows the plan, else the CT-only images rendered at creation."""
        if item.shows_plan:
            folder = self.store.case_folder(reader, item.key)
            return list(_report_slices(folder / "report.html"))
        return self.store.ct_images(reader, item.key)

    def scene(self, reader: str, item: WorkItem) -> bytes | None:
        """The item's 3-D scene as served (:func:`_report_scene`) when its modality shows the
        plan; None for a CT-only modality (its surfaces would be the AI's segmentation)."""
        if not item.shows_plan:
            return None
        return _report_scene(self.store.case_folder(reader, item.key) / "report.html")


def _when(value: datetime | None) -> str:
    """A time as readers see it (UTC, to the minute)."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("corridor_qms", "templates/study"),
                              autoescape=True, undefined=StrictUndefined)
    environment.filters["when"] = _when
    return environment


_CSS = """
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 1em;color:#222}
header{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ccc}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}
.slices{display:flex;flex-wrap:wrap;gap:.5em}.slices figure{margin:0}
.slices img{width:320px;height:auto;background:#000;display:block}
.frame{position:relative}
.edge{position:absolute;color:#ff0;font-weight:700;text-shadow:0 0 3px #000}
.edge.left{left:4px;top:47%}.edge.right{right:4px;top:47%}
.edge.top{top:2px;left:48%}.edge.bottom{bottom:2px;left:48%}
fieldset{margin:.6em 0;border:1px solid #bbb}.error{color:#a00;font-weight:600}
#view{width:100%;max-width:896px;height:auto;background:#10151f;cursor:grab}
.waiting{background:#fff6d6;padding:.5em}.done{color:#080}button{font-size:1em;padding:.3em 1em}
"""


def create_app(study_dir: Path, clock: Clock | None = None) -> FastAPI:
    """The reading application of the study in ``study_dir``.

    Parameters
    ----------
    study_dir
        A folder written by ``corridor study create``.
    clock
        Returns the current time as an aware UTC datetime (default: the system clock);
        tests inject one to move past a washout.

    Returns
    -------
    FastAPI
        The application (no documentation routes); run it with uvicorn.
    """
    study = _Study(Path(study_dir), clock)
    templates = _environment()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.study = study

    @app.middleware("http")
    async def _security_headers(request: Request,
                                call_next: Callable[[Request], Awaitable[Response]]
                                ) -> Response:
        response = await call_next(request)
        for name, value in _HEADERS.items():
            response.headers[name] = value
        return response

    def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("signed_in", values.get("reader") is not None)
        text = templates.get_template(name).render(title=study.definition.title, **values)
        return HTMLResponse(text, status_code=status)

    def session_of(request: Request) -> _Session | None:
        sid = request.cookies.get(COOKIE)
        return None if sid is None else study.sessions.get(sid)

    async def form_of(request: Request) -> dict[str, str] | None:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return None
        pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return dict(pairs)

    def signed_out() -> Response:
        return RedirectResponse("/", status_code=303)

    def not_found() -> HTMLResponse:
        return page("message.html.j2", 404, heading="Not in your worklist",
                    message="There is no such item in your worklist.", reader=None)

    def own_item(reader: str, key: str) -> WorkItem | None:
        return next((i for i in study.store.worklist(reader) if i.key == key), None)

    def next_item(reader: str) -> WorkItem | None:
        for item in study.store.worklist(reader):
            if not item.answered and study.state(reader, item).status is not SessionStatus.WAITING:
                return item
        return None

    @app.get("/static/study.css")
    async def _css() -> Response:
        return Response(_CSS, media_type="text/css")

    @app.get("/static/viewer.js")
    async def _viewer() -> Response:
        return Response(_viewer_script(), media_type="text/javascript")

    @app.get("/", response_class=HTMLResponse)
    async def _home(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return page("signin.html.j2", error=None, reader=None)
        return RedirectResponse("/worklist" if session.reader else "/coordinator",
                                status_code=303)

    @app.post("/signin")
    async def _signin(request: Request) -> Response:
        form = await form_of(request) or {}
        token = form.get("token", "").strip()
        reader = study.store.reader_for_token(token) if token else None
        coordinator = reader is None and bool(token) and study.store.is_coordinator(token)
        if reader is None and not coordinator:
            _log.info("sign-in refused: token not recognised")
            return page("signin.html.j2", 401, error="This token is not recognised.",
                        reader=None)
        sid = secrets.token_urlsafe(32)
        study.sessions[sid] = _Session(reader)
        response = RedirectResponse("/worklist" if reader else "/coordinator", status_code=303)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/")
        return response

    @app.post("/signout")
    async def _signout(request: Request) -> Response:
        sid = request.cookies.get(COOKIE)
        if sid is not None:
            study.sessions.pop(sid, None)
        response = signed_out()
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/worklist")
    async def _worklist(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return signed_out()
        if session.reader is None:
            return RedirectResponse("/coordinator", status_code=303)
        items = study.store.worklist(session.reader)
        sessions = []
        for number in sorted({i.session for i in items}):
            own = [i for i in items if i.session == number]
            sessions.append({
                "number": number, "entries": own,
                "state": study.store.session_state(session.reader, number),
                "done": sum(i.answered for i in own),
                "left": sum(not i.answered for i in own)})
        upcoming = next_item(session.reader)
        return page("worklist.html.j2", reader=session.reader, sessions=sessions,
                    next=upcoming, done=sum(i.answered for i in items),
                    left=sum(not i.answered for i in items))

    def reading_page(session: _Session, item: WorkItem, status: int = 200,
                     error: str | None = None) -> Response:
        assert session.reader is not None
        state = study.state(session.reader, item)
        if state.status is SessionStatus.WAITING:
            return page("waiting.html.j2", status, reader=session.reader, item=item,
                        state=state)
        slices = [{"alt": name, "edges": None if item.shows_plan else CT_EDGES.get(name)}
                  for name, _ in study.images(session.reader, item)]
        plan = (_plan_summary(study.store.case_folder(session.reader, item.key) / "plan"
                              / "plan.json") if item.shows_plan else None)
        total = len(study.store.worklist(session.reader))
        closed = study.store.closed_by(session.reader, item.key) if item.answered else None
        session.served[item.key] = time.monotonic()
        scene = study.scene(session.reader, item) is not None
        return page("read.html.j2", status, reader=session.reader, item=item,
                    slices=slices, plan=plan, shows_plan=item.shows_plan, scene=scene,
                    questions=study.definition.questions, error=error, total=total,
                    closed=closed)

    @app.get("/read/{key}")
    async def _read(key: str, request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return signed_out()
        if session.reader is None:
            return not_found()
        item = own_item(session.reader, key)
        if item is None:
            return not_found()
        return reading_page(session, item)

    def open_item(request: Request, key: str) -> tuple[str, WorkItem] | None:
        """The signed-in reader and their item ``key`` when its session is open; None for
        anyone else, another reader's or an unknown key, or a session still waiting."""
        session = session_of(request)
        if session is None or session.reader is None:
            return None
        item = own_item(session.reader, key)
        if item is None or study.state(session.reader, item).status is SessionStatus.WAITING:
            return None
        return session.reader, item

    @app.get("/read/{key}/image/{number}")
    async def _image(key: str, number: int, request: Request) -> Response:
        opened = open_item(request, key)
        if opened is None:
            return not_found()
        images = study.images(*opened)
        if not 0 <= number < len(images):
            return not_found()
        return Response(images[number][1], media_type="image/png")

    @app.get("/item/{key}/scene.json")
    async def _scene(key: str, request: Request) -> Response:
        opened = open_item(request, key)
        if opened is None:
            return not_found()
        scene = study.scene(*opened)
        if scene is None:
            return not_found()
        return Response(scene, media_type="application/json")

    @app.post("/read/{key}")
    async def _answer(key: str, request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return signed_out()
        if session.reader is None:
            return not_found()
        item = own_item(session.reader, key)
        if item is None:
            return not_found()
        if study.state(session.reader, item).status is SessionStatus.WAITING:
            return reading_page(session, item, 409)
        form = await form_of(request)
        if form is None:
            return reading_page(session, item, 413, "The answer is too long.")
        served = session.served.get(item.key)
        if served is None:
            return reading_page(session, item, 409, "This page was opened before the server "
                                "restarted, so its reading time is unknown; please answer "
                                "again.")
        answers: dict[str, object] = {}
        for question in study.definition.questions:
            raw = form.get(question.id)
            if raw is None or (raw == "" and question.kind is not QuestionKind.TEXT):
                if question.required:
                    return reading_page(session, item, 400,
                                        f"Please answer: {question.text}")
                continue
            if raw == "" and not question.required:
                continue
            answers[question.id] = _form_value(question, raw)
        reading_ms = round(1000 * (time.monotonic() - served))
        try:
            study.store.record_answer(session.reader, item.key, answers, reading_ms)
        except AnswerRefusedError as exc:
            status = 400 if exc.reason is Refusal.INVALID else 409
            return reading_page(session, item, status, str(exc))
        session.served.pop(item.key, None)
        upcoming = next_item(session.reader)
        return RedirectResponse(f"/read/{upcoming.key}" if upcoming else "/worklist",
                                status_code=303)

    @app.get("/coordinator")
    async def _coordinator(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return signed_out()
        if session.reader is not None:
            return page("message.html.j2", 403, heading="Coordinator only",
                        message="This page is for the study coordinator.",
                        reader=session.reader)
        return page("coordinator.html.j2", reader=None, signed_in=True,
                    progress=study.store.progress(), locked=study.store.locked,
                    now=study.clock())

    return app


def serve(args: argparse.Namespace) -> int:
    """``corridor study serve STUDY_DIR [--host H] [--port P]`` (``args.study``,
    ``args.host``, ``args.port``): run the reading application until interrupted.

    Returns
    -------
    int
        0 after a clean shutdown; 2 when the folder is not a study (one line saying why).
    """
    import uvicorn

    study_dir: Path = args.study
    host: str = args.host
    try:
        app = create_app(study_dir)
    except (StudyError, ValueError) as exc:
        print(f"corridor study serve: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(host):
        print(f"warning: listening on {host}, reachable from other machines; readers' tokens "
              "travel unencrypted over plain HTTP unless a TLS proxy is in front",
              file=sys.stderr)
    print(f"serving {study_dir} at http://{host}:{args.port}/ (Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=host, port=args.port, log_level="warning", access_log=False)
    return 0

