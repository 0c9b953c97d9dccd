"""Step definitions of ``verification/features/docs/change_plan.feature``.

Verifies that the model card shows the predetermined change control plan of its model package
(and names its absence as a gap), that the design history shows every plan in section 9.1 with
its values escaped, and that the card shows the validation results' subgroup performance and
then drops the subgroup gap.

Oracles: the plan record parsed here with PyYAML (the reference model's, and one written by the
scenario), the validation results file the card is given, and Python's HTML parser for what a
browser would see as elements.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import yaml
from pytest_bdd import given, parsers, scenarios, then, when

from verification.docs.helpers import ROOT, Case, Elements, run_command
from verification.validation.helpers import write_subgroup_study

scenarios("docs/change_plan.feature")

REFERENCE_MODEL = ROOT / "software" / "corridor" / "inference" / "models" / "reference-bone-vessel"
PLAN = ROOT / "requirements_spec" / "change_control_plans" / "reference-bone-vessel.yaml"
STEM = "reference-bone-vessel-1.0.0"
MINIMAL = ROOT / "verification" / "fixtures" / "minimal"


def _card(case: Case, project: Path) -> None:
    out = case.root / f"cards-{len(case.outs)}"
    case.outs.append(out)
    argv = ["docs", "model-card", "--model", str(REFERENCE_MODEL), "--out", str(out),
            "--root", str(project)]
    if case.validation is not None:
        argv += ["--validation", str(case.validation)]
    run_command(case, argv)
    assert case.status == 0, (case.stdout, case.stderr)


def _section(case: Case, key: str) -> dict[str, Any]:
    """One section of the card's data, as embedded in the HTML card."""
    text = (case.outs[-1] / f"{STEM}.html").read_text()
    found = re.search(r'<script type="application/json" id="model-card-data">(.*?)</script>',
                      text, re.S)
    assert found is not None
    return dict(next(s for s in json.loads(found.group(1))["sections"] if s["key"] == key))


@when("corridor docs model-card is run on the reference model in the repository")
def card_repository(case: Case) -> None:
    """The repository's records, its plan among them."""
    _card(case, ROOT)


@when("corridor docs model-card is run on the reference model in a copy of the minimal project")
def card_minimal(case: Case) -> None:
    """A project with no change control plan."""
    project = case.root / "project"
    shutil.copytree(MINIMAL, project)
    _card(case, project)


@then("the deployment section lists each performance bound of the reference model's plan with "
      "the requirement that measures it")
def bounds_listed(case: Case) -> None:
    """Bound for bound, against the plan file; the Markdown card shows each measuring ID."""
    plan = yaml.safe_load(PLAN.read_text())
    expected = [(b["metric"], b["label"], b["bound"], b["limit"], b["measured_by"])
                for b in plan["protocol"]["performance_bounds"]]
    shown = _section(case, "deployment")["content"]["performance_bounds"]
    assert [(b["metric"], b["label"], b["bound"], b["limit"], b["measured_by"])
            for b in shown] == expected
    markdown = (case.outs[-1] / f"{STEM}.md").read_text()
    assert "metric: dice; label: vessel; bound: at-least; limit: 0.85; measured by: SRS-INF-013" \
        in markdown


@then("it lists the plan's allowed modifications, the changes not allowed and what is monitored "
      "in use")
def parts_listed(case: Case) -> None:
    """Against the plan file."""
    plan = yaml.safe_load(PLAN.read_text())
    content = _section(case, "deployment")["content"]
    assert [m["id"] for m in content["modifications_allowed"]] == [
        m["id"] for m in plan["modifications"]]
    assert content["modifications_not_allowed"] == plan["not_allowed"]
    assert content["monitoring_in_use"] == plan["monitoring"]["watched"]
    assert content["protocol_verification_rerun"] == plan["protocol"]["verification"]


@then("the deployment section has no gap")
def no_deployment_gap(case: Case) -> None:
    """The plan replaces the gap."""
    assert _section(case, "deployment")["gaps"] == []


@then("the deployment section's gap names the missing change control plan")
def deployment_gap(case: Case) -> None:
    """One gap, naming where the plan was expected."""
    gaps = _section(case, "deployment")["gaps"]
    assert gaps == ["monitoring and update plan: no predetermined change control plan "
                    "(requirements_spec/change_control_plans/reference-bone-vessel.yaml)"]


_MINIMAL_PLAN = {
    "model": "demo-model", "model_version": "1.0.0",
    "monitoring": {"watched": ["the rate of refused names"], "review_cadence": "Each release.",
                   "triggers": ["more refused names than in test"]},
    "modifications": [{"id": "MOD-001", "description": "Retrain on more greetings.",
                       "bounds": "Same labels."}],
    "not_allowed": ["other labels"],
    "protocol": {"data_management": "Listed.", "retraining": "python train.py",
                 "verification": ["verification/features/demo.feature"],
                 "performance_bounds": [{"metric": "dice", "label": "greeting",
                                         "bound": "at-least", "limit": 0.9,
                                         "measured_by": "SRS-DEM-001",
                                         "measured_on": "the test greetings"}]},
    "update_procedure": {"release": "A new release.", "labelling": "Release notes.",
                         "users_told": "Release notes."},
    "impact_assessment": "The greeting changes.",
    "requirements": ["SRS-DEM-001"], "risk_controls": ["RC-001"],
}


@given(parsers.parse('a copy of the minimal project with a model package and its plan whose '
                     'summary holds "{markup}"'))
def minimal_with_plan(case: Case, markup: str) -> None:
    """A manifest (name and labels) and a consistent plan, written here."""
    project = case.root / "project"
    shutil.copytree(MINIMAL, project)
    models = project / "software" / "corridor" / "inference" / "models" / "demo-model"
    models.mkdir(parents=True)
    (models / "manifest.json").write_text(json.dumps(
        {"name": "demo-model", "labels": [{"index": 0, "name": "background"},
                                          {"index": 1, "name": "greeting"}]}))
    plans = project / "requirements_spec" / "change_control_plans"
    plans.mkdir()
    (plans / "demo-model.yaml").write_text(yaml.safe_dump({**_MINIMAL_PLAN, "summary": markup}))
    case.project = project


@when("corridor docs dhf is run on that project")
def dhf(case: Case) -> None:
    """Not a draft: the plan checks clean."""
    assert case.project is not None
    out = case.root / "dhf"
    case.outs.append(out)
    run_command(case, ["docs", "dhf", "--root", str(case.project), "--out", str(out)])
    assert case.status == 0, (case.stdout, case.stderr)


def _subsection(case: Case) -> str:
    text = (case.outs[-1] / "design-history.html").read_text()
    start = text.index('<h3 id="change-control-plans">')
    return text[start:text.index('<h2 id="anomalies">', start)]


@then("section 9.1 shows the plan's modification, its changes not allowed and its bound with the "
      "requirement measuring it")
def dhf_plan(case: Case) -> None:
    """The texts of the plan written by the scenario."""
    block = _subsection(case)
    assert "9.1 Predetermined change control plan" in block
    assert "demo-model 1.0.0 (requirements_spec/change_control_plans/demo-model.yaml)" in block
    assert "<strong>MOD-001</strong> Retrain on more greetings. Bounds: Same labels." in block
    assert "<tr><th>not allowed</th><td>other labels</td></tr>" in block
    assert re.search(r"<td>dice of greeting at least 0.9</td><td>(<a [^>]*>)?SRS-DEM-001", block)


@then("the summary's markup is shown as text")
def dhf_escaped(case: Case) -> None:
    """Escaped, and no element of it."""
    block = _subsection(case)
    assert html.escape("<b>bold</b>", quote=False) in block
    parser = Elements()
    parser.feed(block)
    assert "b" not in parser.tags


@given("a synthetic study with subgroups validating the reference model, analysed by corridor "
       "validate study")
def subgroup_results(case: Case) -> None:
    """The synthetic study of the validation scenarios, naming the reference model's hash."""
    sha = hashlib.sha256((REFERENCE_MODEL / "model.onnx").read_bytes()).hexdigest()
    definition = write_subgroup_study(case.root / "study", model_sha256=sha)
    run_command(case, ["validate", "study", str(definition), "--out", str(case.root / "results")])
    assert case.status == 0, case.stderr
    case.validation = case.root / "results" / "results.json"


@when("corridor docs model-card is run on the reference model with those results")
def card_results(case: Case) -> None:
    """The repository's records."""
    _card(case, ROOT)


def _results(case: Case) -> dict[str, Any]:
    assert case.validation is not None
    return dict(json.loads(case.validation.read_text()))


@then("the performance section lists each subgroup level's AUC per modality and CI as in the "
      "results")
def subgroup_rows(case: Case) -> None:
    """Row for row against results.json."""
    rows = _section(case, "performance")["content"]["subgroup_performance"]
    [analysis] = _results(case)["subgroups"]["analyses"]
    for group in analysis["groups"]:
        if group["estimates"] is None:
            continue
        for item in group["estimates"]:
            row = next(r for r in rows if r["subgroup"] == f"slice thickness: {group['group']}"
                       and r["modality"] == item["modality"])
            assert (row["estimate"], row["ci95"]) == (item["estimate"], item["ci95"])
            assert (row["cases"], row["positive_cases"], row["negative_cases"]) == (
                group["cases"], group["positive_cases"], group["negative_cases"])
            assert row["endpoint"] == "auc-superiority"
            assert row["figure_of_merit"] == "auc"
    assert len(rows) == 2 + 2 + 1


@then("the level with too few cases is listed with its reason and no estimate")
def subgroup_too_few(case: Case) -> None:
    """The oblique level."""
    rows = _section(case, "performance")["content"]["subgroup_performance"]
    [row] = [r for r in rows if r["subgroup"] == "slice thickness: oblique"]
    assert row["estimate"] == "not reported"
    assert row["status"].startswith("too few cases: 5 positive and 4 negative")


@then("the performance section has no gap")
def no_performance_gap(case: Case) -> None:
    """The subgroup gap is dropped."""
    assert _section(case, "performance")["gaps"] == []
