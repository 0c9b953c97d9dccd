"""Every rule of the catalogue has a scenario that plants its defect and expects it."""

from __future__ import annotations

import re
from pathlib import Path

from corridor_qms.trace.rules import CATALOGUE

FEATURES = Path(__file__).parents[1] / "features" / "trace"


def _expected_rules() -> set[str]:
    """Rule IDs that some scenario expects, from its findings tables and finding steps."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(FEATURES.glob("*.feature")))
    in_tables = set(re.findall(r"^\s*\|\s*([A-Z]+(?:-[A-Z]+)+)\s*\|", text, flags=re.MULTILINE))
    in_steps = set(re.findall(r'the finding "([A-Z-]+)"', text))
    return in_tables | in_steps


def test_every_rule_has_a_scenario_expecting_it() -> None:
    missing = sorted(set(CATALOGUE) - _expected_rules())
    assert missing == [], f"rules no scenario expects: {missing}"


def test_scenarios_expect_only_catalogued_rules() -> None:
    unknown = sorted(_expected_rules() - set(CATALOGUE))
    assert unknown == [], f"scenarios expect rules outside the catalogue: {unknown}"
