"""Content fingerprints of records, for suspect links and change-impact analysis.

A stamp is SHA-256 over the canonical JSON of a record's *normative* fields,
written in URL-safe base64 without padding (43 characters), as Doorstop does.
Editorial fields (title, status, rationale) are left out so that fixing a typo
in a title does not make every link suspect.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from corridor_qms.records.model import Hazard, Requirement, RiskControl

__all__ = ["REQUIREMENT_STAMP_FIELDS", "RISK_CONTROL_STAMP_FIELDS", "fingerprint", "stamp"]

REQUIREMENT_STAMP_FIELDS = ("id", "statement", "acceptance_criteria", "type", "safety_class")
"""Fields of a requirement whose change makes its verifying links suspect."""

RISK_CONTROL_STAMP_FIELDS = ("id", "description", "option", "implemented_by", "effectiveness")
"""Fields of a risk control whose change makes its verifying links suspect."""


def fingerprint(content: Any) -> str:
    """SHA-256 of the canonical JSON of ``content``, URL-safe base64 without padding."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def stamp(record: Requirement | RiskControl | Hazard) -> str:
    """The stamp of a record's normative content.

    Requirements and risk controls are stamped over their normative fields
    (:data:`REQUIREMENT_STAMP_FIELDS`, :data:`RISK_CONTROL_STAMP_FIELDS`);
    a hazard over every field but its title.
    """
    data = record.model_dump(mode="json")
    if isinstance(record, Requirement):
        fields: tuple[str, ...] = REQUIREMENT_STAMP_FIELDS
    elif isinstance(record, RiskControl):
        fields = RISK_CONTROL_STAMP_FIELDS
    else:
        fields = tuple(k for k in data if k != "title")
    return fingerprint({k: data[k] for k in fields})
