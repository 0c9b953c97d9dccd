"""Step definitions of ``verification/features/trace/links.feature``.

Verifies identity and links between records: unique identifiers, and every link landing on
an existing record of the right kind.

Oracle: the findings, exit statuses and outputs the feature file states, written there by
hand and never derived from the checker, on a copy of the minimal consistent project
(``verification/fixtures/minimal``) with defects planted through real file edits.  All
its steps are shared ones, in ``conftest.py``.
"""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("trace/links.feature")
