"""Steps of ``study/web_reading.feature``: a whole study read in Chromium (Playwright driving
Debian's Chromium through ``executable_path``; no browser is downloaded), then locked, exported
and analysed with ``corridor study``.

Oracles: the study document the scenario wrote (aliases, labels, truths), the schedule as
stored (``schedule.json`` read through :class:`~corridor_qms.study.schedule.Schedule`), the
answers the scripted readers gave (:class:`~verification.study.helpers.RatingModel`), and
``corridor validate study``'s own analysis of the exported CSV.  Screenshots of a reading
page and of the coordinator page are saved to ``/tmp/study-shots/`` for a person to look at.
"""

from __future__ import annotations

import contextlib
import csv
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytest_bdd import given, scenarios, then, when

from corridor_qms.study.store import StudyStore
from corridor_qms.study.web import CSP
from verification.command_run import run_corridor
from verification.study.helpers import PLANES, START, RatingModel
from verification.study.web_helpers import (
    CT_VIEWS,
    PATIENT_MARK,
    SLICES,
    WebStudy,
    make_study,
    served,
)

playwright = pytest.importorskip("playwright.sync_api")

scenarios("study/web_reading.feature")

SHOTS = Path("/tmp/study-shots")
"""Where the screenshots go (outside the repository)."""

READERS = ("reader-1", "reader-2", "reader-3")


def _chromium() -> str:
    """Debian's Chromium (installed by verification/system_packages.py)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no Chromium on PATH: run verification/system_packages.py")


@dataclass
class Met:
    """One reading page a reader met: what it showed and what was answered."""

    reader: str
    session: int
    alias: str
    label: str
    images: list[str]
    edges: list[list[str]]
    verdict: bool
    answers: dict[str, object]


@dataclass
class Reading:
    """The scenario's context."""

    root: Path
    stack: contextlib.ExitStack
    study: WebStudy | None = None
    base: str = ""
    browser: Any = None
    met: list[Met] = field(default_factory=list)
    documents: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    waiting: list[tuple[str, str, int]] = field(default_factory=list)
    outs: dict[str, Path] = field(default_factory=dict)
    model: RatingModel = field(default_factory=lambda: RatingModel(seed=2026))


@pytest.fixture
def reading(tmp_path: Path) -> Iterator[Reading]:
    """A fresh context; browser and server closed afterwards."""
    with contextlib.ExitStack() as stack:
        yield Reading(tmp_path, stack)


def _page(reading: Reading, reader: str) -> Any:
    """A new browser context (its own cookies) signed in as ``reader``."""
    context = reading.browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.on("request", lambda r: reading.requests.append(r.url))
    page.on("response", lambda r: reading.documents.append((r.url, r.headers))
            if r.request.resource_type == "document" else None)
    page.goto(reading.base + "/")
    page.fill("#token", reading.study.tokens[reader])  # type: ignore[union-attr]
    page.click("button[type=submit]")
    page.wait_for_url("**/worklist")
    return page


def _read_session(reading: Reading, reader: str, session: int, shot: bool = False) -> None:
    """The reader follows "next" and answers every item until back at the worklist."""
    study = reading.study
    assert study is not None
    labels = {m["label"]: m["id"] for m in study.document["modalities"]}
    page = _page(reading, reader)
    page.click("#next")
    while "/read/" in page.url:
        alias, label = page.inner_text("#case").split(" — ")
        draw = len([m for m in reading.met if m.reader == reader])
        answers = reading.model.answers(reader, study.truth[alias], labels[label], draw)
        met = Met(reader, session, alias, label,
                  page.eval_on_selector_all(".slices img", "els => els.map(e => e.alt)"),
                  page.eval_on_selector_all(
                      ".slices figure",
                      "els => els.map(f => ['left', 'right', 'top', 'bottom'].map("
                      "s => f.querySelector('.edge.' + s)).filter(e => e).map(e => e.innerText))"),
                  page.locator("text=verdict").count() > 0, answers)
        reading.met.append(met)
        reading.bodies.append(page.content())
        if shot and met.verdict:
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / "reading-page.png"), full_page=True)
            shot = False
        page.check(f"input[name=acceptable][value='{answers['acceptable']}']")
        page.fill("input[name=confidence]", str(answers["confidence"]))
        page.check(f"input[name=modify][value='{answers['modify']}']")
        page.fill("textarea[name=comment]", str(answers["comment"]))
        with page.expect_navigation():
            page.click("#submit")
    assert page.url.endswith("/worklist"), page.url
    page.context.close()


def _stored_order(reading: Reading, reader: str, session: int) -> list[tuple[str, str]]:
    """(alias, label) of the reader's session in the stored schedule's order."""
    study = reading.study
    assert study is not None
    labels = {m["id"]: m["label"] for m in study.document["modalities"]}
    with StudyStore.open(study.folder) as store:
        items = [i for i in store.schedule.items if i.reader == reader and i.session == session]
    return [(i.alias, labels[i.modality]) for i in sorted(items, key=lambda i: i.position)]


@given("a study of 3 readers, 6 cases, 2 blinded modalities and 2 sessions served with a fake "
       "clock")
def study_served(reading: Reading) -> None:
    reading.study = make_study(reading.root, training=0, readers=3, cases=6)
    assert reading.study.document["modalities"][0]["shows_plan"] is True
    reading.base = reading.stack.enter_context(served(reading.study))
    driver = reading.stack.enter_context(playwright.sync_playwright())
    reading.browser = driver.chromium.launch(executable_path=_chromium(), headless=True, args=[
        "--use-angle=swiftshader", "--enable-unsafe-swiftshader"])  # WebGL for the 3-D view
    reading.stack.callback(reading.browser.close)


@when("each reader signs in in Chromium and answers session 1 from the seeded rating model, "
      "following the next case")
def session_1(reading: Reading) -> None:
    for n, reader in enumerate(READERS):
        _read_session(reading, reader, 1, shot=n == 0)


@then("each reader met session 1's cases and labels in the stored schedule's order")
def order_1(reading: Reading) -> None:
    for reader in READERS:
        met = [(m.alias, m.label) for m in reading.met if m.reader == reader and m.session == 1]
        assert met == _stored_order(reading, reader, 1)
        assert len(met) == 6


def _letter(direction: np.ndarray) -> str:
    """The patient direction an LPS unit vector points to (L, R, P, A, S or I)."""
    axis = int(np.argmax(np.abs(direction)))
    return ("LR", "PA", "SI")[axis][0 if direction[axis] > 0 else 1]


EDGES = [[_letter(-right), _letter(right), _letter(-down), _letter(down)]
         for right, down in PLANES.values()]
"""Each CT-only image's edge labels (left, right, top, bottom), from the planes the CT-only
images are verified to be (study/ct_reading.feature): the direction each plane runs to there."""


@then("the plan modality's pages showed the report's slices and the plan's verdict, the other "
      "modality's pages the ct images, each edge labelled with the patient direction its plane "
      "runs to there, and no verdict, and none the patient line")
def content(reading: Reading) -> None:
    document = reading.study.document  # type: ignore[union-attr]
    plan_label = next(m["label"] for m in document["modalities"] if m["shows_plan"])
    for met in reading.met:
        if met.label == plan_label:
            assert met.images == list(SLICES)
            assert met.edges == [[], [], []]  # the report's slices carry their own labels
            assert met.verdict
        else:
            assert met.images == list(CT_VIEWS)
            assert met.edges == EDGES, met.edges
            assert not met.verdict
    assert {m.label for m in reading.met} == {m["label"] for m in document["modalities"]}
    assert not any(PATIENT_MARK in body for body in reading.bodies)


@when("each reader opens session 2 before its washout has ended")
def too_early(reading: Reading) -> None:
    reading.study.clock.advance(days=27, hours=23)  # type: ignore[union-attr]
    for reader in READERS:
        page = _page(reading, reader)
        worklist = page.inner_text("main")
        key = page.get_attribute("section[data-session='2'] li", "data-key")
        page.goto(f"{reading.base}/read/{key}")
        refused = page.context.request.post(f"{reading.base}/read/{key}",
                                            form={"acceptable": "3", "confidence": "50",
                                                  "modify": "0", "comment": ""})
        reading.waiting.append((worklist, page.inner_text("main"), refused.status))
        page.context.close()


@then("the worklist and the reading page say when session 2 opens, and an answer posted to "
      "it is refused")
def says_when(reading: Reading) -> None:
    # Session 1 was read while the fake clock stood at START: it opens 28 days later.
    expected = (START + timedelta(days=28)).strftime("%Y-%m-%d %H:%M UTC")
    for worklist, page, status in reading.waiting:
        assert f"Session 2 opens on {expected}" in worklist
        assert f"Session 2 opens on {expected}" in page
        assert status == 409
    with StudyStore.open(reading.study.folder) as store:  # type: ignore[union-attr]
        assert len(store._answer_events()) == 18


@when("the clock passes the washout and each reader answers session 2 in Chromium")
def session_2(reading: Reading) -> None:
    reading.study.clock.advance(hours=1)  # type: ignore[union-attr]
    for reader in READERS:
        _read_session(reading, reader, 2)


@then("each reader met session 2's cases and labels in the stored schedule's order")
def order_2(reading: Reading) -> None:
    for reader in READERS:
        met = [(m.alias, m.label) for m in reading.met if m.reader == reader and m.session == 2]
        assert met == _stored_order(reading, reader, 2)
        assert len(met) == 6


@then("the coordinator page shows every reader with 6 done and 0 left in both sessions and no "
      "answer")
def coordinator(reading: Reading) -> None:
    context = reading.browser.new_context(viewport={"width": 1200, "height": 700})
    page = context.new_page()
    page.on("response", lambda r: reading.documents.append((r.url, r.headers))
            if r.request.resource_type == "document" else None)
    page.goto(reading.base + "/")
    page.fill("#token", reading.study.tokens["coordinator"])  # type: ignore[union-attr]
    page.click("button[type=submit]")
    page.wait_for_url("**/coordinator")
    rows = page.eval_on_selector_all(
        "#progress tr", "rows => rows.slice(1).map(r => [...r.cells].map(c => c.innerText))")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "coordinator-page.png"), full_page=True)
    context.close()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (reader, str(s), "6", "0") for reader in READERS for s in (1, 2)]
    assert all(r[4] and r[5] for r in rows)


@then("every page carried the Content-Security-Policy and the browser requested nothing from "
      "another origin")
def csp(reading: Reading) -> None:
    assert len(reading.documents) > 40
    for url, headers in reading.documents:
        assert headers.get("content-security-policy") == CSP, url
    assert all(url.startswith(reading.base + "/") for url in reading.requests)


@when("the study is locked, exported and analysed with corridor study")
def lock_export_analyse(reading: Reading) -> None:
    folder = str(reading.study.folder)  # type: ignore[union-attr]
    for name in ("export", "analysed", "validated"):
        reading.outs[name] = reading.root / name
    for argv in (["study", "lock", folder],
                 ["study", "export", folder, "--out", str(reading.outs["export"])],
                 ["study", "analyse", folder, "--out", str(reading.outs["analysed"])],
                 ["validate", "study", str(reading.outs["export"] / "study.yaml"), "--out",
                  str(reading.outs["validated"])]):
        done = run_corridor(argv)
        assert done.status == 0, (argv, done.stdout, done.stderr)


@then("readings.csv holds exactly the ratings the readers gave, and every reading time is "
      "positive")
def readings(reading: Reading) -> None:
    document = reading.study.document  # type: ignore[union-attr]
    case_id = {c["alias"]: c["id"] for c in document["cases"]}
    modality = {m["label"]: m["id"] for m in document["modalities"]}
    given = sorted((m.reader, modality[m.label], case_id[m.alias],
                    str(reading.study.truth[m.alias]), str(m.answers["acceptable"]))  # type: ignore[union-attr]
                   for m in reading.met)
    with (reading.outs["export"] / "readings.csv").open(encoding="utf-8") as lines:
        rows = list(csv.DictReader(lines))
    found = sorted((r["reader"], r["modality"], r["case"], r["truth"],
                    str(int(float(r["rating"])))) for r in rows)
    assert found == given
    assert len(found) == 3 * 6 * 2
    with StudyStore.open(reading.study.folder) as store:  # type: ignore[union-attr]
        times = [a.reading_ms for a in store.answers()]
    assert len(times) == 36 * 4
    assert min(times) > 0


def _results(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


@then("corridor validate study on the exported data gives the results corridor study analyse "
      "gives")
def same_results(reading: Reading) -> None:
    analysed, validated = (_results(reading.outs[n]) for n in ("analysed", "validated"))
    assert analysed["endpoints"] == validated["endpoints"]


@then("the plan modality has the larger AUC, as the rating model was built to give")
def larger_auc(reading: Reading) -> None:
    """Each reader's AUC recomputed here from the ratings given (Mann-Whitney, ties 1/2)."""
    study = reading.study
    assert study is not None
    modality = {m["label"]: m["id"] for m in study.document["modalities"]}
    endpoint = _results(reading.outs["analysed"])["endpoints"][0]
    for reader in READERS:
        for label, modality_id in modality.items():
            ratings = [(study.truth[m.alias], float(m.answers["acceptable"]))  # type: ignore[arg-type]
                       for m in reading.met if m.reader == reader and m.label == label]
            positive = [r for t, r in ratings if t == 1]
            negative = [r for t, r in ratings if t == 0]
            wins = sum(1.0 if p > n else 0.5 if p == n else 0.0
                       for p in positive for n in negative)
            auc = wins / (len(positive) * len(negative))
            assert endpoint["per_reader"][modality_id][reader] == pytest.approx(auc, abs=1e-12)
    estimate = {e["modality"]: e["estimate"] for e in endpoint["estimates"]}
    assert estimate["aided"] > estimate["unaided"]
