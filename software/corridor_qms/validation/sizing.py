"""Sizing the next study from a pilot's OR variance components (Hillis, Obuchowski & Berbaum 2011).

The pilot's error covariances scale with its number of cases ``K*``: in a study with ``K``
cases, ``var_error``, ``Cov1``, ``Cov2`` and ``Cov3`` are multiplied by ``K* / K``; ``var_TR``
does not depend on the cases.  For ``J`` readers and an effect ``d`` (difference of the
reader-averaged figures of merit):

* random readers and cases: noncentrality ``J d^2 / (2 (var_TR + (K*/K)(var_error - Cov1 +
  (J - 1)(Cov2 - Cov3))))``, F on ``1`` and Hillis's ``ddf``;
* fixed readers: ``J d^2 / (2 (K*/K)(var_error - Cov1 + (J - 1)(Cov2 - Cov3)))``, chi-square on 1;
* fixed cases: ``J d^2 / (2 E[MS(T:R)])``, F on ``1, J - 1``;

with ``E[MS(T:R)] = var_TR + (K*/K)(var_error - Cov1 - Cov2 + Cov3)``.  A negative pilot
``var_TR`` is set to 0 before sizing (RJafroc's choice; reported).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats

from corridor_qms.validation.orh import VarianceComponents
from corridor_qms.validation.study import AnalysisError

__all__ = ["MAX_CASES", "MAX_READERS", "Power", "power", "smallest_cases"]

MAX_READERS = 10_000
"""Most readers a study is sized for (far beyond any reader study; larger counts overflow the
noncentrality's floating point)."""

MAX_CASES = 10_000_000
"""Most cases a study is sized for (far beyond any reader study)."""


@dataclass(frozen=True, slots=True)
class Power:
    """Predicted power of one analysis for ``readers`` x ``cases``."""

    analysis: str
    readers: int
    cases: int
    effect: float
    alpha: float
    power: float
    noncentrality: float
    df_denominator: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (infinite df as ``null``)."""
        return {"analysis": self.analysis, "readers": self.readers, "cases": self.cases,
                "effect": self.effect, "alpha": self.alpha, "power": self.power,
                "noncentrality": self.noncentrality,
                "df_denominator": (None if math.isinf(self.df_denominator)
                                   else self.df_denominator)}


def power(components: VarianceComponents, pilot_cases: int, *, readers: int, cases: int,
          effect: float, alpha: float = 0.05, analysis: str = "rrrc") -> Power:
    """Predicted power of a two-modality study (``analysis``: rrrc, frrc or rrfc).

    Raises
    ------
    AnalysisError
        Fewer than two readers or cases, more than :data:`MAX_READERS` readers or
        :data:`MAX_CASES` cases, or an unknown analysis.
    """
    if readers < 2 or cases < 2:
        raise AnalysisError("sizing needs at least two readers and two cases")
    if readers > MAX_READERS or cases > MAX_CASES:
        raise AnalysisError(f"sizing takes at most {MAX_READERS} readers and {MAX_CASES} cases "
                            f"(found {readers} readers, {cases} cases)")
    scale = pilot_cases / cases
    var_tr = max(components.var_tr, 0.0)
    error = components.var_error - components.cov1
    between = components.cov2 - components.cov3
    ms_tr = var_tr + scale * (error - between)
    d2 = effect * effect
    if analysis == "rrrc":
        den = var_tr + scale * (error + (readers - 1) * between)
        lam = readers * d2 / (2 * den)
        ddf = (ms_tr + readers * scale * max(between, 0.0)) ** 2 / (ms_tr ** 2 / (readers - 1))
        critical = float(stats.f.isf(alpha, 1, ddf))
        value = float(stats.ncf.sf(critical, 1, ddf, lam))
    elif analysis == "frrc":
        lam = readers * d2 / (2 * scale * (error + (readers - 1) * between))
        ddf = math.inf
        value = float(stats.ncx2.sf(stats.chi2.isf(alpha, 1), 1, lam))
    elif analysis == "rrfc":
        lam = readers * d2 / (2 * ms_tr)
        ddf = readers - 1
        value = float(stats.ncf.sf(stats.f.isf(alpha, 1, ddf), 1, ddf, lam))
    else:
        raise AnalysisError(f"analysis {analysis!r}: expected rrrc, frrc or rrfc")
    return Power(analysis, readers, cases, effect, alpha, value, lam, ddf)


def smallest_cases(components: VarianceComponents, pilot_cases: int, *, readers: int,
                   effect: float, target: float = 0.8, alpha: float = 0.05,
                   analysis: str = "rrrc", limit: int = 100_000) -> Power | None:
    """The fewest cases giving at least ``target`` power with ``readers`` (None if not
    reached by ``limit`` cases: with random readers the power is bounded by var_TR)."""
    def at(cases: int) -> Power:
        return power(components, pilot_cases, readers=readers, cases=cases, effect=effect,
                     alpha=alpha, analysis=analysis)

    if at(limit).power < target:
        return None
    low, high = 2, limit
    while low < high:
        middle = (low + high) // 2
        if at(middle).power >= target:
            high = middle
        else:
            low = middle + 1
    return at(low)
