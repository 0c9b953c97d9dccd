"""Helpers of the PACS verification: an independent DICOM validator.

``dciodvfy`` (David Clunie's dicom3tools, Debian package ``dicom3tools``) checks a file
against the standard's IOD and module tables; it shares no code with pydicom or highdicom,
which build the objects.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pypdf import PdfReader

__all__ = ["DCIODVFY", "PROXIMAL_FEMUR", "check_pdf_shows_plan", "check_sr_holds_plan",
           "check_stl_holds", "dciodvfy_errors", "dciodvfy_lines", "pdf_text", "sr_items",
           "sr_meaning"]

DCIODVFY = "dciodvfy"

PROXIMAL_FEMUR: dict[str, Any] = {"shape": (112, 112, 90), "spacing": (1.25, 1.25, 2.0)}
"""``make_phantom("femur", **PROXIMAL_FEMUR)``: the femur phantom's grid cropped to 140 x 140 x
180 mm around the proximal femur, which holds the whole femoral head and neck (the plan is safe,
as on the full grid) while the model runs on a third of the voxels (3 s instead of 10 s on two
cores), so that the service's scenarios plan many studies within the suite's time."""


def dciodvfy_lines(path: Path) -> list[str]:
    """Every line ``dciodvfy`` prints for the file (it reports on standard error)."""
    program = shutil.which(DCIODVFY)
    if program is None:
        raise FileNotFoundError(f"{DCIODVFY}: not found on PATH; expected dicom3tools "
                                "installed (apt-get install dicom3tools)")
    done = subprocess.run([program, str(path)], capture_output=True, text=True, check=False,
                          timeout=120)
    return (done.stdout + done.stderr).splitlines()


def dciodvfy_errors(path: Path) -> list[str]:
    """The lines of ``dciodvfy``'s report on the file that start with ``Error`` (warnings and
    the IOD's name left out); empty when the file conforms to its IOD."""
    return [line for line in dciodvfy_lines(path) if line.startswith("Error")]


def sr_items(dataset: Dataset) -> Iterator[Dataset]:
    """Every content item of an SR, depth first."""
    for item in dataset.get("ContentSequence", []):
        yield item
        yield from sr_items(item)


def sr_meaning(item: Dataset) -> str:
    return str(item.ConceptNameCodeSequence[0].CodeMeaning)


def pdf_text(dataset: Dataset) -> tuple[str, bytes]:
    """The text pypdf extracts from an Encapsulated PDF object, and the PDF's bytes."""
    document = bytes(dataset.EncapsulatedDocument)[:int(dataset.EncapsulatedDocumentLength)]
    reader = PdfReader(io.BytesIO(document))
    return "\n".join(page.extract_text() for page in reader.pages), document


def check_sr_holds_plan(sr: Dataset, plan: dict[str, Any], frame: str) -> None:
    """Assert the SR holds entry and tip as float32 SCOORD3D points in ``frame`` and each
    clearance's values, as ``plan`` (plan.json) has them."""
    points = {sr_meaning(item): item for item in sr_items(sr) if item.ValueType == "SCOORD3D"}
    for meaning, key in (("Trajectory entry point", "entry_lps_mm"),
                         ("Trajectory tip point", "tip_lps_mm")):
        item = points[meaning]
        assert item.GraphicType == "POINT"
        assert item.ReferencedFrameOfReferenceUID == frame
        found = np.asarray(item.GraphicData, dtype=np.float32)
        expected = np.asarray(plan["trajectory"][key], dtype=np.float32)
        assert np.array_equal(found, expected), (meaning, found, expected)
    texts = {sr_meaning(item): str(item.TextValue) for item in sr_items(sr)
             if item.ValueType == "TEXT"}
    assert texts["Plan verdict"] == plan["verdict"]
    assert texts["Procedure template"] == plan["procedure"]
    assert texts["Side"] == plan["side"]
    groups = [item for item in sr_items(sr)
              if item.ValueType == "CONTAINER" and sr_meaning(item) == "Clearance"]
    held = {}
    for group in groups:
        children = {sr_meaning(child): child for child in group.ContentSequence}
        numbers = {name: float(child.MeasuredValueSequence[0].NumericValue)
                   for name, child in children.items() if child.ValueType == "NUM"}
        units = {child.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue
                 for child in children.values() if child.ValueType == "NUM"}
        assert units == {"mm"}
        held[str(children["Risk structure"].TextValue)] = (
            numbers, str(children["Requirement met"].TextValue))
    assert sorted(held) == sorted(c["structure"] for c in plan["clearances"])
    for clearance in plan["clearances"]:
        numbers, met = held[clearance["structure"]]
        assert numbers["Guaranteed minimum clearance"] == clearance["guaranteed_min_mm"]
        assert numbers["Required clearance"] == clearance["required_mm"]
        assert numbers["Distance"] == clearance["clearance_mm"]
        assert met == ("yes" if clearance["met"] else "no")


def check_pdf_shows_plan(dataset: Dataset, plan: dict[str, Any], ct: Dataset) -> None:
    """Assert the encapsulated PDF shows the verdict, procedure and each clearance (structure
    and values), and holds neither the CT's patient name nor its ID, in its text or bytes."""
    text, document = pdf_text(dataset)
    assert f"Verdict: {plan['verdict']}" in text
    assert plan["procedure"] in text
    for clearance in plan["clearances"]:
        row = (f"{clearance['structure']} {clearance['clearance_mm']:.2f} "
               f"{clearance['guaranteed_min_mm']:.2f} {clearance['required_mm']:.2f}")
        assert row in text, row
    identifiers = [str(ct.PatientID), str(ct.PatientName),
                   *(part for part in str(ct.PatientName).split("^") if part)]
    assert all(identifiers)
    for value in identifiers:
        assert value not in text, value
        assert value.encode() not in document, value


def check_stl_holds(dataset: Dataset, implant: bytes) -> None:
    """Assert the encapsulated document, less its pad to even length, is ``implant``."""
    held = bytes(dataset.EncapsulatedDocument)
    assert len(held) % 2 == 0
    assert int(dataset.EncapsulatedDocumentLength) == len(implant)
    assert held[:len(implant)] == implant
    assert held[len(implant):] in (b"", b"\x00")
    assert dataset.MIMETypeOfEncapsulatedDocument == "model/stl"
