"""The phantoms are oracles: exact volumes, and the same anatomy wherever the grid lies.

Oracles: the closed-form volumes of a sphere, ellipsoid and cylinder with a
rigorous discretisation bound; an exact count of lattice points inside the
sphere computed here from the voxel centres; and label agreement at the same
patient points between grids placed differently (patient position,
orientation, spacing).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from corridor_phantoms import (
    PADDING_HU,
    Label,
    Orientation,
    PatientPosition,
    Phantom,
    PhantomError,
    PhantomKind,
    make_phantom,
)
from corridor_phantoms.anatomy import build_anatomy
from verification.phantoms.phantom_oracle import SMALL_SHAPE, SMALL_SPACING

ANALYTIC_KINDS = (PhantomKind.SPHERE, PhantomKind.ELLIPSOID, PhantomKind.CYLINDER)


def _centres(phantom: Phantom) -> NDArray[np.float64]:
    """LPS mm of every voxel centre, ``[i, j, k, 3]``, from the affine by hand."""
    affine = np.asarray(phantom.geometry.affine)
    grid = np.stack(np.meshgrid(*(np.arange(n) for n in phantom.geometry.shape),
                                indexing="ij"), axis=-1).astype(np.float64)
    return np.asarray(grid @ affine[:3, :3].T + affine[:3, 3])


def _half_diagonal(phantom: Phantom) -> float:
    """Largest distance from a voxel centre to a corner of its (possibly sheared) cell, mm."""
    steps = np.asarray(phantom.geometry.affine)[:3, :3]
    return max(0.5 * float(np.linalg.norm(steps @ np.array(signs)))
               for signs in itertools.product((-1.0, 1.0), repeat=3))


def _object(phantom: Phantom) -> dict[str, Any]:
    objects = phantom.manifest["anatomy"]["objects"]
    assert len(objects) == 1
    return dict(objects[0])


def _volume_bound(kind: PhantomKind, shape: dict[str, Any], d: float) -> tuple[float, float]:
    """Exact volume and the largest possible |voxel-count volume - exact volume|.

    A voxel whose cell lies wholly inside or outside the solid K is counted
    right.  A cell crossing the surface whose centre is inside adds its part
    outside K, which lies within d (the half-diagonal) of the centre, so in
    (K ⊕ B_d) \\ K; one whose centre is outside misses its part inside K, in
    K \\ (K ⊖ B_d).  Cells are disjoint, so the error is at most
    max(vol(K ⊕ B_d) - V, V - vol(K ⊖ B_d)).  For these solids the parallel bodies
    are bounded by the same solid with every semi-axis (radius, half length)
    grown or shrunk by d (Minkowski's inequality on the support function).
    """
    if kind is PhantomKind.SPHERE:
        r = float(shape["radius_mm"])
        volume = 4.0 / 3.0 * math.pi * r**3
        outer, inner = 4.0 / 3.0 * math.pi * (r + d) ** 3, 4.0 / 3.0 * math.pi * (r - d) ** 3
    elif kind is PhantomKind.ELLIPSOID:
        a, b, c = (float(v) for v in shape["semi_axes_mm"])
        volume = 4.0 / 3.0 * math.pi * a * b * c
        outer = 4.0 / 3.0 * math.pi * (a + d) * (b + d) * (c + d)
        inner = 4.0 / 3.0 * math.pi * (a - d) * (b - d) * (c - d)
    else:
        r, h = float(shape["radius_mm"]), float(shape["half_length_mm"])
        volume = math.pi * r**2 * 2.0 * h
        outer = math.pi * (r + d) ** 2 * 2.0 * (h + d)
        inner = math.pi * (r - d) ** 2 * 2.0 * (h - d)
    return volume, max(outer - volume, volume - inner)


@pytest.mark.parametrize("kind", ANALYTIC_KINDS)
@pytest.mark.parametrize(("orientation", "position", "tilt"), [
    (Orientation.AXIAL, PatientPosition.HFS, 0.0),
    (Orientation.OBLIQUE, PatientPosition.FFP, 0.0),
    (Orientation.AXIAL, PatientPosition.HFS, 12.0),
])
def test_analytic_volume_within_discretisation_bound(kind: PhantomKind, orientation: Orientation,
                                                     position: PatientPosition,
                                                     tilt: float) -> None:
    phantom = make_phantom(kind, shape=SMALL_SHAPE, spacing=SMALL_SPACING,
                           orientation=orientation, patient_position=position,
                           gantry_tilt_deg=tilt)
    assert phantom.manifest["field_of_view"]["labels_inside"] is True
    voxel_volume = abs(float(np.linalg.det(np.asarray(phantom.geometry.affine)[:3, :3])))
    measured = int(np.count_nonzero(phantom.labels == 1)) * voxel_volume
    exact, bound = _volume_bound(kind, _object(phantom), _half_diagonal(phantom))
    assert exact == pytest.approx(float(_object(phantom)["volume_mm3"]), rel=1e-12)
    assert abs(measured - exact) <= bound
    # Far tighter in practice (observed at most 0.33 %); a gross sampling error exceeds it.
    assert abs(measured - exact) <= 0.01 * exact


def test_sphere_labels_are_exactly_the_lattice_points_inside() -> None:
    phantom = make_phantom("sphere", shape=SMALL_SHAPE, spacing=SMALL_SPACING,
                           orientation="oblique", patient_position="HFP", noise_hu=0.0)
    sphere = _object(phantom)
    distance = np.linalg.norm(_centres(phantom) - np.asarray(sphere["centre_lps_mm"]), axis=-1)
    assert np.array_equal(phantom.labels == 1, distance <= sphere["radius_mm"])
    assert np.all(phantom.hu[phantom.labels == 1] == 1000)
    assert np.all(phantom.hu[(phantom.labels == 0) & ~phantom.padding] == 0)


def _touching(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> bool:
    """Whether a voxel of ``a`` has a face neighbour in ``b`` (no wrap-around)."""
    for axis in range(3):
        head = [slice(None)] * 3
        tail = [slice(None)] * 3
        head[axis], tail[axis] = slice(1, None), slice(None, -1)
        if np.any(a[tuple(head)] & b[tuple(tail)]) or np.any(a[tuple(tail)] & b[tuple(head)]):
            return True
    return False


def _labels_at(phantom: Phantom, points: NDArray[np.float64]) -> NDArray[np.int64]:
    """Label of the voxel whose centre is nearest each LPS point (-1 outside the grid)."""
    index = np.rint(phantom.geometry.lps_to_index(points)).astype(np.int64)
    shape = np.asarray(phantom.geometry.shape)
    inside = np.all((index >= 0) & (index < shape), axis=-1)
    result = np.full(len(points), -1, dtype=np.int64)
    i, j, k = index[inside].T
    result[inside] = phantom.labels[i, j, k]
    return result


@pytest.mark.parametrize("position", [PatientPosition.FFS, PatientPosition.HFP,
                                      PatientPosition.FFP])
def test_pelvis_labels_agree_at_the_same_patient_points_for_every_position(
        position: PatientPosition) -> None:
    shape, spacing = (64, 48, 32), (5.0, 5.0, 6.0)
    hfs = make_phantom("pelvis", shape=shape, spacing=spacing, patient_position="HFS")
    other = make_phantom("pelvis", shape=shape, spacing=spacing, patient_position=position)
    centres = _centres(hfs).reshape(-1, 3)
    index = other.geometry.lps_to_index(centres)
    assert np.allclose(index, np.rint(index), atol=1e-6), "the grids share their voxel centres"
    i, j, k = np.rint(index).astype(np.int64).T
    assert np.array_equal(other.labels[i, j, k], hfs.labels.reshape(-1))
    assert set(np.unique(hfs.labels)) == {int(label) for label in Label}


def test_sphere_labels_agree_between_axial_and_oblique_grids_at_sample_points() -> None:
    rng = np.random.default_rng(7)
    axial = make_phantom("sphere", shape=SMALL_SHAPE, spacing=SMALL_SPACING)
    oblique = make_phantom("sphere", shape=(40, 44, 30), spacing=(1.1, 1.3, 1.7),
                           orientation="oblique", patient_position="FFS")
    sphere = _object(axial)
    centre, radius = np.asarray(sphere["centre_lps_mm"]), float(sphere["radius_mm"])
    points = centre + rng.uniform(-28.0, 28.0, size=(20000, 3))
    distance = np.abs(np.linalg.norm(points - centre, axis=-1) - radius)
    margin = max(_half_diagonal(axial), _half_diagonal(oblique))
    clear = distance > margin
    a, b = _labels_at(axial, points), _labels_at(oblique, points)
    both = clear & (a >= 0) & (b >= 0)
    assert both.sum() > 10000
    assert np.array_equal(a[both], b[both])
    expected = (np.linalg.norm(points - centre, axis=-1) <= radius).astype(np.int64)
    assert np.array_equal(a[both], expected[both])


def test_pelvis_labels_agree_between_axial_and_oblique_away_from_boundaries() -> None:
    """Where the 27 voxels around the nearest centre agree in both grids, the labels agree."""
    shape, spacing = (72, 56, 40), (4.0, 4.0, 4.0)
    axial = make_phantom("pelvis", shape=shape, spacing=spacing)
    oblique = make_phantom("pelvis", shape=shape, spacing=(3.5, 4.5, 4.0), orientation="oblique",
                           oblique_angle_deg=25.0, patient_position="FFS")
    rng = np.random.default_rng(3)
    centre = np.asarray(axial.manifest["anatomy"]["centre_lps_mm"])
    points = centre + rng.uniform(-110.0, 110.0, size=(30000, 3)) * [1.0, 0.8, 0.6]

    def uniform_label(phantom: Phantom) -> NDArray[np.int64]:
        index = np.rint(phantom.geometry.lps_to_index(points)).astype(np.int64)
        shape_array = np.asarray(phantom.geometry.shape)
        inside = np.all((index >= 1) & (index < shape_array - 1), axis=-1)
        result = np.full(len(points), -1, dtype=np.int64)
        neighbourhood = np.stack([
            phantom.labels[tuple((index[inside] + offset).T)]
            for offset in itertools.product((-1, 0, 1), repeat=3)]).astype(np.int64)
        same = np.all(neighbourhood == neighbourhood[0], axis=0)
        values = np.where(same, neighbourhood[0], -1)
        result[inside] = values
        return result

    a, b = uniform_label(axial), uniform_label(oblique)
    both = (a >= 0) & (b >= 0)
    assert both.sum() > 5000
    assert np.array_equal(a[both], b[both])
    assert {int(v) for v in np.unique(a[both])} >= {1, 3}


def test_hu_are_the_label_values_plus_gaussian_noise() -> None:
    exact = make_phantom("pelvis", shape=(96, 80, 24), spacing=(4.0, 4.0, 5.0), noise_hu=0.0)
    expected = {0: -1000, 1: 40, 2: 1200, 3: 250, 4: 300}
    assert {int(k): int(v["hu"]) for k, v in exact.manifest["labels"].items()} == expected
    inside = ~exact.padding
    for label, hu in expected.items():
        values = exact.hu[(exact.labels == label) & inside]
        assert values.size > 0
        assert np.all(values == hu)
    noisy = make_phantom("pelvis", shape=(96, 80, 24), spacing=(4.0, 4.0, 5.0), noise_hu=15.0)
    assert np.array_equal(noisy.labels, exact.labels)
    soft = (exact.labels == 1) & inside
    residual = noisy.hu[soft].astype(np.float64) - 40.0
    assert abs(float(residual.mean())) < 0.5
    assert float(residual.std()) == pytest.approx(15.0, rel=0.03)


def test_padding_is_outside_the_inscribed_disc_and_unique() -> None:
    phantom = make_phantom("pelvis", shape=SMALL_SHAPE, spacing=(7.5, 7.5, 8.0))
    ni, nj, _ = SMALL_SHAPE
    x = (np.arange(ni) - (ni - 1) / 2) * 7.5
    y = (np.arange(nj) - (nj - 1) / 2) * 7.5
    outside = x[:, None] ** 2 + y[None, :] ** 2 > (0.5 * min(ni, nj) * 7.5) ** 2
    assert np.array_equal(phantom.padding, np.broadcast_to(outside[..., None], SMALL_SHAPE))
    assert np.all(phantom.hu[~phantom.padding] >= -1024)
    assert np.all(phantom.hu[phantom.padding] == PADDING_HU)
    assert phantom.manifest["field_of_view"]["labels_inside"] is False


def test_vessels_run_near_but_never_touch_bone() -> None:
    phantom = make_phantom("pelvis", shape=(120, 90, 70), spacing=(3.0, 3.0, 3.0), noise_hu=0.0)
    clearance = phantom.manifest["anatomy"]["vessel_bone_clearance_mm_lower_bound"]
    assert 2.0 <= clearance <= 10.0
    labels = phantom.labels
    vessel = labels == Label.VESSEL
    bone = (labels == Label.CORTICAL_BONE) | (labels == Label.CANCELLOUS_BONE)
    assert vessel.sum() > 100
    assert not _touching(vessel, bone)


@pytest.mark.parametrize("kind", [PhantomKind.FEMUR, PhantomKind.PELVIS])
def test_cancellous_bone_is_wrapped_in_cortex_on_grids_finer_than_the_cortex(
        kind: PhantomKind) -> None:
    """Bone values are 1-Lipschitz (min, max of exact distances), so between a cancellous
    (value <= -2 mm) and a soft-tissue (value > 0) voxel centre lie more than 2 mm: with
    steps of at most 2 mm a cortical voxel always separates them."""
    phantom = make_phantom(kind, shape=(110, 90, 50), spacing=(1.9, 1.7, 2.0), noise_hu=0.0)
    cancellous = phantom.labels == Label.CANCELLOUS_BONE
    assert cancellous.sum() > 1000
    assert not _touching(cancellous, phantom.labels == Label.SOFT_TISSUE)
    assert not _touching(cancellous, phantom.labels == Label.BACKGROUND)


def test_femur_has_head_neck_shaft_and_an_artery() -> None:
    phantom = make_phantom("femur", shape=(80, 80, 60), spacing=(2.5, 2.5, 4.0), noise_hu=0.0)
    labels = phantom.labels
    names = {b["name"] for b in phantom.manifest["anatomy"]["bones"]}
    assert {"left-femur-head", "left-femur-neck", "left-femur-shaft"} <= names
    assert set(np.unique(labels)) == {0, 1, 2, 3, 4}


def test_same_request_same_phantom_and_seed_changes_only_noise() -> None:
    a = make_phantom("femur", shape=SMALL_SHAPE, spacing=(4.0, 4.0, 8.0), seed=5)
    b = make_phantom("femur", shape=SMALL_SHAPE, spacing=(4.0, 4.0, 8.0), seed=5)
    c = make_phantom("femur", shape=SMALL_SHAPE, spacing=(4.0, 4.0, 8.0), seed=6)
    assert np.array_equal(a.hu, b.hu)
    assert np.array_equal(a.labels, b.labels)
    assert a.to_json() == b.to_json()
    assert np.array_equal(a.labels, c.labels)
    assert not np.array_equal(a.hu, c.hu)
    assert a.geometry.frame_of_reference_uid != c.geometry.frame_of_reference_uid


def test_phantom_is_immutable_and_checked() -> None:
    phantom = make_phantom("sphere", shape=(8, 8, 8), spacing=(8.0, 8.0, 8.0))
    with pytest.raises(ValueError, match="read-only"):
        phantom.hu[0, 0, 0] = 1
    with pytest.raises(TypeError):
        phantom.manifest["kind"] = "femur"  # type: ignore[index]
    with pytest.raises(PhantomError) as caught:
        Phantom(phantom.hu[:4], phantom.labels, phantom.geometry, {})
    assert caught.value.field == "hu"
    with pytest.raises(PhantomError, match="JSON"):
        Phantom(phantom.hu, phantom.labels, phantom.geometry, {"x": float("nan")})


@pytest.mark.parametrize(("arguments", "field", "words"), [
    ({"kind": "skull"}, "kind", "pelvis, femur, sphere, ellipsoid, cylinder"),
    ({"shape": (0, 10, 10)}, "shape", "three integers"),
    ({"shape": (10, 10)}, "shape", "three integers"),
    ({"spacing": (1.0, -1.0, 1.0)}, "spacing", "above 0"),
    ({"orientation": "tilted"}, "orientation", "axial, coronal, sagittal, oblique"),
    ({"patient_position": "HFDL"}, "patient_position", "HFS, FFS, HFP, FFP"),
    ({"seed": -1}, "seed", "non-negative"),
    ({"noise_hu": float("nan")}, "noise_hu", "a number"),
    ({"gantry_tilt_deg": 45.0}, "gantry_tilt_deg", "from -30 to 30"),
])
def test_bad_requests_name_field_found_and_expected(arguments: dict[str, Any], field: str,
                                                    words: str) -> None:
    kind = arguments.pop("kind", "sphere")
    with pytest.raises(PhantomError) as caught:
        make_phantom(kind, **arguments)
    assert caught.value.field == field
    assert words in caught.value.expected
    assert field in str(caught.value)


@pytest.mark.parametrize("orientation", list(Orientation))
@pytest.mark.parametrize("position", list(PatientPosition))
def test_every_grid_is_right_handed_orthonormal_and_centred(orientation: Orientation,
                                                            position: PatientPosition) -> None:
    phantom = make_phantom("sphere", shape=(6, 5, 4), spacing=SMALL_SPACING,
                           orientation=orientation, patient_position=position)
    geometry = phantom.geometry
    assert geometry.is_right_handed
    assert geometry.orthonormality_error < 1e-12
    assert np.allclose(geometry.spacing, SMALL_SPACING)
    centre = geometry.index_to_lps((np.asarray(geometry.shape) - 1) / 2.0)
    assert np.allclose(centre, phantom.manifest["anatomy"]["centre_lps_mm"])
    direction = geometry.direction
    if orientation is Orientation.AXIAL:
        sign_i = {"HFS": 1, "FFS": -1, "HFP": -1, "FFP": 1}[position]
        sign_j = {"HFS": 1, "FFS": 1, "HFP": -1, "FFP": -1}[position]
        assert np.allclose(direction[:, 0], [sign_i, 0, 0])
        assert np.allclose(direction[:, 1], [0, sign_j, 0])
        assert np.allclose(np.abs(direction[:, 2]), [0, 0, 1])
    if orientation is Orientation.OBLIQUE:
        assert np.max(np.abs(direction)) < 0.9999, "no oblique axis is a patient axis"


@pytest.mark.parametrize("kind", [PhantomKind.PELVIS, PhantomKind.FEMUR])
def test_slice_wise_culling_gives_the_labels_of_evaluating_every_solid_everywhere(
        kind: PhantomKind) -> None:
    """The fast path skips solids whose bounding sphere misses a block; it must not matter."""
    phantom = make_phantom(kind, shape=(60, 50, 16), spacing=(6.0, 5.0, 13.0),
                           orientation="oblique", gantry_tilt_deg=-9.0, patient_position="HFP")
    anatomy = build_anatomy(kind)
    points = _centres(phantom).reshape(-1, 3)
    expected = np.zeros(len(points), dtype=np.uint8)
    assert anatomy.body is not None
    expected[anatomy.body.sdf(points) <= 0] = Label.SOFT_TISSUE
    bone = np.min([solid.sdf(points) for solid in anatomy.bones], axis=0)
    expected[bone <= 0] = Label.CORTICAL_BONE
    expected[bone <= -anatomy.cortical_thickness_mm] = Label.CANCELLOUS_BONE
    expected[np.min([solid.sdf(points) for solid in anatomy.vessels], axis=0) <= 0] = Label.VESSEL
    assert np.array_equal(phantom.labels.reshape(-1), expected)
