"""Test results read from pytest's JUnit XML or pytest-bdd's cucumber JSON.

Results are keyed by scenario: feature file and scenario name (unique within a
file), or for cucumber JSON, whose outline names are rendered, the line.  The two formats differ
in what they keep: cucumber JSON drops every scenario that did not reach its
call phase (skipped by a marker, errored in set-up), JUnit XML keeps them.  The
trace check therefore starts from the scenarios in the feature files and
reports every one without a result as not run.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path, PurePosixPath

from corridor_qms.errors import ResultsError
from corridor_qms.records.scenario import Scenario

__all__ = ["SCENARIO_PROPERTY", "Outcome", "load_results", "worst"]

SCENARIO_PROPERTY = "corridor_scenario"
"""JUnit ``<property>`` naming a test's scenario by its key, ``<feature path>::<name>``."""


class Outcome(StrEnum):
    """Result of one scenario, kept as distinct as the runner reported it."""

    PASSED = "passed"
    FAILED = "failed"
    ERRORED = "errored"
    SKIPPED = "skipped"
    NOT_RUN = "not-run"

    @property
    def severity(self) -> int:
        """Higher is worse; used to combine the runs of one scenario outline."""
        return _SEVERITY[self]


_SEVERITY = {
    Outcome.PASSED: 0,
    Outcome.SKIPPED: 1,
    Outcome.NOT_RUN: 2,
    Outcome.FAILED: 3,
    Outcome.ERRORED: 4,
}


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    """The worst of several outcomes; ``NOT_RUN`` for none."""
    return max(outcomes, key=lambda o: o.severity, default=Outcome.NOT_RUN)


RawResults = dict[tuple[str, str, int], Outcome]
"""Outcome by (reported feature path, scenario name, scenario line); line 0 when unknown."""


def _merge(results: RawResults, key: tuple[str, str, int], outcome: Outcome) -> None:
    previous = results.get(key)
    results[key] = outcome if previous is None else worst((previous, outcome))


def _junit(path: Path) -> RawResults:
    try:
        tree = ET.parse(path)
    except ET.ParseError as exc:
        raise ResultsError(path, f"not valid JUnit XML: {exc}") from exc
    results: RawResults = {}
    for case in tree.iter("testcase"):
        key = None
        for prop in case.iter("property"):
            if prop.get("name") == SCENARIO_PROPERTY:
                where, _, name = (prop.get("value") or "").partition("::")
                if where and name:
                    key = (where, name, 0)
        if key is None:
            continue
        if case.find("error") is not None:
            outcome = Outcome.ERRORED
        elif case.find("failure") is not None:
            outcome = Outcome.FAILED
        elif case.find("skipped") is not None:
            outcome = Outcome.SKIPPED
        else:
            outcome = Outcome.PASSED
        _merge(results, key, outcome)
    return results


def _cucumber(path: Path) -> RawResults:
    try:
        features = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResultsError(path, f"not valid cucumber JSON: {exc}") from exc
    if not isinstance(features, list):
        raise ResultsError(path, "expected a JSON list of features (cucumber JSON)")
    results: RawResults = {}
    for feature in features:
        uri = str(feature.get("uri", ""))
        for element in feature.get("elements", []):
            statuses = [step.get("result", {}).get("status") for step in element.get("steps", [])]
            if "failed" in statuses:
                outcome = Outcome.FAILED
            elif any(s != "passed" for s in statuses) or not statuses:
                outcome = Outcome.SKIPPED
            else:
                outcome = Outcome.PASSED
            key = (uri, str(element.get("name", "")), int(element.get("line", 0)))
            _merge(results, key, outcome)
    return results


def load_results(path: Path, scenarios: Iterable[Scenario]) -> dict[str, Outcome]:
    """Read a results file and give each scenario its outcome.

    Parameters
    ----------
    path
        JUnit XML (``.xml``) or cucumber JSON (``.json``).
    scenarios
        The scenarios expected, from the feature files.

    Returns
    -------
    dict
        Outcome per scenario key; a scenario without any result is ``NOT_RUN``.

    Raises
    ------
    ResultsError
        If the file is missing, unreadable or of neither format.
    """
    if not path.is_file():
        raise ResultsError(path, "no such results file (expected JUnit XML or cucumber JSON)")
    if path.suffix == ".xml":
        raw = _junit(path)
    elif path.suffix == ".json":
        raw = _cucumber(path)
    else:
        raise ResultsError(path, f"unknown results format {path.suffix!r} (expected .xml or .json)")
    by_file: dict[str, dict[str | int, list[Outcome]]] = {}
    for (where, name, line), outcome in raw.items():
        entries = by_file.setdefault(where, {})
        entries.setdefault(name, []).append(outcome)
        if line:
            entries.setdefault(line, []).append(outcome)
    by_name: dict[str, list[tuple[PurePosixPath, dict[str | int, list[Outcome]]]]] = {}
    for where, entries in by_file.items():
        reported = PurePosixPath(where)
        by_name.setdefault(reported.name, []).append((reported, entries))
    reported_for: dict[PurePosixPath, list[dict[str | int, list[Outcome]]]] = {}
    outcomes: dict[str, Outcome] = {}
    for scenario in scenarios:
        files = reported_for.get(scenario.path)
        if files is None:
            files = [e for reported, e in by_name.get(scenario.path.name, [])
                     if _same_file(scenario.path, reported)]
            reported_for[scenario.path] = files
        matches = [
            outcome
            for entries in files
            for outcome in entries.get(scenario.name, []) or entries.get(scenario.line, [])
        ]
        outcomes[scenario.key] = worst(matches)
    return outcomes


def _same_file(feature: PurePosixPath, reported: PurePosixPath) -> bool:
    """Whether a reported path names the feature file (it may be relative to another base)."""
    parts = reported.parts
    return len(parts) <= len(feature.parts) and feature.parts[-len(parts) :] == parts
