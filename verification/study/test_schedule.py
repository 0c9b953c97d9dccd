"""Step definitions of ``verification/features/study/schedule.feature``.

Verifies the reading schedule (every reader reads every study case once in every modality;
each modality first for floor(R/M) or ceil(R/M) readers; sessions; training first;
determinism from the seed), its storage and read-back, the worklists, and the definition's
refusals and washout warning.

Oracles: the definitions generated here (hypothesis) and the counts they imply, the files
``corridor study create`` wrote read with the standard ``json`` and ``csv`` modules, and the
IDs planted in the definition (never shown to readers).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st
from pytest_bdd import given, parsers, scenarios, then

from corridor_qms.study import Schedule, StudyStore, build_schedule, load_definition
from corridor_qms.study.definition import StudyDefinition
from verification.study.helpers import Study, study_document, write_study

scenarios("study/schedule.feature")

DEFINITIONS = st.builds(
    lambda readers, cases, modalities, training, seed, one_session: StudyDefinition.model_validate(
        study_document(readers=readers, cases=cases, modalities=modalities, training=training,
                       seed=seed, sessions=1 if one_session else None)),
    st.integers(2, 9), st.integers(1, 12), st.integers(1, 3), st.integers(0, 2),
    st.integers(0, 2**63 - 1), st.booleans())
"""Study definitions of the sizes the scenario names."""

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)


@given("reader studies of 2 to 9 readers, 1 to 12 cases, 1 to 3 modalities, 0 to 2 training "
       "cases and any seed")
def studies() -> None:
    """The definitions are drawn by :data:`DEFINITIONS` in each property."""


@then("every reader reads every study case exactly once in every modality")
def every_reading_once() -> None:
    @PROPERTY
    @hypothesis_given(DEFINITIONS)
    def check(definition: StudyDefinition) -> None:
        items = build_schedule(definition).items
        study = [i for i in items if not i.training]
        expected = {(r, c.id, m.id) for r in definition.readers for c in definition.cases
                    if not c.training for m in definition.modalities}
        found = Counter((i.reader, i.case, i.modality) for i in study)
        assert set(found) == expected
        assert set(found.values()) == {1}
        for reader in definition.readers:
            mine = [i for i in items if i.reader == reader]
            positions = [(i.session, i.position) for i in mine]
            assert positions == sorted(positions)
            for session in {i.session for i in mine}:
                assert [i.position for i in mine if i.session == session] == \
                    list(range(1, sum(i.session == session for i in mine) + 1))

    check()


@then("each modality comes first for floor(R/M) or ceil(R/M) of the R readers")
def counterbalanced() -> None:
    @PROPERTY
    @hypothesis_given(DEFINITIONS)
    def check(definition: StudyDefinition) -> None:
        schedule = build_schedule(definition)
        first = Counter(schedule.modality_order(r)[0] for r in definition.readers)
        readers, modalities = len(definition.readers), len(definition.modalities)
        for modality in definition.modalities:
            assert first[modality.id] in (readers // modalities, -(-readers // modalities))

    check()


@then("each session holds one modality, or every modality in blocks in a one-session study")
def sessions() -> None:
    @PROPERTY
    @hypothesis_given(DEFINITIONS)
    def check(definition: StudyDefinition) -> None:
        schedule = build_schedule(definition)
        for reader in definition.readers:
            mine = [i for i in schedule.items if i.reader == reader]
            if definition.sessions == 1:
                assert {i.session for i in mine} == {1}
                runs = [m for n, m in enumerate(i.modality for i in mine)
                        if n == 0 or mine[n - 1].modality != m]
                assert sorted(runs) == sorted(m.id for m in definition.modalities)
            else:
                assert {i.session for i in mine} == set(range(1, len(definition.modalities) + 1))
                for session in {i.session for i in mine}:
                    assert len({i.modality for i in mine if i.session == session}) == 1

    check()


@then("training cases come first in session 1 and nowhere else")
def training_first() -> None:
    @PROPERTY
    @hypothesis_given(DEFINITIONS)
    def check(definition: StudyDefinition) -> None:
        training = [c.id for c in definition.cases if c.training]
        for reader in definition.readers:
            mine = build_schedule(definition).for_reader(reader)
            assert [i.case for i in mine if i.training] == training
            assert [i.training for i in mine[:len(training)]] == [True] * len(training)
            assert all(i.session == 1 and i.case in training for i in mine if i.training)
            assert not any(i.training for i in mine[len(training):])

    check()


@then("the same definition gives the same schedule, and another seed another one")
def deterministic() -> None:
    @PROPERTY
    @hypothesis_given(DEFINITIONS)
    def check(definition: StudyDefinition) -> None:
        assert build_schedule(definition) == build_schedule(definition.model_copy())
        other = definition.model_copy(update={"seed": definition.seed ^ 1})
        if len([c for c in definition.cases if not c.training]) >= 6:
            # 6! orders per session and reader: two seeds agreeing everywhere is (1/720)^(R*S).
            assert [i.case for i in build_schedule(other).items] != \
                [i.case for i in build_schedule(definition).items]

    check()


@then("schedule.json read back equals the schedule built from the definition")
def json_read_back(study: Study) -> None:
    assert study.status == 0, study.stderr
    document = json.loads((study.folder / "schedule.json").read_text(encoding="utf-8"))
    built = build_schedule(load_definition(study.definition))
    assert Schedule.from_json(document) == built
    assert document["seed"] == study.document["seed"]
    assert len(document["items"]) == 3 * (6 * 2 + 1)


@then("schedule.csv holds the same readings in the same order")
def csv_read_back(study: Study) -> None:
    rows = list(csv.DictReader(io.StringIO(
        (study.folder / "schedule.csv").read_text(encoding="utf-8"))))
    document = json.loads((study.folder / "schedule.json").read_text(encoding="utf-8"))
    assert [(r["reader"], int(r["session"]), int(r["position"]), r["case"], r["modality"],
             r["training"] == "1") for r in rows] == \
        [(i["reader"], i["session"], i["position"], i["case"], i["modality"], i["training"])
         for i in document["items"]]


@then("every reader's worklist is their schedule in order, showing aliases and labels only")
def worklists(study: Study) -> None:
    document = json.loads((study.folder / "schedule.json").read_text(encoding="utf-8"))
    aliases = {c["id"]: c["alias"] for c in study.document["cases"]}
    labels = {m["id"]: m["label"] for m in study.document["modalities"]}
    hidden = set(aliases) | set(labels) | {c["folder"] for c in study.document["cases"]}
    with StudyStore.open(study.folder) as store:
        for reader in study.document["readers"]:
            shown = store.worklist(reader)
            planned = [i for i in document["items"] if i["reader"] == reader]
            assert [(w.session, w.position, w.alias, w.label, w.training) for w in shown] == \
                [(i["session"], i["position"], aliases[i["case"]], labels[i["modality"]],
                  i["training"]) for i in planned]
            for item in shown:
                text = repr(item)
                assert not any(f"'{h}'" in text for h in hidden), text
                assert not hasattr(item, "truth")


@given("a study definition whose rating question is a text question and whose modality label "
       "is a modality ID")
def bad_definition(study: Study) -> None:
    document = study_document()
    document["rating_question"] = "comment"
    document["modalities"][1]["label"] = "aided"
    study.document = document
    study.definition = write_study(study.root / "definition", document)


@then(parsers.parse('it exits with status 2 naming the file, "{first}" and "{second}"'))
def refused(study: Study, first: str, second: str) -> None:
    assert study.status == 2
    assert str(study.definition) in study.stderr
    assert first in study.stderr
    assert second in study.stderr


@then("no study folder is written")
def nothing_written(study: Study) -> None:
    assert not study.folder.exists()


@given("a study of 3 readers, 6 cases, 1 training case and 2 modalities with a washout of 14 "
       "days")
def short_washout(study: Study) -> None:
    study.document = study_document(washout_days=14)
    study.definition = write_study(study.root / "definition", study.document)


@then("it exits with status 0 warning that the FDA's CAD guidance asks for at least 28 days")
def warned(study: Study) -> None:
    assert study.status == 0, study.stderr
    assert "washout_days is 14" in study.stderr
    assert "at least 28 days" in study.stderr
    assert (study.folder / "study.sqlite").is_file()
