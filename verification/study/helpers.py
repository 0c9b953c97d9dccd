"""Helpers of the reader-study scenarios: a small study written into a scenario's folder, a
fake clock, and a seeded model of readers' ratings with a known modality effect."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import yaml

from corridor_phantoms.phantom import make_phantom
from corridor_phantoms.writer import write_series

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""When the fake clock starts."""

QUESTIONS: list[dict[str, Any]] = [
    {"id": "acceptable", "text": "Is the trajectory acceptable?", "kind": "likert", "min": 1,
     "max": 5, "labels": ["no", "rather not", "unsure", "rather yes", "yes"]},
    {"id": "confidence", "text": "How confident are you?", "kind": "scale"},
    {"id": "modify", "text": "Would you modify the plan?", "kind": "binary"},
    {"id": "comment", "text": "Comments", "kind": "text", "required": False},
]


@dataclass
class FakeClock:
    """A clock that stands still until moved (aware UTC)."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)


CT_SHAPE = (33, 33, 17)
CT_SPACING_MM = (6.0, 6.0, 6.0)
"""The scenarios' CT: a pelvis phantom on a coarse isotropic grid (198 x 198 x 102 mm), so
that ingesting and rendering it takes a fraction of a second."""


@lru_cache(maxsize=4)
def _phantom_series(seed: int) -> Path:
    """A pelvis phantom's DICOM series (written once per process and seed)."""
    out = Path(tempfile.mkdtemp(prefix="corridor-study-ct-")) / "pelvis"
    write_series(make_phantom("pelvis", shape=CT_SHAPE, spacing=CT_SPACING_MM, seed=seed), out)
    return out / "dicom"


def write_ct(folder: Path, seed: int = 0) -> Path:
    """Copy the scenarios' CT series (phantom ``seed``) into ``folder``; return it."""
    shutil.copytree(_phantom_series(seed), folder)
    return folder


def series_sha256(folder: Path) -> str:
    """The SHA-256 ``case.json`` records of a series (``inputs.dicom_sha256``), computed here
    from its files: SHA-256 (hex) over each file's SHA-256 (hex), in slice order (position
    along the slice normal, pydicom's reading)."""
    keyed = []
    for path in folder.rglob("*"):
        if path.is_file():
            header = pydicom.dcmread(path, stop_before_pixels=True)
            row, column = (np.array(header.ImageOrientationPatient[:3], dtype=float),
                           np.array(header.ImageOrientationPatient[3:], dtype=float))
            along = float(np.cross(row, column) @ np.array(header.ImagePositionPatient,
                                                           dtype=float))
            keyed.append((along, hashlib.sha256(path.read_bytes()).hexdigest()))
    return hashlib.sha256("".join(d for _, d in sorted(keyed)).encode("ascii")).hexdigest()


def write_case_record(folder: Path, dicom_sha256: str) -> None:
    """A ``case.json`` naming the planned series as ``corridor plan`` records it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "case.json").write_text(json.dumps(
        {"format": "corridor-case/1", "inputs": {"dicom_sha256": dicom_sha256}}),
        encoding="utf-8")


def study_document(*, readers: int = 3, cases: int = 6, training: int = 1, seed: int = 7,
                   washout_days: int = 28, sessions: int | None = None,
                   modalities: int = 2) -> dict[str, Any]:
    """A reader study definition: ``cases`` study cases (half positive) and ``training``
    training cases, ``modalities`` modalities (``aided`` first, blinded labels)."""
    ids = ["aided", "unaided", "third", "fourth"][:modalities]
    document: dict[str, Any] = {
        "name": "demo-study", "title": "Demo reader study", "protocol": "protocol.md",
        "seed": seed, "washout_days": washout_days,
        "readers": [f"reader-{i + 1}" for i in range(readers)],
        "modalities": [{"id": m, "description": f"reading {m}", "label": f"Reading {chr(65 + i)}",
                        "shows_plan": i == 0} for i, m in enumerate(ids)],
        "cases": ([{"id": f"train-{i + 1}", "alias": f"Training {i + 1}",
                    "folder": f"cases/train-{i + 1}", "truth": 1, "training": True,
                    "ct": "ct-series"}
                   for i in range(training)]
                  + [{"id": f"case-{i + 1:02d}", "alias": f"Case {chr(65 + i)}",
                      "folder": f"cases/case-{i + 1:02d}", "truth": i % 2,
                      "ct": "ct-series"}
                     for i in range(cases)]),
        "questions": QUESTIONS, "rating_question": "acceptable",
        "endpoints": [{"name": "acceptability", "figure_of_merit": "auc",
                       "test": "superiority", "test_modality": "aided",
                       "reference_modality": "unaided"}] if modalities >= 2 else [],
    }
    if sessions is not None:
        document["sessions"] = sessions
    return document


def write_study(folder: Path, document: dict[str, Any]) -> Path:
    """Write the definition, its protocol, the CT series its cases name (the scenarios' CT)
    and case folders holding only a case record naming that series; return the
    definition."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "protocol.md").write_text("# Protocol\n\nPre-registered.\n", encoding="utf-8")
    digests: dict[str, str] = {}
    for ct in sorted({c["ct"] for c in document["cases"] if c.get("ct")}):
        digests[ct] = series_sha256(write_ct(folder / ct))
    for case in document["cases"]:
        for name in {case["folder"], *case.get("folders", {}).values()}:
            (folder / name).mkdir(parents=True, exist_ok=True)
            if case.get("ct"):
                write_case_record(folder / name, digests[case["ct"]])
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class RatingModel:
    """Readers' Likert ratings from a binormal-like model with a known modality effect: the
    latent score is ``truth * separation[modality] + reader bias + noise``, cut into 1..5."""

    seed: int
    separation: dict[str, float] = field(default_factory=lambda: {"aided": 2.5,
                                                                    "unaided": 0.8})

    def answers(self, reader: str, case_truth: int, modality: str,
                draw: int) -> dict[str, object]:
        """The answers of one reading (deterministic in its arguments)."""
        rng = np.random.default_rng([self.seed, int(reader.rsplit("-", 1)[1]), draw])
        latent = case_truth * self.separation.get(modality, 1.0) + rng.normal(0.0, 1.0)
        rating = int(np.clip(np.round(latent + 2.0), 1, 5))
        return {"acceptable": rating, "confidence": float(rng.integers(0, 101)),
                "modify": int(rating < 3), "comment": ""}


@dataclass
class Study:
    """What one scenario built and what happened."""

    root: Path
    clock: FakeClock = field(default_factory=FakeClock)
    document: dict[str, Any] = field(default_factory=dict)
    definition: Path = Path()
    tokens: dict[str, str] = field(default_factory=dict)
    store: Any = None
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    given: dict[str, Any] = field(default_factory=dict)
    """What the scenario's readers answered, by (reader, item key): a list of revisions."""
    refusal: Exception | None = None
    receipts: list[Any] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        """The study folder."""
        return self.root / "study"

    def opened(self) -> Any:
        """The open store (a :class:`corridor_qms.study.StudyStore`)."""
        assert self.store is not None, "no study was created"
        return self.store


PLANES = {
    "axial": (np.array([1.0, 0, 0]), np.array([0, 1.0, 0])),
    "coronal": (np.array([1.0, 0, 0]), np.array([0, 0, -1.0])),
    "sagittal": (np.array([0, 1.0, 0]), np.array([0, 0, -1.0])),
}
"""Radiological views in LPS, as the tests state them (direction of increasing column, of
increasing row): axial and coronal seen from the feet and the front (the patient's left on
the right), sagittal from the patient's left (anterior on the left), superior and anterior
up."""
