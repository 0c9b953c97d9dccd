"""Step definitions of ``verification/features/trace/matrix.feature``.

Verifies the traceability matrix: complete (the JSON matrix row by row), reproducible (two
outputs byte for byte equal), safe to open (what the HTML must and must not contain), and
linking each identifier to its existing record (anchors resolved relative to the page).

Oracle: the matrix rows and texts the feature file states, written there by hand and never
derived from the tool, on a copy of the minimal consistent project
(``verification/fixtures/minimal``); record files found on disk for the HTML links.
"""

from __future__ import annotations

import json
import re

from pytest_bdd import parsers, scenarios, then, when

from verification.command_run import run_corridor
from verification.trace.helpers import Project, table_rows

scenarios("trace/matrix.feature")


@when(parsers.parse('the traceability matrix is written as "{fmt}" to "{out}" with the results '
                    '"{results}"'))
def write_matrix_results(project: Project, fmt: str, out: str, results: str) -> None:
    """Run `corridor trace matrix` with results."""
    project.run = run_corridor(["trace", "matrix", "--root", str(project.root), "--format", fmt,
                                 "--out", str(project.root / out),
                                 "--results", str(project.root / results)])
    assert project.run.status == 0, project.run.stderr


@then(parsers.parse('the HTML matrix in "{out}" links each requirement to its existing record '
                    "file:"))
def html_links(project: Project, out: str, datatable: list[list[str]]) -> None:
    """Each requirement's anchor resolves, relative to the page, to its record file."""
    page = project.root / out / "traceability.html"
    html = page.read_text(encoding="utf-8")
    for row in table_rows(datatable):
        match = re.search(rf'<a href="([^"]+)">{re.escape(row["requirement"])}</a>', html)
        assert match, f"no link for {row['requirement']}"
        target = (page.parent / match.group(1)).resolve()
        assert target == (project.root / row["record"]).resolve()
        assert target.is_file()


@then(parsers.parse('"{first}" and "{second}" are identical'))
def identical(project: Project, first: str, second: str) -> None:
    """Byte-for-byte equality of two outputs."""
    assert (project.root / first).read_bytes() == (project.root / second).read_bytes()


@then(parsers.parse('"{name}" contains "{text}"'))
def file_contains(project: Project, name: str, text: str) -> None:
    """The file contains the text."""
    assert text in (project.root / name).read_text(encoding="utf-8")


@then(parsers.parse('"{name}" does not contain "{text}"'))
def file_lacks(project: Project, name: str, text: str) -> None:
    """The file does not contain the text."""
    assert text not in (project.root / name).read_text(encoding="utf-8")


@then(parsers.parse('the JSON matrix in "{out}" shows:'))
def json_matrix(project: Project, out: str, datatable: list[list[str]]) -> None:
    """Each listed requirement has exactly this scenario, outcome, state and controls."""
    matrix = json.loads((project.root / out / "traceability.json").read_text(encoding="utf-8"))
    rows = {r["id"]: r for r in matrix["requirements"]}
    expected = table_rows(datatable)
    assert set(rows) == {row["requirement"] for row in expected}
    for row in expected:
        got = rows[row["requirement"]]
        assert [(s["key"], s["outcome"]) for s in got["scenarios"]] == [
            (row["scenario"], row["outcome"])
        ]
        assert got["verification"] == row["verification"]
        assert got["risk_controls"] == row["risk controls"].split()


@then(parsers.parse('the JSON matrix in "{out}" lists the problem reports:'))
def json_problems(project: Project, out: str, datatable: list[list[str]]) -> None:
    """Exactly these reports, each with its status, items with class, hazards and whether it
    blocks a release (as planted: open in the class C item)."""
    matrix = json.loads((project.root / out / "traceability.json").read_text(encoding="utf-8"))
    got = [(p["id"], p["status"], p["software_items"], p["hazards"],
            "yes" if p["blocks_release"] else "no") for p in matrix["problems"]]
    assert got == [(row["problem report"], row["status"], row["software items"].split(", "),
                    row["hazards"].split(), row["blocks release"])
                   for row in table_rows(datatable)]
