"""Synthetic CT phantoms with exact ground truth, written as real DICOM series.

The anatomy (a pelvis, a proximal femur, or an analytic sphere, ellipsoid or
cylinder) is defined analytically in patient LPS millimetres and sampled at the
voxel centres of a grid placed as a scanner would place it (spacing,
orientation, patient position, gantry tilt).  :func:`make_phantom` returns the
volume, labels and geometry; :func:`write_series` writes them as a DICOM CT
series (classic or enhanced, four lossless transfer syntaxes, optional planted
faults) beside the ground truth.  These are the test oracles of ``corridor.ingest``
and the demo data of the pipeline; they are not device software.

Example::

    from corridor_phantoms import make_phantom, write_series

    phantom = make_phantom("pelvis", patient_position="FFS", seed=1)
    written = write_series(phantom, "out", faults=["missing-slice", "localizer"])
    # out/dicom/: the series; out/truth/: hu, labels, padding (.npy), geometry, manifest (.json)
"""

from corridor_phantoms.enum import (
    Fault,
    Label,
    Orientation,
    PatientPosition,
    PhantomKind,
    TransferSyntax,
)
from corridor_phantoms.errors import EncoderUnavailableError, OutputExistsError, PhantomError
from corridor_phantoms.faint import FaintVessel
from corridor_phantoms.model import PADDING_HU, Phantom, SeriesWritten
from corridor_phantoms.phantom import make_phantom
from corridor_phantoms.writer import write_series

__all__ = [
    "PADDING_HU",
    "EncoderUnavailableError",
    "FaintVessel",
    "Fault",
    "Label",
    "Orientation",
    "OutputExistsError",
    "PatientPosition",
    "Phantom",
    "PhantomError",
    "PhantomKind",
    "SeriesWritten",
    "TransferSyntax",
    "make_phantom",
    "write_series",
]
