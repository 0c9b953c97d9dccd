"""Step definitions of ``verification/features/validation/degenerate.feature``.

Verifies that degenerate options (non-finite thresholds, margins and effects, alpha or power
outside (0, 1), a modality given twice, an endless bootstrap) and degenerate data (one modality,
no variance at all) are refused by ``corridor validate`` with exit status 2 and one line naming
the option, field or file, the value found and what was expected; that a study which cannot be
analysed as defined writes nothing; and that a test without variance is reported as undefined,
with no p-value and no conclusion.

Oracles: the degenerate inputs are built here from the pinned Van Dyke data, the shipped
example study and small tables whose degeneracy is exact by construction (every value equal;
raters differing by a constant, so that the two-way ANOVA's residual is exactly 0); the
expected messages are written in the feature file.
"""

from __future__ import annotations

import csv
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_bdd import given, parsers, scenarios, then, when

from verification.validation.helpers import Case, load_vandyke, run_command, write_rows

scenarios("validation/degenerate.feature")

STUDY = Path(__file__).parents[2] / "validation_study" / "vandyke-example"


def _write_table(case: Case, header: list[str], rows: list[list[object]]) -> None:
    path = case.root / "data.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    case.data = path


@given("the Van Dyke reader data")
def vandyke(case: Case) -> None:
    """The pinned file itself."""
    load_vandyke(case)


@given("the Van Dyke reader data of modality 1 only")
def one_modality(case: Case) -> None:
    """Modality 2's readings removed."""
    load_vandyke(case)
    write_rows(case, [r for r in case.rows if r["treatment"] == "1"])


@given("the Van Dyke reader data with every rating 3")
def every_rating_three(case: Case) -> None:
    """Every reader rates every case 3 in both modalities: no reader or case varies."""
    load_vandyke(case)
    write_rows(case, [{**r, "rating": "3"} for r in case.rows])


@given("continuous data")
def continuous(case: Case) -> None:
    """Two readers x two modalities x three cases, every value different."""
    _write_table(case, ["reader", "modality", "case", "value"],
                 [[reader, modality, k, 1.0 + r + 2 * m + 0.5 * k + 0.1 * k * k * (r + 1)]
                  for r, reader in enumerate("ab") for m, modality in enumerate("xy")
                  for k in range(3)])


@given("continuous data whose every value is 2")
def continuous_constant(case: Case) -> None:
    """The same design, every value 2."""
    _write_table(case, ["reader", "modality", "case", "value"],
                 [[reader, modality, k, 2] for reader in "ab" for modality in "xy"
                  for k in range(3)])


@given("ratings whose every value is 4")
def ratings_constant(case: Case) -> None:
    """Five subjects x three raters, every value 4."""
    _write_table(case, ["subject", "rater", "value"],
                 [[s, r, 4] for s in range(1, 6) for r in "abc"])


@given("ratings of raters differing by a constant")
def ratings_offset(case: Case) -> None:
    """Value = 2 x subject + the rater's offset (0, 1, 2): the residual is exactly 0."""
    _write_table(case, ["subject", "rater", "value"],
                 [[s, rater, 2 * s + offset] for s in range(1, 6)
                  for offset, rater in enumerate("abc")])


@given("ratings in 101 categories")
def ratings_categories(case: Case) -> None:
    """Two raters agreeing on 101 subjects, each subject its own category."""
    _write_table(case, ["subject", "rater", "value"],
                 [[s, rater, f"category-{s}"] for s in range(101) for rater in "ab"])


@when(parsers.re(r'corridor validate (?P<analysis>[a-z-]+) is run on them with "(?P<options>.*)"'))
def run_analysis(case: Case, analysis: str, options: str) -> None:
    """In process."""
    assert case.data is not None
    run_command(case, ["validate", analysis, str(case.data), *shlex.split(options)])


def _example_study(case: Case) -> tuple[Path, dict[str, Any]]:
    folder = case.root / "study"
    shutil.copytree(STUDY, folder)
    return folder, yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))


def _save(folder: Path, document: dict[str, Any]) -> None:
    (folder / "study.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")


@given("the example study with an endpoint whose test and reference modality are cine-mri")
def same_modalities(case: Case) -> None:
    """The first endpoint compares cine-mri with itself."""
    folder, document = _example_study(case)
    document["endpoints"][0]["reference_modality"] = "cine-mri"
    _save(folder, document)
    case.definition = folder / "study.yaml"


@given("the example study with the sensitivity threshold .nan")
def nan_threshold(case: Case) -> None:
    """YAML's not-a-number as the third endpoint's threshold."""
    folder, _ = _example_study(case)
    text = (folder / "study.yaml").read_text(encoding="utf-8")
    assert "threshold: 3\n" in text
    (folder / "study.yaml").write_text(text.replace("threshold: 3\n", "threshold: .nan\n"),
                                       encoding="utf-8")
    case.definition = folder / "study.yaml"


@given("the example study with every rating 3")
def study_every_rating_three(case: Case) -> None:
    """The readings' every rating set to 3."""
    folder, _ = _example_study(case)
    with (folder / "readings.csv").open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    with (folder / "readings.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**r, "rating": "3"} for r in rows)
    case.definition = folder / "study.yaml"


@given("the example study with 17 modalities")
def many_modalities(case: Case) -> None:
    """Fifteen modalities added to the example's two."""
    folder, document = _example_study(case)
    document["modalities"] += [{"id": f"extra-{i}", "description": "added"} for i in range(15)]
    _save(folder, document)
    case.definition = folder / "study.yaml"


@given("the example study with nothing changed")
def unchanged_study(case: Case) -> None:
    """A copy of the shipped example."""
    folder, _ = _example_study(case)
    case.definition = folder / "study.yaml"


Tree = dict[str, bytes | None]


def _tree(folder: Path) -> Tree:
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
            for p in folder.rglob("*")}


@pytest.fixture
def before() -> Tree:
    """The scenario's folder as it was before the command ran (filled by the When step)."""
    return {}


@when(parsers.parse("corridor validate study is run on it into {out}"))
def run_study_into(case: Case, out: str, before: Tree) -> None:
    """``--out`` a new folder, or a file already there; the scenario's folder is listed first."""
    target = case.root / "out"
    if out == "a file":
        target.write_text("a file, not a folder\n", encoding="utf-8")
    else:
        assert out == "a new folder", out
    assert case.definition is not None
    before.update(_tree(case.root))
    run_command(case, ["validate", "study", str(case.definition), "--out", str(target)])


@then(parsers.parse('it exits with status 2 and one line naming "{named}", without a traceback'))
def refused_in_one_line(case: Case, named: str) -> None:
    """One line names it; any other line is argparse's usage (an option refused by its type)."""
    shown = f"status {case.status}\nstdout: {case.stdout}\nstderr: {case.stderr}"
    assert case.status == 2, shown
    assert "Traceback" not in case.stdout + case.stderr, shown
    assert case.stdout == "", shown
    lines = case.stderr.splitlines()
    naming = [line for line in lines if named in line]
    assert len(naming) == 1, shown
    usage = lines[:lines.index(naming[0])]
    assert lines[-1] == naming[0], shown
    assert not usage or (usage[0].startswith("usage: corridor validate")
                         and all(line.startswith(" ") for line in usage[1:])), shown


@then("nothing is written")
def nothing_written(case: Case, before: Tree) -> None:
    """The scenario's folder holds exactly what it held before the run, byte for byte."""
    assert before
    assert _tree(case.root) == before


@then(parsers.parse('it exits with status 0, printing each one-sided p-value as undefined, no '
                    'non-inferiority, and the note "{note}"'))
def undefined_printed(case: Case, note: str) -> None:
    """Every non-inferiority line says undefined; none concludes."""
    assert case.status == 0, case.stderr
    lines = [line for line in case.stdout.splitlines() if "non-inferiority" in line]
    assert lines, case.stdout
    assert all(line.endswith("one-sided p undefined") for line in lines), case.stdout
    assert "-> non-inferior" not in case.stdout
    assert any(line.strip().startswith(f"note: {note}") for line in case.stdout.splitlines())


@then("the JSON gives no one-sided p-value and no non-inferiority in either order")
def undefined_json(case: Case) -> None:
    """``p_value_one_sided`` null and ``non_inferior_at_0_025`` false, both orders."""
    assert case.status == 0, case.stderr
    items = case.document["non_inferiority"]
    assert {(i["test"], i["reference"]) for i in items} == {("1", "2"), ("2", "1")}
    for item in items:
        assert item["p_value_one_sided"] is None, item
        assert item["non_inferior_at_0_025"] is False, item
