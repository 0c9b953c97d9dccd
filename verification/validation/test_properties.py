"""Step definitions of ``verification/features/validation/properties.feature``.

Verifies properties the analyses must have on any data, as hypothesis properties run inside
the Then steps: invariance to monotone transforms, the sign flip of swapped modalities,
closed-form leave-one-out AUCs, the model against the readers as an OR analysis, specificity
as mirrored sensitivity, and the size of every test under a true null hypothesis and the
power predicted from pilots.

Oracles: brute-force pair counting for AUCs, the analyses' own definitions applied to
transformed data, and a Roe-Metz simulation (:mod:`verification.validation.roemetz`) under
a true null hypothesis with the binomial interval of its rejection rate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st
from pytest_bdd import given, parsers, scenarios, then, when

from corridor_qms.validation import estimate, or_analysis, readings_from_arrays
from verification.validation.roemetz import (
    NullConfiguration,
    expected_auc,
    simulate_model_and_readers,
    simulate_null_study,
)

scenarios("validation/properties.feature")


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
