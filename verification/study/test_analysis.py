"""Step definitions of ``verification/features/study/analysis.feature``.

Verifies the path from answers to results: simulated readers (a seeded rating model with a
known modality effect) answer a created study, two answers are changed, and the locked study
is exported and analysed with ``corridor study``.

Oracles: the ratings the scenario gave (kept here, not read from the store), the truth planted
in the definition, a validation study definition written here from the planted definition
and analysed by ``corridor validate study`` (the analysis verified against published numbers
in ``verification/features/validation/``), and each reader's AUC computed here as the
Mann-Whitney statistic of the given ratings.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from itertools import product
from pathlib import Path
from typing import Any

import yaml
from pytest_bdd import given, scenarios, then, when

from verification.command_run import run_corridor
from verification.study.helpers import QUESTIONS, RatingModel, Study

scenarios("study/analysis.feature")

MODEL = RatingModel(seed=2026)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


@given("every reader has answered every item from a seeded rating model in which the aided "
       "modality separates the cases better, changing two answers")
def simulated(study: Study) -> None:
    store = study.opened()
    truth = {c["id"]: c["truth"] for c in study.document["cases"]}
    schedule = store.schedule
    given: dict[tuple[str, str, str], list[dict[str, object]]] = {}
    for session in (1, 2):
        for reader in study.document["readers"]:
            planned = [i for i in schedule.for_reader(reader) if i.session == session]
            work = [w for w in store.worklist(reader) if w.session == session]
            for draw, (item, plan) in enumerate(zip(work, planned, strict=True)):
                study.clock.advance(seconds=90)
                answers = MODEL.answers(reader, truth[plan.case], plan.modality,
                                        1000 * session + draw)
                store.record_answer(reader, item.key, answers, 90_000)
                given[(reader, plan.modality, plan.case)] = [answers]
                if (reader, session) == ("reader-2", 2) and draw in (3, 5):
                    changed = {**answers, "acceptable": 6 - int(str(answers["acceptable"])),
                               "comment": "changed my mind"}
                    store.record_answer(reader, item.key, changed, 20_000)
                    given[(reader, plan.modality, plan.case)].append(changed)
        study.clock.advance(days=28)
    study.given["answers"] = given


@when("the study is locked, exported and analysed with corridor study")
def lock_export_analyse(study: Study) -> None:
    study.opened().close()
    study.store = None
    for argv in (["study", "lock", str(study.folder)],
                 ["study", "export", str(study.folder), "--out", str(study.root / "export")],
                 ["study", "analyse", str(study.folder), "--out", str(study.root / "analysis")]):
        done = run_corridor(argv)
        assert done.status == 0, (argv, done.stderr)


@then("readings.csv holds, for every reader, modality and study case, the latest rating the "
      "model gave, and no training case")
def readings(study: Study) -> None:
    rows = _rows(study.root / "export" / "readings.csv")
    truth = {c["id"]: c["truth"] for c in study.document["cases"]}
    study_cases = [c["id"] for c in study.document["cases"] if not c.get("training")]
    expected = {(r, m, c, str(truth[c]), str(study.given["answers"][(r, m, c)][-1]["acceptable"]))
                for r, m, c in product(study.document["readers"], ("aided", "unaided"),
                                       study_cases)}
    found = [(r["reader"], r["modality"], r["case"], r["truth"], r["rating"]) for r in rows]
    assert len(found) == len(expected) == 4 * 2 * 10
    assert set(found) == expected
    assert not any(r["case"].startswith("train") for r in rows)


@then("answers.csv holds every answer given, the two edits included as earlier revisions")
def answers(study: Study) -> None:
    rows = _rows(study.root / "export" / "answers.csv")
    given = study.given["answers"]
    assert len(rows) == sum(len(v) for v in given.values()) * len(QUESTIONS)
    for row in rows:
        revisions = given[(row["reader"], row["modality"], row["case"])]
        answer = revisions[int(row["revision"]) - 1][row["question"]]
        assert row["value"] == str(answer)
        assert row["latest"] == str(int(int(row["revision"]) == len(revisions)))
    edited = Counter((r["reader"], r["case"], r["modality"]) for r in rows
                     if r["revision"] == "2")
    assert len(edited) == 2
    assert all(n == len(QUESTIONS) for n in edited.values())


@then("corridor validate study on the exported study.yaml gives results equal to corridor "
      "study analyse's")
def same_results(study: Study) -> None:
    document = study.document
    definition = {
        "name": document["name"], "title": document["title"], "protocol": "protocol.md",
        "data": str(study.root / "export" / "readings.csv"), "design": "fully-crossed",
        "readers": document["readers"],
        "modalities": [{"id": m["id"], "description": m["description"]}
                       for m in document["modalities"]],
        "rating_min": 1, "rating_max": 5, "endpoints": document["endpoints"]}
    independent = study.root / "independent"
    independent.mkdir()
    (independent / "protocol.md").write_text("# Protocol\n", encoding="utf-8")
    (independent / "study.yaml").write_text(yaml.safe_dump(definition), encoding="utf-8")
    done = run_corridor(["validate", "study", str(independent / "study.yaml"), "--out",
                         str(independent / "out")])
    assert done.status == 0, done.stderr
    ours = json.loads((study.root / "analysis" / "results.json").read_text(encoding="utf-8"))
    theirs = json.loads((independent / "out" / "results.json").read_text(encoding="utf-8"))
    assert ours["endpoints"] == theirs["endpoints"]
    assert ours["inputs"]["data"]["sha256"] == theirs["inputs"]["data"]["sha256"]
    for key in ("design", "readers", "cases", "positive_cases", "negative_cases"):
        assert ours["study"][key] == theirs["study"][key]
    assert (study.root / "analysis" / "report.html").is_file()
    study.given["results"] = ours


def _auc(ratings: list[tuple[int, int]]) -> float:
    positives = [r for t, r in ratings if t == 1]
    negatives = [r for t, r in ratings if t == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


@then("the aided modality has the larger AUC, as the model was built to give")
def modality_effect(study: Study) -> None:
    truth = {c["id"]: c["truth"] for c in study.document["cases"] if not c.get("training")}
    results: dict[str, Any] = study.given["results"]
    per_reader = results["endpoints"][0]["per_reader"]
    mean: dict[str, float] = {}
    for modality in ("aided", "unaided"):
        aucs = []
        for reader in study.document["readers"]:
            ratings = [(t, int(str(study.given["answers"][(reader, modality, c)][-1]
                                   ["acceptable"]))) for c, t in truth.items()]
            aucs.append(_auc(ratings))
            assert abs(per_reader[modality][reader] - aucs[-1]) < 1e-12
        mean[modality] = sum(aucs) / len(aucs)
    assert mean["aided"] > mean["unaided"] + 0.1
    assert results["endpoints"][0]["comparison"]["difference"] > 0
