"""Step definitions of ``features/foundation/startup.feature``: what a command imports.

Oracle: ``sys.modules`` of a fresh interpreter after the command ran, reported by the child
process as JSON (the test process has imported everything already).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pytest
from pytest_bdd import parsers, scenarios, then, when

scenarios("foundation/startup.feature")

_CHILD = """
import contextlib, io, json, sys
from corridor.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps({"stdout": out.getvalue(), "modules": sorted(sys.modules)}))
"""


@dataclass
class Case:
    """What the child printed and imported."""

    stdout: str = ""
    modules: list[str] = field(default_factory=list)
    commands: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def case() -> Case:
    """A fresh scenario context."""
    return Case()


@when(parsers.parse('"{command}" runs in a fresh interpreter'))
def run_fresh(case: Case, command: str) -> None:
    """``python -c`` with the command's arguments."""
    words = command.split()
    assert words[0] == "corridor"
    done = subprocess.run([sys.executable, "-c", _CHILD, *words[1:]], capture_output=True,
                          text=True, check=True, timeout=120)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    case.stdout, case.modules = report["stdout"], report["modules"]


@then("it printed the version and no subcommand module was imported")
def nothing_imported(case: Case) -> None:
    """Only the command's own module and the foundation."""
    assert case.stdout.startswith("corridor ")
    loaded = [m for m in case.modules if m.startswith(("corridor.", "corridor_"))]
    assert not [m for m in loaded if m.endswith(".cli") and m != "corridor.cli"], loaded
    assert not [m for m in loaded if m.startswith(("corridor.ingest", "corridor.inference",
                                                   "corridor.meshing", "corridor.planning",
                                                   "corridor.case", "corridor_qms",
                                                   "corridor_phantoms"))], loaded


@then(parsers.parse("none of {names} was imported"))
def none_of(case: Case, names: str) -> None:
    """Neither the packages nor any of their modules."""
    assert "corridor.ingest.cli" in case.modules  # the chosen command did load
    for name in (n.strip() for n in names.split(",")):
        assert not [m for m in case.modules if m == name or m.startswith(f"{name}.")], name


@when("the command's subcommand table is read")
def subcommand_table(case: Case) -> None:
    """The table the build stamped into the package."""
    from corridor import _stamp

    case.commands = dict(_stamp.COMMANDS)


@then("it equals the corridor.commands entry points of the installed corridor distribution")
def table_is_entry_points(case: Case) -> None:
    """Read through importlib.metadata, which the command itself no longer imports."""
    declared = {e.name: e.value for e in entry_points(group="corridor.commands")}
    assert len(declared) >= 10
    assert case.commands == declared
