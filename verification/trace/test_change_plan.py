"""Step definitions of ``verification/features/trace/change_plan.feature``.

Verifies the predetermined change control plan as a checked record: a consistent plan checks
clean; a bound naming an unknown metric is an invalid record; a bound on a label the model does
not output, measured by a requirement that does not exist or that no scenario verifies, is
reported; a model package without a plan, and a plan for no model package, are reported.

Oracle: the findings, places and messages the feature file states, written there by hand and
never derived from the checker, on a copy of the minimal consistent project
(``verification/fixtures/minimal``) with a model manifest and a plan written out in the
feature and defects planted through real file edits.  All its steps are shared ones, in
``conftest.py``.
"""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("trace/change_plan.feature")
