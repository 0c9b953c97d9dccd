"""The reading schedule: every reader's reading order, counterbalanced and seeded.

The order is part of the protocol, not a database accident: :func:`build_schedule` derives it
from the definition and its seed alone, ``corridor study create`` exports it (JSON and CSV), and
:meth:`Schedule.from_json` reads it back exactly.

Design (``R`` readers, ``M`` modalities, ``S`` sessions):

- the readers are permuted with NumPy's :class:`numpy.random.Generator` (PCG64) seeded from the
  seed; the reader at place ``k`` of that permutation reads the modalities in the cyclic
  Latin-square order ``k, k+1, ..., k+M-1 (mod M)``, so each modality comes first for
  ``floor(R/M)`` or ``ceil(R/M)`` readers (half of them each for two modalities);
- with one session per modality (the default) session ``s`` holds the reader's ``s``-th
  modality; with one session, the modalities follow one another in that order as blocks;
- every reader reads every study case once in every modality; within each session (or block)
  the cases are shuffled by a generator seeded from ``(seed, reader place, session, block)``;
- training cases come first in session 1, in the order defined, in that session's first
  modality; they are answered and never analysed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from corridor_qms.study.definition import StudyDefinition

__all__ = ["CSV_COLUMNS", "FORMAT", "Schedule", "ScheduleItem", "build_schedule"]

FORMAT = "corridor-study-schedule/1"
"""The ``format`` of the schedule's JSON document."""

CSV_COLUMNS = ("reader", "session", "position", "case", "alias", "modality", "training")
"""Columns of ``schedule.csv``, one row per reading."""


@dataclass(frozen=True, slots=True)
class ScheduleItem:
    """One reading: who reads which case, in which modality, when (session, 1-based position
    within the session)."""

    reader: str
    session: int
    position: int
    case: str
    alias: str
    modality: str
    training: bool


@dataclass(frozen=True, slots=True)
class Schedule:
    """Every reading of a study, in reading order (reader by reader, session, position).

    Attributes
    ----------
    study
        The study's name.
    seed
        The seed it was built from.
    sessions
        The number of sessions.
    items
        The readings.
    """

    study: str
    seed: int
    sessions: int
    items: tuple[ScheduleItem, ...]

    def for_reader(self, reader: str) -> tuple[ScheduleItem, ...]:
        """The reader's readings, in order."""
        return tuple(i for i in self.items if i.reader == reader)

    def modality_order(self, reader: str) -> tuple[str, ...]:
        """The modalities in the order the reader first reads a study case in each."""
        order: list[str] = []
        for item in self.for_reader(reader):
            if not item.training and item.modality not in order:
                order.append(item.modality)
        return tuple(order)

    def to_json(self) -> dict[str, Any]:
        """The schedule as a JSON document (``format``, ``study``, ``seed``, ``sessions``,
        ``items``)."""
        return {"format": FORMAT, "study": self.study, "seed": self.seed,
                "sessions": self.sessions, "items": [asdict(i) for i in self.items]}

    @classmethod
    def from_json(cls, document: object) -> Schedule:
        """The schedule a :meth:`to_json` document holds.

        Raises
        ------
        ValueError
            Not such a document (the message names the field).
        """
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"schedule: format: expected {FORMAT!r}")
        raw = document.get("items")
        if not isinstance(raw, list):
            raise ValueError("schedule: items: expected a list")
        items = []
        for n, entry in enumerate(raw, start=1):
            if not isinstance(entry, dict) or set(entry) != set(CSV_COLUMNS):
                raise ValueError(f"schedule: item {n}: expected the fields "
                                 f"{', '.join(CSV_COLUMNS)}")
            items.append(ScheduleItem(str(entry["reader"]), int(entry["session"]),
                                      int(entry["position"]), str(entry["case"]),
                                      str(entry["alias"]), str(entry["modality"]),
                                      bool(entry["training"])))
        return cls(str(document["study"]), int(document["seed"]), int(document["sessions"]),
                   tuple(items))

    def to_csv(self) -> str:
        """``schedule.csv``: a header and one row per reading, in reading order."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for item in self.items:
            writer.writerow([item.reader, item.session, item.position, item.case, item.alias,
                             item.modality, int(item.training)])
        return buffer.getvalue()


def _generator(seed: int, *key: int) -> np.random.Generator:
    """A generator for one purpose, independent of the others (NumPy's spawn keys)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _shuffled(cases: Sequence[str], generator: np.random.Generator) -> list[str]:
    return [cases[i] for i in generator.permutation(len(cases))]


def build_schedule(definition: StudyDefinition) -> Schedule:
    """Every reader's reading order, from the definition and its seed alone (see the module's
    docstring for the design)."""
    modalities = [m.id for m in definition.modalities]
    study = [c.id for c in definition.cases if not c.training]
    training = [c.id for c in definition.cases if c.training]
    alias = {c.id: c.alias for c in definition.cases}
    places = _generator(definition.seed, 0).permutation(len(definition.readers))
    count = len(modalities)
    items: list[ScheduleItem] = []
    for place, index in enumerate(places.tolist()):
        reader = definition.readers[index]
        order = [modalities[(place + i) % count] for i in range(count)]
        blocks: list[tuple[int, str]]  # (session, modality), in reading order
        if definition.session_count == 1:
            blocks = [(1, m) for m in order]
        else:
            blocks = [(s + 1, m) for s, m in enumerate(order)]
        position = {s: 0 for s, _ in blocks}
        for block, (session, modality) in enumerate(blocks):
            cases = list(training) if block == 0 else []
            flags = [True] * len(cases)
            shuffled = _shuffled(study, _generator(definition.seed, 1, place, session, block))
            cases += shuffled
            flags += [False] * len(shuffled)
            for case, flag in zip(cases, flags, strict=True):
                position[session] += 1
                items.append(ScheduleItem(reader, session, position[session], case,
                                          alias[case], modality, flag))
    items.sort(key=lambda i: (definition.readers.index(i.reader), i.session, i.position))
    return Schedule(definition.name, definition.seed, definition.session_count, tuple(items))
