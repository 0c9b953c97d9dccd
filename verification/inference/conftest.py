"""Steps shared by the inference scenarios (``verification/features/inference/``).

Those of more than one feature file: generating the phantom and writing it as a DICOM series,
the per-voxel threshold model of known behaviour (:mod:`verification.inference.graphs`),
``corridor infer`` run in process, and its exit status.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from corridor_phantoms import write_series
from verification.inference.graphs import threshold_model
from verification.inference.helpers import (
    PHANTOM_STEP,
    Case,
    infer_into,
    make_case_phantom,
    make_package,
)


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


@given(parsers.parse(PHANTOM_STEP))
def phantom(case: Case, kind: str, i: int, j: int, k: int, si: float, sj: float, sk: float,
            position: str, orientation: str) -> None:
    """Generate the phantom in memory (seed 7)."""
    make_case_phantom(case, kind, (i, j, k), (si, sj, sk), position, orientation, 7)


@given("it is written as a DICOM series")
def written(case: Case) -> None:
    """Write the phantom as a DICOM CT series with its ground truth."""
    case.written = write_series(case.phantom, case.root / "ct")


@given(parsers.parse('a per-voxel threshold model at {hu:d} HU with a {spacing:f} mm grid '
                     '"{grid}"'))
def threshold_package(case: Case, hu: int, spacing: float, grid: str) -> None:
    """Label 1 where HU > ``hu`` (input = HU / 1000), steep logits."""
    make_package(case, threshold_model(hu / 1000.0), input_spacing_mm=[spacing] * 3, grid=grid)


@when(parsers.parse('I run corridor infer on the series with "{options}"'))
def run_infer(case: Case, options: str) -> None:
    """``corridor infer`` in-process, output into ``out``."""
    case.out = infer_into(case, options, "out")


@then(parsers.parse("the command exits with status {status:d}"))
def exit_status(case: Case, status: int) -> None:
    """The command's exit status."""
    assert case.status == status, case.stdout + case.stderr
