"""Stamps against an independent SHA-256 computation written out by hand."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path, PurePosixPath

import yaml

from corridor_qms.records.io import load_record
from corridor_qms.records.model import Requirement
from corridor_qms.trace.stamps import stamp

FIXTURE = Path(__file__).parents[1] / "fixtures" / "minimal"


def _expected_stamp(canonical_json: str) -> str:
    digest = hashlib.sha256(canonical_json.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def test_requirement_stamp_is_sha256_of_its_normative_fields() -> None:
    rel = PurePosixPath("requirements_spec/srs/SRS-DEM-001.yaml")
    located, findings = load_record(FIXTURE / rel, rel, Requirement)
    assert findings == []
    assert located is not None
    # The canonical form, typed out: sorted keys, no spaces, only the normative fields.
    canonical = (
        '{"acceptance_criteria":["The output contains \\"hello\\"."],"id":"SRS-DEM-001",'
        '"safety_class":"B","statement":"The software shall print a greeting.",'
        '"type":"functional"}'
    )
    assert stamp(located.record) == _expected_stamp(canonical)


def test_fixture_link_reviews_hold_the_independently_computed_stamp() -> None:
    reviews = yaml.safe_load((FIXTURE / "verification/link_reviews.yaml").read_text())
    canonical = (
        '{"acceptance_criteria":["The output contains \\"hello\\"."],"id":"SRS-DEM-001",'
        '"safety_class":"B","statement":"The software shall print a greeting.",'
        '"type":"functional"}'
    )
    recorded = reviews["links"]["verification/features/demo.feature::Greeting"]["SRS-DEM-001"]
    assert recorded == _expected_stamp(canonical)


def test_editorial_fields_do_not_change_the_stamp() -> None:
    rel = PurePosixPath("requirements_spec/srs/SRS-DEM-001.yaml")
    located, _ = load_record(FIXTURE / rel, rel, Requirement)
    assert located is not None
    edited = located.record.model_copy(update={"title": "Another title", "rationale": "Other."})
    changed = located.record.model_copy(update={"statement": "The software shall wave."})
    assert stamp(edited) == stamp(located.record)
    assert stamp(changed) != stamp(located.record)
