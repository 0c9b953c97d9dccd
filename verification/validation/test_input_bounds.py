"""Step definitions of ``verification/features/validation/input_bounds.feature``.

Verifies that ``corridor validate`` reads its CSVs and study definitions only within the stated
bounds (regular file, size, columns, rows, UTF-8, nesting, values PyYAML cannot build, the
ratings array's cells) and refuses anything else in one line with exit status 2, within
bounded memory and time and writing nothing.

Oracles: each input is built here to cross exactly one bound (its size, its byte offset, its
count written in the feature file from the construction); memory, time and what was written are
measured by :func:`verification.robustness.helpers.probe` around the real command, in process.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import yaml
from pytest_bdd import given, parsers, scenarios, then, when

import corridor_qms.validation.cli  # noqa: F401  (imported untraced: tracemalloc slows imports)
from verification.robustness.helpers import Probe, check_refusal, probe
from verification.validation.helpers import Case, fixture_path

scenarios("validation/input_bounds.feature")

STUDY = Path(__file__).parents[2] / "validation_study" / "vandyke-example"
HEADER = "reader,treatment,case,truth,rating\n"

OPTIONS = {"mrmc": [], "agreement": ["--statistic", "icc"],
           "continuous": ["--test", "x", "--reference", "y"],
           "size": ["--readers", "5", "--cases", "10"], "study": ["--out", "out"]}
"""The rest of each command line (valid options: only the input is at fault)."""


def _written(case: Case, name: str, content: str | bytes) -> Path:
    path = case.root / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def _vandyke_text() -> str:
    return fixture_path("vandyke.csv").read_text(encoding="utf-8")


def _wide_header() -> str:
    lines = _vandyke_text().splitlines()
    extra = [f"extra{i}" for i in range(95)]
    return "\n".join([",".join([lines[0], *extra])] + [line + "," * 95 for line in lines[1:]])


def _cells() -> str:
    return HEADER + "".join(f"r{i},m{i},c{i},{i % 2},1\n" for i in range(300))


def _example_study(case: Case) -> dict[str, object]:
    for name in ("protocol.md", "readings.csv"):
        shutil.copy(STUDY / name, case.root / name)
    document: dict[str, object] = yaml.safe_load((STUDY / "study.yaml").read_text())
    return document


BUILDERS: dict[tuple[str, str], Callable[[Case], Path]] = {
    ("reader data", "/dev/zero behind the name"): lambda case: Path("/dev/zero"),
    ("reader data", "a folder"): lambda case: case.root,
    ("reader data", "17 MiB long"): lambda case: _written(
        case, "data.csv", HEADER + "1,1,1,0,1\n" * ((17 * 2**20 - len(HEADER)) // 10)
        + "1" * ((17 * 2**20 - len(HEADER)) % 10)),
    ("reader data", "Latin-1, not UTF-8"): lambda case: _written(
        case, "data.csv", (HEADER + "R\u00e9,1,1,0,1\n").encode("latin-1")),
    ("reader data", "a header of 100 columns"): lambda case: _written(
        case, "data.csv", _wide_header()),
    ("reader data", "250,001 rows long"): lambda case: _written(
        case, "data.csv", HEADER + "1,1,1,0,1\n" * 250_001),
    ("reader data", "300 readers, modalities and cases, one reading each"): lambda case: _written(
        case, "data.csv", _cells()),
    ("agreement data", "/dev/zero behind the name"): lambda case: Path("/dev/zero"),
    ("continuous data", "/dev/zero behind the name"): lambda case: Path("/dev/zero"),
    ("pilot data", "/dev/zero behind the name"): lambda case: Path("/dev/zero"),
    ("a study definition", "/dev/zero behind the name"): lambda case: Path("/dev/zero"),
    ("a study definition", "300 KiB long"): lambda case: _written(
        case, "study.yaml", "# " + "x" * (300 * 1024 - 3) + "\n"),
    ("a study definition", "nested 100,000 deep"): lambda case: _written(
        case, "study.yaml", "name: " + "[" * 100_000 + "]" * 100_000 + "\n"),
    ("a study definition", "UTF-16 with a byte-order mark"): lambda case: _written(
        case, "study.yaml", (STUDY / "study.yaml").read_text().encode("utf-16")),
    ("a study definition", "holding the date 2001-13-01"): lambda case: _written(
        case, "study.yaml", yaml.safe_dump({**_example_study(case)})
        .replace("name: vandyke-example", "name: 2001-13-01")),
    ("a study definition", "holding a number of 5,000 digits"): lambda case: _written(
        case, "study.yaml", yaml.safe_dump({**_example_study(case)})
        .replace("rating_max: 5", "rating_max: " + "9" * 5000)),
    ("a study definition", "naming /dev/zero as its data"): lambda case: _written(
        case, "study.yaml", yaml.safe_dump({**_example_study(case), "data": "/dev/zero"})),
}
"""Each input, built to cross one bound (the scenario's folder is the working folder)."""


@given(parsers.parse("{input_kind} that is {damage}"))
def damaged_input(case: Case, input_kind: str, damage: str) -> None:
    """The input built for the example."""
    case.data = BUILDERS[(input_kind, damage)](case)


@when(parsers.parse("corridor validate {analysis} reads it"), target_fixture="measured")
def run_measured(case: Case, analysis: str) -> Probe:
    """In process, with the scenario's folder as the working folder (memory, time and the
    files left there measured)."""
    assert case.data is not None
    return probe(["validate", analysis, str(case.data), *OPTIONS[analysis]], case.root)


@then(parsers.parse('it exits with status 2 and one line naming "{named}", within the bounds '
                    "and writing nothing"))
def refused_within_bounds(measured: Probe, named: str) -> None:
    """Exit 2, no traceback, 256 MiB, 30 s and nothing written; one stderr line, naming it."""
    check_refusal(measured, {2})
    assert measured.stdout == "", measured
    assert len(measured.stderr.splitlines()) == 1, measured.stderr
    assert named in measured.stderr, measured.stderr
