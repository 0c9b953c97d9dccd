"""Step definitions of ``verification/features/docs/dhf.feature``.

Verifies the design-history report, on a copy of the minimal fixture project where a gap or a
change can be planted: a gap refuses the report unless it is a draft, a changed requirement
shows as suspect, every in-report link lands, hostile titles are escaped, and the HTML and
PDF are reproducible byte for byte with the PDF holding every ID and heading.

Oracles: the records written or changed by the scenario (the gap, the change, the hostile
title planted here), Python's HTML parser for what a browser would see as elements, and
pypdf's text extraction for the PDF.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from pytest_bdd import given, parsers, scenarios, then, when

from verification.docs.helpers import ROOT, Case, Elements, run_command

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
