"""Reader data of a multi-reader multi-case study: long CSV in, checked design out.

A reading is one row ``reader, modality, case, truth, rating``.  Loading checks what
the analyses rely on and reports every problem with its row number: missing or
unreadable values, truths other than 0 and 1, ratings outside the study's range, a
case whose truth differs between rows, duplicate readings, IDs the study definition does
not know, and cells missing from the design.  The design is named: ``fully-crossed``
(every reader reads every case in every modality) or ``split-plot`` (readers fall into
groups, each reading its own cases in every modality).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Self

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from corridor.reading import InputFileError, read_regular_file, yaml_nested_beyond
from corridor_qms.errors import QmsError

__all__ = [
    "COLUMNS",
    "MAX_CSV_BYTES",
    "MAX_CSV_COLUMNS",
    "MAX_CSV_ROWS",
    "MAX_DEFINITION_BYTES",
    "MAX_DEFINITION_DEPTH",
    "MAX_DESIGN_CELLS",
    "MAX_MODALITIES",
    "SUBGROUP_MIN_CASES",
    "AnalysisError",
    "DataFinding",
    "Design",
    "Readings",
    "StudyDataError",
    "StudyDefinition",
    "Subgroup",
    "finite_json",
    "load_case_attributes",
    "load_definition",
    "load_readings",
    "read_csv_rows",
    "readings_from_arrays",
]

COLUMNS = ("reader", "modality", "case", "truth", "rating")
"""Columns of the long CSV (``treatment`` is accepted for ``modality``, as the
Iowa, MRMCaov and RJafroc files name it)."""

MAX_CSV_BYTES = 16 * 1024 * 1024
"""Largest CSV file read (reader, agreement, continuous and pilot data): a study of 50 readers
x 5 modalities x 1,000 cases takes about 7 MiB."""

MAX_CSV_ROWS = 250_000
"""Most data rows of a CSV file (the study above has 250,000; about 75 MB once read), counted
while reading, so the rows held in memory stay bounded whatever the file holds."""

MAX_CSV_COLUMNS = 64
"""Most columns of a CSV file's header (the formats need 3 to 5)."""

MAX_DEFINITION_BYTES = 256 * 1024
"""Largest study definition read (the example is 1.5 kB)."""

MAX_DEFINITION_DEPTH = 16
"""Deepest nesting of mappings and sequences accepted in a study definition (the schema needs
3), checked on the YAML events before any node is built."""

MAX_DESIGN_CELLS = 10_000_000
"""Most modality x reader x case cells of the ratings array (80 MB of float64), checked before
it is allocated: the study above has 250,000 (more only in a split-plot design)."""

MAX_MODALITIES = 16
"""Most modalities of a study definition (each gets a panel of the report's ROC figure)."""

_DEFINITION = "study definition"
"""What :class:`StudyDataError` names when the file at fault is a study definition."""


class Design(StrEnum):
    """How readers, cases and modalities are crossed."""

    FULLY_CROSSED = "fully-crossed"
    """Every reader reads every case in every modality (factorial)."""
    SPLIT_PLOT = "split-plot"
    """Readers fall into groups; each group reads its own cases, in every modality."""
    PARTIALLY_PAIRED = "partially-paired"
    """Some readings missing in no group pattern (some cases read in one modality only, or by
    some readers only); analysed only when declared, so that a lost reading is never taken
    for a design."""


@dataclass(frozen=True, slots=True)
class DataFinding:
    """One problem in the reader data: the row (1 = first data row; 0 = the file) and what."""

    row: int
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}" if self.row else self.message


class StudyDataError(QmsError, ValueError):
    """Reader data (or a study definition) the analyses cannot use; every finding is listed.

    Attributes
    ----------
    source
        The file (or ``arrays``).
    findings
        Each problem with its row number.
    kind
        What the file is: ``reader data`` or ``study definition``.
    """

    def __init__(self, source: str, findings: Sequence[DataFinding], *,
                 kind: str = "reader data") -> None:
        self.source, self.findings, self.kind = source, list(findings), kind
        shown = "; ".join(str(f) for f in self.findings[:10])
        more = f" (and {len(self.findings) - 10} more)" if len(self.findings) > 10 else ""
        super().__init__(f"{source}: {len(self.findings)} problem(s) in the {kind}: "
                         f"{shown}{more}")


class AnalysisError(QmsError, ValueError):
    """The data or options cannot be analysed as asked (e.g. a figure of merit without its
    threshold, one reader, cases of one truth class); the message says why.

    Raised on purpose for degenerate or unusable data and options, so that the CLI reports
    it as a data error (exit status 2) while any other exception, a ``ValueError`` of NumPy
    or SciPy included, stays a defect (exit status 70, with its traceback).
    """


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Modality(_Strict):
    """One reading condition (e.g. ``unaided``, ``ai-aided``)."""

    id: str = Field(min_length=1)
    description: str = Field(min_length=1)


class Endpoint(_Strict):
    """A hypothesis of the study: which figure of merit, which comparison, which margin."""

    name: str = Field(min_length=1)
    figure_of_merit: str = Field(pattern=r"^(auc|sensitivity|specificity)$")
    test: str = Field(pattern=r"^(superiority|non-inferiority)$")
    test_modality: str
    reference_modality: str
    margin: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    """Non-inferiority margin on the figure of merit's scale (e.g. 0.05 AUC)."""
    threshold: float | None = Field(default=None, allow_inf_nan=False)
    """For sensitivity and specificity: a rating at or above it is a positive call."""

    @model_validator(mode="after")
    def _two_modalities(self) -> Self:
        if self.test_modality == self.reference_modality:
            raise ValueError(f"test_modality and reference_modality are both "
                             f"{self.test_modality!r}; expected two different modalities")
        return self


SUBGROUP_MIN_CASES = 10
"""Fewest positive and fewest negative cases a subgroup needs for its figure of merit to be
reported (a jackknife CI over fewer is not meaningful); a study may ask for more
(``subgroup_min_cases``)."""


class Subgroup(_Strict):
    """An analysis by subgroup: the cases split by one column of the case attribute table.

    ``groups`` lists the levels reported, in order; ``None`` reports every level found, sorted.
    """

    name: str = Field(min_length=1)
    attribute: str = Field(min_length=1)
    groups: tuple[str, ...] | None = Field(default=None, min_length=1)


class StudyDefinition(_Strict):
    """The study: readers, cases, modalities, the rating scale and the endpoints."""

    name: str = Field(min_length=1)
    title: str = Field(min_length=1)
    protocol: str = Field(min_length=1)
    """Path of the protocol document, relative to the definition file."""
    data: str | None = None
    """Path of the reader data (long CSV), relative to the definition file."""
    model_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    """SHA-256 of the model package (ONNX file) the study validates, if it validates one; model
    cards refuse results about another model."""
    design: Design
    readers: tuple[str, ...] = Field(min_length=2)
    modalities: tuple[Modality, ...] = Field(min_length=1, max_length=MAX_MODALITIES)
    cases: tuple[str, ...] | None = None
    """Case IDs; ``None`` accepts every case in the data."""
    rating_min: float = Field(allow_inf_nan=False)
    rating_max: float = Field(allow_inf_nan=False)
    endpoints: tuple[Endpoint, ...] = ()
    case_attributes: str | None = None
    """Path of the case attribute table (CSV ``case,<attribute>,...``, one row per case),
    relative to the definition file; needed by ``subgroups``."""
    subgroups: tuple[Subgroup, ...] = ()
    subgroup_min_cases: int = Field(default=SUBGROUP_MIN_CASES, ge=SUBGROUP_MIN_CASES)
    """Fewest positive and fewest negative cases of a reported subgroup."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.rating_max <= self.rating_min:
            raise ValueError("rating_max must exceed rating_min")
        if self.subgroups and self.case_attributes is None:
            raise ValueError("subgroups need case_attributes (the CSV case,<attribute>,...)")
        names = [s.name for s in self.subgroups]
        if len(set(names)) != len(names):
            raise ValueError("subgroup names must be unique")
        ids = [m.id for m in self.modalities]
        if len(set(ids)) != len(ids) or len(set(self.readers)) != len(self.readers):
            raise ValueError("reader and modality IDs must be unique")
        for endpoint in self.endpoints:
            for modality in (endpoint.test_modality, endpoint.reference_modality):
                if modality not in ids:
                    raise ValueError(f"endpoint {endpoint.name}: unknown modality {modality}")
        return self


def _within_depth(text: str, source: str) -> None:
    """Refuse YAML nested deeper than :data:`MAX_DEFINITION_DEPTH`, from its parser events
    (:func:`corridor.reading.yaml_nested_beyond`, as the procedure templates' loader)."""
    line = yaml_nested_beyond(text, MAX_DEFINITION_DEPTH)
    if line is not None:
        raise StudyDataError(source, [DataFinding(
            0, f"mappings and sequences nested more than {MAX_DEFINITION_DEPTH} deep"
               f" (line {line}); expected at most {MAX_DEFINITION_DEPTH} levels")],
            kind=_DEFINITION)


def _file_finding(error: InputFileError) -> DataFinding:
    return DataFinding(0, f"{error.field}: found {error.found}, expected {error.expected}")


def _decoded(data: bytes, source: str, *, kind: str, mark: bool = False) -> str:
    """``data`` as UTF-8 text (``mark``: after a byte-order mark, if there is one)."""
    skip = len(codecs.BOM_UTF8) if mark and data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = skip + exc.start
        raise StudyDataError(source, [DataFinding(0, f"byte {at} (0x{data[at]:02x}) is not "
                                                     "UTF-8; expected UTF-8 text")],
                             kind=kind) from exc


def _parsed(text: str, source: str) -> object:
    """The YAML document in ``text``, once its nesting is checked."""
    try:
        _within_depth(text, source)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StudyDataError(source, [DataFinding(0, f"{type(exc).__name__}: {exc}")],
                             kind=_DEFINITION) from exc
    except StudyDataError:
        raise
    except (ValueError, OverflowError) as exc:
        # PyYAML's constructors raise these for a well-formed scalar they cannot build: a date
        # 2001-13-01, an integer of more than 4,300 digits, "!!float x".
        raise StudyDataError(source, [DataFinding(0, f"a YAML value that cannot be read: {exc}")],
                             kind=_DEFINITION) from exc


def load_definition(path: Path) -> StudyDefinition:
    """Read and validate a study definition (YAML).

    The file is read only when it is a regular file of at most :data:`MAX_DEFINITION_BYTES`,
    decoded as UTF-8, and parsed only when nested at most :data:`MAX_DEFINITION_DEPTH` levels
    (SRS-VAL-020).

    Raises
    ------
    StudyDataError
        A file that is not a regular file, too large, unreadable, not UTF-8, nested too deep or
        not valid YAML, or a definition failing validation (each field named).
    """
    source = str(path)
    try:
        data = read_regular_file(path, MAX_DEFINITION_BYTES, field="study definition",
                                 expected="a study definition (YAML)")
    except InputFileError as exc:
        raise StudyDataError(source, [_file_finding(exc)], kind=_DEFINITION) from exc
    document = _parsed(_decoded(data, source, kind=_DEFINITION), source)
    try:
        return StudyDefinition.model_validate(document)
    except ValidationError as exc:
        raise StudyDataError(source, [
            DataFinding(0, f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}")
            for e in exc.errors()], kind=_DEFINITION) from exc


@dataclass(frozen=True, slots=True, eq=False)
class Readings:
    """Ratings in a modality x reader x case array, with the truth of each case.

    Attributes
    ----------
    modalities, readers, cases
        IDs in array order.
    truth
        ``(c,)`` bool, True for a positive (diseased) case.
    ratings
        ``(t, r, c)`` float64; NaN where a reader did not read a case (split-plot).
    design
        The design found.
    groups
        For split-plot: the group of each reader (``(r,)`` ints); all zeros otherwise.
    source
        Where the data came from.
    """

    modalities: tuple[str, ...]
    readers: tuple[str, ...]
    cases: tuple[str, ...]
    truth: NDArray[np.bool_]
    ratings: NDArray[np.float64]
    design: Design
    groups: NDArray[np.int64]
    source: str

    def select(self, modalities: Sequence[str]) -> Readings:
        """The same readings restricted to (and ordered as) the given modalities.

        Raises
        ------
        AnalysisError
            A modality not in the readings, or one given twice.
        """
        unknown = [m for m in modalities if m not in self.modalities]
        if unknown:
            raise AnalysisError(f"modality {unknown[0]!r} not in the data "
                                f"({', '.join(self.modalities)})")
        twice = [m for i, m in enumerate(modalities) if m in modalities[:i]]
        if twice:
            raise AnalysisError(f"modality {twice[0]!r} given twice; expected distinct "
                                f"modalities of the data ({', '.join(self.modalities)})")
        index = [self.modalities.index(m) for m in modalities]
        return Readings(tuple(modalities), self.readers, self.cases, self.truth,
                        self.ratings[index], self.design, self.groups, self.source)


def _design(ratings: NDArray[np.float64], findings: list[DataFinding],
            partially_paired: bool) -> tuple[Design, NDArray[np.int64]]:
    read = ~np.isnan(ratings)  # (t, r, c)
    readers = ratings.shape[1]
    if read.all():
        return Design.FULLY_CROSSED, np.zeros(readers, dtype=np.int64)
    if partially_paired:
        unread = ~read.any(axis=(0, 1))
        if unread.any():
            findings.append(DataFinding(0, f"{int(unread.sum())} case(s) read by no reader"))
        for i in range(read.shape[0]):
            for j in range(readers):
                if read[i, j].sum() < 2:
                    findings.append(DataFinding(0, f"reader {j + 1} read fewer than two cases "
                                                   f"in modality {i + 1}"))
        return Design.PARTIALLY_PAIRED, np.zeros(readers, dtype=np.int64)
    per_reader: NDArray[np.bool_] = np.asarray(read.any(axis=0))  # (r, c): read in any modality
    for j in range(readers):
        partial = per_reader[j] & ~read[:, j, :].all(axis=0)
        if partial.any():
            findings.append(DataFinding(0, f"reader {j + 1}: {int(partial.sum())} case(s) read "
                                           "in some modalities only (missing readings; declare "
                                           "a partially-paired design if intended)"))
    patterns: dict[bytes, int] = {}
    groups = np.zeros(readers, dtype=np.int64)
    for j in range(readers):
        groups[j] = patterns.setdefault(per_reader[j].tobytes(), len(patterns))
    masks: list[NDArray[np.bool_]] = [np.frombuffer(key, dtype=bool) for key in patterns]
    for a in range(len(masks)):
        for b in range(a + 1, len(masks)):
            overlap = int(np.sum(masks[a] & masks[b]))
            if overlap:
                findings.append(DataFinding(0, f"reader groups {a + 1} and {b + 1} share {overlap}"
                                               " case(s): neither fully crossed nor split-plot "
                                               "(missing readings? declare a partially-paired "
                                               "design if intended)"))
    unread = ~np.any(per_reader, axis=0)
    if unread.any():
        findings.append(DataFinding(0, f"{int(unread.sum())} case(s) read by no reader"))
    return Design.SPLIT_PLOT, groups


def readings_from_arrays(ratings: NDArray[np.float64], truth: NDArray[np.bool_], *,
                         modalities: Sequence[str] | None = None,
                         readers: Sequence[str] | None = None,
                         source: str = "arrays", partially_paired: bool = False) -> Readings:
    """Readings from a ``(t, r, c)`` array (NaN: not read) and the cases' truth.

    Missing readings form a split-plot design when the readers fall into groups reading
    disjoint cases in every modality; otherwise they are refused unless
    ``partially_paired`` declares them intended.

    Raises
    ------
    StudyDataError
        Non-finite ratings where read, a truth class with no case, or an unnamed design.
    """
    ratings = np.asarray(ratings, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    t, r, c = ratings.shape
    findings: list[DataFinding] = []
    if np.isinf(ratings).any():
        findings.append(DataFinding(0, "infinite rating"))
    if truth.shape != (c,):
        findings.append(DataFinding(0, f"truth has shape {truth.shape}, expected ({c},)"))
    elif truth.all() or not truth.any():
        findings.append(DataFinding(0, "every case has the same truth: an ROC analysis needs "
                                       "positive and negative cases"))
    design, groups = _design(ratings, findings, partially_paired)
    if findings:
        raise StudyDataError(source, findings)
    return Readings(tuple(modalities or (str(i + 1) for i in range(t))),
                    tuple(readers or (str(j + 1) for j in range(r))),
                    tuple(str(k + 1) for k in range(c)), truth, ratings, design, groups, source)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _csv_rows(text: str, source: str) -> Iterator[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is not None and len(reader.fieldnames) > MAX_CSV_COLUMNS:
        raise StudyDataError(source, [DataFinding(0, f"{len(reader.fieldnames)} columns in the "
                                                     f"header; expected at most "
                                                     f"{MAX_CSV_COLUMNS}")])
    for number, row in enumerate(reader, start=1):
        if number > MAX_CSV_ROWS:
            raise StudyDataError(source, [DataFinding(0, f"more than {MAX_CSV_ROWS} data rows; "
                                                         f"expected at most {MAX_CSV_ROWS}")])
        yield row


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file with a header, as dictionaries.

    A UTF-8 byte-order mark (what spreadsheets write) is not part of the first column's name,
    and CRLF line ends read as LF (SRS-VAL-018).  The file is read only when it is a regular
    file of at most :data:`MAX_CSV_BYTES`, with at most :data:`MAX_CSV_COLUMNS` columns and
    :data:`MAX_CSV_ROWS` data rows (SRS-VAL-020).

    Raises
    ------
    StudyDataError
        A file that is not a regular file, too large, unreadable, not UTF-8, not CSV, or with
        too many columns or rows.
    """
    source = str(path)
    try:
        data = read_regular_file(path, MAX_CSV_BYTES, field="CSV file",
                                 expected="a CSV file with a header")
    except InputFileError as exc:
        raise StudyDataError(source, [_file_finding(exc)]) from exc
    text = _decoded(data, source, kind="reader data", mark=True)
    try:
        rows = list(_csv_rows(text, source))
    except csv.Error as exc:
        raise StudyDataError(source, [DataFinding(0, f"{type(exc).__name__}: {exc}")]) from exc
    return rows


def load_case_attributes(path: Path, definition: StudyDefinition,
                         cases: Sequence[str]) -> dict[str, dict[str, str]]:
    """The case attribute table: for each attribute the subgroups use, each case's level.

    Raises
    ------
    StudyDataError
        A table without a ``case`` column or an attribute a subgroup names, a case given twice,
        an unknown case (not in the reader data), a case of the data without a row, an empty
        level, or a level outside a subgroup's ``groups``; every problem with its row number.
    """
    source = str(path)
    rows = read_csv_rows(path)
    header = [h.strip() for h in (rows[0] if rows else {}) if isinstance(h, str)]
    wanted = sorted({s.attribute for s in definition.subgroups})
    missing = [c for c in ("case", *wanted) if c not in header]
    if not rows or missing:
        raise StudyDataError(source, [DataFinding(0, "no data rows" if not rows else
                                                  f"missing column(s) {', '.join(missing)}; "
                                                  "expected case and the attributes the "
                                                  "subgroups name")])
    findings: list[DataFinding] = []
    known = set(cases)
    levels: dict[str, dict[str, str]] = {a: {} for a in wanted}
    first: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        values = {k.strip(): (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        case = values.get("case", "")
        if case in first:
            findings.append(DataFinding(number, f"case {case!r} given twice (first in row "
                                                f"{first[case]})"))
            continue
        first[case] = number
        if case not in known:
            findings.append(DataFinding(number, f"unknown case {case!r} (not in the reader "
                                                "data)"))
            continue
        for attribute in wanted:
            if not values.get(attribute):
                findings.append(DataFinding(number, f"empty {attribute}"))
            else:
                levels[attribute][case] = values[attribute]
    for subgroup in definition.subgroups:
        if subgroup.groups is None:
            continue
        for case, level in levels[subgroup.attribute].items():
            if level not in subgroup.groups:
                findings.append(DataFinding(first[case], f"{subgroup.attribute} {level!r} of "
                                                         f"case {case!r} is not a group of "
                                                         f"subgroup {subgroup.name} (expected "
                                                         f"one of {', '.join(subgroup.groups)})"))
    absent = [c for c in cases if c not in first]
    if absent:
        findings.append(DataFinding(0, f"{len(absent)} case(s) of the reader data without a "
                                       f"row, e.g. {absent[0]!r}"))
    if findings:
        raise StudyDataError(source, findings)
    return levels


def finite_json(value: object) -> object:
    """A JSON-ready value with every non-finite float as ``None`` (strict JSON)."""
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def load_readings(path: Path, definition: StudyDefinition | None = None, *,
                  partially_paired: bool = False) -> Readings:
    """Read the long CSV and check it (against ``definition`` when given).

    Missing readings are accepted as a partially paired design only when the definition (or
    ``partially_paired``) declares one.

    Raises
    ------
    StudyDataError
        Every problem found, each with its row number (1 = the first row after the header);
        a file outside the bounds of :func:`read_csv_rows`, or more modality x reader x case
        cells than :data:`MAX_DESIGN_CELLS`.
    """
    source = str(path)
    findings: list[DataFinding] = []
    rows = read_csv_rows(path)
    header = [h for h in rows[0] if isinstance(h, str)] if rows else []
    names = {"treatment": "modality"}
    columns = [names.get(h.strip().lower(), h.strip().lower()) for h in header]
    missing = [c for c in COLUMNS if c not in columns]
    if not rows or missing:
        raise StudyDataError(source, [DataFinding(0, "no data rows" if not rows else
                                                  f"missing column(s) {', '.join(missing)}; "
                                                  f"expected {', '.join(COLUMNS)}")])
    key_of = dict(zip(columns, header, strict=True))
    allowed_readers = set(definition.readers) if definition else None
    allowed_modalities = ({m.id for m in definition.modalities} if definition else None)
    allowed_cases = set(definition.cases) if definition and definition.cases else None
    cells: dict[tuple[str, str, str], tuple[int, float]] = {}
    truths: dict[str, tuple[int, int]] = {}
    order: dict[str, list[str]] = {"reader": [], "modality": [], "case": []}
    for number, row in enumerate(rows, start=1):
        values = {c: (row.get(key_of[c]) or "").strip() for c in COLUMNS}
        empty = [c for c in COLUMNS if not values[c]]
        if empty:
            findings.append(DataFinding(number, f"empty {', '.join(empty)}"))
            continue
        reader, modality, case = values["reader"], values["modality"], values["case"]
        for column, allowed in (("reader", allowed_readers), ("modality", allowed_modalities),
                                ("case", allowed_cases)):
            if allowed is not None and values[column] not in allowed:
                findings.append(DataFinding(number, f"unknown {column} {values[column]!r} "
                                                     "(not in the study definition)"))
        truth = _number(values["truth"])
        if truth not in (0.0, 1.0):
            findings.append(DataFinding(number, f"truth {values['truth']!r}, expected 0 or 1"))
            continue
        rating = _number(values["rating"])
        if rating is None:
            findings.append(DataFinding(number, f"rating {values['rating']!r} is not a number"))
            continue
        if definition and not definition.rating_min <= rating <= definition.rating_max:
            findings.append(DataFinding(number, f"rating {rating:g} outside "
                                                f"[{definition.rating_min:g}, "
                                                f"{definition.rating_max:g}]"))
        seen = truths.setdefault(case, (int(truth), number))
        if seen[0] != int(truth):
            findings.append(DataFinding(number, f"case {case!r} has truth {int(truth)} here and "
                                                f"{seen[0]} in row {seen[1]}"))
        key = (modality, reader, case)
        if key in cells:
            findings.append(DataFinding(number, f"duplicate reading of case {case!r} by reader "
                                                f"{reader!r} in modality {modality!r} (first in "
                                                f"row {cells[key][0]})"))
            continue
        cells[key] = (number, rating)
        for column, value in (("reader", reader), ("modality", modality), ("case", case)):
            if value not in order[column]:
                order[column].append(value)
    if findings:
        raise StudyDataError(source, findings)
    modalities = (tuple(m.id for m in definition.modalities) if definition
                  else tuple(order["modality"]))
    readers = tuple(definition.readers) if definition else tuple(order["reader"])
    cases = tuple(order["case"])
    cells_needed = len(modalities) * len(readers) * len(cases)
    if cells_needed > MAX_DESIGN_CELLS:
        raise StudyDataError(source, [DataFinding(0, f"{len(modalities)} modalities x "
                                                     f"{len(readers)} readers x {len(cases)} "
                                                     f"cases make {cells_needed} cells; expected "
                                                     f"at most {MAX_DESIGN_CELLS}")])
    ratings = np.full((len(modalities), len(readers), len(cases)), np.nan)
    m_index = {m: i for i, m in enumerate(modalities)}
    r_index = {r: j for j, r in enumerate(readers)}
    c_index = {c: k for k, c in enumerate(cases)}
    for (modality, reader, case), (_, rating) in cells.items():
        ratings[m_index[modality], r_index[reader], c_index[case]] = rating
    truth_array = np.array([truths[c][0] == 1 for c in cases])
    declared = partially_paired or (definition is not None
                                    and definition.design is Design.PARTIALLY_PAIRED)
    readings = readings_from_arrays(ratings, truth_array, modalities=modalities,
                                    readers=readers, source=source, partially_paired=declared)
    readings = Readings(readings.modalities, readings.readers, cases, readings.truth,
                        readings.ratings, readings.design, readings.groups, source)
    if definition and readings.design is not definition.design:
        raise StudyDataError(source, [DataFinding(0, f"the data are {readings.design.value}; "
                                                     f"the definition says "
                                                     f"{definition.design.value}")])
    return readings

