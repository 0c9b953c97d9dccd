"""Step definitions of ``features/foundation/identity.feature``: the build-stamped identity.

Oracles: git itself (``git rev-parse``, ``git merge-base``) run by the test on the repository
and on throw-away copies, and the stamp file's text as the build backend wrote it (read back
with :func:`ast.literal_eval`, not imported through the product).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

import corridor
from corridor.provenance import SoftwareIdentity, software_identity
from verification.command_run import run_corridor
from verification.foundation.helpers import stamp_of

scenarios("foundation/identity.feature")

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Case:
    """What one scenario built."""

    root: Path
    project: Path | None = None
    backend: ModuleType | None = None
    identity: SoftwareIdentity | None = None
    refusal: str | None = None
    status: int | None = None
    stderr: str = ""
    notes: list[str] = field(default_factory=list)


@pytest.fixture
def case(tmp_path: Path) -> Case:
    """A fresh scenario context."""
    return Case(tmp_path)


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(folder), "-c", "user.name=test", "-c",
                           "user.email=test@example.invalid", *args],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _stamp(project: Path) -> dict[str, Any]:
    """The copy's stamp, parsed as literals."""
    return stamp_of(project / "software" / "corridor" / "_stamp.py")


def _copy_build_files(target: Path) -> Path:
    """pyproject.toml and the build backend, laid out as in the repository."""
    (target / "software" / "corridor").mkdir(parents=True)
    shutil.copy2(ROOT / "pyproject.toml", target / "pyproject.toml")
    shutil.copy2(ROOT / "software" / "corridor_build.py", target / "software")
    return target


def _load_backend(case: Case) -> ModuleType:
    """The copy's backend module, loaded from its file (its root is the copy)."""
    assert case.project is not None
    path = case.project / "software" / "corridor_build.py"
    spec = importlib.util.spec_from_file_location(f"corridor_build_copy_{id(case)}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@given("the installed software identity")
def installed(case: Case) -> None:
    """As every record names it."""
    case.identity = software_identity()


@then("its commit is the repository's HEAD as git reports it, or the tree is no git checkout")
def commit_is_head(case: Case) -> None:
    """An editable install may be behind HEAD (the code moved on since it was installed): its
    commit must then be an ancestor of HEAD, and the record says the build is editable."""
    assert case.identity is not None
    assert case.identity.version == corridor.__version__
    if not (ROOT / ".git").exists():
        assert case.identity.commit is None
        return
    head = _git(ROOT, "rev-parse", "HEAD")
    commit = case.identity.commit
    assert commit is not None
    assert len(commit) == 40
    if case.identity.build.value == "editable":
        subprocess.run(["git", "-C", str(ROOT), "merge-base", "--is-ancestor", commit, head],
                       check=True)
    else:
        assert commit == head


@given("a copy of the project's build files committed to a new git repository")
def committed_copy(case: Case) -> None:
    """A repository of its own."""
    case.project = _copy_build_files(case.root / "project")
    _git(case.project, "init", "-q")
    _git(case.project, "add", "pyproject.toml", "software/corridor_build.py")
    _git(case.project, "commit", "-q", "-m", "copy")


@given("a copy of the project's build files inside another git repository")
def nested_copy(case: Case) -> None:
    """The enclosing repository is someone else's (a deployment repository)."""
    outer = case.root / "outer"
    outer.mkdir()
    _git(outer, "init", "-q")
    case.project = _copy_build_files(outer / "vendor" / "corridor")
    _git(outer, "add", ".")
    _git(outer, "commit", "-q", "-m", "outer")


def _write(case: Case, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = _load_backend(case)
    if kind == "release":
        monkeypatch.setenv("CORRIDOR_RELEASE", "1")
    else:
        monkeypatch.delenv("CORRIDOR_RELEASE", raising=False)
    try:
        backend.write_stamp("development")
    except SystemExit as exc:
        case.refusal = str(exc.code)


@when(parsers.parse("the stamp is written for a {kind} build"))
def write_stamp(case: Case, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The backend's stamping step, as every build runs it."""
    _write(case, kind, monkeypatch)


@when("a tracked file of the copy is changed and the stamp is written for a release build")
def dirty_release(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """An uncommitted edit."""
    assert case.project is not None
    pyproject = case.project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n# edited\n")
    _write(case, "release", monkeypatch)


@then(parsers.parse('the stamp says "{build}" with the copy\'s HEAD commit and not dirty'))
def stamped(case: Case, build: str) -> None:
    """Compared with git's own answer."""
    assert case.project is not None
    assert case.refusal is None, case.refusal
    stamp = _stamp(case.project)
    assert (stamp["BUILD"], stamp["COMMIT"], stamp["DIRTY"]) == (
        build, _git(case.project, "rev-parse", "HEAD"), False)


@then("the release build is refused naming the dirty checkout")
def refused_dirty(case: Case) -> None:
    """SystemExit with the reason; the release stamp is not overwritten by a dirty one."""
    assert case.refusal is not None
    assert "release build refused" in case.refusal
    assert "dirty True" in case.refusal
    assert case.project is not None
    assert _stamp(case.project)["DIRTY"] is False


@then("the stamp names no commit")
def no_commit(case: Case) -> None:
    """Not the enclosing repository's commit."""
    assert case.project is not None
    assert case.refusal is None
    stamp = _stamp(case.project)
    assert (stamp["COMMIT"], stamp["DIRTY"], stamp["BUILD"]) == (None, None, "development")


@given(parsers.parse('the installed stamp says "{build}" with no commit'))
def release_without_commit(build: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stamp module's values replaced for this scenario; the cached identity dropped."""
    from corridor import _stamp

    monkeypatch.setattr(_stamp, "BUILD", build)
    monkeypatch.setattr(_stamp, "COMMIT", None)
    software_identity.cache_clear()
    monkeypatch.setattr(software_identity, "cache_clear", software_identity.cache_clear)


@pytest.fixture(autouse=True)
def _fresh_identity() -> Any:
    """No identity cached across scenarios (a planted stamp must not leak)."""
    software_identity.cache_clear()
    yield
    software_identity.cache_clear()


@when("corridor ingest is run on a folder")
def run_ingest(case: Case) -> None:
    """Any folder: the identity is checked before the handler runs."""
    case.root.joinpath("series").mkdir()
    done = run_corridor(["ingest", str(case.root / "series")])
    case.status, case.stderr = done.status, done.stderr


@then(parsers.parse('it exits with status 4 naming "{text}"'))
def refused_to_run(case: Case, text: str) -> None:
    """A safety refusal, one line."""
    assert case.status == 4, case.stderr
    assert text in case.stderr
