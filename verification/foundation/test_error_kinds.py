"""Step definitions of ``features/foundation/errors.feature``: the error taxonomy.

Oracles: the class hierarchy as Python reports it (``__subclasses__``, ``issubclass``), the
exit statuses the README's table documents (written here as numbers, not taken from the
code's constants), the files present on disk and the audit log's JSON lines.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from command_run import run_corridor
from pytest_bdd import given, parsers, scenarios, then, when

import corridor
import corridor_qms
from corridor.case.batch import BatchCase, run_one
from corridor.case.job import CaseRequest
from corridor.errors import CorridorError, InputError, SafetyRefusalError
from corridor.planning import Side, load_landmarks
from corridor_phantoms import make_phantom, write_series

scenarios("foundation/errors.feature")

REFERENCE_MODEL = Path(corridor.__file__).parent / "inference" / "models" / "reference-bone-vessel"


@dataclass
class Case:
    """What one scenario built and what the command did."""

    root: Path
    dicom: Path | None = None
    landmarks: Path | None = None
    status: int | None = None
    stderr: str = ""

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


def _subclasses(root: type) -> set[type]:
    found: set[type] = set()
    todo = [root]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


@given("every module of the installed corridor and corridor_qms packages is imported")
def import_everything() -> None:
    """Walk both packages (the training code is not installed with them)."""
    for package in (corridor, corridor_qms):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)


@then("every subclass of the device's root error is an input error or a safety refusal, and "
      "none is both")
def one_kind_each() -> None:
    """The two kinds and their own helper carriers are the only exceptions to the rule."""
    device = {c for c in _subclasses(CorridorError) if c.__module__.startswith("corridor.")}
    kinds = {InputError, SafetyRefusalError}
    assert len(device) > 20, sorted(c.__qualname__ for c in device)  # the walk found them
    for error in device - kinds:
        is_input, is_refusal = issubclass(error, InputError), issubclass(error, SafetyRefusalError)
        assert is_input != is_refusal, f"{error.__module__}.{error.__qualname__}"


@then("no error class of the quality tooling derives from the device's root error")
def tooling_apart() -> None:
    """Tooling errors hang off the tooling's own root."""
    tooling = sorted(f"{c.__module__}.{c.__qualname__}" for c in _subclasses(CorridorError)
                     if c.__module__.startswith("corridor_qms"))
    assert tooling == []


@given("the pelvis phantom written as DICOM with its landmarks")
def pelvis(case: Case) -> None:
    """Default pelvis phantom."""
    written = write_series(make_phantom("pelvis"), case.root / "pelvis")
    case.dicom = written.out_dir / "dicom"
    case.landmarks = written.out_dir / "truth" / "landmarks.json"


@given("mesh QA allows no difference between a surface's volume and its voxels' volume")
def strict_mesh_qa(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real QA runs and refuses: a smoothed surface never encloses exactly its voxels."""
    monkeypatch.setattr("corridor.meshing.quality.VOLUME_ERROR_LIMIT", 0.0)


@when("corridor plan is run on it for a left acetabular screw")
def run_plan(case: Case) -> None:
    """In process; the audit log in the scenario folder."""
    assert case.dicom is not None
    assert case.landmarks is not None
    done = run_corridor(["plan", str(case.dicom), "--procedure", "acetabular-screw", "--side",
                         "left", "--out", str(case.out), "--audit-log", str(case.log),
                         "--landmarks", str(case.landmarks)])
    case.status, case.stderr = done.status, done.stderr


@then(parsers.parse('it exits with status 4 naming "{text}" and there is no case folder'))
def refused(case: Case, text: str) -> None:
    """Exit 4 (safety refusal), the check named, nothing left behind."""
    assert case.status == 4, case.stderr
    assert text in case.stderr
    assert not case.out.exists()
    assert [p.name for p in case.root.iterdir() if p.name.startswith(".")] == []


@then(parsers.parse('the audit log\'s record of the run says "{outcome}" with the error '
                    '"{error}"'))
def audited_failure(case: Case, outcome: str, error: str) -> None:
    """One record, the outcome and the error class."""
    records = [json.loads(line) for line in case.log.read_text().splitlines() if line.strip()]
    assert [(r["outcome"], r["error"]) for r in records] == [(outcome, error)]


@then(parsers.parse('the same case run as a batch worker is recorded "{status}" with exit code '
                    '{code:d}'))
def ledgered(case: Case, status: str, code: int) -> None:
    """The worker function of plan-batch, in this process (the planted QA limit applies)."""
    assert case.dicom is not None
    assert case.landmarks is not None
    request = CaseRequest(dicom=case.dicom, procedure="acetabular-screw", model=REFERENCE_MODEL,
                          out=case.root / "batch" / "one", side=Side.LEFT,
                          landmarks=load_landmarks(case.landmarks),
                          audit_log=case.root / "batch-audit.jsonl")
    result = run_one(BatchCase("one", 2, request))
    assert (result.status.value, result.exit_code) == (status, code), result.message
    assert result.message is not None
    assert "mesh QA" in result.message
    assert not (case.root / "batch" / "one").exists()


@given("a planted defect makes the ingest command raise ZeroDivisionError")
def planted_defect(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug, not bad input: the handler's stage function divides by zero."""
    def broken(*args: Any, **kwargs: Any) -> Any:
        return 1 / 0

    monkeypatch.setattr("corridor.ingest.cli.ingest", broken)


@when("corridor ingest is run on a folder")
def run_ingest(case: Case) -> None:
    """Any folder: the defect fires first."""
    case.root.joinpath("series").mkdir()
    done = run_corridor(["ingest", str(case.root / "series")])
    case.status, case.stderr = done.status, done.stderr


@when("corridor ingest is run on a folder that does not exist")
def run_ingest_missing(case: Case) -> None:
    """A path nobody made."""
    done = run_corridor(["ingest", str(case.root / "no-such-folder")])
    case.status, case.stderr = done.status, done.stderr


@then('it exits with status 70 and standard error holds "internal error" and the traceback')
def defect(case: Case) -> None:
    """Exit 70, the defect's name and its traceback."""
    assert case.status == 70, case.stderr
    assert "internal error (ZeroDivisionError)" in case.stderr
    assert "Traceback (most recent call last)" in case.stderr


@then("it exits with status 2 and standard error is one line naming the folder")
def input_error(case: Case) -> None:
    """Exit 2, one line, the path named."""
    assert case.status == 2, case.stderr
    lines = case.stderr.strip().splitlines()
    assert len(lines) == 1, case.stderr
    assert "no-such-folder" in lines[0]
