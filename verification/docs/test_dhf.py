"""Step definitions of ``verification/features/docs/dhf.feature``.

Verifies the design-history report, on a copy of the minimal fixture project where a gap or a
change can be planted: a gap refuses the report unless it is a draft, a changed requirement
shows as suspect, every in-report link lands, hostile titles are escaped, and the HTML and
PDF are reproducible byte for byte with the PDF holding every ID and heading; the known
anomalies show the problem reports planted here field by field, and every scenario that did
not pass.

Oracles: the records written or changed by the scenario (the gap, the change, the hostile
title and the problem reports planted here), a real pytest run of the copy's own scenarios
(their outcomes stated here by which step each runs), Python's HTML parser for what a browser
would see as elements and text, and pypdf's text extraction for the PDF.
"""

from __future__ import annotations

import hashlib
import html.parser
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import yaml
from pytest_bdd import given, parsers, scenarios, then, when

from verification.docs.helpers import ROOT, Case, Elements, run_command
from verification.trace.helpers import Project, run_pytest_in

scenarios("docs/dhf.feature")


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
    run_command(case, ["docs", "dhf", "--root", str(case.project), "--out", str(out),
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
    parser = Elements()
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


DEFERRED = {
    "id": "PR-001",
    "title": "Greeting <b>wraps</b>",
    "description": "A 64-character name wraps <script>alert(1)</script> & co.",
    "found": {"activity": "code <i>review</i>", "date": "2026-11-30", "commit": "0123abc"},
    "severity": "minor",
    "software_items": ["demo.greeter"],
    "hazards": ["HAZ-001"],
    "hazard_evaluation": "The warning stays visible; RC-001 holds <img src=x onerror=alert(2)>.",
    "root_cause": "The display wraps at 63 </td></tr></table><h1>x</h1>",
    "status": "deferred",
    "deferral_rationale": "Cosmetic <u>only</u>.",
    "users_told": "Release notes \"known anomalies\" <a href=x>list</a>.",
}
"""A deferred problem report with markup in every text field (planted, and the oracle)."""

CLOSED = {
    "id": "PR-002",
    "title": "Greeting misspelt",
    "description": "The greeting read 'helo'.",
    "found": {"activity": "verification", "date": "2026-11-29"},
    "severity": "negligible",
    "software_items": ["demo.greeter"],
    "hazard_evaluation": "None: the greeting is text only.",
    "status": "closed",
    "resolution": "Spelling corrected <em>everywhere</em>.",
    "change": "commit 89abcde",
}
"""A closed problem report, verified by the greeting scenario (which passes)."""

FEATURE = """Feature: Demo greeter

  @SRS-DEM-001 @PR-002
  Scenario: Greeting
    Given a passing step

  @SRS-DEM-001 @SRS-DEM-002 @RC-001
  Scenario: Long names are refused
    Given a failing step

  @RC-001
  Scenario: Refusal shown
    Given a failing step
"""
"""The copy's feature file: one passing scenario, two failing ones (one verifying two
requirements, one only a risk control)."""


class _Text(html.parser.HTMLParser):
    """Table rows (cell texts, as a browser shows them) and the elements of a fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _section(case: Case, start: str, end: str) -> _Text:
    """The parsed part of the report between two element ids."""
    report = _report(case)
    fragment = report[report.index(f'id="{start}"'):report.index(f'id="{end}"')]
    parser = _Text()
    parser.feed(fragment[fragment.index(">") + 1:])
    return parser


@given("a copy of the minimal project with a deferred problem report whose every field holds "
       "markup, and a closed one verified by the greeting scenario")
def planted_problems(case: Case) -> None:
    """PR-001 (deferred) and PR-002 (closed), written as YAML."""
    project = _minimal(case)
    folder = project / "risk_management" / "problems"
    folder.mkdir(parents=True)
    for record in (DEFERRED, CLOSED):
        (folder / f"{record['id']}.yaml").write_text(yaml.safe_dump(record, sort_keys=False))


@given("the long-name scenario failing and tagged with both requirements, and a failing "
       "scenario tagged only with the risk control")
def planted_failures(case: Case) -> None:
    """The copy's feature file replaced by :data:`FEATURE`."""
    assert case.project is not None
    (case.project / "verification" / "features" / "demo.feature").write_text(FEATURE)


@when(parsers.parse('its scenarios are run by pytest and corridor docs dhf is run on it with '
                    '"{options}" and their results'))
def run_with_results(case: Case, options: str) -> None:
    """A real pytest run writes the JUnit XML the report reads."""
    assert case.project is not None
    project = Project(case.project)
    run_pytest_in(project, [])
    assert project.pytest_run is not None
    assert project.pytest_run.status == 1, project.pytest_run  # two scenarios fail
    _dhf(case, f"{options} --results {case.project / 'results' / 'junit.xml'}")


@then("the known anomalies show the deferred report with every field as text and no element "
      "made of its markup")
def deferred_shown(case: Case) -> None:
    """Each FDA field's cell holds the planted text; no element comes from it."""
    section = _section(case, "anomalies-unresolved", "anomalies-closed")
    fields = {row[0]: row[1] for row in section.rows if len(row) == 2}
    assert fields["status (outcome)"] == "deferred"
    for label, key in (("description", "description"), ("root cause", "root_cause"),
                       ("impact on safety and effectiveness", "hazard_evaluation"),
                       ("rationale for deferral", "deferral_rationale"),
                       ("what users are told", "users_told")):
        assert fields[label] == DEFERRED[key], label
    found = DEFERRED["found"]
    assert isinstance(found, dict)
    assert all(str(value) in fields["how and when found"] for value in found.values())
    assert fields["severity (risk plan scale)"] == "minor"
    assert fields["software items (class)"] == "demo.greeter (B)"  # class B in the fixture
    assert fields["hazards touched"] == "HAZ-001"
    assert set(section.tags) <= {"h4", "table", "tr", "th", "td", "a", "p", "h3"}, section.tags
    assert f"PR-001: {DEFERRED['title']}" in _report(case).replace("&lt;", "<").replace(
        "&gt;", ">")
    parser = Elements()
    parser.feed(_report(case))
    assert not {"script", "img", "b", "i", "u", "em"} & set(parser.tags), parser.tags
    assert parser.tags.count("h1") == 1  # the report's own title only


@then("the known anomalies show the closed report with its resolution, its change and its "
      "scenario passed")
def closed_shown(case: Case) -> None:
    """One row: ID, title, resolution, change, the greeting scenario and its result."""
    section = _section(case, "anomalies-closed", "anomalies-scenarios")
    rows = [row for row in section.rows if row and row[0] == "PR-002"]
    assert len(rows) == 1, section.rows
    row = rows[0]
    assert CLOSED["title"] in row[1]
    assert CLOSED["description"] in row[1]
    assert row[3] == CLOSED["resolution"]
    assert row[4] == CLOSED["change"]
    assert row[5] == "Greeting (verification/features/demo.feature): passed"


@then("the known anomalies list exactly the two failing scenarios, once each, with the IDs they "
      "verify")
def scenarios_listed(case: Case) -> None:
    """The scenarios of :data:`FEATURE` that run a failing step, and nothing else."""
    section = _section(case, "anomalies-scenarios", "releases")
    rows = sorted(tuple(row) for row in section.rows[1:])
    assert rows == [
        ("verification/features/demo.feature", "Long names are refused",
         "SRS-DEM-001, SRS-DEM-002, RC-001", "failed"),
        ("verification/features/demo.feature", "Refusal shown", "RC-001", "failed"),
    ], rows


@then("the SOUP table shows the date the SOUP's anomaly list was reviewed")
def soup_reviewed(case: Case) -> None:
    """The fixture's SOUP-PyYAML record says reviewed: 2026-11-25."""
    section = _section(case, "architecture", "risk")
    row = next(row for row in section.rows if row and row[0] == "SOUP-PyYAML")
    assert row[5] == "2026-11-25", row
    anomaly_list = next(row for row in section.rows if row and row[0] == "anomaly list")
    assert "https://github.com/yaml/pyyaml/issues" in anomaly_list[1], anomaly_list
    assert "reviewed 2026-11-25" in anomaly_list[1], anomaly_list


PLAN = """# Software development plan

## Scope and <b>deliverables</b>

| ID | deliverable |
| --- | --- |
| SRS-DEM-001 | the greeting, controlled by RC-001 |
| SRS-DEM-002 | the length limit |

- first point, for HAZ-001
- second point, see [the standard](https://www.iso.org/standard/38421.html)

<script>alert(1)</script><img src=x onerror=alert(2)>
"""
"""A plan planted as ``requirements_spec/software_development_plan.md``: a heading (with
markup), a table naming IDs, a list, a link and raw HTML (the oracle of what is rendered)."""

RISK_PLAN = "# Risk management plan\n\nSeverity and probability scales are in risk_plan.yaml.\n"
"""A second plan, ``risk_management/risk_management_plan.md``: its title in the contents."""

_GIT = ("git", "-c", "user.name=Corridor test", "-c", "user.email=test@corridor.invalid")


@given("a copy of the minimal project as a git repository, with plans holding a heading, a "
       "table, a list, a link and raw HTML")
def planted_plans(case: Case) -> None:
    """The plans of :data:`PLAN` and :data:`RISK_PLAN`, committed in a new repository."""
    project = _minimal(case)
    (project / "requirements_spec" / "software_development_plan.md").write_text(PLAN)
    (project / "risk_management" / "risk_management_plan.md").write_text(RISK_PLAN)
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-q", "-m", "plans")):
        subprocess.run([*_GIT, *args], cwd=project, check=True, capture_output=True)


class _Tree(html.parser.HTMLParser):
    """Start tags with their attributes, and the text, of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _plan(case: Case) -> _Tree:
    """The report's rendering of the development plan (up to the next plan)."""
    report = _report(case)
    fragment = report[report.index('id="doc-1"'):report.index('id="doc-2"')]
    tree = _Tree()
    tree.feed(fragment[fragment.index(">") + 1:])
    return tree


@then("the plan shows its table with a header row, its list and its link as elements, and its "
      "heading below the report's sections")
def plan_rendered(case: Case) -> None:
    """Elements as Python's HTML parser sees them, against :data:`PLAN`."""
    report = _report(case)
    assert '<h3 id="doc-1">2.1 Software development plan</h3>' in report
    tree = _plan(case)
    tags = [tag for tag, _ in tree.starts]
    for tag in ("table", "thead", "tbody", "ul"):
        assert tags.count(tag) == 1, (tag, tags)
    assert [tags.count(tag) for tag in ("th", "td", "li")] == [2, 4, 2], tags
    assert tags.index("thead") < tags.index("th") < tags.index("tbody") < tags.index("td")
    assert ("a", {"href": "https://www.iso.org/standard/38421.html"}) in tree.starts
    headings = [tag for tag in tags if re.fullmatch(r"h[1-6]", tag)]
    assert headings == ["h5"], headings  # "##" below the report's h1, h2 and the plan's h3
    assert "Scope and <b>deliverables</b>" in "".join(tree.text)
    assert "Severity and probability scales" in report  # the second plan, rendered too


@then("the plan's raw HTML is shown as text and makes no element, and the IDs in its text and "
      "table link to their definitions")
def plan_escaped(case: Case) -> None:
    """No script, img or b element; each planted ID a link to its definition."""
    tree = _plan(case)
    tags = {tag for tag, _ in tree.starts}
    assert not {"script", "img", "b", "pre"} & tags, tags
    text = "".join(tree.text)
    assert "<script>alert(1)</script><img src=x onerror=alert(2)>" in text
    links = [attrs.get("href") for tag, attrs in tree.starts if tag == "a"]
    for item in ("SRS-DEM-001", "SRS-DEM-002", "RC-001", "HAZ-001"):
        assert f"#{item}" in links, (item, links)
        assert f'id="{item}"' in _report(case)


def _pdf_pages(case: Case) -> list[str]:
    """pypdf's text of each page of the written PDF."""
    from pypdf import PdfReader

    assert case.status == 0, case.stderr
    return [page.extract_text() for page in
            PdfReader(case.outs[-1] / "design-history.pdf").pages]


@then("no line of the PDF's text is a Markdown table row")
def no_markdown_rows(case: Case) -> None:
    """No ``|---`` and no line that starts and ends with ``|``; the table's cells are there."""
    lines = [line.strip() for page in _pdf_pages(case) for line in page.splitlines()]
    assert not [line for line in lines if re.search(r"\|\s*:?-{3}", line)
                or (len(line) > 1 and line.startswith("|") and line.endswith("|"))]
    assert any("SRS-DEM-001" in line and "the greeting, controlled by RC-001" in line
               for line in lines), lines


@then("each page number in the PDF's contents is the page whose text begins a line with that "
      "heading")
def contents_pages(case: Case) -> None:
    """The contents' entries (title, dot leader, page) against the pages pypdf finds them on."""
    pages = _pdf_pages(case)
    contents = next(i for i, text in enumerate(pages) if "Contents" in text.splitlines())
    entries = [(found["title"], int(found["page"])) for found in (
        re.fullmatch(r"(?P<title>.+?)\s*\.{3,}\s*(?P<page>\d+)", line.strip())
        for line in pages[contents].splitlines()) if found]
    report = _report(case)
    nav = report[report.index('<nav class="contents"'):report.index("</nav>")]
    assert len(entries) == nav.count("<li>") >= 15, entries
    for title, page in entries:
        found = next(i for i, text in enumerate(pages) if i > contents
                     and any(line.strip().startswith(title) for line in text.splitlines()))
        assert page == found + 1, (title, page, found + 1)


def _version() -> str:
    """The version the repository declares (pyproject.toml), read without the code."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def _commit(case: Case) -> str:
    assert case.project is not None
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=case.project, check=True,
                          capture_output=True, text=True).stdout.strip()


@then('page 1 holds the product, version, commit and DRAFT, and every page\'s footer holds the '
      'document ID, version, commit and "page N of M"')
def title_and_footer(case: Case) -> None:
    """The version from pyproject.toml, the commit from git in the copy, the page count from
    pypdf."""
    pages = _pdf_pages(case)
    version, commit = _version(), _commit(case)
    title = pages[0]
    assert "Corridor design history file" in title
    for word in (version, commit, "DRAFT", "CORRIDOR-DHF"):
        assert word in title, (word, title)
    footer = f"CORRIDOR-DHF version {version} commit {commit[:12]}"
    for number, text in enumerate(pages, start=1):
        assert footer in text, (number, text)
        assert f"page {number} of {len(pages)}" in text, (number, text)


@then("every trace ID the HTML defines is found unbroken in the PDF's text")
def ids_unbroken(case: Case) -> None:
    """No whitespace or line joining: an ID wrapped at its hyphen would not be found."""
    ids = set(re.findall(r'id="((?:UN|SRS|HAZ|RC|PR|SOUP)-[A-Za-z0-9._-]+)"', _report(case)))
    assert {"UN-001", "SRS-DEM-001", "SRS-DEM-002", "HAZ-001", "RC-001", "SOUP-PyYAML"} <= ids
    text = "\n".join(_pdf_pages(case))
    assert not [item for item in ids if item not in text]


@then("the title page rendered as an image is not blank, and the digests of the source artefacts "
      "are in appendix A, not on pages 1 to 3")
def title_image_and_digests(case: Case) -> None:
    """PDFium rasterises page 1; the digests are hashlib's of the planted plans."""
    import pypdfium2

    assert case.project is not None
    document = pypdfium2.PdfDocument(case.outs[-1] / "design-history.pdf")
    try:
        image = document[0].render(scale=0.5).to_pil().convert("L")
    finally:
        document.close()
    dark = sum(image.histogram()[:128])
    assert dark > 0.002 * image.width * image.height, dark  # text, not a blank page
    pages = _pdf_pages(case)
    digests = [hashlib.sha256((case.project / name).read_bytes()).hexdigest() for name in
               ("requirements_spec/software_development_plan.md",
                "risk_management/risk_management_plan.md")]
    appendix = next(i for i, text in enumerate(pages)
                    if "Appendix A SHA-256 of the source artefacts" in text.splitlines())
    assert appendix >= 3
    for digest in digests:
        assert not any(digest in text for text in pages[:3])
        assert digest in "".join(pages[appendix:]).replace("\n", "")
