"""A whole study: every endpoint of its definition analysed, as results JSON and an HTML report.

``corridor validate study STUDY.yaml --out DIR`` reads the definition, its protocol and its
reader data (paths relative to the definition), runs each endpoint (figure of merit, test
against reference modality, superiority or non-inferiority with its margin) with the
Obuchowski-Rockette analysis, and writes, all or nothing:

* ``results.json``: the design, every endpoint's estimates, comparison, one-sided p-value and
  conclusion, the variance components, the DBM cross-check, the inputs' SHA-256 and the
  software versions (no clock time: the same inputs give the same bytes);
* when the definition names ``subgroups`` (levels of a column of its case attribute table),
  each endpoint's analysis again on the cases of each level, with the cases, positives and
  negatives, or "too few cases" below ``subgroup_min_cases`` positive or negative cases;
* ``report.html``: one self-contained page (figures embedded as PNG) with the design, ROC
  curves per modality (each reader and the pooled ratings), a forest plot of the differences
  against the margins, the tables and the method, every value escaped.
"""

from __future__ import annotations

import base64
import io
import json
import math
from importlib.metadata import version
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined
from matplotlib.figure import Figure
from numpy.typing import NDArray

from corridor.provenance import sha256_file
from corridor.staging import write_text_atomic
from corridor_qms.validation.fom import Covariance, FigureOfMerit, estimate
from corridor_qms.validation.orh import dbm_analysis, or_analysis
from corridor_qms.validation.study import (
    AnalysisError,
    DataFinding,
    Design,
    Readings,
    StudyDataError,
    StudyDefinition,
    finite_json,
    load_case_attributes,
    load_definition,
    load_readings,
    readings_from_arrays,
)

__all__ = ["REPORT_NAME", "RESULTS_NAME", "run_study", "write_study_report"]

RESULTS_NAME = "results.json"
REPORT_NAME = "report.html"
ONE_SIDED_ALPHA = 0.025
"""One-sided significance level of every endpoint's conclusion (two-sided 0.05)."""


def _endpoint(readings: Readings, endpoint: Any) -> dict[str, Any]:
    fom = FigureOfMerit(endpoint.figure_of_merit)
    pair = readings.select([endpoint.test_modality, endpoint.reference_modality])
    found = estimate(pair, fom, Covariance.JACKKNIFE, threshold=endpoint.threshold)
    result = or_analysis(found, pair.modalities, pair.readers, pair.groups)
    comparison = result.comparison(endpoint.test_modality, endpoint.reference_modality)
    margin = endpoint.margin if endpoint.test == "non-inferiority" else 0.0
    p_one_sided = comparison.one_sided_p(margin)
    if not math.isfinite(p_one_sided):
        raise AnalysisError(f"endpoint {endpoint.name}: the test is undefined: the SE of "
                            f"{endpoint.test_modality} - {endpoint.reference_modality} is 0 (the "
                            f"readers' {fom.value} does not vary between readers or over cases), "
                            "so no conclusion can be drawn; expected reader data that vary")
    concluded = p_one_sided < ONE_SIDED_ALPHA
    hypothesis = (f"{endpoint.test_modality} not worse than {endpoint.reference_modality} by "
                  f"{margin:g} or more" if endpoint.test == "non-inferiority"
                  else f"{endpoint.test_modality} better than {endpoint.reference_modality}")
    dbm_f = (dbm_analysis(found).f if found.jackknife is not None
             and readings.design is Design.FULLY_CROSSED else math.nan)
    return {
        "name": endpoint.name, "figure_of_merit": fom.value, "threshold": endpoint.threshold,
        "test": endpoint.test, "margin": margin,
        "test_modality": endpoint.test_modality,
        "reference_modality": endpoint.reference_modality,
        "estimates": [m.to_json() for m in result.random_readers_random_cases.modalities],
        "per_reader": {m: {r: float(v) for r, v in zip(pair.readers, row, strict=True)}
                       for m, row in zip(pair.modalities, found.values, strict=True)},
        "comparison": comparison.to_json(),
        "p_value_one_sided": p_one_sided,
        "alternative_hypothesis": hypothesis,
        "conclusion": ("supported" if concluded else "not supported")
                      + f" at one-sided alpha {ONE_SIDED_ALPHA}",
        "variance_components": result.components.to_json(),
        "dbm_f": dbm_f, "or_f": comparison.f,
        "notes": list(result.notes),
    }


def _subset(readings: Readings, cases: NDArray[np.bool_]) -> tuple[Readings, list[str]]:
    """The readings of some cases, without the readers who read none of them (a split-plot
    group may have no case in a subgroup), and the readers left out."""
    ratings = readings.ratings[:, :, cases]
    read: list[bool] = np.asarray(~np.isnan(ratings).all(axis=(0, 2)), dtype=bool).tolist()
    dropped = [r for r, kept in zip(readings.readers, read, strict=True) if not kept]
    subset = readings_from_arrays(ratings[:, np.asarray(read, dtype=bool)],
                                  readings.truth[cases], modalities=readings.modalities,
                                  readers=[r for r, kept in zip(readings.readers, read,
                                                                strict=True) if kept],
                                  source=readings.source,
                                  partially_paired=readings.design is Design.PARTIALLY_PAIRED)
    return subset, dropped


def _subgroup_level(readings: Readings, endpoint: Any, cases: NDArray[np.bool_],
                    minimum: int) -> dict[str, Any]:
    """One endpoint on one subgroup level: the figure of merit per modality with its 95 % CI
    and the difference, by the endpoint's own analysis on those cases; ``too few cases``
    (no figure) below ``minimum`` positive or negative cases."""
    positive = int(readings.truth[cases].sum())
    negative = int(cases.sum()) - positive
    row: dict[str, Any] = {"cases": int(cases.sum()), "positive_cases": positive,
                           "negative_cases": negative, "estimates": None, "difference": None,
                           "ci95": None, "readers": None, "status": "analysed"}
    if positive < minimum or negative < minimum:
        row["status"] = (f"too few cases: {positive} positive and {negative} negative, expected "
                         f"at least {minimum} of each")
        return row
    try:
        subset, dropped = _subset(readings, cases)
        pair = subset.select([endpoint.test_modality, endpoint.reference_modality])
        found = estimate(pair, FigureOfMerit(endpoint.figure_of_merit), Covariance.JACKKNIFE,
                         threshold=endpoint.threshold)
        result = or_analysis(found, pair.modalities, pair.readers, pair.groups)
    except (AnalysisError, StudyDataError) as exc:
        row["status"] = f"not analysable: {exc}"
        return row
    comparison = result.comparison(endpoint.test_modality, endpoint.reference_modality)
    row.update(estimates=[m.to_json() for m in result.random_readers_random_cases.modalities],
               difference=comparison.difference, ci95=list(comparison.ci95),
               readers=len(pair.readers))
    if dropped:
        row["status"] = f"analysed without readers who read none of its cases: {', '.join(dropped)}"
    return row


def _subgroups(readings: Readings, definition: StudyDefinition,
               levels: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Every endpoint on every level of every subgroup of the definition."""
    found = []
    for subgroup in definition.subgroups:
        of_case = levels[subgroup.attribute]
        names = subgroup.groups or tuple(sorted(set(of_case.values())))
        level_of = np.array([of_case[c] for c in readings.cases])
        for endpoint in definition.endpoints:
            rows = [{"group": name, **_subgroup_level(readings, endpoint, level_of == name,
                                                      definition.subgroup_min_cases)}
                    for name in names]
            found.append({"subgroup": subgroup.name, "attribute": subgroup.attribute,
                          "endpoint": endpoint.name,
                          "figure_of_merit": endpoint.figure_of_merit,
                          "test_modality": endpoint.test_modality,
                          "reference_modality": endpoint.reference_modality, "groups": rows})
    return found


def run_study(definition_path: Path) -> tuple[dict[str, Any], Readings, StudyDefinition]:
    """Analyse every endpoint of a study definition.

    Raises
    ------
    StudyDataError
        The definition, its protocol or data are missing or invalid, or it has no endpoint.
    AnalysisError
        An endpoint that cannot be analysed as defined, its test undefined included (no
        variance in the difference: no conclusion is reported, SRS-VAL-019).
    """
    definition = load_definition(definition_path)
    base = definition_path.parent
    problems = []
    protocol = base / definition.protocol
    if not protocol.is_file():
        problems.append(DataFinding(0, f"protocol {definition.protocol!r} not found next to "
                                       "the definition"))
    if definition.data is None:
        problems.append(DataFinding(0, "the definition names no reader data (field data)"))
    if not definition.endpoints:
        problems.append(DataFinding(0, "the definition has no endpoints to analyse"))
    if problems:
        raise StudyDataError(str(definition_path), problems, kind="study definition")
    assert definition.data is not None
    data = base / definition.data
    readings = load_readings(data, definition)
    inputs = {"definition": {"file": definition_path.name, "sha256": sha256_file(definition_path)},
              "protocol": {"file": definition.protocol, "sha256": sha256_file(protocol)},
              "data": {"file": definition.data, "sha256": sha256_file(data)}}
    subgroups: list[dict[str, Any]] = []
    if definition.case_attributes is not None:
        table = base / definition.case_attributes
        levels = load_case_attributes(table, definition, readings.cases)
        inputs["case_attributes"] = {"file": definition.case_attributes,
                                     "sha256": sha256_file(table)}
        subgroups = _subgroups(readings, definition, levels)
    results = {
        "format": "corridor-validation-results/1",
        "study": {"name": definition.name, "title": definition.title,
                  "model_sha256": definition.model_sha256,
                  "design": readings.design.value, "readers": list(readings.readers),
                  "modalities": [m.model_dump() for m in definition.modalities],
                  "cases": len(readings.cases), "positive_cases": int(readings.truth.sum()),
                  "negative_cases": int((~readings.truth).sum()),
                  "rating_range": [definition.rating_min, definition.rating_max]},
        "inputs": inputs,
        "endpoints": [_endpoint(readings, e) for e in definition.endpoints],
        "subgroups": {"min_cases_per_class": definition.subgroup_min_cases,
                      "analyses": subgroups},
        "method": {
            "analysis": "Obuchowski-Rockette, random readers and random cases, Hillis (2007) "
                        "denominator degrees of freedom; DBM cross-check",
            "covariance": "jackknife (binary figures of merit over their own truth class)",
            "alpha_one_sided": ONE_SIDED_ALPHA,
        },
        "software": {name: version(name) for name in ("corridor", "numpy", "scipy")},
    }
    return finite_json(results), readings, definition  # type: ignore[return-value]


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _roc_points(ratings: NDArray[np.float64], truth: NDArray[np.bool_]
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    thresholds = np.unique(ratings)[::-1]
    tpr = [0.0] + [float(np.mean(ratings[truth] >= t)) for t in thresholds]
    fpr = [0.0] + [float(np.mean(ratings[~truth] >= t)) for t in thresholds]
    return np.asarray(fpr), np.asarray(tpr)


def _roc_figure(readings: Readings) -> Figure:
    figure = Figure(figsize=(4.2 * len(readings.modalities), 4.2))
    for index, modality in enumerate(readings.modalities):
        axes = figure.add_subplot(1, len(readings.modalities), index + 1)
        for j, reader in enumerate(readings.readers):
            fpr, tpr = _roc_points(readings.ratings[index, j], readings.truth)
            axes.plot(fpr, tpr, linewidth=0.8, alpha=0.7, label=str(reader))
        pooled = readings.ratings[index].ravel()
        fpr, tpr = _roc_points(pooled, np.tile(readings.truth, len(readings.readers)))
        axes.plot(fpr, tpr, color="black", linewidth=2.0, label="pooled")
        axes.plot([0, 1], [0, 1], color="0.7", linestyle=":")
        axes.set_title(f"{modality}", fontsize=9)
        axes.set_xlabel("1 - specificity")
        axes.set_ylabel("sensitivity")
        axes.set_aspect("equal")
        axes.legend(fontsize=6, loc="lower right")
    figure.tight_layout()
    return figure


def _forest_figure(endpoints: list[dict[str, Any]]) -> Figure:
    figure = Figure(figsize=(7.0, 1.0 + 0.6 * len(endpoints)))
    axes = figure.add_subplot(1, 1, 1)
    for row, item in enumerate(endpoints):
        low, high = item["comparison"]["ci95"]
        y = len(endpoints) - row
        axes.plot([low, high], [y, y], color="black")
        axes.plot([item["comparison"]["difference"]], [y], marker="s", color="black")
        if item["test"] == "non-inferiority":
            axes.plot([-item["margin"]], [y], marker="|", markersize=14, color="red")
    axes.axvline(0.0, color="0.6", linestyle=":")
    axes.set_yticks(range(len(endpoints), 0, -1),
                    [f"{e['name']} ({e['figure_of_merit']})" for e in endpoints], fontsize=8)
    axes.set_xlabel("difference, test - reference (95 % CI); red: -margin")
    figure.tight_layout()
    return figure


def _number(value: object, spec: str) -> str:
    """``value`` formatted with the %-style ``spec``; ``n/a`` for a missing or non-finite
    number (an infinite Hillis df is written as null in the results)."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "n/a"
    return spec % value


def write_study_report(results: dict[str, Any], readings: Readings, out: Path) -> None:
    """Write ``results.json`` and ``report.html`` into ``out`` (created; files replaced
    atomically).  Both are rendered before anything is written."""
    environment = Environment(loader=PackageLoader("corridor_qms", "templates"), autoescape=True,
                              undefined=StrictUndefined, keep_trailing_newline=True)
    environment.filters["number"] = _number
    html = environment.get_template("validation_report.html.j2").render(
        r=results, roc_png=_png(_roc_figure(readings)),
        forest_png=_png(_forest_figure(results["endpoints"])))
    document = json.dumps(results, indent=2, sort_keys=True, allow_nan=False) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / RESULTS_NAME, document)
    write_text_atomic(out / REPORT_NAME, html)
