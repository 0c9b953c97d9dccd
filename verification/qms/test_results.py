"""Reading JUnit XML and cucumber JSON, against hand-written result files."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest

from corridor_qms.errors import ResultsError
from corridor_qms.records.scenario import Scenario
from corridor_qms.trace.results import Outcome, load_results, worst

FEATURE = PurePosixPath("verification/features/demo.feature")


def _scenario(name: str, line: int) -> Scenario:
    return Scenario(FEATURE, "Demo", name, line, ())


SCENARIOS = [_scenario("A", 3), _scenario("B", 7), _scenario("C", 11), _scenario("D", 15)]


def _case(name: str, body: str = "") -> str:
    return (
        f'<testcase classname="t" name="test_{name}"><properties>'
        f'<property name="corridor_scenario" value="{FEATURE}::{name}"/></properties>'
        f"{body}</testcase>"
    )


def test_junit_keeps_failed_errored_skipped_and_missing_apart(tmp_path: Path) -> None:
    xml = (
        "<testsuites><testsuite>"
        + _case("A")
        + _case("B", '<failure message="boom"/>')
        + _case("C", '<error message="setup"/>')
        + '<testcase classname="t" name="test_unrelated_unit_test"/>'
        + "</testsuite></testsuites>"
    )
    path = tmp_path / "junit.xml"
    path.write_text(xml)
    assert load_results(path, SCENARIOS) == {
        f"{FEATURE}::A": Outcome.PASSED,
        f"{FEATURE}::B": Outcome.FAILED,
        f"{FEATURE}::C": Outcome.ERRORED,
        f"{FEATURE}::D": Outcome.NOT_RUN,
    }


def test_junit_outline_runs_combine_to_the_worst(tmp_path: Path) -> None:
    xml = "<testsuite>" + _case("A") + _case("A", "<skipped/>") + _case("B") + "</testsuite>"
    path = tmp_path / "junit.xml"
    path.write_text(xml)
    outcomes = load_results(path, SCENARIOS)
    assert outcomes[f"{FEATURE}::A"] is Outcome.SKIPPED
    assert outcomes[f"{FEATURE}::B"] is Outcome.PASSED


def test_cucumber_json_matches_by_suffix_and_name_and_omits_nothing(tmp_path: Path) -> None:
    features = [{
        "uri": "features/demo.feature",
        "elements": [
            {"name": "A", "line": 3, "steps": [{"result": {"status": "passed"}}]},
            {"name": "B", "line": 7, "steps": [{"result": {"status": "passed"}},
                                                {"result": {"status": "failed"}}]},
            {"name": "C", "line": 11, "steps": [{"result": {"status": "undefined"}}]},
        ],
    }, {
        "uri": "features/other.feature",
        "elements": [{"name": "D", "line": 15, "steps": [{"result": {"status": "passed"}}]}],
    }]
    path = tmp_path / "cucumber.json"
    path.write_text(json.dumps(features))
    assert load_results(path, SCENARIOS) == {
        f"{FEATURE}::A": Outcome.PASSED,
        f"{FEATURE}::B": Outcome.FAILED,
        f"{FEATURE}::C": Outcome.SKIPPED,
        f"{FEATURE}::D": Outcome.NOT_RUN,
    }


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.xml", None, "no such results file"),
        ("bad.xml", "<testsuite>", "not valid JUnit XML"),
        ("bad.json", "{", "not valid cucumber JSON"),
        ("dict.json", "{}", "expected a JSON list of features"),
        ("results.txt", "", "unknown results format '.txt'"),
    ],
)
def test_unusable_results_name_the_file_and_the_problem(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(ResultsError, match=message) as caught:
        load_results(path, SCENARIOS)
    assert caught.value.path == path
    assert name in str(caught.value)


def test_worst_of_nothing_is_not_run() -> None:
    assert worst([]) is Outcome.NOT_RUN
    assert worst([Outcome.PASSED, Outcome.ERRORED, Outcome.FAILED]) is Outcome.ERRORED
