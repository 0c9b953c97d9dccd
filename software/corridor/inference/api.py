"""Segment a CT volume with a verified model package: the inference stage end to end.

Steps, each recorded in the run record's ``spatial_operations`` and ``parameters``:

1. Check the input is a CT the model is meant for (HU range), else refuse.
2. Resample the HU onto the model grid (trilinear) and apply the manifest's
   intensity preprocessing (clip, subtract, divide).
3. Sliding-window inference (:mod:`corridor.inference.window`), optionally once per
   mirroring of the three axes (``tta``: 8 passes, averaged; their variance is the
   TTA uncertainty).
4. Softmax (for logits), then the probabilities back to the CT grid (trilinear in
   probability space), label = most probable class; then calibration (the manifest's
   ``temperature``, applied to the log-probabilities on the CT grid, which keeps the most
   probable class and so the label map), predictive entropy per voxel, and the
   segmentation's plausible alternatives: each structure where its probability reaches 0.3,
   and where it reaches 0.7 (:data:`ALTERNATIVE_THRESHOLDS`), which planning judges its
   trajectory on again.
5. Per-label statistics, flags for a reviewer (labels below the volume the manifest
   expects) and informational figures (risk structures' mean entropy: boundary voxels of
   a thin vessel keep it high on every scan, so it is no review flag; planning flags the
   uncertainty that could change its verdict instead).

Deep ensembles
--------------
A package of several members (:attr:`~corridor.inference.manifest.ModelManifest.ensemble`)
runs every member, one ONNX Runtime session each, on every window of the same preprocessed
image; each member's scores are blended, turned into probabilities and brought back to the
CT grid as a single model's are, then calibrated by the manifest's temperature.  The
ensemble's probabilities are the mean of the members' calibrated probabilities: the label
map is their most probable class, the entropy map their predictive entropy ``H(mean)``, and
the mutual information ``H(mean) - mean(H(member))`` (the epistemic part: zero where the
members agree, whatever their own uncertainty) is written as a map and summarised per label.
Each member's own label map (its most probable class) joins the plausible alternatives as
``member-1``, ``member-2``, ..., so planning measures its trajectory on each.  A single
model's run is unchanged: no mutual information (recorded as absent) and no member
alternative.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corridor.images import LabelMap, ScalarMap
from corridor.inference.errors import InferenceError, InferenceInputError
from corridor.inference.manifest import ModelManifest, OutputKind
from corridor.inference.model import (
    FlagCode,
    InferenceFlag,
    InferenceResult,
    LabelStatistics,
    ModelIdentity,
)
from corridor.inference.package import ModelPackage
from corridor.inference.resample import BackResampler, model_grid, to_model_grid
from corridor.inference.session import Device, ModelSession, open_sessions
from corridor.inference.window import SIGMA_SCALE, Weighting, stream_windows
from corridor.ingest.model import Volume
from corridor.provenance import software_identity

__all__ = ["ALTERNATIVE_THRESHOLDS", "RISK_ENTROPY_LIMIT", "RISK_LOW_CONFIDENCE_LIMIT",
           "InferenceOptions", "alternative_labels", "apply_temperature", "entropy_nats",
           "infer"]

RECORD_FORMAT = "corridor-inference-record/1"

RISK_ENTROPY_LIMIT = 0.25
"""Mean predictive entropy (nats) over a risk structure's voxels above which the run record
notes it (informational, ``risk-structure-entropy``; no review flag since it fired on every
scan).  For three classes, 0.25 nats is reached e.g. by a 0.93/0.05/0.02 split on every voxel."""

RISK_LOW_CONFIDENCE_LIMIT = 0.2
"""Fraction of a risk structure's voxels with probability below 0.5 above which the run record
notes it (informational, with :data:`RISK_ENTROPY_LIMIT`)."""

ALTERNATIVE_THRESHOLDS = (0.3, 0.7)
"""Probabilities at which each structure's boundary is drawn for the segmentation's plausible
alternatives (the nominal label map is the most probable class): 0.3 a generous boundary,
0.7 a tight one."""

INFORMATIONAL_ENTROPY = "risk-structure-entropy"
"""Code of the run record's informational note on a risk structure's mean entropy."""

MUTUAL_INFORMATION = ("mutual information between the label and the ensemble member (nats): "
                      "H(mean of the members' calibrated probabilities) - mean of the members' "
                      "entropies")
"""What the mutual-information map holds (its quantity, and the run record's definition)."""

_PROBABILITY_TOLERANCE = 1e-3
"""How far a probabilities model's outputs may stray from [0, 1] and a sum of 1."""


@dataclass(frozen=True, slots=True)
class InferenceOptions:
    """How to run inference (all recorded in the run record)."""

    device: Device = Device.AUTO
    overlap: float = 0.5
    """Fraction of a window shared with its neighbour along each axis."""
    batch_size: int = 2
    """Windows per call of the ONNX Runtime session."""
    weighting: Weighting = Weighting.GAUSSIAN
    tta: bool = False
    """Also run the 7 mirrored versions of the input and average (8 passes in all)."""
    threads: int | None = None
    """ONNX Runtime CPU threads (default: its own choice)."""


def _check_input(volume: Volume, manifest: ModelManifest) -> None:
    if volume.not_hounsfield is not None:
        raise InferenceInputError(
            "not-hounsfield", f"the series is not a CT in Hounsfield units: "
            f"{volume.not_hounsfield}. The model {manifest.name} segments CT in HU only; choose "
            "the CT series with --series",
            found=volume.not_hounsfield, expected="Modality CT, Rescale Type HU or absent, "
            "and no derived map in Image Type")
    low, high = manifest.intensity.expected_hu_range
    outside = 0
    counted = 0
    stack = volume.hu.T  # (k, j, i), C-contiguous
    for k in range(stack.shape[0]):
        padding = volume.padding_slice(k)
        values = stack[k] if padding is None else stack[k][~padding]
        counted += values.size
        outside += int(np.count_nonzero((values < low) | (values > high)))
    fraction = outside / counted if counted else 1.0
    if fraction > manifest.intensity.max_fraction_outside:
        # Anonymisers and exports may drop the padding attribute: then the padding outside
        # the field of view counts as voxels, and the message says where to look.
        hint = ("" if volume.padding_packed is not None else "; the series declares no Pixel "
                "Padding Value (0028,0120), so any padding outside the scan's field of view "
                "counts as voxels")
        raise InferenceInputError(
            "input-range", f"{fraction:.1%} of the voxels lie outside the HU range the model "
            f"{manifest.name} is intended for; the input is probably not a CT in HU{hint}",
            found=f"{outside} of {counted} voxels outside [{low:g}, {high:g}] HU",
            expected=f"at most {manifest.intensity.max_fraction_outside:.1%}")


def apply_temperature(scores: NDArray[np.float32], kind: OutputKind, temperature: float,
                      axis: int = 0) -> NDArray[np.float32]:
    """Calibrated class probabilities from a model's blended scores (classes along ``axis``).

    Logits are divided by ``temperature`` and passed through the softmax; probabilities are
    raised to ``1 / temperature`` and renormalised, which is the same map applied to
    log-probabilities.  ``scores`` may be overwritten.
    """
    if kind is OutputKind.LOGITS:
        if temperature != 1.0:
            scores /= np.float32(temperature)
        scores -= scores.max(axis=axis, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=axis, keepdims=True)
        return scores
    if temperature == 1.0:
        return scores
    powered = np.power(np.maximum(scores, np.float32(0.0)),
                       np.float32(1.0 / temperature)).astype(np.float32)
    powered /= np.maximum(powered.sum(axis=axis, keepdims=True), np.float32(1e-30))
    return powered


def entropy_nats(probabilities: NDArray[np.float32]) -> NDArray[np.float32]:
    """Entropy ``-sum p log p`` (nats) of class probabilities along axis 0 (``0 log 0 = 0``)."""
    nats: NDArray[np.float32] = -(probabilities * np.log(
        np.maximum(probabilities, np.float32(1e-12)))).sum(axis=0)
    return nats


def _probabilities(output: NDArray[np.float32], kind: OutputKind) -> NDArray[np.float32]:
    if not np.all(np.isfinite(output)):
        raise InferenceError("output", "the model produced non-finite values",
                             expected="finite scores")
    if kind is OutputKind.LOGITS:
        return apply_temperature(output, kind, 1.0)
    total = output.sum(axis=0)
    if (output.min() < -_PROBABILITY_TOLERANCE or output.max() > 1 + _PROBABILITY_TOLERANCE
            or np.abs(total - 1).max() > _PROBABILITY_TOLERANCE):
        raise InferenceError("output", "the model's outputs are not probabilities",
                             found=f"range [{output.min():.4g}, {output.max():.4g}]",
                             expected="values in [0, 1] summing to 1, as output_kind states")
    return output


def alternative_labels(probabilities: NDArray[np.float32], threshold: float,
                       risk: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """One plausible alternative of the label map: each structure where its probability
    reaches ``threshold`` (classes along axis 0).

    Below 0.5 two structures can both reach the threshold: a risk structure (``risk[c]``)
    then takes the voxel, the structure with the higher index among the others otherwise,
    so that the alternative errs towards the risk structures.  Where no structure reaches
    it, the voxel is background (0).
    """
    found = np.zeros(probabilities.shape[1:], dtype=np.uint8)
    order = [c for c in range(1, len(risk)) if not risk[c]] + [
        c for c in range(1, len(risk)) if risk[c]]
    for c in order:
        found[probabilities[c] >= threshold] = c
    return found


def _mirrorings(tta: bool) -> list[tuple[int, ...]]:
    axes = (0, 1, 2)
    if not tta:
        return [()]
    return [combo for n in range(4) for combo in itertools.combinations(axes, n)]


def _window_runner(sessions: tuple[ModelSession, ...], manifest: ModelManifest, tta: bool,
                   counter: list[int]) -> Callable[[NDArray[np.float32]], NDArray[np.float32]]:
    """One batch of windows through every member; with TTA, through its 8 mirrorings.

    The output holds each member's scores in turn along the channel axis (``labels``
    channels each, the members in order).  With TTA the scores of the mirrored passes are
    averaged per window (logits or probabilities, as the model gives them; nnU-Net averages
    logits), and one more channel carries the variance of the class probabilities across
    the passes, averaged over the classes and over the members.
    """
    passes = _mirrorings(tta)

    def mirrored(session: ModelSession, batch: NDArray[np.float32],
                 ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        scores = []
        for axes in passes:
            spatial = tuple(a + 2 for a in axes)
            source = np.ascontiguousarray(np.flip(batch, spatial)) if axes else batch
            output = session.run(source)
            scores.append(np.flip(output, spatial) if axes else output)
        stacked = np.stack(scores)  # (passes, n, labels, ...)
        if manifest.output_kind is OutputKind.LOGITS:
            shifted = np.exp(stacked - stacked.max(axis=2, keepdims=True))
            probabilities = shifted / shifted.sum(axis=2, keepdims=True)
        else:
            probabilities = stacked
        variance = probabilities.var(axis=0).mean(axis=1, keepdims=True)
        return stacked.mean(axis=0), variance

    def run(batch: NDArray[np.float32]) -> NDArray[np.float32]:
        counter[0] += batch.shape[0] * len(passes) * len(sessions)
        if not tta:
            if len(sessions) == 1:
                return sessions[0].run(batch)
            return np.concatenate([session.run(batch) for session in sessions], axis=1)
        results = [mirrored(session, batch) for session in sessions]
        variance = results[0][1] if len(results) == 1 else np.mean(
            [r[1] for r in results], axis=0)
        return np.concatenate([*(r[0] for r in results), variance],
                              axis=1).astype(np.float32)

    return run


def _statistics(manifest: ModelManifest, counts: NDArray[np.int64], own: NDArray[np.float64],
                low: NDArray[np.int64], entropy: NDArray[np.float64],
                voxel_ml: float) -> tuple[LabelStatistics, ...]:
    rows = []
    for entry in manifest.labels:
        n = int(counts[entry.index])
        rows.append(LabelStatistics(
            index=entry.index, name=entry.name, risk_structure=entry.risk_structure,
            voxels=n, volume_ml=n * voxel_ml,
            mean_probability=float(own[entry.index] / n) if n else math.nan,
            low_confidence_fraction=float(low[entry.index] / n) if n else math.nan,
            mean_entropy=float(entropy[entry.index] / n) if n else math.nan))
    return tuple(rows)


def _flags(manifest: ModelManifest, statistics: tuple[LabelStatistics, ...],
           ) -> tuple[InferenceFlag, ...]:
    flags = []
    for entry, row in zip(manifest.labels, statistics, strict=True):
        if entry.min_volume_ml is not None and row.volume_ml < entry.min_volume_ml:
            flags.append(InferenceFlag(
                FlagCode.LABEL_BELOW_MIN_VOLUME,
                f"{entry.name}: {row.volume_ml:.1f} ml found, the model expects at least "
                f"{entry.min_volume_ml:g} ml in a scan it is intended for"))
    return tuple(flags)


def _informational(manifest: ModelManifest, statistics: tuple[LabelStatistics, ...],
                   ) -> list[dict[str, str]]:
    """The run record's notes on risk structures' mean entropy (not review flags)."""
    notes = []
    for entry, row in zip(manifest.labels, statistics, strict=True):
        if entry.risk_structure and row.voxels and (
                row.mean_entropy > RISK_ENTROPY_LIMIT
                or row.low_confidence_fraction > RISK_LOW_CONFIDENCE_LIMIT):
            notes.append({"code": INFORMATIONAL_ENTROPY, "message":
                          f"{entry.name}: mean entropy {row.mean_entropy:.3f} nats (note above "
                          f"{RISK_ENTROPY_LIMIT}), {row.low_confidence_fraction:.1%} of its "
                          f"voxels below probability 0.5 (note above "
                          f"{RISK_LOW_CONFIDENCE_LIMIT:.0%}); informational: planning judges "
                          "whether this uncertainty could change its verdict"})
    return notes


def infer(volume: Volume, package: ModelPackage,
          options: InferenceOptions | None = None) -> InferenceResult:
    """Segment ``volume`` with ``package`` and return the result on the CT's grid.

    Parameters
    ----------
    volume
        The CT, as ingest loaded it.
    package
        A verified model package (:func:`~corridor.inference.load_model_package`).
    options
        Device, overlap, batch size, weighting, TTA (defaults: :class:`InferenceOptions`).

    Raises
    ------
    InferenceError
        The model's
        output is not finite or not probabilities as the manifest states (``output``).
    InferenceInputError
        The volume is not CT in Hounsfield units (``not-hounsfield``: another modality,
        Rescale Type or a derived map), or most voxels lie outside the model's HU range
        (``input-range``).
    ProviderUnavailableError
        ``cuda`` was requested and no GPU provider started.
    """
    opts = options or InferenceOptions()
    manifest = package.manifest
    started = time.perf_counter()
    _check_input(volume, manifest)
    sessions = open_sessions(package, opts.device, threads=opts.threads)
    grid = model_grid(volume.geometry, manifest.input_spacing_mm, manifest.grid)
    intensity = manifest.intensity
    clip_low, clip_high = intensity.clip_hu
    image = to_model_grid(volume.hu, volume.geometry, grid, outside_hu=clip_low)
    np.clip(image, clip_low, clip_high, out=image)
    image -= np.float32(intensity.subtract)
    image /= np.float32(intensity.divide)
    pad_value = (clip_low - intensity.subtract) / intensity.divide
    prepared = time.perf_counter()
    count = len(manifest.labels)
    members = len(sessions)
    windows = [0]
    shape_kji = volume.geometry.shape[::-1]
    labels = np.zeros(shape_kji, dtype=np.uint8)
    entropy = np.zeros(shape_kji, dtype=np.float32)
    variance = np.zeros(shape_kji, dtype=np.float32) if opts.tta else None
    mutual = np.zeros(shape_kji, dtype=np.float32) if members > 1 else None
    member_labels = [np.zeros(shape_kji, dtype=np.uint8) for _ in range(members)
                     ] if members > 1 else []
    sums = _Sums(count)
    risk = np.array([entry.risk_structure for entry in manifest.labels])
    alternatives = {threshold: np.zeros(shape_kji, dtype=np.uint8)
                    for threshold in ALTERNATIVE_THRESHOLDS}
    back = BackResampler(grid, volume.geometry)
    blocks = stream_windows(image[np.newaxis],
                            _window_runner(sessions, manifest, opts.tta, windows),
                            patch=manifest.patch_size[::-1],
                            channels=count * members + int(opts.tta),
                            overlap=opts.overlap, batch_size=opts.batch_size,
                            weighting=opts.weighting, pad_value=pad_value)
    for k0, k1, block in blocks:
        for m in range(members):
            block[m * count:(m + 1) * count] = _probabilities(block[m * count:(m + 1) * count],
                                                              manifest.output_kind)
        for part in back.consume(k0, k1, block, count):
            combined = _combine(part.probabilities, part.extra, count, members,
                                manifest.temperature)
            labels[part.k][part.mask] = combined.winner
            for threshold, alternative in alternatives.items():
                alternative[part.k][part.mask] = alternative_labels(combined.probabilities,
                                                                    threshold, risk)
            entropy[part.k][part.mask] = combined.nats
            if mutual is not None and combined.mutual is not None:
                mutual[part.k][part.mask] = combined.mutual
            for member_map, winner in zip(member_labels, combined.member_winners, strict=True):
                member_map[part.k][part.mask] = winner
            if variance is not None:
                variance[part.k][part.mask] = part.extra[(members - 1) * count]
            sums.add(combined)
    if not back.complete:
        raise InferenceError("output", "not every CT voxel received a probability",
                             expected="the model grid to cover the CT")
    del image
    predicted = time.perf_counter()
    tta_map = None
    if variance is not None:
        tta_map = ScalarMap(variance.T, volume.geometry,
                            "variance of class probabilities across 8 mirrored passes, "
                            "mean over classes" + (" and members" if members > 1 else ""))
    finished = time.perf_counter()
    voxel_ml = abs(float(np.linalg.det(volume.geometry.affine[:3, :3]))) / 1000.0
    statistics = _statistics(manifest, sums.counts, sums.own, sums.low, sums.entropy,
                             voxel_ml)
    flags = _flags(manifest, statistics)
    notes = _informational(manifest, statistics)
    record = _record(volume, package, sessions[0], opts, grid, windows[0], statistics, flags,
                     {"prepare_s": prepared - started,
                      "predict_and_resample_back_s": predicted - prepared,
                      "statistics_s": finished - predicted, "total_s": finished - started})
    record["informational"] = notes
    record["ensemble"] = _ensemble_record(package, sessions, sums)
    names = manifest.label_names
    found = {f"p>={threshold:g}": LabelMap(alternative.T, volume.geometry, names)
             for threshold, alternative in alternatives.items()}
    if member_labels:
        found.update({member.name: LabelMap(member_map.T, volume.geometry, names)
                      for member, member_map in zip(package.members, member_labels,
                                                    strict=True)})
    return InferenceResult(
        label_map=LabelMap(labels.T, volume.geometry, names),
        entropy=ScalarMap(entropy.T, volume.geometry, "predictive entropy (nats)"),
        tta_variance=tta_map, statistics=statistics, flags=flags, manifest=manifest,
        model=ModelIdentity(manifest.name, manifest.version, package.sha256), record=record,
        alternatives=found,
        mutual_information=None if mutual is None else ScalarMap(
            mutual.T, volume.geometry, MUTUAL_INFORMATION))


@dataclass(frozen=True, slots=True, eq=False)
class _Combined:
    """The CT voxels of one block, the members combined (see the module notes)."""

    winner: NDArray[np.uint8]
    probabilities: NDArray[np.float32]
    """Calibrated class probabilities (the members' mean), ``(labels, n)``."""
    nats: NDArray[np.float32]
    mutual: NDArray[np.float32] | None
    """Mutual information (nats); ``None`` for a single model."""
    member_winners: tuple[NDArray[np.uint8], ...]
    """Each member's most probable class; empty for a single model."""


def _renormalised(probabilities: NDArray[np.float32]) -> NDArray[np.float32]:
    """As :class:`~corridor.inference.resample.BackResampler` renormalises its first group."""
    probabilities /= np.maximum(probabilities.sum(axis=0, keepdims=True), np.float32(1e-12))
    return probabilities


def _combine(first: NDArray[np.float32], extra: NDArray[np.float32], count: int, members: int,
             temperature: float) -> _Combined:
    """Label, calibrated probabilities, entropy and (for an ensemble) mutual information."""
    if members == 1:
        # the most probable class before calibration, which calibration keeps (SRS-INF-018)
        winner = np.argmax(first, axis=0).astype(np.uint8)
        probabilities = apply_temperature(first, OutputKind.PROBABILITIES, temperature)
        return _Combined(winner, probabilities, entropy_nats(probabilities), None, ())
    raw = [first, *(_renormalised(extra[m * count:(m + 1) * count])
                    for m in range(members - 1))]
    calibrated = [apply_temperature(p, OutputKind.PROBABILITIES, temperature) for p in raw]
    mean: NDArray[np.float32] = np.asarray(
        np.sum(calibrated, axis=0, dtype=np.float32) / np.float32(members), dtype=np.float32)
    nats = entropy_nats(mean)
    expected = (np.sum([entropy_nats(p) for p in calibrated], axis=0, dtype=np.float32)
                / np.float32(members))
    # H(mean) >= mean(H) (Jensen); a negative difference is rounding
    mutual = np.maximum(nats - expected, np.float32(0.0)).astype(np.float32)
    return _Combined(np.argmax(mean, axis=0).astype(np.uint8), mean, nats, mutual,
                     tuple(np.argmax(p, axis=0).astype(np.uint8) for p in raw))


class _Sums:
    """Per-label running sums over the CT voxels, for the statistics."""

    def __init__(self, count: int) -> None:
        self.counts = np.zeros(count, np.int64)
        self.own = np.zeros(count, np.float64)
        self.low = np.zeros(count, np.int64)
        self.entropy = np.zeros(count, np.float64)
        self.mutual = np.zeros(count, np.float64)
        self.mutual_max = np.zeros(count, np.float64)

    def add(self, combined: _Combined) -> None:
        """Add one block's voxels, each to the label it was given."""
        best = np.take_along_axis(combined.probabilities,
                                  combined.winner[np.newaxis].astype(np.intp), axis=0)[0]
        for index in range(len(self.counts)):
            mine = combined.winner == index
            self.counts[index] += int(mine.sum())
            self.own[index] += float(best[mine].sum(dtype=np.float64))
            self.low[index] += int(np.count_nonzero(best[mine] < 0.5))
            self.entropy[index] += float(combined.nats[mine].sum(dtype=np.float64))
            if combined.mutual is not None and mine.any():
                self.mutual[index] += float(combined.mutual[mine].sum(dtype=np.float64))
                self.mutual_max[index] = max(self.mutual_max[index],
                                             float(combined.mutual[mine].max()))


def _ensemble_record(package: ModelPackage, sessions: tuple[ModelSession, ...],
                     sums: _Sums) -> dict[str, Any]:
    """The run record's ``ensemble`` block: the members, how they are combined, and the
    mutual information per label (``null`` for a single model: none is measured)."""
    rows = [{"name": member.name, "onnx_file": member.onnx_path.name, "sha256": member.sha256,
             "provider": session.provider}
            for member, session in zip(package.members, sessions, strict=True)]
    if len(rows) == 1:
        return {"members": rows, "mutual_information": None,
                "note": "a single model: no epistemic uncertainty is measured (no mutual "
                        "information map), and no member alternative"}
    per_label = []
    for entry in package.manifest.labels:
        n = int(sums.counts[entry.index])
        per_label.append({"name": entry.name, "risk_structure": entry.risk_structure,
                          "voxels": n,
                          "mean_nats": round(float(sums.mutual[entry.index] / n), 6) if n
                          else None,
                          "max_nats": round(float(sums.mutual_max[entry.index]), 6) if n
                          else None})
    return {"members": rows,
            "combination": "mean of the members' calibrated probabilities (each member "
                           "calibrated by the manifest's temperature); label map: its most "
                           "probable class; entropy map: its entropy",
            "mutual_information": {"definition": MUTUAL_INFORMATION, "per_label": per_label},
            "member_alternatives": [member.name for member in package.members]}


def _record(volume: Volume, package: ModelPackage, session: ModelSession,
            options: InferenceOptions, grid: Any, windows: int,
            statistics: tuple[LabelStatistics, ...], flags: tuple[InferenceFlag, ...],
            timing: dict[str, float]) -> dict[str, Any]:
    manifest = package.manifest
    return {
        "format": RECORD_FORMAT,
        "software": software_identity().to_json(),
        "model": {"name": manifest.name, "version": manifest.version,
                  "sha256": package.sha256, "onnx_file": manifest.onnx_file,
                  "opset": manifest.opset, "output_kind": manifest.output_kind.value,
                  "temperature": manifest.temperature, "members": len(package.members)},
        "input": {
            "series_instance_uid": volume.series_instance_uid,
            "geometry": volume.geometry.to_json(),
            "sources": [{"sop_instance_uid": s.sop_instance_uid, "sha256": s.sha256}
                        for s in volume.sources],
            "ingest_warnings": [w.to_json() for w in volume.warnings],
            "regularization": (volume.regularization.to_json()
                               if volume.regularization is not None else None),
        },
        "execution": {"requested": session.requested.value, "provider": session.provider,
                      "available": list(session.available), "attempts": list(session.attempts),
                      "provider_options": session.provider_options, "threads": options.threads},
        "parameters": {"overlap": options.overlap, "batch_size": options.batch_size,
                       "weighting": options.weighting.value,
                       "sigma_scale": SIGMA_SCALE if options.weighting is Weighting.GAUSSIAN
                       else None,
                       "tta": options.tta, "passes": len(_mirrorings(options.tta)),
                       "patch_size_ijk": list(manifest.patch_size), "windows_run": windows},
        "spatial_operations": [
            *([{"operation": "regularize", "from": "acquired slices", "to": "ct grid",
                "interpolation": volume.regularization.method}]
              if volume.regularization is not None else []),
            {"operation": "resample", "from": "ct grid", "to": "model grid",
             "interpolation": "trilinear on HU, outside the CT: clip_hu low",
             "model_grid": grid.to_json()},
            {"operation": "intensity", "clip_hu": list(manifest.intensity.clip_hu),
             "subtract": manifest.intensity.subtract, "divide": manifest.intensity.divide},
            {"operation": "resample", "from": "model grid", "to": "ct grid",
             "interpolation": "trilinear on class probabilities, then the most probable label"},
            {"operation": "calibrate", "temperature": manifest.temperature,
             "applied": "on the ct grid: probabilities ** (1 / temperature), renormalised "
                        "(log-probabilities / temperature); the label map is the most probable "
                        "class before it, which it keeps"},
        ],
        "alternatives": [{"name": f"p>={threshold:g}", "rule": f"each structure where its "
                          f"probability reaches {threshold:g}; risk structures take voxels "
                          "two structures reach"} for threshold in ALTERNATIVE_THRESHOLDS] + [
            {"name": member.name, "rule": f"the most probable class of ensemble member "
                                          f"{member.onnx_path.name} alone"}
            for member in package.members if package.is_ensemble],
        "statistics": [row.to_json() for row in statistics],
        "flags": [flag.to_json() for flag in flags],
        "timing_s": {key: round(value, 3) for key, value in timing.items()},
    }
