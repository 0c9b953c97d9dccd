"""Step definitions of ``verification/features/validation/study.feature``.

Verifies a study definition analysed into results and a report: the example study's
endpoints reproduce the published Van Dyke results, the inputs are hashed, everything the
report shows is escaped, the same inputs give the same bytes, and a definition naming no
data is refused.

Oracles: the published Van Dyke results (pinned by SHA-256), SHA-256 of the inputs computed
here, the hostile texts planted in the definition (found escaped, never as markup), and the
bytes of two runs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, scenarios, then, when
from scipy import stats

from verification.validation.helpers import Case, close_to, run_command

scenarios("validation/study.feature")


EXAMPLE = Path(__file__).parents[2] / "validation_study" / "vandyke-example"


@given("the example study in validation_study/vandyke-example")
def example_study(case: Case) -> None:
    """The shipped example (Van Dyke re-labelled)."""
    case.definition = EXAMPLE / "study.yaml"


def _copied_example(case: Case) -> dict[str, Any]:
    import shutil

    import yaml

    folder = case.root / "study"
    shutil.copytree(EXAMPLE, folder)
    case.definition = folder / "study.yaml"
    return dict(yaml.safe_load(case.definition.read_text()))


@given("the example study with its title and a modality description holding HTML markup")
def hostile_study(case: Case) -> None:
    """Markup in free-text fields."""
    import yaml

    document = _copied_example(case)
    document["title"] = "<script>alert('title')</script> & <b>bold</b>"
    document["modalities"][0]["description"] = "<img src=x onerror=alert(1)>"
    assert case.definition is not None
    case.definition.write_text(yaml.safe_dump(document))


@given("the example study without its data field")
def no_data_study(case: Case) -> None:
    """Field removed."""
    import yaml

    document = _copied_example(case)
    del document["data"]
    assert case.definition is not None
    case.definition.write_text(yaml.safe_dump(document))


@when("corridor validate study is run on it")
def run_study_command(case: Case) -> None:
    """Into the scenario folder."""
    assert case.definition is not None
    run_command(case, ["validate", "study", str(case.definition), "--out", str(case.root / "out")])
    if case.status == 0:
        case.document = json.loads((case.root / "out" / "results.json").read_text())


@when("corridor validate study is run on it twice into two folders")
def run_study_twice(case: Case) -> None:
    """Same inputs."""
    assert case.definition is not None
    for name in ("first", "second"):
        run_command(case, ["validate", "study", str(case.definition),
                           "--out", str(case.root / name)])
        assert case.status == 0, case.stderr


def _endpoint(case: Case, name: str) -> dict[str, Any]:
    return next(e for e in case.document["endpoints"] if e["name"] == name)


@then('results.json gives auc-non-inferiority the published difference and CI, its one-sided '
      'p-value from the published SE and df, and "not supported"')
def study_auc(case: Case, published: dict[str, Any]) -> None:
    """CINE - spin-echo = treatment 1 - treatment 2 of the published results."""
    assert case.status == 0, case.stderr
    block = published["or_jackknife_rrrc"]
    item = _endpoint(case, "auc-non-inferiority")
    close_to(item["comparison"]["difference"], block["difference"])
    close_to(item["comparison"]["ci95"][0], block["ci95"][0])
    close_to(item["comparison"]["ci95"][1], block["ci95"][1])
    expected = stats.t.sf((block["difference"] + 0.05) / block["se"], block["df2_hillis"])
    assert item["p_value_one_sided"] == pytest.approx(expected, rel=1e-5)
    assert item["conclusion"].startswith("not supported")


@then('results.json gives sensitivity-superiority MRMCaov\'s published binary-sensitivity '
      'difference and CI, and "supported"')
def study_sensitivity(case: Case, published: dict[str, Any]) -> None:
    """Spin-echo - CINE: the published difference negated."""
    block = published["binary_sensitivity_rating_ge_3_jackknife_rrrc"]
    item = _endpoint(case, "sensitivity-superiority")
    close_to(item["comparison"]["difference"], -block["difference"])
    close_to(item["comparison"]["ci95"][0], -block["ci95"][1])
    close_to(item["comparison"]["ci95"][1], -block["ci95"][0])
    assert item["conclusion"].startswith("supported")


@then("results.json records the SHA-256 of the definition, the protocol and the data")
def study_hashes(case: Case) -> None:
    """Recomputed here."""
    assert case.definition is not None
    base = case.definition.parent
    inputs = case.document["inputs"]
    for key, name in (("definition", "study.yaml"), ("protocol", "protocol.md"),
                      ("data", "readings.csv")):
        assert inputs[key]["sha256"] == hashlib.sha256((base / name).read_bytes()).hexdigest()


@then("report.html shows the endpoint table, the forest plot and the ROC curves")
def study_report(case: Case) -> None:
    """Embedded PNGs (signature after base64 decoding) and every endpoint named."""
    import base64
    import re

    html = (case.root / "out" / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    for item in case.document["endpoints"]:
        assert item["name"] in html
    assert 'alt="forest plot of the differences"' in html
    assert 'alt="ROC curves per modality"' in html


@then("report.html shows the markup as text and holds no element from it")
def escaped(case: Case) -> None:
    """Autoescaping."""
    assert case.status == 0, case.stderr
    html = (case.root / "out" / "report.html").read_text()
    assert "&lt;script&gt;alert(" in html
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "<b>bold</b>" not in html


@then("the two results.json and the two report.html are byte for byte equal")
def same_bytes(case: Case) -> None:
    """No clock, seeded nothing needed (jackknife is deterministic)."""
    for name in ("results.json", "report.html"):
        assert (case.root / "first" / name).read_bytes() == (case.root / "second" / name
                                                             ).read_bytes()
