"""pytest plugin linking pytest-bdd scenarios to the trace check.

Load it from a ``conftest.py`` with ``pytest_plugins = ["corridor_qms.pytest_plugin"]``.

* Gherkin tags that are trace identifiers (``@SRS-TRC-001``, ``@RC-002``) become
  the one registered marker ``verifies(ID)`` instead of one unregistered marker
  per ID, so ``--strict-markers`` holds and ``-m verifies`` selects them.
* Every scenario test carries the user property ``corridor_scenario`` =
  ``<feature path relative to the rootdir>::<scenario name>``, the scenario's key.  pytest copies
  user properties onto every report, set-up skips and errors included, so the
  JUnit XML (``junit_family = xunit1``) names the scenario of every test case,
  even the ones pytest-bdd's cucumber JSON leaves out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from corridor_qms.records.model import TRACE_ID
from corridor_qms.trace.results import SCENARIO_PROPERTY

__all__ = ["pytest_bdd_apply_tag", "pytest_collection_modifyitems", "pytest_configure"]

F = TypeVar("F", bound=Callable[..., Any])


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``verifies`` marker."""
    config.addinivalue_line(
        "markers", "verifies(id): the scenario verifies this requirement or risk control"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag: str, function: F) -> F | None:
    """Map a trace-ID tag onto ``verifies(ID)``; leave other tags to pytest-bdd."""
    if TRACE_ID.fullmatch(tag):
        return pytest.mark.verifies(tag)(function)  # type: ignore[no-any-return]
    return None


def _scenario_location(item: pytest.Item, rootdir: Path) -> str | None:
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    function = getattr(item, "obj", None)
    try:
        template = scenario_wrapper_template_registry.get(function)  # type: ignore[arg-type]
    except TypeError:
        return None
    if template is None:
        return None
    feature_path = Path(os.path.relpath(template.feature.filename, rootdir)).as_posix()
    return f"{feature_path}::{template.name}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Attach the ``corridor_scenario`` property to every scenario test."""
    for item in items:
        location = _scenario_location(item, config.rootpath)
        if location is not None:
            item.user_properties.append((SCENARIO_PROPERTY, location))
