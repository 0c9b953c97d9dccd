"""Step definitions of the trace tool's verification scenarios (features/trace/).

Each scenario copies the minimal consistent project (``fixtures/minimal``) to a
temporary folder, plants a defect through real file edits, runs the real
``corridor`` command in-process (or pytest in a subprocess, for real results) and
compares what is reported with what the scenario states.  The expected findings
are written in the feature files by hand, never derived from the checker.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_bdd import given, parsers, scenarios, then, when

from verification.command_run import Run, run_corridor

scenarios("trace")

FIXTURE = Path(__file__).parent / "fixtures" / "minimal"



@dataclass
class Project:
    """The temporary project a scenario works on, and the last command's outcome."""

    root: Path
    run: Run | None = None
    pytest_run: Run | None = None
    fingerprint: dict[str, str] = field(default_factory=dict)

    @property
    def last(self) -> Run:
        assert self.run is not None, "no command has run yet"
        return self.run

    def findings(self) -> list[tuple[str, str, str, str]]:
        """The finding lines of the last run as (rule, item, where, message)."""
        rows = []
        for line in self.last.stdout.splitlines():
            parts = line.split("  ", 3)
            assert len(parts) == 4, f"not a finding line: {line!r}"
            rows.append((parts[0], parts[1], parts[2], parts[3]))
        return rows


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace('\\"', '"')


def _set_field(data: Any, dotted: str, value: Any, *, remove: bool = False) -> None:
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if remove:
        del node[key]
    else:
        node[key] = value


def _table(datatable: list[list[str]]) -> list[dict[str, str]]:
    header, *rows = datatable
    return [dict(zip(header, (cell.strip() for cell in row), strict=True)) for row in rows]


def _snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# Given ------------------------------------------------------------------------------


@given("a copy of the minimal consistent project", target_fixture="project")
def minimal_project(tmp_path: Path) -> Project:
    """Copy the fixture project so that every scenario starts from the same records."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return Project(root)


@given(parsers.re(r'in "(?P<name>[^"]+)" the text "(?P<old>.*)" is replaced by "(?P<new>.*)"'))
@when(parsers.re(r'in "(?P<name>[^"]+)" the text "(?P<old>.*)" is replaced by "(?P<new>.*)"'))
def replace_text(project: Project, name: str, old: str, new: str) -> None:
    """Edit a file as a person would; the text to replace must be there."""
    path = project.root / name
    text = path.read_text(encoding="utf-8")
    old, new = _unescape(old), _unescape(new)
    assert old in text, f"{name} does not contain {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@given(parsers.re(r'in "(?P<name>[^"]+)" the field "(?P<dotted>[^"]+)" is set to (?P<value>.+)'))
def set_field(project: Project, name: str, dotted: str, value: str) -> None:
    """Set one field of a YAML record; the value is written as YAML."""
    path = project.root / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    _set_field(data, dotted, yaml.safe_load(value))
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@given(parsers.parse('in "{name}" the field "{dotted}" is removed'))
def remove_field(project: Project, name: str, dotted: str) -> None:
    """Remove one field of a YAML record."""
    path = project.root / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    _set_field(data, dotted, None, remove=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@given(parsers.parse('the file "{name}" contains:'))
def write_file(project: Project, name: str, docstring: str) -> None:
    """Replace a file's whole content."""
    (project.root / name).write_text(docstring + "\n", encoding="utf-8")


@given(parsers.parse('the file "{source}" is copied to "{target}"'))
def copy_file(project: Project, source: str, target: str) -> None:
    """Copy a file within the project."""
    shutil.copyfile(project.root / source, project.root / target)


@given(parsers.parse('the file "{source}" is moved to "{target}"'))
def move_file(project: Project, source: str, target: str) -> None:
    """Rename a file within the project."""
    (project.root / source).rename(project.root / target)


@given(parsers.parse('the file "{name}" is deleted'))
def delete_file(project: Project, name: str) -> None:
    """Delete a file of the project."""
    (project.root / name).unlink()


@given(parsers.parse('the links to "{item_id}" are reviewed'))
def review_links(project: Project, item_id: str) -> None:
    """A person reviewed the scenario links to the item: record it with the real command."""
    run = run_corridor(["trace", "review", "--root", str(project.root), item_id])
    assert run.status == 0, run.stderr


@given("a fingerprint of every file in the project")
def fingerprint_files(project: Project) -> None:
    """Remember the SHA-256 of every file, to show later that nothing was written."""
    project.fingerprint = _snapshot(project.root)


@given("the project is committed to a new git repository")
def git_commit(project: Project) -> None:
    """Make the project a git repository with one commit."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "Verifier", "GIT_AUTHOR_EMAIL": "v@example.invalid",
           "GIT_COMMITTER_NAME": "Verifier", "GIT_COMMITTER_EMAIL": "v@example.invalid"}
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "commit", "-q", "-m", "baseline"]):
        subprocess.run(command, cwd=project.root, check=True, env=env)


# When -------------------------------------------------------------------------------


@when("the trace check runs")
def run_check(project: Project) -> None:
    """Run `corridor trace check` on the project."""
    project.run = run_corridor(["trace", "check", "--root", str(project.root)])


@when(parsers.parse('the trace check runs with "{option}"'))
def run_check_with(project: Project, option: str) -> None:
    """Run `corridor trace check` with one more option."""
    project.run = run_corridor(["trace", "check", "--root", str(project.root), option])


@when(parsers.parse('the trace check runs with the results "{results}"'))
def run_check_results(project: Project, results: str) -> None:
    """Run `corridor trace check --results` on the project."""
    project.run = run_corridor(
        ["trace", "check", "--root", str(project.root), "--results", str(project.root / results)]
    )


@when(parsers.parse('I run "{command}"'))
def run_command(project: Project, command: str) -> None:
    """Run a `corridor` command line; `{root}` stands for the project folder."""
    argv = shlex.split(command.replace("{root}", str(project.root)))
    assert argv[0] == "corridor"
    project.run = run_corridor(argv[1:])


def _pytest(project: Project, extra: list[str]) -> None:
    results = project.root / "results"
    results.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "pytest", "-q", f"--junitxml={results / 'junit.xml'}",
               f"--cucumberjson={results / 'cucumber.json'}", *extra]
    done = subprocess.run(command, cwd=project.root, capture_output=True, text=True, check=False)
    project.pytest_run = Run(done.returncode, done.stdout, done.stderr)


@when("the project's scenarios are run by pytest")
def run_pytest(project: Project) -> None:
    """Run the fixture project's own scenarios with pytest, writing both results formats."""
    _pytest(project, [])


@when(parsers.parse('the project\'s scenarios are run by pytest with "{options}"'))
def run_pytest_with(project: Project, options: str) -> None:
    """Run the fixture project's scenarios with extra pytest options."""
    _pytest(project, shlex.split(options))


@when(parsers.parse('the traceability matrix is written as "{fmt}" to "{out}"'))
def write_matrix(project: Project, fmt: str, out: str) -> None:
    """Run `corridor trace matrix` without results."""
    project.run = run_corridor(["trace", "matrix", "--root", str(project.root), "--format", fmt,
                                 "--out", str(project.root / out)])
    assert project.run.status == 0, project.run.stderr


@when(parsers.parse('the traceability matrix is written as "{fmt}" to "{out}" with the results '
                    '"{results}"'))
def write_matrix_results(project: Project, fmt: str, out: str, results: str) -> None:
    """Run `corridor trace matrix` with results."""
    project.run = run_corridor(["trace", "matrix", "--root", str(project.root), "--format", fmt,
                                 "--out", str(project.root / out),
                                 "--results", str(project.root / results)])
    assert project.run.status == 0, project.run.stderr


# Then -------------------------------------------------------------------------------


@then("the check passes")
def check_passes(project: Project) -> None:
    """Exit status 0 and no finding at all."""
    assert project.last.stdout == "", project.last.stdout
    assert project.last.status == 0, project.last.stderr


@then("the check fails with exactly these findings:")
def check_fails_with(project: Project, datatable: list[list[str]]) -> None:
    """Exit status 1 and exactly the listed (rule, item) findings, as many times as listed."""
    expected = Counter((row["rule"], row["item"]) for row in _table(datatable))
    found = Counter((rule, item) for rule, item, _, _ in project.findings())
    assert found == expected, project.last.stdout
    assert project.last.status == 1


@then("the findings are exactly:")
def findings_exactly(project: Project, datatable: list[list[str]]) -> None:
    """Exactly the listed (rule, item) findings, whatever the exit status."""
    expected = Counter((row["rule"], row["item"]) for row in _table(datatable))
    assert Counter((r, i) for r, i, _, _ in project.findings()) == expected, project.last.stdout


def _finding(project: Project, rule: str, item: str) -> tuple[str, str, str, str]:
    matches = [f for f in project.findings() if f[0] == rule and f[1] == item]
    assert len(matches) == 1, project.last.stdout
    return matches[0]


@then(parsers.parse('the finding "{rule}" for "{item}" is at "{where}"'))
def finding_at(project: Project, rule: str, item: str, where: str) -> None:
    """The finding names the file and line."""
    assert _finding(project, rule, item)[2] == where


@then(parsers.parse('the finding "{rule}" for "{item}" says "{text}"'))
def finding_says(project: Project, rule: str, item: str, text: str) -> None:
    """The finding's message contains the text."""
    message = _finding(project, rule, item)[3]
    assert text in message, message


@then(parsers.parse("the exit status is {status:d}"))
def exit_status(project: Project, status: int) -> None:
    """The last command exited with this status."""
    assert project.last.status == status, (project.last.stdout, project.last.stderr)


@then(parsers.parse('standard error is one line naming "{text}"'))
def stderr_one_line(project: Project, text: str) -> None:
    """One clear line, no traceback."""
    lines = project.last.stderr.strip().splitlines()
    assert len(lines) == 1, project.last.stderr
    assert text in lines[0]
    assert "Traceback" not in project.last.stderr


@then(parsers.parse('standard error contains "{text}"'))
def stderr_contains(project: Project, text: str) -> None:
    """Standard error contains the text."""
    assert text in project.last.stderr


@then(parsers.parse('standard output contains "{text}"'))
def stdout_contains(project: Project, text: str) -> None:
    """Standard output contains the text."""
    assert text in project.last.stdout


@then("standard output is exactly:")
def stdout_exactly(project: Project, docstring: str) -> None:
    """Standard output, line by line."""
    assert project.last.stdout.splitlines() == docstring.splitlines(), project.last.stdout


@then(parsers.parse('pytest reports "{text}"'))
def pytest_reports(project: Project, text: str) -> None:
    """pytest's summary line contains the text, and nothing failed to collect."""
    assert project.pytest_run is not None
    assert text in project.pytest_run.stdout, project.pytest_run.stdout
    assert project.pytest_run.status == 0, project.pytest_run.stdout


@then(parsers.parse('every test case in "{results}" names its scenario:'))
def junit_names_scenarios(project: Project, results: str, datatable: list[list[str]]) -> None:
    """Each test case carries the corridor_scenario property with its outcome element."""
    found = {}
    for case in ET.parse(project.root / results).iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        outcome = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
        found[props.get("corridor_scenario")] = outcome
    expected = {row["scenario"]: row["outcome"] for row in _table(datatable)}
    assert found == expected


@then(parsers.parse('no file outside "{out}" has changed'))
def nothing_written(project: Project, out: str) -> None:
    """Every file but those under ``out`` has the SHA-256 it had before."""
    now = {k: v for k, v in _snapshot(project.root).items() if not k.startswith(f"{out}/")}
    assert now == project.fingerprint


@then(parsers.parse('the HTML matrix in "{out}" links each requirement to its existing record '
                    "file:"))
def html_links(project: Project, out: str, datatable: list[list[str]]) -> None:
    """Each requirement's anchor resolves, relative to the page, to its record file."""
    page = project.root / out / "traceability.html"
    html = page.read_text(encoding="utf-8")
    for row in _table(datatable):
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
    expected = _table(datatable)
    assert set(rows) == {row["requirement"] for row in expected}
    for row in expected:
        got = rows[row["requirement"]]
        assert [(s["key"], s["outcome"]) for s in got["scenarios"]] == [
            (row["scenario"], row["outcome"])
        ]
        assert got["verification"] == row["verification"]
        assert got["risk_controls"] == row["risk controls"].split()


@pytest.fixture
def project() -> Project:
    """Every scenario starts with the Background step that provides the project."""
    raise AssertionError("a scenario must start with 'Given a copy of the minimal consistent "
                         "project'")
