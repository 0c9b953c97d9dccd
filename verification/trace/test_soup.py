"""Step definitions of ``verification/features/trace/soup.feature``.

Verifies SOUP records matching the runtime dependencies, each identified with its version
and evaluated.

Oracle: the findings, exit statuses and outputs the feature file states, written there by
hand and never derived from the checker, on a copy of the minimal consistent project
(``verification/fixtures/minimal``) with defects planted through real file edits.  All
its steps are shared ones, in ``conftest.py``.
"""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("trace/soup.feature")
