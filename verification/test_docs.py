"""Step definitions of the audit-document scenarios (``verification/features/docs``).

Oracles: the model package's own bytes (SHA-256 recomputed here), the validation results file
the card is given, the records written by the scenario, and Python's HTML parser for what a
browser would see as elements.
"""

from __future__ import annotations

import hashlib
import html.parser
import json
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_bdd import given, parsers, scenarios, then, when

from verification.command_run import run_corridor

scenarios("docs")

ROOT = Path(__file__).parents[1]
REFERENCE_MODEL = ROOT / "software" / "corridor" / "inference" / "models" / "reference-bone-vessel"
STEM = "reference-bone-vessel-1.0.0"


@dataclass
class Case:
    """What one scenario built and what the commands did."""

    root: Path
    status: int | None = None
    stdout: str = ""
    stderr: str = ""
    validation: Path | None = None
    project: Path | None = None
    outs: list[Path] = field(default_factory=list)


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


def _command(case: Case, argv: list[str]) -> None:
    done = run_corridor(argv)
    case.status, case.stdout, case.stderr = done.status, done.stdout, done.stderr


def _card(case: Case, options: str, project: Path | None = None) -> None:
    out = case.root / f"cards-{len(case.outs)}"
    case.outs.append(out)
    argv = ["docs", "model-card", "--model", str(REFERENCE_MODEL), "--out", str(out),
            "--root", str(project or ROOT), *shlex.split(options)]
    if case.validation is not None:
        argv += ["--validation", str(case.validation)]
    _command(case, argv)


def _data(case: Case) -> dict[str, Any]:
    """The card's data, as embedded in the HTML card."""
    text = (case.outs[-1] / f"{STEM}.html").read_text()
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
    _command(case, ["validate", "study", str(definition), "--out", str(case.root / "results")])
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


class _Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


@then("both cards show the markup as text and hold no element from it")
def escaped(case: Case) -> None:
    """The HTML parser sees only the template's own elements; Markdown escapes < and >."""
    text = (case.outs[-1] / f"{STEM}.html").read_text()
    parser = _Elements()
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


# --- design-history report ---------------------------------------------------------------------

MINIMAL = ROOT / "verification" / "fixtures" / "minimal"


def _minimal(case: Case) -> Path:
    project = case.root / "project"
    shutil.copytree(MINIMAL, project)
    case.project = project
    return project


@given("a copy of the minimal project with a requirement that no scenario verifies")
def planted_gap(case: Case) -> None:
    """SRS-DEM-003, tagged by no scenario."""
    project = _minimal(case)
    source = (project / "requirements_spec" / "srs" / "SRS-DEM-001.yaml").read_text()
    (project / "requirements_spec" / "srs" / "SRS-DEM-003.yaml").write_text(
        source.replace("SRS-DEM-001", "SRS-DEM-003").replace("Greeting", "Farewell"))


def _edit_first_requirement(case: Case, old: str, new: str) -> None:
    project = _minimal(case)
    path = project / "requirements_spec" / "srs" / "SRS-DEM-001.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@given("a copy of the minimal project whose first requirement's statement was changed after "
       "review")
def changed_requirement(case: Case) -> None:
    """The reviewed stamp no longer matches."""
    _edit_first_requirement(case, "print a greeting", "print a warm greeting")


@given(parsers.parse('a copy of the minimal project whose first requirement\'s title holds '
                     '"{markup}"'))
def hostile_title(case: Case, markup: str) -> None:
    """Markup in a record."""
    _edit_first_requirement(case, "title: Greeting", f"title: '{markup}'")


def _dhf(case: Case, options: str) -> None:
    assert case.project is not None
    out = case.root / f"dhf-{len(case.outs)}"
    case.outs.append(out)
    _command(case, ["docs", "dhf", "--root", str(case.project), "--out", str(out),
                    *shlex.split(options)])


@when("corridor docs dhf is run on it")
def run_dhf(case: Case) -> None:
    """Without --draft."""
    _dhf(case, "")


@when(parsers.parse('corridor docs dhf is run on it with "{options}"'))
def run_dhf_options(case: Case, options: str) -> None:
    """With options."""
    _dhf(case, options)


@when(parsers.parse('corridor docs dhf is run on it twice with "{options}"'))
def run_dhf_twice(case: Case, options: str) -> None:
    """Two folders."""
    _dhf(case, options)
    _dhf(case, options)


def _report(case: Case) -> str:
    assert case.status == 0, (case.stdout, case.stderr)
    return (case.outs[-1] / "design-history.html").read_text()


@then(parsers.parse('it exits with status 1 listing "{rule}" and writes nothing'))
def dhf_refused(case: Case, rule: str) -> None:
    """Findings on stderr; no folder."""
    assert case.status == 1, (case.stdout, case.stderr)
    assert rule in case.stderr
    assert not case.outs[-1].exists()


@then(parsers.parse('the report is written, titled and bannered DRAFT, and shows the finding '
                    '"{rule}"'))
def dhf_draft(case: Case, rule: str) -> None:
    """Watermark CSS, title and banner."""
    report = _report(case)
    assert "<title>DRAFT: " in report
    assert 'class="draft-banner"' in report
    assert 'content: "DRAFT"' in report
    assert rule in report


@then(parsers.parse('the report shows the finding "{rule}" for that requirement'))
def dhf_suspect(case: Case, rule: str) -> None:
    """The finding line names the requirement."""
    report = _report(case)
    assert any(rule in line and "SRS-DEM-001" in line for line in report.splitlines())


@then("every in-report link has its target in the report")
def dhf_links(case: Case) -> None:
    """href="#X" has id="X"."""
    report = _report(case)
    targets = set(re.findall(r'href="#([^"]+)"', report))
    defined = set(re.findall(r'id="([^"]+)"', report))
    assert targets
    assert targets <= defined, targets - defined
    assert 'href="#SRS-DEM-001"' in report


@then("the title's markup is shown as text and makes no element")
def dhf_escaped(case: Case) -> None:
    """The HTML parser sees no img element."""
    report = _report(case)
    parser = _Elements()
    parser.feed(report)
    assert "img" not in parser.tags
    assert "&lt;img src=x onerror=alert(1)&gt;" in report


@then("the two reports are byte for byte equal")
def dhf_same(case: Case) -> None:
    """Dates from the commit (none here), no clock."""
    first, second = case.outs[-2], case.outs[-1]
    assert ((first / "design-history.html").read_bytes()
            == (second / "design-history.html").read_bytes())


@then("a PDF is written beside each report, byte for byte equal")
def pdf_written(case: Case) -> None:
    """WeasyPrint is in the test extra; its absence would fail here, not pass silently."""
    assert case.status == 0, case.stderr
    first, second = (out / "design-history.pdf" for out in case.outs[-2:])
    assert first.read_bytes()[:5] == b"%PDF-"
    assert first.read_bytes() == second.read_bytes()


@then("the PDF's text holds every ID and section heading of the HTML and the word DRAFT")
def pdf_content(case: Case) -> None:
    """pypdf's text extraction against the HTML's IDs and headings."""
    from pypdf import PdfReader

    report = _report(case)
    reader = PdfReader(case.outs[-1] / "design-history.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"-\s+", "-", re.sub(r"\s+", " ", text))  # table cells wrap at hyphens
    ids = set(re.findall(r'id="((?:UN|SRS|HAZ|RC|SOUP)-[A-Za-z0-9._-]+)"', report))
    headings = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", report)]
    assert ids
    assert headings
    for item in ids:
        assert item in flat, item
    for heading in headings:
        assert heading in flat, heading
    assert "DRAFT" in flat
