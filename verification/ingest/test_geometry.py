"""Step definitions of ``verification/features/ingest/geometry.feature``.

Verifies exact patient geometry: every voxel lies where the phantom put it, whatever the
patient position, orientation, pixel shape, file order or (Enhanced CT) file layout.

Oracles: the phantom's ground-truth affine and HU saved beside the series, and the slice
normal computed here from the images' row and column cosines (pydicom, not the code under
test).
"""

from __future__ import annotations

import numpy as np
from pytest_bdd import given, scenarios, then

from verification.ingest.helpers import Case, ct_images, write_case

scenarios("ingest/geometry.feature")


@given("it is written as one Enhanced CT file")
def written_enhanced(case: Case) -> None:
    """Write the phantom as one multi-frame Enhanced CT image."""
    write_case(case, [], enhanced=True)


@then("the volume's k axis points along the cross product of its images' row and column cosines")
def k_along_normal(case: Case) -> None:
    """The slice axis is the DICOM normal, from the files (not from the code)."""
    ds = ct_images(case)[0][1]
    iop = np.asarray(ds.ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    k_axis = case.loaded().volume.geometry.direction[:, 2]
    assert float(k_axis @ normal) > 1 - 1e-6
