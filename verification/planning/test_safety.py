"""Step definitions of ``verification/features/planning/safety.feature``.

Verifies that the planner refuses what it cannot plan safely: each scenario plants one
fault (a blinded search, swapped or renamed landmarks, missing vessels, a broken template,
a changed label map) and the plan must be refused, rejected by the re-check or judged
unsafe, and a refused run writes nothing.

Oracles: the planted fault itself (what must be named), the closed-form geometry of the
analytic phantoms (a vessel far away, a bone tilted towards +x), and the exit statuses and
messages the commands document.
"""

from __future__ import annotations

import json
import math
from typing import Any

import nrrd
import numpy as np
import pytest
import yaml
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.geometry import ImageGeometry
from corridor.planning import Side
from corridor.planning import fields as planning_fields
from verification.planning.helpers import Case, plan_in_process, run_command, two_vessels
from verification.planning.phantoms import Cylinder, phantom, procedure_document

scenarios("planning/safety.feature")


@given("a planted defect makes the search read every vessel distance as far away")
def blind_search(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """The search's risk fields become empty masks; the re-check keeps the true mask."""
    original = planning_fields.risk_field

    def blind(name: str, mask: NDArray[np.bool_], geometry: ImageGeometry,
              cap_mm: float) -> Any:
        return original(name, np.zeros_like(mask), geometry, cap_mm)

    monkeypatch.setattr("corridor.planning.prepare.risk_field", blind)


@given("a bone cylinder tilted 10 degrees towards +x with a vessel far away, and the analytic "
       "procedure sided with the medial-tip check")
def tilted_phantom(case: Case) -> None:
    """The bone's axis points up and towards +x, so an implant entering at the top runs
    down towards -x: medial (tip towards the midline) for the left side, lateral for the right."""
    axis = (math.sin(math.radians(10.0)), 0.0, math.cos(math.radians(10.0)))
    bone = Cylinder(tuple(np.multiply(axis, 50.0)), axis, 12.0, 50.0)
    case.label_map = phantom(bone, [Cylinder((0.0, 30.0, 0.0), axis, 3.0)], (0.7, 0.7, 0.7),
                             extent=(90.0, 90.0, 110.0), origin=(-45.0, -45.0, -5.0))
    case.document = procedure_document(axis=axis, vessel_clearance=5.0)
    case.document.update({"sided": True, "laterality_check": "medial-tip"})
    case.document["angles"]["max_deviation_deg"] = 5.0  # every admissible path runs towards -x


@when(parsers.parse("the analytic procedure is planned on it for the {side} side"))
def plan_analytic_sided(case: Case, side: str) -> None:
    """In process, for one side."""
    plan_in_process(case, Side(side))


@then(parsers.parse('the verdict is "{verdict}", failing "{constraint}"'))
def verdict_failing(case: Case, verdict: str, constraint: str) -> None:
    """Verdict and the failed constraint."""
    assert case.plan is not None, case.error
    assert case.plan.verdict.value == verdict, case.plan.to_json()
    assert constraint in case.plan.failed, case.plan.failed


@given("its left and right femoral-head landmarks are swapped")
def swap_landmarks(case: Case) -> None:
    """Names exchanged, positions kept."""
    path = case.files["landmarks"]
    document = json.loads(path.read_text())
    for mark in document["landmarks"]:
        mark["name"] = {"left-femoral-head": "right-femoral-head",
                        "right-femoral-head": "left-femoral-head"}[mark["name"]]
    path.write_text(json.dumps(document))


@given("its femoral-head landmark is renamed for the right side")
def rename_landmark(case: Case) -> None:
    """A left femur labelled as right."""
    path = case.files["landmarks"]
    path.write_text(path.read_text().replace("left-femoral-head", "right-femoral-head"))


@given("its vessel voxels are relabelled soft tissue")
def remove_vessels(case: Case) -> None:
    """As a segmentation that missed every vessel."""
    path = case.files["labels"]
    data, header = nrrd.read(str(path))
    data[data == 4] = 1
    nrrd.write(str(path), data, header)


@then(parsers.parse('it exits with status {status:d}, naming "{text}", and writes nothing'))
def refused_nothing_written(case: Case, status: int, text: str) -> None:
    """One line on stderr naming the problem; no output folder."""
    assert case.status == status, (case.status, case.stdout, case.stderr)
    assert text in case.stderr, case.stderr
    assert case.out is not None
    assert not case.out.exists()


@given(parsers.parse("the analytic procedure with {change}"))
def broken_template(case: Case, change: str) -> None:
    """One fault planted into the analytic template, written as YAML."""
    document = procedure_document()
    if "unknown field" in change:
        document["corridor"]["clearence_mm"] = 1.0
    elif "negative corridor clearance" in change:
        document["corridor"]["clearance_mm"] = -1.0
    elif "longest length" in change:
        document["implant"]["length_mm"]["max_mm"] = 20.0
    elif "sided template" in change:
        document["sided"] = True
    else:
        raise AssertionError(change)
    path = case.root / "broken.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    case.files["template"] = path


_ABSURD: dict[str, tuple[tuple[str, ...], Any]] = {
    "a length step of 1e-9 mm": (("implant", "length_mm", "step_mm"), 1e-9),
    "a length step of 0.001 mm": (("implant", "length_mm", "step_mm"), 1e-3),
    "a longest length of 1e12 mm": (("implant", "length_mm", "max_mm"), 1e12),
    "a tip-to-cortex distance of 1e9 mm": (("implant", "tip_to_cortex_mm"), 1e9),
}
"""Schema-valid before the bounds: a field, and the absurd value planted in it."""


@given(parsers.parse("a procedure template that is {hostile}"))
def hostile_template(case: Case, hostile: str) -> None:
    """The analytic template made absurd or hostile, written where the planner reads it."""
    path = case.root / "hostile.yaml"
    document = procedure_document()
    if hostile in _ABSURD:
        keys, value = _ABSURD[hostile]
        target = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
    elif hostile.startswith("the analytic one with ") and hostile.endswith(" risk structures"):
        count = int(hostile.split()[4])
        first = document["risk_structures"][0]
        document["risk_structures"] = [{**first, "name": f"risk-{n}"} for n in range(count)]
        path.write_text(yaml.safe_dump(document, default_flow_style=True), encoding="utf-8")
    elif hostile == "a flow sequence nested 100000 levels deep":
        path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    elif hostile == "block sequences nested 300 levels deep":
        path.write_text("".join("  " * n + "-\n" for n in range(300)) + "  " * 300 + "x\n",
                        encoding="utf-8")
    elif hostile == "a link to /dev/zero":
        path.symlink_to("/dev/zero")
    else:
        raise AssertionError(hostile)
    case.files["template"] = path


@then("no traceback is printed")
def no_traceback(case: Case) -> None:
    """A refusal, not a crash."""
    assert "Traceback" not in case.stdout + case.stderr


@when("corridor plan-trajectory is run with it on the two-vessel phantom")
def run_broken(case: Case) -> None:
    """The phantom saved as NIfTI first."""
    import nibabel

    label_map = two_vessels((1.0, 1.0, 1.0))
    path = case.root / "labels.nii.gz"
    nibabel.save(nibabel.Nifti1Image(np.asarray(label_map.labels),
                                     label_map.geometry.affine_ras()), path)
    case.out = case.root / "plan"
    run_command(case, ["plan-trajectory", str(path), "--procedure", str(case.files["template"]),
                       "--out", str(case.out), "--label-names", "background,bone,vessel"])


@when("corridor plan-check is run on the plan with the same label map and template")
def run_check(case: Case) -> None:
    """Against the label map file as it is now."""
    assert case.out is not None
    run_command(case, ["plan-check", str(case.out), "--label-map", str(case.files["labels"]),
                       "--procedure", "femoral-neck-screw"])


@when("one voxel of the label map is relabelled and saved again")
def resegment(case: Case) -> None:
    """A re-segmentation that changes one voxel far from the plan."""
    path = case.files["labels"]
    data, header = nrrd.read(str(path))
    data[0, 0, 0] = 1 if data[0, 0, 0] != 1 else 0
    nrrd.write(str(path), data, header)


@then(parsers.parse('it exits with status {status:d}, naming "{text}"'))
def exits_naming(case: Case, status: int, text: str) -> None:
    """Status and message."""
    assert case.status == status, (case.status, case.stdout, case.stderr)
    assert text in case.stderr + case.stdout, (case.stdout, case.stderr)


@then(parsers.parse('the verdict is "{verdict}" and the re-check names "{name}"'))
def rejected(case: Case, verdict: str, name: str) -> None:
    """The planted defect is caught by the independent method."""
    assert case.plan is not None, case.error
    assert case.plan.verdict.value == verdict, case.plan.to_json()
    assert case.plan.recheck is not None
    assert any(name in reason for reason in case.plan.recheck.reasons())
