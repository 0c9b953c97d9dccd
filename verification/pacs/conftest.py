"""Fixtures of the PACS tests: a real Orthanc, fresh for each test.

Orthanc starts in about 0.1 s and is killed at teardown (its storage is the test's
``tmp_path``), so each test gets an empty PACS of its own rather than sharing one and deleting
between tests.  Where Orthanc or its DICOMweb plugin is missing the test fails with the one
line :data:`~verification.pacs.orthanc.MISSING` (``verification/system_packages.py``, run by
tox first, installs them where it can).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from verification.pacs.orthanc import Orthanc, OrthancMissingError


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[Orthanc]:
    """A running Orthanc with DICOMweb, empty, on free loopback ports, with a random user."""
    try:
        server = Orthanc(tmp_path / "orthanc")
    except OrthancMissingError as missing:
        pytest.fail(str(missing), pytrace=False)
    with server:
        yield server
