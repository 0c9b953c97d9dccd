"""Step definitions of ``verification/features/planning/uncertainty.feature``.

Verifies plan-aware uncertainty: the planned trajectory measured again on the segmentation's
plausible alternatives, the ``uncertainty`` block of ``plan.json``, the review flag
``verdict-uncertain`` raised only when a clearance could flip, and the robust choice (a line
safe under every alternative preferred to a nominal best that is not, recorded in the block's
``choice``).

Oracles: analytic phantoms whose alternatives differ from the nominal label map by a vessel
segment planted at a stated place relative to the implant planned without alternatives (the
nominal best, planned again here); the brute-force voxel oracle of
:mod:`verification.planning.phantoms` (k-d tree from dense implant points to the planted
voxels), which shares nothing with the planner; for the properties, the sign of randomly drawn
margins and, for the ranking, the definitions of safe and robust applied here to random arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.images import LabelMap
from corridor.planning import plan_trajectory
from corridor.planning.model import Clearance, Trajectory
from corridor.planning.search import GEOMETRIC_CONSTRAINTS, Evaluation
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


def _with_segment(label_map: LabelMap, centre: np.ndarray,
                  axis: tuple[float, float, float] = (0.0, 0.0, 1.0),
                  half_length: float = SEGMENT_HALF_LENGTH_MM) -> LabelMap:
    """The label map with a vessel segment (capped cylinder, along z unless ``axis``) at
    ``centre``, over whatever was there."""
    segment = Cylinder(tuple(float(v) for v in centre),  # type: ignore[arg-type]
                       axis, SEGMENT_RADIUS_MM, half_length)
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


def _nominal_best(case: Case) -> Trajectory:
    """The trajectory planned without alternatives (the search's best on the nominal map)."""
    assert case.label_map is not None
    first = plan_trajectory(case.label_map, loaded(case.document), side=None, landmarks={},
                            label_map_file=in_memory(case.label_map)).plan
    assert first.trajectory is not None
    case.plans["nominal-best"] = first.trajectory
    return first.trajectory


@when(parsers.parse("it is planned with alternatives that add a vessel segment {gap:g} mm from "
                    "the planned implant's surface, at mid-depth"))
def plan_with_segment(case: Case, gap: float) -> None:
    """Plan once to find the trajectory; plant the segment beside it, in p>=0.3 only (p>=0.7
    is the nominal map), on the side away from the vessel; plan again with the alternatives."""
    assert case.label_map is not None
    trajectory = _nominal_best(case)
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


@when("it is planned with alternatives that add a vessel segment across the bone, through the "
      "planned implant's axis at mid-depth")
def plan_with_crossing_segment(case: Case) -> None:
    """The segment (radius 2 mm) runs along x through the nominal best's axis at mid-depth and
    beyond the bone cylinder (radius 12 mm) on both sides, in p>=0.3 only: every line from the
    top cap to the lower half passes within 9 mm of its axis (the cortex's limit), so within 5
    mm of the implant's surface, short of the 6 mm required."""
    assert case.label_map is not None
    trajectory = _nominal_best(case)
    middle = trajectory.entry + 0.5 * trajectory.length_mm * trajectory.direction
    planted = _with_segment(case.label_map, middle, (1.0, 0.0, 0.0), 14.0)
    assert np.count_nonzero(planted.labels != case.label_map.labels) >= 100
    _plan(case, {"p>=0.3": planted, "p>=0.7": case.label_map})


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


def _choice(case: Case) -> dict[str, Any]:
    choice = _document(case).get("choice")
    assert choice is not None, "the uncertainty block must record how the trajectory was chosen"
    return dict(choice)


def _same_line(found: dict[str, Any], trajectory: Trajectory) -> None:
    """A trajectory as plan.json writes it (rounded to 1e-4 mm, 1e-6) is ``trajectory``."""
    np.testing.assert_allclose(found["entry_lps_mm"], trajectory.entry, atol=1e-4)
    np.testing.assert_allclose(found["direction_lps"], trajectory.direction, atol=1e-6)
    assert found["length_mm"] == round(trajectory.length_mm, 3)


@then("the trajectory chosen is robust, not the nominal best, and plan.json records the nominal "
      "best with its margins and how far the plan moved")
def chosen_robust(case: Case) -> None:
    """The nominal best is the line planned without alternatives; the move is recomputed."""
    assert case.plan is not None
    assert case.plan.trajectory is not None
    choice, nominal = _choice(case), case.plans["nominal-best"]
    assert (choice["chosen"], choice["robust"]) == ("robust", True)
    best = choice["nominal_best"]
    _same_line(best["trajectory"], nominal)
    assert [(f["structure"], f["alternative"]) for f in best["could_flip"]] == [
        ("vessel", "p>=0.3")]
    vessel = next(row for row in best["clearances"] if row["structure"] == "vessel")
    assert vessel["nominal_margin_mm"] >= 0 > vessel["alternatives"]["p>=0.3"]["margin_mm"]
    shift = float(np.linalg.norm(case.plan.trajectory.entry - nominal.entry))
    turn = math.degrees(math.acos(min(1.0, float(case.plan.trajectory.direction
                                                 @ nominal.direction))))
    assert shift > 0.5 or turn > 0.5
    assert best["moved"]["entry_mm"] == pytest.approx(shift, abs=1e-3)
    assert best["moved"]["direction_deg"] == pytest.approx(turn, abs=1e-2)
    assert choice["robust_search"]["alternatives"] == ["p>=0.3", "p>=0.7"]


@then("the chosen implant keeps the vessel clearance from the planted segment by the voxel "
      "oracle")
def clear_of_segment(case: Case) -> None:
    """Distance from dense implant points to the nearest voxel centre of p>=0.3's vessel (the
    planted segment with the vessel) is at least the required 6 mm: the planner's guaranteed
    clearance is a lower bound on the distance to the voxel cubes, so to their centres."""
    assert case.plan is not None
    assert case.plan.trajectory is not None
    alternative = case.plans["result"]["alternatives"]["p>=0.3"]
    points, _ = implant_volume_points(case.plan.trajectory)
    centres = voxel_distance(alternative, [2], points) + 0.5 * math.sqrt(
        sum(s * s for s in alternative.geometry.spacing))
    assert float(centres.min()) >= 6.0, float(centres.min())


@then("the trajectory is the nominal best, and plan.json says that no robust trajectory was "
      "found")
def nominal_kept(case: Case) -> None:
    """The second search ran and found no line meeting the vessel clearance under p>=0.3."""
    assert case.plan is not None
    assert case.plan.trajectory is not None
    np.testing.assert_allclose(case.plan.trajectory.entry, case.plans["nominal-best"].entry,
                               atol=1e-9)
    choice = _choice(case)
    assert (choice["chosen"], choice["robust"], choice["nominal_best"]) == (
        "nominal-best", False, None)
    assert choice["robust_search"] is not None
    assert choice["robust_search"]["best_line_smallest_margin_mm"] < 0
    assert choice["reason"].startswith("no line found meets every clearance under every "
                                       "alternative")


@then("the vessel's margin under the alternative holding the segment is negative, the implant "
      "passing through the segment by the voxel oracle")
def through_segment(case: Case) -> None:
    """Some dense implant point lies in a voxel labelled vessel in p>=0.3 and not in the
    nominal map (nearest voxel centre, looked up here)."""
    assert case.plan is not None
    assert case.plan.trajectory is not None
    rows = {row["structure"]: row for row in _document(case)["clearances"]}
    assert rows["vessel"]["alternatives"]["p>=0.3"]["margin_mm"] < 0
    alternative = case.plans["result"]["alternatives"]["p>=0.3"]
    points, _ = implant_volume_points(case.plan.trajectory)
    index = np.rint(alternative.geometry.lps_to_index(points)).astype(int)
    planted = (alternative.labels == 2) & (case.label_map.labels != 2)  # type: ignore[union-attr]
    assert planted[index[:, 0], index[:, 1], index[:, 2]].any()


@then("the trajectory is the nominal best, robust under every alternative, without a second "
      "search")
def nominal_robust(case: Case) -> None:
    """Nothing moved: the line planned without alternatives, no second search."""
    assert case.plan is not None
    assert case.plan.trajectory is not None
    np.testing.assert_allclose(case.plan.trajectory.entry, case.plans["nominal-best"].entry,
                               atol=1e-9)
    choice = _choice(case)
    assert (choice["chosen"], choice["robust"], choice["nominal_best"],
            choice["robust_search"]) == ("nominal-best", True, None, None)
    assert "robust_search_s" not in case.plan.search["timings_s"]


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


@given("lines with geometric checks and margins drawn at random, on the nominal fields and on "
       "the conservative ones")
def random_lines() -> None:
    """The properties are checked in the next steps."""


_COLUMNS = ("vessel", "cortex", "tip-to-cortex")
_SMALL_MARGIN = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False)


@st.composite
def _evaluations(draw: st.DrawFn) -> Evaluation:
    """An evaluation of 1 to 6 lines at 1 to 4 lengths: checks, nominal and conservative
    margins drawn independently (a conservative margin may exceed the nominal one: the
    ranking must not rely on the fields' order)."""
    n, m = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    shape = (n, m, len(_COLUMNS))

    def margins() -> np.ndarray:
        return np.asarray(draw(st.lists(_SMALL_MARGIN, min_size=n * m * len(_COLUMNS),
                                        max_size=n * m * len(_COLUMNS)))).reshape(shape)

    checks = {c: np.asarray(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))
                            ).reshape(n, m) | draw(st.booleans())
              for c in GEOMETRIC_CONSTRAINTS}
    nominal = margins()
    return Evaluation(np.zeros((n, 3)), np.tile([0.0, 0.0, 1.0], (n, 1)), np.zeros((n, 3)),
                      checks, _COLUMNS, nominal, nominal + 1.0, 1.0, margins())


def _oracle(evaluation: Evaluation) -> tuple[np.ndarray, np.ndarray]:
    """Safe and robust ``(n, m)`` from the definitions: every check, every nominal margin
    >= 0; and every conservative margin >= 0 too."""
    admissible = np.logical_and.reduce([evaluation.checks[c] for c in GEOMETRIC_CONSTRAINTS])
    safe = admissible & np.all(evaluation.margins >= 0, axis=2)
    assert evaluation.conservative_margins is not None
    return safe, safe & np.all(evaluation.conservative_margins >= 0, axis=2)


@then("each line's chosen length is safe whenever the line has a safe length, robust (the "
      "longest) whenever it has a robust one, and robust lines rank above lines only safe, above "
      "unsafe ones")
def robust_ranking() -> None:
    """Hypothesis, 150 random evaluations: the length chosen per line, and the rank values
    ordering the three kinds of line."""

    @settings(max_examples=150, deadline=None)
    @hypothesis_given(_evaluations())
    def check(evaluation: Evaluation) -> None:
        safe, robust = _oracle(evaluation)
        index, value = evaluation.choice()
        for line, length in enumerate(index):
            if robust[line].any():
                assert length == max(np.flatnonzero(robust[line]))
            elif safe[line].any():
                assert safe[line, length]
        kinds = [value[robust.any(axis=1)], value[safe.any(axis=1) & ~robust.any(axis=1)],
                 value[~safe.any(axis=1)]]
        for higher, lower in ((0, 1), (0, 2), (1, 2)):
            if len(kinds[higher]) and len(kinds[lower]):
                assert kinds[higher].min() > kinds[lower].max()

    check()
