"""Step definitions of ``verification/features/ingest/intensities.feature``.

Verifies Hounsfield units (exact, stored as int16), the padding mask, lossless compressed
transfer syntaxes, and the provenance of every file.

Oracles: the phantom's ground-truth HU and padding mask saved beside the series, the SOP
Instance UIDs in slice order as the writer reports them, and SHA-256 computed here with
hashlib from the files' bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pytest_bdd import parsers, scenarios, then

from verification.ingest.helpers import Case

scenarios("ingest/intensities.feature")


@then(parsers.parse('the volume\'s HU are stored as "{dtype}"'))
def stored_as(case: Case, dtype: str) -> None:
    """The HU dtype."""
    assert str(case.loaded().volume.hu.dtype) == dtype


@then("the provenance lists the phantom's SOP Instance UIDs in slice order")
def provenance_order(case: Case) -> None:
    """SOP Instance UIDs in k order, as the writer reports them."""
    sources = case.loaded().volume.sources
    assert [s.sop_instance_uid for s in sources] == list(case.written.sop_instance_uids)


@then("each file's SHA-256 equals a hash of its bytes")
def provenance_hashes(case: Case) -> None:
    """Independent SHA-256 of every file."""
    for source in case.loaded().volume.sources:
        assert source.sha256 == hashlib.sha256(Path(source.path).read_bytes()).hexdigest()
