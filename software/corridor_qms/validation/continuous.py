"""Continuous planning endpoints (angular error, entry-point error, clearance, Dice) across readers.

Model: a linear mixed model with modality as the fixed effect and crossed random effects

    value = mu + tau_modality + reader + case + reader:modality + case:modality
            + reader:case + error,

fitted by REML with statsmodels (one group; the crossed effects as variance components),
started from three optimisers, the highest restricted likelihood kept and then polished by a
gradient fit started from it.
The difference between two modalities is the fixed-effect contrast with its model-based SE;
tests and 95 % CIs are large-sample (normal).  Superiority and non-inferiority are one-sided
in the endpoint's better direction (lower is better for errors, higher for clearance or Dice).
For balanced, fully crossed data whose ANOVA estimates of every component are positive, REML
gives the ANOVA estimates, the contrast is the difference of the modality means and its
variance ``2 (MS(T:R) + MS(T:C) - MS(T:R:C)) / (r c)``.
"""

from __future__ import annotations

import math
import warnings
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

_OPTIMISERS = ("lbfgs", "bfgs", "powell")
"""Optimisers each REML fit is started with; the best restricted likelihood is kept."""


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


def _likelihood(fit: Any) -> float:
    return float(fit.llf) if np.isfinite(fit.llf) else -math.inf


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
    import pandas as pd
    import statsmodels.formula.api as smf

    if test not in data.modalities or reference not in data.modalities or test == reference:
        raise AnalysisError(f"test and reference must be two modalities of the data "
                            f"({', '.join(data.modalities)})")
    if len(data.readers) < 2 or len(data.cases) < 2:
        raise AnalysisError("the model needs at least two readers and two cases")
    frame = pd.DataFrame(data.rows, columns=["reader", "modality", "case", "value"])
    frame = frame[frame["modality"].isin([test, reference])].copy()
    values = frame["value"].to_numpy(dtype=np.float64)
    if np.ptp(values) == 0.0:
        raise AnalysisError(f"every value of {test} and {reference} is {values[0]:g}: the mixed "
                            "model has no variance to estimate (expected values that vary)")
    with np.errstate(over="ignore", invalid="ignore"):
        spread = float(np.var(values))
    if not math.isfinite(spread):
        raise AnalysisError(f"the values' variance overflows (largest magnitude "
                            f"{float(np.max(np.abs(values))):g}); expected values whose squares "
                            "are finite")
    frame["treat"] = (frame["modality"] == test).astype(float)
    frame["group"] = 1
    components = {"reader": "0 + C(reader)", "case": "0 + C(case)",
                  "reader_modality": "0 + C(reader):C(modality)",
                  "case_modality": "0 + C(case):C(modality)",
                  "reader_case": "0 + C(reader):C(case)"}
    model = smf.mixedlm("value ~ treat", frame, groups="group", vc_formula=components,
                        re_formula="0")
    # The REML surface of crossed variance components can hold local optima: L-BFGS alone
    # stopped at one on a balanced example (SE 11 % off the ANOVA closed form). Fit from each
    # optimiser and keep the highest restricted log-likelihood.
    fits = []
    for method in _OPTIMISERS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fits.append(model.fit(reml=True, method=method))
            except (ValueError, np.linalg.LinAlgError):
                continue
    if not fits:
        raise AnalysisError("the mixed model could not be fitted by any optimiser")
    fit = max(fits, key=_likelihood)
    # The surface is also flat near its top: Powell stopped 0.02 below the maximum on another
    # balanced example (SE 2 % off). A gradient fit started from the best one climbs the rest.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            polished = model.fit(reml=True, method="lbfgs", start_params=fit.params_object)
        except (ValueError, np.linalg.LinAlgError):
            polished = fit
    fit = max((fit, polished), key=_likelihood)
    difference = float(fit.fe_params["treat"])
    with np.errstate(invalid="ignore"):
        se = float(np.sqrt(fit.cov_params().loc["treat", "treat"]))
    if not (math.isfinite(difference) and math.isfinite(se)):
        raise AnalysisError(f"the mixed model gave no finite estimate of {test} - {reference} "
                            f"(difference {difference:g}, SE {se:g}); the data do not support "
                            "the model")
    z = stats.norm.ppf(0.975)
    sign = -1.0 if lower_is_better else 1.0  # improvement = sign * difference > 0
    p_two = float(2 * stats.norm.sf(abs(difference) / se)) if se > 0 else math.nan
    p_sup = float(stats.norm.sf(sign * difference / se)) if se > 0 else math.nan
    p_ni = float(stats.norm.sf((sign * difference + margin) / se)) if se > 0 else math.nan
    names = list(components)
    vcomp = {name: float(v) for name, v in zip(names, fit.vcomp, strict=True)}
    vcomp["residual"] = float(fit.scale)
    means = {m: float(frame.loc[frame["modality"] == m, "value"].mean())
             for m in (test, reference)}
    return ContinuousResult(test, reference, means, difference, se,
                            (difference - z * se, difference + z * se), p_two, lower_is_better,
                            margin, p_sup, p_ni, vcomp, bool(fit.converged))
