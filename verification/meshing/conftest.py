"""Steps shared by the meshing scenarios (``verification/features/meshing/``).

Those of more than one feature file: the analytic label map of a phantom's shape, meshing
it with the default options, running ``corridor mesh`` on its NIfTI file, and the command's
exit status and output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from corridor.meshing import MeshOptions, mesh_label_map
from verification.meshing.helpers import Case, analytic_map, mesh_into


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


@given(parsers.parse('an analytic "{shape_name}" label map of shape {grid} with spacing '
                     '{spacing} in orientation "{orientation}"'))
def analytic_label_map(case: Case, shape_name: str, grid: str, spacing: str,
                       orientation: str) -> None:
    """The phantom's analytic label, in memory."""
    analytic_map(case, shape_name, grid, spacing, orientation)


@when("it is meshed with the default options")
def mesh_default(case: Case) -> None:
    """mesh_label_map with MeshOptions() (QA enforced)."""
    assert case.label_map is not None
    meshed = mesh_label_map(case.label_map, None, MeshOptions()).surfaces
    assert len(meshed) == 1
    case.points, case.triangles = meshed[0].surface.points, meshed[0].surface.triangles
    case.quality = meshed[0].quality


@when(parsers.parse('I run corridor mesh on it with "{options}"'))
def run_mesh(case: Case, options: str) -> None:
    """``corridor mesh`` on the NIfTI file."""
    mesh_into(case, case.files[".nii.gz"], options, "meshes")


@then(parsers.parse("the command exits with status {status:d}"))
def exit_status(case: Case, status: int) -> None:
    """The command's exit status."""
    assert case.status == status, case.stdout + case.stderr


@then(parsers.parse('it prints "{text}"'))
def prints(case: Case, text: str) -> None:
    """The text appears in the command's output."""
    assert text in case.stdout + case.stderr, case.stdout + case.stderr
