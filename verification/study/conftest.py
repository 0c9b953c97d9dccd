"""Fixtures and steps shared by the reader-study scenarios (``verification/features/study/``):
the scenario context, a study written and created in the scenario's folder on a fake clock,
and locking it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, when

from corridor_qms.study import StudyStore, build_schedule, load_definition
from verification.command_run import run_corridor
from verification.study.helpers import Study, study_document, write_study


@pytest.fixture
def study(tmp_path: Path) -> Iterator[Study]:
    """A fresh scenario context (its store closed afterwards)."""
    context = Study(tmp_path)
    yield context
    if context.store is not None:
        context.store.close()


@given(parsers.parse("a study of {readers:d} readers, {cases:d} cases, {training:d} training "
                     "case and {modalities:d} modalities"))
def a_study(study: Study, readers: int, cases: int, training: int, modalities: int) -> None:
    """The definition, its protocol and case folders, written (not created)."""
    study.document = study_document(readers=readers, cases=cases, training=training,
                                    modalities=modalities)
    study.definition = write_study(study.root / "definition", study.document)


@given(parsers.parse("a created study of {readers:d} readers, {cases:d} cases, {training:d} "
                     "training case and {modalities:d} modalities on a fake clock"))
def created_study(study: Study, readers: int, cases: int, training: int,
                  modalities: int) -> None:
    """The study created in process (as ``corridor study create`` does) and opened."""
    a_study(study, readers, cases, training, modalities)
    definition = load_definition(study.definition)
    study.tokens = StudyStore.create(study.folder, study.definition,
                                     build_schedule(definition), study.clock)
    study.store = StudyStore.open(study.folder, study.clock)


@when("corridor study create is run on it")
def create(study: Study) -> None:
    """``corridor study create DEFINITION --out FOLDER`` in process."""
    done = run_corridor(["study", "create", str(study.definition), "--out", str(study.folder)])
    study.status, study.stdout, study.stderr = done.status, done.stdout, done.stderr


@when("the study is locked")
def lock(study: Study) -> None:
    """``lock()`` on the open store."""
    study.opened().lock()
