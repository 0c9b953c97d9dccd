"""Steps shared by the ingest scenarios (``verification/features/ingest/``).

Each scenario generates a phantom with exact ground truth, writes it as a real DICOM
series (with planted faults), ingests it with the real code or the real ``corridor``
command, and compares with the ground truth the phantom saved beside the series
(``truth/geometry.json``, ``truth/hu.npy``).  The steps here are those of more than one
feature file: generating and writing the phantom (or copying a real scanner series, checked
against its manifest), ingesting it, and comparing the volume's corners and HU with the
ground truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pytest_bdd import given, parsers, then, when

from corridor_phantoms import make_phantom
from verification.ingest.helpers import (
    Case,
    copy_scanner_series,
    corner_points,
    fault_names,
    ingest_case,
    write_case,
)


@given(parsers.parse('a "{kind}" phantom of shape {i:d} {j:d} {k:d} with spacing {si:f} {sj:f} '
                     '{sk:f} in position "{position}" and orientation "{orientation}"'),
       target_fixture="case")
def phantom(tmp_path: Path, kind: str, i: int, j: int, k: int, si: float, sj: float, sk: float,
            position: str, orientation: str) -> Case:
    """Generate the phantom in memory."""
    args = {"shape": (i, j, k), "spacing": (si, sj, sk), "orientation": orientation,
            "patient_position": position, "seed": 7}
    return Case(tmp_path / "phantom", args, make_phantom(kind, **args))


@given(parsers.parse('the real scanner series "{name}"'), target_fixture="case")
def real_series(tmp_path: Path, name: str) -> Case:
    """Copy a real scanner series (verification/fixtures/scanners/MANIFEST.yaml), hash-checked."""
    return copy_scanner_series(name, tmp_path / "scanner")


@given("it is written as a DICOM series")
def written(case: Case) -> None:
    """Write the phantom without faults."""
    write_case(case, [])


@given(parsers.parse('it is written as a DICOM series with the faults "{faults}"'))
def written_with_faults(case: Case, faults: str) -> None:
    """Write the phantom with planted faults."""
    write_case(case, fault_names(faults))


@when("the series is ingested")
def run_ingest(case: Case) -> None:
    """Ingest the folder with the real code."""
    ingest_case(case)


@then("the volume's corners lie within 0.001 mm of the ground truth")
def corners_match(case: Case) -> None:
    """All 8 corner voxels within 0.001 mm (the affine is linear, so every voxel is)."""
    volume = case.loaded().volume
    truth = case.truth_affine()
    found = corner_points(volume.geometry.affine, volume.geometry.shape)
    expected = corner_points(truth, volume.geometry.shape)
    assert volume.geometry.shape == tuple(case.truth_hu().shape)
    assert np.max(np.linalg.norm(found - expected, axis=1)) <= 1e-3


@then("the volume's HU equal the ground truth on every voxel that is not padding")
def hu_match(case: Case) -> None:
    """Exact equality of HU, voxel by voxel."""
    volume = case.loaded().volume
    truth = case.truth_hu()
    padding = volume.padding_mask()
    keep = np.ones(truth.shape, bool) if padding is None else ~padding
    assert volume.hu.shape == truth.shape
    assert np.array_equal(volume.hu[keep], truth[keep])


@pytest.fixture
def case() -> Case:
    """Every scenario starts by generating a phantom or copying a real scanner series."""
    raise AssertionError("a scenario must start with 'Given a \"…\" phantom …' or "
                         "'Given the real scanner series \"…\"'")
