"""Steps shared by the planning scenarios (``verification/features/planning/``).

Those of more than one feature file: the axial-vessel analytic phantom, planning the
analytic procedure in process and its verdict, the anatomical phantoms written with their
ground truth, ``corridor plan-trajectory`` on their truth labels, and the exit status.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from corridor_phantoms import make_phantom, write_series
from verification.planning.helpers import Case, plan_in_process, run_command
from verification.planning.phantoms import Cylinder, phantom, procedure_document


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


@given(parsers.parse("a bone cylinder of radius 12 mm along z with a vessel of radius 3 mm "
                     "along its axis, spacing {spacing} mm"))
def axial_vessel_phantom(case: Case, spacing: str) -> None:
    """Every path down the cylinder is within 12 mm of the vessel; 15 mm are required."""
    si, sj, sk = (float(v) for v in spacing.split())
    bone = Cylinder((0.0, 0.0, 50.0), (0.0, 0.0, 1.0), 12.0, 50.0)
    case.label_map = phantom(bone, [Cylinder((0.0, 0.0, 0.0), (0.0, 0.0, 1.0), 3.0)],
                             (si, sj, sk))
    case.document = procedure_document()


@when("the analytic procedure is planned on it")
def plan_analytic(case: Case) -> None:
    """In process, recording a refusal."""
    plan_in_process(case, None)


@then(parsers.parse('the verdict is "{verdict}"'))
def verdict_is(case: Case, verdict: str) -> None:
    """The plan's verdict."""
    assert case.plan is not None, case.error
    assert case.plan.verdict.value == verdict, case.plan.to_json()


@then(parsers.parse("it exits with status {status:d}"))
def exits_with(case: Case, status: int) -> None:
    """The exit status."""
    assert case.status == status, (case.status, case.stdout, case.stderr)


@given(parsers.parse('the "{kind}" phantom written with its ground truth'))
def anatomical_phantom(case: Case, kind: str) -> None:
    """Default shape and spacing, no noise needed (labels are the truth)."""
    case.written = write_series(make_phantom(kind), case.root / kind)
    case.files["labels"] = case.root / kind / "truth" / "labels.seg.nrrd"
    case.files["landmarks"] = case.root / kind / "truth" / "landmarks.json"
    case.document = {"kind": kind}


@when(parsers.parse('corridor plan-trajectory is run on its truth labels with "{options}"'))
def run_on_truth(case: Case, options: str) -> None:
    """Landmarks from the truth unless the options give them."""
    case.out = case.root / "plan"
    argv = ["plan-trajectory", str(case.files["labels"]), "--out", str(case.out),
            *shlex.split(options)]
    if "--landmark " not in f"{options} ":
        argv += ["--landmarks", str(case.files["landmarks"])]
    run_command(case, argv)
