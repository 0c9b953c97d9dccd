"""Segmentation inference: hash-pinned ONNX model packages run on GPU or CPU, with uncertainty."""

from pathlib import Path

from corridor.inference.api import InferenceOptions, infer
from corridor.inference.errors import InferenceError, ModelPackageError, ProviderUnavailableError
from corridor.inference.manifest import (
    EnsembleMember,
    GridOrientation,
    LabelEntry,
    ModelManifest,
    OutputKind,
)
from corridor.inference.model import (
    FlagCode,
    InferenceFlag,
    InferenceResult,
    LabelStatistics,
    ModelIdentity,
)
from corridor.inference.outputs import ImageFormat, InferenceOutput, write_outputs
from corridor.inference.package import ModelPackage, PackageMember, load_model_package
from corridor.inference.session import Device, open_session, open_sessions
from corridor.inference.window import Weighting

REFERENCE_MODEL = Path(__file__).parent / "models" / "reference-bone-vessel"
"""The shipped reference model package (bone and vessels on Corridor's phantoms; not for
clinical use)."""

__all__ = [
    "REFERENCE_MODEL",
    "Device",
    "EnsembleMember",
    "FlagCode",
    "GridOrientation",
    "ImageFormat",
    "InferenceError",
    "InferenceFlag",
    "InferenceOptions",
    "InferenceOutput",
    "InferenceResult",
    "LabelEntry",
    "LabelStatistics",
    "ModelIdentity",
    "ModelManifest",
    "ModelPackage",
    "ModelPackageError",
    "OutputKind",
    "PackageMember",
    "ProviderUnavailableError",
    "Weighting",
    "infer",
    "load_model_package",
    "open_session",
    "open_sessions",
    "write_outputs",
]
