"""Value objects the inference stage returns: the result, its statistics and review flags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from corridor.images import LabelMap, ScalarMap
from corridor.inference.manifest import ModelManifest

__all__ = ["FlagCode", "InferenceFlag", "InferenceResult", "LabelStatistics", "ModelIdentity"]


@dataclass(frozen=True, slots=True)
class LabelStatistics:
    """How much of one label was found, and how sure the model was of it."""

    index: int
    name: str
    risk_structure: bool
    voxels: int
    volume_ml: float
    mean_probability: float
    """Mean probability of this label over the voxels labelled with it (NaN if none)."""
    low_confidence_fraction: float
    """Fraction of this label's voxels where its probability is below 0.5 (NaN if none)."""
    mean_entropy: float
    """Mean predictive entropy (nats) over this label's voxels (NaN if none)."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (NaN written as ``null``)."""
        def number(value: float) -> float | None:
            return None if np.isnan(value) else round(float(value), 6)
        return {"index": self.index, "name": self.name, "risk_structure": self.risk_structure,
                "voxels": self.voxels, "volume_ml": round(self.volume_ml, 6),
                "mean_probability": number(self.mean_probability),
                "low_confidence_fraction": number(self.low_confidence_fraction),
                "mean_entropy": number(self.mean_entropy)}


class FlagCode(StrEnum):
    """Why a result is flagged for review."""

    LABEL_BELOW_MIN_VOLUME = "label-below-min-volume"
    """A label the manifest expects is (nearly) absent, e.g. a vessel in a scan without
    contrast: the model is probably used outside its intended use."""


@dataclass(frozen=True, slots=True)
class InferenceFlag:
    """Something about this result a reviewer must see before the label map is used."""

    code: FlagCode
    message: str

    def to_json(self) -> dict[str, str]:
        """``{"code": ..., "message": ...}``."""
        return {"code": self.code.value, "message": self.message}


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    """Which model ran: the manifest's name and version and the ONNX file's SHA-256."""

    name: str
    version: str
    sha256: str

    def to_json(self) -> dict[str, str]:
        """``{"name": ..., "version": ..., "sha256": ...}`` (records and the audit trail)."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True, slots=True, eq=False)
class InferenceResult:
    """Everything one inference run produced, on the CT's grid, and how it was produced.

    The stage's result: :func:`~corridor.inference.outputs.write_outputs` writes its folder
    from it and nothing else.

    Attributes
    ----------
    label_map, entropy, tta_variance
        The label map and uncertainty maps, on the CT's own geometry.
    alternatives
        The segmentation's plausible alternatives by name (e.g. ``p>=0.3``: each structure
        where its probability reaches 0.3; for an ensemble also ``member-1``, ...: each
        member's own most probable class), label maps on the CT's geometry with the label
        map's names; planning judges its trajectory on each again.
    mutual_information
        For a deep ensemble, the mutual information between the label and the member (nats,
        the epistemic uncertainty) on the CT's geometry; ``None`` for a single model.
    statistics, flags
        Per-label statistics and the review flags.
    manifest
        The model package's manifest (label codes for the DICOM SEG).
    model
        Which model ran.
    record
        The run record (``run.json`` without its ``outputs``): software, model, input,
        execution provider, parameters, spatial operations, statistics, flags, timings.
    """

    label_map: LabelMap
    entropy: ScalarMap
    tta_variance: ScalarMap | None
    statistics: tuple[LabelStatistics, ...]
    flags: tuple[InferenceFlag, ...]
    manifest: ModelManifest
    model: ModelIdentity
    record: Mapping[str, Any] = field(default_factory=dict)
    alternatives: Mapping[str, LabelMap] = field(default_factory=dict)
    mutual_information: ScalarMap | None = None

    @property
    def execution(self) -> dict[str, Any]:
        """The execution provider requested, used and available, with its options."""
        return dict(self.record.get("execution", {}))
