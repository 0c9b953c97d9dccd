"""The manifest of a model package: what the ONNX graph expects and what its labels mean.

A model package is a folder holding ``manifest.json`` and the ONNX file it names.
The manifest is strict: unknown fields are refused, every number has its unit,
and the label map names each label's coded meaning (for DICOM SEG and the model
card) and whether it is a risk structure of planning.

Model grid conventions
----------------------
Inference resamples the CT onto a *model grid* of ``input_spacing_mm`` and feeds
patches of it to the graph as tensors ``(batch, channel, k, j, i)`` of the model
grid, i.e. the slowest axis first, as a NumPy array of a NIfTI or SimpleITK image is
ordered.  With ``grid: "lps"`` the model grid's ``i, j, k`` run along the patient's
L, P and S axes (every input is first turned to one orientation); with ``grid:
"native"`` they keep the directions of the CT's own ``i, j, k`` (only the spacing
changes), as nnU-Net and MONAI exports expect.

Deep ensembles
--------------
A package may hold several ONNX members (Lakshminarayanan et al. 2017, deep ensembles): the
first is ``onnx_file`` with its ``sha256``, the others are listed in ``ensemble``, each with
its own SHA-256.  Every member honours the same manifest (opset, patch, labels, output kind,
preprocessing and temperature); inference runs each on every window and averages their
calibrated probabilities (:mod:`corridor.inference.api`).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "MANIFEST_FORMAT",
    "MAX_ENSEMBLE_MEMBERS",
    "CodedConcept",
    "EnsembleMember",
    "GridOrientation",
    "IntensityPreprocessing",
    "LabelEntry",
    "ModelManifest",
    "OutputKind",
]

MANIFEST_FORMAT = "corridor-model-manifest/1"
"""Value of the manifest's ``format`` field; changes when the layout does."""

MAX_ENSEMBLE_MEMBERS = 8
"""Most members a package may hold (the first and up to 7 in ``ensemble``): inference runs
each on every window, so the time and the window buffers grow with their number."""


class OutputKind(StrEnum):
    """What the graph's output holds along its channel axis."""

    LOGITS = "logits"
    """Unnormalised scores: windows are blended as logits, then softmax is applied."""
    PROBABILITIES = "probabilities"
    """Class probabilities summing to 1: windows are blended as probabilities."""


class GridOrientation(StrEnum):
    """How the model grid is oriented in the patient (see the module notes)."""

    LPS = "lps"
    """Axes along patient L, P, S: every CT is resampled into one orientation."""
    NATIVE = "native"
    """Axes along the CT's own i, j, k: only the spacing is changed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodedConcept(_Strict):
    """A coded meaning (DICOM Code Sequence item): scheme, value and meaning.

    ``scheme`` is the DICOM coding scheme designator, e.g. ``SCT`` for SNOMED CT.
    """

    scheme: str = Field(min_length=1, max_length=16)
    value: str = Field(min_length=1, max_length=64)
    meaning: str = Field(min_length=1, max_length=64)


class EnsembleMember(_Strict):
    """One member of a deep ensemble: an ONNX file of the package and its SHA-256."""

    onnx_file: str = Field(pattern=r"^[A-Za-z0-9._-]+\.onnx$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """SHA-256 of the ONNX file; loading refuses any other bytes."""


class LabelEntry(_Strict):
    """One output channel of the model."""

    index: int = Field(ge=0, description="Channel index in the output and value in the label map.")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    category: CodedConcept | None = None
    """Segmented Property Category (e.g. SCT 91723000 Anatomical structure)."""
    type: CodedConcept | None = None
    """Segmented Property Type (e.g. SCT 272673000 Bone structure)."""
    risk_structure: bool = False
    """True for structures a trajectory must keep its distance from (vessels, nerves)."""
    min_volume_ml: float | None = Field(default=None, ge=0)
    """Smallest plausible volume in a scan the model is intended for; less is flagged
    (e.g. a contrast-filled vessel missing from a scan without contrast)."""


class IntensityPreprocessing(_Strict):
    """HU to network input: clip to ``clip_hu``, then ``(hu - subtract) / divide``."""

    clip_hu: tuple[float, float]
    subtract: float
    divide: float = Field(gt=0)
    expected_hu_range: tuple[float, float] = (-1100.0, 3100.0)
    """HU range of a CT the model is intended for; voxels outside it (beyond
    ``max_fraction_outside``) mean the input is not such a CT and inference refuses."""
    max_fraction_outside: float = Field(default=0.01, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> IntensityPreprocessing:
        if not self.clip_hu[0] < self.clip_hu[1]:
            raise ValueError(f"clip_hu: found {list(self.clip_hu)}, expected low < high")
        if not self.expected_hu_range[0] < self.expected_hu_range[1]:
            raise ValueError(f"expected_hu_range: found {list(self.expected_hu_range)}, "
                             "expected low < high")
        return self


class ModelManifest(_Strict):
    """Everything Corridor needs to run, check and describe one ONNX segmentation model."""

    format: Literal["corridor-model-manifest/1"]
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str = Field(min_length=1, max_length=32)
    onnx_file: str = Field(default="model.onnx", pattern=r"^[A-Za-z0-9._-]+\.onnx$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """SHA-256 of the ONNX file; loading refuses any other bytes."""
    opset: int = Field(ge=7)
    """ONNX default-domain opset the graph imports."""
    input_spacing_mm: tuple[float, float, float]
    """Model grid spacing along its i, j, k (mm)."""
    grid: GridOrientation = GridOrientation.LPS
    intensity: IntensityPreprocessing
    patch_size: tuple[int, int, int]
    """Patch voxels along the model grid's i, j, k."""
    input_channels: int = Field(default=1, ge=1, le=1)
    output_kind: OutputKind
    labels: tuple[LabelEntry, ...] = Field(min_length=2)
    intended_use: str = Field(min_length=1)
    training_data: str = Field(min_length=1)
    """Summary of the training data, for the model card."""
    reproduction: str | None = None
    """The command, seed and data recipe that reproduce the ONNX file, if known."""
    temperature: float = Field(default=1.0, gt=0.05, le=20.0)
    """Temperature of calibration (Guo et al. 2017, temperature scaling): on the CT grid, each
    class probability is raised to ``1 / temperature`` and renormalised (the log-probabilities
    divided by it).  1.0 leaves the model's probabilities as they are; fitted on held-out
    data, it changes their confidence (entropy, the plausible alternatives) but never which
    class is most probable, so never the label map."""
    calibration: str | None = None
    """How ``temperature`` was fitted and what it did (data, binning, ECE before and after),
    for the model card."""
    ensemble: tuple[EnsembleMember, ...] = Field(default=(),
                                                 max_length=MAX_ENSEMBLE_MEMBERS - 1)
    """The further members of a deep ensemble, after the first (``onnx_file``): empty for a
    single model.  Every file and every SHA-256 must differ from the others' (a member listed
    twice would make the members look in agreement where they are one)."""

    @field_validator("ensemble")
    @classmethod
    def _distinct_members(cls, ensemble: tuple[EnsembleMember, ...],
                          info: ValidationInfo) -> tuple[EnsembleMember, ...]:
        first = (info.data.get("onnx_file"), info.data.get("sha256"))
        members = [first, *((m.onnx_file, m.sha256) for m in ensemble)]
        for n, (onnx_file, sha256) in enumerate(members[1:], start=2):
            for m, (earlier_file, earlier_sha256) in enumerate(members[:n - 1], start=1):
                if onnx_file == earlier_file:
                    raise ValueError(f"member-{n} onnx_file {onnx_file!r} is member-{m}'s, "
                                     "expected a file of its own")
                if sha256 == earlier_sha256:
                    raise ValueError(f"member-{n} sha256 {sha256} is member-{m}'s, expected "
                                     "members that differ (a member listed twice measures no "
                                     "disagreement)")
        return ensemble

    @model_validator(mode="after")
    def _consistent(self) -> ModelManifest:
        if any(s <= 0 for s in self.input_spacing_mm):
            raise ValueError(f"input_spacing_mm: found {list(self.input_spacing_mm)}, "
                             "expected three spacings > 0 mm")
        if any(n < 1 for n in self.patch_size):
            raise ValueError(f"patch_size: found {list(self.patch_size)}, "
                             "expected three sizes >= 1 voxel")
        indices = [label.index for label in self.labels]
        if indices != list(range(len(self.labels))):
            raise ValueError(f"labels: indices {indices}, expected 0, 1, ... in order")
        names = [label.name for label in self.labels]
        if len(set(names)) != len(names):
            raise ValueError(f"labels: names {names}, expected unique names")
        if self.labels[0].risk_structure:
            raise ValueError("labels: index 0 is the background, expected risk_structure false")
        for label in self.labels[1:]:
            if label.category is None or label.type is None:
                raise ValueError(f"labels: {label.name!r} lacks category or type, expected "
                                 "coded concepts for every label but the background")
        return self

    @property
    def label_names(self) -> tuple[str, ...]:
        """Label names by index."""
        return tuple(label.name for label in self.labels)

    @property
    def members(self) -> tuple[EnsembleMember, ...]:
        """Every member, the first (``onnx_file``, ``sha256``) first; named ``member-1``,
        ``member-2``, ... in this order."""
        return (EnsembleMember(onnx_file=self.onnx_file, sha256=self.sha256), *self.ensemble)

    @property
    def identity_sha256(self) -> str:
        """The model's SHA-256 in its identity (run records, DICOM SEG, audit, model card).

        The ONNX file's SHA-256 for a single model; for an ensemble, the SHA-256 of the
        members' SHA-256s in order, each followed by a line feed, so that any change of any
        member, or of their order, changes it.
        """
        if not self.ensemble:
            return self.sha256
        text = "".join(f"{member.sha256}\n" for member in self.members)
        return hashlib.sha256(text.encode("ascii")).hexdigest()
