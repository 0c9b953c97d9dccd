"""Step definitions of the validation-statistics scenarios (``verification/features/validation``).

Oracles: the published Van Dyke results of the Iowa OR-DBM MRMC program, MRMCaov and JAFROC
(``verification/fixtures/mrmc/published_results.json``, pinned by SHA-256), the t and normal
distributions of SciPy for the non-inferiority tail, brute-force pair counting for AUCs, and a
Roe-Metz simulation under a true null hypothesis with the binomial interval of its rejection rate.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import shlex
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, settings
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st
from pytest_bdd import given, parsers, scenarios, then, when
from scipy import stats

from corridor_qms.validation import (
    StudyDataError,
    estimate,
    load_definition,
    or_analysis,
    readings_from_arrays,
)
from verification.command_run import run_corridor
from verification.validation.roemetz import (
    NullConfiguration,
    expected_auc,
    simulate_model_and_readers,
    simulate_null_study,
)

scenarios("validation")

FIXTURES = Path(__file__).parent / "fixtures" / "mrmc"


def _fixture(name: str) -> Path:
    """A reference file, refused unless its SHA-256 is the manifest's."""
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    path = FIXTURES / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == manifest["files"][name]["sha256"]
    return path


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    """The published Van Dyke results."""
    return dict(json.loads(_fixture("published_results.json").read_text())["vandyke"])


@dataclass
class Case:
    """What one scenario built and what the command did."""

    root: Path
    data: Path | None = None
    definition: Path | None = None
    document: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    error: Exception | None = None
    rows: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


def _close(found: float, printed: float) -> None:
    """Equal within half a unit in the last printed digit of the published value."""
    digits = -Decimal(repr(float(printed))).as_tuple().exponent
    tolerance = 0.5 * 10.0 ** -int(digits) + 1e-12
    assert abs(found - printed) <= tolerance, (found, printed, tolerance)


def _command(case: Case, argv: list[str]) -> None:
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr
    if case.status == 0 and "--json" in argv:
        case.document = json.loads(case.stdout)


def _write_rows(case: Case, rows: list[dict[str, str]], name: str = "data.csv") -> None:
    path = case.root / name
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=["reader", "treatment", "case", "truth",
                                                    "rating"])
        writer.writeheader()
        writer.writerows(rows)
    case.data = path


@given("the Van Dyke reader data")
def vandyke(case: Case) -> None:
    """Pinned copy of vandyke.csv."""
    case.data = _fixture("vandyke.csv")
    with case.data.open(newline="") as stream:
        case.rows = list(csv.DictReader(stream))


@when(parsers.parse('corridor validate mrmc is run on it with "{options}"'))
def run_mrmc(case: Case, options: str) -> None:
    """In process."""
    assert case.data is not None
    _command(case, ["validate", "mrmc", str(case.data), *shlex.split(options)])


def _comparison(document: dict[str, Any]) -> dict[str, Any]:
    return dict(document["comparisons"][0])


@then("each reader's AUC in each modality equals the published value")
def reader_aucs(case: Case, published: dict[str, Any]) -> None:
    """Iowa's 8-decimal AUCs."""
    for modality, values in published["empirical_auc"]["auc_by_treatment_reader"].items():
        for reader, value in enumerate(values, start=1):
            _close(case.document["per_reader"][modality][str(reader)], value)


@then("the reader-averaged AUCs, their difference, F, df, p-value and 95 % CI equal the "
      "published random-reader random-case results")
def rrrc(case: Case, published: dict[str, Any]) -> None:
    """MS(T), MS(T:R), F, ddf_H, p, SE, t, CI."""
    block = published["or_jackknife_rrrc"]
    for modality, value in zip(("1", "2"), published["empirical_auc"]["treatment_means"],
                               strict=True):
        _close(case.document["auc"][modality], value)
    item = _comparison(case.document)
    assert item["modalities"] == ["1", "2"]
    _close(item["difference"], block["difference"])
    _close(item["f"], block["F"])
    _close(item["df_denominator"], block["df2_hillis"])
    _close(item["p_value"], block["p"])
    _close(item["se"], block["se"])
    _close(item["t"], block["t"])
    _close(item["ci95"][0], block["ci95"][0])
    _close(item["ci95"][1], block["ci95"][1])
    _close(case.document["variance_components"]["ms_t"], block["MS_T"])
    _close(case.document["variance_components"]["ms_tr"], block["MS_TR"])


@then("the variance components equal MRMCaov's published values")
def components(case: Case, published: dict[str, Any]) -> None:
    """var_R, var_TR, Cov1-3, var_error to 10 decimals; correlations to Iowa's 8."""
    found = case.document["variance_components"]
    for key, value in published["or_jackknife_rrrc"]["variance_components_mrmcaov"].items():
        _close(found[key.lower()], value)
    for key in ("corr1", "corr2", "corr3"):
        _close(found[key], published["or_jackknife_rrrc"]["variance_components_iowa"][key])


@then("each modality's SE, df and 95 % CI equal the published single-treatment results")
def single_treatment(case: Case, published: dict[str, Any]) -> None:
    """Hillis single-treatment CIs."""
    for found, expected in zip(case.document["modalities"],
                               published["or_jackknife_rrrc"]["single_treatment"], strict=True):
        _close(found["se"], expected["se"])
        _close(found["df"], expected["df"])
        _close(found["ci95"][0], expected["ci95"][0])
        _close(found["ci95"][1], expected["ci95"][1])


@then("the fixed-reader chi-square, p-value, SE and CI equal the published values")
def frrc(case: Case, published: dict[str, Any]) -> None:
    """FRRC block."""
    block = published["or_jackknife_frrc"]
    analysis = case.document["fixed_readers"]
    _close(analysis["global_test"]["statistic"], block["chi2"])
    _close(analysis["global_test"]["p_value"], block["p"])
    item = analysis["comparisons"][0]
    _close(item["se"], block["se"])
    _close(item["t"], block["z"])
    _close(item["ci95"][0], block["ci95"][0])
    _close(item["ci95"][1], block["ci95"][1])


@then("each reader's fixed-reader difference, SE and p-value equal the published values")
def frrc_readers(case: Case, published: dict[str, Any]) -> None:
    """Per-reader z tests."""
    found = {item["reader"]: item for item in case.document["fixed_readers"]["per_reader"]}
    for expected in published["or_jackknife_frrc"]["single_reader"]:
        item = found[str(expected["reader"])]
        _close(item["difference"], expected["difference"])
        _close(item["se"], expected["se"])
        _close(item["p_value"], expected["p"])


@then("the fixed-case F, p-value, SE and CI equal the published values")
def rrfc(case: Case, published: dict[str, Any]) -> None:
    """RRFC block."""
    block = published["or_rrfc"]
    analysis = case.document["fixed_cases"]
    _close(analysis["global_test"]["statistic"], block["F"])
    _close(analysis["global_test"]["p_value"], block["p"])
    item = analysis["comparisons"][0]
    _close(item["se"], block["se"])
    _close(item["ci95"][0], block["ci95"][0])
    _close(item["ci95"][1], block["ci95"][1])


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
        _close(case.document["dbm"]["variance_components"][names[key]], value)


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
        _close(case.document["variance_components"][key.lower()], value)
    item = _comparison(case.document)
    _close(item["f"], block["F"])
    _close(item["df_denominator"], block["df2_hillis"])
    _close(item["p_value"], block["p"])
    _close(item["ci95"][0], block["ci95"][0])
    _close(item["ci95"][1], block["ci95"][1])


def _jackknife_document(case: Case) -> dict[str, Any]:
    saved = (case.document, case.stdout)
    run_mrmc(case, "--json")
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
    run_mrmc(case, "--json --cov bootstrap --resamples 2000 --seed 7")
    assert case.document == first


@then("the mean sensitivities, F, df, p-value and CI equal MRMCaov's published results")
def sensitivity(case: Case, published: dict[str, Any]) -> None:
    """Jackknife over the 45 positive cases only."""
    block = published["binary_sensitivity_rating_ge_3_jackknife_rrrc"]
    for modality, value in zip(("1", "2"), block["treatment_means"], strict=True):
        _close(case.document["sensitivity"][modality], value)
    for key, value in block["variance_components"].items():
        _close(case.document["variance_components"][key.lower()], value)
    item = _comparison(case.document)
    _close(item["f"], block["F"])
    _close(item["df_denominator"], block["df2_hillis"])
    _close(item["p_value"], block["p"])
    _close(item["ci95"][0], block["ci95"][0])
    _close(item["ci95"][1], block["ci95"][1])


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


# --- properties --------------------------------------------------------------------------

@st.composite
def _datasets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    readers = draw(st.integers(2, 6))
    positives = draw(st.integers(3, 25))
    negatives = draw(st.integers(3, 25))
    seed = draw(st.integers(0, 2**31 - 1))
    levels = draw(st.sampled_from([5, 10, 0]))  # 0: continuous ratings
    rng = np.random.default_rng(seed)
    truth = np.r_[np.zeros(negatives, bool), np.ones(positives, bool)]
    latent = rng.normal(size=(2, readers, negatives + positives)) + 1.2 * truth
    latent += rng.normal(scale=0.5, size=(1, readers, 1))
    ratings = np.round(np.clip(latent * 2 + 5, 1, levels)) if levels else latent
    return ratings, truth


@given("random MRMC data sets", target_fixture="datasets")
def datasets() -> Any:
    """2-6 readers, 3-25 cases per class, ordinal or continuous ratings."""
    return _datasets()


def _analyse(ratings: np.ndarray, truth: np.ndarray, order: tuple[int, int] = (0, 1)) -> Any:
    readings = readings_from_arrays(ratings[list(order)], truth,
                                    modalities=tuple(str(i) for i in order))
    return or_analysis(estimate(readings), readings.modalities, readings.readers)


def _p_values(count: int, seed: int, one_study: Any) -> np.ndarray:
    """``one_study(rng)`` -> a p-value, for ``count`` seeded simulated studies."""
    rng = np.random.default_rng(seed)
    return np.array([one_study(rng) for _ in range(count)])


def _rrrc_p(readings: Any) -> float:
    """The random-reader random-case p-value of readings (split-plot groups honoured)."""
    result = or_analysis(estimate(readings), readings.modalities, readings.readers,
                         readings.groups)
    return float(result.random_readers_random_cases.global_test.p_value)


def _settings() -> Any:
    return settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@then("a random strictly increasing transform of every rating leaves every AUC, F and p-value "
      "unchanged")
def monotone(datasets: Any) -> None:
    """exp, then a random positive affine map: order is kept, values are not."""
    @_settings()
    @hypothesis_given(datasets, st.floats(0.1, 10.0), st.floats(-50.0, 50.0))
    def check(drawn: tuple[np.ndarray, np.ndarray], scale: float, shift: float) -> None:
        ratings, truth = drawn
        before = _analyse(ratings, truth)
        after = _analyse(scale * np.exp(ratings / 4.0) + shift, truth)
        np.testing.assert_allclose(after.estimate.values, before.estimate.values, atol=1e-12)
        first = before.random_readers_random_cases.comparisons[0]
        second = after.random_readers_random_cases.comparisons[0]
        for attribute in ("statistic", "df_denominator", "p_value"):
            a, b = getattr(first, attribute), getattr(second, attribute)
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9,
                                                                            abs=1e-12)

    check()


@then("analysing the modalities in the other order negates the difference and its CI and leaves "
      "F, df, p and the variance components unchanged")
def swap(datasets: Any) -> None:
    """Modality order is a label, not data."""
    @_settings()
    @hypothesis_given(datasets)
    def check(drawn: tuple[np.ndarray, np.ndarray]) -> None:
        ratings, truth = drawn
        forward = _analyse(ratings, truth, (0, 1))
        backward = _analyse(ratings, truth, (1, 0))
        a = forward.random_readers_random_cases.comparisons[0]
        b = backward.random_readers_random_cases.comparisons[0]
        assert b.difference == pytest.approx(-a.difference, abs=1e-12)
        assert b.ci95[0] == pytest.approx(-a.ci95[1], abs=1e-12)
        assert b.ci95[1] == pytest.approx(-a.ci95[0], abs=1e-12)
        for attribute in ("f", "df_denominator", "p_value"):
            x, y = getattr(a, attribute), getattr(b, attribute)
            assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-9)
        for name in forward.components.__dataclass_fields__:
            assert getattr(forward.components, name) == pytest.approx(
                getattr(backward.components, name), rel=1e-9, abs=1e-15)

    check()


@then("every leave-one-case-out AUC equals the AUC recomputed from all pairs without that case")
def leave_one_out(datasets: Any) -> None:
    """Brute force: every (negative, positive) pair counted."""
    def auc(negatives: np.ndarray, positives: np.ndarray) -> float:
        difference = positives[None, :] - negatives[:, None]
        return float(np.mean((difference > 0) + 0.5 * (difference == 0)))

    @settings(max_examples=20, deadline=None)
    @hypothesis_given(datasets)
    def check(drawn: tuple[np.ndarray, np.ndarray]) -> None:
        ratings, truth = drawn
        found = estimate(readings_from_arrays(ratings, truth))
        assert found.jackknife is not None
        for i in range(ratings.shape[0]):
            for j in range(ratings.shape[1]):
                for k in range(ratings.shape[2]):
                    keep = np.arange(ratings.shape[2]) != k
                    x, t = ratings[i, j, keep], truth[keep]
                    assert found.jackknife[i, j, k] == pytest.approx(auc(x[~t], x[t]),
                                                                     abs=1e-12)

    check()


@given(parsers.parse("{count:d} simulated Roe-Metz studies with equal modalities, {readers:d} "
                     "readers and {positives:d} positive and {negatives:d} negative cases"),
       target_fixture="null_p_values")
def null_studies(count: int, readers: int, positives: int, negatives: int) -> np.ndarray:
    """Roe & Metz (1997) model, both modalities with the same separation (seeded)."""
    configuration = NullConfiguration(readers=readers, positives=positives,
                                      negatives=negatives)
    return _p_values(count, 20261125, lambda rng: _rrrc_p(
        readings_from_arrays(*simulate_null_study(configuration, rng))))


@then("the rate of p-values below 0.05 lies inside the 99 % binomial interval around 0.05")
def type_one_error(null_p_values: np.ndarray, record_property: Any) -> None:
    """Clopper-Pearson-free: the normal interval 0.05 +- 2.576 sqrt(0.05 * 0.95 / n)."""
    n = len(null_p_values)
    rate = float(np.mean(null_p_values < 0.05))
    half = 2.576 * math.sqrt(0.05 * 0.95 / n)
    record_property("type_one_error", rate)
    print(f"type I error {rate:.4f} over {n} null studies (99 % interval "
          f"{0.05 - half:.4f} to {0.05 + half:.4f})")
    assert 0.05 - half <= rate <= 0.05 + half, rate


# --- data checks ---------------------------------------------------------------------------

@given("the Van Dyke reader data with a study definition for readers 1 to 5, modalities 1 and 2, "
       "ratings 1 to 5")
def with_definition(case: Case) -> None:
    """A definition written next to a copy of the data."""
    vandyke(case)
    definition = {
        "name": "vandyke", "title": "Van Dyke et al. 1993", "protocol": "protocol.md",
        "design": "fully-crossed", "readers": ["1", "2", "3", "4", "5"],
        "modalities": [{"id": "1", "description": "CINE MRI"},
                       {"id": "2", "description": "spin-echo MRI"}],
        "rating_min": 1, "rating_max": 5,
    }
    import yaml

    case.definition = case.root / "study.yaml"
    case.definition.write_text(yaml.safe_dump(definition), encoding="utf-8")


@given('five faults planted: a duplicate reading, a rating of 7, an unknown reader, a case whose '
       'truth changes, a rating "high"')
def plant_faults(case: Case) -> None:
    """Rows 10, 20, 30, 40 changed and row 1 repeated at the end (row 1141)."""
    rows = [dict(r) for r in case.rows]
    rows[19]["rating"] = "7"
    rows[29]["reader"] = "9"
    rows[39]["truth"] = "1" if rows[39]["truth"] == "0" else "0"
    rows[49]["rating"] = "high"
    rows.append(dict(rows[0]))
    _write_rows(case, rows)


@when("corridor validate mrmc is run on it with its definition")
def run_with_definition(case: Case) -> None:
    """--definition."""
    assert case.data is not None
    assert case.definition is not None
    _command(case, ["validate", "mrmc", str(case.data), "--definition", str(case.definition)])


@then("it exits with status 2 listing the five faults with their row numbers")
def five_faults(case: Case) -> None:
    """Each fault named with its data row (1 = first row after the header)."""
    assert case.status == 2, (case.stdout, case.stderr)
    case_40 = case.rows[39]["case"]
    for expected in ("row 20: rating 7 outside [1, 5]", "row 30: unknown reader '9'",
                     f"case '{case_40}' has truth", "in row 40",
                     "row 50: rating 'high' is not a number", "row 1141: duplicate reading"):
        assert expected in case.stderr, (expected, case.stderr)


@given("the Van Dyke reader data with one reading removed")
def one_removed(case: Case) -> None:
    """Reader 2, modality 1, case 5."""
    vandyke(case)
    rows = [r for r in case.rows
            if not (r["reader"] == "2" and r["treatment"] == "1" and r["case"] == "5")]
    _write_rows(case, rows)


@then(parsers.parse('it exits with status 2, naming "{text}"'))
def exits_naming(case: Case, text: str) -> None:
    """One message on stderr."""
    assert case.status == 2, (case.stdout, case.stderr)
    assert text in case.stderr, case.stderr


@given(parsers.parse('a study definition whose endpoint names modality "{modality}"'))
def bad_definition(case: Case, modality: str) -> None:
    """Otherwise valid."""
    import yaml

    case.definition = case.root / "study.yaml"
    case.definition.write_text(yaml.safe_dump({
        "name": "s", "title": "t", "protocol": "p.md", "design": "fully-crossed",
        "readers": ["a", "b"], "modalities": [{"id": "unaided", "description": "u"}],
        "rating_min": 0, "rating_max": 100,
        "endpoints": [{"name": "e", "figure_of_merit": "auc", "test": "non-inferiority",
                       "test_modality": modality, "reference_modality": "unaided",
                       "margin": 0.05}]}), encoding="utf-8")


@when("the definition is loaded")
def load_bad_definition(case: Case) -> None:
    """Recording the refusal."""
    assert case.definition is not None
    try:
        load_definition(case.definition)
    except StudyDataError as exc:
        case.error = exc


@then(parsers.parse('it is refused naming "{text}"'))
def refused(case: Case, text: str) -> None:
    """StudyDataError with the text."""
    assert isinstance(case.error, StudyDataError)
    assert text in str(case.error), str(case.error)


@given(parsers.parse("the Van Dyke reader data changed to {change}"))
def degenerate(case: Case, change: str) -> None:
    """One degenerate change."""
    vandyke(case)
    rows = [dict(r) for r in case.rows]
    if change == "reader 3 rating every case 3 in modality 1":
        for row in rows:
            if row["reader"] == "3" and row["treatment"] == "1":
                row["rating"] = "3"
    elif change == "only the negative cases":
        rows = [r for r in rows if r["truth"] == "0"]
    elif change == "only reader 1":
        rows = [r for r in rows if r["reader"] == "1"]
    elif change == "every reader rating every case 3":
        for row in rows:
            row["rating"] = "3"
    else:
        raise AssertionError(change)
    _write_rows(case, rows)


@then(parsers.parse('it exits with status 0 with a note naming "{text}"'))
def note_naming_text(case: Case, text: str) -> None:
    """A note in the JSON."""
    assert case.status == 0, case.stderr
    assert any(text in note for note in case.document["notes"]), case.document["notes"]


@then(parsers.parse("it exits with status 0 with a note naming reader {reader}"))
def note_naming_reader(case: Case, reader: str) -> None:
    """The constant-rating note."""
    note_naming_text(case, f"reader {reader} gives every case the same rating")


# --- sizing --------------------------------------------------------------------------------

@when(parsers.parse('corridor validate size is run on it with "{options}"'))
def run_size(case: Case, options: str) -> None:
    """In process."""
    assert case.data is not None
    _command(case, ["validate", "size", str(case.data), *shlex.split(options)])


@then(parsers.parse('the power, noncentrality and denominator df equal RJafroc\'s published '
                    '"{key}" values'))
def sizing_matches(case: Case, published: dict[str, Any], key: str) -> None:
    """RJafroc 2.1.3 good values (Hillis, Obuchowski & Berbaum 2011)."""
    expected = published["power_or"][key]
    row = case.document["rows"][0]
    _close(row["power"], expected["power"])
    _close(row["noncentrality"], expected["ncp"])
    if "ddf" in expected:
        _close(row["df_denominator"], expected["ddf"])
    if "df2" in expected:
        assert row["df_denominator"] == expected["df2"]


def _simulate(readers: int, cases: int, count: int, delta: float,
              rng: np.random.Generator) -> list[Any]:
    config = NullConfiguration(readers=readers, positives=cases // 2, negatives=cases // 2)
    results = []
    for _ in range(count):
        ratings, truth = simulate_null_study(config, rng, delta=delta)
        results.append(_analyse(ratings, truth))
    return results


@given(parsers.parse("{count:d} simulated Roe-Metz pilot studies of {readers:d} readers and "
                     "{cases:d} cases with modality 2 separated by {delta:f} more"),
       target_fixture="power_case")
def pilots(count: int, readers: int, cases: int, delta: float) -> dict[str, Any]:
    """Seeded; the alternative is kept for the studies."""
    rng = np.random.default_rng(20261126)
    return {"rng": rng, "delta": delta, "pilot_cases": cases,
            "pilots": _simulate(readers, cases, count, delta, rng)}


@when(parsers.parse("the power of {readers:d} readers and {cases:d} cases to detect the model's "
                    "true difference is predicted from their mean variance components"))
def predict(power_case: dict[str, Any], readers: int, cases: int) -> None:
    """Components averaged over the pilots; the effect is the one the Roe-Metz model implies
    (closed form), as a study is sized for a stated effect."""
    from corridor_qms.validation.orh import VarianceComponents
    from corridor_qms.validation.sizing import power

    results = power_case["pilots"]
    mean = VarianceComponents(*[float(np.mean([getattr(r.components, name) for r in results]))
                                for name in VarianceComponents.__dataclass_fields__])
    config = NullConfiguration()
    effect = (expected_auc(config, config.mu)
              - expected_auc(config, config.mu + power_case["delta"]))
    power_case["effect"] = effect
    power_case["predicted"] = power(mean, power_case["pilot_cases"], readers=readers,
                                    cases=cases, effect=effect).power


@when(parsers.parse("{count:d} studies of {readers:d} readers and {cases:d} cases are simulated "
                    "under the same alternative"))
def studies(power_case: dict[str, Any], count: int, readers: int, cases: int) -> None:
    """The same generator, continued."""
    results = _simulate(readers, cases, count, power_case["delta"], power_case["rng"])
    power_case["p_values"] = np.array([r.random_readers_random_cases.global_test.p_value
                                       for r in results])


@then("their rate of p-values below 0.05 lies inside the 99 % binomial interval of the predicted "
      "power")
def power_matches(power_case: dict[str, Any], record_property: Any) -> None:
    """Normal approximation to the binomial."""
    predicted = power_case["predicted"]
    n = len(power_case["p_values"])
    rate = float(np.mean(power_case["p_values"] < 0.05))
    half = 2.576 * math.sqrt(predicted * (1 - predicted) / n)
    record_property("predicted_power", predicted)
    record_property("empirical_power", rate)
    print(f"predicted power {predicted:.4f} (effect {power_case['effect']:.5f}), empirical "
          f"{rate:.4f} over {n} studies")
    assert abs(rate - predicted) <= half, (rate, predicted, half)


# --- model against readers ---------------------------------------------------------------

@then("comparing one modality's first reader, taken as the model, with the other readers equals "
      "the two-modality OR analysis in which every reader reads the model's scores")
def model_equivalence(datasets: Any) -> None:
    """Theory: the 1T-RRRC analysis is the 2-modality OR with a reader-invariant modality."""
    from corridor_qms.validation.standalone import model_vs_readers

    @settings(max_examples=30, deadline=None)
    @hypothesis_given(datasets)
    def check(drawn: tuple[np.ndarray, np.ndarray]) -> None:
        ratings, truth = drawn
        if ratings.shape[1] < 3:
            return
        one = readings_from_arrays(ratings[:1], truth)
        direct = model_vs_readers(estimate(one), 0)
        readers = ratings[0, 1:]
        model = np.repeat(ratings[0, :1], readers.shape[0], axis=0)
        two = readings_from_arrays(np.stack([model, readers]), truth)
        comparison = or_analysis(estimate(two), two.modalities,
                                 two.readers).random_readers_random_cases.comparisons[0]
        assert direct.difference == pytest.approx(comparison.difference, abs=1e-12)
        if comparison.se > 0 and direct.se > 0:
            assert direct.se == pytest.approx(comparison.se, rel=1e-9)
            assert direct.p_value == pytest.approx(comparison.p_value, rel=1e-7, abs=1e-12)
            # With no spread between readers MS(R) is 0 in one computation and rounding noise
            # in the other: both df are then effectively infinite.
            if comparison.df_denominator < 1e9:
                assert direct.df_denominator == pytest.approx(comparison.df_denominator,
                                                              rel=1e-9)
            else:
                assert direct.df_denominator > 1e9

    check()


@given(parsers.parse("{count:d} simulated Roe-Metz studies of one modality read by 5 readers and a "
                     "model whose expected AUC is the readers'"), target_fixture="model_p_values")
def model_null(count: int) -> np.ndarray:
    """The model is fixed (no reader effect) with the readers' population-mean AUC."""
    from corridor_qms.validation.standalone import model_vs_readers

    config = NullConfiguration(readers=5, positives=50, negatives=50)

    def one(generator: np.random.Generator) -> float:
        ratings, truth = simulate_model_and_readers(config, generator)
        return model_vs_readers(estimate(readings_from_arrays(ratings, truth)), 0).p_value

    return _p_values(count, 11, one)


@then("the rate of model-against-readers p-values below 0.05 lies inside the 99 % binomial "
      "interval around 0.05")
def model_size(model_p_values: np.ndarray, record_property: Any) -> None:
    """As for the two-modality test."""
    type_one_error(model_p_values, record_property)


@given(parsers.parse('the Van Dyke reader data with reader 4\'s spin-echo ratings added as reader '
                     '"{name}" in modality 1'))
def with_model(case: Case, name: str) -> None:
    """A model whose AUC is known from the published table (reader 4, modality 2)."""
    vandyke(case)
    rows = [dict(r) for r in case.rows]
    rows += [{**r, "reader": name, "treatment": "1"} for r in case.rows
             if r["reader"] == "4" and r["treatment"] == "2"]
    _write_rows(case, [r for r in rows if r["treatment"] == "1"])


@when(parsers.parse('corridor validate model-vs-readers is run on it with "{options}"'))
def run_model(case: Case, options: str) -> None:
    """In process."""
    assert case.data is not None
    _command(case, ["validate", "model-vs-readers", str(case.data), *shlex.split(options)])


@then("the model's AUC is reader 4's spin-echo AUC and the readers' mean is the published CINE "
      "mean")
def model_aucs(case: Case, published: dict[str, Any]) -> None:
    """Iowa's table."""
    assert case.status == 0, case.stderr
    _close(case.document["model"], published["empirical_auc"]["auc_by_treatment_reader"]["2"][3])
    _close(case.document["readers_mean"], published["empirical_auc"]["treatment_means"][0])


@then("the one-sided non-inferiority p-value equals the t tail probability of (difference + 0.05) "
      "/ SE")
def model_non_inferiority(case: Case) -> None:
    """SciPy's t distribution on the reported difference, SE and df."""
    document = case.document
    expected = stats.t.sf((document["difference"] + 0.05) / document["se"],
                          document["df_denominator"])
    assert document["non_inferiority"]["p_value_one_sided"] == pytest.approx(expected, rel=1e-9)


# --- agreement ------------------------------------------------------------------------------

AGREEMENT = Path(__file__).parent / "fixtures" / "agreement"


def _agreement_entry(name: str) -> dict[str, Any]:
    manifest = json.loads((AGREEMENT / "manifest.json").read_text())["files"][name]
    assert hashlib.sha256((AGREEMENT / name).read_bytes()).hexdigest() == manifest["sha256"]
    return dict(manifest)


@given(parsers.parse('the agreement example "{name}"'))
def agreement_example(case: Case, name: str) -> None:
    """Pinned by SHA-256."""
    case.document = {"published": _agreement_entry(name)}
    case.data = AGREEMENT / name


@given(parsers.parse('the agreement example "{name}" with its first row repeated at the end'))
def agreement_duplicate(case: Case, name: str) -> None:
    """Written to the scenario folder."""
    agreement_example(case, name)
    assert case.data is not None
    lines = case.data.read_text().splitlines()
    path = case.root / name
    path.write_text("\n".join([*lines, lines[1]]) + "\n")
    case.data = path


@when(parsers.parse('corridor validate agreement is run on it with "{options}"'))
def run_agreement(case: Case, options: str) -> None:
    """In process; the published entry kept beside the output."""
    assert case.data is not None
    published_entry = case.document.get("published")
    _command(case, ["validate", "agreement", str(case.data), *shlex.split(options)])
    case.document["published"] = published_entry


@then("each ICC equals the published value to its printed digits and names its form")
def icc_published(case: Case) -> None:
    """Shrout & Fleiss Table 4."""
    found = {item["form"]: item for item in case.document["icc"]}
    for form, value in case.document["published"]["icc"].items():
        _close(found[form]["value"], value)
        assert found[form]["description"]


@then("the bias and SD equal the published values to their printed digits")
def bland_altman_published(case: Case) -> None:
    """Lancet 1986: mean difference -2.1, SD 38.8."""
    found = case.document["bland_altman"]
    _close(found["bias"], case.document["published"]["bias"])
    _close(found["sd"], case.document["published"]["sd"])


@then("the limits of agreement are the bias plus and minus 1.96 SD, inside their 95 % CIs")
def limits(case: Case) -> None:
    """Definition, and CIs around each limit."""
    found = case.document["bland_altman"]
    assert found["lower_limit"] == pytest.approx(found["bias"] - 1.96 * found["sd"])
    assert found["upper_limit"] == pytest.approx(found["bias"] + 1.96 * found["sd"])
    assert found["lower_limit_ci95"][0] < found["lower_limit"] < found["lower_limit_ci95"][1]
    assert found["upper_limit_ci95"][0] < found["upper_limit"] < found["upper_limit_ci95"][1]


@then("kappa and the observed and chance agreement equal the published values to their printed "
      "digits")
def kappa_published(case: Case) -> None:
    """Worked examples."""
    found, expected = case.document["kappa"], case.document["published"]
    _close(found["value"], expected["kappa"])
    _close(found["observed_agreement"], expected["observed"])
    _close(found["chance_agreement"], expected["expected"])


# --- continuous endpoints --------------------------------------------------------------------

def _continuous_data(rng: np.random.Generator, readers: int, cases: int, effect: float
                     ) -> np.ndarray:
    """(2, r, c): modality 0 "aided" lower by ``effect``; every component clearly positive."""
    reader = rng.normal(0, 1.0, readers)
    case = rng.normal(0, 1.5, cases)
    by_reader = rng.normal(0, 0.6, (2, readers))
    by_case = rng.normal(0, 0.8, (2, cases))
    error = rng.normal(0, 0.7, (2, readers, cases))
    shift = np.array([-effect, 0.0])
    return np.asarray(5.0 + shift[:, None, None] + reader[None, :, None] + case[None, None, :]
                      + by_reader[:, :, None] + by_case[:, None, :] + error)


def _rows(values: np.ndarray) -> list[tuple[str, str, str, float]]:
    names = ("aided", "unaided")
    return [(f"reader-{j}", names[i], f"case-{k}", float(values[i, j, k]))
            for i in range(2) for j in range(values.shape[1]) for k in range(values.shape[2])]


@given(parsers.parse('balanced simulated angular errors of random readers and cases in modalities '
                     '"{first}" and "{second}"'), target_fixture="continuous_sets")
def continuous_sets() -> Any:
    """Hypothesis: readers 3-6, cases 10-30, any effect."""
    return st.tuples(st.integers(0, 2**31 - 1), st.integers(3, 6), st.integers(10, 30),
                     st.floats(-2.0, 2.0))


@then("for each whose ANOVA component estimates are all positive the mixed model's difference "
      "equals the difference of the modality means and its SE equals the ANOVA closed form "
      "within 0.5 %")
def continuous_closed_form(continuous_sets: Any) -> None:
    """Balanced three-way layout: Var = 2 (MS(T:R) + MS(T:C) - MS(T:R:C)) / (r c)."""
    from corridor_qms.validation.continuous import Measurements, fit_continuous

    @settings(max_examples=6, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @hypothesis_given(continuous_sets)
    @example((52205, 3, 14, 0.0))  # L-BFGS alone stopped at a local optimum here
    @example((350391, 6, 29, 0.0))  # the best of three stopped short of the maximum here
    def check(drawn: tuple[int, int, int, float]) -> None:
        seed, readers, cases, effect = drawn
        y = _continuous_data(np.random.default_rng(seed), readers, cases, effect)
        rows = _rows(y)
        data = Measurements(tuple(dict.fromkeys(r[0] for r in rows)), ("aided", "unaided"),
                            tuple(dict.fromkeys(r[2] for r in rows)), tuple(rows), "sim")
        result = fit_continuous(data, test="aided", reference="unaided", lower_is_better=True)
        mt, mtr, mtc = y.mean(axis=(1, 2)), y.mean(axis=2), y.mean(axis=1)
        mr, mc, mrc, g = y.mean(axis=(0, 2)), y.mean(axis=(0, 1)), y.mean(axis=0), y.mean()
        ms_tr = cases * np.sum((mtr - mt[:, None] - mr[None, :] + g) ** 2) / (readers - 1)
        ms_tc = readers * np.sum((mtc - mt[:, None] - mc[None, :] + g) ** 2) / (cases - 1)
        residual = (y - mtr[:, :, None] - mtc[:, None, :] - mrc[None] + mt[:, None, None]
                    + mr[None, :, None] + mc[None, None, :] - g)
        ms_trc = np.sum(residual ** 2) / ((readers - 1) * (cases - 1))
        ms_r = 2 * cases * np.sum((mr - g) ** 2) / (readers - 1)
        ms_c = 2 * readers * np.sum((mc - g) ** 2) / (cases - 1)
        ms_rc = 2 * np.sum((mrc - mr[:, None] - mc[None, :] + g) ** 2) / ((readers - 1)
                                                                       * (cases - 1))
        # REML equals the ANOVA estimates when every ANOVA component estimate is positive.
        assume(min(ms_tr, ms_tc, ms_rc) > ms_trc)
        assume(ms_r + ms_trc > ms_tr + ms_rc)
        assume(ms_c + ms_trc > ms_tc + ms_rc)
        se = math.sqrt(2 * (ms_tr + ms_tc - ms_trc) / (readers * cases))
        assert result.difference == pytest.approx(mt[0] - mt[1], abs=1e-6)
        assert result.se == pytest.approx(se, rel=0.005)

    check()


@given(parsers.parse('simulated angular errors where "aided" is 1 degree lower than "unaided", '
                     'saved as a long CSV'))
def continuous_csv(case: Case) -> None:
    """8 readers x 60 cases."""
    y = _continuous_data(np.random.default_rng(3), 8, 60, 1.0)
    _write_continuous(case, _rows(y))


def _write_continuous(case: Case, rows: list[tuple[str, str, str, float]]) -> None:
    path = case.root / "errors.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["reader", "modality", "case", "value"])
        writer.writerows(rows)
    case.data = path


@given(parsers.parse('simulated angular errors where "aided" is 1 degree lower than "unaided", '
                     'saved as a long CSV without its last row'))
def continuous_csv_missing(case: Case) -> None:
    """One cell missing."""
    y = _continuous_data(np.random.default_rng(3), 8, 60, 1.0)
    _write_continuous(case, _rows(y)[:-1])


@when(parsers.parse('corridor validate continuous is run on it with "{options}"'))
def run_continuous(case: Case, options: str) -> None:
    """In process."""
    assert case.data is not None
    _command(case, ["validate", "continuous", str(case.data), *shlex.split(options)])


@then("the one-sided superiority and non-inferiority p-values are the normal tail probabilities of "
      "the difference and SE it reports")
def continuous_p_values(case: Case) -> None:
    """Lower is better: improvement = -difference."""
    assert case.status == 0, case.stderr
    document = case.document
    improvement = -document["difference"]
    assert document["p_superiority"] == pytest.approx(
        stats.norm.sf(improvement / document["se"]), rel=1e-9)
    assert document["p_non_inferiority"] == pytest.approx(
        stats.norm.sf((improvement + 0.5) / document["se"]), rel=1e-9)


@then("aided is superior at one-sided 0.025")
def aided_superior(case: Case) -> None:
    """A 1-degree effect with 8 readers and 60 cases."""
    assert case.document["p_superiority"] < 0.025


# --- a whole study ----------------------------------------------------------------------------

EXAMPLE = Path(__file__).parents[1] / "validation_study" / "vandyke-example"


@given("the example study in validation_study/vandyke-example")
def example_study(case: Case) -> None:
    """The shipped example (Van Dyke re-labelled)."""
    case.definition = EXAMPLE / "study.yaml"


def _copied_example(case: Case) -> dict[str, Any]:
    import shutil

    import yaml

    folder = case.root / "study"
    shutil.copytree(EXAMPLE, folder)
    case.definition = folder / "study.yaml"
    return dict(yaml.safe_load(case.definition.read_text()))


@given("the example study with its title and a modality description holding HTML markup")
def hostile_study(case: Case) -> None:
    """Markup in free-text fields."""
    import yaml

    document = _copied_example(case)
    document["title"] = "<script>alert('title')</script> & <b>bold</b>"
    document["modalities"][0]["description"] = "<img src=x onerror=alert(1)>"
    assert case.definition is not None
    case.definition.write_text(yaml.safe_dump(document))


@given("the example study without its data field")
def no_data_study(case: Case) -> None:
    """Field removed."""
    import yaml

    document = _copied_example(case)
    del document["data"]
    assert case.definition is not None
    case.definition.write_text(yaml.safe_dump(document))


@when("corridor validate study is run on it")
def run_study_command(case: Case) -> None:
    """Into the scenario folder."""
    assert case.definition is not None
    _command(case, ["validate", "study", str(case.definition), "--out", str(case.root / "out")])
    if case.status == 0:
        case.document = json.loads((case.root / "out" / "results.json").read_text())


@when("corridor validate study is run on it twice into two folders")
def run_study_twice(case: Case) -> None:
    """Same inputs."""
    assert case.definition is not None
    for name in ("first", "second"):
        _command(case, ["validate", "study", str(case.definition), "--out", str(case.root / name)])
        assert case.status == 0, case.stderr


def _endpoint(case: Case, name: str) -> dict[str, Any]:
    return next(e for e in case.document["endpoints"] if e["name"] == name)


@then('results.json gives auc-non-inferiority the published difference and CI, its one-sided '
      'p-value from the published SE and df, and "not supported"')
def study_auc(case: Case, published: dict[str, Any]) -> None:
    """CINE - spin-echo = treatment 1 - treatment 2 of the published results."""
    assert case.status == 0, case.stderr
    block = published["or_jackknife_rrrc"]
    item = _endpoint(case, "auc-non-inferiority")
    _close(item["comparison"]["difference"], block["difference"])
    _close(item["comparison"]["ci95"][0], block["ci95"][0])
    _close(item["comparison"]["ci95"][1], block["ci95"][1])
    expected = stats.t.sf((block["difference"] + 0.05) / block["se"], block["df2_hillis"])
    assert item["p_value_one_sided"] == pytest.approx(expected, rel=1e-5)
    assert item["conclusion"].startswith("not supported")


@then('results.json gives sensitivity-superiority MRMCaov\'s published binary-sensitivity '
      'difference and CI, and "supported"')
def study_sensitivity(case: Case, published: dict[str, Any]) -> None:
    """Spin-echo - CINE: the published difference negated."""
    block = published["binary_sensitivity_rating_ge_3_jackknife_rrrc"]
    item = _endpoint(case, "sensitivity-superiority")
    _close(item["comparison"]["difference"], -block["difference"])
    _close(item["comparison"]["ci95"][0], -block["ci95"][1])
    _close(item["comparison"]["ci95"][1], -block["ci95"][0])
    assert item["conclusion"].startswith("supported")


@then("results.json records the SHA-256 of the definition, the protocol and the data")
def study_hashes(case: Case) -> None:
    """Recomputed here."""
    assert case.definition is not None
    base = case.definition.parent
    inputs = case.document["inputs"]
    for key, name in (("definition", "study.yaml"), ("protocol", "protocol.md"),
                      ("data", "readings.csv")):
        assert inputs[key]["sha256"] == hashlib.sha256((base / name).read_bytes()).hexdigest()


@then("report.html shows the endpoint table, the forest plot and the ROC curves")
def study_report(case: Case) -> None:
    """Embedded PNGs (signature after base64 decoding) and every endpoint named."""
    import base64
    import re

    html = (case.root / "out" / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    for item in case.document["endpoints"]:
        assert item["name"] in html
    assert 'alt="forest plot of the differences"' in html
    assert 'alt="ROC curves per modality"' in html


@then("report.html shows the markup as text and holds no element from it")
def escaped(case: Case) -> None:
    """Autoescaping."""
    assert case.status == 0, case.stderr
    html = (case.root / "out" / "report.html").read_text()
    assert "&lt;script&gt;alert(" in html
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "<b>bold</b>" not in html


@then("the two results.json and the two report.html are byte for byte equal")
def same_bytes(case: Case) -> None:
    """No clock, seeded nothing needed (jackknife is deterministic)."""
    for name in ("results.json", "report.html"):
        assert (case.root / "first" / name).read_bytes() == (case.root / "second" / name
                                                             ).read_bytes()


# --- split-plot ---------------------------------------------------------------------------------

@given(parsers.parse("{count:d} simulated Roe-Metz split-plot studies of {groups:d} groups of "
                     "{readers:d} readers, each group reading its own {positives:d} positive and "
                     "{negatives:d} negative cases"), target_fixture="null_p_values")
def split_plot_null(count: int, groups: int, readers: int, positives: int,
                    negatives: int) -> np.ndarray:
    """Each group an independent crossed study of its own cases."""
    from verification.validation.roemetz import simulate_split_plot_null

    config = NullConfiguration(readers=readers, positives=positives, negatives=negatives)

    def one(rng: np.random.Generator) -> float:
        ratings, truth, _ = simulate_split_plot_null(config, groups, rng)
        readings = readings_from_arrays(ratings, truth)
        assert readings.design.value == "split-plot"
        return _rrrc_p(readings)

    return _p_values(count, 42, one)


@given("the Van Dyke reader data split into two reader groups, readers 1 and 2 reading the odd "
       "cases and readers 3 to 5 the even ones")
def split_vandyke(case: Case) -> None:
    """Rows dropped so that each group reads only its own cases."""
    vandyke(case)
    keep = [r for r in case.rows
            if (int(r["case"]) % 2 == 1) == (r["reader"] in ("1", "2"))]
    _write_rows(case, keep)


@then(parsers.parse('the design is "{design}" and a note gives the weight of reader pairs sharing '
                    'cases, {weight}'))
def split_design(case: Case, design: str, weight: str) -> None:
    """w = (2 * 1 + 3 * 2) / (5 * 4) = 0.4."""
    assert case.status == 0, case.stderr
    assert case.document["design"]["design"] == design
    assert any(f"w = {weight}" in note for note in case.document["notes"]), case.document["notes"]


# --- partially paired ---------------------------------------------------------------------------

@given(parsers.parse("{count:d} simulated Roe-Metz studies of {readers:d} readers and "
                     "{positives:d} positive and {negatives:d} negative cases with {percent:d} % "
                     "of the readings missing at random"), target_fixture="null_p_values")
def partially_paired_null(count: int, readers: int, positives: int, negatives: int,
                          percent: int) -> np.ndarray:
    """Each reading dropped independently."""
    from verification.validation.roemetz import drop_readings

    config = NullConfiguration(readers=readers, positives=positives, negatives=negatives)

    def one(rng: np.random.Generator) -> float:
        ratings, truth = simulate_null_study(config, rng)
        return _rrrc_p(readings_from_arrays(drop_readings(ratings, percent / 100, rng), truth,
                                            partially_paired=True))

    return _p_values(count, 8, one)


@given(parsers.parse("the Van Dyke reader data with {percent:d} % of its readings removed at "
                     "random"))
def vandyke_dropped(case: Case, percent: int) -> None:
    """Seeded."""
    vandyke(case)
    rng = np.random.default_rng(3)
    _write_rows(case, [r for r in case.rows if rng.random() >= percent / 100])


@then(parsers.parse('the design is "{design}" and the DBM cross-check is said to be unavailable'))
def partially_paired_design(case: Case, design: str) -> None:
    """Analysed, and the DBM check is not claimed."""
    assert case.status == 0, case.stderr
    assert case.document["design"]["design"] == design
    assert "dbm" not in case.document
    assert any("DBM cross-check not available" in n for n in case.document["notes"])


@then("specificity at threshold T equals sensitivity of the negated ratings of the swapped truth "
      "at 1 - T, and so does the whole analysis")
def specificity_mirror(datasets: Any) -> None:
    """For integer ratings: rating < T exactly when -rating >= 1 - T; the jackknife then runs
    over the negative cases for specificity as over the positive cases for sensitivity."""
    from corridor_qms.validation import FigureOfMerit

    @settings(max_examples=30, deadline=None)
    @hypothesis_given(datasets, st.integers(2, 9))
    def check(drawn: tuple[np.ndarray, np.ndarray], threshold: int) -> None:
        ratings, truth = drawn
        ratings = np.round(ratings)
        specificity = estimate(readings_from_arrays(ratings, truth), FigureOfMerit.SPECIFICITY,
                               threshold=threshold)
        mirrored = estimate(readings_from_arrays(-ratings, ~truth), FigureOfMerit.SENSITIVITY,
                            threshold=1 - threshold)
        np.testing.assert_allclose(specificity.values, mirrored.values, atol=1e-12)
        np.testing.assert_allclose(specificity.covariance, mirrored.covariance, atol=1e-12)

    check()
