"""Fixtures shared by the audit-document scenarios (``verification/features/docs/``): the
scenario context.  The two feature files share no step.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from verification.docs.helpers import Case


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)
