"""Step definitions of ``verification/features/ingest/regularize.feature``.

Verifies the regularisation of tilted and unevenly spaced series
(:func:`corridor.ingest.regularize.regularize`) against oracles it did not produce: the
sphere phantom's parameters (the expected grid and displacement are derived here from the
tilt, the table steps and the grid's centring, not from the code), its analytic anatomy,
the series read with pydicom, and dcm2niix converting the same series.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pydicom
import pytest
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.geometry import ImageGeometry
from corridor.ingest.api import ingest
from corridor.ingest.errors import RegularizationInputError, UnsafeSeriesError
from corridor.ingest.regularize import FILL_HU, regularize
from corridor_phantoms import make_phantom, write_series
from corridor_phantoms.anatomy import ANATOMY_CENTRE_LPS_MM
from verification.command_run import run_corridor

scenarios("ingest/regularize.feature")

SHAPE = (40, 36, 16)
"""Voxels (i, j, k) of the phantoms: small, unequal so that a swap shows."""

SPACING = (1.5, 1.5, 3.0)
"""Pixel spacing and table step (mm) of the phantoms."""

WORLD_TOLERANCE_MM = 1e-3
"""World coordinates (see the feature file for why)."""

HU_TOLERANCE = 0.01
"""Intensities against the analytic phantom and the affine field (float32 output)."""

DCM2NIIX_HU_TOLERANCE = 0.51
"""Intensities against dcm2niix, which rounds to int16."""

LONG_STEP = 1.75
"""The ``variable-spacing`` fault's second-half step, as a multiple of the first (its documented
definition: the first ceil(n/2) slices step the phantom's spacing, the rest 1.75 times it)."""


@dataclass
class Regularised:
    """One scenario's slices, what regularize returned, and the expectations."""

    folder: Path | None = None
    tilt_deg: float = 0.0
    faults: tuple[str, ...] = ()
    manifest: dict[str, Any] = field(default_factory=dict)
    stack: Any = None
    positions: Any = None
    iop: Any = None
    pixel_spacing: Any = None
    padding: Any = None
    function: Any = None
    result: tuple[Any, ...] | None = None
    error: Exception | None = None
    peak_bytes: int = 0
    reference: Any = None
    refusal: Exception | None = None
    frame_of_reference_uid: str = "1.2.3"
    """The Frame of Reference UID the grid must keep (the series' own, through ingest)."""
    volume: Any = None
    run: Any = None

    @property
    def hu(self) -> NDArray[np.float32]:
        assert self.result is not None, self.error
        return self.result[0]  # type: ignore[no-any-return]

    @property
    def geometry(self) -> ImageGeometry:
        assert self.result is not None, self.error
        return self.result[1]  # type: ignore[no-any-return]

    @property
    def mask(self) -> NDArray[np.bool_]:
        assert self.result is not None, self.error
        return self.result[2]  # type: ignore[no-any-return]


# -- the phantom's analytic description -------------------------------------------------------

def _table_steps(case: Regularised) -> NDArray[np.float64]:
    """Table position (mm, along the scanner's z) of each slice from the first."""
    count, step = SHAPE[2], SPACING[2]
    if "variable-spacing" not in case.faults:
        return np.arange(count) * step
    first = math.ceil(count / 2)
    steps = [step] * (first - 1) + [LONG_STEP * step] * (count - first)
    return np.concatenate([[0.0], np.cumsum(steps)])


def _axes(case: Regularised) -> tuple[NDArray[np.float64], ...]:
    """Row, column and normal of an axial HFS grid turned by the tilt about the row (x) axis."""
    theta = math.radians(case.tilt_deg)
    row = np.array([1.0, 0.0, 0.0])
    column = np.array([0.0, math.cos(theta), math.sin(theta)])
    normal = np.array([0.0, -math.sin(theta), math.cos(theta)])
    return row, column, normal


def _acquired_positions(case: Regularised) -> NDArray[np.float64]:
    """Image Position (Patient) of each slice: the grid is centred on the anatomy's centre."""
    row, column, _ = _axes(case)
    table = _table_steps(case)
    first = (np.asarray(ANATOMY_CENTRE_LPS_MM) - (SHAPE[0] - 1) / 2 * SPACING[0] * row
             - (SHAPE[1] - 1) / 2 * SPACING[1] * column - table[-1] / 2 * np.array([0, 0, 1.0]))
    return first + np.outer(table, [0.0, 0.0, 1.0])


def _expected_grid(case: Regularised) -> tuple[NDArray[np.float64], tuple[int, int, int]]:
    """Affine and shape of the regular grid from the phantom's parameters."""
    row, column, normal = _axes(case)
    positions = _acquired_positions(case)
    relative = positions - positions[0]
    rows_shift = relative @ column / SPACING[1]
    low, high = math.floor(rows_shift.min() + 1e-9), math.ceil(rows_shift.max() - 1e-9)
    along = relative @ normal
    gaps = np.diff(along)
    steps = round(along[-1] / gaps.min())
    assert math.isclose(steps * gaps.min(), along[-1]), "the phantoms' gaps divide their range"
    affine = np.eye(4)
    affine[:3, 0] = row * SPACING[0]
    affine[:3, 1] = column * SPACING[1]
    affine[:3, 2] = normal * gaps.min()
    affine[:3, 3] = positions[0] + low * SPACING[1] * column
    return affine, (SHAPE[0], SHAPE[1] + high - low, steps + 1)


def _sphere(case: Regularised) -> tuple[NDArray[np.float64], float]:
    solid = case.manifest["anatomy"]["objects"][0]
    return np.asarray(solid["centre_lps_mm"], dtype=np.float64), float(solid["radius_mm"])


def _cell_diagonal(case: Regularised) -> float:
    _, _, normal = _axes(case)
    largest_gap = float(np.max(np.diff(_acquired_positions(case) @ normal)))
    return math.sqrt(SPACING[0] ** 2 + SPACING[1] ** 2 + largest_gap**2)


def _centres(geometry: ImageGeometry) -> NDArray[np.float64]:
    grid = np.stack(np.meshgrid(*(np.arange(n) for n in geometry.shape), indexing="ij"), -1)
    return geometry.index_to_lps(grid)


# -- the series, read with pydicom ------------------------------------------------------------

def _read_series(folder: Path) -> dict[str, Any]:
    """Stack (k, j, i) in HU, positions, orientation, pixel spacing and padding, by pydicom."""
    datasets = [pydicom.dcmread(path) for path in sorted(folder.iterdir())]
    iop = np.asarray(datasets[0].ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(iop[:3], iop[3:])
    datasets.sort(key=lambda ds: float(np.asarray(ds.ImagePositionPatient, float) @ normal))
    stored = np.stack([ds.pixel_array for ds in datasets])
    slopes = {float(ds.RescaleSlope) for ds in datasets}
    intercepts = {float(ds.RescaleIntercept) for ds in datasets}
    assert slopes == {1.0}
    assert len(intercepts) == 1
    return {
        "stack": (stored.astype(np.int32) + int(intercepts.pop())).astype(np.int16),
        "positions": np.array([ds.ImagePositionPatient for ds in datasets], dtype=np.float64),
        "iop": iop,
        "pixel_spacing": [float(v) for v in datasets[0].PixelSpacing],
        "padding": stored == int(datasets[0].PixelPaddingValue),
    }


@given(parsers.parse('a noise-free sphere phantom written with the faults "{faults}" and a '
                     'gantry tilt of {tilt:g} degrees'), target_fixture="case")
def phantom_series(tmp_path: Path, faults: str, tilt: float) -> Regularised:
    """Write the phantom (the fault keeps a tilt it is given) and read its slices back."""
    names = tuple(name.strip() for name in faults.split(","))
    phantom = make_phantom("sphere", shape=SHAPE, spacing=SPACING, noise_hu=0.0, seed=5,
                           gantry_tilt_deg=tilt)
    written = write_series(phantom, tmp_path / "phantom", faults=names)
    case = Regularised(folder=written.out_dir / "dicom", tilt_deg=tilt, faults=names,
                       manifest=dict(written.manifest))
    for key, value in _read_series(case.folder).items():
        setattr(case, key, value)
    return case


def _run(case: Regularised) -> None:
    try:
        case.result = regularize(case.stack, case.positions, case.iop, case.pixel_spacing,
                                 case.padding, frame_of_reference_uid="1.2.3")
    except RegularizationInputError as error:
        case.error = error


@when("the folder is ingested with --regularize")
def ingested_regularized(case: Regularised) -> None:
    """The whole ingest path (series selection, checks, loading, resampling), in process."""
    assert case.folder is not None
    volume = ingest(case.folder, regularize=True).volume
    padding = volume.padding_mask()
    first = pydicom.dcmread(sorted(case.folder.iterdir())[0], stop_before_pixels=True)
    case.frame_of_reference_uid = str(first.FrameOfReferenceUID)
    case.volume = volume
    case.result = (volume.hu, volume.geometry,
                   np.zeros(volume.hu.shape, bool) if padding is None else padding,
                   volume.regularization)


@when("the folder is ingested without --regularize")
def ingested_plain(case: Regularised) -> None:
    """Ingest as by default."""
    assert case.folder is not None
    try:
        ingest(case.folder)
    except UnsafeSeriesError as refusal:
        case.refusal = refusal


@when(parsers.parse("corridor ingest --regularize --json is run on the folder"))
def ingest_command(case: Regularised) -> None:
    """The command, in process."""
    case.run = run_corridor(["ingest", str(case.folder), "--regularize", "--json"])


@then(parsers.parse('ingest refuses it with the check "{check}" and says "{text}"'))
def plain_refusal(case: Regularised, check: str, text: str) -> None:
    """Refused by default, pointing at the option."""
    assert isinstance(case.refusal, UnsafeSeriesError), case.refusal or "loaded"
    assert case.refusal.check == check, case.refusal
    assert text in str(case.refusal), case.refusal


@then(parsers.parse('the volume carries the warning "{code}" naming the largest correction'))
def regularized_warning(case: Regularised, code: str) -> None:
    """The review warning, with the correction computed here from the phantom's parameters."""
    _, _, normal = _axes(case)
    positions = _acquired_positions(case)
    along = (positions - positions[0]) @ normal
    mean_gap = along[-1] / (len(along) - 1)
    naive = positions[0] + np.outer(np.arange(len(along)) * mean_gap, normal)
    largest = float(np.max(np.linalg.norm(positions - naive, axis=1)))
    messages = [w.message for w in case.volume.warnings if w.code.value == code]
    assert len(messages) == 1, case.volume.warnings
    assert f"largest correction {largest:.2f} mm" in messages[0], (largest, messages[0])


@then("the command's JSON records the regularisation with the volume")
def json_records(case: Regularised) -> None:
    """``corridor ingest --json`` carries the record (reasons, method, largest correction)."""
    assert case.run.status == 0, case.run.stderr
    volume = json.loads(case.run.stdout)["volume"]
    record = volume["regularization"]
    assert record["reasons"] == [r.value for r in case.volume.regularization.reasons]
    assert record["method"].startswith("linear")
    assert "regularized" in [w["code"] for w in volume["warnings"]]


@when("its slices, read with pydicom, are regularised")
@when("they are regularised")
def regularised(case: Regularised) -> None:
    """Call the code under test."""
    _run(case)


@then("the grid's axes are the phantom's row, column and slice normal, orthonormal and "
      "right-handed")
def axes(case: Regularised) -> None:
    """Directions from the tilt (a turn about the row axis), to 1e-6."""
    direction = case.geometry.direction
    for axis, expected in zip(direction.T, _axes(case), strict=True):
        assert np.allclose(axis, expected, atol=1e-6)
    assert case.geometry.orthonormality_error < 1e-6
    assert case.geometry.is_right_handed


@then("its spacing is the pixel spacing and the smallest slice gap, and its corner voxels lie "
      "where the phantom's parameters put them, within 0.001 mm")
def corners(case: Regularised) -> None:
    """Shape, spacing and the 8 corner voxel centres (the affine is linear)."""
    affine, shape = _expected_grid(case)
    assert case.geometry.shape == shape
    assert np.allclose(case.geometry.spacing, np.linalg.norm(affine[:3, :3], axis=0), atol=1e-6)
    expected = ImageGeometry(affine, shape)
    assert case.geometry.max_distance_mm(expected) <= WORLD_TOLERANCE_MM
    assert case.geometry.frame_of_reference_uid == case.frame_of_reference_uid


@then("every voxel farther than the interpolation cell's diagonal from the sphere's surface "
      "holds the phantom's HU within 0.01 HU, and the others lie between 0 and 1000 HU")
def analytic_intensities(case: Regularised) -> None:
    """Exact away from the surface; a blend of the two sides near it."""
    centre, radius = _sphere(case)
    distance = np.linalg.norm(_centres(case.geometry) - centre, axis=-1) - radius
    band = _cell_diagonal(case)
    kept = ~case.mask
    inside, outside = kept & (distance < -band), kept & (distance > band)
    assert inside.sum() > 1000, "too few voxels to compare"
    assert outside.sum() > 1000, "too few voxels to compare"
    assert np.max(np.abs(case.hu[inside] - 1000.0)) <= HU_TOLERANCE
    assert np.max(np.abs(case.hu[outside])) <= HU_TOLERANCE
    near = kept & (np.abs(distance) <= band)
    assert np.all((case.hu[near] >= -HU_TOLERANCE) & (case.hu[near] <= 1000 + HU_TOLERANCE))


@then("the padding mask holds the voxels outside the field of view or the acquired slices, "
      "each at -1024 HU")
def padding(case: Regularised) -> None:
    """Against the field of view disc of the two acquired slices around each voxel."""
    row, column, normal = _axes(case)
    positions = _acquired_positions(case)
    along = positions @ normal
    centres = _centres(case.geometry)
    depth = centres @ normal
    lower = np.clip(np.searchsorted(along, depth + 1e-9, side="right") - 1, 0, len(along) - 2)
    slice_centre = positions + ((SHAPE[0] - 1) / 2 * SPACING[0] * row
                                + (SHAPE[1] - 1) / 2 * SPACING[1] * column)
    radius = 0.5 * min(SHAPE[0] * SPACING[0], SHAPE[1] * SPACING[1])
    half = min(radius, (SHAPE[1] - 1) / 2 * SPACING[1], (SHAPE[0] - 1) / 2 * SPACING[0])
    diagonal = math.hypot(SPACING[0], SPACING[1])
    reach = []
    for side in (lower, lower + 1):
        offset = centres - slice_centre[side]
        in_plane = offset - (offset @ normal)[..., None] * normal
        reach.append(np.linalg.norm(in_plane, axis=-1))
    surely_in = (reach[0] <= half - diagonal) & (reach[1] <= half - diagonal)
    surely_out = (reach[0] >= radius + diagonal) & (reach[1] >= radius + diagonal)
    assert surely_in.sum() > 1000, "too few voxels to compare"
    assert surely_out.sum() > 100, "too few voxels to compare"
    assert not np.any(case.mask[surely_in])
    assert np.all(case.mask[surely_out])
    assert np.all(case.hu[case.mask] == FILL_HU)


@then(parsers.parse('the record names the reasons "{reasons}", the tilt, the slice positions and '
                    'the largest displacement the phantom\'s parameters give, within 0.001 mm'))
def record(case: Regularised, reasons: str) -> None:
    """Largest displacement: the naive stack is the first slice plus k mean gaps along the
    normal."""
    assert case.result is not None, case.error
    done = case.result[3]
    assert [r.value for r in done.reasons] == [r.strip() for r in reasons.split(",")]
    assert done.tilt_deg == pytest.approx(abs(case.tilt_deg), abs=1e-6)
    _, _, normal = _axes(case)
    table = _table_steps(case)
    along = table * math.cos(math.radians(case.tilt_deg))
    assert np.allclose(np.subtract(done.source_slice_positions_mm,
                                   done.source_slice_positions_mm[0]), along,
                       atol=WORLD_TOLERANCE_MM)
    mean_gap = along[-1] / (len(table) - 1)
    acquired = np.outer(table, [0.0, 0.0, 1.0])
    naive = np.outer(np.arange(len(table)) * mean_gap, normal)
    expected = float(np.max(np.linalg.norm(acquired - naive, axis=1)))
    if case.faults == ("gantry-tilt",):
        assert expected == pytest.approx((SHAPE[2] - 1) * SPACING[2]
                                         * math.sin(math.radians(abs(case.tilt_deg))))
    assert done.largest_displacement_mm == pytest.approx(expected, abs=WORLD_TOLERANCE_MM)
    assert done.output_shape == case.geometry.shape
    assert np.allclose(done.output_spacing_mm, case.geometry.spacing, atol=1e-9)
    assert done.fill_hu == FILL_HU
    document = done.to_json()
    assert document["reasons"] == [r.value for r in done.reasons]
    assert document["largest_displacement_mm"] == done.largest_displacement_mm


# -- dcm2niix ---------------------------------------------------------------------------------

def _dcm2niix() -> str:
    try:
        import dcm2niix  # the PyPI wheel of the test extra ships the binary

        return str(dcm2niix.bin)
    except ImportError:
        found = shutil.which("dcm2niix")
        if found is None:
            pytest.fail("dcm2niix not found: install the test extra (pip install -e '.[test]')")
        return found


@when("dcm2niix converts the same series")
def convert(case: Regularised, tmp_path: Path) -> None:
    """``-g i``: ignore any defaults file; no compression, no sidecar, named by series number."""
    assert case.folder is not None
    out = tmp_path / "dcm2niix"
    out.mkdir()
    subprocess.run([_dcm2niix(), "-g", "i", "-z", "n", "-b", "n", "-f", "%s", "-o", str(out),
                    str(case.folder)], check=True, capture_output=True, timeout=120)
    case.reference = out


def _reference(case: Regularised, suffix: str) -> tuple[ImageGeometry, NDArray[np.float64]]:
    (path,) = sorted(case.reference.glob(f"*_{suffix}*.nii"))
    image = nib.load(path)
    return (ImageGeometry.from_ras_affine(image.affine, image.shape),
            np.asarray(image.dataobj, dtype=np.float64))


def _on_reference(case: Regularised, suffix: str) -> tuple[NDArray[np.float64],
                                                           NDArray[np.float64],
                                                           NDArray[np.float64]]:
    """dcm2niix's value at each regular voxel, the distance (mm) to its nearest voxel centre."""
    geometry, data = _reference(case, suffix)
    index = geometry.lps_to_index(_centres(case.geometry))
    nearest = np.round(index)
    off_grid = np.linalg.norm((index - nearest) * np.asarray(geometry.spacing), axis=-1)
    inside = np.all((nearest >= 0) & (nearest < np.asarray(data.shape)), axis=-1)
    assert np.all(inside), "the regular grid reaches beyond dcm2niix's volume"
    at = nearest.astype(int)
    return data[at[..., 0], at[..., 1], at[..., 2]], off_grid, index


@then(parsers.parse('dcm2niix\'s "{suffix}" volume holds the phantom\'s HU away from the sphere\'s '
                    'surface, so it is a valid reference here'))
def reference_is_valid(case: Regularised, suffix: str) -> None:
    """Checked at the regular grid's voxels that are not padding (same centres, next step)."""
    values, _, _ = _on_reference(case, suffix)
    centre, radius = _sphere(case)
    distance = np.linalg.norm(_centres(case.geometry) - centre, axis=-1) - radius
    band = _cell_diagonal(case)
    inside, outside = ~case.mask & (distance < -band), ~case.mask & (distance > band)
    assert inside.sum() > 1000
    assert outside.sum() > 1000
    assert np.all(values[inside] == 1000.0)
    assert np.all(values[outside] == 0.0)


@then("every voxel centre of the regular grid lies on a voxel centre of dcm2niix's volume within "
      "0.001 mm")
def same_grid(case: Regularised) -> None:
    """Both grids: acquired in-plane axes and the slice normal, same steps, same places."""
    suffix = "Tilt" if "gantry-tilt" in case.faults else "Eq"
    _, off_grid, _ = _on_reference(case, suffix)
    assert float(off_grid.max()) <= WORLD_TOLERANCE_MM


@then("at every voxel that is not padding the two agree within 0.51 HU")
def same_intensities(case: Regularised) -> None:
    """Including next to the surface, where both interpolate."""
    suffix = "Tilt" if "gantry-tilt" in case.faults else "Eq"
    values, _, _ = _on_reference(case, suffix)
    kept = ~case.mask
    assert kept.mean() > 0.5
    assert float(np.max(np.abs(case.hu[kept] - values[kept]))) <= DCM2NIIX_HU_TOLERANCE


# -- a synthetic affine field -----------------------------------------------------------------

_FIELD_GRADIENT = np.array([3.0, -2.0, 5.0])
"""HU per mm along x, y and z of the affine field."""


def _oblique_case() -> Regularised:
    """Oblique slices of 24 x 20, shifted along both in-plane axes, gaps of 2 to 3.5 mm."""
    rng = np.random.default_rng(11)
    frame, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    row, column = frame[:, 0], frame[:, 1]
    normal = np.cross(row, column)
    spacing_i, spacing_j, rows, columns = 0.8, 0.7, 20, 24
    gaps = np.array([2.0, 2.0, 3.5, 3.5, 2.3, 3.1])
    along = np.concatenate([[0.0], np.cumsum(gaps)])
    shifts = np.outer(along, 0.23 * row + 0.37 * column)
    positions = np.array([10.0, -20.0, 30.0]) + np.outer(along, normal) + shifts

    def function(points: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(points @ _FIELD_GRADIENT + 7.0)

    j, i = np.mgrid[0:rows, 0:columns]
    stack = np.stack([function(p + i[..., None] * spacing_i * row
                               + j[..., None] * spacing_j * column) for p in positions])
    return Regularised(stack=stack.astype(np.float32), positions=positions,
                       iop=np.concatenate([row, column]), pixel_spacing=[spacing_j, spacing_i],
                       padding=None, function=function)


@given("oblique slices shifted in both in-plane directions and unevenly spaced, holding an affine "
       "function of position", target_fixture="case")
def affine_field() -> Regularised:
    """Bilinear and linear interpolation reproduce an affine function exactly."""
    return _oblique_case()


def _source_indices(case: Regularised) -> tuple[NDArray[np.float64], ...]:
    """For each output voxel: its bracketing slices, and its projection's (i, j) in each."""
    row, column = case.iop[:3], case.iop[3:]
    normal = np.cross(row, column)
    spacing_j, spacing_i = case.pixel_spacing
    along = case.positions @ normal
    centres = _centres(case.geometry)
    depth = centres @ normal
    lower = np.clip(np.searchsorted(along, depth + 1e-9, side="right") - 1, 0, len(along) - 2)
    weight = (depth - along[lower]) / (along[lower + 1] - along[lower])
    result = [weight]
    for side in (lower, lower + 1):
        offset = centres - case.positions[side]
        result += [offset @ row / spacing_i, offset @ column / spacing_j]
    return tuple(result)


@then("every voxel that is not padding holds the function at its centre within 0.01 HU")
def affine_exact(case: Regularised) -> None:
    """Float32 output; the field spans about 1500 HU."""
    kept = ~case.mask
    assert kept.sum() > 1000
    expected = case.function(_centres(case.geometry))
    assert float(np.max(np.abs(case.hu[kept] - expected[kept]))) <= HU_TOLERANCE


@then("exactly the voxels whose centre projects outside a slice it needs are padding")
def outside_is_padding(case: Regularised) -> None:
    """A slice is needed when its weight is above 0 (a plane on a slice needs only that one)."""
    weight, i0, j0, i1, j1 = _source_indices(case)
    rows, columns = case.stack.shape[1:]
    eps = 1e-6

    def outside(i: NDArray[np.float64], j: NDArray[np.float64]) -> NDArray[np.bool_]:
        return (i < -eps) | (i > columns - 1 + eps) | (j < -eps) | (j > rows - 1 + eps)

    boundary = np.zeros(weight.shape, dtype=bool)
    for i, j in ((i0, j0), (i1, j1)):
        for value, size in ((i, columns), (j, rows)):
            boundary |= (np.abs(value) < 1e-4) | (np.abs(value - (size - 1)) < 1e-4)
    expected = (outside(i0, j0) & (weight < 1 - eps)) | (outside(i1, j1) & (weight > eps))
    assert np.array_equal(case.mask[~boundary], expected[~boundary])
    assert expected.any()
    assert (~expected).any()


@then("every acquired voxel centre lies inside the regular grid")
def nothing_cut_off(case: Regularised) -> None:
    """The 4 corner voxel centres of every slice (the footprint is their convex hull)."""
    row, column = case.iop[:3], case.iop[3:]
    spacing_j, spacing_i = case.pixel_spacing
    rows, columns = case.stack.shape[1:]
    corners = np.array([p + a * (columns - 1) * spacing_i * row + b * (rows - 1) * spacing_j
                        * column for p in case.positions for a in (0, 1) for b in (0, 1)])
    index = case.geometry.lps_to_index(corners)
    assert np.all(index >= -1e-6)
    assert np.all(index <= np.asarray(case.geometry.shape) - 1 + 1e-6)


@then("the HU are float32 laid out like an ingested volume's")
def layout(case: Regularised) -> None:
    """``hu.T`` C-contiguous (i fastest), the mask the same shape."""
    assert case.hu.dtype == np.float32
    assert case.hu.T.flags.c_contiguous
    assert case.mask.shape == case.hu.shape
    assert case.mask.dtype == bool


# -- memory -----------------------------------------------------------------------------------

@given("a tilted int16 stack of 96 x 96 x 40 voxels", target_fixture="case")
def large_stack() -> Regularised:
    """Slices stepping 1.25 mm along z, the image plane tilted by 20° about its rows, padding
    outside the inscribed disc."""
    theta = math.radians(20.0)
    column = np.array([0.0, math.cos(theta), math.sin(theta)])
    stack = np.random.default_rng(2).integers(-1000, 2000, size=(40, 96, 96), dtype=np.int16)
    j, i = np.mgrid[0:96, 0:96]
    outside_disc = (i - 47.5) ** 2 + (j - 47.5) ** 2 > 48.0**2
    return Regularised(stack=stack, positions=np.outer(np.arange(40) * 1.25, [0.0, 0.0, 1.0]),
                       iop=np.concatenate([[1.0, 0.0, 0.0], column]), pixel_spacing=[0.8, 0.8],
                       padding=np.broadcast_to(outside_disc, stack.shape).copy())


@when("they are regularised while memory is traced")
def traced(case: Regularised) -> None:
    """tracemalloc sees NumPy's allocations."""
    tracemalloc.start()
    try:
        _run(case)
        _, case.peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()


@then("the memory allocated at the peak is at most 1.5 times the output's HU and padding mask")
def bounded_memory(case: Regularised) -> None:
    """The output is float32 (4 bytes) and a mask (1 byte) a voxel; the rest is a few planes."""
    output = case.hu.nbytes + case.mask.nbytes
    assert case.mask.any()
    assert case.peak_bytes <= 1.5 * output, (case.peak_bytes, output)


# -- refusals ---------------------------------------------------------------------------------

def _break(case: Regularised, problem: str) -> None:
    if problem == "only one slice":
        case.stack, case.positions = case.stack[:1], case.positions[:1]
    elif problem == "non-finite HU":
        case.stack = case.stack.copy()
        case.stack[2, 3, 4] = np.nan
    elif problem == "positions of the wrong shape":
        case.positions = case.positions[:, :2]
    elif problem == "two slices at one position":
        case.positions = case.positions.copy()
        case.positions[3] = case.positions[2]
    elif problem == "positions in decreasing order":
        case.positions = case.positions[::-1]
    elif problem == "an orientation that is not unit":
        case.iop = case.iop * 1.1
    elif problem == "a zero pixel spacing":
        case.pixel_spacing = [0.0, 0.8]
    elif problem == "a padding mask of another shape":
        case.padding = np.zeros(case.stack.shape[1:], dtype=bool)
    else:
        raise AssertionError(f"no such problem: {problem}")


@given(parsers.parse("slices with {problem}"), target_fixture="case")
def broken(problem: str) -> Regularised:
    """The affine-field slices with one thing wrong."""
    case = _oblique_case()
    _break(case, problem)
    return case


@then(parsers.parse('it is refused with a RegularizationInputError naming "{argument}"'))
def refused(case: Regularised, argument: str) -> None:
    """The error carries the argument, the value found and what was expected."""
    assert case.result is None
    assert isinstance(case.error, RegularizationInputError)
    assert isinstance(case.error, ValueError)
    assert case.error.field == argument
    assert case.error.expected
    assert argument in str(case.error)
