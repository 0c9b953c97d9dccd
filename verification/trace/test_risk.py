"""Step definitions of ``verification/features/trace/risk.feature``.

Verifies hazards and risk controls: acceptability computed from the plan's matrix, and a risk
control counted only once it is implemented and verified (the exact list of findings).

Oracle: the findings the feature file states, written there by hand and never derived from
the checker, on a copy of the minimal consistent project (``verification/fixtures/minimal``)
with defects planted through real file edits.  All its steps are shared ones, in
``conftest.py``.
"""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("trace/risk.feature")
