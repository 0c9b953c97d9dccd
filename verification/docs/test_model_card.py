"""Step definitions of ``verification/features/docs/model_card.feature``.

Verifies model cards generated from the repository: the card's hash of the model, its
sources, its gaps, the validation results it is given (foreign results refused), the
performance it reports, escaping of hostile project texts, and reproducible output.

Also verifies that the card states whether the model is a deep ensemble, its members and how
their disagreement is reported.

Oracles: the model package's own bytes (SHA-256 recomputed here), the validation results
file the card is given, the records written by the scenario, and Python's HTML parser for
what a browser would see as elements.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import yaml
from pytest_bdd import given, parsers, scenarios, then, when

from verification.docs.helpers import ROOT, Case, Elements, run_command

scenarios("docs/model_card.feature")


REFERENCE_MODEL = ROOT / "software" / "corridor" / "inference" / "models" / "reference-bone-vessel"
STEM = "reference-bone-vessel-1.0.0"


def _card(case: Case, options: str, project: Path | None = None) -> None:
    out = case.root / f"cards-{len(case.outs)}"
    case.outs.append(out)
    argv = ["docs", "model-card", "--model", str(REFERENCE_MODEL), "--out", str(out),
            "--root", str(project or ROOT), *shlex.split(options)]
    if case.validation is not None:
        argv += ["--validation", str(case.validation)]
    run_command(case, argv)


def _data(case: Case, stem: str = STEM) -> dict[str, Any]:
    """The card's data, as embedded in the HTML card."""
    text = (case.outs[-1] / f"{stem}.html").read_text()
    found = re.search(r'<script type="application/json" id="model-card-data">(.*?)</script>',
                      text, re.S)
    assert found is not None
    return dict(json.loads(found.group(1)))


@when(parsers.parse('corridor docs model-card is run on the reference model with "{options}"'))
def run_card(case: Case, options: str) -> None:
    """Into a new folder."""
    _card(case, options)


@when("corridor docs model-card is run on the reference model")
def run_card_plain(case: Case) -> None:
    """No options."""
    _card(case, "")


@then(parsers.parse("it exits with status {status:d} and writes the Markdown and the HTML card"))
def written(case: Case, status: int) -> None:
    """Both files."""
    assert case.status == status, (case.stdout, case.stderr)
    assert (case.outs[-1] / f"{STEM}.md").is_file()
    assert (case.outs[-1] / f"{STEM}.html").is_file()


@then("the card's SHA-256 is the SHA-256 of the package's ONNX file")
def card_hash(case: Case) -> None:
    """Recomputed from the bytes."""
    expected = hashlib.sha256((REFERENCE_MODEL / "model.onnx").read_bytes()).hexdigest()
    data = _data(case)
    assert data["sha256"] == expected
    identity = next(s for s in data["sections"] if s["key"] == "identity")
    assert identity["content"]["sha256"] == expected
    assert expected in (case.outs[-1] / f"{STEM}.md").read_text()


@then("every section names its sources")
def sources(case: Case) -> None:
    """Non-empty source lists, shown in both cards."""
    data = _data(case)
    assert len(data["sections"]) == 10
    markdown = (case.outs[-1] / f"{STEM}.md").read_text()
    for section in data["sections"]:
        assert section["sources"], section["key"]
        assert f"## {section['title']}" in markdown


@then("the gaps name the missing validation results and the missing test results")
def gaps(case: Case) -> None:
    """Named gaps, in the data and printed."""
    found = _data(case)["gaps"]
    assert any("no validation results given" in g for g in found), found
    assert any("no test results given" in g for g in found), found
    assert "gap: " in case.stdout


@given(parsers.parse('validation results naming the model SHA-256 "{sha}"'))
def foreign_results(case: Case, sha: str) -> None:
    """A minimal results document."""
    case.validation = case.root / "results.json"
    case.validation.write_text(json.dumps({"study": {"model_sha256": sha, "title": "t"},
                                           "endpoints": []}))


@when("corridor docs model-card is run on the reference model with those results")
def run_with_results(case: Case) -> None:
    """--validation."""
    _card(case, "")


@then(parsers.parse('it exits with status 2 naming "{text}" and writes nothing'))
def refused(case: Case, text: str) -> None:
    """Nothing written."""
    assert case.status == 2, (case.stdout, case.stderr)
    assert text in case.stderr, case.stderr
    assert not case.outs[-1].exists()


@given("the example study validating the reference model, analysed by corridor validate study")
def example_results(case: Case) -> None:
    """The example study with the reference model's hash in its definition."""
    folder = case.root / "study"
    shutil.copytree(ROOT / "validation_study" / "vandyke-example", folder)
    definition = folder / "study.yaml"
    document = yaml.safe_load(definition.read_text())
    document["model_sha256"] = hashlib.sha256((REFERENCE_MODEL / "model.onnx").read_bytes()
                                              ).hexdigest()
    definition.write_text(yaml.safe_dump(document))
    run_command(case, ["validate", "study", str(definition), "--out", str(case.root / "results")])
    assert case.status == 0, case.stderr
    case.validation = case.root / "results" / "results.json"


@then("the performance section lists each endpoint with the difference, CI and conclusion of the "
      "results")
def performance(case: Case) -> None:
    """Equal to the results file, endpoint by endpoint."""
    assert case.status == 0, case.stderr
    assert case.validation is not None
    results = json.loads(case.validation.read_text())
    section = next(s for s in _data(case)["sections"] if s["key"] == "performance")
    shown = {e["endpoint"]: e for e in section["content"]["endpoints"]}
    assert set(shown) == {e["name"] for e in results["endpoints"]}
    for item in results["endpoints"]:
        assert shown[item["name"]]["difference"] == item["comparison"]["difference"]
        assert shown[item["name"]]["ci95"] == item["comparison"]["ci95"]
        assert shown[item["name"]]["conclusion"] == item["conclusion"]


@then("the gaps name the missing subgroup analysis but not the performance itself")
def performance_gaps(case: Case) -> None:
    """Only the subgroup gap remains in that section."""
    section = next(s for s in _data(case)["sections"] if s["key"] == "performance")
    assert len(section["gaps"]) == 1
    assert "subgroup" in section["gaps"][0]


@given(parsers.parse('a project whose intended-use record holds "{first}" and "{second}"'))
def hostile_project(case: Case, first: str, second: str) -> None:
    """The minimal fixture project with an intended-use record holding markup."""
    project = case.root / "project"
    shutil.copytree(ROOT / "verification" / "fixtures" / "minimal", project)
    (project / "requirements_spec" / "intended_use.yaml").write_text(yaml.safe_dump({
        "intended_use": first, "intended_users": second, "indications": "x",
        "contraindications": "y", "use_environment": "z", "clinical_status": first,
        "human_oversight": second}))
    case.project = project


@when("corridor docs model-card is run on the reference model in that project twice")
def run_twice(case: Case) -> None:
    """Two folders."""
    for _ in range(2):
        _card(case, "", case.project)
        assert case.status == 0, case.stderr


@then("both cards show the markup as text and hold no element from it")
def escaped(case: Case) -> None:
    """The HTML parser sees only the template's own elements; Markdown escapes < and >."""
    text = (case.outs[-1] / f"{STEM}.html").read_text()
    parser = Elements()
    parser.feed(text)
    assert parser.tags.count("script") == 1  # the embedded data only
    assert "b" not in parser.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    markdown = (case.outs[-1] / f"{STEM}.md").read_text()
    assert "<script>" not in markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown


@then("the HTML card's embedded JSON parses back to the card's data")
def embedded(case: Case) -> None:
    """The markup survives as data, inside the one script element."""
    data = _data(case)
    intended = next(s for s in data["sections"] if s["key"] == "intended-use")
    assert intended["content"]["intended_use"] == "<script>alert(1)</script>"
    assert intended["content"]["intended_users"] == "</script><b>"


@then("the two runs wrote identical files")
def identical(case: Case) -> None:
    """Byte for byte."""
    first, second = case.outs[-2], case.outs[-1]
    for name in (f"{STEM}.md", f"{STEM}.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


@then("the card says the reference model is a single model whose mutual information is not "
      "measured")
def single_model(case: Case) -> None:
    """The identity section's ensemble entries."""
    identity = next(s for s in _data(case)["sections"] if s["key"] == "identity")["content"]
    assert identity["ensemble"] == "no: a single model"
    assert [m["onnx_file"] for m in identity["members"]] == ["model.onnx"]
    assert identity["epistemic_uncertainty"].startswith("not measured (a single model)")


ENSEMBLE_STEM = "test-model-1"


@given("an ensemble package of two per-voxel threshold members")
def ensemble_package(case: Case) -> None:
    """Thresholds at 400 and 600 HU (:mod:`verification.inference.graphs`)."""
    from verification.inference.graphs import threshold_model, write_ensemble

    write_ensemble(case.root / "ensemble", [threshold_model(0.4), threshold_model(0.6)])


@when("corridor docs model-card is run on that package")
def run_card_ensemble(case: Case) -> None:
    """Into a new folder, the repository's records as the project."""
    out = case.root / f"cards-{len(case.outs)}"
    case.outs.append(out)
    run_command(case, ["docs", "model-card", "--model", str(case.root / "ensemble"), "--out",
                       str(out), "--root", str(ROOT)])


@then("it exits with status 0 and writes the Markdown and the HTML card of that package")
def written_ensemble(case: Case) -> None:
    """Both files, named by the package's manifest."""
    assert case.status == 0, (case.stdout, case.stderr)
    assert (case.outs[-1] / f"{ENSEMBLE_STEM}.md").is_file()
    assert (case.outs[-1] / f"{ENSEMBLE_STEM}.html").is_file()


@then("the card says it is a deep ensemble of 2 members, lists each with the SHA-256 of its file "
      "and the ensemble's SHA-256 over them, and names the mutual information map")
def ensemble_card(case: Case) -> None:
    """Digests recomputed with hashlib; the Markdown card shows the same."""
    folder = case.root / "ensemble"
    digests = [hashlib.sha256((folder / name).read_bytes()).hexdigest()
               for name in ("model.onnx", "member-2.onnx")]
    combined = hashlib.sha256("".join(f"{d}\n" for d in digests).encode("ascii")).hexdigest()
    data = _data(case, ENSEMBLE_STEM)
    assert data["sha256"] == combined
    identity = next(s for s in data["sections"] if s["key"] == "identity")["content"]
    assert identity["ensemble"].startswith("yes: a deep ensemble of 2 members")
    assert [(m["name"], m["onnx_file"], m["sha256"]) for m in identity["members"]] == [
        ("member-1", "model.onnx", digests[0]), ("member-2", "member-2.onnx", digests[1])]
    assert "mutual_information.nii.gz" in identity["epistemic_uncertainty"]
    assert "verdict-uncertain" in identity["epistemic_uncertainty"]
    markdown = (case.outs[-1] / f"{ENSEMBLE_STEM}.md").read_text()
    assert all(d in markdown for d in digests)
