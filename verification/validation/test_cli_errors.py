"""``corridor validate`` reports only its own data errors as such; anything else is a defect.

The validation tooling raises :class:`StudyDataError` (unusable reader data) and
:class:`AnalysisError` (data or options that cannot be analysed as asked) on purpose; the CLI
reports those with exit status 2.  A plain ``ValueError``, as NumPy or SciPy raise on a defect,
must not be taken for a data error: it reaches the ``corridor`` command, which reports an
internal error with exit status 70 and the traceback.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

import corridor_qms.validation.cli as validation_cli
from corridor.errors import CorridorError, ExitStatus
from corridor_qms.docs import ModelCardError
from corridor_qms.errors import QmsError
from corridor_qms.validation import AnalysisError, StudyDataError
from verification.command_run import run_corridor

FIXTURES = Path(__file__).parents[1] / "fixtures"
VANDYKE = FIXTURES / "mrmc" / "vandyke.csv"
SHROUT_FLEISS = FIXTURES / "agreement" / "shrout_fleiss_1979.csv"


def _measurements(folder: Path) -> Path:
    """A small fully crossed continuous data set (two readers, two modalities, three cases)."""
    path = folder / "continuous.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["reader", "modality", "case", "value"])
        for r, reader in enumerate("ab"):
            for m, modality in enumerate("xy"):
                for case in range(3):
                    writer.writerow([reader, modality, case, 1.0 + r + 2 * m + 0.5 * case])
    return path


# (function of corridor_qms.validation.cli to plant the error in, command line after
# ``validate``; ``{tmp}`` is a per-test folder)
PLANTS = [
    ("or_analysis", ["mrmc", str(VANDYKE), "--json"]),
    ("estimate", ["size", str(VANDYKE), "--readers", "5", "--cases", "100"]),
    ("power", ["size", str(VANDYKE), "--readers", "5", "--cases", "100"]),
    ("model_vs_readers", ["model-vs-readers", str(VANDYKE), "--model-reader", "1"]),
    ("icc", ["agreement", str(SHROUT_FLEISS), "--statistic", "icc"]),
    ("fit_continuous", ["continuous", "{measurements}", "--test", "x", "--reference", "y"]),
    ("run_study", ["study", "{tmp}/study.yaml", "--out", "{tmp}/out"]),
]


def _plant(monkeypatch: pytest.MonkeyPatch, name: str, error: Exception) -> None:
    def raise_(*_args: object, **_kwargs: object) -> object:
        raise error

    function: Callable[..., object] = raise_
    monkeypatch.setattr(validation_cli, name, function)


def _argv(words: list[str], tmp_path: Path) -> list[str]:
    measurements = str(_measurements(tmp_path))
    return ["validate", *(w.format(tmp=tmp_path, measurements=measurements) for w in words)]


@pytest.mark.parametrize(("name", "words"), PLANTS, ids=[p[0] for p in PLANTS])
def test_a_plain_value_error_is_an_internal_error(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path, name: str,
                                                  words: list[str]) -> None:
    """A ValueError that is not the tooling's own exits 70 with its traceback, not 2."""
    _plant(monkeypatch, name, ValueError("planted defect"))
    done = run_corridor(_argv(words, tmp_path))
    assert done.status == ExitStatus.INTERNAL_ERROR != validation_cli.EXIT_DATA, done.stderr
    assert "corridor: internal error (ValueError)" in done.stderr, done.stderr
    assert "Traceback" in done.stderr, done.stderr
    assert "planted defect" in done.stderr, done.stderr


@pytest.mark.parametrize(("name", "words"), PLANTS, ids=[p[0] for p in PLANTS])
def test_an_analysis_error_is_a_data_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           name: str, words: list[str]) -> None:
    """The tooling's own AnalysisError still exits 2 with its message and no traceback."""
    _plant(monkeypatch, name, AnalysisError("cannot be analysed as asked"))
    done = run_corridor(_argv(words, tmp_path))
    assert done.status == validation_cli.EXIT_DATA, done.stderr
    assert done.stderr.startswith("corridor validate")
    assert "cannot be analysed as asked" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_modality_is_an_analysis_error() -> None:
    """--modalities naming a modality the data lack is the user's error (exit 2), named."""
    done = run_corridor(["validate", "mrmc", str(VANDYKE), "--modalities", "9", "1"])
    assert done.status == validation_cli.EXIT_DATA, done.stderr
    assert "modality '9' not in the data (1, 2)" in done.stderr, done.stderr


def test_an_impossible_sizing_option_is_an_analysis_error() -> None:
    """--readers 1 is refused as a data error, not reported as an internal error."""
    done = run_corridor(["validate", "size", str(VANDYKE), "--readers", "1", "--cases", "10"])
    assert done.status == validation_cli.EXIT_DATA, done.stderr
    assert "sizing needs at least two readers and two cases" in done.stderr, done.stderr


@pytest.mark.parametrize("resamples", ["0", "1", "-5"])
def test_too_few_bootstrap_resamples_are_an_analysis_error(resamples: str) -> None:
    """Bootstrap covariance needs at least two resamples (refused, exit 2)."""
    done = run_corridor(["validate", "mrmc", str(VANDYKE), "--cov", "bootstrap",
                         "--resamples", resamples])
    assert done.status == validation_cli.EXIT_DATA, done.stderr
    assert "bootstrap covariance needs at least two resamples" in done.stderr, done.stderr


def test_a_negative_bootstrap_seed_is_an_analysis_error() -> None:
    """NumPy refuses a negative seed with a ValueError; the tooling refuses it first."""
    done = run_corridor(["validate", "mrmc", str(VANDYKE), "--cov", "bootstrap",
                         "--resamples", "3", "--seed", "-1"])
    assert done.status == validation_cli.EXIT_DATA, done.stderr
    assert "the bootstrap seed must be a non-negative integer" in done.stderr, done.stderr


@pytest.mark.parametrize("error", [StudyDataError, AnalysisError, ModelCardError])
def test_tooling_errors_hang_off_the_tooling_root(error: type[Exception]) -> None:
    """The tooling's errors are QmsErrors (and ValueErrors), never the device's errors."""
    assert issubclass(error, QmsError)
    assert issubclass(error, ValueError)
    assert not issubclass(error, CorridorError)


def test_model_card_error_keeps_its_fields() -> None:
    """field, found and expected as attributes; the message names all three."""
    error = ModelCardError("validation model_sha256", "abc", "the card's model hash")
    assert (error.field, error.found, error.expected) == ("validation model_sha256", "abc",
                                                          "the card's model hash")
    assert str(error) == ("validation model_sha256: found 'abc', expected the card's model "
                          "hash")
