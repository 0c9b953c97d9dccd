"""Step definitions of ``verification/features/planning/uncertainty.feature``.

Verifies plan-aware uncertainty: the planned trajectory measured again on the segmentation's
plausible alternatives, the ``uncertainty`` block of ``plan.json``, and the review flag
``verdict-uncertain`` raised only when a clearance could flip.

Oracles: analytic phantoms whose alternatives differ from the nominal label map by a vessel
segment planted at a stated distance from the planned implant; the brute-force voxel oracle
of :mod:`verification.planning.phantoms` (k-d tree from dense implant points to the planted
voxels), which shares nothing with the planner; for the property, the sign of randomly drawn
margins.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.images import LabelMap
from corridor.planning import plan_trajectory
from corridor.planning.model import Clearance
from corridor.planning.uncertainty import (
    VERDICT_UNCERTAIN,
    AlternativeClearances,
    PlanUncertainty,
)
from verification.planning.helpers import Case
from verification.planning.phantoms import (
    Cylinder,
    implant_volume_points,
    in_memory,
    loaded,
    phantom,
    procedure_document,
    voxel_distance,
)

scenarios("planning/uncertainty.feature")

SEGMENT_RADIUS_MM = 2.0
SEGMENT_HALF_LENGTH_MM = 5.0


@given(parsers.parse("a bone cylinder of radius 12 mm along z with a vessel of radius 3 mm at "
                     "{offset:g} mm, spacing {spacing} mm"))
def offset_vessel_phantom(case: Case, offset: float, spacing: str) -> None:
    """Bone cylinder (z 0 to 100 mm) and a vessel along z at ``offset`` mm along +x."""
    si, sj, sk = (float(v) for v in spacing.split())
    bone = Cylinder((0.0, 0.0, 50.0), (0.0, 0.0, 1.0), 12.0, 50.0)
    case.label_map = phantom(bone, [Cylinder((offset, 0.0, 0.0), (0.0, 0.0, 1.0), 3.0)],
                             (si, sj, sk))


@given(parsers.parse("the analytic procedure with a vessel clearance of {clearance:g} mm"))
def analytic_procedure(case: Case, clearance: float) -> None:
    """The analytic pin template with the clearance given."""
    case.document = procedure_document(vessel_clearance=clearance)


def _with_segment(label_map: LabelMap, centre: np.ndarray) -> LabelMap:
    """The label map with a vessel segment (capped cylinder along z) at ``centre``."""
    segment = Cylinder(tuple(float(v) for v in centre),  # type: ignore[arg-type]
                       (0.0, 0.0, 1.0), SEGMENT_RADIUS_MM, SEGMENT_HALF_LENGTH_MM)
    shape = label_map.labels.shape
    points = label_map.geometry.index_to_lps(np.indices(shape).reshape(3, -1).T)
    labels = label_map.labels.copy().reshape(-1)
    labels[segment.inside(points)] = 2
    return LabelMap(labels.reshape(shape), label_map.geometry, label_map.names)


def _plan(case: Case, alternatives: dict[str, LabelMap]) -> None:
    assert case.label_map is not None
    result = plan_trajectory(case.label_map, loaded(case.document), side=None, landmarks={},
                             label_map_file=in_memory(case.label_map),
                             alternatives=alternatives)
    case.plan = result.plan
    case.plans["result"] = {"result": result, "alternatives": alternatives}


@when(parsers.parse("it is planned with alternatives that add a vessel segment {gap:g} mm from "
                    "the planned implant's surface, at mid-depth"))
def plan_with_segment(case: Case, gap: float) -> None:
    """Plan once to find the trajectory; plant the segment beside it, in p>=0.3 only (p>=0.7
    is the nominal map), on the side away from the vessel; plan again with the alternatives."""
    assert case.label_map is not None
    first = plan_trajectory(case.label_map, loaded(case.document), side=None, landmarks={},
                            label_map_file=in_memory(case.label_map)).plan
    assert first.trajectory is not None
    trajectory = first.trajectory
    middle = trajectory.entry + 0.5 * trajectory.length_mm * trajectory.direction
    toward = np.array([-1.0, 0.0, 0.0])  # away from the vessel at +x
    toward -= (toward @ trajectory.direction) * trajectory.direction
    toward /= np.linalg.norm(toward)
    centre = middle + (trajectory.diameter_mm / 2 + gap + SEGMENT_RADIUS_MM) * toward
    case.plans["segment"] = {"centre": centre, "gap": gap}
    planted = _with_segment(case.label_map, centre)
    added = np.count_nonzero(planted.labels != case.label_map.labels)
    assert added >= 100, f"the segment must lie on the grid and off the vessel: {added} voxels"
    _plan(case, {"p>=0.3": planted, "p>=0.7": case.label_map})
    assert case.plan is not None
    assert case.plan.trajectory is not None
    np.testing.assert_allclose(case.plan.trajectory.entry, trajectory.entry, atol=1e-9)


@when("it is planned with an alternative holding no vessel")
def plan_without_vessel(case: Case) -> None:
    """The alternative p>=0.7 lacks the vessel altogether."""
    assert case.label_map is not None
    labels = case.label_map.labels.copy()
    labels[labels == 2] = 0
    _plan(case, {"p>=0.3": case.label_map,
                 "p>=0.7": LabelMap(labels, case.label_map.geometry, case.label_map.names)})


def _document(case: Case) -> dict[str, Any]:
    uncertainty = case.plans["result"]["result"].uncertainty
    assert uncertainty is not None
    return dict(uncertainty.to_json())


@then("the uncertainty block reports the vessel's margin on each alternative, matching the "
      "voxel oracle")
def margins_match_oracle(case: Case) -> None:
    """Nominal margins are the plan's; p>=0.7 (the nominal map) gives the same margins; on
    p>=0.3 the vessel's guaranteed clearance lies between the oracle's lower bound on the
    distance to the voxel cubes less one voxel diagonal and the distance to the voxel centres."""
    assert case.plan is not None
    assert case.plan.trajectory is not None
    document = _document(case)
    rows = {row["structure"]: row for row in document["clearances"]}
    for clearance in case.plan.clearances:
        row = rows[clearance.structure]
        assert row["nominal_margin_mm"] == round(clearance.margin_mm, 4)
        assert row["alternatives"]["p>=0.7"]["margin_mm"] == row["nominal_margin_mm"]
    alternative = case.plans["result"]["alternatives"]["p>=0.3"]
    points, _ = implant_volume_points(case.plan.trajectory)
    cubes = float(voxel_distance(alternative, [2], points).min())
    diagonal = math.sqrt(sum(s * s for s in alternative.geometry.spacing))
    vessel = rows["vessel"]
    guaranteed = vessel["alternatives"]["p>=0.3"]["margin_mm"] + vessel["required_mm"]
    if vessel["alternatives"]["p>=0.3"]["capped"]:
        assert cubes >= guaranteed - 1e-6
    else:
        assert cubes - diagonal - 1e-6 <= guaranteed <= cubes + 0.5 * diagonal + 1e-6, (
            guaranteed, cubes)


@then(parsers.parse('the plan is flagged "{code}" for the vessel under the alternative holding '
                    "the segment"))
def flagged_for_vessel(case: Case, code: str) -> None:
    """The flag names the vessel and p>=0.3, and the record keeps where along the axis."""
    document = _document(case)
    assert document["flag"] is not None
    assert document["flag"]["code"] == code == VERDICT_UNCERTAIN
    flips = [f for f in document["could_flip"] if f["structure"] == "vessel"]
    assert [f["alternative"] for f in flips] == ["p>=0.3"]
    assert "vessel (p>=0.3)" in document["flag"]["message"]
    assert abs(flips[0]["depth_from_entry_mm"] - 0.5 * case.plan.trajectory.length_mm  # type: ignore[union-attr]
               ) <= SEGMENT_HALF_LENGTH_MM + 2.0


@then("the plan is not flagged")
def not_flagged(case: Case) -> None:
    """No clearance flips, and the plan's verdict is the one planned without alternatives."""
    document = _document(case)
    assert document["could_flip"] == []
    assert document["flag"] is None


@then(parsers.parse('the plan is flagged "{code}" naming the alternative as not judged'))
def flagged_not_judged(case: Case, code: str) -> None:
    """The alternative is refused with the planner's reason, and flagged."""
    document = _document(case)
    assert document["flag"]["code"] == code
    refused = {a["name"]: a["refused"] for a in document["alternatives"]}
    assert refused["p>=0.3"] is None
    assert "vessel" in refused["p>=0.7"]
    assert "segmentation (p>=0.7): not judged" in document["flag"]["message"]


@given("margins drawn at random for the nominal segmentation and two alternatives")
def random_margins() -> None:
    """The property is checked in the next step."""


def _clearance(name: str, margin: float) -> Clearance:
    """Required 0 mm, so that the margin is the guaranteed clearance itself (no rounding)."""
    return Clearance(name, 0.0, margin + 0.1, margin, np.zeros(3), 1.0, False)


_MARGIN = st.floats(min_value=-20.0, max_value=20.0, allow_nan=False)


@then("verdict-uncertain is raised if and only if some margin is met on one and not the other")
def flag_iff_sign_differs() -> None:
    """Hypothesis: 3 structures, nominal and two alternatives, margins of any sign."""

    @settings(max_examples=100, deadline=None)
    @hypothesis_given(st.lists(st.tuples(_MARGIN, _MARGIN, _MARGIN), min_size=3, max_size=3))
    def check(rows: list[tuple[float, float, float]]) -> None:
        names = ("a", "b", "c")
        nominal = tuple(_clearance(n, r[0]) for n, r in zip(names, rows, strict=True))
        alternatives = tuple(
            AlternativeClearances(alt, tuple(_clearance(n, r[i + 1])
                                             for n, r in zip(names, rows, strict=True)))
            for i, alt in enumerate(("p>=0.3", "p>=0.7")))
        uncertainty = PlanUncertainty(nominal, alternatives)
        expected = any((r[0] >= 0) != (r[i] >= 0) for r in rows for i in (1, 2))
        assert uncertainty.flagged == expected
        assert (uncertainty.flag() is not None) == expected
        assert len(uncertainty.flips()) == sum((r[0] >= 0) != (r[i] >= 0) for r in rows
                                               for i in (1, 2))

    check()
