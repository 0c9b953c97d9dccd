"""Sorting and validation rules on hand-made headers, at and around each tolerance."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from corridor.ingest.errors import AmbiguousSeriesError, NoSeriesError, UnsafeSeriesError
from corridor.ingest.io import SliceHeader
from corridor.ingest.ops import (
    GANTRY_TILT_TOLERANCE,
    group_series,
    select_series,
    sort_and_validate,
)

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def _slice(k: int, z: float, *, iop: tuple[float, ...] = AXIAL, x: float = 0.0,
           series: str = "1.2.3", modality: str = "CT", image_type: tuple[str, ...] = ()
           ) -> SliceHeader:
    return SliceHeader(
        path=f"f{k:03d}.dcm", frame=0, sop_instance_uid=f"1.2.3.{k}", sop_class_uid="",
        series_instance_uid=series, series_description="", modality=modality,
        image_type=image_type or ("ORIGINAL", "PRIMARY", "AXIAL"), frame_of_reference_uid="9",
        image_orientation_patient=iop, image_position_patient=(x, 0.0, z),
        pixel_spacing=(0.8, 0.6), rows=4, columns=5, rescale_slope=1.0, rescale_intercept=0.0,
        pixel_padding_value=None, pixel_padding_range_limit=None, gantry_detector_tilt=0.0,
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )


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
    assert "about 1 slice(s) missing" in str(caught.value)


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
    groups = group_series([_slice(0, 0, series="A"), _slice(1, 0, series="B"),
                           _slice(2, 0, series="C", modality="SR")])
    with pytest.raises(AmbiguousSeriesError) as ambiguous:
        select_series(groups, None, "in")
    assert [c[0] for c in ambiguous.value.candidates] == ["A", "B"]
    assert select_series(groups, "B", "in") == "B"
    with pytest.raises(NoSeriesError, match="found no series Z"):
        select_series(groups, "Z", "in")
