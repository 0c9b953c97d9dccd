"""Step definitions of ``verification/features/validation/data.feature``.

Verifies that reader data are checked before any number is reported: every planted problem
listed with its row, incomplete designs and unknown modalities refused, degenerate data
explained, and split-plot and partially paired designs analysed only when declared.

Oracles: faults planted here in the pinned Van Dyke data (the rows and readers they must
name), and the design written in each scenario's study definition.
"""

from __future__ import annotations

import codecs
import json

import numpy as np
from pytest_bdd import given, parsers, scenarios, then, when

from corridor_qms.validation import StudyDataError, load_definition
from verification.validation.helpers import (
    Case,
    load_vandyke,
    run_command,
    run_mrmc_command,
    write_rows,
)

scenarios("validation/data.feature")


@given("the Van Dyke reader data with a study definition for readers 1 to 5, modalities 1 and 2, "
       "ratings 1 to 5")
def with_definition(case: Case) -> None:
    """A definition written next to a copy of the data."""
    load_vandyke(case)
    definition = {
        "name": "vandyke", "title": "Van Dyke et al. 1993", "protocol": "protocol.md",
        "design": "fully-crossed", "readers": ["1", "2", "3", "4", "5"],
        "modalities": [{"id": "1", "description": "CINE MRI"},
                       {"id": "2", "description": "spin-echo MRI"}],
        "rating_min": 1, "rating_max": 5,
    }
    import yaml

    case.definition = case.root / "study.yaml"
    case.definition.write_text(yaml.safe_dump(definition), encoding="utf-8")


@given('five faults planted: a duplicate reading, a rating of 7, an unknown reader, a case whose '
       'truth changes, a rating "high"')
def plant_faults(case: Case) -> None:
    """Rows 10, 20, 30, 40 changed and row 1 repeated at the end (row 1141)."""
    rows = [dict(r) for r in case.rows]
    rows[19]["rating"] = "7"
    rows[29]["reader"] = "9"
    rows[39]["truth"] = "1" if rows[39]["truth"] == "0" else "0"
    rows[49]["rating"] = "high"
    rows.append(dict(rows[0]))
    write_rows(case, rows)


@when("corridor validate mrmc is run on it with its definition")
def run_with_definition(case: Case) -> None:
    """--definition."""
    assert case.data is not None
    assert case.definition is not None
    run_command(case, ["validate", "mrmc", str(case.data), "--definition", str(case.definition)])


@then("it exits with status 2 listing the five faults with their row numbers")
def five_faults(case: Case) -> None:
    """Each fault named with its data row (1 = first row after the header)."""
    assert case.status == 2, (case.stdout, case.stderr)
    case_40 = case.rows[39]["case"]
    for expected in ("row 20: rating 7 outside [1, 5]", "row 30: unknown reader '9'",
                     f"case '{case_40}' has truth", "in row 40",
                     "row 50: rating 'high' is not a number", "row 1141: duplicate reading"):
        assert expected in case.stderr, (expected, case.stderr)


@given("the Van Dyke reader data with one reading removed")
def one_removed(case: Case) -> None:
    """Reader 2, modality 1, case 5."""
    load_vandyke(case)
    rows = [r for r in case.rows
            if not (r["reader"] == "2" and r["treatment"] == "1" and r["case"] == "5")]
    write_rows(case, rows)


@given(parsers.parse('a study definition whose endpoint names modality "{modality}"'))
def bad_definition(case: Case, modality: str) -> None:
    """Otherwise valid."""
    import yaml

    case.definition = case.root / "study.yaml"
    case.definition.write_text(yaml.safe_dump({
        "name": "s", "title": "t", "protocol": "p.md", "design": "fully-crossed",
        "readers": ["a", "b"], "modalities": [{"id": "unaided", "description": "u"}],
        "rating_min": 0, "rating_max": 100,
        "endpoints": [{"name": "e", "figure_of_merit": "auc", "test": "non-inferiority",
                       "test_modality": modality, "reference_modality": "unaided",
                       "margin": 0.05}]}), encoding="utf-8")


@when("the definition is loaded")
def load_bad_definition(case: Case) -> None:
    """Recording the refusal."""
    assert case.definition is not None
    try:
        load_definition(case.definition)
    except StudyDataError as exc:
        case.error = exc


@then(parsers.parse('it is refused naming "{text}"'))
def refused(case: Case, text: str) -> None:
    """StudyDataError with the text."""
    assert isinstance(case.error, StudyDataError)
    assert text in str(case.error), str(case.error)


@given(parsers.parse("the Van Dyke reader data changed to {change}"))
def degenerate(case: Case, change: str) -> None:
    """One degenerate change."""
    load_vandyke(case)
    rows = [dict(r) for r in case.rows]
    if change == "reader 3 rating every case 3 in modality 1":
        for row in rows:
            if row["reader"] == "3" and row["treatment"] == "1":
                row["rating"] = "3"
    elif change == "only the negative cases":
        rows = [r for r in rows if r["truth"] == "0"]
    elif change == "only reader 1":
        rows = [r for r in rows if r["reader"] == "1"]
    elif change == "every reader rating every case 3":
        for row in rows:
            row["rating"] = "3"
    else:
        raise AssertionError(change)
    write_rows(case, rows)


@then(parsers.parse('it exits with status 0 with a note naming "{text}"'))
def note_naming_text(case: Case, text: str) -> None:
    """A note in the JSON."""
    assert case.status == 0, case.stderr
    assert any(text in note for note in case.document["notes"]), case.document["notes"]


@then(parsers.parse("it exits with status 0 with a note naming reader {reader}"))
def note_naming_reader(case: Case, reader: str) -> None:
    """The constant-rating note."""
    note_naming_text(case, f"reader {reader} gives every case the same rating")


@given("the Van Dyke reader data split into two reader groups, readers 1 and 2 reading the odd "
       "cases and readers 3 to 5 the even ones")
def split_vandyke(case: Case) -> None:
    """Rows dropped so that each group reads only its own cases."""
    load_vandyke(case)
    keep = [r for r in case.rows
            if (int(r["case"]) % 2 == 1) == (r["reader"] in ("1", "2"))]
    write_rows(case, keep)


@then(parsers.parse('the design is "{design}" and a note gives the weight of reader pairs sharing '
                    'cases, {weight}'))
def split_design(case: Case, design: str, weight: str) -> None:
    """w = (2 * 1 + 3 * 2) / (5 * 4) = 0.4."""
    assert case.status == 0, case.stderr
    assert case.document["design"]["design"] == design
    assert any(f"w = {weight}" in note for note in case.document["notes"]), case.document["notes"]


@given(parsers.parse("the Van Dyke reader data with {percent:d} % of its readings removed at "
                     "random"))
def vandyke_dropped(case: Case, percent: int) -> None:
    """Seeded."""
    load_vandyke(case)
    rng = np.random.default_rng(3)
    write_rows(case, [r for r in case.rows if rng.random() >= percent / 100])


@then(parsers.parse('the design is "{design}" and the DBM cross-check is said to be unavailable'))
def partially_paired_design(case: Case, design: str) -> None:
    """Analysed, and the DBM check is not claimed."""
    assert case.status == 0, case.stderr
    assert case.document["design"]["design"] == design
    assert "dbm" not in case.document
    assert any("DBM cross-check not available" in n for n in case.document["notes"])


@given("the Van Dyke reader data saved as a spreadsheet saves CSV, with a UTF-8 byte-order mark "
       "and CRLF line ends")
def spreadsheet_csv(case: Case) -> None:
    """The pinned file's bytes behind a BOM, every line ending in CRLF; the plain file's
    analysis kept for comparison."""
    load_vandyke(case)
    assert case.data is not None
    plain = case.data.read_bytes()
    run_mrmc_command(case, "--json")
    assert case.status == 0, case.stderr
    (case.root / "plain-analysis.json").write_text(case.stdout, encoding="utf-8")
    text = plain.decode("utf-8").replace("\r\n", "\n").replace("\n", "\r\n")
    path = case.root / "from-a-spreadsheet.csv"
    path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    written = path.read_bytes()
    assert written.startswith(codecs.BOM_UTF8)
    assert written.count(b"\r\n") == plain.count(b"\n") > 0
    case.data = path


@then("it exits with status 0 and its analysis is the plain file's, number for number")
def same_analysis(case: Case) -> None:
    """The JSON documents equal, but for the data file's path (the design's ``source``)."""
    assert case.status == 0, case.stderr
    found = json.loads(case.stdout)
    plain = json.loads((case.root / "plain-analysis.json").read_text(encoding="utf-8"))
    assert found["design"].pop("source") != plain["design"].pop("source")
    assert found == plain
