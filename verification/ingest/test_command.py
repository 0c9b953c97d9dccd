"""Step definitions of ``verification/features/ingest/command.feature``.

Verifies the ``corridor ingest`` command, run in process: its JSON report of the series and
the volume's geometry, exports that other tools open in the right place, a refused series
as one error line with exit status 2, and no patient data in any output.

Oracles: the phantom's ground truth saved beside the series (affine and HU), nibabel and
pynrrd as independent readers of the exported files (RAS and LPS affines written out here),
and the Patient's Name and ID read from the written files with pydicom.
"""

from __future__ import annotations

import json
import shutil

import nibabel
import nrrd
import numpy as np
from pytest_bdd import given, parsers, scenarios, then

from verification.ingest.helpers import Case, corner_points, ct_images, fault_names, write_case

scenarios("ingest/command.feature")


@given(parsers.parse('the series is written again with the faults "{faults}"'))
def written_again(case: Case, faults: str) -> None:
    """Replace the written series by one with planted faults."""
    shutil.rmtree(case.root)
    write_case(case, fault_names(faults))


@then(parsers.parse('the JSON lists {count:d} series with modality "{modality}"'))
def json_series(case: Case, count: int, modality: str) -> None:
    """The `series` list."""
    document = json.loads(case.stdout)
    assert [s["modality"] for s in document["series"]] == [modality] * count
    assert document["series"][0]["images"] == case.truth_hu().shape[2]


@then("the JSON volume's affine lies within 0.001 mm of the ground truth")
def json_affine(case: Case) -> None:
    """The JSON affine, read back as numbers."""
    volume = json.loads(case.stdout)["volume"]
    affine = np.asarray(volume["affine_ijk_to_lps"], float)
    shape = tuple(volume["shape_ijk"])
    assert shape == case.truth_hu().shape
    error = np.linalg.norm(corner_points(affine, shape)
                           - corner_points(case.truth_affine(), shape), axis=1)
    assert np.max(error) <= 1e-3
    for key in ("series_instance_uid", "spacing_mm_ijk", "hu_min", "hu_max", "warnings"):
        assert key in volume


@then(parsers.parse('{reader} reads "{name}" with the ground-truth voxels and {frame} affine'))
def export_read(case: Case, reader: str, name: str, frame: str) -> None:
    """nibabel / pynrrd as independent readers."""
    path = case.root / name
    truth = case.truth_hu()
    affine = case.truth_affine()
    if reader == "nibabel":
        image = nibabel.load(path)
        assert np.array_equal(np.asarray(image.dataobj), truth)
        ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine
        assert frame == "RAS"
        assert np.allclose(image.affine, ras, atol=1e-4)
    else:
        data, header = nrrd.read(str(path))
        assert np.array_equal(data, truth)
        assert frame == "LPS"
        assert header["space"] == "left-posterior-superior"
        assert np.allclose(np.asarray(header["space directions"], float).T, affine[:3, :3],
                           atol=1e-4)
        assert np.allclose(np.asarray(header["space origin"], float), affine[:3, 3], atol=1e-4)


@then("no output contains the phantom's Patient's Name or Patient ID")
def no_patient_data(case: Case) -> None:
    """Search everything printed for the Patient module values written in the files."""
    ds = ct_images(case)[0][1]
    output = case.stdout + case.stderr
    for value in (str(ds.PatientName), str(ds.PatientID)):
        assert value
        assert value not in output
