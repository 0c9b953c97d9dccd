"""Steps of ``study/web_view.feature``: the case report's 3-D view on the reading page.

Oracles: the scene the scenario planted in each minimal case report
(:func:`~verification.study.web_helpers.planted_scene`: a tetrahedron and a triangle, with the
patient mark and the case folder's name in their names), the study document (which alias is
which case folder), the store's worklists (which items are whose, in which modality and
session), the viewer file in the source tree, and the pixels of a screenshot of the canvas
taken by Chromium (read with Pillow).  A screenshot of the plan reading page is saved to
``/tmp/study-shots/3d-reading-page.png`` for a person to look at.
"""

from __future__ import annotations

import contextlib
import html.parser
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, scenarios, then, when

from corridor_qms.study.store import StudyStore, WorkItem
from corridor_qms.study.web import CSP
from verification.study.web_helpers import (
    PATIENT_MARK,
    Client,
    Reply,
    WebStudy,
    make_study,
    planted_scene,
    served,
)

scenarios("study/web_view.feature")

ROOT = Path(__file__).parents[2]
VIEWER = ROOT / "software" / "corridor" / "case" / "templates" / "viewer.js"
SHOTS = Path("/tmp/study-shots")
BACKGROUND = (15, 20, 31)
"""The viewer's clear colour (0.06, 0.08, 0.12) in 8 bits, as the canvas shows it."""
DRAWN = ("colour", "positions", "indices", "colours")
"""What the viewer draws of a scene object: all the served scene may hold."""


@dataclass
class View:
    """The scenario's context."""

    root: Path
    stack: contextlib.ExitStack
    study: WebStudy | None = None
    base: str = ""
    items: dict[str, list[WorkItem]] = field(default_factory=dict)
    scenes: dict[str, Reply] = field(default_factory=dict)
    made_up: Reply | None = None
    static: list[Reply] = field(default_factory=list)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture
def view(tmp_path: Path) -> Iterator[View]:
    """A fresh context; browser and server closed afterwards."""
    with contextlib.ExitStack() as stack:
        yield View(tmp_path, stack)


def _folder_of(view: View, alias: str) -> str:
    """The case folder's name (the case ID) of ``alias``, from the study document."""
    assert view.study is not None
    return Path(next(c["folder"] for c in view.study.document["cases"]
                     if c["alias"] == alias)).name


@given("a study of 3 readers whose case reports embed a planted scene, reader-1 past session "
       "2's washout, served over HTTP")
def served_study(view: View) -> None:
    """Reader-1 answers session 1 through the store, then the clock passes the washout: both
    of reader-1's sessions are open, so no 404 below is the washout's."""
    view.study = make_study(view.root, training=0)
    with StudyStore.open(view.study.folder, view.study.clock) as store:
        for item in store.worklist("reader-1"):
            if item.session == 1:
                store.record_answer("reader-1", item.key, {
                    "acceptable": 3, "confidence": 50.0, "modify": 0, "comment": "read"}, 1000)
    view.study.clock.advance(days=29)
    view.base = view.stack.enter_context(served(view.study))
    with StudyStore.open(view.study.folder, view.study.clock) as store:
        view.items = {r: store.worklist(r) for r in ("reader-1", "reader-2")}
        assert {store.session_state("reader-1", n).status.value for n in (1, 2)} == {"done", "open"}


@when("reader-1 requests the scene of each of their items, of each of reader-2's items and of a "
      "made-up key")
def request_scenes(view: View) -> None:
    assert view.study is not None
    client = Client(view.base)
    assert client.sign_in(view.study.tokens["reader-1"]).status == 200
    for reader in ("reader-1", "reader-2"):
        for item in view.items[reader]:
            view.scenes[item.key] = client.get(f"/item/{item.key}/scene.json")
    view.made_up = client.get("/item/0123456789abcdef/scene.json")
    view.static = [client.get("/static/viewer.js"),
                   view.scenes[next(i.key for i in view.items["reader-1"]
                                    if i.shows_plan)]]


@then("each of reader-1's plan items' scene is the planted scene's colours, positions and "
      "triangles, with no name, patient mark or case ID")
def stripped_scene(view: View) -> None:
    shown = [i for i in view.items["reader-1"] if i.shows_plan]
    assert len(shown) == 6
    for item in shown:
        reply = view.scenes[item.key]
        assert reply.status == 200, reply.body[:200]
        assert reply.headers["content-type"].startswith("application/json")
        case = _folder_of(view, item.alias)
        expected = [{k: o[k] for k in DRAWN if k in o} for o in planted_scene(case)]
        assert json.loads(reply.body) == expected
        for secret in (PATIENT_MARK, case, "name", "uncertainty_max"):
            assert secret not in reply.body


@then("every CT-only item's scene, every one of reader-2's and the made-up key's get the same 404")
def scenes_refused(view: View) -> None:
    assert view.made_up is not None
    assert view.made_up.status == 404
    refused = [i for i in view.items["reader-1"] if not i.shows_plan] + view.items["reader-2"]
    assert len(refused) == 6 + 12
    assert {i.shows_plan for i in refused} == {True, False}
    for item in refused:
        reply = view.scenes[item.key]
        assert (reply.status, reply.body) == (404, view.made_up.body), item
        assert "positions" not in reply.body


@then("the scene and the viewer script carry the Content-Security-Policy, and the viewer script "
      "is the case report's viewer.js")
def static_headers(view: View) -> None:
    script, scene = view.static
    assert script.status == 200
    assert script.body == VIEWER.read_text(encoding="utf-8")
    assert script.headers["content-type"].startswith("text/javascript")
    for reply in (script, scene):
        assert reply.headers["content-security-policy"] == CSP
        assert reply.headers["x-content-type-options"] == "nosniff"
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["default-src"] == "'none'"


_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (e) => {
  (window.cspViolations = window.cspViolations || [])
    .push(e.violatedDirective + " " + e.blockedURI);
});"""
"""Collects every Content-Security-Policy violation the page reports (an init script, which
the policy does not govern)."""


class _Scripts(html.parser.HTMLParser):
    """Each ``<script>`` of a page: its ``src`` (None when inline) and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[list[Any]] = []
        self.inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inside = tag == "script"
        if self.inside:
            self.scripts.append([dict(attrs).get("src"), ""])

    def handle_endtag(self, tag: str) -> None:
        self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.scripts[-1][1] += data


@when("reader-1 opens their first plan item's and their first CT-only item's reading pages in "
      "Chromium")
def open_in_chromium(view: View) -> None:
    from verification.study.test_web_reading import _chromium

    playwright = pytest.importorskip("playwright.sync_api")
    assert view.study is not None
    driver = view.stack.enter_context(playwright.sync_playwright())
    browser = driver.chromium.launch(executable_path=_chromium(), headless=True, args=[
        "--use-angle=swiftshader", "--enable-unsafe-swiftshader"])
    view.stack.callback(browser.close)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(view.base + "/")
    page.fill("#token", view.study.tokens["reader-1"])
    page.click("button[type=submit]")
    page.wait_for_url("**/worklist")
    first = {shows: next(i for i in view.items["reader-1"] if i.shows_plan is shows)
             for shows in (True, False)}
    for shows, item in first.items():
        console.clear()
        requests.clear()
        page.goto(f"{view.base}/read/{item.key}")
        if shows:
            page.wait_for_function("document.body.dataset.viewer === 'ready' || "
                                   "document.body.dataset.viewerErrors === 'yes'", timeout=10000)
        found = {"html": page.content(), "console": list(console), "requests": list(requests),
                 "violations": page.evaluate("window.cspViolations || []"),
                 "canvas": page.locator("#view").count(),
                 "state": page.evaluate("[document.body.dataset.viewer || '', "
                                        "document.body.dataset.viewerErrors || '']")}
        if shows:
            found["pixels"] = page.locator("#view").screenshot()
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / "3d-reading-page.png"), full_page=True)
        else:
            # A control: an inline script added now is refused and reported to the listener.
            page.evaluate("() => { const s = document.createElement('script'); "
                          "s.textContent = 'window.ran = 1'; document.body.append(s); }")
            page.wait_for_function("(window.cspViolations || []).length > 0", timeout=5000)
            found["control"] = page.evaluate("[window.cspViolations, window.ran || 0]")
        view.pages["plan" if shows else "ct"] = found


@then("the plan page's 3-D view is drawn: the canvas shows the background and the scene's "
      "colours, with no console error and no Content-Security-Policy violation")
def drawn(view: View) -> None:
    from PIL import Image

    found = view.pages["plan"]
    assert found["state"] == ["ready", ""], found["console"]
    assert found["console"] == []
    assert found["violations"] == []
    assert found["canvas"] == 1
    assert any(u.endswith("/static/viewer.js") for u in found["requests"])
    assert any(u.endswith("/scene.json") for u in found["requests"])
    image = Image.open(io.BytesIO(found["pixels"])).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert len(colours) > 1
    near = sum(n for n, rgb in colours
               if max(abs(a - b) for a, b in zip(rgb, BACKGROUND, strict=True)) <= 3)
    total = image.width * image.height
    assert 0.05 * total < near < 0.95 * total, (near, total)
    # the implant's green, shaded (its colour times 0.35..1): green the largest channel
    assert any(g > r + 40 and g > b + 40 for _, (r, g, b) in colours)


@then("the CT-only page has no 3-D view and loads no script, and no page holds an inline script")
def ct_page(view: View) -> None:
    found = view.pages["ct"]
    assert 'id="answer"' in found["html"]  # a reading page, not the washout's waiting page
    assert found["canvas"] == 0
    assert found["console"] == []
    assert found["violations"] == []
    assert not any("viewer.js" in u or "scene.json" in u for u in found["requests"])
    violations, ran = found["control"]
    assert ran == 0
    assert any(v.startswith("script-src") for v in violations), violations
    for name in ("plan", "ct"):
        parser = _Scripts()
        parser.feed(view.pages[name]["html"])
        assert all(src == "/static/viewer.js" and text.strip() == ""
                   for src, text in parser.scripts), parser.scripts
        assert len(parser.scripts) == (1 if name == "plan" else 0)
