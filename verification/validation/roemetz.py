"""Roe-Metz simulation of MRMC studies (Roe & Metz 1997, with truth-specific reader effects as in
Hillis 2018), used to check the size of the tests under a true null hypothesis.

Latent rating of case ``k`` (truth ``t``) by reader ``j`` in modality ``i``::

    X = mu * t + R[j, t] + TR[i, j, t] + C[k] + TC[i, k] + RC[j, k] + E[i, j, k]

Every term is an independent zero-mean normal with the variance of its name; the modalities
share ``mu`` (the null hypothesis: equal AUCs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class NullConfiguration:
    """Study size and variance components (latent scale; case terms sum to 1)."""

    readers: int = 5
    positives: int = 50
    negatives: int = 50
    mu: float = 1.5
    var_r: float = 0.0055
    var_tr: float = 0.0055
    var_c: float = 0.3
    var_tc: float = 0.3
    var_rc: float = 0.2
    var_e: float = 0.2


def simulate_null_study(config: NullConfiguration, rng: np.random.Generator, *,
                        delta: float = 0.0) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Ratings ``(2, readers, cases)`` and truth ``(cases,)`` of one simulated study; the
    second modality's separation is ``mu + delta`` (``delta = 0``: the null hypothesis)."""
    cases = config.negatives + config.positives
    truth = np.r_[np.zeros(config.negatives, bool), np.ones(config.positives, bool)]
    t = truth.astype(int)
    sd = np.sqrt
    reader = rng.normal(0, sd(config.var_r), (config.readers, 2))[:, t]  # (r, c)
    treatment_reader = rng.normal(0, sd(config.var_tr), (2, config.readers, 2))[:, :, t]
    case = rng.normal(0, sd(config.var_c), cases)
    treatment_case = rng.normal(0, sd(config.var_tc), (2, cases))
    reader_case = rng.normal(0, sd(config.var_rc), (config.readers, cases))
    error = rng.normal(0, sd(config.var_e), (2, config.readers, cases))
    separation = np.array([config.mu, config.mu + delta])[:, None, None]
    ratings = (separation * t[None, None, :] + reader[None] + treatment_reader + case[None, None]
               + treatment_case[:, None, :] + reader_case[None] + error)
    return np.asarray(ratings, dtype=np.float64), truth


def expected_auc(config: NullConfiguration, separation: float) -> float:
    """The AUC of a modality with this separation, averaged over readers (closed form).

    A positive minus a negative case's rating is normal with mean ``separation`` and variance
    ``2 (var_c + var_tc + var_rc + var_e)`` given the reader; the reader terms add
    ``2 (var_r + var_tr)`` (drawn per truth class), and ``E[Phi(a + n)] = Phi(a / sqrt(1 + s2))``.
    """
    from math import sqrt

    from scipy.stats import norm

    cases = 2 * (config.var_c + config.var_tc + config.var_rc + config.var_e)
    readers = 2 * (config.var_r + config.var_tr)
    return float(norm.cdf(separation / sqrt(cases + readers)))


def simulate_model_and_readers(config: NullConfiguration, rng: np.random.Generator
                               ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """One modality read by ``config.readers`` readers, plus a model in row 0 (``(1, r + 1, c)``).

    The model is fixed, not a random reader: no reader terms, and a separation chosen so that
    its expected AUC equals the readers' expected AUC (averaged over their reader effects):
    the null hypothesis of the model-against-readers test holds exactly.
    """
    from math import sqrt

    ratings, truth = simulate_null_study(config, rng)
    cases = len(truth)
    t = truth.astype(int)
    case_var = config.var_c + config.var_tc + config.var_rc + config.var_e
    model_mu = config.mu * sqrt(2 * case_var / (2 * case_var + 2 * (config.var_r + config.var_tr)))
    case = rng.normal(0, sqrt(config.var_c), cases)
    noise = rng.normal(0, sqrt(case_var - config.var_c), cases)
    model = model_mu * t + case + noise
    readers = ratings[:1]
    return np.concatenate([model[None, None, :], readers], axis=1), truth


def simulate_split_plot_null(config: NullConfiguration, groups: int, rng: np.random.Generator
                             ) -> tuple[NDArray[np.float64], NDArray[np.bool_],
                                        NDArray[np.int64]]:
    """A split-plot null study: ``groups`` groups of ``config.readers`` readers, each group
    reading its own ``positives + negatives`` cases in both modalities; NaN where a reader
    did not read a case.  Reader effects are drawn once per reader, as in a crossed study."""
    per_group = config.negatives + config.positives
    readers = groups * config.readers
    ratings = np.full((2, readers, groups * per_group), np.nan)
    truth = np.zeros(groups * per_group, dtype=bool)
    membership = np.repeat(np.arange(groups), config.readers)
    for g in range(groups):
        part, part_truth = simulate_null_study(config, rng)
        rows = slice(g * config.readers, (g + 1) * config.readers)
        cols = slice(g * per_group, (g + 1) * per_group)
        ratings[:, rows, cols] = part
        truth[cols] = part_truth
    return ratings, truth, membership


def drop_readings(ratings: NDArray[np.float64], fraction: float, rng: np.random.Generator
                  ) -> NDArray[np.float64]:
    """A partially paired version: each (modality, reader, case) reading missing with
    probability ``fraction``, independently."""
    result = ratings.copy()
    result[rng.random(ratings.shape) < fraction] = np.nan
    return result
