"""Step definitions of ``verification/features/meshing/quality.feature``.

Verifies that every surface passes QA or nothing is written: thin plates, labels touching
the image border, mirroring affines, and surfaces with a hole or a flipped triangle.

Oracles: the closed-form volume of the phantom's shape, and edges counted here from the
triangles (each edge used twice, once in each direction), independently of the QA module.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.geometry import ImageGeometry
from corridor.images import LabelMap
from corridor.meshing import Extractor, extract_surface, mesh_quality
from corridor_phantoms import make_phantom
from verification.meshing.helpers import Case, analytic_map, analytic_volume_area, save_label_map

scenarios("meshing/quality.feature")


@given("a label map holding a plate 3 voxels thick, saved as NIfTI")
def thin_plate(case: Case) -> None:
    """A 30 x 30 x 3 voxel plate in a 40 x 40 x 11 grid, 1 mm voxels."""
    labels = np.zeros((40, 40, 11), np.uint8)
    labels[5:35, 5:35, 4:7] = 1
    geometry = ImageGeometry.from_components(shape=labels.shape, spacing=(1.0, 1.0, 1.0),
                                             direction=np.eye(3), origin=(0.0, 0.0, 0.0))
    case.label_map = LabelMap(labels, geometry, ("background", "plate"))
    save_label_map(case, ".nii.gz")


@given("a label map whose label fills one whole face of the image")
def border_label(case: Case) -> None:
    """A box touching the i = 0 face of the image."""
    labels = np.zeros((20, 24, 16), np.uint8)
    labels[:10, :, 3:12] = 1
    geometry = ImageGeometry.from_components(shape=labels.shape, spacing=(1.0, 1.5, 2.0),
                                             direction=np.eye(3), origin=(5.0, -3.0, 40.0))
    case.label_map = LabelMap(labels, geometry, ("background", "box"))


@given(parsers.parse('an analytic "{shape_name}" label map whose geometry mirrors the i axis'))
def mirrored(case: Case, shape_name: str) -> None:
    """The phantom's labels with i reversed and the affine's i column negated to match."""
    phantom = make_phantom(shape_name, shape=(64, 64, 64), spacing=(1.0, 1.0, 1.0))
    labels = (np.asarray(phantom.labels) == 1).astype(np.uint8)[::-1].copy()
    affine = np.array(phantom.geometry.affine)
    affine[:3, 3] = phantom.geometry.index_to_lps([63, 0, 0])
    affine[:3, 0] = -affine[:3, 0]
    geometry = ImageGeometry(affine, labels.shape)
    assert np.linalg.det(geometry.affine[:3, :3]) < 0
    case.label_map = LabelMap(labels, geometry, ("background", shape_name))
    case.shape_info = dict(phantom.manifest["anatomy"]["objects"][0])


@given("the meshed surface of an analytic sphere")
def sphere_surface(case: Case) -> None:
    """A closed sphere surface made with the default options."""
    analytic_map(case, "sphere", "48 48 48", "1.0 1.0 1.0", "axial")
    assert case.label_map is not None
    case.points, case.triangles = extract_surface(case.label_map.labels == 1,
                                                  case.label_map.geometry)


@given("one of its triangles is removed")
def remove_triangle(case: Case) -> None:
    """Cut a hole."""
    assert case.triangles is not None
    case.triangles = np.delete(case.triangles, 0, axis=0)


@given("one of its triangles is wound the other way")
def flip_triangle(case: Case) -> None:
    """Reverse one triangle's vertex order."""
    assert case.triangles is not None
    triangles = case.triangles.copy()
    triangles[0] = triangles[0][::-1]
    case.triangles = triangles


@when(parsers.parse('it is meshed with the extractor "{extractor}" and no smoothing'))
def mesh_extractor(case: Case, extractor: str) -> None:
    """The extractor alone (no QA gate), so that its raw output can be inspected."""
    assert case.label_map is not None
    case.points, case.triangles = extract_surface(case.label_map.labels == 1,
                                                  case.label_map.geometry,
                                                  extractor=Extractor(extractor), smoothing=0.0)


@when("its quality is checked")
def check_quality(case: Case) -> None:
    """mesh_quality on the (altered) surface."""
    assert case.label_map is not None
    assert case.points is not None
    assert case.triangles is not None
    case.quality = mesh_quality(case.points, case.triangles, case.label_map.labels == 1,
                                case.label_map.geometry)


@then("the enclosed volume is positive and within 1 % of the analytic volume")
def volume_positive_within(case: Case) -> None:
    """Normals out despite the mirroring affine."""
    volume, _ = analytic_volume_area(case.shape_info)
    assert case.quality.volume_mm3 > 0
    assert abs(case.quality.volume_mm3 / volume - 1) <= 0.01


@then(parsers.parse("QA reports {count:d} {kind} edges and fails"))
def qa_reports(case: Case, count: int, kind: str) -> None:
    """The named count, and a failed verdict naming it."""
    assert getattr(case.quality, f"{kind}_edges") == count
    assert not case.quality.passed
    assert any(kind in failure for failure in case.quality.failures())


def _edges(points: NDArray[np.float64], triangles: NDArray[np.int64]) -> tuple[int, int, int]:
    directed = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    _pairs, counts = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
    unique_directed = len(np.unique(directed, axis=0))
    return (int(np.count_nonzero(counts == 1)), int(np.count_nonzero(counts > 2)),
            len(directed) - unique_directed)


@then("the surface has boundary edges")
def has_boundary(case: Case) -> None:
    """Edges used once (counted here, independently of the QA module)."""
    assert case.points is not None
    assert case.triangles is not None
    assert _edges(case.points, case.triangles)[0] > 0


@then("the surface is closed, manifold and consistently wound")
def closed_surface(case: Case) -> None:
    """Every edge used twice, once in each direction (counted here)."""
    assert case.points is not None
    assert case.triangles is not None
    assert _edges(case.points, case.triangles) == (0, 0, 0)


@then("no output folder exists")
def no_output(case: Case) -> None:
    """Nothing at the output path, and no staging folder left."""
    assert not case.outs[-1].exists()
    assert not [p for p in case.root.iterdir() if p.name.startswith(".meshes")]
