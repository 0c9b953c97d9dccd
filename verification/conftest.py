"""Shared configuration of Corridor's verification suite.

The hooks of :mod:`corridor_qms.pytest_plugin` are imported by name so that they
apply to the whole suite (``pytest_plugins`` is allowed only in a root conftest).
"""

from corridor_qms.pytest_plugin import (
    pytest_bdd_apply_tag,
    pytest_collection_modifyitems,
    pytest_configure,
)

__all__ = ["pytest_bdd_apply_tag", "pytest_collection_modifyitems", "pytest_configure"]
