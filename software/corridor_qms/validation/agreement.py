"""Agreement between readers or methods: ICC (form named), Bland-Altman, Cohen's and Fleiss' kappa.

* ICC (Shrout & Fleiss 1979; McGraw & Wong 1996) from the two-way ANOVA of an ``n x k``
  table (targets x raters): ``ICC(1,1)`` one-way random; ``ICC(2,1)`` two-way random,
  absolute agreement; ``ICC(3,1)`` two-way mixed, consistency; and their averages of ``k``
  raters (``ICC(1,k)``, ...), with the F-based 95 % confidence intervals of McGraw & Wong.
* Bland-Altman (1986, 1999): bias, SD of the differences, 95 % limits of agreement
  ``bias +- 1.96 SD``, and their 95 % CIs (SE of a limit ``sqrt(3 SD^2 / n)``, t on ``n - 1``).
* Cohen's kappa for two raters (with its large-sample SE, Fleiss, Cohen & Everitt 1969 in its
  simple form) and Fleiss' kappa for many raters of categorical ratings.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from corridor_qms.validation.study import (
    AnalysisError,
    DataFinding,
    StudyDataError,
    read_csv_rows,
)

__all__ = ["ICC_RESIDUAL_TOLERANCE", "MAX_CATEGORIES", "BlandAltman", "Icc", "Kappa",
           "RatingTable", "bland_altman", "category_counts", "cohen_kappa", "fleiss_kappa", "icc",
           "load_rating_table"]

FloatArray = NDArray[np.float64]

ICC_RESIDUAL_TOLERANCE = 1e-12
"""Residual mean square, relative to the table's total mean square, at or below which the ICC's
F ratios (and so its intervals and p-values) are undefined: rounding leaves about 1e-16 where
the exact value is 0."""

MAX_CATEGORIES = 100
"""Most distinct categories a kappa is computed over: kappas are for categorical ratings, and
their tables grow with the square of the categories."""


@dataclass(frozen=True, slots=True)
class Icc:
    """One intraclass correlation with its form and 95 % CI."""

    form: str
    description: str
    value: float
    ci95: tuple[float, float]
    f: float
    df1: float
    df2: float
    p_value: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"form": self.form, "description": self.description, "value": self.value,
                "ci95": list(self.ci95), "f": self.f, "df1": self.df1, "df2": self.df2,
                "p_value": self.p_value}


def icc(table: FloatArray, alpha: float = 0.05) -> tuple[Icc, ...]:
    """The six Shrout-Fleiss ICCs of an ``n x k`` table (targets x raters), no missing cells.

    Raises
    ------
    AnalysisError
        Fewer than two targets or raters, a missing value, sums of squares that overflow, or
        a table without residual variance (every value equal, or raters differing by a
        constant): its F ratios would be infinite or undefined.
    """
    x = np.asarray(table, dtype=np.float64)
    if x.ndim != 2 or min(x.shape) < 2 or not np.all(np.isfinite(x)):
        raise AnalysisError("ICC needs a complete table of at least 2 targets x 2 raters")
    n, k = x.shape
    with np.errstate(over="ignore", invalid="ignore"):
        grand = x.mean()
        ss_rows = k * float(np.sum((x.mean(axis=1) - grand) ** 2))
        ss_cols = n * float(np.sum((x.mean(axis=0) - grand) ** 2))
        ss_total = float(np.sum((x - grand) ** 2))
    if not math.isfinite(ss_total):
        raise AnalysisError(f"ICC: the sums of squares overflow (largest magnitude "
                            f"{float(np.max(np.abs(x))):g}); expected values whose squares are "
                            "finite")
    if ss_total == 0.0:
        raise AnalysisError(f"ICC is undefined: every value is {x.flat[0]:g} (no variance "
                            "between subjects or raters)")
    ss_error = ss_total - ss_rows - ss_cols
    if ss_error <= ICC_RESIDUAL_TOLERANCE * ss_total:
        raise AnalysisError("ICC is undefined: the residual mean square is 0 (each rater's "
                            "values differ from another's by a constant), so its F ratios, "
                            "intervals and p-values are infinite")
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_error / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_error) / (n * (k - 1))
    def bounds(f_obs: float, df1: float, df2: float) -> tuple[float, float]:
        upper = f_obs * float(stats.f.ppf(1 - alpha / 2, df2, df1))
        lower = f_obs / float(stats.f.ppf(1 - alpha / 2, df1, df2))
        return lower, upper

    results = []
    # ICC(1): one-way random.
    f1 = msr / msw
    fl, fu = bounds(f1, n - 1, n * (k - 1))
    p1 = float(stats.f.sf(f1, n - 1, n * (k - 1)))
    results.append(Icc("ICC(1,1)", "one-way random effects, single rater",
                       (msr - msw) / (msr + (k - 1) * msw),
                       ((fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)), f1, n - 1,
                       n * (k - 1), p1))
    # ICC(3): two-way mixed, consistency.
    f3 = msr / mse
    fl, fu = bounds(f3, n - 1, (n - 1) * (k - 1))
    p3 = float(stats.f.sf(f3, n - 1, (n - 1) * (k - 1)))
    icc3 = Icc("ICC(3,1)", "two-way mixed effects, consistency, single rater",
               (msr - mse) / (msr + (k - 1) * mse),
               ((fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)), f3, n - 1,
               (n - 1) * (k - 1), p3)
    # ICC(2): two-way random, absolute agreement (McGraw & Wong's CI, Satterthwaite df).
    value2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    a = k * value2 / (n * (1 - value2))
    b = 1 + k * value2 * (n - 1) / (n * (1 - value2))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1)
                                    + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    f_low = float(stats.f.ppf(1 - alpha / 2, n - 1, v))
    f_high = float(stats.f.ppf(1 - alpha / 2, v, n - 1))
    low2 = n * (msr - f_low * mse) / (f_low * (k * msc + (k * n - k - n) * mse) + n * msr)
    high2 = n * (f_high * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_high * msr)
    icc2 = Icc("ICC(2,1)", "two-way random effects, absolute agreement, single rater", value2,
               (low2, high2), f3, n - 1, (n - 1) * (k - 1), p3)
    results += [icc2, icc3]
    # Averages of k raters (Spearman-Brown).
    for single, name in ((results[0], "ICC(1,k)"), (icc2, "ICC(2,k)"), (icc3, "ICC(3,k)")):
        def average(r: float) -> float:
            return float(k * r / (1 + (k - 1) * r))

        results.append(Icc(name, single.description.replace("single rater",
                                                            f"mean of {k} raters"),
                           average(single.value), (average(single.ci95[0]),
                                                   average(single.ci95[1])),
                           single.f, single.df1, single.df2, single.p_value))
    return tuple(results)


@dataclass(frozen=True, slots=True)
class BlandAltman:
    """Bias and 95 % limits of agreement of two methods, with their 95 % CIs."""

    n: int
    bias: float
    sd: float
    bias_ci95: tuple[float, float]
    lower_limit: float
    upper_limit: float
    lower_limit_ci95: tuple[float, float]
    upper_limit_ci95: tuple[float, float]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {name: (list(v) if isinstance(v := getattr(self, name), tuple) else v)
                for name in self.__dataclass_fields__}


def bland_altman(first: FloatArray, second: FloatArray) -> BlandAltman:
    """Bland-Altman analysis of paired measurements (difference = first - second).

    Raises
    ------
    AnalysisError
        Unequal lengths, fewer than three pairs, non-finite values, or differences whose
        mean or SD overflows.
    """
    a, b = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 3 or not np.all(np.isfinite(a - b)):
        raise AnalysisError("Bland-Altman needs two equal-length series of at least 3 finite pairs")
    d = a - b
    n = len(d)
    with np.errstate(over="ignore", invalid="ignore"):
        bias, sd = float(d.mean()), float(d.std(ddof=1))
    if not (math.isfinite(bias) and math.isfinite(sd)):
        raise AnalysisError(f"Bland-Altman: the differences' mean or SD overflows (largest "
                            f"difference {float(np.max(np.abs(d))):g}); expected finite values")
    t = float(stats.t.ppf(0.975, n - 1))
    se_bias = sd / math.sqrt(n)
    se_limit = math.sqrt(3.0 * sd * sd / n)
    low, high = bias - 1.96 * sd, bias + 1.96 * sd
    return BlandAltman(n, bias, sd, (bias - t * se_bias, bias + t * se_bias), low, high,
                       (low - t * se_limit, low + t * se_limit),
                       (high - t * se_limit, high + t * se_limit))


@dataclass(frozen=True, slots=True)
class Kappa:
    """A kappa statistic with observed and chance agreement."""

    name: str
    value: float
    observed: float
    expected: float
    se: float | None
    ci95: tuple[float, float] | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "value": self.value, "observed_agreement": self.observed,
                "chance_agreement": self.expected, "se": self.se,
                "ci95": None if self.ci95 is None else list(self.ci95)}


def cohen_kappa(first: NDArray[Any], second: NDArray[Any]) -> Kappa:
    """Cohen's kappa of two raters' categorical ratings of the same subjects.

    Raises
    ------
    AnalysisError
        Series of unequal lengths, more than :data:`MAX_CATEGORIES` categories, or both raters
        using one category only.
    """
    a, b = np.asarray(first), np.asarray(second)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise AnalysisError("Cohen's kappa needs two equal-length rating series")
    categories = np.unique(np.concatenate([a, b]))
    _check_categories(len(categories), "Cohen's kappa")
    table = np.array([[np.sum((a == x) & (b == y)) for y in categories] for x in categories],
                     dtype=np.float64) / len(a)
    observed = float(np.trace(table))
    expected = float(table.sum(axis=1) @ table.sum(axis=0))
    if expected >= 1.0:
        raise AnalysisError("Cohen's kappa is undefined: both raters use one category only")
    value = (observed - expected) / (1 - expected)
    se = math.sqrt(observed * (1 - observed) / (len(a) * (1 - expected) ** 2))
    return Kappa("Cohen's kappa", value, observed, expected, se,
                 (value - 1.96 * se, value + 1.96 * se))


def _check_categories(found: int, statistic: str) -> None:
    if found > MAX_CATEGORIES:
        raise AnalysisError(f"{statistic}: {found} distinct categories; expected at most "
                            f"{MAX_CATEGORIES} (kappas are for categorical ratings)")


def category_counts(values: NDArray[Any]) -> tuple[list[Any], NDArray[np.int64]]:
    """The categories of an ``n x k`` table of ratings and how many raters put subject ``i`` in
    category ``j`` (the ``n x q`` table :func:`fleiss_kappa` takes).

    Raises
    ------
    AnalysisError
        More than :data:`MAX_CATEGORIES` categories.
    """
    table = np.asarray(values)
    categories, index = np.unique(table.ravel(), return_inverse=True)
    _check_categories(len(categories), "Fleiss' kappa")
    counts = np.zeros((table.shape[0], len(categories)), dtype=np.int64)
    subject = np.repeat(np.arange(table.shape[0]), table.shape[1])
    np.add.at(counts, (subject, index.ravel()), 1)
    return categories.tolist(), counts


def fleiss_kappa(counts: NDArray[Any]) -> Kappa:
    """Fleiss' kappa from an ``n x q`` table: how many raters put subject ``i`` in category ``j``
    (the same number of raters for every subject)."""
    x = np.asarray(counts, dtype=np.float64)
    raters = x.sum(axis=1)
    if x.ndim != 2 or not np.all(raters == raters[0]) or raters[0] < 2:
        raise AnalysisError("Fleiss' kappa needs the same number (>= 2) of raters per subject")
    m = raters[0]
    p_j = x.sum(axis=0) / x.sum()
    p_i = (np.sum(x * x, axis=1) - m) / (m * (m - 1))
    observed, expected = float(p_i.mean()), float(np.sum(p_j ** 2))
    if expected >= 1.0:
        raise AnalysisError("Fleiss' kappa is undefined: every rating is in one category")
    return Kappa("Fleiss' kappa", (observed - expected) / (1 - expected), observed, expected,
                 None, None)


@dataclass(frozen=True, slots=True, eq=False)
class RatingTable:
    """Subjects x raters, as read (strings), with the subjects' and raters' IDs."""

    subjects: tuple[str, ...]
    raters: tuple[str, ...]
    values: NDArray[np.str_]
    source: str

    def numbers(self) -> FloatArray:
        """The values as numbers.

        Raises
        ------
        StudyDataError
            A value that is not a finite number (named with subject and rater).
        """
        findings = []
        out = np.empty(self.values.shape)
        for (i, j), text in np.ndenumerate(self.values):
            try:
                out[i, j] = float(text)
                if not math.isfinite(out[i, j]):
                    raise ValueError(text)
            except ValueError:
                findings.append(DataFinding(0, f"subject {self.subjects[i]!r}, rater "
                                               f"{self.raters[j]!r}: {text!r} is not a number"))
        if findings:
            raise StudyDataError(self.source, findings)
        return out


def load_rating_table(path: Path) -> RatingTable:
    """Read a long CSV ``subject, rater, value`` into a complete subjects x raters table.

    Raises
    ------
    StudyDataError
        Missing columns, empty values, duplicate (subject, rater) pairs or missing cells, each
        with its row number.
    """
    source = str(path)
    rows = read_csv_rows(path)
    needed = ("subject", "rater", "value")
    if not rows or any(c not in rows[0] for c in needed):
        raise StudyDataError(source, [DataFinding(0, "expected columns subject, rater, value")])
    cells: dict[tuple[str, str], tuple[int, str]] = {}
    findings: list[DataFinding] = []
    subjects: list[str] = []
    raters: list[str] = []
    for number, row in enumerate(rows, start=1):
        subject, rater, value = ((row.get(c) or "").strip() for c in needed)
        if not subject or not rater or not value:
            findings.append(DataFinding(number, "empty subject, rater or value"))
            continue
        if (subject, rater) in cells:
            findings.append(DataFinding(number, f"duplicate rating of subject {subject!r} by "
                                                f"{rater!r} (first in row "
                                                f"{cells[(subject, rater)][0]})"))
            continue
        cells[(subject, rater)] = (number, value)
        if subject not in subjects:
            subjects.append(subject)
        if rater not in raters:
            raters.append(rater)
    # Only the first 20 missing cells are named; the search stops there (subjects x raters
    # can be large for a damaged file).
    missing = itertools.islice(((s, r) for s in subjects for r in raters
                                if (s, r) not in cells), 20)
    findings += [DataFinding(0, f"subject {s!r} has no rating by {r!r}") for s, r in missing]
    if findings:
        raise StudyDataError(source, findings)
    values = np.array([[cells[(s, r)][1] for r in raters] for s in subjects])
    return RatingTable(tuple(subjects), tuple(raters), values, source)
