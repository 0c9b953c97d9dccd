"""Roles: what each label of a segmentation is to a template, from its name (never its number).

Templates name **roles** (``bone``, ``iliac-vessel``, ...); a label map's labels get their roles
from the shipped, versioned role table ``corridor/planning/roles.yaml`` (its version and SHA-256
are recorded in every plan).  A label's name is looked up verbatim (``hip_left`` is
TotalSegmentator's name, kept as it is: source names are translated by the table, never made to
fit Corridor's own name pattern); a DICOM SEG segment's code (SNOMED CT, with its laterality
modifier) decides before its label.  Names the table does not know are ignored and listed; label
values are never used to decide what a label is, because TotalSegmentator has renumbered its
classes between versions (HAZ-040).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from corridor.images import SegmentCode
from corridor.planning.errors import PlanningError

__all__ = ["ROLE_TABLE_FORMAT", "LabelRole", "RoleMapping", "RoleTable", "SegmentCode",
           "load_role_table", "map_roles"]

ROLE_TABLE_FORMAT = "corridor-roles/1"
"""The format of the shipped role table."""


@dataclass(frozen=True, slots=True)
class LabelRole:
    """One label of a map with its role: value, name, role, side and what decided it."""

    value: int
    name: str
    role: str
    side: str | None
    matched_by: str
    """``name`` or ``code SCHEME VALUE``."""
    source: str
    """Whose naming the table entry describes (``corridor``, ``totalsegmentator``, ``slicer``)."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"value": self.value, "name": self.name, "role": self.role, "side": self.side,
                "matched_by": self.matched_by, "source": self.source}


@dataclass(frozen=True, slots=True)
class RoleTable:
    """The shipped role table: roles, which roles a role covers, names and codes to roles."""

    version: str
    sha256: str
    roles: Mapping[str, str]
    covers: Mapping[str, tuple[str, ...]]
    names: Mapping[str, tuple[str, str | None, str]]
    """Name to ``(role, side, source)``."""
    codes: Mapping[tuple[str, str], tuple[str, str]]
    """``(scheme, value)`` to ``(role, source)``."""
    laterality: Mapping[tuple[str, str], str]
    """``(scheme, value)`` of a laterality modifier to ``left`` or ``right``."""

    def satisfies(self, role: str) -> frozenset[str]:
        """The roles whose labels stand for ``role`` (itself and those covering it)."""
        return frozenset({role, *(k for k, v in self.covers.items() if role in v)})

    def to_json(self) -> dict[str, Any]:
        """Version and SHA-256 (for plan.json)."""
        return {"file": "corridor/planning/roles.yaml", "version": self.version,
                "sha256": self.sha256}


@cache
def load_role_table() -> RoleTable:
    """The shipped role table (read once)."""
    data = (files("corridor.planning") / "roles.yaml").read_bytes()
    document: Any = yaml.safe_load(data)
    if document.get("format") != ROLE_TABLE_FORMAT:
        raise PlanningError("roles.yaml: format", document.get("format"), ROLE_TABLE_FORMAT)
    roles = {str(k): str(v) for k, v in document["roles"].items()}
    covers = {str(k): tuple(str(r) for r in v) for k, v in document.get("covers", {}).items()}
    names: dict[str, tuple[str, str | None, str]] = {}
    for entry in document["aliases"]:
        if entry["role"] not in roles or str(entry["name"]) in names:
            raise PlanningError("roles.yaml: aliases", entry, "a known role, each name once")
        names[str(entry["name"])] = (str(entry["role"]), entry.get("side"), str(entry["source"]))
    codes = {(str(e["scheme"]), str(e["value"])): (str(e["role"]), str(e["source"]))
             for e in document.get("codes", [])}
    laterality = {(str(scheme), str(value)): str(side)
                  for scheme, table in document.get("laterality", {}).items()
                  for value, side in table.items()}
    return RoleTable(str(document["version"]), hashlib.sha256(data).hexdigest(), roles, covers,
                     names, codes, laterality)


@dataclass(frozen=True, slots=True)
class RoleMapping:
    """The roles of one label map's labels.

    Attributes
    ----------
    table
        The role table used.
    labels
        Each label that has a role.
    ignored
        Names of the labels that have none (listed in plan.json, never used).
    """

    table: RoleTable
    labels: tuple[LabelRole, ...]
    ignored: tuple[str, ...]

    def values(self, roles: Sequence[str]) -> tuple[int, ...]:
        """Label values standing for any of ``roles``."""
        wanted = frozenset().union(*(self.table.satisfies(r) for r in roles))
        return tuple(sorted({item.value for item in self.labels if item.role in wanted}))

    def to_json(self) -> dict[str, Any]:
        """The ``roles`` block of plan.json: the table's identity, each label's role, the
        labels ignored."""
        return {"table": self.table.to_json(), "labels": [i.to_json() for i in self.labels],
                "ignored": list(self.ignored)}


def map_roles(names: Sequence[str], codes: Mapping[int, SegmentCode] | None = None,
              table: RoleTable | None = None) -> RoleMapping:
    """The role of each named label (value 0, background, is never a structure).

    Parameters
    ----------
    names
        The label map's names by value.
    codes
        DICOM SEG segment codes by label value (they decide before the name).
    table
        The role table (default: the shipped one).
    """
    table = table or load_role_table()
    found: list[LabelRole] = []
    ignored: list[str] = []
    for value, name in enumerate(names):
        if value == 0 or not name:  # background, or a value the map does not use
            continue
        code = (codes or {}).get(value)
        if code is not None and (code.scheme, code.value) in table.codes:
            role, source = table.codes[(code.scheme, code.value)]
            side = (table.laterality.get((code.scheme, code.laterality))
                    if code.laterality is not None else None)
            found.append(LabelRole(value, name, role, side,
                                   f"code {code.scheme} {code.value}", source))
        elif name in table.names:
            role, side_name, source = table.names[name]
            found.append(LabelRole(value, name, role, side_name, "name", source))
        else:
            ignored.append(name)
    return RoleMapping(table, tuple(found), tuple(ignored))
