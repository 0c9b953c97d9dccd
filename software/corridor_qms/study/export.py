"""A locked study's data, in the formats the validation analyses read.

:func:`write_export` writes into a folder:

- ``readings.csv``: the long format ``reader,modality,case,truth,rating`` that ``corridor
  validate`` reads, one row per study reading (training cases left out), the rating being the
  latest answer to the study's ``rating_question``;
- ``answers.csv``: every answer to every question, each revision (the edit history) with its
  time, reading time and event sequence, ``latest`` marking the one that counts;
- ``schedule.csv``: the reading schedule;
- ``study.yaml``: a validation study definition (``fully-crossed``, the study's readers,
  modalities, study cases, rating range and endpoints) naming ``readings.csv`` and the
  protocol (copied under ``protocol/``), so that ``corridor validate study study.yaml`` analyses
  the export, and :func:`analyse` does exactly that.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import yaml

from corridor.staging import staged_folder, write_text_atomic
from corridor_qms.study.store import SCHEDULE_CSV, StudyStore
from corridor_qms.validation.report import run_study, write_study_report

__all__ = ["ANSWER_COLUMNS", "READINGS", "VALIDATION_DEFINITION", "analyse", "export_files",
           "write_export"]

READINGS = "readings.csv"
ANSWERS = "answers.csv"
VALIDATION_DEFINITION = "study.yaml"
ANSWER_COLUMNS = ("reader", "session", "position", "case", "modality", "training", "question",
                  "value", "revision", "latest", "reading_ms", "answered_at", "sequence")
"""Columns of ``answers.csv``."""


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _rating(value: object) -> str:
    """A rating as the CSV shows it (integers without a decimal point)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def export_files(store: StudyStore) -> dict[str, str]:
    """The export's text files by name (the protocol aside).

    Raises
    ------
    StudyNotLockedError
        The study is not locked.
    """
    definition = store.definition
    answers = store.answers()
    rating = definition.rating_question
    readings: list[list[Any]] = [["reader", "modality", "case", "truth", "rating"]]
    for a in answers:
        if a.latest and not a.training and a.question == rating:
            readings.append([a.reader, a.modality, a.case, a.truth, _rating(a.value)])
    table: list[list[Any]] = [list(ANSWER_COLUMNS)]
    for a in answers:
        table.append([a.reader, a.session, a.position, a.case, a.modality, int(a.training),
                      a.question, "" if a.value is None else a.value, a.revision,
                      int(a.latest), a.reading_ms, a.answered_at.isoformat(), a.sequence])
    low, high = definition.rating.rating_range
    validation = {
        "name": definition.name, "title": definition.title,
        "protocol": f"protocol/{Path(store.protocol_path).name}", "data": READINGS,
        "design": "fully-crossed", "readers": list(definition.readers),
        "modalities": [{"id": m.id, "description": m.description}
                       for m in definition.modalities],
        "cases": [c.id for c in definition.cases if not c.training],
        "rating_min": low, "rating_max": high,
        "endpoints": [e.model_dump(exclude_none=True) for e in definition.endpoints],
    }
    return {READINGS: _csv(readings), ANSWERS: _csv(table),
            SCHEDULE_CSV: (store.folder / SCHEDULE_CSV).read_text("utf-8"),
            VALIDATION_DEFINITION: yaml.safe_dump(validation, sort_keys=False)}


def _write_into(store: StudyStore, folder: Path) -> None:
    files = export_files(store)
    for name, text in files.items():
        write_text_atomic(folder / name, text)
    protocol = store.folder / store.protocol_path
    (folder / "protocol").mkdir(exist_ok=True)
    shutil.copyfile(protocol, folder / "protocol" / protocol.name)


def write_export(store: StudyStore, out: Path) -> None:
    """Write the export into ``out`` (new or empty), all or nothing.

    Raises
    ------
    StudyNotLockedError
        The study is not locked (nothing written).
    corridor.staging.OutputFolderError
        ``out`` exists and is not empty.
    """
    store.answers()  # refuse an unlocked study before creating anything
    with staged_folder(out) as staging:
        _write_into(store, staging)


def analyse(store: StudyStore, out: Path) -> dict[str, Any]:
    """Export into ``out/data`` and analyse it as ``corridor validate study`` does
    (:func:`corridor_qms.validation.report.run_study`), writing ``results.json`` and
    ``report.html`` into ``out`` (new or empty), all or nothing; return the results.

    Raises
    ------
    StudyNotLockedError
        The study is not locked.
    StudyDataError, AnalysisError
        The exported data cannot be analysed (e.g. unfinished readings, no endpoint).
    corridor.staging.OutputFolderError
        ``out`` exists and is not empty.
    """
    store.answers()
    with staged_folder(out) as staging:
        _write_into(store, staging / "data")
        results, readings, _ = run_study(staging / "data" / VALIDATION_DEFINITION)
        write_study_report(results, readings, staging)
    return results
