"""Step definitions of ``verification/features/trace/risk.feature``.

Verifies hazards and risk controls: acceptability computed from the plan's matrix, and a risk
control counted only once it is implemented and verified (the exact list of findings).

Oracle: the findings the feature file states, written there by hand and never derived from
the checker, on a copy of the minimal consistent project (``verification/fixtures/minimal``)
with defects planted through real file edits.
"""

from __future__ import annotations

from collections import Counter

from pytest_bdd import parsers, scenarios, then, when

from verification.command_run import run_corridor
from verification.trace.helpers import Project, table_rows

scenarios("trace/risk.feature")


@when(parsers.parse('the trace check runs with "{option}"'))
def run_check_with(project: Project, option: str) -> None:
    """Run `corridor trace check` with one more option."""
    project.run = run_corridor(["trace", "check", "--root", str(project.root), option])


@then("the findings are exactly:")
def findings_exactly(project: Project, datatable: list[list[str]]) -> None:
    """Exactly the listed (rule, item) findings, whatever the exit status."""
    expected = Counter((row["rule"], row["item"]) for row in table_rows(datatable))
    assert Counter((r, i) for r, i, _, _ in project.findings()) == expected, project.last.stdout
