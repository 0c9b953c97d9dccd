"""The DICOMweb client (``corridor.pacs.client``) against a real Orthanc PACS.

Oracles: the phantom series as written to disk and sent by DCMTK's ``storescu`` (a DICOM
sender sharing no code with the client), and what Orthanc holds as its own REST API reports it
(:class:`~verification.pacs.orthanc.Orthanc`), not through DICOMweb.  Failures the real PACS
cannot be made to answer (a Failed SOP Sequence, HTTP 503, a stalled answer) are served by a
stub HTTP server on loopback.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydantic import SecretStr
from pydicom.uid import generate_uid

from corridor.pacs.client import DicomWebPacs, InstanceInfo, SeriesInfo, is_valid_uid
from corridor.pacs.config import PacsConfig
from corridor.pacs.errors import PacsError
from corridor_phantoms import SeriesWritten, make_phantom, write_series
from verification.pacs.orthanc import REFUSED_SERIES_DESCRIPTION, Orthanc

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


@pytest.fixture
def series(tmp_path: Path) -> SeriesWritten:
    """A small sphere phantom written as a 5-slice CT series (explicit VR little endian)."""
    phantom = make_phantom("sphere", shape=(16, 16, 5), spacing=(2.0, 2.0, 3.0), seed=3)
    return write_series(phantom, tmp_path / "phantom")


@pytest.fixture
def sent(orthanc: Orthanc, series: SeriesWritten) -> SeriesWritten:
    """The phantom series, sent to Orthanc by ``storescu``."""
    orthanc.send(series.paths)
    return series


def _pacs(orthanc: Orthanc, *, password: str | None = None, page_size: int = 100,
          timeout_s: float = 10.0) -> DicomWebPacs:
    config = PacsConfig(url=orthanc.dicomweb_url, username=orthanc.username,
                        password=SecretStr(password or orthanc.password), timeout_s=timeout_s)
    return DicomWebPacs(config, page_size=page_size)


def _study_uid(series: SeriesWritten) -> str:
    return str(pydicom.dcmread(series.paths[0], stop_before_pixels=True).StudyInstanceUID)


def _derived(source: Path, *, description: str = "Corridor derived") -> bytes:
    """A copy of one CT image with a new SOP Instance UID in a new series of the same study."""
    dataset = pydicom.dcmread(source)
    dataset.SOPInstanceUID = generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SeriesNumber = 99
    dataset.SeriesDescription = description
    buffer = BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_find_studies_sees_the_sent_ct_study(orthanc: Orthanc, sent: SeriesWritten) -> None:
    studies = _pacs(orthanc).find_studies()
    assert [s.study_uid for s in studies] == orthanc.studies() == [_study_uid(sent)]
    assert studies[0].modalities == ("CT",)
    assert studies[0].instances == len(sent.paths) == 5


def test_find_studies_pages_through_every_study(orthanc: Orthanc, tmp_path: Path) -> None:
    """Three studies, asked for one a page: every one found once (QIDO-RS limit and offset)."""
    for seed in (1, 2, 3):
        phantom = make_phantom("sphere", shape=(8, 8, 2), spacing=(4.0, 4.0, 4.0), seed=seed)
        orthanc.send(write_series(phantom, tmp_path / f"p{seed}").paths)
    found = [s.study_uid for s in _pacs(orthanc, page_size=1).find_studies()]
    assert found == orthanc.studies()
    assert len(found) == 3


def test_series_of_names_the_ct_series(orthanc: Orthanc, sent: SeriesWritten) -> None:
    header = pydicom.dcmread(sent.paths[0], stop_before_pixels=True)
    assert _pacs(orthanc).series_of(_study_uid(sent)) == [SeriesInfo(
        series_uid=sent.series_instance_uid, modality="CT",
        description=str(header.SeriesDescription), number=int(header.SeriesNumber),
        instances=5)]


def test_series_of_an_unknown_study_is_empty(orthanc: Orthanc, sent: SeriesWritten) -> None:
    assert _pacs(orthanc).series_of(generate_uid()) == []


def test_retrieve_series_writes_the_datasets_sent(orthanc: Orthanc, sent: SeriesWritten,
                                                  tmp_path: Path) -> None:
    folder = tmp_path / "retrieved"
    written = _pacs(orthanc).retrieve_series(_study_uid(sent), sent.series_instance_uid, folder)
    assert sorted(p.name for p in written) == sorted(f"{u}.dcm" for u in sent.sop_instance_uids)
    assert sorted(folder.iterdir()) == sorted(written)  # no temporary file left behind
    for path in sent.slice_paths:
        original = pydicom.dcmread(path)
        copy = pydicom.dcmread(folder / f"{original.SOPInstanceUID}.dcm")
        assert copy.SOPInstanceUID == original.SOPInstanceUID
        assert copy.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
        np.testing.assert_array_equal(copy.pixel_array, original.pixel_array)
        assert copy == original


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")  # planted on purpose
def test_retrieve_series_refuses_a_sop_instance_uid_that_is_not_a_uid(
        orthanc: Orthanc, series: SeriesWritten, tmp_path: Path) -> None:
    """The PACS's SOP Instance UIDs become file names: one that is not a UID is refused."""
    dataset = pydicom.dcmread(series.paths[0])
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.03.4"
    bad = tmp_path / "bad.dcm"
    dataset.save_as(bad, enforce_file_format=True)
    orthanc.send([bad])
    folder = tmp_path / "retrieved"
    with pytest.raises(PacsError, match=r"SOPInstanceUID '1\.2\.03\.4' is not a DICOM UID") \
            as refused:
        _pacs(orthanc).retrieve_series(_study_uid(series), series.series_instance_uid, folder)
    assert refused.value.retryable is False
    assert not folder.exists() or not any(folder.iterdir())


def test_retrieve_series_of_an_unknown_series_is_not_retryable(
        orthanc: Orthanc, sent: SeriesWritten, tmp_path: Path) -> None:
    with pytest.raises(PacsError, match="HTTP 404") as missing:
        _pacs(orthanc).retrieve_series(_study_uid(sent), generate_uid(), tmp_path / "none")
    assert (missing.value.retryable, missing.value.status) == (False, 404)


def test_store_puts_a_derived_object_into_the_study_once(orthanc: Orthanc,
                                                         sent: SeriesWritten) -> None:
    pacs, study = _pacs(orthanc), _study_uid(sent)
    derived = _derived(sent.paths[0])
    dataset = pydicom.dcmread(BytesIO(derived))
    pacs.store([derived])
    expected = InstanceInfo(sop_instance_uid=str(dataset.SOPInstanceUID),
                            sop_class_uid=CT_IMAGE_STORAGE,
                            series_uid=str(dataset.SeriesInstanceUID), modality="CT")
    assert expected in pacs.instances_of(study)
    assert len(orthanc.instances(study)) == 6
    assert pydicom.dcmread(BytesIO(orthanc.file(expected.sop_instance_uid))) == dataset

    pacs.store([derived])  # the same instance again: not an error, not a second copy
    assert len(pacs.instances_of(study)) == len(orthanc.instances(study)) == 6


def test_store_sends_several_objects_in_one_request(orthanc: Orthanc,
                                                    sent: SeriesWritten) -> None:
    objects = [_derived(p) for p in sent.paths[:3]]
    _pacs(orthanc).store(objects)
    stored = {i["SOPInstanceUID"] for i in orthanc.instances(_study_uid(sent))}
    assert {str(pydicom.dcmread(BytesIO(o)).SOPInstanceUID) for o in objects} <= stored


def test_an_object_the_pacs_refuses_is_named_and_not_retryable(orthanc: Orthanc,
                                                               sent: SeriesWritten) -> None:
    """Orthanc's filter refuses one of two objects: the error names it, the other is stored."""
    kept = _derived(sent.paths[0])
    refused = _derived(sent.paths[1], description=REFUSED_SERIES_DESCRIPTION)
    refused_uid = str(pydicom.dcmread(BytesIO(refused)).SOPInstanceUID)
    with pytest.raises(PacsError, match=refused_uid) as error:
        _pacs(orthanc).store([kept, refused])
    assert error.value.retryable is False
    assert error.value.operation == "store 2 object(s)"
    stored = {i["SOPInstanceUID"] for i in orthanc.instances(_study_uid(sent))}
    assert refused_uid not in stored
    assert str(pydicom.dcmread(BytesIO(kept)).SOPInstanceUID) in stored


def test_store_refuses_objects_of_two_studies(orthanc: Orthanc, sent: SeriesWritten) -> None:
    other = pydicom.dcmread(BytesIO(_derived(sent.paths[0])))
    other.StudyInstanceUID = generate_uid()
    buffer = BytesIO()
    other.save_as(buffer)
    with pytest.raises(ValueError, match="belong to 2 studies"):
        _pacs(orthanc).store([_derived(sent.paths[0]), buffer.getvalue()])


def test_a_wrong_password_is_refused_not_retryable_and_not_quoted(orthanc: Orthanc) -> None:
    wrong = "wrong-" + orthanc.password
    with pytest.raises(PacsError, match="PACS refused the credentials") as refused:
        _pacs(orthanc, password=wrong).find_studies()
    assert (refused.value.retryable, refused.value.status) == (False, 401)
    for text in (str(refused.value), repr(refused.value)):
        assert wrong not in text
        assert orthanc.password not in text
    assert f"127.0.0.1:{orthanc.ports.http}" in str(refused.value)


def test_a_stopped_pacs_is_retryable_and_works_again_once_back(
        orthanc: Orthanc, sent: SeriesWritten) -> None:
    pacs = _pacs(orthanc)
    orthanc.kill()
    with pytest.raises(PacsError, match="cannot connect") as down:
        pacs.find_studies()
    assert (down.value.retryable, down.value.status) == (True, None)
    assert down.value.operation == "search for studies"
    assert orthanc.password not in str(down.value)
    orthanc.start()  # the same ports and storage
    assert [s.study_uid for s in pacs.find_studies()] == [_study_uid(sent)]


def test_is_valid_uid() -> None:
    assert is_valid_uid("1.2.840.10008.5.1.4.1.1.2")
    assert is_valid_uid("2.25." + "9" * 59)
    for bad in ("", "1", "1.02", "1..2", "1.2.", "../1.2", "1.2/3", "2.25." + "9" * 60):
        assert not is_valid_uid(bad), bad


# -- failures a real Orthanc does not answer: a stub DICOMweb server on loopback -------------

class _Stub(BaseHTTPRequestHandler):
    """Answers every request with the server's ``status`` and ``body`` after ``delay_s``."""

    def _answer(self) -> None:
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        time.sleep(getattr(server, "delay_s", 0.0))
        body: bytes = getattr(server, "body", b"")
        try:
            self.send_response(getattr(server, "status", 200))
            self.send_header("Content-Type", "application/dicom+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:
        """Answer a GET."""
        self._answer()

    def do_POST(self) -> None:
        """Answer a POST."""
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def stub() -> Iterator[ThreadingHTTPServer]:
    """A stub server on a free loopback port; set ``status``, ``body``, ``delay_s`` on it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _stub_pacs(stub: ThreadingHTTPServer, *, timeout_s: float = 5.0) -> DicomWebPacs:
    port = stub.server_address[1]
    return DicomWebPacs(PacsConfig(url=f"http://127.0.0.1:{port}/dicom-web", username="u",
                                   password=SecretStr("stub-secret"), timeout_s=timeout_s))


def _stow_answer(failed: list[tuple[str, int]], stored: list[str]) -> bytes:
    def item(uid: str, reason: int | None) -> dict[str, object]:
        entry: dict[str, object] = {
            "00081150": {"vr": "UI", "Value": [CT_IMAGE_STORAGE]},
            "00081155": {"vr": "UI", "Value": [uid]}}
        if reason is not None:
            entry["00081197"] = {"vr": "US", "Value": [reason]}
        return entry
    return json.dumps({
        "00081198": {"vr": "SQ", "Value": [item(u, r) for u, r in failed]},
        "00081199": {"vr": "SQ", "Value": [item(u, None) for u in stored]}}).encode()


def test_a_failed_sop_sequence_names_each_refused_object(stub: ThreadingHTTPServer,
                                                         series: SeriesWritten) -> None:
    objects = [_derived(p) for p in series.paths[:2]]
    uids = [str(pydicom.dcmread(BytesIO(o)).SOPInstanceUID) for o in objects]
    stub.status, stub.body = 409, _stow_answer([(uids[1], 0xA900)], [uids[0]])  # type: ignore[attr-defined]
    with pytest.raises(PacsError) as refused:
        _stub_pacs(stub).store(objects)
    message = str(refused.value)
    assert f"refused 1 of 2 object(s): {uids[1]}: data set does not match SOP class (0xA900)" \
        in message
    assert (refused.value.retryable, refused.value.status) == (False, 409)
    assert "stub-secret" not in message


def test_a_duplicate_in_the_failed_sop_sequence_is_already_stored(
        stub: ThreadingHTTPServer, series: SeriesWritten) -> None:
    objects = [_derived(p) for p in series.paths[:2]]
    uids = [str(pydicom.dcmread(BytesIO(o)).SOPInstanceUID) for o in objects]
    stub.status, stub.body = 200, _stow_answer([(uids[1], 0x0111)], uids)  # type: ignore[attr-defined]
    _stub_pacs(stub).store(objects)


@pytest.mark.parametrize(("status", "retryable"),
                         [(500, True), (502, True), (503, True), (504, True), (429, True),
                          (400, False), (403, False), (404, False)])
def test_http_statuses_map_to_retryable(stub: ThreadingHTTPServer, status: int,
                                        retryable: bool) -> None:
    stub.status, stub.body = status, b"{}"  # type: ignore[attr-defined]
    with pytest.raises(PacsError, match=f"HTTP {status}") as failed:
        _stub_pacs(stub).find_studies()
    assert (failed.value.retryable, failed.value.status) == (retryable, status)


def test_a_stalled_answer_times_out_retryable(stub: ThreadingHTTPServer) -> None:
    stub.delay_s, stub.body = 2.0, b"[]"  # type: ignore[attr-defined]
    with pytest.raises(PacsError, match=r"no answer within 0\.3 s") as slow:
        _stub_pacs(stub, timeout_s=0.3).find_studies()
    assert slow.value.retryable is True


def test_an_answer_that_is_not_dicomweb_is_not_retryable(stub: ThreadingHTTPServer) -> None:
    stub.status, stub.body = 200, b'[{"0020000D": {"vr": "UI", "Value": ["../x"]}}]'  # type: ignore[attr-defined]
    with pytest.raises(PacsError, match="is not a DICOM UID") as odd:
        _stub_pacs(stub).find_studies()
    assert odd.value.retryable is False
