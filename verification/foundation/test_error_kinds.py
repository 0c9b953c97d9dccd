"""Step definitions of ``features/foundation/errors.feature``: the error taxonomy.

Oracles: the class hierarchy as Python reports it (``__subclasses__``, ``issubclass``) and the
exit statuses the README's table documents (written here as numbers, not taken from the
code's constants).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, scenarios, then, when

import corridor
import corridor_qms
from corridor.errors import CorridorError, InputError, SafetyRefusalError
from verification.command_run import run_corridor

scenarios("foundation/errors.feature")

@dataclass
class Case:
    """What one scenario built and what the command did."""

    root: Path
    status: int | None = None
    stderr: str = ""


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


def _subclasses(root: type) -> set[type]:
    found: set[type] = set()
    todo = [root]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


@given("every module of the installed corridor and corridor_qms packages is imported")
def import_everything() -> None:
    """Walk both packages (the training code is not installed with them)."""
    for package in (corridor, corridor_qms):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)


@then("every subclass of the device's root error is an input error or a safety refusal, and "
      "none is both")
def one_kind_each() -> None:
    """The two kinds and their own helper carriers are the only exceptions to the rule."""
    device = {c for c in _subclasses(CorridorError) if c.__module__.startswith("corridor.")}
    kinds = {InputError, SafetyRefusalError}
    assert len(device) > 20, sorted(c.__qualname__ for c in device)  # the walk found them
    for error in device - kinds:
        is_input, is_refusal = issubclass(error, InputError), issubclass(error, SafetyRefusalError)
        assert is_input != is_refusal, f"{error.__module__}.{error.__qualname__}"


@then("no error class of the quality tooling derives from the device's root error")
def tooling_apart() -> None:
    """Tooling errors hang off the tooling's own root."""
    tooling = sorted(f"{c.__module__}.{c.__qualname__}" for c in _subclasses(CorridorError)
                     if c.__module__.startswith("corridor_qms"))
    assert tooling == []


@given("a planted defect makes the ingest command raise ZeroDivisionError")
def planted_defect(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug, not bad input: the handler's stage function divides by zero."""
    def broken(*args: Any, **kwargs: Any) -> Any:
        return 1 / 0

    monkeypatch.setattr("corridor.ingest.cli.ingest", broken)


@when("corridor ingest is run on a folder")
def run_ingest(case: Case) -> None:
    """Any folder: the defect fires first."""
    case.root.joinpath("series").mkdir()
    done = run_corridor(["ingest", str(case.root / "series")])
    case.status, case.stderr = done.status, done.stderr


@when("corridor ingest is run on a folder that does not exist")
def run_ingest_missing(case: Case) -> None:
    """A path nobody made."""
    done = run_corridor(["ingest", str(case.root / "no-such-folder")])
    case.status, case.stderr = done.status, done.stderr


@then('it exits with status 70 and standard error holds "internal error" and the traceback')
def defect(case: Case) -> None:
    """Exit 70, the defect's name and its traceback."""
    assert case.status == 70, case.stderr
    assert "internal error (ZeroDivisionError)" in case.stderr
    assert "Traceback (most recent call last)" in case.stderr


@then("it exits with status 2 and standard error is one line naming the folder")
def input_error(case: Case) -> None:
    """Exit 2, one line, the path named."""
    assert case.status == 2, case.stderr
    lines = case.stderr.strip().splitlines()
    assert len(lines) == 1, case.stderr
    assert "no-such-folder" in lines[0]


@when("corridor model inspect is run on the shipped model with its standard output closed by "
      "the reader before anything is written")
def run_into_closed_pipe(case: Case) -> None:
    """A real process writing into a pipe whose only reader has gone, as ``| head`` leaves it
    (Python ignores SIGPIPE, so the write raises BrokenPipeError)."""
    import subprocess
    import sys

    model = Path(corridor.__file__).parent / "inference" / "models" / "reference-bone-vessel"
    process = subprocess.Popen([sys.executable, "-m", "corridor.cli", "model", "inspect",
                                str(model)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()  # the reader goes before the command prints
    _out, err = process.communicate(timeout=120)
    case.status, case.stderr = process.returncode, err.decode("utf-8", "replace")


@then("it exits with status 141 and standard error is one line saying standard output was "
      "closed, with no traceback")
def broken_pipe(case: Case) -> None:
    """128 + SIGPIPE, as the README's table says; no 'Exception ignored' at exit either."""
    assert case.status == 141, case.stderr
    lines = case.stderr.strip().splitlines()
    assert len(lines) == 1, case.stderr
    assert "standard output was closed" in lines[0]
    assert "Traceback" not in case.stderr
