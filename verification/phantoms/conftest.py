"""Every phantom test runs with pydicom raising on any invalid value, read or written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydicom import config


@pytest.fixture(autouse=True)
def _strict_pydicom() -> Iterator[None]:
    """Writing and reading raise on any invalid value, so every object is checked by pydicom."""
    writing, reading = (config.settings.writing_validation_mode,
                        config.settings.reading_validation_mode)
    config.settings.writing_validation_mode = config.RAISE
    config.settings.reading_validation_mode = config.RAISE
    yield
    config.settings.writing_validation_mode = writing
    config.settings.reading_validation_mode = reading
