"""Step definitions of ``verification/features/trace/sbom.feature``.

Verifies the trace check's SBOM rules: every package of the runtime closure is a SOUP
record's package or reached from one, pinned by the lock and installed at that version, and
every SOUP package is locked inside its record's range.

Oracle: the findings the feature file states, written there by hand from the packages'
published dependencies (rich requires markdown-it-py and Pygments, markdown-it-py requires
mdurl; Jinja2 requires MarkupSafe) and the versions the project's requirements.lock pins, on
a copy of the minimal consistent project (``verification/fixtures/minimal``) with defects
planted through real file edits.  All its steps are shared ones, in ``conftest.py``.
"""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("trace/sbom.feature")
