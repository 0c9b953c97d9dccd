"""Step definitions of ``features/robustness/fuzz_validation.feature``: the fuzz sweep of the
validation tooling's input families (reader, agreement, continuous and pilot CSVs; study
definitions).

Each family has a seed (a valid input) and a hypothesis strategy damaging it; each example is
written into a fresh scratch folder and given to the real ``corridor validate`` command, in
process (:func:`verification.robustness.helpers.probe`).  Oracle: the exit statuses the command's
help and the README document (written in the feature file, not taken from the code), no
traceback, the memory and time bounds and an unchanged scratch folder after a refusal
(:func:`verification.robustness.helpers.check_refusal`).

The seeds: the pinned Van Dyke reader data (reader data and pilot data); the pinned Shrout and
Fleiss (1979) ratings (agreement data); a small fully crossed continuous data set written here
(2 readers x 2 modalities x 5 cases: one mixed-model fit takes half a second); the shipped
example study definition with its protocol and every fourth case of its readings (28 cases, so
that a report is written in under a second).  Damage beyond the helpers' own: a cell set to a
hostile value (NaN, infinities, negative, huge, empty, unknown IDs), a byte-order mark and CRLF,
a header of 100 columns, a line repeated up to 5,000 times; for definitions, a number set to an
absurd or ill-typed value, an endpoint naming an unknown or the same modality, deep nesting.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import strategies as st
from pytest_bdd import given as bdd_given
from pytest_bdd import parsers, scenarios, then

from verification.robustness.helpers import (
    Family,
    mutated_bytes,
    mutated_json,
    mutated_text,
    statuses,
    sweep_family,
    write_input,
)
from verification.validation.helpers import fixture_path

scenarios("robustness/fuzz_validation.feature")

ROOT = Path(__file__).parents[2]
STUDY = ROOT / "validation_study" / "vandyke-example"
AGREEMENT = ROOT / "verification" / "fixtures" / "agreement"

_HOSTILE_CELLS = st.sampled_from(["nan", "NaN", "inf", "-inf", "-1", "0", "1e300", "-1e300",
                                  "1e-320", "", " ", "x", "0.5", "2", "1" * 5000, "unknown",
                                  '"', "\u00e9", "1,2"])
"""What a damaged cell holds: non-finite, negative, huge and tiny numbers, empty, text, an
unknown ID, a quote, a non-ASCII letter, a separator."""

_HOSTILE_NUMBERS = st.sampled_from([0, -1, 1e-9, 1e9, 1e300, -1e300, float("inf"),
                                    float("-inf"), float("nan"), 10**40, "12", None, [], {}])
"""What a damaged number of a definition holds."""


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The valid inputs, written once for the module (read only)."""
    root = tmp_path_factory.mktemp("seeds")
    manifest = json.loads((AGREEMENT / "manifest.json").read_text())["files"]
    ratings = AGREEMENT / "shrout_fleiss_1979.csv"
    assert hashlib.sha256(ratings.read_bytes()).hexdigest() == (
        manifest["shrout_fleiss_1979.csv"]["sha256"])
    shutil.copy(ratings, root / "agreement.csv")
    shutil.copy(fixture_path("vandyke.csv"), root / "vandyke.csv")
    with (root / "continuous.csv").open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["reader", "modality", "case", "value"])
        for r, reader in enumerate(("a", "b")):
            for m, modality in enumerate(("x", "y")):
                for case in range(5):
                    writer.writerow([reader, modality, f"c{case}",
                                     round(2.0 + 0.7 * r - 0.9 * m + ((case * 7 + r * 3 + m) % 5)
                                           * 0.31, 3)])
    study = root / "study"
    study.mkdir()
    shutil.copy(STUDY / "study.yaml", study / "study.yaml")
    shutil.copy(STUDY / "protocol.md", study / "protocol.md")
    with (STUDY / "readings.csv").open(newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    kept = [rows[0]] + [row for row in rows[1:] if int(row[2].rsplit("-", 1)[1]) % 4 == 0]
    with (study / "readings.csv").open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream, lineterminator="\n").writerows(kept)
    return {p.name: p for p in root.iterdir()}


# --- damage ---------------------------------------------------------------------------------------

@st.composite
def _hostile_cell(draw: st.DrawFn, text: str) -> str:
    """One to three cells of the CSV (the header's included) set to a hostile value."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for _ in range(draw(st.integers(1, 3))):
        row = draw(st.integers(0, len(rows) - 1))
        column = draw(st.integers(0, len(rows[row]) - 1))
        rows[row][column] = draw(_HOSTILE_CELLS)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _repeated_line(text: str) -> st.SearchStrategy[str]:
    """A data line repeated up to 5,000 times (duplicates, a long file)."""
    lines = text.splitlines(keepends=True)
    return st.builds(lambda index, times: "".join(lines[:index] + [lines[index]] * times
                                                  + lines[index:]),
                     st.integers(1, len(lines) - 1), st.integers(2, 5_000))


def _damaged_csv(text: str) -> st.SearchStrategy[str | bytes]:
    """Every way a CSV is damaged here."""
    header = text.splitlines()[0]
    return st.one_of(
        mutated_text(text), _hostile_cell(text), _repeated_line(text),
        mutated_bytes(text.encode("utf-8")),
        st.just(text).map(lambda t: "\ufeff" + t.replace("\n", "\r\n")),
        st.sampled_from(["", header + "\n", "\n\n\n", header + "," * 100 + "\n" + text]),
        st.text(max_size=200))


def _csv_family(name: str, seed: Path, options: st.SearchStrategy[list[str]],
                command: list[str]) -> Family:
    text = seed.read_text(encoding="utf-8")

    def write(scratch: Path, example: tuple[str | bytes, list[str]]) -> list[str]:
        content, extra = example
        write_input(scratch / "data.csv", content)
        return [*command, "data.csv", *extra]

    return Family(name, st.tuples(_damaged_csv(text), options), write, (text, []))


def _reader_data(seeds: dict[str, Path]) -> Family:
    options = st.sampled_from([[], ["--json"], ["--fom", "sensitivity", "--threshold", "3"],
                               ["--cov", "delong"], ["--modalities", "2", "1"],
                               ["--non-inferiority", "0.05"]])
    family = _csv_family("reader data", seeds["vandyke.csv"], options, ["validate", "mrmc"])
    # Found by the sweep: a carriage return before the header made the header empty and the
    # first row's cells keyless (AttributeError, exit 70).
    family.pinned = (("\r" + family.seed[0], []),)
    return family


def _agreement_data(seeds: dict[str, Path]) -> Family:
    options = st.sampled_from([["--statistic", s] for s in ("icc", "bland-altman",
                                                            "cohen-kappa", "fleiss-kappa")])
    family = _csv_family("agreement data", seeds["agreement.csv"], options,
                         ["validate", "agreement"])
    family.seed = (family.seed[0], ["--statistic", "icc"])
    return family


def _continuous_data(seeds: dict[str, Path]) -> Family:
    options = st.sampled_from([[], ["--higher-is-better"], ["--margin", "0.5", "--json"]])
    return _csv_family("continuous data", seeds["continuous.csv"], options,
                       ["validate", "continuous", "--test", "x", "--reference", "y"])


def _pilot_data(seeds: dict[str, Path]) -> Family:
    options = st.sampled_from([["--readers", "5", "--cases", "60"],
                               ["--readers", "4", "8", "--power", "0.8"],
                               ["--readers", "6", "--cases", "100", "--analysis", "frrc",
                                "--json"]])
    family = _csv_family("pilot data", seeds["vandyke.csv"], options, ["validate", "size"])
    family.seed = (family.seed[0], ["--readers", "5", "--cases", "60"])
    return family


@st.composite
def _hostile_definition(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """A number of the definition set to an absurd or ill-typed value, or an endpoint's
    modality or threshold changed."""
    result = json.loads(json.dumps(document))
    endpoint = draw(st.sampled_from(result["endpoints"]))
    change = draw(st.sampled_from(["rating_min", "rating_max", "margin", "threshold",
                                   "test_modality", "reference_modality"]))
    if change.startswith("rating"):
        result[change] = draw(_HOSTILE_NUMBERS)
    elif change in ("margin", "threshold"):
        endpoint[change] = draw(_HOSTILE_NUMBERS)
    else:
        endpoint[change] = draw(st.sampled_from(["unknown", endpoint["test_modality"],
                                                 endpoint["reference_modality"], ""]))
    return result


def _study_definitions(seeds: dict[str, Path]) -> Family:
    folder = seeds["study"]
    text = (folder / "study.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)

    def as_yaml(value: Any) -> str:
        return yaml.safe_dump(value, allow_unicode=True)

    examples = st.one_of(
        mutated_json(document).map(as_yaml), _hostile_definition(document).map(as_yaml),
        mutated_text(text), mutated_bytes(text.encode("utf-8")),
        st.builds(lambda n: "[" * n + "]" * n, st.integers(17, 50_000)),
        st.builds(lambda n: "".join(f"{'  ' * i}- \n" for i in range(n)), st.integers(17, 400)),
        _repeated_line(text), st.sampled_from(["", "---\n---\n", "name: 2001-13-01\n"]))

    def write(scratch: Path, content: str | bytes) -> list[str]:
        write_input(scratch / "study.yaml", content)
        for name in ("protocol.md", "readings.csv"):
            shutil.copy(folder / name, scratch / name)
        return ["validate", "study", "study.yaml", "--out", "out"]

    # Found by the sweep: a date PyYAML cannot construct (ValueError, exit 70).
    return Family("study definitions", examples, write, text, ("name: 2001-13-01\n",))


def _family(name: str, seeds: dict[str, Path]) -> Family:
    return {"reader data": _reader_data, "agreement data": _agreement_data,
            "continuous data": _continuous_data, "pilot data": _pilot_data,
            "study definitions": _study_definitions}[name](seeds)


# --- steps ---------------------------------------------------------------------------------------

@bdd_given(parsers.parse("valid {family} and what corridor {command} needs beside them"),
           target_fixture="family")
def valid_family(family: str, seeds: dict[str, Path]) -> Family:
    """The family's seed and strategy."""
    return _family(family, seeds)


@then(parsers.parse("each of {count:d} damaged {name} exits with one of {allowed}, prints no "
                    "traceback, stays within the bounds and writes nothing unless it exits "
                    "with {writes:d}"), converters={"allowed": statuses})
def sweep(family: Family, count: int, allowed: set[int], writes: int, tmp_path: Path) -> None:
    """The family's seed, pinned examples and ``count`` drawn ones (helpers.sweep_family)."""
    sweep_family(family, count=count, allowed=allowed, success={writes}, root=tmp_path)
