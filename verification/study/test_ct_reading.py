"""Steps of ``study/ct_reading.feature``: what a CT-only reading shows, plan A vs plan B, and
sessions closed to edits.

The oracles are independent of the code under test: the CT-only images are compared with the
planes the test itself cuts from the DICOM files as pydicom decodes them (pixel data times the
rescale slope plus intercept, placed by each file's Image Position and Orientation and Pixel
Spacing), windowed from -200 HU (black) to 1000 HU (white) as the case report's slices are,
within the PNG's quantisation (one grey level); the verdicts and images of each modality's
plan are those the test planted in each folder; the refused edits are checked against the
store's events counted before and after.
"""

from __future__ import annotations

import contextlib
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pytest_bdd import given, scenarios, then, when

from corridor_qms.study.definition import load_definition
from corridor_qms.study.schedule import build_schedule
from corridor_qms.study.store import AnswerRefusedError, Refusal, StudyStore
from verification.study.helpers import (
    PLANES,
    FakeClock,
    Study,
    study_document,
    write_ct,
    write_study,
)
from verification.study.web_helpers import (
    SLICES,
    Client,
    WebStudy,
    png,
    served,
    write_case_folder,
)

scenarios("study/ct_reading.feature")

WINDOW = (-200.0, 1000.0)
"""The case report's window (its slices' documented grey scale)."""
FIELD_MM = 180.0
"""The side of the case report's slices (mm)."""


def _series(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                   tuple[float, float, float]]:
    """The series as pydicom decodes it: HU[k, row, column] in slice order, the first
    slice's position, the row, column and normal directions, and the spacings (column,
    row, slice) in mm."""
    slices = [pydicom.dcmread(p) for p in sorted(folder.rglob("*")) if p.is_file()]
    orientation = np.array(slices[0].ImageOrientationPatient, dtype=float)
    row_dir, col_dir = orientation[:3], orientation[3:]
    normal = np.cross(row_dir, col_dir)
    slices.sort(key=lambda s: float(np.array(s.ImagePositionPatient, dtype=float) @ normal))
    positions = [float(np.array(s.ImagePositionPatient, dtype=float) @ normal) for s in slices]
    steps = np.diff(positions)
    assert np.allclose(steps, steps[0])
    hu = np.stack([s.pixel_array * float(s.RescaleSlope) + float(s.RescaleIntercept)
                   for s in slices])
    row_mm, col_mm = (float(v) for v in slices[0].PixelSpacing)
    origin = np.array(slices[0].ImagePositionPatient, dtype=float)
    return hu, origin, row_dir, col_dir, normal, (col_mm, row_mm, float(steps[0]))


def _expected_planes(folder: Path) -> dict[str, np.ndarray]:
    """The grey levels of each view through the series' centre, cut and windowed here."""
    hu, origin, row_dir, col_dir, normal, (dc, dr, dk) = _series(folder)
    slices, rows, columns = hu.shape
    centre = (origin + (columns - 1) / 2 * dc * row_dir + (rows - 1) / 2 * dr * col_dir
              + (slices - 1) / 2 * dk * normal)
    step = max(0.5, min(dc, dr, dk))
    n = int(FIELD_MM / step)
    offsets = (np.arange(n) - n / 2) * step
    planes = {}
    for name, (right, down) in PLANES.items():
        grey = np.zeros((n, n))
        for r, v in enumerate(offsets):
            for c, u in enumerate(offsets):
                point = centre + u * right + v * down - origin
                index = np.array([point @ normal / dk, point @ col_dir / dr,
                                  point @ row_dir / dc])
                nearest = np.round(index)
                assert np.allclose(index, nearest, atol=1e-6), "the test grid is on voxels"
                k, row, column = (int(i) for i in nearest)
                inside = 0 <= k < slices and 0 <= row < rows and 0 <= column < columns
                value = hu[k, row, column] if inside else -1000.0
                grey[r, c] = np.clip((value - WINDOW[0]) / (WINDOW[1] - WINDOW[0]), 0, 1) * 255
        planes[name] = grey
    return planes


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG's chunks (type, data), read here."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        assert struct.unpack(">I", data[at + 8 + length:at + 12 + length])[0] \
            == zlib.crc32(kind + body)
        chunks.append((kind, body))
        at += 12 + length
    return chunks


@then("each case's CT-only images are the axial, coronal and sagittal planes through the centre "
      "of the CT series, as pydicom decodes it, in the report's window")
def planes_match(study: Study) -> None:
    assert study.status == 0, study.stderr
    expected = _expected_planes(study.definition.parent / "ct-series")
    for case in study.document["cases"]:
        folder = study.folder / "cases" / case["id"] / "ct"
        assert sorted(p.name for p in folder.iterdir()) == ["axial.png", "coronal.png",
                                                             "sagittal.png"]
        for name, grey in expected.items():
            with Image.open(folder / f"{name}.png") as image:
                found = np.asarray(image)
            assert found.shape == grey.shape
            assert np.abs(found.astype(float) - grey).max() <= 1.0, name
            # the CT is visible: bone (white) and air (black) both appear
            assert found.max() == 255
            assert found.min() == 0


@then("the CT-only images are 8-bit grey PNG files with no text chunk")
def grey_png(study: Study) -> None:
    for path in (study.folder / "cases").rglob("*.png"):
        chunks = _chunks(path.read_bytes())
        kinds = [kind for kind, _ in chunks]
        assert kinds[0] == b"IHDR"
        assert kinds[-1] == b"IEND"
        assert set(kinds) <= {b"IHDR", b"IDAT", b"IEND"}, kinds
        bit_depth, colour_type = chunks[0][1][8], chunks[0][1][9]
        assert (bit_depth, colour_type) == (8, 0)  # grey only: no plan colour can be drawn


@given("case-01 names the CT of another phantom")
def other_ct(study: Study) -> None:
    write_ct(study.definition.parent / "other-ct", seed=1)
    text = study.definition.read_text(encoding="utf-8")
    study.definition.write_text(
        text.replace("folder: cases/case-01\n  truth: 0\n  ct: ct-series",
                     "folder: cases/case-01\n  truth: 0\n  ct: other-ct"), encoding="utf-8")
    assert "ct: other-ct" in study.definition.read_text(encoding="utf-8")


@then("the creation is refused with exit status 2, naming the other CT's folder and case-01's "
      "case record, and no study folder is written")
def refused_other(study: Study) -> None:
    assert study.status == 2, (study.status, study.stdout)
    source = study.definition.parent
    assert str(source / "other-ct") in study.stderr
    assert str(source / "cases" / "case-01" / "case.json") in study.stderr
    assert "case-01" in study.stderr
    assert not study.folder.exists()


# plan A vs plan B ---------------------------------------------------------------------------


@dataclass
class Reading:
    """A served study with a folder per modality, and what its pages showed."""

    root: Path
    stack: contextlib.ExitStack
    study: WebStudy | None = None
    base: str = ""
    planted: dict[tuple[str, str], tuple[str, list[bytes]]] = field(default_factory=dict)
    """(case alias, modality label) -> (verdict, report slice PNGs) planted in its folder."""
    pages: list[tuple[str, str, str, list[bytes]]] = field(default_factory=list)
    """(alias, label, page body, images served)."""
    events: int = 0
    refusals: list[Any] = field(default_factory=list)


@pytest.fixture
def reading(tmp_path: Path) -> Iterator[Reading]:
    """A fresh context; its server stopped afterwards."""
    with contextlib.ExitStack() as stack:
        yield Reading(tmp_path, stack)


ANSWERS = {"acceptable": 4, "confidence": 60.0, "modify": 0, "comment": ""}


@given("a served study of 2 readers and 2 cases whose two modalities show plans from a folder "
       "per modality")
def per_modality(reading: Reading) -> None:
    document = study_document(readers=2, cases=2, training=0)
    labels = {}
    for modality in document["modalities"]:
        modality["shows_plan"] = True
        labels[modality["id"]] = modality["label"]
    number = 0
    for case in document["cases"]:
        del case["ct"]
        case["folders"] = {"aided": f"{case['folder']}-model", "unaided": f"{case['folder']}-ts"}
        case["folder"] = case["folders"]["aided"]
    source = reading.root / "source"
    definition = write_study(source, document)
    for case in document["cases"]:
        for modality, verdict in (("aided", "safe"), ("unaided", "unsafe")):
            number += 1
            write_case_folder(source / case["folders"][modality], number, verdict)
            reading.planted[case["alias"], labels[modality]] = (
                verdict, [png(10 * number + i) for i in range(len(SLICES))])
    clock = FakeClock()
    tokens = StudyStore.create(reading.root / "study", definition,
                               build_schedule(load_definition(definition)), clock)
    reading.study = WebStudy(source, reading.root / "study", tokens, clock, document)
    reading.base = reading.stack.enter_context(served(reading.study))


def _client(reading: Reading, reader: str) -> Client:
    assert reading.study is not None
    client = Client(reading.base)
    assert client.sign_in(reading.study.tokens[reader]).status == 200
    return client


def _image(client: Client, path: str) -> bytes:
    """The bytes of an image the reader's client fetches."""
    with client.opener.open(client.base + path, timeout=30) as response:
        assert response.status == 200
        return bytes(response.read())


def _open_page(reading: Reading, client: Client, key: str, alias: str, label: str) -> None:
    page = client.get(f"/read/{key}")
    assert page.status == 200, page.body[:300]
    images = [_image(client, f"/read/{key}/image/{n}") for n in range(len(SLICES))]
    reading.pages.append((alias, label, page.body, images))


def _answer_session_1(reading: Reading, store: StudyStore) -> None:
    for item in store.worklist("reader-1"):
        if item.session == 1:
            store.record_answer("reader-1", item.key, ANSWERS, 1000)
    assert reading.study is not None
    reading.study.clock.advance(days=28)


@when("reader-1 opens each of their items")
def open_items(reading: Reading) -> None:
    assert reading.study is not None
    client = _client(reading, "reader-1")
    with StudyStore.open(reading.study.folder, reading.study.clock) as store:
        for session in (1, 2):
            for item in store.worklist("reader-1"):
                if item.session == session:
                    _open_page(reading, client, item.key, item.alias, item.label)
            if session == 1:
                _answer_session_1(reading, store)


@then("each reading page shows the verdict of its modality's own plan, and no page names a case "
      "folder or a modality ID")
def own_plans(reading: Reading) -> None:
    assert len(reading.pages) == 4
    assert {(alias, label) for alias, label, _, _ in reading.pages} == set(reading.planted)
    for alias, label, body, images in reading.pages:
        verdict, slices = reading.planted[alias, label]
        assert images == slices, (alias, label)
        shown = re.findall(r"verdict <strong>([^<]*)</strong>", body)
        assert shown == [verdict], (alias, label, shown)
        for hidden in ("-model", "-ts", "cases/", "case-0", "aided"):
            assert hidden not in body, (alias, label, hidden)


# sessions closed to edits -----------------------------------------------------------------


@given("reader-1 has answered session 1, waited the washout and answered their first session 2 "
       "item")
def answered_into_session_2(reading: Reading) -> None:
    assert reading.study is not None
    with StudyStore.open(reading.study.folder, reading.study.clock) as store:
        _answer_session_1(reading, store)
        second = next(i for i in store.worklist("reader-1") if i.session == 2)
        store.record_answer("reader-1", second.key, ANSWERS, 1000)
        reading.events = len(store._answer_events())


@when("reader-1 edits their first session 1 answer, in the store and over HTTP")
def edit_session_1(reading: Reading) -> None:
    assert reading.study is not None
    with StudyStore.open(reading.study.folder, reading.study.clock) as store:
        first = store.worklist("reader-1")[0]
        assert first.session == 1
        assert first.answered
        with pytest.raises(AnswerRefusedError) as refused:
            store.record_answer("reader-1", first.key, {**ANSWERS, "acceptable": 1}, 500)
        reading.refusals.append(refused.value)
    client = _client(reading, "reader-1")
    page = client.get(f"/read/{first.key}")
    reading.pages.append((first.alias, first.label, page.body, []))
    reading.refusals.append(client.post(f"/read/{first.key}", {**ANSWERS, "acceptable": 1}))


@then("both edits are refused as session-closed, saying that session 1 is closed to edits, and "
      "nothing is recorded")
def edits_refused(reading: Reading) -> None:
    assert reading.study is not None
    in_store, over_http = reading.refusals
    assert in_store.reason is Refusal.SESSION_CLOSED
    assert "session 1 is closed to edits" in str(in_store)
    assert over_http.status == 409
    assert "session 1 is closed to edits" in over_http.body
    with StudyStore.open(reading.study.folder, reading.study.clock) as store:
        assert len(store._answer_events()) == reading.events


@then("the reading page of that session 1 item shows no answer form and says it is closed to "
      "edits")
def page_closed(reading: Reading) -> None:
    _alias, _label, body, _ = reading.pages[-1]
    assert 'id="answer"' not in body
    assert "<form method=\"post\" action=\"/read/" not in body
    assert "Session 1 is closed to edits: you have answered session 2" in body
