"""The standalone algorithm against the reader panel (random readers, random cases).

With the model's figure of merit ``theta_0`` and the readers' ``theta_j`` in one modality,
the analysis is Obuchowski-Rockette's single-modality analysis of the differences
``d_j = theta_0 - theta_j`` (Chakraborty's 1T-RRRC; Hillis's degrees of freedom): their
jackknife covariance over cases gives ``Cov2_d`` (different readers), the mean square
``MS(R)_d`` their spread over readers, and

    SE = sqrt((MS(R)_d + r max(Cov2_d, 0)) / r),
    ddf = (MS(R)_d + r max(Cov2_d, 0))^2 / (MS(R)_d^2 / (r - 1)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from corridor_qms.validation.fom import FomEstimate
from corridor_qms.validation.orh import hillis_df
from corridor_qms.validation.study import AnalysisError

__all__ = ["ModelVsReaders", "model_vs_readers"]


@dataclass(frozen=True, slots=True)
class ModelVsReaders:
    """The model's figure of merit minus the readers' average, with its test."""

    model: float
    readers_mean: float
    difference: float
    se: float
    df_denominator: float
    ci95: tuple[float, float]
    t: float
    p_value: float
    ms_r: float
    cov2: float
    var_error: float

    def one_sided_p(self, margin: float = 0.0) -> float:
        """P-value of H0: model - readers <= -margin (non-inferiority by ``margin``); NaN
        (undefined) when the SE is 0 (SRS-VAL-019)."""
        if not self.se > 0:
            return math.nan
        return float(stats.t.sf((self.difference + margin) / self.se, self.df_denominator))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {name: (list(v) if isinstance(v := getattr(self, name), tuple) else v)
                for name in self.__dataclass_fields__}


def model_vs_readers(estimate: FomEstimate, model_row: int) -> ModelVsReaders:
    """Compare row ``model_row`` of a one-modality estimate (the model) with the other rows.

    ``estimate`` holds the model and the readers as the "readers" of one modality; it must
    come with jackknife values.

    Raises
    ------
    AnalysisError
        No jackknife values, more than one modality, or fewer than two readers besides the model.
    """
    if estimate.jackknife is None:
        raise AnalysisError("model against readers needs jackknife covariance")
    values, jackknife = estimate.values, estimate.jackknife
    if values.shape[0] != 1:
        raise AnalysisError("model against readers uses one modality")
    readers = [j for j in range(values.shape[1]) if j != model_row]
    if len(readers) < 2:
        raise AnalysisError("model against readers needs at least two readers")
    r = len(readers)
    d = values[0, model_row] - values[0, readers]
    d_jack = jackknife[0, model_row][None, :] - jackknife[0, readers]
    k = d_jack.shape[1]
    centred = d_jack - d_jack.mean(axis=1, keepdims=True)
    covariance = (k - 1) / k * centred @ centred.T
    off = ~np.eye(r, dtype=bool)
    cov2 = float(covariance[off].mean())
    var_error = float(np.diag(covariance).mean())
    mean = float(d.mean())
    ms_r = float(np.sum((d - mean) ** 2) / (r - 1))
    den = ms_r + r * max(cov2, 0.0)
    se = math.sqrt(den / r)
    ddf = hillis_df(den, ms_r, r - 1)
    quantile = float(stats.t.ppf(0.975, ddf)) if math.isfinite(ddf) else float(
        stats.norm.ppf(0.975))
    t = mean / se if se > 0 else math.nan
    p = (float(2 * stats.t.sf(abs(t), ddf)) if math.isfinite(ddf)
         else float(2 * stats.norm.sf(abs(t)))) if se > 0 else math.nan
    return ModelVsReaders(float(values[0, model_row]), float(values[0, readers].mean()), mean,
                          se, ddf, (mean - quantile * se, mean + quantile * se), t, p, ms_r,
                          cov2, var_error)
