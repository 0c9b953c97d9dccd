"""Step definitions of ``verification/features/trace/problems.feature``.

Verifies problem reports as records: the fields each status needs, severity, software items
and hazards that exist, a closed report verified by a passing scenario tagged with its ID, and
an open report in a class C software item reported as a release-only finding (exit 0 in
everyday checks and under ``--strict``, exit 1 under ``--release``).

Oracle: the findings, exit statuses and messages the feature file states, written there by
hand and never derived from the checker, on a copy of the minimal consistent project
(``verification/fixtures/minimal``) with a problem report written out in the feature and
defects planted through real file edits; a failed verifying scenario comes from a real
pytest run of the copy's own scenarios (JUnit XML).  All its steps are shared ones, in
``conftest.py``.
"""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("trace/problems.feature")
