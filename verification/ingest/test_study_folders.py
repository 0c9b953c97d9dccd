"""Step definitions of ``verification/features/ingest/study_folders.feature``.

Study folders and series as scanners, anonymisers and PACS send them, re-created from a
phantom with pydicom: scout series, dose reports captured as images, MR and CT perfusion or
spectral maps, tilted series whose slice thickness changes, tilts without their tag.

Oracles: what the scenario planted (the files written, the tags set, the positions moved,
computed here from the headers with pydicom), the phantom's ground truth, and the exit
statuses ``corridor`` documents.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pydicom
from pytest_bdd import given, parsers, scenarios, then

from corridor.ingest.errors import AmbiguousSeriesError, NoSeriesError, UnsafeSeriesError
from corridor_phantoms import make_phantom
from verification.ingest.helpers import (
    MR_IMAGE_STORAGE,
    Case,
    add_dose_summary,
    add_scout_series,
    ct_images,
    rewrite_images,
)

scenarios("ingest/study_folders.feature")


@given(parsers.parse('a "{kind}" phantom of shape {i:d} {j:d} {k:d} with spacing {si:f} {sj:f} '
                     '{sk:f} acquired through a gantry tilted {tilt:f} degrees'),
       target_fixture="case")
def tilted_phantom(tmp_path: Path, kind: str, i: int, j: int, k: int, si: float, sj: float,
                   sk: float, tilt: float) -> Case:
    """A phantom whose image plane is tilted about its rows, as a tilted gantry scans."""
    args = {"shape": (i, j, k), "spacing": (si, sj, sk), "seed": 7, "gantry_tilt_deg": tilt}
    return Case(tmp_path / "phantom", args, make_phantom(kind, **args))  # type: ignore[arg-type]


@given("the folder also holds a scout series and a dose report, as a study export does")
def study_folder(case: Case) -> None:
    """Scouts and a dose report beside the axial series."""
    template = ct_images(case)[0][0]
    case.header_scans["planted"] = [*add_scout_series(template, case.dicom),
                                    add_dose_summary(template, case.dicom)]


@given("the folder holds only a scout series")
def scout_only(case: Case) -> None:
    """The axial images removed, a scout series left."""
    images = [path for path, _ in ct_images(case)]
    scouts = add_scout_series(images[0], case.dicom)
    for path in images:
        path.unlink()
    case.header_scans["planted"] = scouts


_REWRITES = {
    "an MR series without rescale values": {
        "Modality": "MR", "SOPClassUID": MR_IMAGE_STORAGE, "RescaleSlope": None,
        "RescaleIntercept": None, "RescaleType": None},
    "a CT perfusion map with Rescale Type US and a PERFUSION type": {
        "RescaleType": "US", "ImageType": ["DERIVED", "SECONDARY", "PERFUSION"]},
    "a CT spectral iodine map with an IODINE type": {
        "ImageType": ["DERIVED", "PRIMARY", "AXIAL", "IODINE"]},
}


@given(parsers.parse("every image is rewritten as {what}"))
def rewritten(case: Case, what: str) -> None:
    """Edit every image's tags as that kind of series carries them."""
    rewrite_images(case, **_REWRITES[what])


@given("every image's Gantry/Detector Tilt is removed")
def tilt_tag_removed(case: Case) -> None:
    """As some exports write a tilted series: the tilt only in the geometry."""
    rewrite_images(case, GantryDetectorTilt=None)


@given(parsers.re(r"from the middle of the series on, the slices lie (?P<factor>[\d.]+) times "
                  r"further apart(?P<thicker> and are [\d.]+ times thicker)?"))
def spacing_changes(case: Case, factor: str, thicker: str | None) -> None:
    """Move every slice from the middle on further along the stacking direction."""
    images = ct_images(case)
    half = len(images) // 2
    first = np.asarray(images[0][1].ImagePositionPatient, float)
    step = (np.asarray(images[1][1].ImagePositionPatient, float) - first)
    anchor = np.asarray(images[half - 1][1].ImagePositionPatient, float)
    for index, (path, ds) in enumerate(images[half:], start=1):
        position = anchor + index * float(factor) * step
        ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
        if thicker:
            ds.SliceThickness = f"{float(ds.SliceThickness) * float(factor):g}"
        ds.save_as(path)
    case.header_scans["change"] = images[half - 1][0]
    case.header_scans["ends"] = (images[0][0], images[-1][0])


@then(parsers.parse('the warning "{code}" names every scout and dose report file'))
def set_aside_named(case: Case, code: str) -> None:
    """The set-aside warning names each planted file."""
    messages = [w.message for w in case.loaded().volume.warnings if w.code.value == code]
    assert len(messages) == 1, case.loaded().volume.warnings
    for path in case.header_scans["planted"]:
        assert str(path) in messages[0], messages[0]


@then("the refusal lists each series with its description, images, slice thickness and kernel")
def ambiguity_listing(case: Case) -> None:
    """Each candidate as the headers (read here with pydicom) describe it."""
    assert isinstance(case.error, AmbiguousSeriesError), case.error
    by_series: dict[str, list[pydicom.Dataset]] = {}
    for path in sorted(case.dicom.rglob("*.dcm")):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        by_series.setdefault(str(ds.SeriesInstanceUID), []).append(ds)
    text = str(case.error)
    assert len(by_series) == 2
    for uid, datasets in by_series.items():
        first = datasets[0]
        expected = (f"{uid} ('{first.SeriesDescription}', CT, {len(datasets)} images, axial, "
                    f"{float(first.SliceThickness):g} mm slices, kernel {first.ConvolutionKernel})")
        assert expected in text, (expected, text)


@then(parsers.parse('the refusal names every scout file and says "{text}"'))
def scout_named(case: Case, text: str) -> None:
    """Each planted scout file and the reason are in the message."""
    assert isinstance(case.error, NoSeriesError), case.error
    for path in case.header_scans["planted"]:
        assert str(path) in str(case.error)
    assert text in str(case.error)


@then("the refusal names the two Slice Thickness values written")
def thickness_named(case: Case) -> None:
    """Both thicknesses, as read here from the files."""
    assert case.error is not None
    written = sorted({float(ds.SliceThickness) for _, ds in ct_images(case)})
    assert len(written) == 2
    said = ", ".join(f"{t:g}" for t in written)
    assert f"Slice Thickness (0018,0050) changes too: {said} mm" in str(case.error), case.error


@then("the refusal names the first and last files and the file where the spacing changes")
def refusal_names_change(case: Case) -> None:
    """The files found here from the positions: both ends, and where the gap grows."""
    assert isinstance(case.error, UnsafeSeriesError), case.error
    first, last = case.header_scans["ends"]
    for path in (first, last, case.header_scans["change"]):
        assert str(path) in case.error.files, (path, case.error.files)


@then("the refusal names at least one file of the series")
def refusal_names_a_file(case: Case) -> None:
    """Files the user can find."""
    assert isinstance(case.error, UnsafeSeriesError), case.error
    series = {str(path) for path, _ in ct_images(case)}
    assert case.error.files
    assert set(case.error.files) <= series


_INTERNAL = re.compile(r"1 - cos|cos\b|orthogonal grid|\bIPP\b|\bIOP\b|normal\)|median")


@then("the refusal holds no formula or internal term")
def plain_words(case: Case) -> None:
    """No formula or jargon a radiographer could not act on."""
    assert case.error is not None
    found = _INTERNAL.findall(str(case.error))
    assert not found, (found, str(case.error))
