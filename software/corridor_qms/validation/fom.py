"""Figures of merit per modality and reader, and the covariance of their estimates over cases.

Empirical AUC is the Mann-Whitney statistic: the probability that a positive case is
rated above a negative one, ties counting one half.  Its structural components
(DeLong 1988) give the per-case contributions: ``V10`` for each positive case (the
fraction of negatives it out-ranks) and ``V01`` for each negative.  Leaving one case out
changes the AUC by a closed form of its component, so the jackknife needs no refitting.

Covariance of the figure-of-merit estimates, over the ``t * r`` (modality, reader) cells:

* ``jackknife``: leave one case out, ``(K - 1) / K`` times the sum of products of
  deviations (Efron); for sensitivity (specificity) only the positive (negative) cases
  are left out, with their own count (MRMCaov's convention, RJafroc issue 90);
* ``delong``: ``S10 / n1 + S01 / n0`` from the structural components (AUC only);
* ``bootstrap``: cases resampled with replacement within each truth class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from corridor_qms.validation.study import AnalysisError, Design, Readings

__all__ = ["MAX_RESAMPLES", "Covariance", "FigureOfMerit", "FomEstimate", "estimate",
           "structural_components"]

FloatArray = NDArray[np.float64]

MAX_RESAMPLES = 100_000
"""Most bootstrap resamples (50 times the default 2,000): each is one full estimate, and the
draws are held as a resamples x cells array."""


class FigureOfMerit(StrEnum):
    """What is measured per reader and modality."""

    AUC = "auc"
    """Empirical (trapezoidal, Mann-Whitney) area under the ROC curve."""
    SENSITIVITY = "sensitivity"
    """Fraction of positive cases rated at or above the threshold."""
    SPECIFICITY = "specificity"
    """Fraction of negative cases rated below the threshold."""


class Covariance(StrEnum):
    """How the covariance of the figure-of-merit estimates is estimated."""

    JACKKNIFE = "jackknife"
    DELONG = "delong"
    BOOTSTRAP = "bootstrap"


def structural_components(negatives: FloatArray, positives: FloatArray
                          ) -> tuple[FloatArray, FloatArray]:
    """``V10`` (one per positive) and ``V01`` (one per negative) for one reader and modality.

    ``V10[b]`` is the fraction of negatives rated below positive ``b`` (ties one half);
    ``V01[a]`` the fraction of positives rated above negative ``a``.  Both average to the AUC.
    """
    sorted_negatives = np.sort(negatives)
    below = np.searchsorted(sorted_negatives, positives, side="left")
    not_above = np.searchsorted(sorted_negatives, positives, side="right")
    v10 = (below + 0.5 * (not_above - below)) / len(negatives)
    sorted_positives = np.sort(positives)
    not_below = np.searchsorted(sorted_positives, negatives, side="right")
    below_or_tie = np.searchsorted(sorted_positives, negatives, side="left")
    above = len(positives) - not_below
    v01 = (above + 0.5 * (not_below - below_or_tie)) / len(positives)
    return np.asarray(v10, dtype=np.float64), np.asarray(v01, dtype=np.float64)


@dataclass(frozen=True, slots=True, eq=False)
class FomEstimate:
    """Figure of merit per cell and the covariance of the estimates.

    Attributes
    ----------
    values
        ``(t, r)``.
    covariance
        ``(t * r, t * r)``, cells ordered modality-major (index ``i * r + j``).
    jackknife
        ``(t, r, K)`` leave-one-out values over the cases left out (jackknife only).
    cases_left_out
        How many cases the jackknife left out, one at a time (``K``).
    """

    figure_of_merit: FigureOfMerit
    covariance_method: Covariance
    values: FloatArray
    covariance: FloatArray
    jackknife: FloatArray | None
    cases_left_out: int


def _binary(readings: Readings, fom: FigureOfMerit, threshold: float
            ) -> tuple[FloatArray, FloatArray]:
    cases = readings.truth if fom is FigureOfMerit.SENSITIVITY else ~readings.truth
    ratings = readings.ratings[:, :, cases]
    correct = (ratings >= threshold) if fom is FigureOfMerit.SENSITIVITY else (ratings < threshold)
    values = correct.mean(axis=2)
    n = correct.shape[2]
    left_out = (values[:, :, None] * n - correct) / (n - 1)
    return values, left_out


def _auc(readings: Readings) -> tuple[FloatArray, list[list[tuple[FloatArray, FloatArray]]]]:
    t, r, _ = readings.ratings.shape
    values = np.empty((t, r))
    components: list[list[tuple[FloatArray, FloatArray]]] = []
    for i in range(t):
        row = []
        for j in range(r):
            v10, v01 = structural_components(readings.ratings[i, j, ~readings.truth],
                                             readings.ratings[i, j, readings.truth])
            values[i, j] = float(v10.mean())
            row.append((v10, v01))
        components.append(row)
    return values, components


def _jackknife_covariance(left_out: FloatArray) -> FloatArray:
    t, r, k = left_out.shape
    flat = left_out.reshape(t * r, k)
    centred = flat - flat.mean(axis=1, keepdims=True)
    return np.asarray((k - 1) / k * centred @ centred.T)


def _bootstrap(readings: Readings, fom: FigureOfMerit, threshold: float, resamples: int,
               seed: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    negatives = np.flatnonzero(~readings.truth)
    positives = np.flatnonzero(readings.truth)
    t, r, _ = readings.ratings.shape
    draws = np.empty((resamples, t * r))
    for b in range(resamples):
        chosen = np.concatenate([rng.choice(negatives, len(negatives)),
                                 rng.choice(positives, len(positives))])
        sample = Readings(readings.modalities, readings.readers, readings.cases,
                          readings.truth[chosen], readings.ratings[:, :, chosen],
                          readings.design, readings.groups, readings.source)
        if fom is FigureOfMerit.AUC:
            draws[b] = _auc(sample)[0].ravel()
        else:
            draws[b] = _binary(sample, fom, threshold)[0].ravel()
    return np.asarray(np.cov(draws, rowvar=False, ddof=1))


def _partially_paired(readings: Readings, fom: FigureOfMerit, threshold: float | None
                      ) -> FomEstimate:
    """Each cell on the cases it read; the jackknife leaves out every case of the study in
    turn, a cell that did not read the case keeping its full value, with factor (K - 1) / K
    (MRMCaov's jackknife, which serves any design)."""
    t, r, k = readings.ratings.shape
    values = np.empty((t, r))
    left_out = np.empty((t, r, k))
    for i in range(t):
        for j in range(r):
            read = ~np.isnan(readings.ratings[i, j])
            cell = Readings(readings.modalities[i:i + 1], readings.readers[j:j + 1],
                            tuple(c for c, keep in zip(readings.cases, read.tolist(),
                                                       strict=True) if keep),
                            readings.truth[read], readings.ratings[i:i + 1, j:j + 1, read],
                            Design.FULLY_CROSSED, np.zeros(1, dtype=np.int64), readings.source)
            if cell.truth.all() or not cell.truth.any():
                raise AnalysisError(f"reader {readings.readers[j]} in {readings.modalities[i]} "
                                    "read cases of one truth class only")
            found = estimate(cell, fom, Covariance.JACKKNIFE, threshold=threshold)
            assert found.jackknife is not None
            values[i, j] = found.values[0, 0]
            left_out[i, j, :] = values[i, j]
            if fom is FigureOfMerit.AUC:
                left_out[i, j, np.flatnonzero(read)] = found.jackknife[0, 0]
            else:
                subset = readings.truth if fom is FigureOfMerit.SENSITIVITY else ~readings.truth
                left_out[i, j, np.flatnonzero(read & subset)] = found.jackknife[0, 0]
    if fom is not FigureOfMerit.AUC:
        subset = readings.truth if fom is FigureOfMerit.SENSITIVITY else ~readings.truth
        left_out = left_out[:, :, subset]
    return FomEstimate(fom, Covariance.JACKKNIFE, values, _jackknife_covariance(left_out),
                       left_out, int(left_out.shape[2]))


def _split_plot(readings: Readings, fom: FigureOfMerit, covariance: Covariance,
                threshold: float | None, resamples: int, seed: int) -> FomEstimate:
    """Each reader group on its own cases; estimates of different groups are independent, so
    the covariance is block-diagonal over the groups (each group's jackknife over its cases)."""
    t, r, _ = readings.ratings.shape
    values = np.empty((t, r))
    matrix = np.zeros((t * r, t * r))
    for group in np.unique(readings.groups):
        members = np.flatnonzero(readings.groups == group)
        cases: NDArray[np.bool_] = np.asarray(
            ~np.isnan(readings.ratings[:, members[0], :]).any(axis=0))
        part = Readings(readings.modalities, tuple(readings.readers[j] for j in members),
                        tuple(c for c, keep in zip(readings.cases, cases.tolist(), strict=True)
                              if keep),
                        readings.truth[cases], readings.ratings[:, members][:, :, cases],
                        readings.design, np.zeros(len(members), dtype=np.int64),
                        readings.source)
        if part.truth.all() or not part.truth.any():
            raise AnalysisError(f"reader group of {', '.join(part.readers)}: its cases are all of "
                                "one truth class")
        found = estimate(part, fom, covariance, threshold=threshold, resamples=resamples,
                         seed=seed + int(group))
        values[:, members] = found.values
        cells = (np.arange(t)[:, None] * r + members[None, :]).ravel()
        matrix[np.ix_(cells, cells)] = found.covariance
    return FomEstimate(fom, covariance, values, matrix, None, readings.ratings.shape[2])


def estimate(readings: Readings, fom: FigureOfMerit = FigureOfMerit.AUC,
             covariance: Covariance = Covariance.JACKKNIFE, *, threshold: float | None = None,
             resamples: int = 2000, seed: int = 0) -> FomEstimate:
    """Figure of merit of every (modality, reader) cell and the covariance of the estimates.

    Raises
    ------
    AnalysisError
        A binary figure of merit without a threshold or with a threshold that is not finite,
        DeLong for a binary figure of merit, bootstrap with fewer than two or more than
        :data:`MAX_RESAMPLES` resamples or a negative seed, or a split-plot group
        whose cases are all of one truth class.  Split-plot readings
        are estimated per reader group (block-diagonal covariance, no pooled jackknife).
    """
    if fom is not FigureOfMerit.AUC and threshold is None:
        raise AnalysisError(f"{fom.value} needs a rating threshold (positive call: rating >= it)")
    if threshold is not None and not math.isfinite(threshold):
        raise AnalysisError(f"rating threshold {threshold}: expected a finite number")
    if covariance is Covariance.DELONG and fom is not FigureOfMerit.AUC:
        raise AnalysisError("DeLong covariance is defined for the empirical AUC only; use "
                            "jackknife or bootstrap")
    if covariance is Covariance.BOOTSTRAP and resamples < 2:
        raise AnalysisError(f"bootstrap covariance needs at least two resamples (found "
                            f"{resamples})")
    if covariance is Covariance.BOOTSTRAP and resamples > MAX_RESAMPLES:
        raise AnalysisError(f"bootstrap covariance takes at most {MAX_RESAMPLES} resamples "
                            f"(found {resamples})")
    if covariance is Covariance.BOOTSTRAP and seed < 0:
        raise AnalysisError(f"the bootstrap seed must be a non-negative integer (found {seed})")
    if readings.design is Design.PARTIALLY_PAIRED:
        if covariance is not Covariance.JACKKNIFE:
            raise AnalysisError("a partially paired design is analysed with jackknife covariance "
                                "only")
        return _partially_paired(readings, fom, threshold)
    if np.isnan(readings.ratings).any():
        return _split_plot(readings, fom, covariance, threshold, resamples, seed)
    left_out: FloatArray | None
    if fom is FigureOfMerit.AUC:
        values, components = _auc(readings)
        t, r = values.shape
        negatives, positives = np.flatnonzero(~readings.truth), np.flatnonzero(readings.truth)
        n0, n1 = len(negatives), len(positives)
        left_out = np.empty((t, r, n0 + n1))
        for i in range(t):
            for j in range(r):
                v10, v01 = components[i][j]
                left_out[i, j, negatives] = (n0 * values[i, j] - v01) / (n0 - 1)
                left_out[i, j, positives] = (n1 * values[i, j] - v10) / (n1 - 1)
    else:
        assert threshold is not None
        values, left_out = _binary(readings, fom, threshold)
    if covariance is Covariance.JACKKNIFE:
        matrix = _jackknife_covariance(left_out)
    elif covariance is Covariance.DELONG:
        t, r = values.shape
        v10 = np.stack([components[i][j][0] for i in range(t) for j in range(r)])
        v01 = np.stack([components[i][j][1] for i in range(t) for j in range(r)])
        matrix = (np.cov(v10, ddof=1) / v10.shape[1]) + (np.cov(v01, ddof=1) / v01.shape[1])
        matrix = np.atleast_2d(matrix)
    else:
        matrix = _bootstrap(readings, fom, threshold or 0.0, resamples, seed)
        matrix = np.atleast_2d(matrix)
    return FomEstimate(fom, covariance, values, np.asarray(matrix, dtype=np.float64),
                       left_out if covariance is Covariance.JACKKNIFE else None,
                       int(left_out.shape[2]))
