"""Obuchowski-Rockette analysis with Hillis's degrees of freedom, and the DBM cross-check.

Model (Obuchowski & Rockette 1995): the figure of merit of modality ``i`` and reader
``j`` is ``theta_ij = mu + tau_i + R_j + (tau R)_ij + e_ij``, readers random, the errors
correlated over cases with variance ``var_error`` and covariances ``Cov1`` (same reader,
different modalities), ``Cov2`` (same modality, different readers) and ``Cov3`` (both
different), estimated from the covariance of the estimates (:mod:`.fom`).  Mean squares
of the ``t x r`` table give ``var_R = (MS(R) - MS(T:R)) / t - Cov1 + Cov3`` and
``var_TR = MS(T:R) - var_error + Cov1 + Cov2 - Cov3``.

* Random readers and cases (Hillis 2005, 2007): ``F = MS(T) / (MS(T:R) + r max(Cov2 -
  Cov3, 0))`` on ``t - 1`` and ``ddf_H = den^2 / (MS(T:R)^2 / ((t - 1)(r - 1)))``.
* Fixed readers (random cases): ``X^2 = (t - 1) MS(T) / (var_error - Cov1 + (r - 1)(Cov2 -
  Cov3))`` on ``t - 1``; per-reader z tests.
* Fixed cases (random readers): ``F = MS(T) / MS(T:R)`` on ``t - 1, (t - 1)(r - 1)``.
* Dorfman-Berbaum-Metz: the three-way ANOVA of jackknife pseudovalues
  ``K theta - (K - 1) theta_(k)``; with Hillis's denominator it gives the same F and ddf
  as the OR analysis, which the report checks.

The difference of two modalities is always the first named minus the second.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from corridor_qms.validation.fom import FomEstimate
from corridor_qms.validation.study import AnalysisError

__all__ = ["RELATIVE_ZERO", "Comparison", "DbmResult", "ModalityEstimate", "OrResult",
           "VarianceComponents", "dbm_analysis", "hillis_df", "or_analysis"]

FloatArray = NDArray[np.float64]


RELATIVE_ZERO = 1e-12
"""A mean square below this fraction of its denominator is rounding noise of an exact zero
(readers identical): Hillis's degrees of freedom are then infinite, whatever the noise."""


def hillis_df(denominator: float, mean_square: float, df: float) -> float:
    """Hillis's (Satterthwaite) ``denominator^2 / (mean_square^2 / df)``; infinite when the
    mean square is zero up to rounding."""
    if not mean_square > RELATIVE_ZERO * abs(denominator):
        return math.inf
    return denominator ** 2 / (mean_square ** 2 / df)


def _r(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


@dataclass(frozen=True, slots=True)
class VarianceComponents:
    """OR variance components and the mean squares they come from."""

    var_r: float
    var_tr: float
    cov1: float
    cov2: float
    cov3: float
    var_error: float
    ms_t: float
    ms_r: float
    ms_tr: float

    def to_json(self) -> dict[str, float | None]:
        """Every field, plus the correlations ``Cov_n / var_error``."""
        result = {name: _r(getattr(self, name)) for name in self.__dataclass_fields__}
        for name in ("cov1", "cov2", "cov3"):
            result[f"corr{name[-1]}"] = _r(getattr(self, name) / self.var_error
                                          if self.var_error else math.nan)
        return result


@dataclass(frozen=True, slots=True)
class Comparison:
    """The difference of two modalities' reader-averaged figures of merit."""

    modalities: tuple[str, str]
    difference: float
    se: float
    ci95: tuple[float, float]
    statistic: float
    """t (random readers, random or fixed cases) or z (fixed readers)."""
    df_denominator: float
    """Degrees of freedom of the t statistic (infinite for z)."""
    p_value: float
    """Two-sided."""

    @property
    def f(self) -> float:
        """The F statistic of this pair (``t^2``)."""
        return self.statistic ** 2

    def one_sided_p(self, margin: float = 0.0) -> float:
        """P-value of H0: difference <= -margin against H1: difference > -margin.

        ``margin = 0`` tests superiority; ``margin > 0`` non-inferiority by ``margin``.  NaN
        (undefined) when the SE is 0: the data carry no information on the difference, so no
        hypothesis is accepted or rejected (SRS-VAL-007, SRS-VAL-019).
        """
        if not self.se > 0:
            return math.nan
        statistic = (self.difference + margin) / self.se
        if math.isinf(self.df_denominator):
            return float(stats.norm.sf(statistic))
        return float(stats.t.sf(statistic, self.df_denominator))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"modalities": list(self.modalities), "difference": self.difference,
                "se": _r(self.se), "ci95": [_r(self.ci95[0]), _r(self.ci95[1])],
                "t": _r(self.statistic), "f": _r(self.f),
                "df_denominator": _r(self.df_denominator), "p_value": _r(self.p_value)}


@dataclass(frozen=True, slots=True)
class ModalityEstimate:
    """A modality's reader-averaged figure of merit with its 95 % CI."""

    modality: str
    estimate: float
    se: float
    df: float
    ci95: tuple[float, float]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"modality": self.modality, "estimate": self.estimate, "se": _r(self.se),
                "df": _r(self.df), "ci95": [_r(self.ci95[0]), _r(self.ci95[1])]}


@dataclass(frozen=True, slots=True)
class GlobalTest:
    """The test that all modalities have the same figure of merit."""

    statistic: float
    df1: float
    df2: float
    p_value: float
    name: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"test": self.name, "statistic": _r(self.statistic), "df1": _r(self.df1),
                "df2": _r(self.df2), "p_value": _r(self.p_value)}


@dataclass(frozen=True, slots=True)
class Analysis:
    """One of the three analyses (random readers and cases; fixed readers; fixed cases)."""

    name: str
    global_test: GlobalTest
    comparisons: tuple[Comparison, ...]
    modalities: tuple[ModalityEstimate, ...]
    per_reader: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        document = {"analysis": self.name, "global_test": self.global_test.to_json(),
                    "comparisons": [c.to_json() for c in self.comparisons],
                    "modalities": [m.to_json() for m in self.modalities]}
        if self.per_reader:
            document["per_reader"] = list(self.per_reader)
        return document


@dataclass(frozen=True, slots=True, eq=False)
class OrResult:
    """The OR analysis of one figure of merit: table, components and the three analyses."""

    modalities: tuple[str, ...]
    readers: tuple[str, ...]
    estimate: FomEstimate
    components: VarianceComponents
    random_readers_random_cases: Analysis
    fixed_readers_random_cases: Analysis
    random_readers_fixed_cases: Analysis
    notes: tuple[str, ...]

    @property
    def means(self) -> dict[str, float]:
        """Reader-averaged figure of merit per modality."""
        values = self.estimate.values.mean(axis=1)
        return {m: float(v) for m, v in zip(self.modalities, values, strict=True)}

    def comparison(self, first: str, second: str) -> Comparison:
        """The random-reader, random-case comparison ``first - second``."""
        for item in self.random_readers_random_cases.comparisons:
            if item.modalities == (first, second):
                return item
            if item.modalities == (second, first):
                return _flip(item)
        raise KeyError(f"no comparison of {first} and {second}")

    def to_json(self) -> dict[str, Any]:
        """The fields ``--json`` promises (``auc`` names the figure of merit's means)."""
        fom = self.estimate.figure_of_merit.value
        rrrc = self.random_readers_random_cases
        return {
            "figure_of_merit": fom,
            "covariance": self.estimate.covariance_method.value,
            fom: self.means,
            "per_reader": {m: {r: float(v) for r, v in zip(self.readers, row, strict=True)}
                           for m, row in zip(self.modalities, self.estimate.values,
                                             strict=True)},
            "comparisons": [c.to_json() for c in rrrc.comparisons],
            "global_test": rrrc.global_test.to_json(),
            "modalities": [m.to_json() for m in rrrc.modalities],
            "variance_components": self.components.to_json(),
            "fixed_readers": self.fixed_readers_random_cases.to_json(),
            "fixed_cases": self.random_readers_fixed_cases.to_json(),
            "notes": list(self.notes),
        }


def _flip(item: Comparison) -> Comparison:
    return Comparison((item.modalities[1], item.modalities[0]), -item.difference, item.se,
                      (-item.ci95[1], -item.ci95[0]), -item.statistic, item.df_denominator,
                      item.p_value)


def _t_comparison(names: tuple[str, str], difference: float, se: float, df: float
                  ) -> Comparison:
    if not se > 0:  # the test is undefined (SRS-VAL-007): no statistic, no p-value
        return Comparison(names, difference, se, (difference, difference), math.nan, df,
                          math.nan)
    statistic = difference / se
    if math.isinf(df):
        half = float(stats.norm.ppf(0.975)) * se
        p = float(2 * stats.norm.sf(abs(statistic)))
    else:
        half = float(stats.t.ppf(0.975, df)) * se
        p = float(2 * stats.t.sf(abs(statistic), df))
    return Comparison(names, difference, se, (difference - half, difference + half), statistic,
                      df, p)


def _modality_ci(name: str, value: float, se: float, df: float) -> ModalityEstimate:
    quantile = float(stats.norm.ppf(0.975) if math.isinf(df) else stats.t.ppf(0.975, df))
    return ModalityEstimate(name, value, se, df, (value - quantile * se, value + quantile * se))


def _covariances(matrix: FloatArray, t: int, r: int, groups: NDArray[np.int64]
                 ) -> tuple[float, float, float, float]:
    """var_error, Cov1, and Cov2 and Cov3 over reader pairs of the same group."""
    modality = np.repeat(np.arange(t), r)
    reader = np.tile(np.arange(r), t)
    group = np.tile(groups, t)
    same_m = modality[:, None] == modality[None, :]
    same_r = reader[:, None] == reader[None, :]
    same_g = group[:, None] == group[None, :]

    def mean(mask: NDArray[np.bool_]) -> float:
        return float(matrix[mask].mean()) if mask.any() else math.nan

    return (mean(same_m & same_r), mean(~same_m & same_r), mean(same_m & ~same_r & same_g),
            mean(~same_m & ~same_r & same_g))


def or_analysis(estimate: FomEstimate, modalities: tuple[str, ...],
                readers: tuple[str, ...], groups: NDArray[np.int64] | None = None) -> OrResult:
    """The Obuchowski-Rockette analysis of a figure-of-merit estimate (see the module doc).

    ``groups`` gives each reader's group in a split-plot design (readers of different groups
    share no cases).  Cov2 and Cov3 are then averaged over pairs of readers of the same group
    and weighted by ``w = sum_g r_g (r_g - 1) / (r (r - 1))``, the share of reader pairs that
    share cases: ``E[MS(T:R)] = var_TR + var_error - Cov1 - w (Cov2 - Cov3)`` and the variance
    of a difference of modality means is ``2 / r (E[MS(T:R)] + r w (Cov2 - Cov3))``, so the
    denominators become ``MS(T:R) + r w max(Cov2 - Cov3, 0)``; ``w = 1`` fully crossed.
    """
    theta = estimate.values
    t, r = theta.shape
    if r < 2:
        raise AnalysisError("an MRMC analysis needs at least two readers")
    groups = np.zeros(r, dtype=np.int64) if groups is None else np.asarray(groups)
    sizes = np.bincount(groups)
    w = float(np.sum(sizes * (sizes - 1)) / (r * (r - 1)))
    notes: list[str] = []
    if w < 1.0:
        notes.append(f"split-plot: {len(sizes[sizes > 0])} reader groups; Cov2 and Cov3 are "
                     f"averaged within groups and weighted by w = {w:.4g}, the share of reader "
                     "pairs that read the same cases")
    modality_means = theta.mean(axis=1)
    reader_means = theta.mean(axis=0)
    grand = float(theta.mean())
    ms_t = r * float(np.sum((modality_means - grand) ** 2)) / (t - 1) if t > 1 else math.nan
    ms_r = t * float(np.sum((reader_means - grand) ** 2)) / (r - 1)
    interaction = theta - modality_means[:, None] - reader_means[None, :] + grand
    ms_tr = float(np.sum(interaction ** 2)) / ((t - 1) * (r - 1)) if t > 1 else math.nan
    var_error, cov1, cov2, cov3 = _covariances(estimate.covariance, t, r, groups)
    if w == 0.0:  # every reader alone in a group: no pair shares cases
        cov2 = cov3 = 0.0
    if t > 1:
        var_r = (ms_r - ms_tr) / t - cov1 + w * cov3
        var_tr = ms_tr - var_error + cov1 + w * (cov2 - cov3)
    else:
        var_r = ms_r - var_error + w * cov2
        var_tr = math.nan
    components = VarianceComponents(var_r, var_tr, cov1, cov2, cov3, var_error, ms_t, ms_r,
                                    ms_tr)
    for name in ("var_r", "var_tr"):
        if getattr(components, name) < 0:
            notes.append(f"{name} is estimated negative ({getattr(components, name):.3g}); "
                         "reported as estimated (not truncated)")
    if t > 1 and cov2 < cov3:
        notes.append("Cov2 < Cov3: max(Cov2 - Cov3, 0) = 0 in the random-reader denominator "
                     "and its degrees of freedom (Hillis 2007)")
    pairs = list(itertools.combinations(range(t), 2))

    # Random readers, random cases.
    den = ms_tr + r * w * max(cov2 - cov3, 0.0) if t > 1 else math.nan
    if t > 1 and den <= RELATIVE_ZERO * max(abs(ms_t), abs(ms_tr), abs(var_error)):
        den = 0.0  # rounding noise of an exact zero: the test is undefined, not huge
    ddf = hillis_df(den, ms_tr, (t - 1) * (r - 1)) if t > 1 else math.inf
    f = ms_t / den if t > 1 and den > 0 else math.nan
    rrrc_global = GlobalTest(f, t - 1, ddf, float(stats.f.sf(f, t - 1, ddf))
                             if math.isfinite(f) else math.nan, "F (Hillis ddf)")
    rrrc_pairs = tuple(_t_comparison((modalities[a], modalities[b]),
                                     float(modality_means[a] - modality_means[b]),
                                     math.sqrt(2.0 / r * den), ddf) for a, b in pairs)
    rrrc_single = []
    frrc_single = []
    rrfc_single = []
    for i in range(t):
        ms_r_i = float(np.sum((theta[i] - modality_means[i]) ** 2)) / (r - 1)
        block = estimate.covariance[i * r:(i + 1) * r, i * r:(i + 1) * r]
        off = ~np.eye(r, dtype=bool) & (groups[:, None] == groups[None, :])
        cov2_i = float(block[off].mean()) if off.any() else 0.0
        var_i = float(np.diag(block).mean())
        den_i = ms_r_i + r * w * max(cov2_i, 0.0)
        df_i = hillis_df(den_i, ms_r_i, r - 1)
        rrrc_single.append(_modality_ci(modalities[i], float(modality_means[i]),
                                        math.sqrt(den_i / r), df_i))
        frrc_single.append(_modality_ci(modalities[i], float(modality_means[i]),
                                        math.sqrt(max(var_i + (r - 1) * w * cov2_i, 0.0) / r),
                                        math.inf))
        rrfc_single.append(_modality_ci(modalities[i], float(modality_means[i]),
                                        math.sqrt(ms_r_i / r), r - 1))
    rrrc = Analysis("random readers, random cases", rrrc_global, rrrc_pairs, tuple(rrrc_single))

    # Fixed readers, random cases.
    den_f = var_error - cov1 + (r - 1) * w * (cov2 - cov3) if t > 1 else math.nan
    chi2 = (t - 1) * ms_t / den_f if t > 1 and den_f > 0 else math.nan
    frrc_global = GlobalTest(chi2, t - 1, math.inf, float(stats.chi2.sf(chi2, t - 1))
                             if math.isfinite(chi2) else math.nan, "chi-square")
    frrc_pairs = tuple(_t_comparison((modalities[a], modalities[b]),
                                     float(modality_means[a] - modality_means[b]),
                                     math.sqrt(max(2.0 / r * den_f, 0.0)), math.inf)
                       for a, b in pairs)
    per_reader = []
    for a, b in pairs:
        for j in range(r):
            p_, q_ = a * r + j, b * r + j
            variance = (estimate.covariance[p_, p_] + estimate.covariance[q_, q_]
                        - 2 * estimate.covariance[p_, q_])
            item = _t_comparison((modalities[a], modalities[b]), float(theta[a, j] - theta[b, j]),
                                 math.sqrt(max(variance, 0.0)), math.inf)
            per_reader.append({"reader": readers[j], **item.to_json()})
    frrc = Analysis("fixed readers, random cases", frrc_global, frrc_pairs, tuple(frrc_single),
                    tuple(per_reader))

    # Random readers, fixed cases.
    df_fc = (t - 1) * (r - 1)
    f_fc = ms_t / ms_tr if t > 1 and ms_tr > 0 else math.nan
    rrfc_global = GlobalTest(f_fc, t - 1, df_fc, float(stats.f.sf(f_fc, t - 1, df_fc))
                             if math.isfinite(f_fc) else math.nan, "F")
    rrfc_pairs = tuple(_t_comparison((modalities[a], modalities[b]),
                                     float(modality_means[a] - modality_means[b]),
                                     math.sqrt(2.0 * ms_tr / r), df_fc) for a, b in pairs)
    rrfc = Analysis("random readers, fixed cases", rrfc_global, rrfc_pairs, tuple(rrfc_single))
    return OrResult(modalities, readers, estimate, components, rrrc, frrc, rrfc, tuple(notes))


@dataclass(frozen=True, slots=True)
class DbmResult:
    """The DBM pseudovalue ANOVA and its random-reader, random-case test."""

    mean_squares: dict[str, float]
    components: dict[str, float]
    f: float
    df_denominator: float
    p_value: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"mean_squares": self.mean_squares, "variance_components": self.components,
                "f": _r(self.f), "df_denominator": _r(self.df_denominator),
                "p_value": _r(self.p_value)}


def dbm_analysis(estimate: FomEstimate) -> DbmResult:
    """DBM: three-way ANOVA of the jackknife pseudovalues (modality x reader x case).

    Raises
    ------
    AnalysisError
        The estimate has no jackknife values (another covariance method was used).
    """
    if estimate.jackknife is None:
        raise AnalysisError("DBM needs the jackknife leave-one-out values")
    k = estimate.cases_left_out
    y = k * estimate.values[:, :, None] - (k - 1) * estimate.jackknife
    t, r, c = y.shape
    m = y.mean()
    mt, mr, mc = y.mean(axis=(1, 2)), y.mean(axis=(0, 2)), y.mean(axis=(0, 1))
    mtr, mtc, mrc = y.mean(axis=2), y.mean(axis=1), y.mean(axis=0)
    ss = {
        "T": r * c * float(np.sum((mt - m) ** 2)),
        "R": t * c * float(np.sum((mr - m) ** 2)),
        "C": t * r * float(np.sum((mc - m) ** 2)),
        "TR": c * float(np.sum((mtr - mt[:, None] - mr[None, :] + m) ** 2)),
        "TC": r * float(np.sum((mtc - mt[:, None] - mc[None, :] + m) ** 2)),
        "RC": t * float(np.sum((mrc - mr[:, None] - mc[None, :] + m) ** 2)),
    }
    residual = (y - mtr[:, :, None] - mtc[:, None, :] - mrc[None, :, :] + mt[:, None, None]
                + mr[None, :, None] + mc[None, None, :] - m)
    ss["TRC"] = float(np.sum(residual ** 2))
    df = {"T": t - 1, "R": r - 1, "C": c - 1, "TR": (t - 1) * (r - 1), "TC": (t - 1) * (c - 1),
          "RC": (r - 1) * (c - 1), "TRC": (t - 1) * (r - 1) * (c - 1)}
    ms = {name: ss[name] / df[name] if df[name] else math.nan for name in ss}
    den = ms["TR"] + max(ms["TC"] - ms["TRC"], 0.0)
    f = ms["T"] / den if den > 0 else math.nan
    ddf = hillis_df(den, ms["TR"], df["TR"])
    components = {
        "var_r": (ms["R"] - ms["TR"] - ms["RC"] + ms["TRC"]) / (t * c),
        "var_c": (ms["C"] - ms["TC"] - ms["RC"] + ms["TRC"]) / (t * r),
        "var_tr": (ms["TR"] - ms["TRC"]) / c,
        "var_tc": (ms["TC"] - ms["TRC"]) / r,
        "var_rc": (ms["RC"] - ms["TRC"]) / t,
        "var_trc_error": ms["TRC"],
    }
    return DbmResult(ms, components, f, ddf,
                     float(stats.f.sf(f, t - 1, ddf)) if math.isfinite(f) else math.nan)
