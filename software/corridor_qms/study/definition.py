"""The definition of a reader study: readers, modalities, cases, questions, sessions, seed.

A reader study is pre-registered: its definition (YAML) names the readers, the reading
conditions (modalities), the cases with their truth, the questions every reading answers, which
question's answer is the MRMC rating, the endpoints (as a validation study's, analysed by
:mod:`corridor_qms.validation`), the number of sessions, the washout between them and the seed
of the reading schedule (:mod:`corridor_qms.study.schedule`).

Readers see a case's ``alias`` (never its ID or folder, which may identify a patient) and a
modality's ``label`` (never its ID when the study is ``blinded``).  Errors are
:class:`~corridor_qms.validation.study.StudyDataError` naming the file, the field, the value
found and the value expected, as a validation study definition's.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from corridor.reading import InputFileError, read_regular_file, yaml_nested_beyond
from corridor_qms.validation.study import (
    MAX_DEFINITION_BYTES,
    MAX_DEFINITION_DEPTH,
    MAX_MODALITIES,
    DataFinding,
    Endpoint,
    StudyDataError,
)

__all__ = [
    "FDA_WASHOUT_DAYS",
    "KIND",
    "MAX_CASES",
    "MAX_READERS",
    "MAX_TEXT_ANSWER",
    "Case",
    "Modality",
    "Question",
    "QuestionKind",
    "StudyDefinition",
    "load_definition",
]

KIND = "reader study definition"
"""What :class:`StudyDataError` names as the file at fault."""

FDA_WASHOUT_DAYS = 28
"""Shortest washout the FDA's CAD clinical-performance guidance asks for (at least 4 weeks
between reading sessions of the same cases); shorter washouts are accepted with a warning."""

MAX_READERS = 200
"""Most readers of a study (MRMC studies have 3 to 30)."""

MAX_CASES = 5_000
"""Most cases of a study (training cases included)."""

MAX_TEXT_ANSWER = 10_000
"""Longest free-text answer, in characters."""

_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""IDs of readers, modalities, cases and questions: safe in file names, CSV and URLs."""


class QuestionKind(StrEnum):
    """What a question's answer is."""

    LIKERT = "likert"
    """An integer from ``min`` to ``max``, each level optionally labelled."""
    SCALE = "scale"
    """A number from 0 to 100 (e.g. confidence)."""
    BINARY = "binary"
    """0 or 1 (no / yes; ``true`` and ``false`` are accepted)."""
    TEXT = "text"
    """Free text of at most :data:`MAX_TEXT_ANSWER` characters."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Strict):
    """One question every reading answers."""

    id: str = Field(pattern=_ID)
    text: str = Field(min_length=1, max_length=2_000)
    kind: QuestionKind
    min: int | None = None
    """Likert: the lowest level (required)."""
    max: int | None = None
    """Likert: the highest level (required)."""
    labels: tuple[str, ...] = ()
    """Likert: one label per level, lowest first (optional)."""
    required: bool = True
    """Whether a reading must answer it (free text may be left out when ``false``)."""

    @model_validator(mode="after")
    def _levels(self) -> Self:
        if self.kind is QuestionKind.LIKERT:
            if self.min is None or self.max is None or self.max <= self.min:
                raise ValueError(f"question {self.id}: a likert question needs min < max; found "
                                 f"min {self.min}, max {self.max}")
            if self.max - self.min > 100:
                raise ValueError(f"question {self.id}: {self.max - self.min + 1} likert levels; "
                                 "expected at most 101")
            if self.labels and len(self.labels) != self.max - self.min + 1:
                raise ValueError(f"question {self.id}: {len(self.labels)} labels; expected "
                                 f"{self.max - self.min + 1} (one per level) or none")
        elif self.min is not None or self.max is not None or self.labels:
            raise ValueError(f"question {self.id}: min, max and labels belong to likert "
                             f"questions; found them on a {self.kind.value} question")
        return self

    @property
    def rating_range(self) -> tuple[float, float]:
        """The lowest and highest answer of a likert, scale or binary question.

        Raises
        ------
        ValueError
            A text question (it has no range).
        """
        if self.kind is QuestionKind.LIKERT:
            assert self.min is not None
            assert self.max is not None
            return float(self.min), float(self.max)
        if self.kind is QuestionKind.SCALE:
            return 0.0, 100.0
        if self.kind is QuestionKind.BINARY:
            return 0.0, 1.0
        raise ValueError(f"question {self.id}: a text question has no rating range")

    def check(self, value: object) -> int | float | str:
        """``value`` as stored (likert and binary as int, scale as float, text as str).

        Raises
        ------
        ValueError
            A value of the wrong type or outside the question's range; the message names the
            question, the value found and the value expected.
        """
        def refuse(expected: str) -> ValueError:
            shown = repr(value)[:60]
            return ValueError(f"question {self.id}: found {shown}, expected {expected}")

        if self.kind is QuestionKind.TEXT:
            if not isinstance(value, str) or len(value) > MAX_TEXT_ANSWER:
                raise refuse(f"text of at most {MAX_TEXT_ANSWER} characters")
            return value
        if self.kind is QuestionKind.BINARY:
            if isinstance(value, bool):
                return int(value)
            if isinstance(value, int) and value in (0, 1):
                return value
            raise refuse("0 or 1 (or true / false)")
        if self.kind is QuestionKind.LIKERT:
            assert self.min is not None
            assert self.max is not None
            if isinstance(value, bool) or not isinstance(value, int) \
                    or not self.min <= value <= self.max:
                raise refuse(f"an integer from {self.min} to {self.max}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value) or not 0 <= value <= 100:
            raise refuse("a number from 0 to 100")
        return float(value)


class Modality(_Strict):
    """One reading condition, e.g. "CT with the AI plan" or "CT only"."""

    id: str = Field(pattern=_ID)
    description: str = Field(min_length=1)
    label: str = Field(min_length=1, max_length=80)
    """What readers see (e.g. "Reading A"); never the ID when the study is blinded."""
    shows_plan: bool
    """Whether the reading page shows the case's plan in this modality."""


class Case(_Strict):
    """One case: its folder (a ``corridor plan`` case folder, relative to the definition), or a
    folder per modality (plan A vs plan B), its CT series, the alias readers see, its truth."""

    id: str = Field(pattern=_ID)
    alias: str = Field(min_length=1, max_length=80)
    """What readers see; must not identify the patient."""
    folder: str = Field(min_length=1)
    """The case folder of every modality not named in :attr:`folders`."""
    folders: dict[str, str] = Field(default_factory=dict)
    """``{modality ID: case folder}``: the plan each modality shows (e.g. plan A's folder for
    one modality, plan B's for the other); never shown to readers."""
    ct: str | None = Field(default=None, min_length=1)
    """The case's CT series (a DICOM folder, relative to the definition), required when a
    modality shows no plan: ``corridor study create`` renders its slices for those readings,
    after checking that it is the series the case folders were planned on."""
    truth: Literal[0, 1]
    """The reference standard for the MRMC endpoints (1 = positive)."""
    training: bool = False
    """Training cases are read first in session 1 and never analysed."""

    def folder_for(self, modality: str) -> str:
        """The case folder a reading in ``modality`` shows."""
        return self.folders.get(modality, self.folder)

    @property
    def all_folders(self) -> tuple[str, ...]:
        """Every case folder of the case (each once, the default first)."""
        return tuple(dict.fromkeys((self.folder, *self.folders.values())))


class StudyDefinition(_Strict):
    """A reader study: who reads what, in which conditions, answering which questions."""

    name: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    protocol: str = Field(min_length=1)
    """Path of the protocol document, relative to the definition file."""
    seed: int = Field(ge=0, lt=2**63)
    """Seed of the reading schedule (reader permutation and case orders)."""
    washout_days: int = Field(default=FDA_WASHOUT_DAYS, ge=0, le=365)
    """Days between the end of a reader's session and the start of their next."""
    blinded: bool = True
    """Whether readers see modality labels only (the labels must then differ from the IDs)."""
    readers: tuple[str, ...] = Field(min_length=2, max_length=MAX_READERS)
    modalities: tuple[Modality, ...] = Field(min_length=1, max_length=MAX_MODALITIES)
    cases: tuple[Case, ...] = Field(min_length=1, max_length=MAX_CASES)
    questions: tuple[Question, ...] = Field(min_length=1, max_length=50)
    rating_question: str
    """The question whose answer is the MRMC rating (likert, scale or binary)."""
    endpoints: tuple[Endpoint, ...] = ()
    sessions: int | None = Field(default=None, ge=1)
    """Reading sessions: one per modality (the default) or 1 (every modality in one session,
    in counterbalanced blocks)."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[str] = []
        for what, ids in (("reader", self.readers),
                          ("modality", [m.id for m in self.modalities]),
                          ("case", [c.id for c in self.cases]),
                          ("case alias", [c.alias for c in self.cases]),
                          ("modality label", [m.label for m in self.modalities]),
                          ("question", [q.id for q in self.questions])):
            twice = sorted({i for i in ids if list(ids).count(i) > 1})
            if twice:
                problems.append(f"{what} {twice[0]!r} given twice; expected unique {what}s")
        for reader in self.readers:
            if not _matches(reader):
                problems.append(f"reader {reader!r}: expected letters, digits, '.', '_' or "
                                "'-' (at most 64)")
        if self.blinded:
            names = {m.id.casefold() for m in self.modalities}
            shown = [m.label for m in self.modalities if m.label.casefold() in names]
            if shown:
                problems.append(f"modality label {shown[0]!r} is a modality ID; expected "
                                "labels that do not name the modality in a blinded study")
        questions = {q.id: q for q in self.questions}
        rating = questions.get(self.rating_question)
        if rating is None:
            problems.append(f"rating_question {self.rating_question!r} is not a question; "
                            f"expected one of {', '.join(questions)}")
        elif rating.kind is QuestionKind.TEXT or not rating.required:
            problems.append(f"rating_question {self.rating_question!r}: found a "
                            f"{'' if rating.required else 'optional '}{rating.kind.value} "
                            "question, expected a required likert, scale or binary question")
        ids = [m.id for m in self.modalities]
        for endpoint in self.endpoints:
            for modality in (endpoint.test_modality, endpoint.reference_modality):
                if modality not in ids:
                    problems.append(f"endpoint {endpoint.name}: unknown modality {modality!r};"
                                    f" expected one of {', '.join(ids)}")
        if self.sessions is not None and self.sessions not in (1, len(self.modalities)):
            problems.append(f"sessions: found {self.sessions}, expected 1 or "
                            f"{len(self.modalities)} (one per modality)")
        for case in self.cases:
            wrong = sorted(set(case.folders) - set(ids))
            if wrong:
                problems.append(f"case {case.id}: folders names modality {wrong[0]!r}; "
                                f"expected one of {', '.join(ids)}")
        ct_only = [m.id for m in self.modalities if not m.shows_plan]
        if ct_only:
            without = [c.id for c in self.cases if c.ct is None]
            if without:
                problems.append(f"case {without[0]}: no ct; expected the case's CT series (a "
                                f"DICOM folder) since modality {ct_only[0]} shows no plan")
        if all(c.training for c in self.cases):
            problems.append("every case is a training case; expected study cases")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def session_count(self) -> int:
        """The number of reading sessions."""
        return self.sessions if self.sessions is not None else len(self.modalities)

    @property
    def rating(self) -> Question:
        """The question whose answer is the MRMC rating."""
        return next(q for q in self.questions if q.id == self.rating_question)

    def modality(self, modality_id: str) -> Modality:
        """The modality of ID ``modality_id`` (``KeyError`` when there is none)."""
        for modality in self.modalities:
            if modality.id == modality_id:
                return modality
        raise KeyError(modality_id)

    def case(self, case_id: str) -> Case:
        """The case of ID ``case_id`` (``KeyError`` when there is none)."""
        for case in self.cases:
            if case.id == case_id:
                return case
        raise KeyError(case_id)

    @property
    def washout_warning(self) -> str | None:
        """Why the washout is shorter than the FDA asks for, or ``None``."""
        if self.washout_days >= FDA_WASHOUT_DAYS or self.session_count == 1:
            return None
        return (f"washout_days is {self.washout_days}: the FDA's CAD clinical-performance "
                f"guidance asks for at least {FDA_WASHOUT_DAYS} days (4 weeks) between "
                "reading sessions")


def _matches(text: str) -> bool:
    return re.fullmatch(_ID, text) is not None


def load_definition(path: Path) -> StudyDefinition:
    """Read and validate a reader study definition (YAML).

    Read as a validation study's: a regular file of at most
    :data:`~corridor_qms.validation.study.MAX_DEFINITION_BYTES`, UTF-8, nested at most
    :data:`~corridor_qms.validation.study.MAX_DEFINITION_DEPTH` levels.

    Raises
    ------
    StudyDataError
        The file cannot be read or parsed, or a field fails validation (each named with the
        value found and the value expected).
    """
    source = str(path)
    try:
        data = read_regular_file(path, MAX_DEFINITION_BYTES, field=KIND,
                                 expected="a reader study definition (YAML)")
        text = data.decode("utf-8")
        line = yaml_nested_beyond(text, MAX_DEFINITION_DEPTH)
        if line is not None:
            raise StudyDataError(source, [DataFinding(
                0, f"mappings and sequences nested more than {MAX_DEFINITION_DEPTH} deep (line "
                   f"{line}); expected at most {MAX_DEFINITION_DEPTH} levels")], kind=KIND)
        document = yaml.safe_load(text)
    except InputFileError as exc:
        raise StudyDataError(source, [DataFinding(
            0, f"{exc.field}: found {exc.found}, expected {exc.expected}")], kind=KIND) from exc
    except UnicodeDecodeError as exc:
        raise StudyDataError(source, [DataFinding(
            0, f"byte {exc.start} is not UTF-8; expected UTF-8 text")], kind=KIND) from exc
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise StudyDataError(source, [DataFinding(0, f"{type(exc).__name__}: {exc}")],
                             kind=KIND) from exc
    try:
        return StudyDefinition.model_validate(document)
    except ValidationError as exc:
        raise StudyDataError(source, [
            DataFinding(0, f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
                           + (f" (found {str(e['input'])[:60]!r})"
                              if e["type"] != "missing" and e["loc"] else ""))
            for e in exc.errors()], kind=KIND) from exc
