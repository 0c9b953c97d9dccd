"""Step definitions of ``verification/features/case/batch.feature``: many cases from one CSV.

Verifies ``corridor plan-batch``: every CSV row checked first, cases run in a local pool or on
a Dask cluster, a ledger of every case, a dead worker's cases re-run alone, ``--resume``, an
interrupted batch, and the audit log of the batch.  Planted faults that kill a worker are in
:mod:`verification.case.planted_runners`.

Oracles: the case folders' files (hashed here), the audit chain (verified by ``corridor audit
verify`` and read record by record), the process IDs of the Dask cluster's workers (asked of
the cluster the scenario started), and the exit statuses the command documents.

The pool scenario's case on the TotalSegmentator folder (the segmentation column) is compared
with its case on the reference model: the tolerances are those SRS-SEG-006 states before any
run, from the model's boundary error on the phantom, checked here against the phantom's truth
labels (:func:`verification.segmentation.helpers.boundary_error_mm`), and each trajectory is
measured on the other case's segmentation with the planner's own clearance measure.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle
import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.audit import verify_log
from corridor.case.batch import Ledger, read_cases, run_in_pool, run_on_cluster
from corridor.case.cli import reference_model
from corridor.geometry import ImageGeometry
from corridor.images import LabelMap, read_label_map
from corridor.planning import Side, load_landmarks, load_procedure
from corridor.planning.clearance import measure_clearances
from corridor.planning.model import Trajectory
from corridor.planning.prepare import prepare_case
from corridor_phantoms import make_phantom, write_series
from corridor_phantoms.anatomy import PhantomKind, build_anatomy
from corridor_phantoms.enum import Label
from verification.case import planted_runners
from verification.command_run import run_corridor
from verification.segmentation.helpers import (
    boundary_error_mm,
    masks_label_map,
    near_axis,
    split_truth,
    write_ts_folder,
)

scenarios("case/batch.feature")

FIELDS = ["case_id", "dicom", "procedure", "side", "landmarks"]


@dataclass
class Batch:
    """What one scenario built and what the command did."""

    root: Path
    rows: list[dict[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=lambda: list(FIELDS))
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    cluster: LocalCluster | None = None
    before: dict[str, Any] = field(default_factory=dict)
    audit_lines_before: int = 0
    read: tuple[list[Any], list[Any]] = field(default_factory=lambda: ([], []))

    @property
    def csv(self) -> Path:
        return self.root / "cases" / "cases.csv"

    @property
    def out(self) -> Path:
        return self.root / "batch"

    @property
    def log(self) -> Path:
        return self.out / "corridor-audit.jsonl"

    def write_csv(self) -> None:
        self.csv.parent.mkdir(parents=True, exist_ok=True)
        with self.csv.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=self.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.rows)

    def ledger(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.out / "batch.json").read_text())
        return document

    def results(self) -> dict[str, dict[str, Any]]:
        by_json = {c["case_id"]: c for c in self.ledger()["cases"]}
        with (self.out / "batch-results.csv").open(newline="") as stream:
            by_csv = {r["case_id"]: r for r in csv.DictReader(stream)}
        assert set(by_csv) == set(by_json)
        for name, row in by_csv.items():  # the two ledger files say the same
            assert row["status"] == by_json[name]["status"]
            assert row["exit_code"] == ("" if by_json[name]["exit_code"] is None
                                        else str(by_json[name]["exit_code"]))
        return by_json

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@pytest.fixture
def batch(tmp_path: Path) -> Iterator[Batch]:
    """A fresh scenario context; a cluster it started is closed afterwards."""
    context = Batch(tmp_path)
    yield context
    if context.cluster is not None:
        context.cluster.close()


@pytest.fixture(scope="module")
def pelvis_series(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The default pelvis phantom, written once for the module (read only)."""
    written = write_series(make_phantom("pelvis"), tmp_path_factory.mktemp("pelvis"))
    return written.out_dir / "dicom", written.out_dir / "truth" / "landmarks.json"


@dataclass(frozen=True)
class TruthFolder:
    """The pelvis phantom's truth labels as a TotalSegmentator folder, and as class masks."""

    folder: Path
    masks: dict[str, NDArray[np.bool_]]
    labels: NDArray[np.uint8]
    geometry: ImageGeometry


@pytest.fixture(scope="module")
def pelvis_ts(pelvis_series: tuple[Path, Path],
              tmp_path_factory: pytest.TempPathFactory) -> TruthFolder:
    """The module's pelvis phantom's truth labels (truth/labels.npy on the grid of
    truth/geometry.json) split into TotalSegmentator's classes and written as its folder."""
    truth = pelvis_series[1].parent
    labels = np.load(truth / "labels.npy")
    document = json.loads((truth / "geometry.json").read_text())
    geometry = ImageGeometry(np.asarray(document["affine"], dtype=np.float64),
                             tuple(document["shape"]))
    masks = split_truth(labels, geometry, "pelvis")
    folder = tmp_path_factory.mktemp("pelvis-ts") / "ts"
    write_ts_folder(masks, geometry, folder)
    return TruthFolder(folder, masks, labels, geometry)


def _landmarks(batch: Batch) -> Path:
    """The pelvis anatomy's femoral-head landmarks, for rows with no image of their own."""
    path = batch.root / "cases" / "landmarks.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        marks = [m.to_json() for m in build_anatomy(PhantomKind.PELVIS).landmarks]
        path.write_text(json.dumps({"landmarks": marks}))
    return path


def _empty_row(batch: Batch, name: str) -> dict[str, str]:
    folder = batch.root / "cases" / f"empty-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("not a CT\n")
    _landmarks(batch)
    return {"case_id": name, "dicom": folder.name, "procedure": "acetabular-screw",
            "side": "left", "landmarks": "landmarks.json"}


def _pelvis_row(name: str, series: tuple[Path, Path]) -> dict[str, str]:
    return {"case_id": name, "dicom": str(series[0]), "procedure": "acetabular-screw",
            "side": "left", "landmarks": str(series[1])}


# --- given ---------------------------------------------------------------------------------

@given(parsers.parse('a CSV of two cases: "{first}", the pelvis phantom for a left acetabular '
                     'screw, and "{second}", a folder holding no DICOM image'))
def two_cases(batch: Batch, request: pytest.FixtureRequest, first: str, second: str) -> None:
    """One real case, one bad input."""
    batch.rows = [_pelvis_row(first, request.getfixturevalue("pelvis_series")),
                  _empty_row(batch, second)]
    batch.write_csv()


@given(parsers.parse('a case "{name}" added: the same CT and landmarks, with the '
                     "TotalSegmentator folder of the phantom's truth labels in its segmentation "
                     "column, relative to the CSV"))
def segmentation_case(batch: Batch, request: pytest.FixtureRequest, name: str) -> None:
    """The pelvis row again, its segmentation a path relative to the CSV's folder."""
    folder = request.getfixturevalue("pelvis_ts").folder
    row = _pelvis_row(name, request.getfixturevalue("pelvis_series"))
    row["segmentation"] = os.path.relpath(folder, batch.csv.parent)
    assert not Path(row["segmentation"]).is_absolute()
    batch.columns.append("segmentation")
    batch.rows.append(row)
    batch.write_csv()


@given(parsers.parse('a CSV of one case "{name}", the pelvis phantom for a left acetabular '
                     'screw'))
def one_pelvis_case(batch: Batch, request: pytest.FixtureRequest, name: str) -> None:
    """One real case."""
    batch.rows = [_pelvis_row(name, request.getfixturevalue("pelvis_series"))]
    batch.write_csv()


@given(parsers.parse('a CSV of one case "{name}", a folder holding no DICOM image'))
def one_empty_case(batch: Batch, name: str) -> None:
    """One bad-input case."""
    batch.rows = [_empty_row(batch, name)]
    batch.write_csv()


@given(parsers.parse('a CSV of cases "{a}", "{b}" and "{c}", each a folder holding no DICOM '
                     'image'))
def three_empty_cases(batch: Batch, a: str, b: str, c: str) -> None:
    """Three cheap cases."""
    batch.rows = [_empty_row(batch, name) for name in (a, b, c)]
    batch.write_csv()


@when("its cases are read as written and again as a spreadsheet saves it, with a UTF-8 "
      "byte-order mark and CRLF line ends")
def read_both_ways(batch: Batch) -> None:
    """read_cases on the plain file, then on its bytes behind a BOM with CRLF line ends."""
    def read() -> list[Any]:
        return read_cases(batch.csv, out=batch.out, model=reference_model(),
                          audit_log=batch.out / "corridor-audit.jsonl")

    plain_bytes = batch.csv.read_bytes()
    plain = read()
    text = plain_bytes.decode("utf-8").replace("\r\n", "\n").replace("\n", "\r\n")
    batch.csv.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    assert batch.csv.read_bytes().count(b"\r\n") == plain_bytes.count(b"\n") > 0
    batch.read = (plain, read())


@then("both readings give the same three cases with the same requests")
def same_cases(batch: Batch) -> None:
    """Case IDs, row numbers and requests equal."""
    plain, spreadsheet = batch.read
    assert [c.case_id for c in plain] == ["S1", "S2", "S3"]
    assert [(c.case_id, c.row, c.request) for c in spreadsheet] == [
        (c.case_id, c.row, c.request) for c in plain]


@given(parsers.parse("the CSV is changed: {change}"))
def change_csv(batch: Batch, change: str) -> None:
    """One defect per example."""
    row = batch.rows[0]
    if change == "the procedure column removed":
        batch.columns.remove("procedure")
    elif change == "a second row with the same case_id":
        batch.rows.append(dict(row))
    elif change.startswith("the case_id set to "):
        row["case_id"] = change.removeprefix("the case_id set to ")
    elif change.startswith("the procedure set to "):
        row["procedure"] = change.removeprefix("the procedure set to ")
    elif change == "the dicom path set to a missing folder":
        row["dicom"] = "no-such-folder"
    elif change.startswith("the side set to "):
        row["side"] = change.removeprefix("the side set to ")
    elif change == "the landmarks path set to a missing file":
        row["landmarks"] = "no-such-landmarks.json"
    elif change.startswith("the regularize column set to "):
        batch.columns.append("regularize")
        row["regularize"] = change.removeprefix("the regularize column set to ")
    elif change == "the segmentation path set to a missing folder":
        batch.columns.append("segmentation")
        row["segmentation"] = "no-such-segmentation"
    elif change == "a class_map given without a segmentation":
        batch.columns.append("class_map")
        row["class_map"] = "class-map.json"
    elif change == "a class_map holding a list beside a segmentation":
        batch.columns += ["segmentation", "class_map"]
        row["segmentation"], row["class_map"] = row["dicom"], "class-map.json"
        (batch.csv.parent / "class-map.json").write_text('["hip_left"]')
    elif change == "a model given beside a segmentation":
        batch.columns += ["segmentation", "model"]
        row["segmentation"], row["model"] = row["dicom"], "model"
    elif change == "a column named patient_name added":
        batch.columns.append("patient_name")
        row["patient_name"] = "Doe^Jane"
    else:
        raise AssertionError(f"unknown change {change!r}")
    batch.write_csv()


def _local_cluster() -> LocalCluster:
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                        dashboard_address=None, host="127.0.0.1")


@given("a local Dask cluster of two worker processes")
def cluster(batch: Batch) -> None:
    """Started here, closed by the fixture."""
    batch.cluster = _local_cluster()


@given(parsers.parse('a planted fault makes the worker process of any case named "crash-..." '
                     'die at once'))
def planted_crash() -> None:
    """The runner is chosen in the when-step (planted_runners.die_on_crash)."""


# --- when ----------------------------------------------------------------------------------

def _run(batch: Batch, *options: str) -> None:
    argv = ["plan-batch", str(batch.csv), "--out", str(batch.out), *options]
    done = run_corridor(argv)
    batch.status, batch.stdout, batch.stderr = done.status, done.stdout, done.stderr


@when(parsers.parse('corridor plan-batch is run on it with "{options}"'))
def run_batch(batch: Batch, options: str) -> None:
    """In process."""
    _run(batch, *options.split())


@when(parsers.parse('corridor plan-batch is run on it again with "{options}"'))
def run_again(batch: Batch, options: str) -> None:
    """Snapshot the complete case folders and the log first."""
    batch.before = {p.name: ((p / "case.json").read_bytes(), (p / "case.json").stat().st_mtime_ns)
                    for p in batch.out.iterdir() if (p / "case.json").is_file()}
    batch.audit_lines_before = len(batch.records())
    _run(batch, *options.split())


@when("corridor plan-batch is run on it with the cluster's scheduler address")
def run_on_scheduler(batch: Batch) -> None:
    """The address of the cluster the scenario started."""
    assert batch.cluster is not None
    _run(batch, "--scheduler", batch.cluster.scheduler_address)


@when(parsers.parse("the cases run {where} with the planted fault"))
def run_planted(batch: Batch, where: str) -> None:
    """Through the API, with the planted runner in place of run_one."""
    cases = read_cases(batch.csv, out=batch.out, model=reference_model(),
                       audit_log=batch.out / "corridor-audit.jsonl")
    ledger = Ledger(batch.out, cases, {})
    if where == "in a local pool of two processes":
        run_in_pool(cases, ledger, workers=2, runner=planted_runners.die_on_crash)
    else:
        assert where == "on a local Dask cluster of two workers", where
        cloudpickle.register_pickle_by_value(planted_runners)
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            batch.cluster = _local_cluster()
        run_on_cluster(cases, ledger, address=batch.cluster.scheduler_address,
                       runner=planted_runners.die_on_crash)
    ledger.close()


@when("corridor plan-batch is started on it in its own process group and interrupted once the "
      "case has started")
def interrupted(batch: Batch) -> None:
    """SIGINT to the whole process group (as Ctrl-C does) once the case is staging."""
    # Ctrl-C reaches a command whose SIGINT has its default handler; a test runner's worker
    # may pass SIGINT on ignored (inherited across exec), so the child restores it first.
    command = [sys.executable, "-c", "import signal, sys; "
               "signal.signal(signal.SIGINT, signal.default_int_handler); "
               "from corridor.cli import main; sys.exit(main())", "plan-batch", str(batch.csv),
               "--out", str(batch.out), "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    deadline = time.monotonic() + 180
    while not list(batch.out.glob(".P1-left.tmp-*")) and process.poll() is None:
        assert time.monotonic() < deadline, "the case never started"
        time.sleep(0.1)
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGINT)
    batch.stdout, batch.stderr = process.communicate(timeout=180)
    batch.status = process.returncode


# --- then ----------------------------------------------------------------------------------

@then(parsers.parse("it exits with status {status:d}"))
def exits(batch: Batch, status: int) -> None:
    """The documented status."""
    assert batch.status == status, (batch.status, batch.stdout, batch.stderr)


@then(parsers.parse('it exits with status {status:d} naming "{text}"'))
def exits_naming(batch: Batch, status: int, text: str) -> None:
    """The status, and the error names the problem."""
    assert batch.status == status, (batch.status, batch.stdout, batch.stderr)
    assert text in batch.stderr, batch.stderr


@then(parsers.parse('the ledger lists "{a}" as "{sa}" with exit code {ea:d} and "{b}" as '
                    '"{sb}" with exit code {eb:d}'))
def two_results(batch: Batch, a: str, sa: str, ea: int, b: str, sb: str, eb: int) -> None:
    """Both ledger files, every case."""
    results = batch.results()
    assert set(results) == {a, b}
    assert (results[a]["status"], results[a]["exit_code"]) == (sa, ea), results[a]
    assert (results[b]["status"], results[b]["exit_code"]) == (sb, eb), results[b]
    assert batch.ledger()["finished_unix"] is not None


@then(parsers.parse('the ledger lists three cases: "{a}" and "{b}" {sab} with exit code '
                    '{eab:d}, "{c}" {sc} with exit code {ec:d}'))
def three_listed(batch: Batch, a: str, b: str, sab: str, eab: int, c: str, sc: str,
                 ec: int) -> None:
    """Both ledger files, every case."""
    results = batch.results()
    assert set(results) == {a, b, c}
    for name in (a, b):
        assert (results[name]["status"], results[name]["exit_code"]) == (sab, eab), results[name]
    assert (results[c]["status"], results[c]["exit_code"]) == (sc, ec), results[c]
    assert batch.ledger()["finished_unix"] is not None


@then(parsers.parse('the ledger lists "{a}" as "{sa}" and "{b}" and "{c}" as "{sbc}"'))
def three_results(batch: Batch, a: str, sa: str, b: str, c: str, sbc: str) -> None:
    """Every case of the CSV, with its status."""
    results = batch.results()
    assert set(results) == {a, b, c}
    assert results[a]["status"] == sa, results[a]
    assert results[b]["status"] == results[c]["status"] == sbc, (results[b], results[c])
    assert results[a]["attempts"] == 2  # it was given a pool of its own before being lost


@then(parsers.parse('the ledger lists every case as "{status}"'))
def all_status(batch: Batch, status: str) -> None:
    """Nothing ran."""
    assert {r["status"] for r in batch.results().values()} == {status}


@then(parsers.parse('the ledger lists "{name}" as "{status}" and says the batch finished'))
def one_status_finished(batch: Batch, name: str, status: str) -> None:
    """The one case's status; the end time stamped."""
    assert batch.results()[name]["status"] == status
    assert batch.ledger()["finished_unix"] is not None


@then(parsers.parse('no case is "{status}"'))
def none_with(batch: Batch, status: str) -> None:
    """Every case has a result."""
    assert status not in {r["status"] for r in batch.results().values()}


@then(parsers.parse('the case folder of "{name}" is complete, its plan made on its own label '
                    "map, and the ledger holds its case.json's SHA-256"))
def complete_case(batch: Batch, name: str) -> None:
    """Hashes recomputed from the files."""
    folder = batch.out / name
    record = json.loads((folder / "case.json").read_text())
    files = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in folder.rglob("*") if p.is_file() and p.name != "case.json"}
    assert record["outputs"] == files
    assert {"plan/plan.json", "plan/implant.stl", "segmentation/seg.dcm", "report.html"} <= set(
        files)
    plan = json.loads((folder / "plan" / "plan.json").read_text())
    assert plan["verdict"] == "safe"
    assert plan["inputs"]["label_map"]["sha256"] == files["segmentation/labels.nii.gz"]
    digest = hashlib.sha256((folder / "case.json").read_bytes()).hexdigest()
    assert batch.results()[name]["case_record_sha256"] == digest


def _outputs(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file() and p.name != "case.json"}


@then(parsers.parse('the case folder of "{name}" is complete and records the TotalSegmentator '
                    "folder it was planned on, with no model run"))
def segmentation_case_folder(batch: Batch, request: pytest.FixtureRequest, name: str) -> None:
    """case.json lists its files (hashed here) and the masks read with their SHA-256 (hashed
    here from the folder the scenario wrote); no inference output; plan.json safe, made on
    the segmentation as the case wrote it on the CT's grid."""
    ts: TruthFolder = request.getfixturevalue("pelvis_ts")
    folder = batch.out / name
    record = json.loads((folder / "case.json").read_text())
    files = _outputs(folder)
    assert record["outputs"] == files
    assert "segmentation/run.json" not in files
    assert "segmentation/seg.dcm" not in files
    given = record["segmentation"]
    assert given["format"] == "totalsegmentator-folder"
    assert given["files_sha256"] == {
        f"{n}.nii.gz": hashlib.sha256((ts.folder / f"{n}.nii.gz").read_bytes()).hexdigest()
        for n in ts.masks}
    assert given["skipped"] == ["spleen", "urinary_bladder"]
    assert given["resampling"] is None
    assert record["model"]["name"] == "segmentation:totalsegmentator-folder"
    plan = json.loads((folder / "plan" / "plan.json").read_text())
    assert plan["verdict"] == "safe"
    assert plan["inputs"]["label_map"]["sha256"] == files["segmentation/labels.nii.gz"]
    assert batch.results()[name]["case_record_sha256"] == hashlib.sha256(
        (folder / "case.json").read_bytes()).hexdigest()


def _trajectory(batch: Batch, name: str) -> Trajectory:
    implant = json.loads((batch.out / name / "plan" / "plan.json").read_text())["trajectory"]
    return Trajectory(np.asarray(implant["entry_lps_mm"], dtype=np.float64),
                      np.asarray(implant["direction_lps"], dtype=np.float64),
                      float(implant["length_mm"]), float(implant["diameter_mm"]))


def _model_segmentation(batch: Batch, name: str) -> LabelMap:
    """The case's label map, named as the shipped model's manifest names its labels."""
    manifest = json.loads((reference_model() / "manifest.json").read_text())
    read = read_label_map(batch.out / name / "segmentation" / "labels.nii.gz")
    return LabelMap(read.labels, read.geometry,
                    tuple(str(label["name"]) for label in manifest["labels"]))


@then(parsers.parse("the reference model's bone and vessel boundaries in \"{name}\" lie within "
                    "{limit:f} mm of the phantom's truth near both trajectories (95th "
                    "percentile)"))
def model_boundary(batch: Batch, request: pytest.FixtureRequest, name: str,
                   limit: float) -> None:
    """The premise of the agreement tolerance: HD95 of each structure against the truth
    labels, over the boundary voxels within 25 mm of either plan's implant axis."""
    ts: TruthFolder = request.getfixturevalue("pelvis_ts")
    model = _model_segmentation(batch, name)
    assert model.geometry.same_as(ts.geometry, 1e-6)
    near = np.zeros(ts.geometry.shape, dtype=bool)
    for case in (p.name for p in batch.out.iterdir() if (p / "plan" / "plan.json").is_file()):
        implant = _trajectory(batch, case)
        near |= near_axis(ts.geometry, implant.entry, implant.tip, 25.0)
    for structure, truth_labels in (("bone", (Label.CORTICAL_BONE, Label.CANCELLOUS_BONE)),
                                    ("vessel", (Label.VESSEL,))):
        error = boundary_error_mm(np.isin(ts.labels, truth_labels),
                                  model.labels == model.names.index(structure), ts.geometry,
                                  near)
        assert error <= limit, (structure, error)


@then(parsers.parse('the plans of "{a}" and "{b}" agree: entry and tip within {mm:f} mm, '
                    "direction within {degrees:f} degrees"))
def plans_agree(batch: Batch, a: str, b: str, mm: float, degrees: float) -> None:
    """Distances between the entries and between the tips; the angle between the axes."""
    first, second = _trajectory(batch, a), _trajectory(batch, b)
    entry = float(np.linalg.norm(first.entry - second.entry))
    tip = float(np.linalg.norm(first.tip - second.tip))
    cosine = float(np.clip(first.direction @ second.direction, -1.0, 1.0))
    angle = float(np.degrees(np.arccos(cosine)))
    figures = {"entry_mm": entry, "tip_mm": tip, "angle_deg": angle}
    assert entry <= mm, figures
    assert tip <= mm, figures
    assert angle <= degrees, figures


@then(parsers.parse('the trajectories of "{a}" and "{b}", each measured on the other\'s '
                    "segmentation, meet every clearance"))
def measured_on_other(batch: Batch, request: pytest.FixtureRequest, a: str, b: str) -> None:
    """The model's trajectory on the truth classes and the other's on the model's labels:
    every clearance's guaranteed lower bound at least its requirement."""
    ts: TruthFolder = request.getfixturevalue("pelvis_ts")
    procedure = load_procedure("acetabular-screw")
    landmarks = load_landmarks(request.getfixturevalue("pelvis_series")[1])
    for trajectory, segmentation in ((_trajectory(batch, a), masks_label_map(ts.masks,
                                                                            ts.geometry)),
                                     (_trajectory(batch, b), _model_segmentation(batch, a))):
        prepared = prepare_case(segmentation, procedure, side=Side.LEFT, landmarks=landmarks)
        assert not prepared.not_checked
        measured = measure_clearances(prepared.problem, trajectory, step_mm=0.1,
                                      cap_mm=prepared.cap_mm)
        assert len(measured) == 4
        for clearance in measured:
            assert clearance.margin_mm >= 0.0, (clearance.structure, clearance.guaranteed_mm,
                                                clearance.required_mm)


@then(parsers.parse('there is no case folder of "{name}"'))
def no_case_folder(batch: Batch, name: str) -> None:
    """Failed input leaves nothing."""
    assert not (batch.out / name).exists()


@then("the audit log is intact with one record per case and one for the batch, whose counts "
      "match the ledger")
def audit_per_case(batch: Batch) -> None:
    """Chain verified by the command; the records since the previous batch record read."""
    done = run_corridor(["audit", "verify", str(batch.log)])
    assert done.status == 0, done.stdout + done.stderr
    records = batch.records()[batch.audit_lines_before:]
    ledger = batch.ledger()
    run = [r for r in ledger["cases"] if not r["resumed"]]
    assert [r["event"] for r in records] == ["corridor plan"] * len(run) + [
        "corridor plan-batch"]
    final = records[-1]
    assert final["counts"] == ledger["counts"]
    assert final["outcome"] == "complete"
    assert final["outputs_sha256"]["batch.json"] == hashlib.sha256(
        (batch.out / "batch.json").read_bytes()).hexdigest()
    assert final["inputs"]["cases_csv_sha256"] == hashlib.sha256(batch.csv.read_bytes()
                                                                 ).hexdigest()
    outcomes = sorted(r["outcome"] for r in records[:-1])
    expected = sorted("failed" if r["status"] == "input-error" else r["status"] for r in run)
    assert outcomes == expected


@then(parsers.parse("corridor audit verify exits 0 with {records:d} records and 1 anchor, "
                   "batch.json's, naming record {sequence:d}"))
def anchored_batch(batch: Batch, records: int, sequence: int) -> None:
    """The ledger's anchor names the log, the batch's record and the record before it."""
    done = run_corridor(["audit", "verify", str(batch.log)])
    assert done.status == 0, done.stdout + done.stderr
    assert f"{records} record(s)" in done.stdout, done.stdout
    assert "1 anchor(s)" in done.stdout, done.stdout
    lines = batch.records()
    assert batch.ledger()["audit"] == {"log": batch.log.name, "sequence": sequence,
                                      "previous_sha256": lines[sequence - 2]["record_sha256"]}
    assert lines[sequence - 1]["event"] == "corridor plan-batch"


@when(parsers.parse("the last {cut} of the audit log are cut"))
def cut_tail(batch: Batch, cut: str) -> None:
    """The last line, or the last three."""
    count = {"record": 1, "three records": 3}[cut]
    lines = batch.log.read_text().splitlines(keepends=True)
    batch.log.write_text("".join(lines[:-count]))


@then(parsers.parse("corridor audit verify exits 1 naming the batch folder's batch.json, its "
                   "record {sequence:d} missing and the log ending at record {left:d}"))
def cut_reported(batch: Batch, sequence: int, left: int) -> None:
    """Named by folder and file, with the record and where the log now ends."""
    done = run_corridor(["audit", "verify", str(batch.log)])
    assert done.status == 1, done.stdout + done.stderr
    assert (f"batch folder {batch.out.name} (batch.json): its record {sequence} is missing: "
            f"the log ends at record {left}") in done.stdout, done.stdout


@then(parsers.parse('"{kept}" was not run again and "{rerun}" was run again'))
def resumed(batch: Batch, kept: str, rerun: str) -> None:
    """The complete folder untouched (bytes and time); the failed case tried once more."""
    folder = batch.out / kept
    assert ((folder / "case.json").read_bytes(),
            (folder / "case.json").stat().st_mtime_ns) == batch.before[kept]
    results = batch.results()
    assert results[kept]["resumed"] is True
    assert results[rerun]["resumed"] is False
    assert results[rerun]["attempts"] == 1


@then("the ledger names for every case a worker process of the cluster")
def cluster_workers(batch: Batch) -> None:
    """Process IDs asked of the cluster itself."""
    assert batch.cluster is not None
    with Client(batch.cluster.scheduler_address, set_as_default=False) as client:
        pids = {str(pid) for pid in client.run(os.getpid).values()}
    assert str(os.getpid()) not in pids
    for result in batch.results().values():
        assert result["worker"].rsplit(":", 1)[1] in pids, (result["worker"], pids)


@then("the batch folder holds no case folder and no temporary folder")
def nothing_half_written(batch: Batch) -> None:
    """Only the ledger files and the audit log."""
    assert sorted(p.name for p in batch.out.iterdir()) == [
        "batch-results.csv", "batch.json", "corridor-audit.jsonl"]


@then(parsers.parse('the audit log is intact and its last record says the batch was "{outcome}"'))
def audit_interrupted(batch: Batch, outcome: str) -> None:
    """The case's own record says failed; the batch's record says how the batch ended."""
    checked = verify_log(batch.log)
    assert not checked.breaks, checked.breaks
    records = batch.records()
    assert [(r["event"], r["outcome"]) for r in records] == [
        ("corridor plan", "failed"), ("corridor plan-batch", outcome)]
    assert records[0]["error"] == "KeyboardInterrupt"


@then("there is no batch folder")
def no_batch_folder(batch: Batch) -> None:
    """Refused before anything was written."""
    assert not batch.out.exists()
