"""Value objects the planning stage returns: a trajectory, its clearances, the plan, its verdict,
and what the plan was made from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.errors import ExitStatus
from corridor.geometry import ImageGeometry
from corridor.images import LabelMap
from corridor.planning.procedure import LoadedProcedure, Side
from corridor.planning.recheck import RecheckResult
from corridor.planning.regions import Landmark
from corridor.provenance import FileRecord, SoftwareIdentity

__all__ = ["Clearance", "Plan", "PlanInputs", "Trajectory", "Verdict"]

FloatArray = NDArray[np.float64]


def _point(values: FloatArray) -> list[float]:
    return [round(float(v), 4) for v in values]


class Verdict(StrEnum):
    """What the planner concluded."""

    SAFE = "safe"
    """A trajectory meets every constraint, and the independent re-check confirms it."""
    NO_SAFE_TRAJECTORY = "no-safe-trajectory"
    """No candidate meets every constraint; the best one and what it lacks are reported."""
    REJECTED_BY_RECHECK = "rejected-by-recheck"
    """The search found a trajectory but the independent re-check does not confirm it."""
    NOT_FULLY_CHECKED = "not-fully-checked"
    """A trajectory meets every constraint that could be checked, and the re-check confirms
    it, but a risk structure the template needs is not segmented and was not checked."""

    @property
    def exit_status(self) -> ExitStatus:
        """The exit status of a command that planned to this verdict: 0, 3, 4 (the
        re-check's rejection is a safety refusal) or 5 (not fully checked)."""
        return {Verdict.SAFE: ExitStatus.OK,
                Verdict.NO_SAFE_TRAJECTORY: ExitStatus.NO_SAFE_TRAJECTORY,
                Verdict.REJECTED_BY_RECHECK: ExitStatus.SAFETY_REFUSAL,
                Verdict.NOT_FULLY_CHECKED: ExitStatus.NOT_FULLY_CHECKED}[self]


@dataclass(frozen=True, slots=True, eq=False)
class Trajectory:
    """A straight implant: entry point, unit direction and length (LPS mm)."""

    entry: FloatArray
    direction: FloatArray
    length_mm: float
    diameter_mm: float

    @property
    def tip(self) -> FloatArray:
        """The implant's tip (LPS mm)."""
        return np.asarray(self.entry + self.length_mm * self.direction)

    def to_json(self) -> dict[str, Any]:
        """Entry, tip, direction, length and diameter."""
        return {"entry_lps_mm": _point(self.entry), "tip_lps_mm": _point(self.tip),
                "direction_lps": [round(float(v), 6) for v in self.direction],
                "length_mm": round(self.length_mm, 3), "diameter_mm": self.diameter_mm}


@dataclass(frozen=True, slots=True, eq=False)
class Clearance:
    """The smallest clearance of the implant to one structure, and where it occurs.

    Attributes
    ----------
    structure
        Risk structure name, ``cortex`` (implant surface to the corridor surface, beyond
        the entry zone) or ``tip-to-cortex`` (corridor depth along the axis beyond the tip).
    required_mm
        The template's requirement.
    estimate_mm
        The search's estimate (distance transform, trilinear, along the axis, less the
        radius); capped values mean "at least this".
    guaranteed_mm
        ``estimate_mm`` less the stated uncertainty: a lower bound on the true clearance
        to the structure's voxels.
    at_lps_mm, depth_mm
        The axis point where the minimum occurs, and its distance from the entry point.
    capped
        The estimate reached the distance field's cap (the structure is farther).
    """

    structure: str
    required_mm: float
    estimate_mm: float
    guaranteed_mm: float
    at_lps_mm: FloatArray
    depth_mm: float
    capped: bool

    @property
    def margin_mm(self) -> float:
        """Guaranteed clearance less required (>= 0: met)."""
        return self.guaranteed_mm - self.required_mm

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"structure": self.structure, "required_mm": self.required_mm,
                "clearance_mm": round(self.estimate_mm, 4),
                "guaranteed_min_mm": round(self.guaranteed_mm, 4),
                "margin_mm": round(self.margin_mm, 4), "met": self.margin_mm >= 0,
                "at_lps_mm": _point(self.at_lps_mm), "depth_from_entry_mm": round(self.depth_mm, 3),
                "capped": self.capped}


@dataclass(frozen=True, slots=True, eq=False)
class PlanInputs:
    """What a plan was made from: the label map, the template and the landmarks.

    Attributes
    ----------
    label_map
        The label map's file as the plan's record names it, and its SHA-256 (a plan is
        stale once the file's bytes change: :func:`~corridor.planning.outputs.check_plan_current`).
    label_names
        The label map's names by value (0: background).
    geometry
        The label map's geometry (LPS mm).
    procedure
        The template, where it came from and the SHA-256 of its bytes.
    landmarks
        The case's landmarks (LPS mm), in name order.
    """

    label_map: FileRecord
    label_names: tuple[str, ...]
    geometry: ImageGeometry
    procedure: LoadedProcedure
    landmarks: tuple[Landmark, ...]

    def __post_init__(self) -> None:
        names = [m.name for m in self.landmarks]
        if names != sorted(set(names)):
            raise ValueError(f"landmarks {names}: expected unique names in name order")
        if not self.label_names:
            raise ValueError("label_names: expected the label map's names, found none")

    @classmethod
    def from_case(cls, label_map: LabelMap, *, label_map_file: FileRecord,
                  procedure: LoadedProcedure, landmarks: Mapping[str, Landmark]) -> PlanInputs:
        """The inputs of a plan made on ``label_map`` (read from ``label_map_file``)."""
        return cls(label_map_file, tuple(label_map.names), label_map.geometry, procedure,
                   tuple(landmarks[name] for name in sorted(landmarks)))

    def to_json(self) -> dict[str, Any]:
        """The ``inputs`` block of ``plan.json``: label map (file, SHA-256, names, geometry),
        procedure (source, SHA-256, template) and landmarks."""
        return {
            "label_map": {**self.label_map.to_json(), "names": list(self.label_names),
                          "geometry": self.geometry.to_json()},
            "procedure": {"source": self.procedure.source, "sha256": self.procedure.sha256,
                          "template": self.procedure.procedure.model_dump(mode="json")},
            "landmarks": [m.to_json() for m in self.landmarks],
        }


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """The planner's answer for one case and procedure, with what it was made from and by.

    ``trajectory`` is the proposed implant when the verdict is ``safe``; otherwise it
    is the best candidate found (never to be used), with ``failed`` naming what it lacks.

    Attributes
    ----------
    side
        The side planned (``None`` for an unsided template).
    verdict
        ``safe`` only when the search and the independent re-check agree that the trajectory
        meets every constraint.
    trajectory
        The proposed implant (``safe``) or the best candidate (LPS mm); ``None`` when no
        line entered the corridor.
    clearances
        Each risk structure's clearance, then ``cortex`` and ``tip-to-cortex``.
    checks
        The geometric checks of the trajectory (angles in degrees, laterality, regions).
    failed
        The constraints the best candidate fails (empty for ``safe``).
    shortfall_mm
        How far the smallest clearance falls short of its requirement (mm), if it does.
    recheck
        The independent re-check (run only on a trajectory the search found safe).
    search
        How the search ran: options, region of interest, candidates, timings, laterality.
    inputs
        The label map, template and landmarks planned on.
    software
        The software that made the plan.
    not_checked
        The risk structures not checked because the segmentation lacks them (``structure``,
        ``roles``, ``status``, ``detail``).
    roles
        The ``roles`` block: the role table's version and SHA-256, each label's role, the
        labels ignored (``None`` when the plan was made without one).
    segmentation
        Where the label map came from when it was made elsewhere (format, files, geometry
        check, resampling), or ``None``.

    Raises
    ------
    ValueError
        A verdict its fields contradict: ``safe`` without a trajectory, failed constraints or
        a passed re-check, or with a structure not checked; ``not-fully-checked`` without a
        structure not checked or without what ``safe`` needs; ``rejected-by-recheck`` without
        a failed re-check; ``no-safe-trajectory`` without a failed constraint.
    """

    side: Side | None
    verdict: Verdict
    trajectory: Trajectory | None
    clearances: tuple[Clearance, ...]
    checks: dict[str, Any]
    failed: tuple[str, ...]
    shortfall_mm: float | None
    recheck: RecheckResult | None
    search: dict[str, Any]
    inputs: PlanInputs
    software: SoftwareIdentity
    not_checked: tuple[Mapping[str, Any], ...] = ()
    roles: Mapping[str, Any] | None = None
    segmentation: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        rechecked = None if self.recheck is None else self.recheck.passed
        confirmed = self.trajectory is not None and not self.failed and rechecked is True
        consistent = {
            Verdict.SAFE: confirmed and not self.not_checked,
            Verdict.NOT_FULLY_CHECKED: confirmed and bool(self.not_checked),
            Verdict.REJECTED_BY_RECHECK: self.trajectory is not None and rechecked is False,
            Verdict.NO_SAFE_TRAJECTORY: bool(self.failed),
        }[self.verdict]
        if not consistent:
            raise ValueError(f"verdict {self.verdict.value} with trajectory "
                             f"{self.trajectory is not None}, failed {self.failed} and re-check "
                             f"passed {rechecked}: a plan its own fields contradict")

    @property
    def procedure(self) -> str:
        """The template's name."""
        return self.inputs.procedure.procedure.name

    def to_json(self) -> dict[str, Any]:
        """The plan document (``plan.json``, less the written files and the risk map's
        summary, which :meth:`~corridor.planning.result.PlanResult.write` adds)."""
        implant_key = ("trajectory" if self.verdict in (Verdict.SAFE, Verdict.NOT_FULLY_CHECKED)
                       else "best_candidate")
        return {
            "format": "corridor-plan/1",
            "procedure": self.procedure,
            "side": None if self.side is None else self.side.value,
            "verdict": self.verdict.value,
            implant_key: None if self.trajectory is None else self.trajectory.to_json(),
            "failed_constraints": list(self.failed),
            "shortfall_mm": None if self.shortfall_mm is None else round(self.shortfall_mm, 4),
            "clearances": [c.to_json() for c in self.clearances],
            "checks": self.checks,
            "recheck": None if self.recheck is None else self.recheck.to_json(),
            "search": self.search,
            "software": self.software.to_json(),
            "inputs": self.inputs.to_json(),
            "not_checked": [dict(item) for item in self.not_checked],
            **({} if self.roles is None else {"roles": dict(self.roles)}),
            **({} if self.segmentation is None else {"segmentation": dict(self.segmentation)}),
        }
