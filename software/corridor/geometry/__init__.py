"""Patient geometry: where each voxel of an image lies in the patient (LPS, mm)."""

from corridor.geometry.model import (
    AFFINE_TOLERANCE_MM,
    DIRECTION_TOLERANCE,
    GeometryError,
    ImageGeometry,
)

__all__ = ["AFFINE_TOLERANCE_MM", "DIRECTION_TOLERANCE", "GeometryError", "ImageGeometry"]
