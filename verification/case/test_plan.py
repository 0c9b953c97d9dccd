"""Step definitions of ``verification/features/case/plan.feature``: the planning job, one case.

Verifies ``corridor plan`` end to end on the pelvis phantom: the complete case folder and its
hashes, the plan made on the case's own label map (with no landmarks file: the femoral heads
found on the model's labels, within 0.5 mm of the phantom's anatomy), the audit record of a run
(and of a failed one), no patient data in the log, a tamper-evident audit chain, and the case
report with the found landmarks.

Also verifies that a series stripped of every attribute Corridor does not need still makes a
complete case, whose records list what the DICOM SEG holds empty.

Oracles: the files of the case folder (hashed here), the phantom's DICOM headers (the patient
values that must not reach the log), a recomputation of the audit chain's hashes in the
scenario, the exit statuses the command documents, and the DICOM standard's module tables
(shipped with highdicom) for the attributes a SEG must hold.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

import corridor
from corridor.audit import append_record
from corridor.case.batch import BatchCase, run_one
from corridor.case.job import CaseRequest
from corridor.planning import Side, load_landmarks
from corridor_phantoms import make_phantom, write_series
from corridor_phantoms.anatomy import build_anatomy
from corridor_phantoms.enum import PhantomKind
from verification.command_run import run_corridor
from verification.foundation.helpers import file_modes, stamp_of
from verification.inference.helpers import (
    GEOMETRY_AND_INTENSITY,
    missing_required,
    patient_and_study_attributes,
    remove_attributes,
    written_attributes,
)
from verification.ingest.helpers import add_dose_summary, add_scout_series
from verification.trace.helpers import table_rows

scenarios("case/plan.feature")


@dataclass
class Case:
    """What one scenario built and what the command did."""

    root: Path
    dicom: Path | None = None
    landmarks: Path | None = None
    removed: tuple[str, ...] = ()
    tilt_deg: float = 0.0
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    head: str = ""

    @property
    def out(self) -> Path:
        return self.root / "case"

    @property
    def log(self) -> Path:
        return self.root / "audit.jsonl"


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


@given("the pelvis phantom written as DICOM with its landmarks")
def pelvis(case: Case) -> None:
    """Default pelvis phantom."""
    written = write_series(make_phantom("pelvis"), case.root / "pelvis")
    case.dicom = written.out_dir / "dicom"
    case.landmarks = written.out_dir / "truth" / "landmarks.json"


@given("its folder also holds a scout series and a dose report, as a study export does")
def study_export(case: Case) -> None:
    """Scouts and a dose report beside the axial series, so that no --series is needed."""
    assert case.dicom is not None
    template = sorted(case.dicom.glob("*.dcm"))[0]
    add_scout_series(template, case.dicom)
    add_dose_summary(template, case.dicom)


@given("a folder holding no DICOM image")
def no_dicom(case: Case) -> None:
    """A text file only."""
    folder = case.root / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a CT\n")
    case.dicom = folder


@given("a planted defect makes the meshing stage raise an error")
def broken_meshing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A defect, not bad input: a plain RuntimeError."""
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("planted defect")

    monkeypatch.setattr("corridor.case.job.mesh_label_map", broken)


@given("mesh QA allows no difference between a surface's volume and its voxels' volume")
def strict_mesh_qa(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real QA runs and refuses: a smoothed surface never encloses exactly its voxels."""
    monkeypatch.setattr("corridor.meshing.quality.VOLUME_ERROR_LIMIT", 0.0)


@when("corridor plan is run on it for a left acetabular screw")
def run_plan(case: Case, options: tuple[str, ...] = ()) -> None:
    """In process; the audit log in the scenario folder."""
    assert case.dicom is not None
    argv = ["plan", str(case.dicom), "--procedure", "acetabular-screw", "--side", "left",
            "--out", str(case.out), "--audit-log", str(case.log), *options]
    if case.landmarks is not None:
        argv += ["--landmarks", str(case.landmarks)]
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr


@when("corridor plan is run on it for a left acetabular screw with no landmarks file")
def run_plan_finding(case: Case) -> None:
    """As above without --landmarks or --landmark: the femoral heads are found."""
    case.landmarks = None
    run_plan(case)


@when("corridor plan --regularize is run on it for a left acetabular screw")
def run_plan_regularized(case: Case) -> None:
    """As above, resampling a tilted or unevenly spaced series."""
    run_plan(case, ("--regularize",))


@given("the pelvis phantom acquired through a tilted gantry, written as DICOM with its landmarks")
def tilted_pelvis(case: Case) -> None:
    """The default pelvis with the gantry-tilt fault (12 degrees, the table moving straight)."""
    written = write_series(make_phantom("pelvis"), case.root / "pelvis", faults=["gantry-tilt"])
    case.dicom = written.out_dir / "dicom"
    case.landmarks = written.out_dir / "truth" / "landmarks.json"
    case.tilt_deg = float(written.manifest["request"]["gantry_tilt_deg"])


@then("without --regularize it is refused with exit 2 for the gantry tilt, naming the option")
def refused_without(case: Case) -> None:
    """The default: refused, and the refusal points at the option."""
    assert case.dicom is not None
    done = run_corridor(["plan", str(case.dicom), "--procedure", "acetabular-screw", "--side",
                         "left", "--out", str(case.root / "refused"), "--audit-log",
                         str(case.log), "--landmarks", str(case.landmarks)])
    said = done.stderr.replace("\n", " ")
    assert done.status == 2, (done.stdout, done.stderr)
    assert "gantry-tilt" in said
    assert "--regularize" in said
    assert not (case.root / "refused").exists()


@then("run.json, case.json and the audit record carry the regularisation with the tilt the "
      "phantom was written with")
def regularization_recorded(case: Case) -> None:
    """Reasons and tilt in every record (the tilt from the phantom's own parameters)."""
    run = json.loads((case.out / "segmentation" / "run.json").read_text())
    record = json.loads((case.out / "case.json").read_text())
    audit = json.loads(case.log.read_text().splitlines()[-1])
    for regularization in (run["input"]["regularization"], record["inputs"]["regularization"],
                           audit["inputs"]["regularization"]):
        assert regularization["reasons"] == ["gantry-tilt"]
        assert abs(regularization["tilt_deg"] - abs(case.tilt_deg)) < 0.01
    assert run["spatial_operations"][0]["operation"] == "regularize"
    assert "regularized" in [flag["code"] for flag in record["flags"]]


@then("report.html shows the review flag regularized")
def report_flag(case: Case) -> None:
    """The flag among the report's review flags."""
    html = (case.out / "report.html").read_text(encoding="utf-8")
    assert '<p class="flag">regularized: resampled onto a regular grid' in html


@then("it exits with status 0 and the case folder holds the segmentation, SEG, uncertainty map, "
      "meshes, plan, implant and risk map")
def complete(case: Case) -> None:
    """Every expected file."""
    assert case.status == 0, (case.stdout, case.stderr)
    for name in ("segmentation/labels.nii.gz", "segmentation/seg.dcm",
                 "segmentation/entropy.nii.gz", "segmentation/run.json", "meshes/meshes.json",
                 "meshes/bone.lps.stl", "meshes/vessel.lps.stl", "plan/plan.json",
                 "plan/implant.stl", "plan/risk-map.png", "case.json"):
        assert (case.out / name).is_file(), name


@then("case.json records the SHA-256 of every file of the case folder")
def hashes(case: Case) -> None:
    """Recomputed from the files."""
    record = json.loads((case.out / "case.json").read_text())
    files = {p.relative_to(case.out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in case.out.rglob("*") if p.is_file() and p.name != "case.json"}
    assert record["outputs"] == files


@then("the plan is safe and was made on the case's own label map")
def own_plan(case: Case) -> None:
    """The plan's label-map hash is the case's labels file."""
    plan = json.loads((case.out / "plan" / "plan.json").read_text())
    assert plan["verdict"] == "safe"
    labels = (case.out / "segmentation" / "labels.nii.gz").read_bytes()
    assert plan["inputs"]["label_map"]["sha256"] == hashlib.sha256(labels).hexdigest()


@then("plan.json records both femoral heads as found on the model's label map, within 0.5 mm of "
      "the phantom's (centre and radius), with their fit quality, and the summary lists them")
def heads_found(case: Case) -> None:
    """Against the phantom's anatomy (build_anatomy), not the finder."""
    plan = json.loads((case.out / "plan" / "plan.json").read_text())
    recorded = {m["name"]: m for m in plan["inputs"]["landmarks"]}
    anatomy = {m.name: m for m in build_anatomy(PhantomKind.PELVIS).landmarks}
    assert set(recorded) == set(anatomy)
    for name, truth in anatomy.items():
        found = recorded[name]
        assert found["source"] == "found"
        error = math.dist(found["centre_lps_mm"], truth.centre)
        assert error <= 0.5, (name, error)
        assert abs(found["radius_mm"] - 24.0) <= 0.5, found
        assert 0 < found["fit"]["ci95_radius_mm"] <= 0.5
        assert found["fit"]["rms_mm"] > 0
        assert 0 < found["fit"]["inlier_fraction"] <= 1
        assert f"landmark {name} (found)" in case.stdout, case.stdout


@then("report.html shows every landmark's source and fit quality, an axial and a coronal slice "
      "through each found head, and the found spheres in the 3-D view's scene")
def report_landmarks(case: Case) -> None:
    """The table's rows, the extra slices (PNG) and the scene's objects."""
    import base64
    import re

    html = (case.out / "report.html").read_text()
    plan = json.loads((case.out / "plan" / "plan.json").read_text())
    for mark in plan["inputs"]["landmarks"]:
        row = (f"<tr><td>{mark['name']}</td><td>found</td>"
               f"<td>{', '.join(str(round(v, 2)) for v in mark['centre_lps_mm'])}</td>"
               f"<td>{mark['radius_mm']:.2f}</td><td>{mark['fit']['rms_mm']:.2f}</td>")
        assert row in html, row
        for plane in ("axial", "coronal"):
            image = re.search(rf'alt="{mark["name"]} {plane} slice \(found landmark\)" '
                              r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
            assert image is not None, (mark["name"], plane)
            assert base64.b64decode(image.group(1))[:8] == b"\x89PNG\r\n\x1a\n"
    scene = json.loads(html.split('<script type="application/json" id="scene">')[1]
                       .split("</script>")[0])
    spheres = {o["name"]: o for o in scene if o["name"].endswith("(found)")}
    assert set(spheres) == {f"{m['name']} (found)" for m in plan["inputs"]["landmarks"]}
    for mark in plan["inputs"]["landmarks"]:
        points = np.asarray(spheres[f"{mark['name']} (found)"]["positions"]).reshape(-1, 3)
        radii = np.linalg.norm(points - np.asarray(mark["centre_lps_mm"]), axis=1)
        assert np.allclose(radii, mark["radius_mm"], atol=0.01)


@then("the audit record lists both femoral heads as found")
def audited_landmarks(case: Case) -> None:
    """Names and sources, no coordinates."""
    record = _records(case)[-1]
    assert record["landmarks"] == [{"name": "left-femoral-head", "source": "found"},
                                   {"name": "right-femoral-head", "source": "found"}]


def _records(case: Case) -> list[dict[str, Any]]:
    return [json.loads(line) for line in case.log.read_text().splitlines() if line.strip()]


def _verify(case: Case, *options: str, log: Path | None = None) -> tuple[int, str]:
    done = run_corridor(["audit", "verify", str(log or case.log), *options])
    return done.status, done.stdout + done.stderr


def _record_sha256(record: dict[str, Any]) -> str:
    """The hash as the module docstring of corridor.audit defines it, recomputed here."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode("ascii")).hexdigest()


@then("the audit log holds one intact record of the run with the model's SHA-256 and the "
      "outputs' hashes")
def audited(case: Case) -> None:
    """One record; the chain verifies; its hashes equal the files'."""
    records = _records(case)
    assert len(records) == 1
    record = records[0]
    assert record["outcome"] == "safe"
    model = Path(__file__).parents[2] / "software" / "corridor" / "inference" / "models"
    onnx = model / "reference-bone-vessel" / "model.onnx"
    assert record["model"]["sha256"] == hashlib.sha256(onnx.read_bytes()).hexdigest()
    case_json = (case.out / "case.json").read_bytes()
    assert record["outputs_sha256"]["case.json"] == hashlib.sha256(case_json).hexdigest()
    assert _verify(case)[0] == 0


@then("case.json anchors that record, and with the record cut from the log corridor audit verify "
      "exits 1 naming the case folder")
def anchored(case: Case) -> None:
    """The anchor names the log, the record's sequence and the hash before it (the first
    record's: zeros); a copy of case.json beside a copy of the log with the record cut is
    reported, the scenario's own log left whole for the steps after."""
    document = json.loads((case.out / "case.json").read_text())
    assert document["audit"] == {"log": case.log.name, "sequence": 1, "previous_sha256": "0" * 64}
    status, output = _verify(case)
    assert status == 0, output
    assert "1 anchor(s)" in output, output
    copy = case.root / "cut"
    (copy / case.out.name).mkdir(parents=True)
    (copy / case.out.name / "case.json").write_bytes((case.out / "case.json").read_bytes())
    lines = case.log.read_text().splitlines(keepends=True)
    (copy / case.log.name).write_text("".join(lines[:-1]))
    status, output = _verify(case, log=copy / case.log.name)
    assert status == 1, output
    assert f"case folder {case.out.name} (case.json): its record 1 is missing: the log ends at " \
           "record 0" in output, output


@then("no patient name or ID of the CT appears in the audit log")
def no_patient(case: Case) -> None:
    """The phantom's PatientName and PatientID, read from its first file."""
    assert case.dicom is not None
    first = sorted(case.dicom.iterdir())[0]
    header = pydicom.dcmread(first, stop_before_pixels=True)
    text = case.log.read_text()
    for value in (str(header.PatientName), str(header.PatientID)):
        assert value
        assert value not in text
    assert str(case.dicom) not in text


@then(parsers.parse("it exits with status {status:d} and there is no case folder"))
def nothing(case: Case, status: int) -> None:
    """No folder, and no temporary sibling left."""
    assert case.status == status, (case.stdout, case.stderr)
    assert not case.out.exists()
    assert not [p for p in case.root.iterdir() if p.name.startswith(".case.tmp")]


@then(parsers.parse('standard error names "{text}"'))
def names(case: Case, text: str) -> None:
    """The check named in the one error line."""
    assert text in case.stderr, case.stderr


@then(parsers.parse('the same case run as a batch worker is recorded "{status}" with exit code '
                    '{code:d}'))
def ledgered(case: Case, status: str, code: int) -> None:
    """plan-batch's worker function, in this process (a planted QA limit applies to it)."""
    assert case.dicom is not None
    assert case.landmarks is not None
    model = Path(corridor.__file__).parent / "inference" / "models" / "reference-bone-vessel"
    request = CaseRequest(dicom=case.dicom, procedure="acetabular-screw", model=model,
                          out=case.root / "batch" / "one", side=Side.LEFT,
                          landmarks=load_landmarks(case.landmarks),
                          audit_log=case.root / "batch-audit.jsonl")
    result = run_one(BatchCase("one", 2, request))
    assert (result.status.value, result.exit_code) == (status, code), result.message
    assert "mesh QA" in (result.message or "")
    assert not (case.root / "batch" / "one").exists()


@then("run.json, meshes.json, plan.json, case.json and the audit record all name the software "
      "the build stamped")
def software_named(case: Case) -> None:
    """Each record's software block equals the stamp file's values (read as text)."""
    stamp = stamp_of(Path(corridor.__file__).parent / "_stamp.py")
    expected = {"name": stamp["NAME"], "version": stamp["VERSION"], "commit": stamp["COMMIT"],
                "dirty": stamp["DIRTY"], "build": stamp["BUILD"]}
    for name in ("segmentation/run.json", "meshes/meshes.json", "plan/plan.json", "case.json"):
        assert json.loads((case.out / name).read_text())["software"] == expected, name
    assert [r["software"] for r in _records(case)] == [expected]


@then("every file of the case folder is mode 0644 and every folder 0755")
def case_modes(case: Case) -> None:
    """Under the umask 022 the scenario set."""
    files, folders = file_modes(case.out)
    assert len(files) > 10
    assert set(files.values()) == {0o644}, files
    assert set(folders.values()) == {0o755}, folders


@then(parsers.parse('the audit log\'s record of the run says "{outcome}"'))
def audited_failure(case: Case, outcome: str) -> None:
    """The failed run is recorded too."""
    records = _records(case)
    assert records[-1]["outcome"] == outcome
    assert _verify(case)[0] == 0


@given("an audit log of three records")
def three_records(case: Case) -> None:
    """Written by the function corridor plan uses."""
    for n in range(3):
        append_record(case.log, {"event": "test", "user": f"user-{n}", "outcome": "safe"})


@when(parsers.parse("its records are {tampering}"))
def tamper(case: Case, tampering: str) -> None:
    """Edit, remove or reorder lines."""
    lines = case.log.read_text().splitlines()
    if tampering.startswith("edited"):
        record = json.loads(lines[1])
        record["user"] = "someone-else"
        lines[1] = json.dumps(record, sort_keys=True)
    elif tampering.startswith("removed"):
        del lines[1]
    elif tampering.startswith("reordered"):
        lines[1], lines[2] = lines[2], lines[1]
    case.log.write_text("\n".join(lines) + "\n")


@when("its head, as corridor audit verify prints it, is written down and its last record is cut "
      "from the log")
def write_down_head(case: Case) -> None:
    """The head printed is the last record's sequence and its hash, recomputed here."""
    import re

    status, output = _verify(case)
    assert status == 0, output
    found = re.search(r"head (3:[0-9a-f]{64})", output)
    assert found is not None, output
    case.head = found[1]
    lines = case.log.read_text().splitlines(keepends=True)
    assert case.head == f"3:{_record_sha256(json.loads(lines[-1]))}"
    case.log.write_text("".join(lines[:-1]))


@then('corridor audit verify without the head still reads "chain intact", the limit the README '
      "states")
def limit(case: Case) -> None:
    """No anchor beside the log: the cut is not seen, as the README says."""
    status, output = _verify(case)
    assert status == 0, output
    assert "chain intact" in output, output


@then("corridor audit verify --expect with the head written down exits 1 naming record 3 missing, "
      "the log ending at record 2")
def expected_head(case: Case) -> None:
    """The head written down is looked for and not found."""
    status, output = _verify(case, "--expect", case.head)
    assert status == 1, output
    assert "--expect 3: its record 3 is missing: the log ends at record 2" in output, output


@then("corridor audit verify exits with status 0, chain intact")
def intact(case: Case) -> None:
    """Untouched."""
    status, output = _verify(case)
    assert status == 0, output
    assert "chain intact" in output


@then(parsers.parse("corridor audit verify exits with status 1 naming line {line:d}"))
def broken(case: Case, line: int) -> None:
    """The first broken line is named."""
    status, output = _verify(case)
    assert status == 1, output
    assert f"line {line}:" in output


# --- case report ----------------------------------------------------------------------------------

def _chromium() -> str:
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError("no Chromium on this machine: the report's 3-D view cannot be checked")


def _dump_dom(report: Path) -> str:
    import subprocess

    done = subprocess.run([_chromium(), "--headless=new", "--no-sandbox",
                           "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                           "--virtual-time-budget=5000", "--dump-dom", report.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    return done.stdout


@then("plan.json measures the trajectory again on the alternatives p>=0.3 and p>=0.7, the summary "
      "prints the margins, the report tabulates them, and verdict-uncertain is raised exactly "
      "when a margin changes sign")
def plan_uncertainty(case: Case) -> None:
    """The uncertainty block's nominal margins are the plan's; the flag in case.json follows the
    signs of the margins written (not the code's own verdict on them)."""
    plan = json.loads((case.out / "plan" / "plan.json").read_text())
    block = plan["uncertainty"]
    assert [a["name"] for a in block["alternatives"]] == ["p>=0.3", "p>=0.7"]
    margins = {c["structure"]: c["margin_mm"] for c in plan["clearances"]}
    rows = {row["structure"]: row for row in block["clearances"]}
    assert set(rows) == set(margins)
    flips = 0
    for name, row in rows.items():
        assert row["nominal_margin_mm"] == margins[name]
        for value in row["alternatives"].values():
            flips += (value["margin_mm"] >= 0) != (margins[name] >= 0)
    codes = [f["code"] for f in json.loads((case.out / "case.json").read_text())["flags"]]
    assert ("verdict-uncertain" in codes) == (flips > 0)
    assert "margin under the segmentation's alternatives (mm): nominal / p>=0.3 / p>=0.7" in (
        case.stdout)
    html = (case.out / "report.html").read_text()
    assert "<h2>Uncertainty along the trajectory</h2>" in html
    assert "<th>p&gt;=0.3</th>" in html


@then("report.html shows the verdict, the clearance table, three labelled slices and the review "
      "flags")
def report_content(case: Case) -> None:
    """Read from the file; the slices are PNGs embedded in the page."""
    import base64
    import re

    html = (case.out / "report.html").read_text()
    plan = json.loads((case.out / "plan" / "plan.json").read_text())
    assert f'class="verdict safe">{plan["verdict"]}<' in html
    for item in plan["clearances"]:
        assert f"<td>{item['structure']}</td>" in html
    slices = re.findall(r'alt="(axial|coronal|sagittal) slice" src="data:image/png;base64,'
                        r'([A-Za-z0-9+/=]+)"', html)
    assert [s[0] for s in slices] == ["axial", "coronal", "sagittal"]
    assert all(base64.b64decode(s[1])[:8] == b"\x89PNG\r\n\x1a\n" for s in slices)
    record = json.loads((case.out / "case.json").read_text())
    for flag in record["flags"]:
        assert flag["code"] in html


@then("in headless Chromium the report's 3-D view draws the scene with no script error")
def chromium_view(case: Case) -> None:
    """The page reports readiness and how many canvas pixels differ from the background."""
    import re

    dom = _dump_dom(case.out / "report.html")
    assert 'data-viewer="ready"' in dom, dom[-2000:]
    assert "data-viewer-errors" not in dom
    pixels = re.search(r'data-viewer-pixels="(\d+)"', dom)
    assert pixels is not None
    assert int(pixels.group(1)) > 5000, pixels.group(1)


@then("the report's 3-D view tints bone and vessel by the model's entropy across their surfaces, "
      "as entropy.nii.gz read with nibabel gives it at every vertex, and its legend says so")
def entropy_tint(case: Case) -> None:
    """Every vertex's colour against :func:`verification.case.helpers.expected_tint` on the
    entropy map the case folder holds (nibabel; its RAS affine turned to LPS); the page holds
    colours to 2 decimals, and the oracle reads the same float32 values (0.005 allowed, with
    0.0005 for the float64 sums)."""
    from verification.case.helpers import expected_tint, report_scene
    from verification.inference.helpers import read_nifti

    values, affine_ras = read_nifti(case.out / "segmentation" / "entropy.nii.gz")
    affine_lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine_ras
    scene = {o["name"]: o for o in report_scene(case.out / "report.html")}
    for name in ("bone", "vessel"):
        shown = scene[name]
        positions = np.asarray(shown["positions"], np.float64).reshape(-1, 3)
        colours = np.asarray(shown["colours"], np.float64).reshape(-1, 3)
        _, expected = expected_tint(positions, np.asarray(shown["indices"]).reshape(-1, 3),
                                    values, affine_lps, np.asarray(shown["colour"][:3]))
        assert colours.shape == positions.shape
        assert float(np.abs(colours - expected).max()) <= 0.0055, name
    html = (case.out / "report.html").read_text()
    assert "Surfaces tinted by the predictive entropy of the model (a single model)" in html
    assert "uncertain region" not in scene  # a single model's entropy draws no region


@given(parsers.parse('every file\'s Patient Name is "{name}" and Patient ID "{patient_id}"'))
def hostile_patient(case: Case, name: str, patient_id: str) -> None:
    """Rewritten in every file of the series."""
    assert case.dicom is not None
    for path in case.dicom.iterdir():
        dataset = pydicom.dcmread(path)
        dataset.PatientName = name
        dataset.PatientID = patient_id
        dataset.save_as(path)


@then("report.html shows both values as text and holds no element from them")
def patient_escaped(case: Case) -> None:
    """Python's HTML parser: only the page's own two script elements."""
    import html.parser

    class Tags(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append(tag)

    assert case.status in (0, 3), case.stderr
    text = (case.out / "report.html").read_text()
    parser = Tags()
    parser.feed(text)
    assert parser.tags.count("script") == 2  # the scene data and the viewer
    assert "b" not in parser.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;^Doe" in text
    assert "&lt;b&gt;007&lt;/b&gt;" in text


# --- a series stripped of every attribute it does not need -----------------------------------

@given("every attribute the files hold is removed from every file but those ingest needs for "
       "geometry and intensity and these:")
def stripped(case: Case, datatable: list[list[str]]) -> None:
    """With pydicom; the attributes kept are listed in the scenario."""
    assert case.dicom is not None
    kept = GEOMETRY_AND_INTENSITY | {row["attribute"] for row in table_rows(datatable)}
    case.removed = tuple(k for k in written_attributes(case.dicom) if k not in kept)
    remove_attributes(case.dicom, case.removed)
    assert set(written_attributes(case.dicom)) == kept


@then("run.json and case.json list every removed Type 2 patient or study attribute and Slice "
      "Thickness, as lacking from every image")
def absent_recorded(case: Case) -> None:
    """The removed attributes the SEG copies: the standard's Type 2 ones of the Patient and
    General Study modules, and Slice Thickness (its Pixel Measures)."""
    assert case.dicom is not None
    copied = set(patient_and_study_attributes("2")) | {"SliceThickness"}
    expected = {k for k in case.removed if k in copied}
    assert {"PatientName", "PatientID", "PatientBirthDate", "AccessionNumber"} <= expected
    run = json.loads((case.out / "segmentation" / "run.json").read_text())
    record = json.loads((case.out / "case.json").read_text())
    listed = run["source_attributes_absent"]
    assert {entry["keyword"] for entry in listed} == expected
    images = len(list(case.dicom.iterdir()))
    assert all(entry["images_lacking"] == entry["images"] == images for entry in listed)
    assert record["source_attributes_absent"] == listed


@then("the SEG holds every attribute the standard requires of it, its Patient ID and Name empty")
def seg_complete(case: Case) -> None:
    """Read back with pydicom."""
    seg = pydicom.dcmread(case.out / "segmentation" / "seg.dcm")
    assert missing_required(seg) == []
    assert seg.PatientID in ("", None)
    assert seg.PatientName in ("", None)


@then("report.html shows the patient fields as not stated and names each attribute the series "
      "lacks")
def report_not_stated(case: Case) -> None:
    """The page's text (entities decoded)."""
    import html

    text = html.unescape((case.out / "report.html").read_text())
    assert ("Patient: (not stated); ID (not stated); study date (not stated); series "
            "(not stated)") in text
    for entry in json.loads((case.out / "case.json").read_text())["source_attributes_absent"]:
        assert f"{entry['name']} {entry['tag']}: {entry['written']}" in text


@then("on this clean phantom no margin changes sign under either alternative, verdict-uncertain "
      "is not raised, and plan.json and the summary say the trajectory was chosen robust")
def clean_quiet(case: Case) -> None:
    """The demo's pelvis (the default phantom): the signs of the margins written agree on every
    row, case.json holds no verdict-uncertain, and the choice is recorded robust."""
    plan = json.loads((case.out / "plan" / "plan.json").read_text())
    block = plan["uncertainty"]
    for row in block["clearances"]:
        for value in row["alternatives"].values():
            assert row["nominal_margin_mm"] >= 0, row
            assert value["margin_mm"] >= 0, row
    codes = [f["code"] for f in json.loads((case.out / "case.json").read_text())["flags"]]
    assert "verdict-uncertain" not in codes
    assert block["choice"]["robust"] is True
    assert block["choice"]["chosen"] in ("nominal-best", "robust")
    assert (f"trajectory chosen: {block['choice']['chosen']}; meets every clearance under every "
            "alternative") in case.stdout
