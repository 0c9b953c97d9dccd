"""Step definitions of ``verification/features/validation/subgroups.feature``.

Verifies the subgroup analyses of ``corridor validate study``: each level's figure of merit per
modality, its counts and difference, a level below the minimum reported as too few cases, and
a case attribute table that misses a case refused.

Oracles: the counts planted by the synthetic study (``helpers.SUBGROUP_LEVELS``), each
reader's empirical AUC recomputed here from the reader data as SciPy's Mann-Whitney U over
positives times negatives (ties count a half), averaged over readers, and the SHA-256 of the
table recomputed from its bytes.
"""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
from pytest_bdd import given, scenarios, then, when
from scipy import stats

from verification.validation.helpers import (
    SUBGROUP_LEVELS,
    Case,
    run_command,
    write_subgroup_study,
)

scenarios("validation/subgroups.feature")


@given("a synthetic study whose cases are split by slice band into thin, thick and oblique")
def subgroup_study(case: Case) -> None:
    """Written into the scenario folder."""
    case.definition = write_subgroup_study(case.root / "study")


@given("a synthetic study whose cases are split by slice band, without the row of case-007")
def subgroup_study_missing(case: Case) -> None:
    """One row of the table removed."""
    case.definition = write_subgroup_study(case.root / "study")
    table = case.definition.parent / "cases.csv"
    lines = [line for line in table.read_text().splitlines() if not line.startswith("case-007,")]
    table.write_text("\n".join(lines) + "\n")


@when("corridor validate study is run on it")
def run_study(case: Case) -> None:
    """In process, into the scenario folder."""
    assert case.definition is not None
    run_command(case, ["validate", "study", str(case.definition), "--out", str(case.root / "out")])
    if case.status == 0:
        case.document = json.loads((case.root / "out" / "results.json").read_text())


def _levels(case: Case) -> dict[str, dict[str, object]]:
    assert case.status == 0, case.stderr
    [analysis] = case.document["subgroups"]["analyses"]
    assert analysis["subgroup"] == "slice thickness"
    return {g["group"]: g for g in analysis["groups"]}


@then("results.json gives each of thin and thick its counts of cases, positives and negatives")
def counts(case: Case) -> None:
    """The planted counts."""
    levels = _levels(case)
    assert sorted(levels) == sorted(SUBGROUP_LEVELS)
    for name in ("thin", "thick"):
        positive, negative = SUBGROUP_LEVELS[name]
        assert (levels[name]["cases"], levels[name]["positive_cases"],
                levels[name]["negative_cases"]) == (positive + negative, positive, negative)
        assert levels[name]["status"] == "analysed"


def _oracle(case: Case, level: str) -> dict[str, float]:
    """Reader-averaged empirical AUC per modality on the level's cases, by Mann-Whitney."""
    assert case.definition is not None
    folder = case.definition.parent
    with (folder / "cases.csv").open() as handle:
        members = {row["case"] for row in csv.DictReader(handle) if row["slice-band"] == level}
    with (folder / "readings.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["case"] in members]
    found = {}
    for modality in ("aided", "unaided"):
        aucs = []
        for reader in sorted({row["reader"] for row in rows}):
            mine = [row for row in rows if row["reader"] == reader
                    and row["modality"] == modality]
            positive = [float(r["rating"]) for r in mine if r["truth"] == "1"]
            negative = [float(r["rating"]) for r in mine if r["truth"] == "0"]
            u = stats.mannwhitneyu(positive, negative, alternative="two-sided").statistic
            aucs.append(float(u) / (len(positive) * len(negative)))
        found[modality] = float(np.mean(aucs))
    return found


@then("its AUC per modality is the mean over readers of the Mann-Whitney AUC on its cases, "
      "inside its 95 % CI")
def aucs(case: Case) -> None:
    """Equal to 1e-12; the CI is finite and holds the estimate."""
    levels = _levels(case)
    for name in ("thin", "thick"):
        expected = _oracle(case, name)
        estimates = levels[name]["estimates"]
        assert isinstance(estimates, list)
        reported = {item["modality"]: item for item in estimates}
        assert sorted(reported) == sorted(expected)
        for modality, value in expected.items():
            item = reported[modality]
            assert abs(item["estimate"] - value) < 1e-12, (name, modality, item, value)
            low, high = item["ci95"]
            assert low < item["estimate"] < high, item


@then("its difference is the aided AUC minus the unaided AUC")
def difference(case: Case) -> None:
    """From the oracle's two means."""
    levels = _levels(case)
    for name in ("thin", "thick"):
        expected = _oracle(case, name)
        found = levels[name]["difference"]
        assert isinstance(found, float)
        assert abs(found - (expected["aided"] - expected["unaided"])) < 1e-12


@then("results.json records the SHA-256 of the case attribute table")
def table_hash(case: Case) -> None:
    """Recomputed from the bytes."""
    assert case.definition is not None
    table = case.definition.parent / "cases.csv"
    assert case.document["inputs"]["case_attributes"] == {
        "file": "cases.csv", "sha256": hashlib.sha256(table.read_bytes()).hexdigest()}


@then("results.json reports oblique, of 5 positive and 4 negative cases, as too few cases with "
      "no estimate")
def too_few(case: Case) -> None:
    """Counts, the reason with the minimum, and no number."""
    oblique = _levels(case)["oblique"]
    assert (oblique["cases"], oblique["positive_cases"], oblique["negative_cases"]) == (9, 5, 4)
    assert oblique["status"] == ("too few cases: 5 positive and 4 negative, expected at least 10 "
                                 "of each")
    assert oblique["estimates"] is None
    assert oblique["difference"] is None
    assert oblique["ci95"] is None
    assert json.dumps(case.document["subgroups"]["min_cases_per_class"]) == "10"


@then("report.html and the command's output say oblique has too few cases")
def too_few_shown(case: Case) -> None:
    """The row of the report's subgroup table, and the printed line."""
    html = (case.root / "out" / "report.html").read_text()
    assert "<td>oblique</td><td class=\"num\">9 (5, 4)</td>" in html, html
    assert "too few cases: 5 positive and 4 negative" in html
    assert ("auc-superiority in slice thickness = oblique (9 cases, 5 positive): too few cases"
            in case.stdout), case.stdout
