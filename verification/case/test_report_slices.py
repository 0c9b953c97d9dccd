"""Steps of ``case/report_slices.feature``: the report's slices are drawn on the side their
labels name (PR-005: the sagittal slice was drawn mirrored, posterior on the side labelled A).

Oracle: the radiological convention, written here independently of the report's code (axial
and coronal seen from the feet and the front: the patient's left on the image's right; axial:
anterior up; coronal and sagittal: superior up; sagittal seen from the patient's left:
anterior on the image's left), and cubes placed by their LPS position through the volume's own
geometry.  The images are the report's CT slices (:func:`corridor.case.report.ct_slices`,
sampled exactly as the report's figures are), decoded with Pillow; the labels are those the
report prints at each edge.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from pytest_bdd import given, parsers, scenarios, then, when

from corridor.case import report
from corridor.geometry.model import ImageGeometry
from corridor.ingest.model import Volume

scenarios("case/report_slices.feature")

OFFSET_MM = 30.0
"""How far each cube lies off the centre along each of its two directions."""
HALF_MM = 5.0
"""Half the side of each cube."""

L, P, S = np.eye(3)
"""The patient's left, posterior and superior as LPS unit vectors."""


def _rotation(axis: NDArray[np.float64], degrees: float) -> NDArray[np.float64]:
    x, y, z = axis
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    cross = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.asarray(c * np.eye(3) + s * cross + (1 - c) * np.outer(axis, axis))


AXES = {
    "along L, P and S (a head-first supine axial series)": np.column_stack([L, P, S]),
    "along R, P and I (a feet-first supine axial series)": np.column_stack([-L, P, -S]),
    "along P, I and L (a sagittal series)": np.column_stack([P, -S, L]),
    "obliquely, 20 degrees about S then 15 about L":
        _rotation(L, 15.0) @ _rotation(S, 20.0),
}
"""Direction cosines (columns: the i, j, k axes in LPS) of each example."""


@dataclass
class Case:
    """What the steps share."""

    volume: Volume | None = None
    slices: dict[str, NDArray[np.uint8]] = field(default_factory=dict)


@given(parsers.parse("a CT of air whose voxel axes run {axes} in the patient, with a bright "
                     "cube left and anterior of its centre, one left and superior, and one "
                     "anterior and superior"), target_fixture="case")
def volume_with_cubes(axes: str) -> Case:
    """A 100^3 grid of 2 mm voxels at -1000 HU; each voxel whose LPS centre lies within a cube
    is set to 1000 HU.  Each cube lies in the plane through the centre that one slice shows."""
    shape = (100, 100, 100)
    direction = AXES[axes]
    geometry = ImageGeometry.from_components(shape=shape, spacing=(2.0, 2.0, 2.0),
                                             direction=direction, origin=(-40.0, 25.0, 310.0))
    centre = geometry.index_to_lps((np.asarray(shape, dtype=np.float64) - 1) / 2)
    index = np.indices(shape).reshape(3, -1).T.astype(np.float64)
    lps = geometry.index_to_lps(index) - centre
    hu = np.full(shape, -1000.0, dtype=np.float32).reshape(-1)
    anterior = -P
    for first, second in ((L, anterior), (L, S), (anterior, S)):
        where = (first + second) * OFFSET_MM
        inside = np.all(np.abs(lps - where) <= HALF_MM, axis=1)
        hu[inside] = 1000.0
    volume = Volume(np.asfortranarray(hu.reshape(shape)), geometry, "1.2.826.0.1.3680043.10.9",
                    ())
    return Case(volume=volume)


@when("its axial, coronal and sagittal slices are drawn as the case report draws them")
def draw(case: Case) -> None:
    """The report's CT slices, decoded."""
    assert case.volume is not None
    for name, png in report.ct_slices(case.volume).items():
        case.slices[name] = np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def _bright_side(image: NDArray[np.uint8]) -> tuple[str, str]:
    """Where the bright cube's centroid lies: ("left"|"right", "above"|"below") of the centre."""
    rows, columns = np.nonzero(image > 200)
    assert rows.size > 0, "no cube in the slice"
    row, column = rows.mean(), columns.mean()
    middle_row, middle_column = (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    assert abs(column - middle_column) > 5, (row, column)
    assert abs(row - middle_row) > 5, (row, column)
    return ("right" if column > middle_column else "left",
            "above" if row < middle_row else "below")


def _labels(plane: str) -> dict[str, str]:
    """The letter the report prints at each edge of ``plane``."""
    left, right, top, bottom = report._PLANES[plane][2]
    return {"left": left, "right": right, "above": top, "below": bottom}


@then(parsers.parse("the {plane} slice shows its cube {horizontal} of centre and above it, "
                    "where the report labels {first} and {second}"))
def cube_where_labelled(case: Case, plane: str, horizontal: str, first: str,
                        second: str) -> None:
    """The convention's side, and the report's label on that side."""
    side, height = _bright_side(case.slices[plane])
    assert (side, height) == (horizontal, "above"), (plane, side, height)
    labels = _labels(plane)
    assert (labels[side], labels[height]) == (first, second), (plane, labels)
