"""The test PACS harness (:mod:`verification.pacs.orthanc`): its one-line refusal when Orthanc
is missing, its authentication, and a restart that keeps ports and data."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from corridor_phantoms import make_phantom, write_series
from verification.pacs import orthanc as harness
from verification.pacs.orthanc import MISSING, Orthanc, OrthancMissingError


def test_a_missing_plugin_stops_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setattr(harness, "DICOMWEB_PLUGIN", tmp_path / "absent.so")
    with pytest.raises(OrthancMissingError) as missing:
        Orthanc(tmp_path)
    assert str(missing.value) == MISSING == (
        "verification needs Orthanc with its DICOMweb plugin: install it "
        "(Debian: sudo apt-get install orthanc orthanc-dicomweb)")


def test_orthanc_asks_for_its_random_credentials(orthanc: Orthanc) -> None:
    assert requests.get(f"{orthanc.url}/system", timeout=5).status_code == 401


def test_restart_keeps_the_ports_and_the_data(orthanc: Orthanc, tmp_path: Path) -> None:
    phantom = make_phantom("sphere", shape=(8, 8, 2), spacing=(4.0, 4.0, 4.0))
    orthanc.send(write_series(phantom, tmp_path / "phantom").paths)
    before, url = orthanc.studies(), orthanc.url
    orthanc.restart()
    assert (orthanc.studies(), orthanc.url) == (before, url)
    assert len(before) == 1
    orthanc.delete_all()
    assert orthanc.studies() == []
