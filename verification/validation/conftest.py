"""Steps and fixtures shared by the validation-statistics scenarios
(``verification/features/validation/``).

The published Van Dyke results (``verification/fixtures/mrmc/published_results.json``,
pinned by SHA-256), ``corridor validate mrmc`` run in process, and the refusal with exit
status 2 that several feature files expect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import parsers, then, when

from verification.validation.helpers import Case, fixture_path, run_mrmc_command


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    """The published Van Dyke results."""
    return dict(json.loads(fixture_path("published_results.json").read_text())["vandyke"])


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


@when(parsers.parse('corridor validate mrmc is run on it with "{options}"'))
def run_mrmc(case: Case, options: str) -> None:
    """In process."""
    run_mrmc_command(case, options)


@then(parsers.parse('it exits with status 2, naming "{text}"'))
def exits_naming(case: Case, text: str) -> None:
    """One message on stderr."""
    assert case.status == 2, (case.stdout, case.stderr)
    assert text in case.stderr, case.stderr
