"""``corridor validate mrmc DATA.csv [--definition STUDY.yaml] [--fom auc|sensitivity|specificity]
[--threshold X] [--cov jackknife|delong|bootstrap] [--modalities A B] [--non-inferiority MARGIN]
[--json]``.

Reads the long CSV (``reader, modality, case, truth, rating``; ``treatment`` is accepted
for ``modality``), checks the design, and runs the Obuchowski-Rockette analysis with
Hillis's degrees of freedom (random readers and cases; fixed readers; fixed cases) and
the DBM cross-check.  Exit status: 0 analysed; 2 bad data (every problem listed with its
row number) or data and options that cannot be analysed as asked; any other error is a defect
(exit status 70 from ``corridor``, with its traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corridor_qms.validation.agreement import (
    bland_altman,
    category_counts,
    cohen_kappa,
    fleiss_kappa,
    icc,
    load_rating_table,
)
from corridor_qms.validation.continuous import fit_continuous, load_measurements
from corridor_qms.validation.fom import Covariance, FigureOfMerit, estimate
from corridor_qms.validation.orh import OrResult, dbm_analysis, or_analysis
from corridor_qms.validation.report import (
    REPORT_NAME,
    RESULTS_NAME,
    run_study,
    write_study_report,
)
from corridor_qms.validation.sizing import power, smallest_cases
from corridor_qms.validation.standalone import model_vs_readers
from corridor_qms.validation.study import (
    AnalysisError,
    Design,
    Readings,
    StudyDataError,
    finite_json,
    load_definition,
    load_readings,
)

__all__ = ["EXIT_DATA", "EXIT_OK", "add_parser", "analyse"]

EXIT_OK, EXIT_DATA = 0, 2

DBM_AGREEMENT = 1e-6
"""Largest relative difference between the OR and DBM F statistics accepted as agreement
(theory: equal for unnormalised jackknife pseudovalues)."""


def _number(text: str, accept: Callable[[float], bool], expected: str) -> float:
    """``text`` as a number ``accept`` takes (NaN for text that is no number), or the option's
    one-line refusal naming ``expected``."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not accept(value):
        raise argparse.ArgumentTypeError(f"found {text!r}, expected {expected}")
    return value


def _finite(text: str) -> float:
    """A finite number (``--threshold``, ``--effect``): NaN and infinities are refused."""
    return _number(text, math.isfinite, "a finite number")


def _margin(text: str) -> float:
    """A non-inferiority margin: a finite number >= 0, on the endpoint's scale."""
    return _number(text, lambda v: math.isfinite(v) and v >= 0.0, "a finite number >= 0")


def _probability(text: str) -> float:
    """A probability strictly between 0 and 1 (``--alpha``, ``--power``)."""
    return _number(text, lambda v: 0.0 < v < 1.0, "a number strictly between 0 and 1")


def _two_modalities(readings: Readings, analysis: str) -> None:
    """Refuse data (or a ``--modalities`` choice) of fewer than two modalities."""
    if len(readings.modalities) < 2:
        raise AnalysisError(f"{analysis} compares modalities: the data have "
                            f"{len(readings.modalities)} ({', '.join(readings.modalities)}); "
                            "expected at least two (one modality against a standalone model: "
                            "corridor validate model-vs-readers)")


def analyse(args: argparse.Namespace) -> dict[str, Any]:
    """Load, check and analyse; the JSON document ``--json`` prints."""
    definition = load_definition(args.definition) if args.definition else None
    readings = load_readings(args.data, definition,
                             partially_paired=args.design == Design.PARTIALLY_PAIRED.value)
    if args.modalities:
        readings = readings.select(args.modalities)
    _two_modalities(readings, "the MRMC analysis")
    fom = FigureOfMerit(args.fom)
    covariance = Covariance(args.cov)
    estimate_ = estimate(readings, fom, covariance, threshold=args.threshold,
                         resamples=args.resamples, seed=args.seed)
    result = or_analysis(estimate_, readings.modalities, readings.readers, readings.groups)
    document = result.to_json()
    document["design"] = {"design": readings.design.value, "readers": len(readings.readers),
                          "modalities": list(readings.modalities),
                          "cases": len(readings.cases),
                          "positive_cases": int(readings.truth.sum()),
                          "negative_cases": int((~readings.truth).sum()),
                          "source": readings.source}
    notes = list(document["notes"])
    for i, modality in enumerate(readings.modalities):
        for j, reader in enumerate(readings.readers):
            if len(set(readings.ratings[i, j].tolist())) == 1:
                notes.append(f"reader {reader} gives every case the same rating in {modality}: "
                             f"its {fom.value} is {estimate_.values[i, j]:.3g} by ties and "
                             "carries no information about the cases")
    if not math.isfinite(document["global_test"]["statistic"] or math.nan):
        notes.append("the test is undefined: its denominator (MS(T:R) + r max(Cov2 - Cov3, 0))"
                     " is 0, i.e. the readers' figures of merit do not vary between readers "
                     "or over cases")
    document["notes"] = notes
    if covariance is Covariance.JACKKNIFE and (estimate_.jackknife is None
                                               or readings.design is not Design.FULLY_CROSSED):
        notes.append(f"DBM cross-check not available for a {readings.design.value} design "
                     "(it assumes every reader read every case in every modality)")
    elif covariance is Covariance.JACKKNIFE:
        dbm = dbm_analysis(estimate_)
        document["dbm"] = dbm.to_json()
        f_or = document["global_test"]["statistic"]
        agrees = (f_or is not None and math.isfinite(dbm.f)
                  and abs(dbm.f - f_or) <= DBM_AGREEMENT * max(abs(f_or), 1.0))
        document["dbm"]["agrees_with_or"] = agrees
    if args.non_inferiority is not None:
        document["non_inferiority"] = _non_inferiority(result, args.non_inferiority)
    document["method"] = {
        "analysis": "Obuchowski-Rockette with Hillis (2007) denominator degrees of freedom",
        "covariance": covariance.value, "figure_of_merit": fom.value,
        "threshold": args.threshold,
        "resamples": args.resamples if covariance is Covariance.BOOTSTRAP else None,
        "seed": args.seed if covariance is Covariance.BOOTSTRAP else None,
    }
    return document


def _non_inferiority(result: OrResult, margin: float) -> list[dict[str, Any]]:
    """Every ordered pair: H0 first - second <= -margin, one-sided p (random readers, cases)."""
    found = []
    for item in result.random_readers_random_cases.comparisons:
        for pair in (item.modalities, item.modalities[::-1]):
            comparison = result.comparison(*pair)
            p = comparison.one_sided_p(margin)
            found.append({"test": pair[0], "reference": pair[1], "margin": margin,
                          "difference": comparison.difference,
                          "ci95": list(comparison.ci95),
                          "p_value_one_sided": p,
                          "non_inferior_at_0_025": p < 0.025})
    return found


def _print_json(document: dict[str, Any]) -> None:
    json.dump(finite_json(document), sys.stdout, indent=2, sort_keys=True, allow_nan=False)
    print()


def _shown(value: object, spec: str) -> str:
    """``value`` formatted with ``spec``, or ``undefined`` for a missing or non-finite number
    (a statistic whose denominator is 0: SRS-VAL-007; its reason is among the notes)."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "undefined"
    return format(value, spec)


def _print(document: dict[str, Any]) -> None:
    fom = document["figure_of_merit"]
    design = document["design"]
    print(f"MRMC analysis: {fom}, {document['covariance']} covariance, {design['design']} "
          f"design, {design['readers']} readers x {design['cases']} cases "
          f"({design['positive_cases']} positive) x {len(design['modalities'])} modalities")
    print()
    print("  reader-averaged " + fom + " (random readers and cases, 95 % CI):")
    for item in document["modalities"]:
        print(f"    {item['modality']:<16} {_shown(item['estimate'], '.4f')}  "
              f"({_shown(item['ci95'][0], '.4f')}, {_shown(item['ci95'][1], '.4f')})  "
              f"df {_shown(item['df'], '.2f')}")
    print()
    for item in document["comparisons"]:
        first, second = item["modalities"]
        print(f"  {first} - {second}: {_shown(item['difference'], '+.5f')}  95 % CI "
              f"({_shown(item['ci95'][0], '.5f')}, {_shown(item['ci95'][1], '.5f')})  "
              f"F {_shown(item['f'], '.4f')}  df 1, {_shown(item['df_denominator'], '.3f')}  "
              f"p {_shown(item['p_value'], '.5f')}")
    components = document["variance_components"]
    print("  variance components: " + ", ".join(
        f"{k} {_shown(components[k], '.6g')}" for k in ("var_r", "var_tr", "cov1", "cov2",
                                                        "cov3", "var_error")))
    if "dbm" in document:
        dbm = document["dbm"]
        print(f"  DBM cross-check: F {_shown(dbm['f'], '.4f')}, ddf "
              f"{_shown(dbm['df_denominator'], '.3f')} "
              f"({'agrees' if dbm['agrees_with_or'] else 'DISAGREES'} with OR)")
    for item in document.get("non_inferiority", []):
        print(f"  non-inferiority of {item['test']} to {item['reference']} (margin "
              f"{item['margin']:g}): one-sided p {_shown(item['p_value_one_sided'], '.5f')}"
              + (" -> non-inferior" if item["non_inferior_at_0_025"] else ""))
    for note in document["notes"]:
        print(f"  note: {note}")


def _run(args: argparse.Namespace) -> int:
    try:
        document = analyse(args)
    except StudyDataError as exc:
        print(f"corridor validate: {exc}", file=sys.stderr)
        for finding in exc.findings[10:]:
            print(f"  {finding}", file=sys.stderr)
        return EXIT_DATA
    except AnalysisError as exc:
        print(f"corridor validate: {args.data}: {exc}", file=sys.stderr)
        return EXIT_DATA
    if args.json:
        _print_json(document)
    else:
        _print(document)
    return EXIT_OK


def _size(args: argparse.Namespace) -> int:
    try:
        readings = load_readings(args.pilot)
        if args.modalities:
            readings = readings.select(args.modalities)
        _two_modalities(readings, "sizing")
        pilot = or_analysis(estimate(readings), readings.modalities, readings.readers)
        effect = (args.effect if args.effect is not None
                  else pilot.random_readers_random_cases.comparisons[0].difference)
        rows: list[dict[str, Any]] = []
        for readers in args.readers:
            if args.power is not None:
                found = smallest_cases(pilot.components, len(readings.cases), readers=readers,
                                       effect=effect, target=args.power, alpha=args.alpha,
                                       analysis=args.analysis)
                rows.append(found.to_json() if found else
                            {"analysis": args.analysis, "readers": readers, "cases": None,
                             "power": None, "note": f"power {args.power} not reached with "
                             f"{readers} readers at any number of cases (reader variance "
                             "bounds it)"})
            for cases in args.cases or ():
                rows.append(power(pilot.components, len(readings.cases), readers=readers,
                                  cases=cases, effect=effect, alpha=args.alpha,
                                  analysis=args.analysis).to_json())
    except (StudyDataError, AnalysisError) as exc:
        print(f"corridor validate size: {exc}", file=sys.stderr)
        return EXIT_DATA
    document = {"pilot": {"source": readings.source, "readers": len(readings.readers),
                          "cases": len(readings.cases),
                          "variance_components": pilot.components.to_json(),
                          "observed_difference":
                              pilot.random_readers_random_cases.comparisons[0].difference},
                "effect": effect, "alpha": args.alpha, "analysis": args.analysis,
                "method": "Hillis, Obuchowski & Berbaum (2011); negative var_TR set to 0",
                "rows": rows}
    if args.json:
        _print_json(document)
        return EXIT_OK
    print(f"sizing from {readings.source} ({len(readings.readers)} readers x "
          f"{len(readings.cases)} cases), effect {effect:+.5f}, alpha {args.alpha}, "
          f"{args.analysis}:")
    for row in rows:
        if row.get("cases") is None:
            print(f"  {row['readers']:>4} readers: {row['note']}")
        else:
            print(f"  {row['readers']:>4} readers x {row['cases']:>6} cases: power "
                  f"{row['power']:.4f}")
    return EXIT_OK


def _model(args: argparse.Namespace) -> int:
    try:
        readings = load_readings(args.data)
        modality = args.modality or readings.modalities[0]
        if modality not in readings.modalities:
            raise AnalysisError(f"modality {modality!r} not in the data "
                                f"({', '.join(readings.modalities)})")
        if args.model_reader not in readings.readers:
            raise AnalysisError(f"model reader {args.model_reader!r} not in the data "
                                f"({', '.join(readings.readers)})")
        one = readings.select([modality])
        result = model_vs_readers(estimate(one), one.readers.index(args.model_reader))
    except (StudyDataError, AnalysisError) as exc:
        print(f"corridor validate model-vs-readers: {exc}", file=sys.stderr)
        return EXIT_DATA
    document: dict[str, Any] = {
        "modality": modality, "model_reader": args.model_reader,
        "readers": [r for r in one.readers if r != args.model_reader],
        "method": "single-modality OR analysis of model - reader AUC differences (1T-RRRC), "
                  "jackknife, Hillis ddf", **result.to_json()}
    document["notes"] = [] if result.se > 0 else [
        "the test is undefined: the SE of the model - readers difference is 0 (the model's "
        "and the readers' figures of merit do not vary between readers or over cases)"]
    if args.non_inferiority is not None:
        p = result.one_sided_p(args.non_inferiority)
        document["non_inferiority"] = {"margin": args.non_inferiority, "p_value_one_sided": p,
                                       "non_inferior_at_0_025": p < 0.025}
    if args.json:
        _print_json(document)
    else:
        print(f"model {args.model_reader} AUC {result.model:.4f} vs the {len(document['readers'])}"
              f" readers' mean {result.readers_mean:.4f} in {modality}: difference "
              f"{result.difference:+.4f}, 95 % CI ({_shown(result.ci95[0], '.4f')}, "
              f"{_shown(result.ci95[1], '.4f')}), t {_shown(result.t, '.3f')}, df "
              f"{_shown(result.df_denominator, '.2f')}, p {_shown(result.p_value, '.5f')}")
        if "non_inferiority" in document:
            item = document["non_inferiority"]
            print(f"  non-inferiority (margin {item['margin']:g}): one-sided p "
                  f"{_shown(item['p_value_one_sided'], '.5f')}")
        for note in document["notes"]:
            print(f"  note: {note}")
    return EXIT_OK


def _agreement(args: argparse.Namespace) -> int:
    try:
        table = load_rating_table(args.data)
        document: dict[str, Any] = {"source": table.source, "subjects": len(table.subjects),
                                    "raters": list(table.raters), "statistic": args.statistic}
        if args.statistic == "icc":
            document["icc"] = [item.to_json() for item in icc(table.numbers())]
        elif args.statistic == "bland-altman":
            if len(table.raters) != 2:
                raise AnalysisError(f"Bland-Altman compares two methods; the data have "
                                    f"{len(table.raters)}")
            values = table.numbers()
            document["difference"] = f"{table.raters[0]} - {table.raters[1]}"
            document["bland_altman"] = bland_altman(values[:, 0], values[:, 1]).to_json()
        elif args.statistic == "cohen-kappa":
            if len(table.raters) != 2:
                raise AnalysisError(f"Cohen's kappa compares two raters; the data have "
                                    f"{len(table.raters)} (use fleiss-kappa)")
            document["kappa"] = cohen_kappa(table.values[:, 0], table.values[:, 1]).to_json()
        else:
            categories, counts = category_counts(table.values)
            document["categories"] = categories
            document["kappa"] = fleiss_kappa(counts).to_json()
    except (StudyDataError, AnalysisError) as exc:
        print(f"corridor validate agreement: {exc}", file=sys.stderr)
        return EXIT_DATA
    if args.json:
        _print_json(document)
        return EXIT_OK
    print(f"{args.statistic} on {table.source}: {len(table.subjects)} subjects x "
          f"{len(table.raters)} raters")
    for item in document.get("icc", []):
        print(f"  {item['form']:<9} {item['value']:.4f}  95 % CI ({item['ci95'][0]:.4f}, "
              f"{item['ci95'][1]:.4f})  {item['description']}")
    if "bland_altman" in document:
        ba = document["bland_altman"]
        print(f"  {document['difference']}: bias {ba['bias']:.4f} (95 % CI {ba['bias_ci95'][0]:.4f}"
              f", {ba['bias_ci95'][1]:.4f}), SD {ba['sd']:.4f}; limits of agreement "
              f"{ba['lower_limit']:.4f} to {ba['upper_limit']:.4f}")
    if "kappa" in document:
        kappa = document["kappa"]
        print(f"  {kappa['name']}: {kappa['value']:.4f} (observed {kappa['observed_agreement']:.4f}"
              f", chance {kappa['chance_agreement']:.4f})")
    return EXIT_OK


def _continuous(args: argparse.Namespace) -> int:
    try:
        data = load_measurements(args.data)
        result = fit_continuous(data, test=args.test, reference=args.reference,
                                lower_is_better=not args.higher_is_better, margin=args.margin)
    except (StudyDataError, AnalysisError) as exc:
        print(f"corridor validate continuous: {exc}", file=sys.stderr)
        return EXIT_DATA
    document = {"source": data.source, "readers": len(data.readers), "cases": len(data.cases),
                "method": "linear mixed model, REML: value ~ modality, crossed random reader, "
                          "case, reader:modality, case:modality and reader:case; normal "
                          "(large-sample) tests", **result.to_json()}
    if args.json:
        _print_json(document)
        return EXIT_OK
    better = "higher" if args.higher_is_better else "lower"
    print(f"{args.test} - {args.reference} ({better} is better): {result.difference:+.4f}, 95 % CI "
          f"({result.ci95[0]:.4f}, {result.ci95[1]:.4f}), two-sided p {result.p_value:.5f}")
    print(f"  superiority of {args.test}: one-sided p {result.p_superiority:.5f}; "
          f"non-inferiority (margin {args.margin:g}): one-sided p {result.p_non_inferiority:.5f}")
    if not result.converged:
        print("  note: the mixed model did not report convergence; treat with caution")
    return EXIT_OK


def _study(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.out.is_dir():
        print(f"corridor validate study: --out {args.out}: found a file, expected a folder "
              "(new, or one whose report is replaced)", file=sys.stderr)
        return EXIT_DATA
    try:
        results, readings, _ = run_study(args.definition)
    except (StudyDataError, AnalysisError) as exc:
        print(f"corridor validate study: {exc}", file=sys.stderr)
        return EXIT_DATA
    try:
        write_study_report(results, readings, args.out)
    except OSError as exc:  # the output folder cannot be created or written
        print(f"corridor validate study: --out {args.out}: {exc.strerror or exc}; expected a "
              "folder that can be created and written", file=sys.stderr)
        return EXIT_DATA
    if args.json:
        json.dump(results, sys.stdout, indent=2, sort_keys=True, allow_nan=False)
        print()
        return EXIT_OK
    print(f"{results['study']['title']}: {len(results['endpoints'])} endpoint(s)")
    for item in results["endpoints"]:
        comparison = item["comparison"]
        print(f"  {item['name']}: {item['alternative_hypothesis']}: difference "
              f"{comparison['difference']:+.4f} (95 % CI {comparison['ci95'][0]:.4f}, "
              f"{comparison['ci95'][1]:.4f}), one-sided p {item['p_value_one_sided']:.5f} -> "
              f"{item['conclusion']}")
    for analysis in results["subgroups"]["analyses"]:
        for group in analysis["groups"]:
            shown = ("; ".join(f"{m['modality']} {_shown(m['estimate'], '.4f')} (95 % CI "
                               f"{_shown(m['ci95'][0], '.4f')}, {_shown(m['ci95'][1], '.4f')})"
                               for m in group["estimates"])
                     if group["estimates"] else group["status"])
            print(f"  {analysis['endpoint']} in {analysis['subgroup']} = {group['group']} "
                  f"({group['cases']} cases, {group['positive_cases']} positive): {shown}")
    print(f"wrote {args.out / REPORT_NAME} and {args.out / RESULTS_NAME}")
    return EXIT_OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``validate`` (with ``mrmc`` and ``size``) to the ``corridor`` parser."""
    validate = subparsers.add_parser("validate", help="validation-study statistics")
    inner = validate.add_subparsers(title="analyses", metavar="ANALYSIS", required=True)
    model = inner.add_parser("model-vs-readers", help="the standalone model against the readers",
                             description="The model's AUC against the readers' average in one "
                             "modality; the model's scores are one 'reader' of the data "
                             "(--model-reader).")
    model.add_argument("data", type=Path, metavar="DATA.csv")
    model.add_argument("--model-reader", required=True, metavar="ID")
    model.add_argument("--modality", metavar="ID", help="default: the first in the data")
    model.add_argument("--non-inferiority", type=_margin, metavar="MARGIN")
    model.add_argument("--json", action="store_true")
    model.set_defaults(handler=_model)
    agreement = inner.add_parser(
        "agreement", help="ICC, Bland-Altman, Cohen's and Fleiss' kappa",
        description="Agreement between raters or methods from a long CSV subject, rater, value.")
    agreement.add_argument("data", type=Path, metavar="DATA.csv")
    agreement.add_argument("--statistic", required=True,
                           choices=["icc", "bland-altman", "cohen-kappa", "fleiss-kappa"])
    agreement.add_argument("--json", action="store_true")
    agreement.set_defaults(handler=_agreement)
    continuous = inner.add_parser(
        "continuous", help="continuous endpoints: linear mixed model, crossed readers and cases",
        description="A continuous endpoint (e.g. angular error) of two modalities from a long CSV "
                    "reader, modality, case, value.")
    continuous.add_argument("data", type=Path, metavar="DATA.csv")
    continuous.add_argument("--test", required=True, metavar="ID")
    continuous.add_argument("--reference", required=True, metavar="ID")
    continuous.add_argument("--higher-is-better", action="store_true",
                            help="for clearance or Dice (default: lower is better, as errors)")
    continuous.add_argument("--margin", type=_margin, default=0.0,
                            help="non-inferiority margin on the endpoint's scale")
    continuous.add_argument("--json", action="store_true")
    continuous.set_defaults(handler=_continuous)
    study = inner.add_parser("study", help="every endpoint of a study definition, with a report",
                             description="Analyse every endpoint of STUDY.yaml (its protocol and "
                             "data next to it) and write results.json and report.html to --out.")
    study.add_argument("definition", type=Path, metavar="STUDY.yaml")
    study.add_argument("--out", type=Path, required=True, metavar="DIR")
    study.add_argument("--json", action="store_true", help="also print results.json")
    study.set_defaults(handler=_study)
    size = inner.add_parser("size", help="power and cases needed, from a pilot study",
                            description="Power of a two-modality study of READERS x CASES, or "
                            "the fewest cases reaching --power, from a pilot's OR variance "
                            "components (Hillis, Obuchowski & Berbaum 2011).")
    size.add_argument("pilot", type=Path, metavar="PILOT.csv")
    size.add_argument("--readers", type=int, nargs="+", required=True)
    size.add_argument("--cases", type=int, nargs="+", help="cases to give the power for")
    size.add_argument("--power", type=_probability,
                      help="target power: the fewest cases reaching it")
    size.add_argument("--effect", type=_finite,
                      help="difference to detect (default: the pilot's observed difference)")
    size.add_argument("--alpha", type=_probability, default=0.05)
    size.add_argument("--analysis", choices=["rrrc", "frrc", "rrfc"], default="rrrc")
    size.add_argument("--modalities", nargs=2, metavar="ID")
    size.add_argument("--json", action="store_true")
    size.set_defaults(handler=_size)
    parser = inner.add_parser("mrmc", help="multi-reader multi-case ROC analysis (OR/DBM)",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, metavar="DATA.csv")
    parser.add_argument("--definition", type=Path, metavar="STUDY.yaml",
                        help="study definition: checks IDs, rating range and design")
    parser.add_argument("--fom", choices=[f.value for f in FigureOfMerit], default="auc")
    parser.add_argument("--threshold", type=_finite,
                        help="sensitivity/specificity: a rating at or above it is positive")
    parser.add_argument("--cov", choices=[c.value for c in Covariance], default="jackknife")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--modalities", nargs="+", metavar="ID",
                        help="analyse these modalities, in this order (difference = first - "
                        "second)")
    parser.add_argument("--non-inferiority", type=_margin, metavar="MARGIN",
                        help="one-sided non-inferiority p-values for this margin")
    parser.add_argument("--design", choices=[Design.PARTIALLY_PAIRED.value],
                        help="declare missing readings intended (otherwise they are refused)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(handler=_run)
