"""Sorting and validation rules on hand-made headers, at and around each tolerance."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from corridor.ingest.enum import RegularizationReason, SetAsideReason
from corridor.ingest.errors import AmbiguousSeriesError, NoSeriesError, UnsafeSeriesError
from corridor.ingest.io import SliceHeader
from corridor.ingest.ops import (
    GANTRY_TILT_TOLERANCE,
    group_series,
    intensity_check,
    select_series,
    sort_and_validate,
    summarize,
)

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def _slice(k: int, z: float, *, iop: tuple[float, ...] = AXIAL, x: float = 0.0,
           series: str = "1.2.3", modality: str = "CT", image_type: tuple[str, ...] = (),
           **fields: object) -> SliceHeader:
    values: dict[str, object] = {
        "path": f"f{k:03d}.dcm", "frame": 0, "sop_instance_uid": f"1.2.3.{k}",
        "sop_class_uid": "", "series_instance_uid": series, "series_description": "",
        "modality": modality, "image_type": image_type or ("ORIGINAL", "PRIMARY", "AXIAL"),
        "frame_of_reference_uid": "9", "image_orientation_patient": iop,
        "image_position_patient": (x, 0.0, z), "pixel_spacing": (0.8, 0.6), "rows": 4,
        "columns": 5, "rescale_slope": 1.0, "rescale_intercept": 0.0,
        "pixel_padding_value": None, "pixel_padding_range_limit": None,
        "gantry_detector_tilt": 0.0, "transfer_syntax_uid": "1.2.840.10008.1.2.1"}
    return SliceHeader(**{**values, **fields})  # type: ignore[arg-type]


def test_order_follows_position_not_input_order_and_k_runs_along_the_normal() -> None:
    headers = [_slice(k, z) for k, z in enumerate([10.0, 4.0, 8.0, 6.0])]
    result = sort_and_validate(headers)
    assert [h.image_position_patient[2] for h in result.slices] == [4.0, 6.0, 8.0, 10.0]
    expected = np.array([[0.6, 0, 0, 0], [0, 0.8, 0, 0], [0, 0, 2.0, 4.0], [0, 0, 0, 1]])
    assert np.allclose(result.geometry.affine, expected)
    assert result.geometry.shape == (5, 4, 4)


def test_a_gap_of_twice_the_spacing_is_a_missing_slice_named_by_its_neighbours() -> None:
    headers = [_slice(k, z) for k, z in enumerate([0.0, 2.0, 6.0, 8.0])]
    with pytest.raises(UnsafeSeriesError) as caught:
        sort_and_validate(headers)
    assert caught.value.check == "missing-slice"
    assert caught.value.files == ["f001.dcm", "f002.dcm"]
    assert "About 1 slice(s) are missing" in str(caught.value)


@pytest.mark.parametrize(
    ("shift", "outcome"),
    [(0.009, "clean"), (0.015, "warning"), (0.019, "warning"), (0.021, "refused")],
)
def test_off_grid_tolerances(shift: float, outcome: str) -> None:
    # spacing 2 mm: silent up to 0.01 mm, warning up to 1 % (0.02 mm), refused beyond
    headers = [_slice(k, 2.0 * k + (shift if k == 2 else 0.0)) for k in range(5)]
    if outcome == "refused":
        with pytest.raises(UnsafeSeriesError, match="slice-spacing"):
            sort_and_validate(headers)
        return
    result = sort_and_validate(headers)
    codes = [w.code.value for w in result.warnings]
    assert codes == ([] if outcome == "clean" else ["spacing-irregular-within-tolerance"])


def test_tilt_just_inside_tolerance_is_kept_in_the_affine_and_beyond_it_refused() -> None:
    inside = np.arccos(1 - 0.9 * GANTRY_TILT_TOLERANCE)
    outside = np.arccos(1 - 1.1 * GANTRY_TILT_TOLERANCE)
    kept = sort_and_validate([_slice(k, 2.0 * k, x=2.0 * k * np.tan(inside)) for k in range(4)])
    assert np.isclose(kept.geometry.affine[0, 2], 2.0 * np.tan(inside))
    with pytest.raises(UnsafeSeriesError, match="gantry-tilt"):
        sort_and_validate([_slice(k, 2.0 * k, x=2.0 * k * np.tan(outside)) for k in range(4)])


def test_orientation_difference_beyond_tolerance_is_refused() -> None:
    turned = (1.0, 0.0, 0.0002, 0.0, 1.0, 0.0)
    headers = [_slice(0, 0.0), _slice(1, 2.0, iop=turned), _slice(2, 4.0)]
    with pytest.raises(UnsafeSeriesError) as caught:
        sort_and_validate(headers)
    assert caught.value.check == "orientation"


def test_localizers_are_left_out_and_duplicates_paired() -> None:
    headers = [_slice(k, 2.0 * k) for k in range(3)]
    headers.append(dataclasses.replace(_slice(9, 0.0), path="dup.dcm"))
    headers.append(_slice(8, 50.0, iop=(0, 1, 0, 0, 0, -1), image_type=("LOCALIZER",)))
    result = sort_and_validate(headers)
    assert [w.code.value for w in result.warnings] == ["localizer-dropped"]
    assert [(a.path, b.path) for a, b in result.duplicates] == [("f000.dcm", "dup.dcm")]
    assert len(result.slices) == 3


def test_selection_refuses_ambiguity_and_unknown_series() -> None:
    headers = [_slice(k, 2.0 * k, series=uid, slice_thickness=t, convolution_kernel=kernel)
               for uid, t, kernel in (("A", 1.0, "BONE"), ("B", 5.0, "STANDARD"))
               for k in range(3)]
    summaries = summarize(group_series([*headers, _slice(9, 0, series="C", modality="SR")]))
    with pytest.raises(AmbiguousSeriesError) as ambiguous:
        select_series(summaries, None, "in")
    assert [c.series_instance_uid for c in ambiguous.value.candidates] == ["A", "B"]
    assert "1 mm slices, kernel BONE" in str(ambiguous.value)
    assert "5 mm slices, kernel STANDARD" in str(ambiguous.value)
    assert "3 images" in str(ambiguous.value)
    assert select_series(summaries, "B", "in") == "B"
    with pytest.raises(NoSeriesError, match="found no series Z"):
        select_series(summaries, "Z", "in")


def test_scouts_captures_single_images_and_other_modalities_are_set_aside() -> None:
    capture = "1.2.840.10008.5.1.4.1.1.7"
    headers = [
        *[_slice(k, 2.0 * k, series="AX") for k in range(4)],
        *[_slice(10 + k, 0.0, series="SCOUT", image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"))
          for k in range(2)],
        _slice(20, 0.0, series="DOSE", sop_class_uid=capture),
        *[_slice(30 + k, 0.0, series="SAVE", image_type=("DERIVED", "SECONDARY", "SCREEN SAVE"))
          for k in range(2)],
        _slice(40, 0.0, series="ONE"),
        *[_slice(50 + k, 2.0 * k, series="MR", modality="MR") for k in range(3)],
        *[dataclasses.replace(_slice(60 + k, 2.0 * k, series="NOGEO"),
                              image_position_patient=None) for k in range(3)],
    ]
    summaries = {s.series_instance_uid: s for s in summarize(group_series(headers))}
    assert {uid: s.set_aside for uid, s in summaries.items()} == {
        "AX": None, "SCOUT": SetAsideReason.LOCALIZER,
        "DOSE": SetAsideReason.SECONDARY_CAPTURE, "SAVE": SetAsideReason.SECONDARY_CAPTURE,
        "ONE": SetAsideReason.SINGLE_IMAGE, "MR": SetAsideReason.NOT_CT,
        "NOGEO": SetAsideReason.NO_GEOMETRY}
    assert select_series(list(summaries.values()), None, "in") == "AX"
    del summaries["AX"]
    with pytest.raises(NoSeriesError) as none:
        select_series(list(summaries.values()), None, "in")
    assert "no volumetric CT series" in str(none.value)
    assert "f010.dcm" in str(none.value)
    assert "scout (localizer) images only" in str(none.value)


def test_the_tilt_is_reported_before_a_change_of_spacing_and_both_are_named() -> None:
    # a GE-like series: 4 mm slices, then 7 mm slices, stacked through an 18.5 degree tilt
    z = [0.0, 4.0, 8.0, 12.0, 19.0, 26.0, 33.0]
    thickness = [4.0, 4.0, 4.0, 4.0, 7.0, 7.0, 7.0]
    shift = np.tan(np.radians(18.5))
    headers = [_slice(k, zk, x=zk * shift, slice_thickness=t, gantry_detector_tilt=18.5)
               for k, (zk, t) in enumerate(zip(z, thickness, strict=True))]
    with pytest.raises(UnsafeSeriesError) as caught:
        sort_and_validate(headers)
    text = str(caught.value)
    assert caught.value.check == "gantry-tilt"
    assert "tilted by 18.5°" in text
    assert "Gantry/Detector Tilt (0018,1120) is 18.5°" in text
    assert "Also: The slices are not equally spaced" in text
    assert "4.00 mm apart from f000.dcm to f003.dcm" in text
    assert "7.00 mm apart from f003.dcm to f006.dcm" in text
    assert "missing" not in text.split("Also:")[1].split(".")[0]
    assert "f003.dcm" in caught.value.files
    result = sort_and_validate(headers, regularize=True)
    assert result.regularize == (RegularizationReason.GANTRY_TILT,
                                 RegularizationReason.VARIABLE_SPACING)


def test_a_tilt_without_its_tag_says_the_tag_is_absent() -> None:
    shift = np.tan(np.radians(10.0))
    headers = [_slice(k, 2.0 * k, x=2.0 * k * shift, gantry_detector_tilt=None)
               for k in range(4)]
    with pytest.raises(UnsafeSeriesError) as caught:
        sort_and_validate(headers)
    assert "tag is absent; the slice positions show the tilt" in str(caught.value)
    assert "= 0.0" not in str(caught.value)


def test_missing_slices_are_refused_even_with_regularize() -> None:
    headers = [_slice(k, z, slice_thickness=2.0) for k, z in enumerate([0.0, 2.0, 6.0, 8.0])]
    with pytest.raises(UnsafeSeriesError, match="not even with --regularize") as caught:
        sort_and_validate(headers, regularize=True)
    assert caught.value.check == "missing-slice"


def test_a_spacing_that_is_no_whole_multiple_is_a_change_of_spacing() -> None:
    headers = [_slice(k, z) for k, z in enumerate([0.0, 2.0, 4.0, 7.0, 10.0, 13.0])]
    with pytest.raises(UnsafeSeriesError) as caught:
        sort_and_validate(headers)
    assert caught.value.check == "variable-spacing"
    assert sort_and_validate(headers, regularize=True).regularize == (
        RegularizationReason.VARIABLE_SPACING,)


@pytest.mark.parametrize(("fields", "said"), [
    ({"modality": "MR"}, "Modality (0008,0060) is 'MR'"),
    ({"rescale_type": "US"}, "Rescale Type (0028,1054) is 'US'"),
    ({"image_type": ("DERIVED", "PERFUSION")}, "Image Type (0008,0008) 'DERIVED\\PERFUSION'"),
    ({"rescale_type": "HU"}, None),
    ({}, None),
])
def test_values_that_are_not_hounsfield_units_are_named(fields: dict[str, object],
                                                        said: str | None) -> None:
    found = intensity_check([_slice(0, 0.0, **fields)])  # type: ignore[arg-type]
    assert (found is None) if said is None else (said in str(found))


def test_two_slices_nearly_at_one_place_are_a_fault_not_a_change_of_spacing() -> None:
    # 0.005 mm apart (beyond the duplicate tolerance) in a 2 mm series: not regularisable
    headers = [_slice(k, z) for k, z in enumerate([0.0, 2.0, 4.0, 4.005, 6.0, 8.0])]
    for regularize in (False, True):
        with pytest.raises(UnsafeSeriesError) as caught:
            sort_and_validate(headers, regularize=regularize)
        assert caught.value.check == "slice-spacing"
        assert "lie only 0.005 mm apart" in str(caught.value)
        assert caught.value.files == ["f002.dcm", "f003.dcm"]
