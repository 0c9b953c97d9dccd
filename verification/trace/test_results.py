"""Step definitions of ``verification/features/trace/results.feature``.

Verifies that verification results are read as they are: a scenario that failed, errored,
was skipped or never ran is reported as such, and every JUnit test case names its scenario
(the ``corridor_scenario`` property of :mod:`corridor_qms.pytest_plugin`).

Oracle: real results files, written by pytest run in a subprocess on a copy of the minimal
consistent project (``verification/fixtures/minimal``), read here with ElementTree, and the
outcomes and findings the feature file states by hand.
"""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET

from pytest_bdd import parsers, scenarios, then, when

from verification.trace.helpers import Project, run_pytest_in, table_rows

scenarios("trace/results.feature")


@when(parsers.parse('the project\'s scenarios are run by pytest with "{options}"'))
def run_pytest_with(project: Project, options: str) -> None:
    """Run the fixture project's scenarios with extra pytest options."""
    run_pytest_in(project, shlex.split(options))


@then(parsers.parse('pytest reports "{text}"'))
def pytest_reports(project: Project, text: str) -> None:
    """pytest's summary line contains the text, and nothing failed to collect."""
    assert project.pytest_run is not None
    assert text in project.pytest_run.stdout, project.pytest_run.stdout
    assert project.pytest_run.status == 0, project.pytest_run.stdout


@then(parsers.parse('every test case in "{results}" names its scenario:'))
def junit_names_scenarios(project: Project, results: str, datatable: list[list[str]]) -> None:
    """Each test case carries the corridor_scenario property with its outcome element."""
    found = {}
    for case in ET.parse(project.root / results).iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        outcome = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
        found[props.get("corridor_scenario")] = outcome
    expected = {row["scenario"]: row["outcome"] for row in table_rows(datatable)}
    assert found == expected
