"""Steps shared by the trace tool's scenarios (``verification/features/trace/``).

Each scenario copies the minimal consistent project (``fixtures/minimal``) to a temporary
folder, plants a defect through real file edits, runs the real ``corridor`` command
in-process (or pytest in a subprocess, for real results) and compares what is reported with
what the scenario states.  The expected findings are written in the feature files by hand,
never derived from the checker.  The steps here are those of more than one feature file:
the copy and its edits, running ``corridor trace check``, ``review``, ``matrix`` and pytest,
and the verdict, findings and exit status.
"""

from __future__ import annotations

import shlex
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, then, when

from verification.command_run import run_corridor
from verification.trace.helpers import (
    FIXTURE,
    Project,
    one_finding,
    run_pytest_in,
    set_dotted_field,
    table_rows,
    unescape,
)


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
    old, new = unescape(old), unescape(new)
    assert old in text, f"{name} does not contain {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@given(parsers.re(r'in "(?P<name>[^"]+)" the field "(?P<dotted>[^"]+)" is set to (?P<value>.+)'))
def set_field(project: Project, name: str, dotted: str, value: str) -> None:
    """Set one field of a YAML record; the value is written as YAML."""
    path = project.root / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    set_dotted_field(data, dotted, yaml.safe_load(value))
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@given(parsers.parse('in "{name}" the field "{dotted}" is removed'))
def remove_field(project: Project, name: str, dotted: str) -> None:
    """Remove one field of a YAML record."""
    path = project.root / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    set_dotted_field(data, dotted, None, remove=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@given(parsers.parse('the file "{name}" contains:'))
def write_file(project: Project, name: str, docstring: str) -> None:
    """Replace a file's whole content (making its folder if need be)."""
    path = project.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(docstring + "\n", encoding="utf-8")


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


@when("the trace check runs")
def run_check(project: Project) -> None:
    """Run `corridor trace check` on the project."""
    project.run = run_corridor(["trace", "check", "--root", str(project.root)])


@when(parsers.parse('the trace check runs with the results "{results}"'))
def run_check_results(project: Project, results: str) -> None:
    """Run `corridor trace check --results` on the project."""
    project.run = run_corridor(
        ["trace", "check", "--root", str(project.root), "--results", str(project.root / results)]
    )


@when(parsers.parse('the trace check runs with "{option}"'))
def run_check_with(project: Project, option: str) -> None:
    """Run `corridor trace check` with one more option (`--strict`, `--release`)."""
    project.run = run_corridor(["trace", "check", "--root", str(project.root), option])


@when(parsers.parse('I run "{command}"'))
def run_command(project: Project, command: str) -> None:
    """Run a `corridor` command line; `{root}` stands for the project folder."""
    argv = shlex.split(command.replace("{root}", str(project.root)))
    assert argv[0] == "corridor"
    project.run = run_corridor(argv[1:])


@when("the project's scenarios are run by pytest")
def run_pytest(project: Project) -> None:
    """Run the fixture project's own scenarios with pytest, writing both results formats."""
    run_pytest_in(project, [])


@when(parsers.parse('the traceability matrix is written as "{fmt}" to "{out}"'))
def write_matrix(project: Project, fmt: str, out: str) -> None:
    """Run `corridor trace matrix` without results."""
    project.run = run_corridor(["trace", "matrix", "--root", str(project.root), "--format", fmt,
                                 "--out", str(project.root / out)])
    assert project.run.status == 0, project.run.stderr


@then("the check passes")
def check_passes(project: Project) -> None:
    """Exit status 0 and no finding at all."""
    assert project.last.stdout == "", project.last.stdout
    assert project.last.status == 0, project.last.stderr


@then("the check fails with exactly these findings:")
def check_fails_with(project: Project, datatable: list[list[str]]) -> None:
    """Exit status 1 and exactly the listed (rule, item) findings, as many times as listed."""
    expected = Counter((row["rule"], row["item"]) for row in table_rows(datatable))
    found = Counter((rule, item) for rule, item, _, _ in project.findings())
    assert found == expected, project.last.stdout
    assert project.last.status == 1


@then("the findings are exactly:")
def findings_exactly(project: Project, datatable: list[list[str]]) -> None:
    """Exactly the listed (rule, item) findings, whatever the exit status."""
    expected = Counter((row["rule"], row["item"]) for row in table_rows(datatable))
    assert Counter((r, i) for r, i, _, _ in project.findings()) == expected, project.last.stdout


@then(parsers.parse('the finding "{rule}" for "{item}" is at "{where}"'))
def finding_at(project: Project, rule: str, item: str, where: str) -> None:
    """The finding names the file and line."""
    assert one_finding(project, rule, item)[2] == where


@then(parsers.parse('the finding "{rule}" for "{item}" says "{text}"'))
def finding_says(project: Project, rule: str, item: str, text: str) -> None:
    """The finding's message contains the text."""
    message = one_finding(project, rule, item)[3]
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


@pytest.fixture
def project() -> Project:
    """Every scenario starts with the Background step that provides the project."""
    raise AssertionError("a scenario must start with 'Given a copy of the minimal consistent "
                         "project'")
