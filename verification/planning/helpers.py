"""Helpers shared by the planning step modules: the scenario context, the in-process
``corridor`` runs and their ``plan.json``, the two-vessel analytic phantom, and planning in
process with a refusal kept.  The analytic phantoms and the brute-force oracle themselves
are in :mod:`verification.planning.phantoms`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridor.images import LabelMap
from corridor.planning import Plan, PlanningError, Side, plan_trajectory
from verification.command_run import run_corridor
from verification.planning.phantoms import Cylinder, in_memory, loaded, phantom


@dataclass
class Case:
    """What one scenario built and what the commands did."""

    root: Path
    label_map: LabelMap | None = None
    document: dict[str, Any] = field(default_factory=dict)
    plan: Plan | None = None
    error: Exception | None = None
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    files: dict[str, Path] = field(default_factory=dict)
    written: Any = None
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    out: Path | None = None


def run_command(case: Case, argv: list[str]) -> None:
    """``corridor ARGV...`` in process, its outcome kept in the context."""
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr


def plan_document(out: Path) -> dict[str, Any]:
    """``plan.json`` of an output folder."""
    return dict(json.loads((out / "plan.json").read_text(encoding="utf-8")))


def two_vessels(spacing: tuple[float, float, float], direction: Any = None) -> LabelMap:
    """Bone cylinder of radius 12 mm along z, vessels of radius 3 mm at 20 mm along +x and +y."""
    bone = Cylinder((0.0, 0.0, 50.0), (0.0, 0.0, 1.0), 12.0, 50.0)
    vessels = [Cylinder((20.0, 0.0, 0.0), (0.0, 0.0, 1.0), 3.0),
               Cylinder((0.0, 20.0, 0.0), (0.0, 0.0, 1.0), 3.0)]
    return phantom(bone, vessels, spacing, direction=direction)


def plan_in_process(case: Case, side: Side | None) -> None:
    """Plan the scenario's procedure on its label map, keeping a refusal."""
    assert case.label_map is not None
    try:
        case.plan = plan_trajectory(case.label_map, loaded(case.document), side=side,
                                    landmarks={}, label_map_file=in_memory(case.label_map)).plan
    except PlanningError as exc:
        case.error = exc
