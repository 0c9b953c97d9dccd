"""Shared configuration of Corridor's verification suite.

The hooks of :mod:`corridor_qms.pytest_plugin` are imported by name so that they
apply to the whole suite (``pytest_plugins`` is allowed only in a root conftest).

Layout.  Each feature file ``features/<area>/<name>.feature`` has its step module
``<area>/test_<name>.py``, which loads only that file (``scenarios("<area>/<name>.feature")``)
and defines the steps only it uses; its docstring says what the feature verifies and which
oracle the steps use.  Steps used by several feature files of one area are defined once in
``<area>/conftest.py`` (pytest-bdd finds step definitions among the fixtures a conftest
provides, and a step module's own definition would take precedence); the non-step helpers
they share (the scenario's context, command runs, independent readers) are in
``<area>/helpers.py``, beside the area's other helper modules (``inference/graphs.py``,
``planning/phantoms.py``, ``validation/roemetz.py``, ``phantoms/phantom_oracle.py``).
``verification/`` and its area folders are packages, so that modules with the same name in
two areas do not clash and helpers are imported by package path
(``verification.command_run``), never by editing the import path; the unit and property
tests of an area live in the same folder.

Some hypothesis properties run inside ``Then`` steps rather than as plain test functions,
so that they are scenarios tagged with the requirements they verify and the trace check
counts their results as verification of those requirements.

The one step shared across areas, the process umask, is defined here.
"""

import os
from collections.abc import Iterator

import pytest
from pytest_bdd import given

from corridor_qms.pytest_plugin import (
    pytest_bdd_apply_tag,
    pytest_collection_modifyitems,
    pytest_configure,
)

__all__ = ["pytest_bdd_apply_tag", "pytest_collection_modifyitems", "pytest_configure",
           "restore_umask", "umask_022"]


@pytest.fixture
def restore_umask() -> Iterator[None]:
    """The process umask as it was before the scenario, restored after it."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


@given("the process umask is 022")
def umask_022(restore_umask: None) -> None:
    """Group and others may read what is written."""
    os.umask(0o022)
