"""Each planted fault does what it says, alone and combined, classic and enhanced.

Every check reads the written files with pydicom and compares with the truth
files or with geometry rebuilt here from the tags.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from corridor_phantoms import Fault, SeriesWritten, make_phantom, write_series
from verification.phantoms.phantom_oracle import (
    affine_from_tags,
    ct_images,
    enhanced_affine,
    hu_of,
    load_truth,
    normal_of,
    read_all,
    sort_by_position,
)

SHAPE, SPACING = (40, 36, 12), (6.0, 6.0, 8.0)


def _write(tmp_path: Path, *faults: str, enhanced: bool = False,
           kind: str = "pelvis") -> tuple[SeriesWritten, dict[str, Dataset]]:
    phantom = make_phantom(kind, shape=SHAPE, spacing=SPACING, seed=4)
    written = write_series(phantom, tmp_path / "out", faults=faults, enhanced=enhanced)
    return written, read_all(tmp_path / "out" / "dicom")


def _projections(slices: list[Dataset]) -> list[float]:
    normal = normal_of(slices[0])
    return [float(np.asarray(ds.ImagePositionPatient, dtype=np.float64) @ normal)
            for ds in slices]


def test_shuffled_order_names_are_random_and_not_in_slice_order(tmp_path: Path) -> None:
    written, datasets = _write(tmp_path, "shuffled-order")
    names = sorted(datasets)
    assert len(names) == SHAPE[2]
    assert all(len(name) == 8 and "." not in name for name in names)
    positions = _projections([datasets[name] for name in names])
    assert positions != sorted(positions)
    assert positions != sorted(positions, reverse=True)
    assert [p.name for p in written.slice_paths] != names
    slices = sort_by_position(list(datasets.values()))
    assert np.allclose(affine_from_tags(slices), written.phantom.geometry.affine, atol=1e-6)
    assert "shuffled-order" in written.manifest["faults"]


def test_missing_slice_leaves_a_double_gap_where_the_manifest_says(tmp_path: Path) -> None:
    written, datasets = _write(tmp_path, "missing-slice")
    report = written.manifest["faults"]["missing-slice"]
    missing = report["k"]
    assert 0 < missing < SHAPE[2] - 1
    assert len(datasets) == SHAPE[2] - 1
    positions = sorted(_projections(list(datasets.values())))
    gaps = np.diff(positions)
    assert np.count_nonzero(np.isclose(gaps, 2 * SPACING[2])) == 1
    assert np.allclose(np.delete(gaps, np.argmax(gaps)), SPACING[2])
    hu, _, _, _ = load_truth(written.out_dir)
    assert hu.shape == SHAPE
    expected = np.asarray(report["image_position_patient"])
    assert np.allclose(expected, written.phantom.geometry.index_to_lps([0, 0, missing]))
    assert not any(np.allclose(np.asarray(ds.ImagePositionPatient, dtype=float), expected)
                   for ds in datasets.values())
    assert report["sop_instance_uid_not_written"] not in {ds.SOPInstanceUID
                                                          for ds in datasets.values()}
    assert missing not in written.slices
    assert len(written.slices) == SHAPE[2] - 1


def test_duplicate_slice_has_same_position_and_pixels_new_uid(tmp_path: Path) -> None:
    written, datasets = _write(tmp_path, "duplicate-slice")
    report = written.manifest["faults"]["duplicate-slice"]
    assert len(datasets) == SHAPE[2] + 1
    by_uid = {ds.SOPInstanceUID: ds for ds in datasets.values()}
    copy = by_uid[report["sop_instance_uid"]]
    original = by_uid[report["duplicates_sop_instance_uid"]]
    assert copy.SOPInstanceUID != original.SOPInstanceUID
    assert copy.SeriesInstanceUID == original.SeriesInstanceUID
    assert list(copy.ImagePositionPatient) == list(original.ImagePositionPatient)
    assert copy.PixelData == original.PixelData
    hu, _, _, _ = load_truth(written.out_dir)
    assert np.array_equal(hu_of(copy), hu[:, :, report["k"]].T)
    positions = np.round(_projections(list(datasets.values())), 6)
    assert len(set(positions.tolist())) == SHAPE[2]


@pytest.mark.parametrize("enhanced", [False, True])
def test_gantry_tilt_shears_the_grid_and_the_truth_follows(tmp_path: Path,
                                                           enhanced: bool) -> None:
    written, datasets = _write(tmp_path, "gantry-tilt", enhanced=enhanced)
    tilt = written.manifest["faults"]["gantry-tilt"]["gantry_tilt_deg"]
    assert 5.0 <= abs(tilt) <= 15.0
    objects = list(datasets.values())
    for ds in objects:
        assert float(ds.GantryDetectorTilt) == pytest.approx(tilt)
    if enhanced:
        (ds,) = objects
        affine, _ = enhanced_affine(ds)
    else:
        affine = affine_from_tags(objects)
    geometry = written.phantom.geometry
    assert np.allclose(affine, geometry.affine, atol=1e-6)
    _, _, geometry_json, _ = load_truth(written.out_dir)
    assert np.allclose(geometry_json["affine"], affine, atol=1e-6)
    step = affine[:3, 2] / np.linalg.norm(affine[:3, 2])
    normal = np.cross(affine[:3, 0], affine[:3, 1])
    normal /= np.linalg.norm(normal)
    assert math.degrees(math.acos(abs(float(step @ normal)))) == pytest.approx(abs(tilt))
    assert np.allclose(step, [0, 0, 1]), "slices step along the table"
    assert geometry.orthonormality_error > 0.1
    assert written.phantom.manifest["request"]["gantry_tilt_deg"] == tilt


def test_gantry_tilt_keeps_the_anatomy_in_place(tmp_path: Path) -> None:
    written, _ = _write(tmp_path, "gantry-tilt", kind="sphere")
    phantom = written.phantom
    sphere = phantom.manifest["anatomy"]["objects"][0]
    grid = np.stack(np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij"), axis=-1)
    affine = np.asarray(phantom.geometry.affine)
    centres = grid @ affine[:3, :3].T + affine[:3, 3]
    inside = np.linalg.norm(centres - sphere["centre_lps_mm"], axis=-1) <= sphere["radius_mm"]
    assert np.array_equal(phantom.labels == 1, inside)


@pytest.mark.parametrize("enhanced", [False, True])
def test_variable_spacing_steps_the_spacing_then_one_and_three_quarters_of_it(
        tmp_path: Path, enhanced: bool) -> None:
    written, datasets = _write(tmp_path, "variable-spacing", enhanced=enhanced)
    first = math.ceil(SHAPE[2] / 2)
    expected_gaps = [SPACING[2]] * (first - 1) + [1.75 * SPACING[2]] * (SHAPE[2] - first)
    if enhanced:
        (ds,) = datasets.values()
        _, positions = enhanced_affine(ds)
        normal = np.cross(*np.reshape(ds.SharedFunctionalGroupsSequence[0]
                                      .PlaneOrientationSequence[0].ImageOrientationPatient,
                                      (2, 3)).astype(float))
        along = sorted(float(p @ normal) for p in positions)
    else:
        slices = sort_by_position(list(datasets.values()))
        along = _projections(slices)
        assert [int(ds.InstanceNumber) for ds in slices] == list(range(1, SHAPE[2] + 1))
        assert {float(ds.SliceThickness) for ds in slices} == {SPACING[2]}
        hu, _, _, _ = load_truth(written.out_dir)
        for ds, k in zip(slices, written.slices, strict=True):
            assert np.array_equal(hu_of(ds), hu[:, :, k].T)
            assert np.allclose(np.asarray(ds.ImagePositionPatient, dtype=float),
                               written.phantom.geometry.index_to_lps([0, 0, k]), atol=1e-6)
    assert len(along) == SHAPE[2]
    assert np.allclose(np.diff(along), expected_gaps, atol=1e-6)
    report = written.manifest["faults"]["variable-spacing"]
    assert list(report["slices_of_truth"]) == list(written.slices)
    assert np.allclose(report["slice_gaps_mm"], expected_gaps)
    assert written.phantom.geometry.spacing[2] == pytest.approx(SPACING[2] / 4)
    assert written.phantom.geometry.shape[2] == written.slices[-1] + 1


def test_mixed_series_is_a_second_series_of_every_second_slice(tmp_path: Path) -> None:
    written, datasets = _write(tmp_path, "mixed-series")
    report = written.manifest["faults"]["mixed-series"]
    series = {ds.SeriesInstanceUID for ds in ct_images(datasets)}
    assert series == {written.series_instance_uid, report["series_instance_uid"]}
    second = sort_by_position(ct_images(datasets, report["series_instance_uid"]))
    assert len(second) == math.ceil(SHAPE[2] / 2)
    assert len({ds.StudyInstanceUID for ds in datasets.values()}) == 1
    assert {int(ds.SeriesNumber) for ds in second} == {2}
    affine = affine_from_tags(second)
    assert np.allclose(affine, report["affine"], atol=1e-6)
    hu, _, _, _ = load_truth(written.out_dir)
    for n, ds in enumerate(second):
        assert np.array_equal(hu_of(ds), hu[:, :, 2 * n].T)
    assert len(ct_images(datasets, written.series_instance_uid)) == SHAPE[2]


@pytest.mark.parametrize("enhanced", [False, True])
def test_localizer_is_one_orthogonal_image_in_the_same_series(tmp_path: Path,
                                                              enhanced: bool) -> None:
    written, datasets = _write(tmp_path, "localizer", enhanced=enhanced)
    localizers = [ds for ds in datasets.values() if "LOCALIZER" in ds.ImageType]
    assert len(localizers) == 1
    (localizer,) = localizers
    assert localizer.SeriesInstanceUID == written.series_instance_uid
    assert list(localizer.ImageType)[:3] == ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    if enhanced:
        iop = localizer.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0]
        localizer_normal = np.cross(np.asarray(iop.ImageOrientationPatient[:3], dtype=float),
                                    np.asarray(iop.ImageOrientationPatient[3:], dtype=float))
    else:
        localizer_normal = normal_of(localizer)
        assert localizer.Rows >= 32
        assert localizer.Columns == SHAPE[0]
    slice_normal = np.cross(written.phantom.geometry.direction[:, 0],
                            written.phantom.geometry.direction[:, 1])
    assert abs(float(localizer_normal @ slice_normal)) < 1e-9
    report = written.manifest["faults"]["localizer"]
    assert report["sop_instance_uid"] == localizer.SOPInstanceUID


def test_non_ct_files_are_a_text_file_and_a_pixel_less_sr(tmp_path: Path) -> None:
    written, datasets = _write(tmp_path, "non-ct-files")
    report = written.manifest["faults"]["non-ct-files"]
    text = written.out_dir / report["text_file"]
    assert text.is_file()
    assert text.name not in datasets
    with pytest.raises(pydicom.errors.InvalidDicomError):
        pydicom.dcmread(text)
    reports = [ds for ds in datasets.values() if ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.11"]
    assert len(reports) == 1
    (sr,) = reports
    assert "PixelData" not in sr
    assert "Rows" not in sr
    assert sr.Modality == "SR"
    assert sr.SOPInstanceUID == report["structured_report_sop_instance_uid"]
    assert sr.SeriesInstanceUID != written.series_instance_uid
    assert sr.StudyInstanceUID == written.manifest["series"]["study_instance_uid"]
    assert len(ct_images(datasets)) == SHAPE[2]


@pytest.mark.parametrize("enhanced", [False, True])
def test_truncated_file_is_half_its_length_and_its_pixels_cannot_be_read(
        tmp_path: Path, enhanced: bool) -> None:
    written, _ = _write(tmp_path, "truncated-file", enhanced=enhanced)
    report = written.manifest["faults"]["truncated-file"]
    path = written.out_dir / report["path"]
    entry = next(f for f in written.manifest["series"]["files"] if f["path"] == report["path"])
    assert path.stat().st_size == entry["truncated_from_bytes"] // 2
    assert entry["sop_instance_uid"] == report["sop_instance_uid"]
    with pytest.raises(Exception):  # noqa: B017, PT011 - pydicom's error type is not specified
        pydicom.dcmread(path).pixel_array  # noqa: B018
    if not enhanced:
        readable = [p for p in written.slice_paths if p != path]
        assert len(readable) == SHAPE[2] - 1
        for p in readable:
            assert pydicom.dcmread(p).pixel_array.shape == (SHAPE[1], SHAPE[0])


def test_enhanced_shuffled_missing_duplicate_frames(tmp_path: Path) -> None:
    written, datasets = _write(tmp_path, "shuffled-order", "missing-slice", "duplicate-slice",
                               enhanced=True)
    (ds,) = datasets.values()
    faults = written.manifest["faults"]
    frames = [int(g.FrameContentSequence[0].InStackPositionNumber) - 1
              for g in ds.PerFrameFunctionalGroupsSequence]
    assert len(frames) == SHAPE[2]
    assert faults["missing-slice"]["k"] not in frames
    assert frames.count(faults["duplicate-slice"]["k"]) == 2
    assert frames != sorted(frames)
    assert [list(f["slices"]) for f in written.manifest["series"]["files"]] == [frames]
    hu, _, _, _ = load_truth(written.out_dir)
    transform = ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0]
    values = hu_of(transform, ds.pixel_array)
    for frame, k in enumerate(frames):
        assert np.array_equal(values[frame], hu[:, :, k].T)


@pytest.mark.parametrize("enhanced", [False, True])
def test_all_faults_combine(tmp_path: Path, enhanced: bool) -> None:
    everything = [fault.value for fault in Fault]
    written, _ = _write(tmp_path, *everything, enhanced=enhanced)
    assert sorted(written.manifest["faults"]) == sorted(everything)
    roles: dict[str, int] = {}
    for entry in written.manifest["series"]["files"]:
        roles[entry["role"]] = roles.get(entry["role"], 0) + 1
        assert (written.out_dir / entry["path"]).stat().st_size == entry["bytes"]
    expected: dict[str, Any] = {"localizer": 1, "structured-report": 1, "text": 1}
    if enhanced:
        expected |= {"slice": 1, "mixed-series": 1}
    else:
        expected |= {"slice": SHAPE[2] - 1, "duplicate": 1, "mixed-series": SHAPE[2] // 2}
    assert roles == expected
    assert len(list((written.out_dir / "dicom").iterdir())) == sum(expected.values())
    assert written.phantom.manifest["request"]["gantry_tilt_deg"] != 0.0
