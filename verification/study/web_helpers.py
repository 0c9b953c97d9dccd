"""Helpers of the reading web application's scenarios: minimal case folders, a study made and
served in process (uvicorn in a thread, real HTTP on a free loopback port) or as a
subprocess, and a small HTTP client with its own cookie jar (one per reader).

The case folders are written here, not made by ``corridor plan`` (a minute per case): each
holds exactly what the reading page reads from a plan's case folder, made by this module so
that a scenario knows what the page must show:

- ``report.html``: three ``<img alt="axial slice|coronal slice|sagittal slice"
  src="data:image/png;base64,...">`` elements, as the case report writes its slices, plus a
  patient line the reading page must never show (:data:`PATIENT_MARK`);
- in ``report.html`` too, the 3-D view's scene as the report embeds it (``<script
  type="application/json" id="scene">``, :func:`planted_scene`): a translucent tetrahedron
  with per-vertex colours and an opaque green triangle across it, each named with the patient
  mark and the case folder's name (what the served scene must drop);
- ``plan/plan.json``: the fields of a plan's JSON the page shows (procedure, side, verdict,
  trajectory length and diameter, clearances), with a verdict the scenario picks;
- ``case.json`` (from :func:`~verification.study.helpers.write_study`): the planned series'
  SHA-256, that of the scenarios' phantom CT, whose slices ``corridor study create`` renders
  for the CT-only readings.

Each report image is a small grey PNG whose grey level encodes the case and the view, so that an
image served can be traced to the file it came from.
"""

from __future__ import annotations

import base64
import contextlib
import http.cookiejar
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from corridor_qms.study.definition import load_definition
from corridor_qms.study.schedule import build_schedule
from corridor_qms.study.store import StudyStore
from corridor_qms.study.web import create_app
from verification.study.helpers import FakeClock, study_document, write_study

ROOT = Path(__file__).parents[2]

PATIENT_MARK = "PATIENT-NAME-MUST-NOT-SHOW"
"""The patient line of each minimal report: no reading page may hold it."""

SLICES = ("axial slice", "coronal slice", "sagittal slice")
CT_VIEWS = ("axial", "coronal", "sagittal")


def png(grey: int, size: int = 8) -> bytes:
    """A ``size`` x ``size`` 8-bit grey PNG of one grey level (zlib and struct only)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    rows = b"".join(b"\x00" + bytes([grey]) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0,
                                                               0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def planted_scene(case: str) -> list[dict[str, Any]]:
    """The 3-D scene of case folder ``case``'s minimal report: a tetrahedron (4 vertices, LPS
    mm, 40 mm edges along the axes) tinted per vertex, and a triangle inside its extent; the
    names and ``uncertainty_max`` carry what the served scene must not (the patient mark, the
    folder's name, which is the case ID)."""
    return [
        {"name": f"bone of {PATIENT_MARK} {case}", "colour": [0.93, 0.88, 0.75, 0.55],
         "positions": [0, 0, 0, 40, 0, 0, 0, 40, 0, 0, 0, 40],
         "indices": [0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3],
         "colours": [0.93, 0.88, 0.75, 0.0, 1.0, 1.0, 0.93, 0.88, 0.75, 0.5, 0.9, 0.9],
         "uncertainty_max": 0.25},
        {"name": f"implant {case}", "colour": [0.2, 0.85, 0.3, 1.0],
         "positions": [5, 5, 5, 30, 5, 5, 5, 30, 5], "indices": [0, 1, 2]}]


def write_case_folder(folder: Path, number: int, verdict: str) -> None:
    """The minimal case folder of case ``number`` (see the module's docstring)."""
    (folder / "plan").mkdir(parents=True, exist_ok=True)
    images = "\n".join(
        f'<figure><img alt="{alt}" src="data:image/png;base64,'
        f'{base64.b64encode(png(10 * number + i)).decode()}"></figure>'
        for i, alt in enumerate(SLICES))
    (folder / "report.html").write_text(
        f"<!doctype html><html><body><p>Patient: {PATIENT_MARK}</p>\n{images}\n"
        '<script type="application/json" id="scene">'
        f"{json.dumps(planted_scene(folder.name))}</script>\n"
        "</body></html>\n", encoding="utf-8")
    plan = {"procedure": "acetabular-screw", "side": "left", "verdict": verdict,
            "trajectory": {"length_mm": 40.0 + number, "diameter_mm": 6.5},
            "clearances": [{"structure": "iliac-vessels", "clearance_mm": 12.5,
                            "required_mm": 10.0, "met": True}]}
    (folder / "plan" / "plan.json").write_text(json.dumps(plan), encoding="utf-8")


@dataclass
class WebStudy:
    """A study made for a scenario: folders, tokens, the fake clock and the document."""

    source: Path
    folder: Path
    tokens: dict[str, str]
    clock: FakeClock
    document: dict[str, Any]

    @property
    def truth(self) -> dict[str, int]:
        """Case alias -> truth, from the document the scenario wrote."""
        return {c["alias"]: c["truth"] for c in self.document["cases"]}


def make_study(root: Path, first_alias: str | None = None, **options: Any) -> WebStudy:
    """Write a definition (:func:`study_document` with ``options``; the first study case's
    alias replaced by ``first_alias`` if given) and minimal case folders under
    ``root/source``, and create the study in ``root/study``."""
    document = study_document(**options)
    if first_alias is not None:
        next(c for c in document["cases"] if not c.get("training"))["alias"] = first_alias
    source = root / "source"
    definition = write_study(source, document)
    for number, case in enumerate(document["cases"], start=1):
        write_case_folder(source / case["folder"], number,
                          "safe" if case["truth"] else "unsafe")
    clock = FakeClock()
    schedule = build_schedule(load_definition(definition))
    tokens = StudyStore.create(root / "study", definition, schedule, clock)
    return WebStudy(source, root / "study", tokens, clock, document)


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served(study: WebStudy) -> Iterator[str]:
    """The study's application served by uvicorn in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(create_app(study.folder, study.clock), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the study server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)




@contextlib.contextmanager
def server_process(study: WebStudy, port: int) -> Iterator[subprocess.Popen[str]]:
    """``corridor study serve`` of the study in a subprocess (the system clock); waits until
    it answers."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "software"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-m", "corridor.cli", "study", "serve",
                                str(study.folder), "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
                break
            except OSError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the study server process did not start: "
                                       + (process.stderr.read() if process.stderr else "")
                                       ) from exc
                time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@dataclass
class Reply:
    """One HTTP exchange: status, headers, body and the URL finally reached."""

    status: int
    headers: dict[str, str]
    body: str
    url: str
    cookies: list[str]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


class Client:
    """An HTTP client with its own cookie jar, like one reader's browser."""

    def __init__(self, base: str, *, follow: bool = True) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        handlers: list[Any] = [urllib.request.HTTPCookieProcessor(self.jar)]
        if not follow:
            handlers.append(_NoRedirect())
        self.opener = urllib.request.build_opener(*handlers)

    def _open(self, request: urllib.request.Request) -> Reply:
        try:
            with self.opener.open(request, timeout=30) as response:
                return Reply(response.status, dict(response.headers.items()),
                             response.read().decode("utf-8", "replace"), response.url,
                             response.headers.get_all("Set-Cookie") or [])
        except urllib.error.HTTPError as error:
            body = error.read().decode("utf-8", "replace")
            headers = dict(error.headers.items()) if error.headers else {}
            cookies = error.headers.get_all("Set-Cookie") if error.headers else None
            error.close()
            return Reply(error.code, headers, body, error.url, cookies or [])

    def get(self, path: str) -> Reply:
        """GET ``path``."""
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, form: dict[str, object]) -> Reply:
        """POST ``form`` to ``path`` as application/x-www-form-urlencoded."""
        data = urllib.parse.urlencode({k: str(v) for k, v in form.items()}).encode()
        return self._open(urllib.request.Request(self.base + path, data=data, method="POST"))

    def sign_in(self, token: str) -> Reply:
        """Post the sign-in form."""
        return self.post("/signin", {"token": token})


def item_keys(page: str) -> list[str]:
    """The item keys a worklist page lists, in its order."""
    import re
    return re.findall(r'data-key="([0-9a-f]+)"', page)
