"""Step definitions of ``verification/features/trace/records.feature``.

Verifies record validation: a malformed record never drops silently out of the trace, and
every problem names the file, line, field and the form expected.

Oracle: the findings, exit statuses and outputs the feature file states, written there by
hand and never derived from the checker, on a copy of the minimal consistent project
(``verification/fixtures/minimal``) with defects planted through real file edits.  All
its steps are shared ones, in ``conftest.py``.
"""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("trace/records.feature")
