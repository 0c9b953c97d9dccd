"""Step definitions of ``verification/features/validation/published.feature``.

Verifies that the MRMC analyses reproduce the reference tools' published results on the
Van Dyke data: Obuchowski-Rockette with random or fixed readers and cases, DBM, DeLong and
bootstrap covariances against the jackknife, binary sensitivity, non-inferiority, sizing,
and the model against the readers.

Oracles: the published Van Dyke results of the Iowa OR-DBM MRMC program, MRMCaov and JAFROC
(``verification/fixtures/mrmc/published_results.json``, pinned by SHA-256), and the t and
normal distributions of SciPy for the non-inferiority tail.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from scipy import stats

from verification.validation.helpers import (
    Case,
    close_to,
    load_vandyke,
    run_command,
    run_mrmc_command,
    write_rows,
)

scenarios("validation/published.feature")


@given("the Van Dyke reader data")
def vandyke(case: Case) -> None:
    """Pinned copy of vandyke.csv."""
    load_vandyke(case)


def _comparison(document: dict[str, Any]) -> dict[str, Any]:
    return dict(document["comparisons"][0])


@then("each reader's AUC in each modality equals the published value")
def reader_aucs(case: Case, published: dict[str, Any]) -> None:
    """Iowa's 8-decimal AUCs."""
    for modality, values in published["empirical_auc"]["auc_by_treatment_reader"].items():
        for reader, value in enumerate(values, start=1):
            close_to(case.document["per_reader"][modality][str(reader)], value)


@then("the reader-averaged AUCs, their difference, F, df, p-value and 95 % CI equal the "
      "published random-reader random-case results")
def rrrc(case: Case, published: dict[str, Any]) -> None:
    """MS(T), MS(T:R), F, ddf_H, p, SE, t, CI."""
    block = published["or_jackknife_rrrc"]
    for modality, value in zip(("1", "2"), published["empirical_auc"]["treatment_means"],
                               strict=True):
        close_to(case.document["auc"][modality], value)
    item = _comparison(case.document)
    assert item["modalities"] == ["1", "2"]
    close_to(item["difference"], block["difference"])
    close_to(item["f"], block["F"])
    close_to(item["df_denominator"], block["df2_hillis"])
    close_to(item["p_value"], block["p"])
    close_to(item["se"], block["se"])
    close_to(item["t"], block["t"])
    close_to(item["ci95"][0], block["ci95"][0])
    close_to(item["ci95"][1], block["ci95"][1])
    close_to(case.document["variance_components"]["ms_t"], block["MS_T"])
    close_to(case.document["variance_components"]["ms_tr"], block["MS_TR"])


@then("the variance components equal MRMCaov's published values")
def components(case: Case, published: dict[str, Any]) -> None:
    """var_R, var_TR, Cov1-3, var_error to 10 decimals; correlations to Iowa's 8."""
    found = case.document["variance_components"]
    for key, value in published["or_jackknife_rrrc"]["variance_components_mrmcaov"].items():
        close_to(found[key.lower()], value)
    for key in ("corr1", "corr2", "corr3"):
        close_to(found[key], published["or_jackknife_rrrc"]["variance_components_iowa"][key])


@then("each modality's SE, df and 95 % CI equal the published single-treatment results")
def single_treatment(case: Case, published: dict[str, Any]) -> None:
    """Hillis single-treatment CIs."""
    for found, expected in zip(case.document["modalities"],
                               published["or_jackknife_rrrc"]["single_treatment"], strict=True):
        close_to(found["se"], expected["se"])
        close_to(found["df"], expected["df"])
        close_to(found["ci95"][0], expected["ci95"][0])
        close_to(found["ci95"][1], expected["ci95"][1])


@then("the fixed-reader chi-square, p-value, SE and CI equal the published values")
def frrc(case: Case, published: dict[str, Any]) -> None:
    """FRRC block."""
    block = published["or_jackknife_frrc"]
    analysis = case.document["fixed_readers"]
    close_to(analysis["global_test"]["statistic"], block["chi2"])
    close_to(analysis["global_test"]["p_value"], block["p"])
    item = analysis["comparisons"][0]
    close_to(item["se"], block["se"])
    close_to(item["t"], block["z"])
    close_to(item["ci95"][0], block["ci95"][0])
    close_to(item["ci95"][1], block["ci95"][1])


@then("each reader's fixed-reader difference, SE and p-value equal the published values")
def frrc_readers(case: Case, published: dict[str, Any]) -> None:
    """Per-reader z tests."""
    found = {item["reader"]: item for item in case.document["fixed_readers"]["per_reader"]}
    for expected in published["or_jackknife_frrc"]["single_reader"]:
        item = found[str(expected["reader"])]
        close_to(item["difference"], expected["difference"])
        close_to(item["se"], expected["se"])
        close_to(item["p_value"], expected["p"])


@then("the fixed-case F, p-value, SE and CI equal the published values")
def rrfc(case: Case, published: dict[str, Any]) -> None:
    """RRFC block."""
    block = published["or_rrfc"]
    analysis = case.document["fixed_cases"]
    close_to(analysis["global_test"]["statistic"], block["F"])
    close_to(analysis["global_test"]["p_value"], block["p"])
    item = analysis["comparisons"][0]
    close_to(item["se"], block["se"])
    close_to(item["ci95"][0], block["ci95"][0])
    close_to(item["ci95"][1], block["ci95"][1])


@then("the DBM mean squares equal JAFROC's within 5e-6 relative, JAFROC computing in single "
      "precision")
def dbm_ms(case: Case, published: dict[str, Any]) -> None:
    """JAFROC 4.2.1 sums 1,140 pseudovalues per mean square in single precision (24-bit
    mantissa, 6e-8 per operation); the research note found an independent double-precision
    recomputation within 3e-6 of it. The OR values are checked to every printed digit."""
    expected = published["dbm_jackknife"]["pseudovalue_anova_jafroc"]
    for name, row in expected.items():
        found = case.document["dbm"]["mean_squares"][name]
        assert abs(found - row["MS"]) <= 5e-6 * abs(row["MS"]), (name, found, row["MS"])


@then("the DBM variance components equal Iowa's")
def dbm_components(case: Case, published: dict[str, Any]) -> None:
    """Iowa's printed DBM components."""
    names = {"var_R": "var_r", "var_C": "var_c", "var_TR": "var_tr", "var_TC": "var_tc",
             "var_RC": "var_rc", "var_TRC_plus_error": "var_trc_error"}
    for key, value in published["dbm_jackknife"]["variance_components_iowa"].items():
        close_to(case.document["dbm"]["variance_components"][names[key]], value)


@then("the DBM F equals the OR F")
def dbm_equals_or(case: Case) -> None:
    """Theory: equal for unnormalised pseudovalues."""
    assert case.document["dbm"]["agrees_with_or"]
    assert case.document["dbm"]["f"] == pytest.approx(case.document["global_test"]["statistic"],
                                                      rel=1e-9)


@then("the variance components, F, df, p-value and CI equal MRMCaov's published DeLong results")
def delong(case: Case, published: dict[str, Any]) -> None:
    """MRMCaov user guide, DeLong covariance."""
    block = published["or_delong_rrrc"]
    for key, value in block["variance_components"].items():
        close_to(case.document["variance_components"][key.lower()], value)
    item = _comparison(case.document)
    close_to(item["f"], block["F"])
    close_to(item["df_denominator"], block["df2_hillis"])
    close_to(item["p_value"], block["p"])
    close_to(item["ci95"][0], block["ci95"][0])
    close_to(item["ci95"][1], block["ci95"][1])


def _jackknife_document(case: Case) -> dict[str, Any]:
    saved = (case.document, case.stdout)
    run_mrmc_command(case, "--json")
    jackknife = case.document
    case.document, case.stdout = saved
    return jackknife


@then("var_error and Cov2 lie within 2 % of the jackknife's")
def delong_near_jackknife(case: Case) -> None:
    """DeLong's components are the jackknife's up to a factor near (K-1)/K."""
    jackknife = _jackknife_document(case)["variance_components"]
    for key in ("var_error", "cov2"):
        found = case.document["variance_components"][key]
        assert abs(found - jackknife[key]) <= 0.02 * abs(jackknife[key]), (key, found)


@then("var_error, Cov2 and F lie within 5 % of the jackknife's")
def bootstrap_near_jackknife(case: Case) -> None:
    """2,000 resamples: the Monte Carlo error of a variance is about sqrt(2 / 2000) = 3 %."""
    jackknife = _jackknife_document(case)
    for key in ("var_error", "cov2"):
        found = case.document["variance_components"][key]
        expected = jackknife["variance_components"][key]
        assert abs(found - expected) <= 0.05 * abs(expected), (key, found, expected)
    f, expected_f = _comparison(case.document)["f"], _comparison(jackknife)["f"]
    assert abs(f - expected_f) <= 0.05 * expected_f


@then("the same seed gives the same result")
def bootstrap_repeatable(case: Case) -> None:
    """Seeded."""
    first = case.document
    run_mrmc_command(case, "--json --cov bootstrap --resamples 2000 --seed 7")
    assert case.document == first


@then("the mean sensitivities, F, df, p-value and CI equal MRMCaov's published results")
def sensitivity(case: Case, published: dict[str, Any]) -> None:
    """Jackknife over the 45 positive cases only."""
    block = published["binary_sensitivity_rating_ge_3_jackknife_rrrc"]
    for modality, value in zip(("1", "2"), block["treatment_means"], strict=True):
        close_to(case.document["sensitivity"][modality], value)
    for key, value in block["variance_components"].items():
        close_to(case.document["variance_components"][key.lower()], value)
    item = _comparison(case.document)
    close_to(item["f"], block["F"])
    close_to(item["df_denominator"], block["df2_hillis"])
    close_to(item["p_value"], block["p"])
    close_to(item["ci95"][0], block["ci95"][0])
    close_to(item["ci95"][1], block["ci95"][1])


@then("the one-sided p-value of modality 2 against 1 equals the t tail probability of "
      "(difference + 0.05) / SE with the published SE and df")
def non_inferiority_p(case: Case, published: dict[str, Any]) -> None:
    """Computed here from the published numbers with SciPy's t distribution."""
    block = published["or_jackknife_rrrc"]
    expected = stats.t.sf((-block["difference"] + 0.05) / block["se"], block["df2_hillis"])
    found = next(item for item in case.document["non_inferiority"]
                 if item["test"] == "2" and item["reference"] == "1")
    assert found["p_value_one_sided"] == pytest.approx(expected, rel=1e-5)


@then("modality 2 is non-inferior to 1 and modality 1 is not non-inferior to 2")
def non_inferiority_conclusion(case: Case) -> None:
    """At one-sided alpha 0.025."""
    verdicts = {(i["test"], i["reference"]): i["non_inferior_at_0_025"]
                for i in case.document["non_inferiority"]}
    assert verdicts[("2", "1")]
    assert not verdicts[("1", "2")]


@when(parsers.parse('corridor validate size is run on it with "{options}"'))
def run_size(case: Case, options: str) -> None:
    """In process."""
    assert case.data is not None
    run_command(case, ["validate", "size", str(case.data), *shlex.split(options)])


@then(parsers.parse('the power, noncentrality and denominator df equal RJafroc\'s published '
                    '"{key}" values'))
def sizing_matches(case: Case, published: dict[str, Any], key: str) -> None:
    """RJafroc 2.1.3 good values (Hillis, Obuchowski & Berbaum 2011)."""
    expected = published["power_or"][key]
    row = case.document["rows"][0]
    close_to(row["power"], expected["power"])
    close_to(row["noncentrality"], expected["ncp"])
    if "ddf" in expected:
        close_to(row["df_denominator"], expected["ddf"])
    if "df2" in expected:
        assert row["df_denominator"] == expected["df2"]


@given(parsers.parse('the Van Dyke reader data with reader 4\'s spin-echo ratings added as reader '
                     '"{name}" in modality 1'))
def with_model(case: Case, name: str) -> None:
    """A model whose AUC is known from the published table (reader 4, modality 2)."""
    load_vandyke(case)
    rows = [dict(r) for r in case.rows]
    rows += [{**r, "reader": name, "treatment": "1"} for r in case.rows
             if r["reader"] == "4" and r["treatment"] == "2"]
    write_rows(case, [r for r in rows if r["treatment"] == "1"])


@when(parsers.parse('corridor validate model-vs-readers is run on it with "{options}"'))
def run_model(case: Case, options: str) -> None:
    """In process."""
    assert case.data is not None
    run_command(case, ["validate", "model-vs-readers", str(case.data), *shlex.split(options)])


@then("the model's AUC is reader 4's spin-echo AUC and the readers' mean is the published CINE "
      "mean")
def model_aucs(case: Case, published: dict[str, Any]) -> None:
    """Iowa's table."""
    assert case.status == 0, case.stderr
    close_to(case.document["model"], published["empirical_auc"]["auc_by_treatment_reader"]["2"][3])
    close_to(case.document["readers_mean"], published["empirical_auc"]["treatment_means"][0])


@then("the one-sided non-inferiority p-value equals the t tail probability of (difference + 0.05) "
      "/ SE")
def model_non_inferiority(case: Case) -> None:
    """SciPy's t distribution on the reported difference, SE and df."""
    document = case.document
    expected = stats.t.sf((document["difference"] + 0.05) / document["se"],
                          document["df_denominator"])
    assert document["non_inferiority"]["p_value_one_sided"] == pytest.approx(expected, rel=1e-9)
