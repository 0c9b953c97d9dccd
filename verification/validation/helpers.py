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


SUBGROUP_LEVELS = {"thin": (16, 14), "thick": (12, 11), "oblique": (5, 4)}
"""The synthetic subgroup study's levels of ``slice-band``: (positive, negative) cases each."""


def write_subgroup_study(folder: Path, *, model_sha256: str | None = None) -> Path:
    """A synthetic study with a case attribute table, written into ``folder``: 4 readers x 2
    modalities (``aided`` better than ``unaided`` on positive cases) x the cases of
    :data:`SUBGROUP_LEVELS`, ratings 1 to 5 drawn with a fixed seed; one AUC endpoint and one
    subgroup ``slice thickness`` on the column ``slice-band``.  Returns the definition's path.

    Synthetic on purpose: the Van Dyke data have no case attributes, and none is invented
    for them.
    """
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    generator = np.random.default_rng(20)
    readers = [f"reader-{j + 1}" for j in range(4)]
    rows = ["reader,modality,case,truth,rating"]
    attributes = ["case,slice-band"]
    number = 0
    for level, (positive, negative) in SUBGROUP_LEVELS.items():
        for truth in [1] * positive + [0] * negative:
            number += 1
            case = f"case-{number:03d}"
            attributes.append(f"{case},{level}")
            latent = 1.3 * truth + generator.normal(0.0, 0.8)
            for modality, gain in (("unaided", 0.0), ("aided", 0.6 * truth)):
                for reader in readers:
                    value = 2.5 + latent + gain + generator.normal(0.0, 0.7)
                    rating = int(min(5, max(1, round(value))))
                    rows.append(f"{reader},{modality},{case},{truth},{rating}")
    (folder / "readings.csv").write_text("\n".join(rows) + "\n")
    (folder / "cases.csv").write_text("\n".join(attributes) + "\n")
    (folder / "protocol.md").write_text("Synthetic study for the subgroup scenarios.\n")
    definition = {
        "name": "synthetic-subgroups", "title": "Synthetic study with subgroups",
        "protocol": "protocol.md", "data": "readings.csv", "design": "fully-crossed",
        "readers": readers,
        "modalities": [{"id": "unaided", "description": "without Corridor"},
                       {"id": "aided", "description": "with Corridor"}],
        "rating_min": 1, "rating_max": 5,
        "endpoints": [{"name": "auc-superiority", "figure_of_merit": "auc",
                       "test": "superiority", "test_modality": "aided",
                       "reference_modality": "unaided"}],
        "case_attributes": "cases.csv",
        "subgroups": [{"name": "slice thickness", "attribute": "slice-band"}],
    }
    if model_sha256 is not None:
        definition["model_sha256"] = model_sha256
    path = folder / "study.yaml"
    path.write_text(json.dumps(definition, indent=1))
    return path
