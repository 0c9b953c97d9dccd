"""Step definitions of ``verification/features/trace/verdict.feature``.

Verifies the trace check's verdict: the exit status that QA/RA staff and CI rely on, and
findings and messages that people can locate.

Oracle: the exit statuses, findings and texts the feature file states, written there by hand
and never derived from the checker, on a copy of the minimal consistent project
(``verification/fixtures/minimal``) with defects planted through real file edits.
"""

from __future__ import annotations

from pytest_bdd import parsers, scenarios, then

from verification.trace.helpers import Project

scenarios("trace/verdict.feature")


@then(parsers.parse('standard error contains "{text}"'))
def stderr_contains(project: Project, text: str) -> None:
    """Standard error contains the text."""
    assert text in project.last.stderr


@then(parsers.parse('standard output contains "{text}"'))
def stdout_contains(project: Project, text: str) -> None:
    """Standard output contains the text."""
    assert text in project.last.stdout
