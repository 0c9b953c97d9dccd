"""Helpers shared by the validation step modules: the reference files pinned by SHA-256
(``verification/fixtures/mrmc/manifest.json``), the scenario context, the comparison with a
published value to half a unit in its last printed digit, the in-process ``corridor
validate`` runs, and reader data written or loaded for a scenario.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shlex
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from verification.command_run import run_corridor

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mrmc"
"""The MRMC reference files and their manifest."""


def fixture_path(name: str) -> Path:
    """A reference file, refused unless its SHA-256 is the manifest's."""
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    path = FIXTURES / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == manifest["files"][name]["sha256"]
    return path


@dataclass
class Case:
    """What one scenario built and what the command did."""

    root: Path
    data: Path | None = None
    definition: Path | None = None
    document: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    error: Exception | None = None
    rows: list[dict[str, str]] = field(default_factory=list)


def close_to(found: float, printed: float) -> None:
    """Equal within half a unit in the last printed digit of the published value."""
    digits = -Decimal(repr(float(printed))).as_tuple().exponent
    tolerance = 0.5 * 10.0 ** -int(digits) + 1e-12
    assert abs(found - printed) <= tolerance, (found, printed, tolerance)


def run_command(case: Case, argv: list[str]) -> None:
    """``corridor ARGV...`` in process; a JSON report is kept as the document."""
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr
    if case.status == 0 and "--json" in argv:
        case.document = json.loads(case.stdout)


def write_rows(case: Case, rows: list[dict[str, str]], name: str = "data.csv") -> None:
    """Reader data as a CSV file in the scenario's folder, as the scenario's data."""
    path = case.root / name
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=["reader", "treatment", "case", "truth",
                                                    "rating"])
        writer.writeheader()
        writer.writerows(rows)
    case.data = path


def load_vandyke(case: Case) -> None:
    """The pinned copy of vandyke.csv as the scenario's data, and its rows."""
    case.data = fixture_path("vandyke.csv")
    with case.data.open(newline="") as stream:
        case.rows = list(csv.DictReader(stream))


def run_mrmc_command(case: Case, options: str) -> None:
    """``corridor validate mrmc`` on the scenario's data, in process."""
    assert case.data is not None
    run_command(case, ["validate", "mrmc", str(case.data), *shlex.split(options)])
