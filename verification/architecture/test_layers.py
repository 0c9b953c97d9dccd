"""Step definitions of the layering scenarios (features/architecture/).

Each scenario copies the Python sources under ``software/`` and ``pyproject.toml`` to its own
temporary folder, plants an import there, and runs the real ``lint-imports`` command on the
copy as a subprocess, exactly as ``tox -e lint`` runs it on the repository. The contracts'
names are read from the copied ``pyproject.toml``, so the scenarios name contracts by their
``id`` and the check is against the names the tool prints.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pytest_bdd import given, parsers, scenarios, then, when

scenarios("architecture")

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Copy:
    """The copied tree, its contracts by id, and the last check's outcome."""

    root: Path
    contracts: dict[str, str]
    status: int | None = None
    report: str = ""


def _python_sources(folder: str, names: Iterable[str]) -> set[str]:
    """``copytree`` filter: packages and ``.py`` files only (no models, caches or builds)."""
    ignored = set()
    for name in names:
        path = Path(folder, name)
        if path.is_dir():
            if name == "__pycache__" or name.endswith(".egg-info"):
                ignored.add(name)
        elif not name.endswith(".py"):
            ignored.add(name)
    return ignored


def _lint_imports() -> str:
    """The ``lint-imports`` command of the environment running the tests."""
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.is_file() else shutil.which("lint-imports")
    assert found, (f"lint-imports not found beside {sys.executable} or on PATH; expected "
                   "import-linter installed (the `test` extra)")
    return found


@given("a copy of the software and its import contracts", target_fixture="copy")
def copy_of_software(tmp_path: Path) -> Copy:
    """``software/`` (Python sources) and ``pyproject.toml`` copied to the scenario's folder."""
    shutil.copytree(ROOT / "software", tmp_path / "software", ignore=_python_sources)
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    config = tomllib.loads((tmp_path / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}
    return Copy(tmp_path, contracts)


@given(parsers.parse('the line "{line}" added to "{module}" in the copy'))
def plant_import(copy: Copy, line: str, module: str) -> None:
    """Append one import at the end of a module of the copy (after its own imports)."""
    path = copy.root / "software" / module
    text = path.read_text(encoding="utf-8")
    assert line not in text, f"{module} already holds {line!r}: nothing would be planted"
    path.write_text(f"{text.rstrip()}\n\n{line}  # planted by the scenario\n", encoding="utf-8")


@given(parsers.parse('a new module "{module}" in the copy'))
def new_module(copy: Copy, module: str) -> None:
    """A module that imports nothing, so only the layers' completeness can object to it."""
    path = copy.root / "software" / module
    assert not path.exists(), f"{module} exists already"
    path.write_text('"""A part of the device the contracts do not place yet."""\n',
                    encoding="utf-8")


@when("I check the imports of the copy")
def check_imports(copy: Copy) -> None:
    """``lint-imports COPY/pyproject.toml`` with the copy first on the path."""
    env = {**os.environ, "PYTHONPATH": str(copy.root / "software"), "COLUMNS": "200"}
    done = subprocess.run(
        [_lint_imports(), "--no-logo", "--no-cache", str(copy.root / "pyproject.toml")],
        cwd=copy.root, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    copy.status = done.returncode
    # The report is wrapped to the terminal's width: compare with single spaces.
    copy.report = " ".join((done.stdout + "\n" + done.stderr).split())


def _verdicts(copy: Copy) -> dict[str, str]:
    """Each contract id with the word the report prints after its name (KEPT or BROKEN)."""
    verdicts = {}
    for contract_id, name in copy.contracts.items():
        found = re.search(re.escape(" ".join(name.split())) + r" (KEPT|BROKEN)", copy.report)
        assert found, f"the report does not name contract {contract_id!r}:\n{copy.report}"
        verdicts[contract_id] = found.group(1)
    return verdicts


@then("the check passes and keeps every contract")
def passes(copy: Copy) -> None:
    """Exit 0, and every contract of pyproject.toml reported KEPT."""
    assert copy.status == 0, copy.report
    assert len(copy.contracts) >= 3
    assert set(_verdicts(copy).values()) == {"KEPT"}, copy.report


@then(parsers.parse('the check fails with the contract "{contract}" broken'))
def fails(copy: Copy, contract: str) -> None:
    """Non-zero exit, and the named contract reported BROKEN."""
    assert contract in copy.contracts, (f"no contract {contract!r} in pyproject.toml; "
                                        f"expected one of {sorted(copy.contracts)}")
    assert copy.status not in (None, 0), copy.report
    assert _verdicts(copy)[contract] == "BROKEN", copy.report


@then(parsers.parse('the report names the import of "{imported}" by "{importer}"'))
def names_import(copy: Copy, imported: str, importer: str) -> None:
    """The chain ``importer -> imported (l.N)`` that breaks the contract, with its line."""
    chain = re.escape(importer) + " -> " + re.escape(imported) + r" \(l\.\d+"
    assert re.search(chain, copy.report), f"no {importer} -> {imported} in:\n{copy.report}"


@then(parsers.parse('the report lists "{module}" as not in any layer'))
def lists_undeclared(copy: Copy, module: str) -> None:
    """The exhaustive layers contract lists every child of corridor it does not place."""
    assert "not listed as layers" in copy.report, copy.report
    assert f"- {module} " in f"{copy.report} ", copy.report

