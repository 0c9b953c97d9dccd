"""A real Orthanc PACS, with its DICOMweb plugin, started by the tests on loopback ports.

:class:`Orthanc` writes a generated configuration into a folder of its own (storage, index,
log), starts ``Orthanc`` on two free loopback ports (HTTP and DICOM), with HTTP Basic
authentication by a random user and password, and waits until its REST API answers.  The
tests then send images to it over DICOM (``storescu``, an independent sender), talk to it
through the product's DICOMweb client, and check what it holds through Orthanc's own REST API
(an oracle the client under test does not share).

It never uses the ports of a system Orthanc service (8042, 4242): each start asks the kernel
for free ports, and :meth:`Orthanc.restart` keeps them, so data persists across a restart.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

__all__ = [
    "DICOMWEB_PLUGIN",
    "MISSING",
    "ORTHANC_AET",
    "ORTHANC_EXECUTABLES",
    "REFUSED_SERIES_DESCRIPTION",
    "Orthanc",
    "OrthancMissingError",
    "OrthancStartError",
    "find_orthanc",
]

ORTHANC_EXECUTABLES = ("Orthanc", "/usr/sbin/Orthanc")
"""Where Orthanc may be: on PATH, or where Debian's ``orthanc`` package puts it (``/usr/sbin``
is not on every user's PATH)."""
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
"""The DICOMweb plugin as Debian's ``orthanc-dicomweb`` package installs it."""
ORTHANC_AET = "ORTHANC"
"""Orthanc's own application entity title (the called AET of ``storescu``)."""
SENDER_AET = "CORRIDOR-TEST"
"""The calling AET of ``storescu``."""
MISSING = ("verification needs Orthanc with its DICOMweb plugin: install it "
           "(Debian: sudo apt-get install orthanc orthanc-dicomweb)")
"""The one line a test run stops with when Orthanc or its plugin is missing."""
START_TIMEOUT_S = 30.0
"""Seconds to wait for ``GET /system`` to answer after starting Orthanc."""
STOP_TIMEOUT_S = 10.0
"""Seconds to wait for Orthanc to exit after SIGTERM before killing it."""
REST_TIMEOUT_S = 10.0
"""Seconds each REST request of the helpers may take."""
REFUSED_SERIES_DESCRIPTION = "REFUSED BY THE TEST PACS"
"""Orthanc refuses every instance whose Series Description is this (a Lua
``ReceivedInstanceFilter``), whichever way it comes (DICOM, REST, STOW-RS): how the tests make
a real PACS refuse an object."""
_FILTER = f"""
function ReceivedInstanceFilter(dicom, origin, info)
  if dicom.SeriesDescription == "{REFUSED_SERIES_DESCRIPTION}" then
    error("refused by the test PACS")
  end
  return true
end
"""
LOG_TAIL_LINES = 30
"""Lines of Orthanc's log quoted when it does not start."""


class OrthancMissingError(RuntimeError):
    """Orthanc or its DICOMweb plugin is not installed (the message is :data:`MISSING`)."""

    def __init__(self) -> None:
        super().__init__(MISSING)


class OrthancStartError(RuntimeError):
    """Orthanc did not answer ``GET /system`` in time, or exited; the message quotes its log.

    Attributes
    ----------
    log
        The log file.
    """

    def __init__(self, reason: str, log: Path) -> None:
        self.log = log
        text = log.read_text(errors="replace") if log.exists() else ""
        tail = "\n".join(text.splitlines()[-LOG_TAIL_LINES:])
        super().__init__(f"Orthanc {reason}; expected GET /system to answer within "
                         f"{START_TIMEOUT_S:g} s; the end of its log {log}:\n{tail}")


DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}
"""The environment of ``storescu`` and Orthanc (both DICOM ends are DCMTK's): DCMTK leaves
Nagle's algorithm on unless ``TCP_NODELAY=1``, and each C-STORE then waits for the peer's
delayed acknowledgement, about 90 ms a file (80 s for the 900 files of ten studies, 0.2 s per
90 files with it)."""


def find_orthanc() -> tuple[Path, Path]:
    """The Orthanc executable and the DICOMweb plugin.

    Raises
    ------
    OrthancMissingError
        Either is missing.
    """
    found = next((shutil.which(e) for e in ORTHANC_EXECUTABLES if shutil.which(e)), None)
    if found is None or not DICOMWEB_PLUGIN.is_file():
        raise OrthancMissingError
    return Path(found), DICOMWEB_PLUGIN


def _free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class _Ports:
    http: int
    dicom: int


class Orthanc:
    """One Orthanc server, its configuration, storage and log in ``folder``.

    Parameters
    ----------
    folder
        An empty or new folder of its own (the test's ``tmp_path``).

    Raises
    ------
    OrthancMissingError
        Orthanc or its DICOMweb plugin is not installed.
    """

    def __init__(self, folder: Path) -> None:
        self.executable, self.plugin = find_orthanc()
        self.folder = folder
        self.username = f"user-{secrets.token_hex(4)}"
        self.password = secrets.token_urlsafe(16)
        self.log = folder / "orthanc.log"
        self._ports: _Ports | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._session = requests.Session()
        self._session.auth = (self.username, self.password)

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def ports(self) -> _Ports:
        """The HTTP and DICOM ports (chosen at the first start)."""
        if self._ports is None:
            raise RuntimeError("Orthanc: not started; expected start() first")
        return self._ports

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the REST API."""
        return f"http://127.0.0.1:{self.ports.http}"

    @property
    def dicomweb_url(self) -> str:
        """The DICOMweb root, ``url + "/dicom-web"``."""
        return f"{self.url}/dicom-web"

    @property
    def dicom_port(self) -> int:
        """The DICOM (C-STORE) port."""
        return self.ports.dicom

    @property
    def running(self) -> bool:
        """Whether the Orthanc process is alive."""
        return self._process is not None and self._process.poll() is None

    def configuration(self) -> dict[str, Any]:
        """The configuration :meth:`start` writes (``orthanc.json`` in the folder)."""
        storage = self.folder / "storage"
        return {
            "Name": f"corridor-verification-{self.ports.http}",
            "StorageDirectory": str(storage),
            "IndexDirectory": str(storage),
            "HttpPort": self.ports.http,
            "DicomPort": self.ports.dicom,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {self.username: self.password},
            "DicomAet": ORTHANC_AET,
            "DicomCheckCalledAet": False,
            "StableAge": 1,
            "HttpTimeout": 10,
            "OrthancExplorerEnabled": False,
            "WebDavEnabled": False,
            "SaveJobs": False,
            "ConcurrentJobs": 1,
            "Plugins": [str(self.plugin)],
            "LuaScripts": [str(self.folder / "filter.lua")],
            "DicomWeb": {
                "Enable": True,
                "Root": "/dicom-web/",
                "EnableWado": True,
                "WadoRoot": "/wado",
                "Ssl": False,
                "StudiesMetadata": "Full",
                "SeriesMetadata": "Full",
            },
        }

    def start(self) -> None:
        """Write the configuration, start Orthanc and wait until ``GET /system`` answers.

        The first start chooses the ports; later starts reuse them and the storage.

        Raises
        ------
        OrthancStartError
            Orthanc exited, or did not answer within :data:`START_TIMEOUT_S`.
        """
        if self.running:
            raise RuntimeError("Orthanc: already running; expected stop() first")
        if self._ports is None:
            self._ports = _Ports(http=_free_port(), dicom=_free_port())
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "orthanc.json"
        config.write_text(json.dumps(self.configuration(), indent=2))
        config.chmod(0o600)  # it holds the password
        (self.folder / "filter.lua").write_text(_FILTER)
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(self.executable), str(config)], cwd=self.folder, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=DCMTK_ENV)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise OrthancStartError(f"exited with status {self._process.returncode}",
                                        self.log)
            try:
                if self._session.get(f"{self.url}/system", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise OrthancStartError("did not answer", self.log)

    def stop(self) -> None:
        """SIGTERM Orthanc and wait for it to exit; kill it if it does not in time."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL Orthanc at once (a graceful :meth:`stop` takes about 3.5 s, the time its
        HTTP and DICOM servers take to notice; a test's teardown, whose storage is thrown
        away, does not need it)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop, then start again on the same ports and storage (the data persists)."""
        self.stop()
        self.start()

    # -- DICOM --------------------------------------------------------------------------------

    def send(self, paths: Iterable[Path]) -> None:
        """Send DICOM files to Orthanc by C-STORE (DCMTK's ``storescu``).

        ``storescu`` proposes the uncompressed transfer syntaxes only, so the files must be in
        one of them (it cannot convert a compressed file to them).

        Raises
        ------
        RuntimeError
            ``storescu`` failed (its output is in the message).
        """
        files = [str(p) for p in paths]
        if not files:
            raise ValueError("send: no files; expected at least one DICOM file")
        command = ["storescu", "-aet", SENDER_AET, "-aec", ORTHANC_AET,
                   "127.0.0.1", str(self.dicom_port), *files]
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=120, env=DCMTK_ENV)
        if done.returncode != 0 or "E:" in done.stderr:
            raise RuntimeError(f"storescu: exit status {done.returncode}, expected 0 and no "
                               f"error; its output:\n{done.stdout}{done.stderr}")

    # -- REST ---------------------------------------------------------------------------------

    def _get(self, path: str) -> Any:
        response = self._session.get(f"{self.url}{path}", timeout=REST_TIMEOUT_S)
        response.raise_for_status()
        return response.json() if "json" in response.headers.get("Content-Type", "") \
            else response.content

    def _find(self, level: str, query: dict[str, str]) -> list[str]:
        response = self._session.post(f"{self.url}/tools/find", timeout=REST_TIMEOUT_S,
                                      json={"Level": level, "Query": query})
        response.raise_for_status()
        found: list[str] = response.json()
        return found

    def studies(self) -> list[str]:
        """The Study Instance UIDs Orthanc holds, sorted."""
        expanded = self._get("/studies?expand")
        return sorted(s["MainDicomTags"]["StudyInstanceUID"] for s in expanded)

    def instances(self, study_uid: str) -> list[dict[str, str]]:
        """The instances of a study: ``SOPInstanceUID``, ``SOPClassUID``,
        ``SeriesInstanceUID`` and ``Modality`` of each, sorted by SOP Instance UID."""
        result = []
        for study in self._find("Study", {"StudyInstanceUID": study_uid}):
            for instance in self._get(f"/studies/{study}/instances"):
                tags = self._get(f"/instances/{instance['ID']}/simplified-tags")
                result.append({key: str(tags.get(key, "")) for key in
                               ("SOPInstanceUID", "SOPClassUID", "SeriesInstanceUID",
                                "Modality")})
        return sorted(result, key=lambda i: i["SOPInstanceUID"])

    def file(self, sop_instance_uid: str) -> bytes:
        """The DICOM file Orthanc stored for a SOP Instance UID.

        Raises
        ------
        KeyError
            Orthanc holds no such instance (or holds it more than once).
        """
        found = self._find("Instance", {"SOPInstanceUID": sop_instance_uid})
        if len(found) != 1:
            raise KeyError(f"Orthanc: {len(found)} instances with SOP Instance UID "
                           f"{sop_instance_uid}, expected 1")
        data: bytes = self._get(f"/instances/{found[0]}/file")
        return data

    def delete_all(self) -> None:
        """Delete every patient (and so every study, series and instance)."""
        for patient in self._get("/patients"):
            response = self._session.delete(f"{self.url}/patients/{patient}",
                                            timeout=REST_TIMEOUT_S)
            response.raise_for_status()

    def __enter__(self) -> Orthanc:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.kill()
        self._session.close()

    def __repr__(self) -> str:
        where = f"{self.url}" if self._ports is not None else "not started"
        return f"Orthanc({where}, folder={self.folder})"
