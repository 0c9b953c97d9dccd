"""Steps shared by the ingest scenarios (``verification/features/ingest/``).

Each scenario generates a phantom with exact ground truth, writes it as a real DICOM
series (with planted faults), ingests it with the real code or the real ``corridor``
command, and compares with the ground truth the phantom saved beside the series
(``truth/geometry.json``, ``truth/hu.npy``).  The steps here are those of more than one
feature file: generating and writing the phantom (or copying a real scanner series, checked
against its manifest), ingesting it, and comparing the volume's corners and HU with the
ground truth, writing in a transfer syntax, the padding mask, a refusal's check, a series
ingested by its UID, the skipped files' reasons, and running the ``corridor ingest`` command
in process.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest
from pytest_bdd import given, parsers, then, when

from corridor.inference import REFERENCE_MODEL
from corridor.ingest.errors import UnsafeSeriesError
from corridor_phantoms import make_phantom
from verification.command_run import Run, run_corridor
from verification.ingest.helpers import (
    Case,
    copy_scanner_series,
    corner_points,
    ct_images,
    fault_names,
    ingest_case,
    write_case,
)


@given(parsers.parse('a "{kind}" phantom of shape {i:d} {j:d} {k:d} with spacing {si:f} {sj:f} '
                     '{sk:f} in position "{position}" and orientation "{orientation}"'),
       target_fixture="case")
def phantom(tmp_path: Path, kind: str, i: int, j: int, k: int, si: float, sj: float, sk: float,
            position: str, orientation: str) -> Case:
    """Generate the phantom in memory."""
    args = {"shape": (i, j, k), "spacing": (si, sj, sk), "orientation": orientation,
            "patient_position": position, "seed": 7}
    return Case(tmp_path / "phantom", args, make_phantom(kind, **args))


@given(parsers.parse('the real scanner series "{name}"'), target_fixture="case")
def real_series(tmp_path: Path, name: str) -> Case:
    """Copy a real scanner series (verification/fixtures/scanners/MANIFEST.yaml), hash-checked."""
    return copy_scanner_series(name, tmp_path / "scanner")


@given("it is written as a DICOM series")
def written(case: Case) -> None:
    """Write the phantom without faults."""
    write_case(case, [])


@given(parsers.parse('it is written as a DICOM series with the faults "{faults}"'))
def written_with_faults(case: Case, faults: str) -> None:
    """Write the phantom with planted faults."""
    write_case(case, fault_names(faults))


@given(parsers.parse('it is written as a DICOM series in the transfer syntax "{syntax}"'))
def written_compressed(case: Case, syntax: str) -> None:
    """Write the phantom in a transfer syntax."""
    write_case(case, [], transfer_syntax=syntax)


@given(parsers.parse('it is written as an Enhanced CT file in the transfer syntax "{syntax}"'))
def written_enhanced_in(case: Case, syntax: str) -> None:
    """Write the phantom as one Enhanced CT Image in a transfer syntax."""
    write_case(case, [], transfer_syntax=syntax, enhanced=True)


@given(parsers.parse('it is written as {layout} in the transfer syntax "{syntax}" with the faults '
                     '"{faults}"'))
def written_in_with_faults(case: Case, layout: str, syntax: str, faults: str) -> None:
    """Write the phantom in a transfer syntax, one file a slice or one Enhanced CT file."""
    assert layout in ("a DICOM series", "an Enhanced CT file"), layout
    write_case(case, fault_names(faults), transfer_syntax=syntax,
               enhanced=layout == "an Enhanced CT file")


@when("the series is ingested")
def run_ingest(case: Case) -> None:
    """Ingest the folder with the real code."""
    ingest_case(case)


@when("the phantom's own series is ingested by its UID")
def run_ingest_own(case: Case) -> None:
    """Ingest the phantom's series by its Series Instance UID."""
    ingest_case(case, case.written.series_instance_uid)


@then(parsers.parse('the skipped files have the reasons "{reasons}"'))
def skipped_reasons(case: Case, reasons: str) -> None:
    """Exactly these skip reasons, one file each."""
    found = sorted(s.reason.value for s in case.loaded().skipped)
    assert found == sorted(r.strip() for r in reasons.split(","))


@then("the volume's corners lie within 0.001 mm of the ground truth")
def corners_match(case: Case) -> None:
    """All 8 corner voxels within 0.001 mm (the affine is linear, so every voxel is)."""
    volume = case.loaded().volume
    truth = case.truth_affine()
    found = corner_points(volume.geometry.affine, volume.geometry.shape)
    expected = corner_points(truth, volume.geometry.shape)
    assert volume.geometry.shape == tuple(case.truth_hu().shape)
    assert np.max(np.linalg.norm(found - expected, axis=1)) <= 1e-3


@then("the volume's HU equal the ground truth on every voxel that is not padding")
def hu_match(case: Case) -> None:
    """Exact equality of HU, voxel by voxel."""
    volume = case.loaded().volume
    truth = case.truth_hu()
    padding = volume.padding_mask()
    keep = np.ones(truth.shape, bool) if padding is None else ~padding
    assert volume.hu.shape == truth.shape
    assert np.array_equal(volume.hu[keep], truth[keep])


@then("the padding mask covers exactly the voxels outside the reconstruction field of view")
def padding_matches(case: Case) -> None:
    """Padding from the phantom's own truth."""
    volume = case.loaded().volume
    padding = volume.padding_mask()
    assert padding is not None
    expected = np.load(case.root / "truth" / "padding.npy")
    assert np.array_equal(padding, expected)


@then(parsers.parse('ingest refuses with the check "{check}"'))
def refused(case: Case, check: str) -> None:
    """An UnsafeSeriesError for exactly this check."""
    assert isinstance(case.error, UnsafeSeriesError), case.error or "loaded"
    assert case.error.check == check, str(case.error)


@then(parsers.parse('the refusal says "{text}"'))
@then(parsers.parse('ingest refuses saying "{text}"'))
def refusal_says(case: Case, text: str) -> None:
    """The message names it."""
    assert case.error is not None
    assert text in str(case.error), case.error


@then(parsers.parse('the volume carries the warning "{code}"'))
@then(parsers.parse('ingest loads with the warning "{code}"'))
def has_warning(case: Case, code: str) -> None:
    """The warning code is recorded with the volume."""
    codes = [w.code.value for w in case.loaded().volume.warnings]
    assert code in codes, codes


@then(parsers.parse("ingest refuses listing {count:d} CT series"))
def refuses_listing(case: Case, count: int) -> None:
    """An ambiguity refusal listing the candidates."""
    from corridor.ingest.errors import AmbiguousSeriesError

    assert isinstance(case.error, AmbiguousSeriesError), case.error
    assert len(case.error.candidates) == count
    assert case.written.series_instance_uid in str(case.error)


@when("I run corridor ingest on the series")
def run_command_plain(case: Case) -> None:
    """Run `corridor ingest` without options."""
    run_command(case, "")


@when(parsers.parse('I run corridor ingest on the series with "{options}"'))
def run_command(case: Case, options: str) -> None:
    """Run the real `corridor ingest` command in-process."""
    argv = ["ingest", str(case.dicom), *shlex.split(options.replace("out/", f"{case.root}/out/"))]
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr


@then(parsers.parse("the exit status is {status:d}"))
def exit_status(case: Case, status: int) -> None:
    """The command's exit status."""
    assert case.status == status, case.stderr


@then(parsers.parse('standard error is one line containing "{text}"'))
def one_error_line(case: Case, text: str) -> None:
    """One clear line, no traceback."""
    lines = case.stderr.strip().splitlines()
    assert len(lines) == 1, case.stderr
    assert text in lines[0]


def _ingest_cli(case: Case, command: str) -> Run:
    uid = ct_images(case)[0][1].SeriesInstanceUID
    if command == "infer":
        out = case.root.parent / "inferred"
        case.header_scans["out"] = out
        return run_corridor(["infer", str(case.dicom), "--series", uid, "--model",
                             str(REFERENCE_MODEL), "--out", str(out)])
    return run_corridor(["ingest", str(case.dicom), "--series", uid])


@when(parsers.parse("corridor {command} is run on the series naming it with --series"))
def run_named_command(case: Case, command: str) -> None:
    """The real command, in process."""
    run = _ingest_cli(case, command)
    case.status, case.stdout, case.stderr = run.status, run.stdout, run.stderr


@then(parsers.parse('it exits with status 0 and prints that the values are NOT Hounsfield units '
                    'because "{text}"'))
def loaded_saying(case: Case, text: str) -> None:
    """Loaded, and the report says the values are not HU, and why."""
    assert case.status == 0, case.stderr
    line = next(line for line in case.stdout.splitlines() if "value range" in line)
    assert "NOT Hounsfield units: " in line, case.stdout
    assert text in line.split("NOT Hounsfield units: ")[1], line


@then(parsers.parse('it exits with status 2, writes no output folder, and standard error '
                    'says "{text}"'))
def refused_saying(case: Case, text: str) -> None:
    """Refused as bad input: one message naming the tag, nothing written."""
    assert case.status == 2, (case.status, case.stderr)
    assert text in case.stderr, case.stderr
    assert "Traceback" not in case.stderr
    assert not Path(case.header_scans["out"]).exists()


@then(parsers.parse('the refusal does not say "{text}"'))
def refusal_omits(case: Case, text: str) -> None:
    """A wrong diagnosis is absent."""
    assert case.error is not None
    assert text not in str(case.error), case.error


@then(parsers.parse('the volume carries no warning "{code}"'))
def lacks_warning(case: Case, code: str) -> None:
    """No warning of that code is recorded with the volume."""
    codes = [w.code.value for w in case.loaded().volume.warnings]
    assert code not in codes, codes


@pytest.fixture
def case() -> Case:
    """Every scenario starts by generating a phantom or copying a real scanner series."""
    raise AssertionError("a scenario must start with 'Given a \"…\" phantom …' or "
                         "'Given the real scanner series \"…\"'")
