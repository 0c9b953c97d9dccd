"""Property: a phantom written with any valid geometry reads back in its true place.

Random spacing (anisotropic, non-square pixels), orientation (oblique at a random
angle), patient position and file order; the phantom's own ground truth (written
beside the series) is the oracle.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.geometry import ImageGeometry
from corridor.ingest import Volume, ingest
from corridor_phantoms import make_phantom, write_series

spacing = st.floats(min_value=0.3, max_value=3.0, allow_nan=False).map(lambda v: round(v, 4))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["sphere", "ellipsoid", "cylinder"]),
    spacing_ijk=st.tuples(spacing, spacing, spacing),
    orientation=st.sampled_from(["axial", "coronal", "sagittal", "oblique"]),
    oblique_angle=st.floats(min_value=-60, max_value=60, allow_nan=False),
    position=st.sampled_from(["HFS", "FFS", "HFP", "FFP"]),
    shuffled=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_random_geometry_reads_back_within_a_micron_with_identical_voxels(
    kind: str, spacing_ijk: tuple[float, float, float], orientation: str, oblique_angle: float,
    position: str, shuffled: bool, seed: int,
) -> None:
    phantom = make_phantom(kind, shape=(20, 18, 9), spacing=spacing_ijk, orientation=orientation,
                           patient_position=position, seed=seed,
                           oblique_angle_deg=oblique_angle)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "phantom"
        write_series(phantom, out, faults=["shuffled-order"] if shuffled else [])
        truth = json.loads((out / "truth" / "geometry.json").read_text())
        truth_hu = np.load(out / "truth" / "hu.npy")
        volume = ingest(out / "dicom").volume
    affine = np.asarray(truth["affine"], dtype=float)
    shape = volume.geometry.shape
    assert shape == tuple(truth_hu.shape)
    corners = np.array([[i, j, k, 1.0] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1)
                        for k in (0, shape[2] - 1)])
    error = np.linalg.norm((corners @ volume.geometry.affine.T - corners @ affine.T)[:, :3],
                           axis=1)
    assert float(error.max()) <= 1e-3
    padding = volume.padding_mask()
    keep = np.ones(shape, bool) if padding is None else ~padding
    assert np.array_equal(volume.hu[keep], truth_hu[keep])


@given(shape=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 6)),
       seed=st.integers(0, 2**16))
def test_padding_slice_is_the_slice_of_the_whole_mask(shape: tuple[int, int, int],
                                                      seed: int) -> None:
    """Unpacking one slice's bits gives that slice of the fully unpacked mask, whether or
    not a slice ends on a byte boundary."""
    mask = np.random.default_rng(seed).random(shape) < 0.3
    hu = np.asfortranarray(np.zeros(shape, np.int16))
    geometry = ImageGeometry.from_components(shape=shape, spacing=(1.0, 1.0, 1.0),
                                             direction=np.eye(3), origin=(0.0, 0.0, 0.0))
    volume = Volume(hu, geometry, "1.2.3", (), padding_packed=Volume.pack_padding(mask))
    for k in range(shape[2]):
        assert np.array_equal(volume.padding_slice(k), mask[:, :, k].T)
