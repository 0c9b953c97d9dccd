"""Procedure templates: what a trajectory must do, as data (YAML, validated on load).

A template names the corridor (the labels the implant must stay inside, with its
clearance from their surface), the risk structures (a region each, with the
clearance the implant must keep from it), the implant (diameter, the lengths it comes
in, how far its tip must stay short of the far cortex), where it may enter and where
its tip must end, and the angular limits.  Regions combine criteria, all of which must
hold: roles or label names, a sphere around a landmark (or a fixed LPS point) and half-spaces.

Roles (``bone``, ``iliac-vessel``, ...) are what a label is, whoever named it: the shipped role
table (:mod:`~corridor.planning.roles`) maps the names of Corridor's model, TotalSegmentator and
3D Slicer to them, so one template runs on all three.  The shipped templates name roles; a
user's template may name ``labels`` instead, matched verbatim against the label map's names.

Templates are written for the patient's **left** side where they are sided: landmark
names get the side as a prefix (``femoral-head`` becomes ``left-femoral-head`` or
``right-femoral-head``) and the x component (patient left) of every half-space normal
is negated for the right side; fixed points (``centre_lps_mm``, ``point_lps_mm``, for a
template written for one case) are used as given.  Every length is in mm, every
direction in LPS.
"""

from __future__ import annotations

import hashlib
import math
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from corridor.planning.errors import PlanningError
from corridor.reading import InputFileError, read_regular_file, yaml_nested_beyond

__all__ = ["SHIPPED_PROCEDURES", "Angles", "CorridorSpec", "HalfSpace", "Implant",
           "LateralityCheck", "LengthRange", "LoadedProcedure", "Procedure", "Region",
           "RiskStructure", "Side", "SphereCriterion", "load_procedure"]

MAX_TEMPLATE_BYTES = 256 * 1024
"""Largest template file read (the shipped ones are 2 kB)."""

MAX_TEMPLATE_DEPTH = 16
"""Deepest nesting of mappings and sequences accepted in a template (the schema needs 5),
checked on the YAML events before any node is built."""

MAX_COORDINATE_MM = 10_000.0
"""Largest magnitude of a fixed LPS coordinate or half-space offset (mm): beyond any
scanner's table travel."""

MAX_CLEARANCE_MM = 50.0
"""Largest clearance or tip-to-cortex distance (mm): more than any bone offers."""

MAX_REGION_MM = 500.0
"""Largest sphere radius or growth (mm): more than a body is wide."""

MAX_IMPLANT_DIAMETER_MM = 30.0
"""Largest implant diameter (mm): intramedullary nails reach about 20 mm."""

MAX_IMPLANT_LENGTH_MM = 600.0
"""Longest implant (mm): the longest femoral nails are about 500 mm."""

MIN_LENGTH_STEP_MM = 0.5
"""Smallest step between available implant lengths (mm): implants come in whole or half
millimetres."""

MAX_LENGTHS = 200
"""Most available implant lengths in one template (each is searched)."""

MAX_ITEMS = 32
"""Most risk structures, labels of one region or half-spaces of one region."""

Clearance = Annotated[float, Field(ge=0.0, le=MAX_CLEARANCE_MM, allow_inf_nan=False)]
RegionMillimetres = Annotated[float, Field(ge=0.0, le=MAX_REGION_MM, allow_inf_nan=False)]
Coordinate = Annotated[float, Field(ge=-MAX_COORDINATE_MM, le=MAX_COORDINATE_MM,
                                    allow_inf_nan=False)]
Vector = tuple[Coordinate, ...]
Labels = tuple[Annotated[str, Field(min_length=1, max_length=64)], ...]
Roles = tuple[Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")],
              ...]


def _known_roles(roles: Roles | None) -> None:
    from corridor.planning.roles import load_role_table

    known = load_role_table().roles
    unknown = [r for r in roles or () if r not in known]
    if unknown:
        raise ValueError(f"roles {unknown} are not in the role table; known: "
                         + ", ".join(sorted(known)))


class Side(StrEnum):
    """The patient side a sided procedure is planned on."""

    LEFT = "left"
    RIGHT = "right"


class LateralityCheck(StrEnum):
    """How a plan is checked to lie on the requested side (hazard: wrong side)."""

    MIDLINE = "midline"
    """Entry and tip lie on the requested side of the patient's sagittal midline, taken as
    the x centre of the corridor labels (a scan holding both sides, e.g. the pelvis)."""
    MEDIAL_TIP = "medial-tip"
    """The tip lies medial to the entry (for a femoral neck: head medial to the lateral
    cortex), which needs only one limb in the scan."""
    NONE = "none"
    """Not sided."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SphereCriterion(_Strict):
    """Points within ``radius_mm`` of a landmark (or a fixed point), and beyond ``inner_radius_mm``.

    ``radius_mm`` omitted means the landmark's own radius (a landmark placed as a
    fitted sphere, e.g. the femoral head); ``grow_mm`` is added to it either way.
    """

    landmark: str | None = Field(default=None, max_length=64)
    centre_lps_mm: Vector | None = None
    radius_mm: Annotated[float, Field(gt=0.0, le=MAX_REGION_MM, allow_inf_nan=False)] | None = None
    inner_radius_mm: RegionMillimetres = 0.0
    grow_mm: RegionMillimetres = 0.0

    @model_validator(mode="after")
    def _one_centre(self) -> Self:
        if (self.landmark is None) == (self.centre_lps_mm is None):
            raise ValueError("give exactly one of landmark and centre_lps_mm")
        if self.centre_lps_mm is not None and len(self.centre_lps_mm) != 3:
            raise ValueError("centre_lps_mm needs three coordinates")
        if self.centre_lps_mm is not None and self.radius_mm is None:
            raise ValueError("a sphere around a fixed point needs radius_mm")
        return self


class HalfSpace(_Strict):
    """Points ``p`` with ``(p - point) . normal >= offset_mm`` (``normal`` normalised on load)."""

    landmark: str | None = Field(default=None, max_length=64)
    point_lps_mm: Vector | None = None
    normal_lps: Vector
    offset_mm: Coordinate = 0.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.landmark is None) == (self.point_lps_mm is None):
            raise ValueError("give exactly one of landmark and point_lps_mm")
        if self.point_lps_mm is not None and len(self.point_lps_mm) != 3:
            raise ValueError("point_lps_mm needs three coordinates")
        if len(self.normal_lps) != 3 or math.hypot(*self.normal_lps) < 1e-9:
            raise ValueError("normal_lps needs three coordinates, not all zero")
        return self


class Region(_Strict):
    """Where something may be: every criterion given must hold (at least one is given).

    ``roles`` name what the voxels are (the role table maps each label map's names to roles:
    Corridor's model, TotalSegmentator and 3D Slicer alike); ``labels`` name a label map's
    labels verbatim (a user's template written for one naming).  A region has one or neither.
    """

    labels: Labels | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)
    roles: Roles | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)
    sphere: SphereCriterion | None = None
    half_spaces: tuple[HalfSpace, ...] = Field(default=(), max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if (self.labels is None and self.roles is None and self.sphere is None
                and not self.half_spaces):
            raise ValueError("a region needs labels, roles, a sphere or a half-space")
        if self.labels is not None and self.roles is not None:
            raise ValueError("give labels or roles, not both")
        _known_roles(self.roles)
        return self

    def landmarks(self) -> set[str]:
        """Names of the landmarks this region refers to."""
        names = {h.landmark for h in self.half_spaces if h.landmark is not None}
        if self.sphere is not None and self.sphere.landmark is not None:
            names.add(self.sphere.landmark)
        return names


class CorridorSpec(_Strict):
    """The structure the implant must stay inside (bone)."""

    labels: Labels | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)
    """Label names that make up the corridor; those present in the label map are used."""
    roles: Roles | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)
    """Roles that make up the corridor (the role table maps label names to roles)."""
    clearance_mm: Clearance
    """Smallest distance from the implant's surface to the corridor's surface (cortex)."""
    entry_zone_mm: Annotated[float, Field(ge=0.0, le=MAX_REGION_MM, allow_inf_nan=False)]
    """Depth from the entry point over which the implant may still cross the surface (an
    implant entering at an angle leaves the surface gradually); beyond it, the clearance holds.
    At least (implant radius + clearance) / cos(max entry angle): the clearance is measured
    in 3-D, so the entry surface itself counts until then."""

    @model_validator(mode="after")
    def _labels_or_roles(self) -> Self:
        if (self.labels is None) == (self.roles is None):
            raise ValueError("give exactly one of labels and roles")
        _known_roles(self.roles)
        return self


class RiskStructure(_Strict):
    """A structure the implant must keep away from."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    region: Region
    clearance_mm: Clearance
    """Smallest distance from the implant's surface to the structure."""


class LengthRange(_Strict):
    """The implant lengths available: ``min_mm``, ``min_mm + step_mm``, ... up to ``max_mm``."""

    min_mm: Annotated[float, Field(gt=0.0, le=MAX_IMPLANT_LENGTH_MM, allow_inf_nan=False)]
    max_mm: Annotated[float, Field(gt=0.0, le=MAX_IMPLANT_LENGTH_MM, allow_inf_nan=False)]
    step_mm: Annotated[float, Field(ge=MIN_LENGTH_STEP_MM, le=MAX_IMPLANT_LENGTH_MM,
                                    allow_inf_nan=False)]

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_mm < self.min_mm:
            raise ValueError(f"max_mm {self.max_mm} is below min_mm {self.min_mm}")
        count = math.floor((self.max_mm - self.min_mm) / self.step_mm + 1e-9) + 1
        if count > MAX_LENGTHS:
            raise ValueError(f"{count} lengths from min_mm to max_mm in steps of step_mm; "
                             f"at most {MAX_LENGTHS}")
        return self

    def lengths(self) -> tuple[float, ...]:
        """Every available length, shortest first (mm)."""
        count = math.floor((self.max_mm - self.min_mm) / self.step_mm + 1e-9) + 1
        return tuple(self.min_mm + n * self.step_mm for n in range(count))


class Implant(_Strict):
    """The implant: a cylinder of ``diameter_mm`` from the entry point to the tip."""

    name: str = Field(min_length=1, max_length=200)
    diameter_mm: Annotated[float, Field(gt=0.0, le=MAX_IMPLANT_DIAMETER_MM, allow_inf_nan=False)]
    length_mm: LengthRange
    tip_to_cortex_mm: Clearance
    """The corridor must continue at least this far beyond the tip along the axis."""

    @property
    def radius_mm(self) -> float:
        """Half the diameter."""
        return self.diameter_mm / 2.0


class Angles(_Strict):
    """Angular limits of a trajectory."""

    max_deviation_deg: float = Field(gt=0.0, le=90.0)
    """Largest angle between the trajectory and the reference direction (from the centre of
    the entry region to the centre of the target region)."""
    max_entry_angle_deg: float = Field(gt=0.0, le=90.0)
    """Largest angle between the trajectory and the corridor surface's inward normal at the
    entry point (steeper entries let the drill skid)."""


class Procedure(_Strict):
    """One procedure template."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    sided: bool
    laterality_check: LateralityCheck
    laterality_landmark: str | None = Field(default=None, max_length=64)
    """For ``midline``: the paired landmark whose left and right versions the midline lies
    half-way between (e.g. ``femoral-head``: the midline is the mean x of both hip centres)."""
    corridor: CorridorSpec
    implant: Implant
    risk_structures: tuple[RiskStructure, ...] = Field(min_length=1, max_length=MAX_ITEMS)
    entry: Region
    target: Region
    angles: Angles

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [r.name for r in self.risk_structures]
        if len(set(names)) != len(names):
            raise ValueError(f"risk structure names repeat: {names}")
        if self.sided == (self.laterality_check is LateralityCheck.NONE):
            raise ValueError("a sided procedure needs a laterality_check other than 'none', "
                             "an unsided one 'none'")
        if (self.laterality_check is LateralityCheck.MIDLINE) != (
                self.laterality_landmark is not None):
            raise ValueError("laterality_landmark is needed for, and only for, the midline check")
        # Within the entry zone the implant is still passing through the entry surface; a
        # shorter zone than this makes that surface itself break the cortex clearance.
        shortest = ((self.implant.radius_mm + self.corridor.clearance_mm)
                    / math.cos(math.radians(self.angles.max_entry_angle_deg)))
        if self.corridor.entry_zone_mm < shortest:
            raise ValueError(f"corridor.entry_zone_mm {self.corridor.entry_zone_mm} is shorter "
                             f"than (implant radius + corridor clearance) / cos(max entry "
                             f"angle) = {shortest:.2f} mm")
        return self

    def landmarks(self) -> set[str]:
        """Names of every landmark the template refers to (before the side is applied)."""
        names = self.entry.landmarks() | self.target.landmarks()
        for risk in self.risk_structures:
            names |= risk.region.landmarks()
        return names


class LoadedProcedure(BaseModel):
    """A validated template with where it came from and the SHA-256 of its bytes."""

    model_config = ConfigDict(frozen=True)

    procedure: Procedure
    source: str
    sha256: str


SHIPPED_PROCEDURES = ("acetabular-screw", "femoral-neck-screw")
"""Templates that ship with Corridor (``corridor/planning/procedures/NAME.yaml``)."""


def _describe(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
                     for e in error.errors())


def load_procedure(name_or_path: str | Path) -> LoadedProcedure:
    """Load a shipped template by name, or a user's template from a YAML file.

    Raises
    ------
    PlanningError
        Unknown name; a file that is not a regular file, larger than
        :data:`MAX_TEMPLATE_BYTES` or unreadable; YAML nested deeper than
        :data:`MAX_TEMPLATE_DEPTH` or invalid; or a template that fails validation, its
        numbers outside their physical bounds included (every failing field is named).
    """
    text = str(name_or_path)
    if text in SHIPPED_PROCEDURES:
        resource = files("corridor.planning") / "procedures" / f"{text}.yaml"
        data, source = resource.read_bytes(), f"shipped:{text}"
    else:
        path = Path(text)
        if not path.exists():
            raise PlanningError("procedure", text, "a shipped procedure ("
                                + ", ".join(SHIPPED_PROCEDURES) + ") or a YAML file")
        try:
            data = read_regular_file(path, MAX_TEMPLATE_BYTES, field="procedure",
                                     expected="a procedure template (YAML)")
        except InputFileError as exc:
            raise PlanningError("procedure", f"{path}: {exc.found}", exc.expected) from exc
        source = str(path)
    try:
        line = yaml_nested_beyond(data, MAX_TEMPLATE_DEPTH)
        if line is not None:
            raise PlanningError("procedure", f"{source}: mappings and sequences nested more "
                                f"than {MAX_TEMPLATE_DEPTH} deep (line {line})",
                                f"at most {MAX_TEMPLATE_DEPTH} levels")
        document: Any = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise PlanningError("procedure", f"{source}: {exc}", "valid YAML") from exc
    except (ValueError, OverflowError) as exc:
        # PyYAML's constructors raise these for a well-formed scalar they cannot build: a date
        # 2001-13-01, an integer of more than 4,300 digits
        raise PlanningError("procedure", f"{source}: a YAML value that cannot be read ({exc})",
                            "valid YAML values") from exc
    try:
        procedure = Procedure.model_validate(document)
    except ValidationError as exc:
        raise PlanningError("procedure", f"{source}: {_describe(exc)}",
                            "a template matching the procedure schema") from exc
    return LoadedProcedure(procedure=procedure, source=source,
                           sha256=hashlib.sha256(data).hexdigest())
