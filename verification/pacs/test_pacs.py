"""Step definitions of ``verification/features/pacs/pacs.feature``: the PACS planning service
against a real Orthanc.

Each scenario starts Debian's Orthanc with its DICOMweb plugin (``verification.pacs.orthanc``:
generated configuration, free loopback ports, random credentials), sends femur phantom CT
studies with DCMTK's ``storescu`` and runs ``corridor serve`` as a subprocess, as a site runs
it (credentials from a mode-600 password file named in the environment), killing or stopping
it, or Orthanc, where the scenario says so.

Oracles: Orthanc's own REST API (``/tools/find``, ``/instances/{id}/file``; not DICOMweb and not
the client under test) for what the study holds; ``dciodvfy`` for each object; ``plan.json`` and
``implant.stl`` of the case folder the job kept; the phantom's DICOM headers for the patient
values that must not appear; the queue read back by ``corridor serve --list``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.uid import generate_uid
from pytest_bdd import given, parsers, scenarios, then, when

from corridor_phantoms import make_phantom, write_series
from verification.pacs.helpers import (
    PROXIMAL_FEMUR,
    check_pdf_shows_plan,
    check_sr_holds_plan,
    check_stl_holds,
    dciodvfy_errors,
)
from verification.pacs.orthanc import Orthanc

scenarios("pacs/pacs.feature")

CORRIDOR = str(Path(sys.executable).parent / "corridor")
"""The installed ``corridor`` command of this environment."""

RESULT_MODALITIES = {"SEG": "seg", "SR": "sr", "DOC": "pdf", "M3D": "stl"}
"""The modality of each object the service stores (PS3.3: SEG, SR, DOC, M3D)."""

ROUTING = """format: corridor-routing/1
rules:
  - name: hip
    when: {Modality: "^CT$"}
    procedure: femoral-neck-screw
    side: left
"""


@dataclass
class Serve:
    """One ``corridor serve`` run: its exit status and its output."""

    status: int
    output: str


@dataclass
class Site:
    """The scenario's PACS, studies and service state."""

    root: Path
    orthanc: Orthanc
    studies: dict[str, list[Path]] = field(default_factory=dict)
    """Study UID -> the CT files sent."""
    runs: list[Serve] = field(default_factory=list)
    state: Path = Path()
    before: set[str] = field(default_factory=set)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = self.root / "state"
        self.routing = self.root / "routing.yaml"
        self.routing.write_text(ROUTING, encoding="utf-8")
        self.password_file = self.root / "pacs-password"
        self.password_file.write_text(self.orthanc.password, encoding="utf-8")
        self.password_file.chmod(0o600)

    def env(self, password_file: Path | None = None) -> dict[str, str]:
        """The environment a site gives the service: user and password file."""
        return {**os.environ, "CORRIDOR_PACS_USERNAME": self.orthanc.username,
                "CORRIDOR_PACS_PASSWORD_FILE": str(password_file or self.password_file)}

    def argv(self, state: Path | None = None, *extra: str) -> list[str]:
        """``corridor serve`` against this Orthanc's DICOMweb root."""
        return [CORRIDOR, "serve", "--pacs", self.orthanc.dicomweb_url,
                "--routing", str(self.routing), "--state", str(state or self.state),
                "--poll-s", "0.3", "--stable-s", "1", *extra]

    def serve_once(self, state: Path | None = None, *extra: str) -> Serve:
        """Run the service with ``--once`` to its end."""
        done = subprocess.run([*self.argv(state, "--once", *extra)], env=self.env(),
                              capture_output=True, text=True, timeout=600, check=False)
        run = Serve(done.returncode, done.stdout + done.stderr)
        self.runs.append(run)
        return run

    def jobs(self, state: Path | None = None) -> list[dict[str, Any]]:
        """The queue as ``corridor serve --list`` prints it."""
        done = subprocess.run([CORRIDOR, "serve", "--list", "--state",
                               str(state or self.state)], capture_output=True, text=True,
                              check=True, timeout=120)
        jobs: list[dict[str, Any]] = json.loads(done.stdout)
        return jobs

    def send_phantom(self, seed: int) -> str:
        """Write a femur phantom CT (its own study) and return its study UID (not sent)."""
        folder = self.root / f"femur-{seed}"
        write_series(make_phantom("femur", seed=seed, **PROXIMAL_FEMUR), folder)
        files = sorted((folder / "dicom").iterdir())
        study = str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
        self.studies[study] = files
        return study

    def results(self, study: str) -> list[dict[str, str]]:
        """The study's instances that the service stored (not CT, not the scenario's)."""
        return [i for i in self.orthanc.instances(study) if i["Modality"] in RESULT_MODALITIES]

    def sop_uids(self, study: str) -> set[str]:
        """Every SOP Instance UID of the study, by Orthanc's REST API."""
        return {i["SOPInstanceUID"] for i in self.orthanc.instances(study)}

    @property
    def study(self) -> str:
        """The scenario's (first) study."""
        return next(iter(self.studies))


class Running:
    """``corridor serve`` as a background process whose output lines are watched."""

    def __init__(self, site: Site, *extra: str) -> None:
        self.process = subprocess.Popen(site.argv(None, *extra), env=site.env(),
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout_s: float = 300.0) -> None:
        """Wait until a line holds ``text``."""
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.lines):
            if self.process.poll() is not None and not self._reader.is_alive():
                pytest.fail(f"corridor serve ended ({self.process.returncode}) before "
                            f"{text!r}:\n{''.join(self.lines)}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {text!r} within {timeout_s} s:\n{''.join(self.lines)}")
            time.sleep(0.05)

    def end(self, signum: signal.Signals) -> Serve:
        """Send ``signum`` and wait for the process to end."""
        self.process.send_signal(signum)
        status = self.process.wait(timeout=120)
        self._reader.join(timeout=10)
        return Serve(status, "".join(self.lines))


def _audit(site: Site, state: Path | None = None) -> list[dict[str, Any]]:
    log = (state or site.state) / "corridor-audit.jsonl"
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def _serve_records(site: Site, state: Path | None = None) -> list[dict[str, Any]]:
    return [r for r in _audit(site, state) if r.get("event") == "corridor serve"]


def _four_objects_once(site: Site, study: str) -> None:
    counts = Counter(i["Modality"] for i in site.results(study))
    assert counts == dict.fromkeys(RESULT_MODALITIES, 1), counts


# -- given -------------------------------------------------------------------------------------

@given("a running Orthanc", target_fixture="site")
def running_orthanc(orthanc: Orthanc, tmp_path: Path) -> Site:
    """The ``orthanc`` fixture's server, and the site's routing file and password file."""
    return Site(tmp_path, orthanc)


@given("a femur phantom CT study sent to Orthanc with storescu")
def femur_sent(site: Site) -> None:
    """One femur phantom (seed 31), sent over DICOM."""
    study = site.send_phantom(31)
    site.orthanc.send(site.studies[study])
    assert site.orthanc.studies() == [study]


@given("a femur phantom CT study sent to Orthanc with storescu and planned by corridor serve")
def femur_planned(site: Site) -> None:
    """As above, then one run of the service."""
    femur_sent(site)
    run = site.serve_once()
    assert run.status == 0, run.output
    site.before = site.sop_uids(site.study)
    assert len(site.results(site.study)) == 4


@given(parsers.parse("{count:d} femur phantom CT studies sent to Orthanc at once with "
                     "storescu"))
def many_sent(site: Site, count: int) -> None:
    """``count`` phantoms (seeds 41...), sent in one storescu association."""
    studies = [site.send_phantom(41 + n) for n in range(count)]
    site.orthanc.send([f for s in studies for f in site.studies[s]])
    assert sorted(site.orthanc.studies()) == sorted(studies)


# -- when --------------------------------------------------------------------------------------

@when(parsers.parse('corridor serve runs once with the routing rule "{rule}"'))
def serve_once(site: Site, rule: str) -> None:
    """The routing file's one rule is the femoral-neck screw on the left."""
    assert rule == "femoral-neck-screw on the left"
    site.extra["started"] = time.time()
    run = site.serve_once()
    assert run.status == 0, run.output


@when("the same study is sent again, a smaller CT series is added to it, a study holding only "
      "a secondary capture is sent, and corridor serve runs once more")
def resend_and_more(site: Site) -> None:
    """Re-send every CT file; add 8 of its slices as a new series (new UIDs); send a study of
    one secondary-capture image; run the service on the same state folder."""
    files = site.studies[site.study]
    site.orthanc.send(files)
    smaller = site.root / "smaller"
    smaller.mkdir()
    series_uid = generate_uid()
    for n, path in enumerate(files[:8]):
        ds = pydicom.dcmread(path)
        ds.SeriesInstanceUID, ds.SeriesNumber = series_uid, 77
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(smaller / f"{n}.dcm")
    site.extra["smaller"] = series_uid
    capture = pydicom.dcmread(files[0])
    capture.SOPClassUID = capture.file_meta.MediaStorageSOPClassUID = (
        "1.2.840.10008.5.1.4.1.1.7")  # Secondary Capture Image Storage
    capture.Modality = "OT"
    capture_study = generate_uid()
    capture.StudyInstanceUID = capture_study
    site.extra["capture_study"] = str(capture_study)
    capture.SeriesInstanceUID = generate_uid()
    capture.SOPInstanceUID = capture.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    capture.save_as(site.root / "capture.dcm")
    site.orthanc.send([*sorted(smaller.iterdir()), site.root / "capture.dcm"])
    run = site.serve_once()
    assert run.status == 1, run.output  # the capture study's job failed


@when("corridor serve is killed with SIGKILL while it plans the study, and run once again")
def killed_and_again(site: Site) -> None:
    """Kill at the job's planning line; read the queue; run the service once more."""
    service = Running(site, "--once")
    service.wait_for("planning femoral-neck-screw")
    killed = service.end(signal.SIGKILL)
    assert killed.status == -signal.SIGKILL
    site.extra["killed_jobs"] = site.jobs()
    run = site.serve_once()
    assert run.status == 0, run.output


@when("Orthanc is stopped while corridor serve plans the study, and the service is stopped "
      "after its failure")
def orthanc_stopped(site: Site) -> None:
    """Stop Orthanc at the planning line; SIGTERM the service once it reported the failure
    (its retry is 600 s away)."""
    service = Running(site, "--once", "--retry-after-s", "600")
    service.wait_for("planning femoral-neck-screw")
    site.orthanc.stop()
    service.wait_for("failed (retryable")
    stopped = service.end(signal.SIGTERM)
    assert stopped.status == 130, stopped.output
    site.runs.append(stopped)


@when(parsers.parse("corridor serve is started against a PACS at {url} with {credentials}"),
      target_fixture="refusal")
def unsafe_credentials(tmp_path: Path, url: str,
                       credentials: str) -> tuple[subprocess.CompletedProcess[str], str, Path]:
    """One unsafe setting, from a config file or the environment."""
    password = "Zq9-not-for-logs-7"
    password_file = tmp_path / "password"
    config: dict[str, Any] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRIDOR_PACS_")}
    env["CORRIDOR_PACS_USERNAME"] = "planner"
    if credentials == "a password written in the configuration file":
        config = {"pacs": {"url": url, "username": "planner", "password": password}}
    else:
        if credentials == "Orthanc's default credentials orthanc and orthanc":
            env["CORRIDOR_PACS_USERNAME"] = password = "orthanc"
        elif credentials == "an empty password":
            password = ""
        password_file.write_text(password, encoding="utf-8")
        password_file.chmod(0o644 if "other users can read" in credentials else 0o600)
        env["CORRIDOR_PACS_PASSWORD_FILE"] = str(password_file)
        config = {"pacs": {"url": url}}
    (tmp_path / "corridor.yaml").write_text(json.dumps(config), encoding="utf-8")
    (tmp_path / "routing.yaml").write_text(ROUTING, encoding="utf-8")
    done = subprocess.run([CORRIDOR, "serve", "--config",
                           str(tmp_path / "corridor.yaml"), "--routing",
                           str(tmp_path / "routing.yaml"), "--state", str(tmp_path / "state"),
                           "--once"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    return done, password, tmp_path / "state"


@when("corridor serve runs once against it with a wrong password")
def wrong_password(site: Site) -> None:
    """A password file holding another password than Orthanc's."""
    wrong = site.root / "wrong-password"
    wrong.write_text("Wr0ng-" + site.orthanc.password[::-1], encoding="utf-8")
    wrong.chmod(0o600)
    done = subprocess.run(site.argv(None, "--once"), env=site.env(wrong), capture_output=True,
                          text=True, timeout=120, check=False)
    site.runs.append(Serve(done.returncode, done.stdout + done.stderr))
    site.extra["passwords"] = [wrong.read_text(encoding="utf-8"), site.orthanc.password]


# -- then --------------------------------------------------------------------------------------

@then(parsers.parse("the job is done with the verdict {verdict}"))
def job_done(site: Site, verdict: str) -> None:
    """One job, done, with that verdict."""
    (job,) = site.jobs()
    assert job["study_uid"] == site.study
    assert job["state"] == "done", job
    assert job["result"]["verdict"] == verdict, job


@then("the study holds, beside its CT, one SEG, one Comprehensive 3D SR, one encapsulated PDF "
      "and one encapsulated STL, found over DICOMweb")
def four_objects(site: Site) -> None:
    """Orthanc's REST API and the service's DICOMweb client agree on the four objects."""
    from corridor.pacs.client import DicomWebPacs
    from corridor.pacs.config import load_pacs_config

    ct = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)
          for p in site.studies[site.study]}
    _four_objects_once(site, site.study)
    assert site.sop_uids(site.study) - ct == {i["SOPInstanceUID"]
                                              for i in site.results(site.study)}
    config = load_pacs_config(site.orthanc.dicomweb_url, None, site.env())
    over_dicomweb = {i.sop_instance_uid: i.sop_class_uid
                     for i in DicomWebPacs(config).instances_of(site.study)}
    assert set(over_dicomweb) == site.sop_uids(site.study)
    assert {over_dicomweb[i["SOPInstanceUID"]] for i in site.results(site.study)} == {
        "1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.5.1.4.1.1.88.34",
        "1.2.840.10008.5.1.4.1.1.104.1", "1.2.840.10008.5.1.4.1.1.104.3"}


def _retrieved(site: Site) -> dict[str, pydicom.Dataset]:
    """Each stored object as Orthanc returns its file, by kind."""
    objects = site.extra.setdefault("objects", {})
    if not objects:
        for item in site.results(site.study):
            data = site.orthanc.file(item["SOPInstanceUID"])
            path = site.root / f"retrieved-{RESULT_MODALITIES[item['Modality']]}.dcm"
            path.write_bytes(data)
            objects[RESULT_MODALITIES[item["Modality"]]] = pydicom.dcmread(path)
    return objects  # type: ignore[no-any-return]


def _case(site: Site, job: int = 1) -> Path:
    return site.state / "results" / f"job-{job}" / "case"


@then("each object retrieved from Orthanc passes dciodvfy with no error and carries the CT's "
      "patient, study and frame of reference")
def valid_objects(site: Site) -> None:
    """dciodvfy on the files Orthanc returns; patient and study attributes against the CT's."""
    ct = pydicom.dcmread(site.studies[site.study][0], stop_before_pixels=True)
    for kind, dataset in _retrieved(site).items():
        assert dciodvfy_errors(site.root / f"retrieved-{kind}.dcm") == [], kind
        for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                        "StudyInstanceUID", "StudyDate", "AccessionNumber"):
            assert dataset.get(keyword) == ct.get(keyword), (kind, keyword)
        if "FrameOfReferenceUID" in dataset:
            assert dataset.FrameOfReferenceUID == ct.FrameOfReferenceUID, kind


@then("the SR's entry and tip equal plan.json's in the CT's frame of reference, and its "
      "clearances equal plan.json's")
def sr_equals_plan(site: Site) -> None:
    """The SR retrieved from Orthanc against the kept case folder's plan.json."""
    plan = json.loads((_case(site) / "plan" / "plan.json").read_text(encoding="utf-8"))
    frame = pydicom.dcmread(site.studies[site.study][0],
                            stop_before_pixels=True).FrameOfReferenceUID
    check_sr_holds_plan(_retrieved(site)["sr"], plan, frame)


@then("the PDF shows the verdict, the procedure and every clearance, and not the patient's name "
      "or ID")
def pdf_shows_plan(site: Site) -> None:
    """The PDF retrieved from Orthanc, its text by pypdf."""
    plan = json.loads((_case(site) / "plan" / "plan.json").read_text(encoding="utf-8"))
    ct = pydicom.dcmread(site.studies[site.study][0], stop_before_pixels=True)
    check_pdf_shows_plan(_retrieved(site)["pdf"], plan, ct)


@then("the STL object holds the case's implant.stl")
def stl_holds_implant(site: Site) -> None:
    """The STL retrieved from Orthanc against the kept case folder's implant.stl."""
    check_stl_holds(_retrieved(site)["stl"],
                    (_case(site) / "plan" / "implant.stl").read_bytes())


@then("the audit trail links the study UID to each object's SOP Instance UID and SHA-256, and "
      "holds no patient name, patient ID or PACS password")
def audit_links(site: Site) -> None:
    """The serve record's objects against the files in Orthanc (hashed here)."""
    import hashlib

    (record,) = _serve_records(site)
    assert record["study_uid"] == site.study
    assert record["outcome"] == "stored"
    listed = {o["sop_instance_uid"]: o["sha256"] for o in record["outputs"]}
    in_pacs = {i["SOPInstanceUID"]: hashlib.sha256(site.orthanc.file(i["SOPInstanceUID"]))
               .hexdigest() for i in site.results(site.study)}
    assert listed == in_pacs
    text = (site.state / "corridor-audit.jsonl").read_text(encoding="utf-8")
    ct = pydicom.dcmread(site.studies[site.study][0], stop_before_pixels=True)
    for secret in (str(ct.PatientName), str(ct.PatientID), site.orthanc.password):
        assert secret
        assert secret not in text


@then("the planned study holds the same instances as before, besides the smaller series")
def same_instances(site: Site) -> None:
    """Nothing new but the 8 added slices."""
    now = {i["SOPInstanceUID"]: i["SeriesInstanceUID"]
           for i in site.orthanc.instances(site.study)}
    added = {uid for uid, series in now.items() if series == site.extra["smaller"]}
    assert len(added) == 8
    assert set(now) - added == site.before


@then("the job of the added series is done as a duplicate of the first job, with nothing stored")
def duplicate_job(site: Site) -> None:
    """The second job of the study: done, duplicate_of 1, no outputs; its audit record."""
    jobs = [j for j in site.jobs() if j["study_uid"] == site.study]
    assert next(j["id"] for j in jobs) == 1
    assert len(jobs) == 2
    second = jobs[1]
    assert second["state"] == "done"
    assert second["result"] == {"duplicate_of": 1, "outputs": []}
    assert second["input_sha256"] == jobs[0]["input_sha256"]
    record = next(r for r in _serve_records(site) if r["job"] == second["id"])
    assert record["outcome"] == "duplicate"
    assert record["outputs"] == []


@then("the job of the study without CT is failed, not retryable, with the reason that it has no "
      "CT series, and nothing was stored in that study")
def no_ct_failed(site: Site) -> None:
    """The capture study's job and what its study holds."""
    capture = site.extra["capture_study"]
    (job,) = [j for j in site.jobs() if j["study_uid"] == capture]
    assert job["state"] == "failed"
    assert job["retryable"] is False
    assert "no CT series in the study" in job["reason"]
    assert [i["Modality"] for i in site.orthanc.instances(capture)] == ["OT"]
    record = next(r for r in _serve_records(site) if r["job"] == job["id"])
    assert record["outcome"] == "failed"
    assert record["outputs"] == []


@then("corridor serve run once with a fresh state folder plans the study again and stores "
      "nothing, its objects being the ones in the study")
def fresh_state(site: Site) -> None:
    """A second state folder: the study planned again, every object found already stored."""
    before = site.sop_uids(site.study)
    fresh = site.root / "fresh-state"
    run = site.serve_once(fresh)
    assert run.status == 1, run.output  # the capture study fails again
    assert site.sop_uids(site.study) == before
    record = next(r for r in _serve_records(site, fresh)
                  if r["study_uid"] == site.study and r["outcome"] == "stored")
    assert record["stored_now"] == []
    assert {o["sop_instance_uid"] for o in record["outputs"]} == {
        i["SOPInstanceUID"] for i in site.results(site.study)}


@then("the queue held the job running when the service was killed")
def held_running(site: Site) -> None:
    """As ``--list`` read it between the kill and the restart."""
    (job,) = site.extra["killed_jobs"]
    assert job["state"] == "running"
    assert job["attempts"] == 1


@then("the restarted service resumed the job, which is done, and the study holds each of the "
      "four objects once")
def resumed(site: Site) -> None:
    """The restart's output, the job and the study."""
    assert "the service stopped during the job; resumed" in site.runs[-1].output
    (job,) = site.jobs()
    assert job["state"] == "done"
    assert job["attempts"] == 2
    _four_objects_once(site, site.study)


@then("the job waits to be retried, marked retryable, with a reason naming the PACS as "
      "unreachable, and the audit trail records the failed attempt")
def waits_retry(site: Site) -> None:
    """The queue after SIGTERM, and the audit record of the attempt."""
    (job,) = site.jobs()
    assert job["state"] == "received", job
    assert job["retryable"] is True, job
    host = site.orthanc.url.removeprefix("http://")
    assert job["reason"].startswith(f"PACS {host}: "), job["reason"]
    assert "cannot connect" in job["reason"], job["reason"]
    (record,) = _serve_records(site)
    assert record["outcome"] == "retry"
    assert record["reason"] == job["reason"]
    assert site.orthanc.password not in json.dumps(site.jobs()) + site.runs[-1].output


@then("with Orthanc started again the study holds no object of the service's")
def nothing_partial(site: Site) -> None:
    """Orthanc on the same storage: only the CT."""
    site.orthanc.start()
    assert site.results(site.study) == []
    assert len(site.orthanc.instances(site.study)) == len(site.studies[site.study])


@then("corridor serve run once completes the job and the study holds each of the four objects "
      "once")
def completes(site: Site) -> None:
    """The restart takes the waiting job at once and stores the outbox's objects."""
    run = site.serve_once()
    assert run.status == 0, run.output
    (job,) = site.jobs()
    assert job["state"] == "done"
    assert job["attempts"] == 2
    _four_objects_once(site, site.study)


@then(parsers.parse("all {count:d} jobs are done and each study holds its four objects once"))
def all_done(site: Site, count: int) -> None:
    """Every study's job and objects."""
    jobs = site.jobs()
    assert sorted(j["study_uid"] for j in jobs) == sorted(site.studies)
    assert len(jobs) == count
    assert all(j["state"] == "done" for j in jobs)
    for study in site.studies:
        _four_objects_once(site, study)


@then(parsers.parse("it exits with status 2 naming {setting}, and its output holds no password"))
def refused(refusal: tuple[subprocess.CompletedProcess[str], str, Path], setting: str) -> None:
    """The refusal, before any state is written."""
    done, password, state = refusal
    assert done.returncode == 2, done.stderr
    assert setting in done.stderr, done.stderr
    if password:
        assert password not in done.stdout + done.stderr
    assert not state.exists()


@then("it exits with status 2 saying the PACS refused the credentials, and its output, queue "
      "and audit trail hold neither password")
def credentials_refused(site: Site) -> None:
    """The run's output and every file of its state folder."""
    run = site.runs[-1]
    assert run.status == 2, run.output
    assert "refused the credentials" in run.output, run.output
    stored = b"".join(p.read_bytes() for p in site.state.rglob("*") if p.is_file())
    for secret in site.extra["passwords"]:
        assert secret not in run.output
        assert secret.encode() not in stored

