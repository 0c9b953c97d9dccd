"""Continuous planning endpoints (angular error, entry-point error, clearance, Dice) across readers.

Model: a linear mixed model with modality as the fixed effect and crossed random effects

    value = mu + tau_modality + reader + case + reader:modality + case:modality
            + reader:case + error,

fitted by REML (restricted maximum likelihood), every component bounded at 0.
The difference between two modalities is the fixed-effect contrast with its model-based SE;
tests and 95 % CIs are large-sample (normal).  Superiority and non-inferiority are one-sided
in the endpoint's better direction (lower is better for errors, higher for clearance or Dice).

Two fits, both exact REML (PR-002 replaced statsmodels MixedLM, which took minutes for tens
of cases, with them):

* **Balanced, fully crossed data** (one value per reader, modality and case; what
  :func:`load_measurements` admits).  The covariance matrix has the ANOVA strata (R, C, T:R,
  T:C, R:C, T:R:C) as eigenspaces, its eigenvalues their expected mean squares ``lambda_s``,
  so the restricted deviance is ``sum_s df_s log(lambda_s) + SS_s / lambda_s`` (Searle,
  Casella and McCulloch 1992, ch. 6).  Where the ANOVA estimates (``lambda_s = MS_s``) are
  non-negative they maximise it: the contrast is the difference of the modality means and its
  variance ``2 (MS(T:R) + MS(T:C) - MS(T:R:C)) / (r c)``.  Otherwise a component is at its
  bound 0 and six numbers are optimised with the exact gradient (L-BFGS-B, several starts).
  Cost: the sums of squares, linear in the data.
* **Any other layout** (missing readings; only through :class:`Measurements` built in code):
  the deviance profiled over the residual variance in the penalised least-squares form of
  lme4 (Bates et al. 2015), the reader:case block, diagonal, absorbed before a dense Cholesky
  of the readers, cases and their modality interactions; L-BFGS-B over the five relative SDs
  from several starts, the highest restricted likelihood kept.

Both are verified against statsmodels MixedLM on small studies and against the balanced
closed form (``verification/features/validation/continuous.feature``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from corridor_qms.validation.study import (
    AnalysisError,
    DataFinding,
    StudyDataError,
    read_csv_rows,
)

__all__ = ["ContinuousResult", "Measurements", "fit_continuous", "load_measurements"]

@dataclass(frozen=True, slots=True, eq=False)
class Measurements:
    """One value per reader, modality and case (long form, as read)."""

    readers: tuple[str, ...]
    modalities: tuple[str, ...]
    cases: tuple[str, ...]
    rows: tuple[tuple[str, str, str, float], ...]
    source: str


def load_measurements(path: Path) -> Measurements:
    """Read ``reader, modality, case, value`` (``treatment`` accepted for ``modality``).

    Raises
    ------
    StudyDataError
        Missing columns, empty or non-numeric values, duplicates, or missing cells, each with
        its row number.
    """
    source = str(path)
    rows = read_csv_rows(path)
    if rows and "treatment" in rows[0] and "modality" not in rows[0]:
        rows = [{**r, "modality": r["treatment"]} for r in rows]
    needed = ("reader", "modality", "case", "value")
    if not rows or any(c not in rows[0] for c in needed):
        raise StudyDataError(source, [DataFinding(0, "expected columns reader, modality (or "
                                                     "treatment), case, value")])
    findings: list[DataFinding] = []
    seen: dict[tuple[str, str, str], int] = {}
    kept: list[tuple[str, str, str, float]] = []
    for number, row in enumerate(rows, start=1):
        reader, modality, case, text = ((row.get(c) or "").strip() for c in needed)
        if not (reader and modality and case and text):
            findings.append(DataFinding(number, "empty reader, modality, case or value"))
            continue
        try:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
        except ValueError:
            findings.append(DataFinding(number, f"value {text!r} is not a finite number"))
            continue
        key = (reader, modality, case)
        if key in seen:
            findings.append(DataFinding(number, f"duplicate value of case {case!r} by reader "
                                                f"{reader!r} in {modality!r} (first in row "
                                                f"{seen[key]})"))
            continue
        seen[key] = number
        kept.append((reader, modality, case, value))
    readers = tuple(dict.fromkeys(r[0] for r in kept))
    modalities = tuple(dict.fromkeys(r[1] for r in kept))
    cases = tuple(dict.fromkeys(r[2] for r in kept))
    missing = len(readers) * len(modalities) * len(cases) - len(kept)
    if not findings and missing:
        findings.append(DataFinding(0, f"{missing} reader x modality x case cell(s) have no "
                                       "value (the model needs the fully crossed design)"))
    if findings:
        raise StudyDataError(source, findings)
    return Measurements(readers, modalities, cases, tuple(kept), source)


@dataclass(frozen=True, slots=True)
class ContinuousResult:
    """The modality contrast of a continuous endpoint and its tests."""

    test_modality: str
    reference_modality: str
    means: dict[str, float]
    difference: float
    se: float
    ci95: tuple[float, float]
    p_value: float
    lower_is_better: bool
    margin: float
    p_superiority: float
    p_non_inferiority: float
    variance_components: dict[str, float]
    converged: bool

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {name: (list(v) if isinstance(v := getattr(self, name), tuple) else v)
                for name in self.__dataclass_fields__}


_COMPONENTS = ("reader", "case", "reader_modality", "case_modality", "reader_case")
"""The random effects, in the order of :attr:`ContinuousResult.variance_components`."""

_STARTS = (1.0, 0.3, 3.0)
"""Variance ratios (component / residual) of the fit's extra starts, after the ANOVA one."""


@dataclass(frozen=True, slots=True)
class _Design:
    """The two modalities' values with the indicator matrices the profiled REML works with.

    ``W`` holds the reader, case, reader:modality and case:modality indicators and then the
    fixed effects (intercept, test indicator); ``Q`` the reader:case cells against ``W``.
    """

    y: np.ndarray
    counts: np.ndarray  # values per reader:case cell
    gram: np.ndarray  # W'W, dense
    q: Any  # Z_rc'W, scipy.sparse CSR
    wy: np.ndarray
    zy: np.ndarray
    block: np.ndarray  # which random effect (0-3) each column of W belongs to; -1: fixed
    fixed: int


def _design(reader: np.ndarray, case: np.ndarray, treat: np.ndarray, y: np.ndarray,
            readers: int, cases: int) -> _Design:
    from scipy import sparse

    n = len(y)
    rows = np.arange(n)
    columns = [reader, readers + case, readers + cases + 2 * reader + treat,
               3 * readers + cases + 2 * case + treat]
    width = 3 * readers + 3 * cases
    z = sparse.csr_matrix((np.ones(4 * n), (np.tile(rows, 4), np.concatenate(columns))),
                          shape=(n, width))
    w = sparse.hstack([z, sparse.csr_matrix(np.column_stack([np.ones(n), treat]))]).tocsr()
    cell = reader * cases + case
    cells, cell_index = np.unique(cell, return_inverse=True)
    zrc = sparse.csr_matrix((np.ones(n), (rows, cell_index)), shape=(n, len(cells)))
    block = np.concatenate([np.full(readers, 0), np.full(cases, 1), np.full(2 * readers, 2),
                            np.full(2 * cases, 3), np.full(2, -1)])
    return _Design(y, np.asarray(zrc.sum(axis=0)).ravel(), (w.T @ w).toarray(),
                   (zrc.T @ w).tocsr(), w.T @ y, zrc.T @ y, block, 2)


@dataclass(frozen=True, slots=True)
class _Solution:
    theta: np.ndarray  # relative SDs (component SD / residual SD)
    deviance: float  # -2 x restricted log-likelihood
    beta: np.ndarray
    beta_cov: np.ndarray
    residual: float  # residual variance


def _solve(design: _Design, theta: np.ndarray, *, covariance: bool = False) -> _Solution:
    """The REML deviance profiled over the residual variance at relative SDs ``theta``.

    With ``Lambda`` the relative SDs on the random-effect columns, the penalised least-squares
    system ``[[Lambda Z'Z Lambda + I, Lambda Z'X], [X'Z Lambda, X'X]]`` (Bates et al. 2015,
    lme4) has the log-determinant ``log|L|^2 + log|R_X|^2`` of the REML deviance
    ``log|A| + (n - p) (1 + log(2 pi r^2 / (n - p)))``.  The reader:case block is diagonal and is
    absorbed first; the rest (readers, cases and their modality interactions) is dense.
    """
    from scipy import linalg

    n, p = len(design.y), design.fixed
    scale = np.where(design.block >= 0, theta[np.maximum(design.block, 0)], 1.0)
    d = theta[4] ** 2 * design.counts + 1.0
    # The Schur complement of the reader:case block, S = E - B' D^-1 B.
    absorbed = (design.q.multiply((theta[4] ** 2 / d)[:, None]).T @ design.q).toarray()
    s = (design.gram - absorbed) * scale[:, None] * scale[None, :]
    s[np.diag_indices_from(s)] += (design.block >= 0).astype(float)
    rhs_rc = theta[4] * design.zy
    rhs = scale * design.wy
    reduced = rhs - scale * (design.q.T @ (theta[4] * rhs_rc / d))
    try:
        factor = linalg.cho_factor(s, lower=True)
    except linalg.LinAlgError:
        return _Solution(theta, math.inf, np.full(p, math.nan), np.full((p, p), math.nan),
                         math.nan)
    v = linalg.cho_solve(factor, reduced)
    u = (rhs_rc - theta[4] * (design.q @ (scale * v))) / d
    penalised = float(design.y @ design.y - rhs_rc @ u - rhs @ v)
    log_det = float(np.sum(np.log(d)) + 2 * np.sum(np.log(np.diag(factor[0]))))
    residual = penalised / (n - p)
    if not (residual > 0 and math.isfinite(log_det)):
        return _Solution(theta, math.inf, v[-p:], np.full((p, p), math.nan), math.nan)
    deviance = log_det + (n - p) * (1 + math.log(2 * math.pi * residual))
    if not covariance:
        return _Solution(theta, deviance, v[-p:], np.full((p, p), math.nan), residual)
    unit = np.zeros((len(s), p))
    unit[-p:, :] = np.eye(p)
    inverse = linalg.cho_solve(factor, unit)[-p:, :]
    return _Solution(theta, deviance, v[-p:], residual * inverse, residual)


@dataclass(frozen=True, slots=True)
class _Fit:
    """A REML fit on the unit scale: the contrast, its variance and the components."""

    difference: float
    variance: float
    components: np.ndarray  # _COMPONENTS, then the residual
    converged: bool


def _reached(best: float, fits: list[tuple[float, bool]]) -> bool:
    """Whether a start whose optimiser reported convergence reached the best deviance.

    Within ``1e-8`` (relative): the starts stop a few ulps apart on a flat top, and the best of
    them need not be the one whose line search ended cleanly.
    """
    return any(ok and value <= best + 1e-8 * max(1.0, abs(best)) for value, ok in fits)


def _strata(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of squares, degrees of freedom and expected-mean-square coefficients of ``y``.

    ``y`` is (modality, reader, case), test first.  The strata are R, C, T:R, T:C, R:C and
    T:R:C; row ``s`` of the coefficients gives stratum ``s``'s expected mean square from the
    components (``_COMPONENTS``, residual) of the unrestricted model with two modalities.
    """
    _, r, c = y.shape
    mt, mtr, mtc = y.mean(axis=(1, 2)), y.mean(axis=2), y.mean(axis=1)
    mr, mc, mrc, g = y.mean(axis=(0, 2)), y.mean(axis=(0, 1)), y.mean(axis=0), y.mean()
    rest = (y - mtr[:, :, None] - mtc[:, None, :] - mrc[None] + mt[:, None, None]
            + mr[None, :, None] + mc[None, None, :] - g)
    sums = np.array([2 * c * np.sum((mr - g) ** 2), 2 * r * np.sum((mc - g) ** 2),
                     c * np.sum((mtr - mt[:, None] - mr[None, :] + g) ** 2),
                     r * np.sum((mtc - mt[:, None] - mc[None, :] + g) ** 2),
                     2 * np.sum((mrc - mr[:, None] - mc[None, :] + g) ** 2), np.sum(rest ** 2)])
    freedom = np.array([r - 1, c - 1, r - 1, c - 1, (r - 1) * (c - 1), (r - 1) * (c - 1)],
                       dtype=np.float64)
    coefficients = np.array([[2 * c, 0, c, 0, 2, 1], [0, 2 * r, 0, r, 2, 1],
                             [0, 0, c, 0, 0, 1], [0, 0, 0, r, 0, 1], [0, 0, 0, 0, 2, 1],
                             [0, 0, 0, 0, 0, 1]], dtype=np.float64)
    return sums, freedom, coefficients


def _fit_balanced(y: np.ndarray) -> _Fit:
    """REML of the balanced, fully crossed layout ``y`` (modality, reader, case), test first.

    The restricted deviance is ``sum_s df_s log(lambda_s) + SS_s / lambda_s`` over the six
    strata below the fixed effects, ``lambda`` the expected mean squares (Searle, Casella and
    McCulloch 1992, ch. 6).  Where the ANOVA estimates (``lambda_s = MS_s``) are all
    non-negative they maximise it; otherwise L-BFGS-B with the exact gradient over components
    bounded at 0, from the truncated ANOVA estimates and from ``_STARTS``, best kept.
    """
    from scipy import optimize

    _, r, c = y.shape
    sums, freedom, coefficients = _strata(y)
    anova = np.linalg.solve(coefficients, sums / freedom)
    best, converged = anova, True
    if not (np.all(anova >= 0) and anova[-1] > 0):

        def deviance(sigma: np.ndarray) -> tuple[float, np.ndarray]:
            expected = coefficients @ sigma
            slope = freedom / expected - sums / expected**2
            return (float(np.sum(freedom * np.log(expected) + sums / expected)),
                    coefficients.T @ slope)

        floor = 1e-12 * float(np.sum(sums) / np.sum(freedom))
        bounds = [(0.0, None)] * len(_COMPONENTS) + [(floor, None)]
        residual = max(float(sums[-1] / freedom[-1]), floor)
        starts = [np.append(np.maximum(anova[:-1], 0.0), residual)]
        starts += [np.append(np.full(len(_COMPONENTS), ratio * residual), residual)
                   for ratio in _STARTS]
        fits = [optimize.minimize(deviance, start, jac=True, method="L-BFGS-B", bounds=bounds,
                                  options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000})
                for start in starts]
        top = min(fits, key=lambda fit: float(fit.fun))
        best = np.asarray(top.x, dtype=np.float64)
        converged = _reached(float(top.fun), [(float(f.fun), bool(f.success)) for f in fits])
    expected = coefficients @ best
    variance = 2 * (expected[2] + expected[3] - expected[5]) / (r * c)
    difference = float(y[0].mean() - y[1].mean())
    return _Fit(difference, float(variance), best, converged)


def _fit_general(design: _Design) -> _Fit:
    """REML of any layout: L-BFGS-B over the relative SDs (bounded at 0) from ``_STARTS``.

    The deviance is profiled over the residual variance (:func:`_solve`); the highest
    restricted likelihood of the starts is kept, since the surface can hold local optima.
    """
    from scipy import optimize

    # Far from the maximum the penalised residual can round to <= 0 (deviance inf); the
    # finite-difference gradient there is nan, the line search backs off, and a start that
    # cannot recover reports no convergence, which _reached accounts for.
    with np.errstate(invalid="ignore"):
        fits = [optimize.minimize(lambda theta: _solve(design, theta).deviance,
                                  np.full(len(_COMPONENTS), math.sqrt(ratio)), method="L-BFGS-B",
                                  bounds=[(0.0, None)] * len(_COMPONENTS),
                                  options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 500})
                for ratio in _STARTS]
    top = min(fits, key=lambda fit: float(fit.fun))
    solution = _solve(design, np.asarray(top.x, dtype=np.float64), covariance=True)
    converged = (math.isfinite(solution.deviance)
                 and _reached(float(top.fun), [(float(f.fun), bool(f.success)) for f in fits]))
    components = np.append(solution.theta**2 * solution.residual, solution.residual)
    return _Fit(float(solution.beta[1]), float(solution.beta_cov[1, 1]), components, converged)


def fit_continuous(data: Measurements, *, test: str, reference: str,
                   lower_is_better: bool, margin: float = 0.0) -> ContinuousResult:
    """Fit the crossed mixed model to two modalities and test ``test`` against ``reference``.

    Non-inferiority: H0 that ``test`` is worse than ``reference`` by at least ``margin``.

    Raises
    ------
    AnalysisError
        Unknown modalities, fewer than two readers or cases, values that are all equal or
        whose variance overflows, or a fit without a finite difference and SE.
    """
    if test not in data.modalities or reference not in data.modalities or test == reference:
        raise AnalysisError(f"test and reference must be two modalities of the data "
                            f"({', '.join(data.modalities)})")
    if len(data.readers) < 2 or len(data.cases) < 2:
        raise AnalysisError("the model needs at least two readers and two cases")
    kept = [row for row in data.rows if row[1] in (test, reference)]
    values = np.array([row[3] for row in kept], dtype=np.float64)
    if np.ptp(values) == 0.0:
        raise AnalysisError(f"every value of {test} and {reference} is {values[0]:g}: the mixed "
                            "model has no variance to estimate (expected values that vary)")
    with np.errstate(over="ignore", invalid="ignore"):
        spread = float(np.var(values))
    if not (math.isfinite(spread) and spread > 0):
        raise AnalysisError(f"the values' variance overflows (largest magnitude "
                            f"{float(np.max(np.abs(values))):g}); expected values whose squares "
                            "are finite")
    readers = {name: j for j, name in enumerate(dict.fromkeys(row[0] for row in kept))}
    cases = {name: k for k, name in enumerate(dict.fromkeys(row[2] for row in kept))}
    reader = np.array([readers[row[0]] for row in kept])
    case = np.array([cases[row[2]] for row in kept])
    treat = np.array([1.0 if row[1] == test else 0.0 for row in kept])
    # Fitted on a unit scale: the REML estimates scale with the data (variances by its square).
    centre, unit = float(np.mean(values)), math.sqrt(spread)
    scaled = (values - centre) / unit
    if len(kept) == 2 * len(readers) * len(cases):  # one value per cell: balanced
        y = np.empty((2, len(readers), len(cases)))
        y[(1 - treat).astype(int), reader, case] = scaled
        fit = _fit_balanced(y)
    else:
        fit = _fit_general(_design(reader, case, treat, scaled, len(readers), len(cases)))
    difference = fit.difference * unit
    with np.errstate(invalid="ignore"):
        se = math.sqrt(fit.variance) * unit if fit.variance >= 0 else math.nan
    if not (math.isfinite(difference) and math.isfinite(se)):
        raise AnalysisError(f"the mixed model gave no finite estimate of {test} - {reference} "
                            f"(difference {difference:g}, SE {se:g}); the data do not support "
                            "the model")
    z = stats.norm.ppf(0.975)
    sign = -1.0 if lower_is_better else 1.0  # improvement = sign * difference > 0
    p_two = float(2 * stats.norm.sf(abs(difference) / se)) if se > 0 else math.nan
    p_sup = float(stats.norm.sf(sign * difference / se)) if se > 0 else math.nan
    p_ni = float(stats.norm.sf((sign * difference + margin) / se)) if se > 0 else math.nan
    vcomp = {name: float(v) * unit**2
             for name, v in zip((*_COMPONENTS, "residual"), fit.components, strict=True)}
    means = {m: float(np.mean([row[3] for row in kept if row[1] == m]))
             for m in (test, reference)}
    return ContinuousResult(test, reference, means, difference, se,
                            (difference - z * se, difference + z * se), p_two, lower_is_better,
                            margin, p_sup, p_ni, vcomp, fit.converged)
