"""Step definitions of ``verification/features/validation/agreement.feature``.

Verifies that the agreement statistics reproduce their published examples: the six
Shrout-Fleiss ICCs, Bland-Altman limits on the 1986 Lancet peak-flow data, Cohen's and
Fleiss' kappa, and a duplicate rating refused with its row.

Oracles: the values the sources print, in ``verification/fixtures/agreement/`` (its
manifest names each source and pins each file by SHA-256), compared to half a unit in the
last printed digit.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from verification.validation.helpers import Case, close_to, run_command

scenarios("validation/agreement.feature")


AGREEMENT = Path(__file__).parents[1] / "fixtures" / "agreement"


def _agreement_entry(name: str) -> dict[str, Any]:
    manifest = json.loads((AGREEMENT / "manifest.json").read_text())["files"][name]
    assert hashlib.sha256((AGREEMENT / name).read_bytes()).hexdigest() == manifest["sha256"]
    return dict(manifest)


@given(parsers.parse('the agreement example "{name}"'))
def agreement_example(case: Case, name: str) -> None:
    """Pinned by SHA-256."""
    case.document = {"published": _agreement_entry(name)}
    case.data = AGREEMENT / name


@given(parsers.parse('the agreement example "{name}" with its first row repeated at the end'))
def agreement_duplicate(case: Case, name: str) -> None:
    """Written to the scenario folder."""
    agreement_example(case, name)
    assert case.data is not None
    lines = case.data.read_text().splitlines()
    path = case.root / name
    path.write_text("\n".join([*lines, lines[1]]) + "\n")
    case.data = path


@when(parsers.parse('corridor validate agreement is run on it with "{options}"'))
def run_agreement(case: Case, options: str) -> None:
    """In process; the published entry kept beside the output."""
    assert case.data is not None
    published_entry = case.document.get("published")
    run_command(case, ["validate", "agreement", str(case.data), *shlex.split(options)])
    case.document["published"] = published_entry


@then("each ICC equals the published value to its printed digits and names its form")
def icc_published(case: Case) -> None:
    """Shrout & Fleiss Table 4."""
    found = {item["form"]: item for item in case.document["icc"]}
    for form, value in case.document["published"]["icc"].items():
        close_to(found[form]["value"], value)
        assert found[form]["description"]


@then("the bias and SD equal the published values to their printed digits")
def bland_altman_published(case: Case) -> None:
    """Lancet 1986: mean difference -2.1, SD 38.8."""
    found = case.document["bland_altman"]
    close_to(found["bias"], case.document["published"]["bias"])
    close_to(found["sd"], case.document["published"]["sd"])


@then("the limits of agreement are the bias plus and minus 1.96 SD, inside their 95 % CIs")
def limits(case: Case) -> None:
    """Definition, and CIs around each limit."""
    found = case.document["bland_altman"]
    assert found["lower_limit"] == pytest.approx(found["bias"] - 1.96 * found["sd"])
    assert found["upper_limit"] == pytest.approx(found["bias"] + 1.96 * found["sd"])
    assert found["lower_limit_ci95"][0] < found["lower_limit"] < found["lower_limit_ci95"][1]
    assert found["upper_limit_ci95"][0] < found["upper_limit"] < found["upper_limit_ci95"][1]


@then("kappa and the observed and chance agreement equal the published values to their printed "
      "digits")
def kappa_published(case: Case) -> None:
    """Worked examples."""
    found, expected = case.document["kappa"], case.document["published"]
    close_to(found["value"], expected["kappa"])
    close_to(found["observed_agreement"], expected["observed"])
    close_to(found["chance_agreement"], expected["expected"])
