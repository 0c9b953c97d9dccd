"""Routing: which series of a study is planned, with which procedure and on which side.

A routing file (YAML) written by the site::

    format: corridor-routing/1
    series:                          # which CT series of a study (all optional)
      description: "(?i)bone|std"    # a regular expression its Series Description must match
      min_instances: 30
    rules:                           # the first rule whose `when` matches the series decides
      - name: hip-fracture
        when: {StudyDescription: "(?i)hip|femur"}
        procedure: femoral-neck-screw
        side: {from: RequestedProcedureDescription, left: "(?i)left", right: "(?i)right"}
      - name: pelvis
        when: {BodyPartExamined: "(?i)pelvis"}
        procedure: acetabular-screw
        side: left

Of the study's CT series whose description and size match ``series``, the one with the most
instances is planned (ties: the lowest Series Number, then the UID).  ``when`` matches regular
expressions against the attributes (by DICOM keyword) of the series' first instance; an
attribute absent never matches.  ``side`` is fixed or read from an attribute of the request
(e.g. the worklist's Requested Procedure Description); a side that cannot be decided (neither
or both expressions match) fails the job rather than guessing.  Nothing matched: the job fails
with that reason and nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

import pydicom
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydicom.datadict import dictionary_VR, keyword_dict

from corridor.errors import InputError
from corridor.planning import Side, load_procedure

__all__ = ["ROUTING_FORMAT", "Route", "Routing", "RoutingError", "SeriesLike", "load_routing"]

ROUTING_FORMAT = "corridor-routing/1"


class RoutingError(InputError):
    """The study cannot be routed: no CT series, no rule, no side (not retryable)."""


class SeriesLike(Protocol):
    """What routing reads of a series found in the PACS."""

    @property
    def series_uid(self) -> str: ...
    @property
    def modality(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...
    @property
    def number(self) -> int | None: ...
    @property
    def instances(self) -> int: ...


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return value


def _keyword(value: str) -> str:
    if value not in keyword_dict:
        raise ValueError(f"{value!r} is not a DICOM keyword")
    if dictionary_VR(keyword_dict[value]) == "SQ":
        raise ValueError(f"{value!r} is a sequence; name an attribute with a value")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeriesSelector(_Strict):
    """Which CT series of a study may be planned."""

    description: str | None = None
    min_instances: Annotated[int, Field(ge=1)] = 1

    _check_description = field_validator("description")(
        lambda v: None if v is None else _regex(v))


class SideFrom(_Strict):
    """The side read from an attribute of the study or request."""

    from_: str = Field(alias="from")
    left: str
    right: str

    _check_keyword = field_validator("from_")(_keyword)
    _check_regex = field_validator("left", "right")(_regex)


class Rule(_Strict):
    """One routing rule."""

    name: Annotated[str, Field(min_length=1)]
    when: dict[str, str] = Field(default_factory=dict)
    procedure: Annotated[str, Field(min_length=1)]
    side: Literal["left", "right"] | SideFrom | None = None

    @field_validator("when")
    @classmethod
    def _check_when(cls, value: dict[str, str]) -> dict[str, str]:
        for keyword, pattern in value.items():
            _keyword(keyword)
            _regex(pattern)
        return value


class Routing(_Strict):
    """A routing file."""

    format: Literal["corridor-routing/1"]
    series: SeriesSelector = SeriesSelector()
    rules: Annotated[list[Rule], Field(min_length=1)]

    def select_series(self, series: Sequence[SeriesLike]) -> SeriesLike:
        """The CT series to plan on.

        Raises
        ------
        RoutingError
            When the study has no CT series, or none that the selector accepts.
        """
        ct = [s for s in series if (s.modality or "").upper() == "CT"]
        if not ct:
            found = sorted({s.modality or "none" for s in series})
            raise RoutingError(f"no CT series in the study (modalities found: "
                               f"{', '.join(found) or 'none'})")
        wanted = self.series.description
        chosen = [s for s in ct if s.instances >= self.series.min_instances and (
            wanted is None or re.search(wanted, s.description or "") is not None)]
        if not chosen:
            raise RoutingError(f"none of the study's {len(ct)} CT series matches the routing "
                               f"file's series selector (description {wanted!r}, at least "
                               f"{self.series.min_instances} instances)")
        return min(chosen, key=lambda s: (-s.instances, s.number if s.number is not None
                                          else 1 << 31, s.series_uid))

    def route(self, header: pydicom.Dataset) -> Route:
        """The first rule matching the series' first instance, with its procedure and side.

        Raises
        ------
        RoutingError
            When no rule matches, or the matching rule's side cannot be decided.
        """
        for rule in self.rules:
            if all(_matches(header, keyword, pattern) for keyword, pattern in rule.when.items()):
                return Route(rule.name, rule.procedure, _side(rule, header))
        raise RoutingError(f"no routing rule matches the series ({len(self.rules)} rule(s): "
                           + ", ".join(r.name for r in self.rules) + ")")


def _text(header: pydicom.Dataset, keyword: str) -> str | None:
    value: Any = header.get(keyword)
    if value is None or value == "":
        return None
    if isinstance(value, pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value)


def _matches(header: pydicom.Dataset, keyword: str, pattern: str) -> bool:
    text = _text(header, keyword)
    return text is not None and re.search(pattern, text) is not None


def _side(rule: Rule, header: pydicom.Dataset) -> Side | None:
    if rule.side is None or isinstance(rule.side, str):
        return None if rule.side is None else Side(rule.side)
    keyword = rule.side.from_
    left = _matches(header, keyword, rule.side.left)
    right = _matches(header, keyword, rule.side.right)
    if left == right:
        state = "both" if left else "neither"
        raise RoutingError(f"rule {rule.name!r}: the side cannot be decided from {keyword} "
                           f"({state} of the left and right expressions match)")
    return Side.LEFT if left else Side.RIGHT


@dataclass(frozen=True, slots=True)
class Route:
    """What to run on a series: the rule that matched, its procedure and the side."""

    rule: str
    procedure: str
    side: Side | None


def load_routing(path: Path) -> Routing:
    """Read and check a routing file (its procedures must exist).

    Raises
    ------
    InputError
        Naming the file and the field that is wrong.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the routing file: {exc}") from None
    try:
        routing = Routing.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}"
                             for e in exc.errors())
        raise InputError(f"{path}: not a routing file ({ROUTING_FORMAT}): {problems}") from None
    for rule in routing.rules:
        try:
            load_procedure(rule.procedure)
        except InputError as exc:
            raise InputError(f"{path}: rule {rule.name!r}: procedure: {exc}") from None
    return routing
