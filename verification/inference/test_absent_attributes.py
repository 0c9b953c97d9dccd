"""Step definitions of ``verification/features/inference/absent_attributes.feature``.

Verifies that a series lacking attributes Corridor does not need is still ingested, segmented
and written with a valid DICOM SEG, and that only the attributes truly needed are refused, by
name, as bad input.  Each attribute the phantom writer writes (read back from its files with
pydicom, so none is forgotten), but those ingest needs for geometry and intensity
(:data:`~verification.inference.helpers.GEOMETRY_AND_INTENSITY`), is removed from every file of
a copy of the series in its turn, and the stages that read DICOM attributes run in this process:
ingest, inference with the reference model, and the outputs with the SEG.  (The case report
reads only the display fields ingest keeps; ``case/plan.feature`` renders it for a series lacking
all of them at once.)

Oracles: the attributes present in the files (pydicom), the expected refusals and fillings
stated in the scenario, the exit status the error hierarchy documents, the DICOM standard's
module tables (as shipped with highdicom) for the attributes a SEG must hold, the source files'
own values read with pydicom, and SHA-256 (hashlib) of the files before and after.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highdicom
import pydicom
import pytest
from pydicom.datadict import dictionary_description
from pydicom.tag import Tag
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.errors import ExitStatus, InputError, exit_status_of
from corridor.inference import REFERENCE_MODEL, Device, InferenceOptions, infer, write_outputs
from corridor.inference.package import ModelPackage, load_model_package
from corridor.ingest import ingest
from verification.inference.helpers import (
    GEOMETRY_AND_INTENSITY,
    Case,
    folder_sha256,
    infer_into,
    missing_required,
    patient_and_study_attributes,
    remove_attributes,
    written_attributes,
)
from verification.trace.helpers import table_rows

scenarios("inference/absent_attributes.feature")


@dataclass
class Removal:
    """One attribute removed from every file of a copy of the series, and what the run did."""

    keyword: str
    dicom: Path
    out: Path
    before: dict[str, str]
    after: dict[str, str] | None = None
    error: BaseException | None = None
    record: dict[str, Any] | None = None
    without_seg: BaseException | str | None = "not run"
    """After a failure: the error of the same run written without a SEG (the run's own
    error if it failed before the outputs), ``None`` when that finished."""


@pytest.fixture(scope="module")
def reference_package() -> ModelPackage:
    """The shipped reference model, verified once for the module."""
    return load_model_package(REFERENCE_MODEL)


def _run(removal: Removal, package: ModelPackage) -> None:
    """Ingest, infer, write with the SEG; if only the outputs fail, write them without it."""
    try:
        volume = ingest(removal.dicom).volume
        result = infer(volume, package, InferenceOptions(device=Device.CPU))
    except Exception as exc:  # kept for the Then steps, which name every failure at once
        removal.error = removal.without_seg = exc
        return
    try:
        removal.record = dict(write_outputs(result, volume, removal.out).record)
    except Exception as exc:  # kept, as above
        removal.error = exc
        try:
            write_outputs(result, volume, removal.out.with_name("out-without-seg"), seg=False)
            removal.without_seg = None
        except Exception as again:  # kept, as above
            removal.without_seg = again


def _removals(case: Case) -> list[Removal]:
    removals: list[Removal] = case.arrays["removals"]
    return removals


@when("each attribute the files hold but those ingest needs for geometry and intensity is "
      "removed alone from every file, and the series is ingested, segmented by the reference "
      "model and written with its SEG")
def remove_each(case: Case, reference_package: ModelPackage) -> None:
    """One copy of the series per attribute; errors kept, so that every attribute is tried."""
    removals = []
    for keyword in written_attributes(case.dicom):
        if keyword in GEOMETRY_AND_INTENSITY:
            continue
        folder = case.root / "removed" / keyword
        shutil.copytree(case.dicom, folder / "dicom")
        remove_attributes(folder / "dicom", [keyword])
        removal = Removal(keyword, folder / "dicom", folder / "out",
                          folder_sha256(folder / "dicom"))
        _run(removal, reference_package)
        removal.after = folder_sha256(folder / "dicom")
        removals.append(removal)
    assert len(removals) >= 30, [r.keyword for r in removals]  # the writer writes ~40 of them
    case.arrays["removals"] = removals


@then("these removals are refused as bad input (exit status 2) naming the attribute, and every "
      "other removal finishes:")
def refusals(case: Case, datatable: list[list[str]]) -> None:
    """Refused ones: an InputError (exit 2) whose message names the attribute and its tag."""
    expected = {row["attribute"]: row for row in table_rows(datatable)}
    removals = _removals(case)
    assert set(expected) <= {r.keyword for r in removals}, "a row names an attribute not tried"
    problems = []
    for removal in removals:
        row = expected.get(removal.keyword)
        if row is None and removal.error is not None:
            problems.append(f"{removal.keyword}: {type(removal.error).__name__}: {removal.error}")
        elif row is not None and not (
                isinstance(removal.error, InputError)
                and exit_status_of(removal.error) is ExitStatus.INPUT_ERROR
                and row["named"] in str(removal.error)):
            problems.append(f"{removal.keyword}: expected a refusal naming {row['named']!r}, got "
                            f"{type(removal.error).__name__}: {removal.error}")
    assert not problems, "\n".join(problems)
    case.arrays["needed_by_seg"] = {k for k, row in expected.items() if row["needed by"] == "SEG"}


@then("each run refused for the SEG alone finishes without the SEG")
def without_seg(case: Case) -> None:
    """The same series, written with ``seg=False`` (``corridor infer --no-seg``)."""
    for removal in _removals(case):
        if removal.keyword in case.arrays["needed_by_seg"]:
            assert removal.without_seg is None, (removal.keyword, removal.without_seg)
        elif removal.error is not None:
            assert removal.without_seg is not None, removal.keyword


def _seg(removal: Removal) -> pydicom.Dataset:
    return pydicom.dcmread(removal.out / "seg.dcm")


def _finished(case: Case) -> list[Removal]:
    return [r for r in _removals(case) if r.error is None]


@then("each finished run's run.json lists the removed attribute exactly when it is one of these, "
      "with what the SEG holds instead:")
def recorded(case: Case, datatable: list[list[str]]) -> None:
    """run.json as written (JSON on disk); the SEG's own value for each filled attribute."""
    import json

    expected = {row["attribute"]: row["written"] for row in table_rows(datatable)}
    seen = set()
    for removal in _finished(case):
        record = json.loads((removal.out / "run.json").read_text())
        listed = record["source_attributes_absent"]
        if removal.keyword not in expected:
            assert listed == [], (removal.keyword, listed)
            continue
        seen.add(removal.keyword)
        files = len(list(removal.dicom.iterdir()))
        tag = Tag(removal.keyword)
        assert len(listed) == 1, (removal.keyword, listed)
        entry = listed[0]
        assert (entry["keyword"], entry["tag"], entry["name"]) == (
            removal.keyword, str(tag), dictionary_description(tag))
        assert entry["images_lacking"] == entry["images"] == files
        assert entry["written"].startswith(expected[removal.keyword]), entry
        seg = _seg(removal)
        thickness = re.fullmatch(r"written as ([0-9.]+) mm", expected[removal.keyword])
        if thickness is None:
            assert removal.keyword in seg
            assert seg[removal.keyword].value in ("", None)
        else:
            measures = seg.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
            assert float(measures.SliceThickness) == float(thickness.group(1))
    assert seen == set(expected), set(expected) - seen


@then("every SEG reads back with pydicom and highdicom, holds every attribute the standard "
      "requires of it, and references every source image")
def seg_valid(case: Case) -> None:
    """The standard's module tables; the source images' SOP Instance UIDs read with pydicom."""
    finished = _finished(case)
    assert finished
    for removal in finished:
        seg = _seg(removal)
        highdicom.seg.segread(removal.out / "seg.dcm")
        assert missing_required(seg) == [], (removal.keyword, missing_required(seg))
        sources = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)
                   for p in removal.dicom.iterdir()}
        referenced = {str(item.ReferencedSOPInstanceUID)
                      for series in seg.ReferencedSeriesSequence
                      for item in series.ReferencedInstanceSequence}
        assert referenced == sources, removal.keyword
        assert int(seg.NumberOfFrames) > 0


@then("every SEG's patient and study attributes are the source's own values, or empty where the "
      "source has none")
def patient_not_invented(case: Case) -> None:
    """Patient ID above all: a made-up one could file the SEG under another patient."""
    keywords = patient_and_study_attributes("1", "2")
    assert {"PatientID", "PatientName", "StudyInstanceUID", "AccessionNumber"} <= set(keywords)
    for removal in _finished(case):
        seg = _seg(removal)
        source = pydicom.dcmread(sorted(removal.dicom.iterdir())[0], stop_before_pixels=True)
        for keyword in keywords:
            if keyword in source:
                assert seg[keyword].value == source[keyword].value, (removal.keyword, keyword)
            else:
                assert seg[keyword].value in ("", None), (removal.keyword, keyword)


@then("no file the runs read was changed")
def files_unchanged(case: Case) -> None:
    """SHA-256 of every file, after the removal and after the run."""
    for removal in _removals(case):
        assert removal.after == removal.before, removal.keyword


@given(parsers.parse('"{keyword}" is removed from every file'))
def removed(case: Case, keyword: str) -> None:
    """With pydicom, from the scenario's series."""
    remove_attributes(case.dicom, [keyword])


@when(parsers.parse('I run corridor infer with the reference model on the series with '
                    '"{options}"'))
def run_infer_reference(case: Case, options: str) -> None:
    """``corridor infer`` in process with the shipped reference model."""
    case.package = REFERENCE_MODEL
    case.out = infer_into(case, options, "out")


@then(parsers.parse('standard error names "{text}" and holds no traceback'))
def one_line(case: Case, text: str) -> None:
    """The error line, and no Python traceback."""
    assert text in case.stderr, case.stderr
    assert "Traceback" not in case.stderr + case.stdout


@then("no output folder was written")
def no_output(case: Case) -> None:
    """Neither the folder nor a temporary sibling."""
    assert case.out is not None
    assert not case.out.exists()
    assert not [p for p in case.root.iterdir() if p.name.startswith(".out")]
