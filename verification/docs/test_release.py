"""Step definitions of ``verification/features/docs/release.feature``.

Verifies ``corridor release``: on a copy of the minimal fixture project made a git repository,
a ready commit (real test results, three approvals by throwaway Ed25519 keys) releases the
whole set of documents into a new folder, with a manifest listing every file, twice to the same
bytes; an unready one (an open problem report in a class C item, no results, no approvals, the
wrong version, an uncommitted change) is refused with every reason and nothing written, and a
draft writes everything marked draft.

Oracles, none of them the command's own output: the records, commits, tag and dates planted
here (the commit date is fixed through git's environment); git itself for the commit's hash;
a real pytest run of the copy's own scenarios for the results; ``hashlib`` for each file's
SHA-256 and ``os.stat`` for its size; GNU ``sha256sum -c`` for the sums file; and a walk of
the folder for the files that must be listed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pytest_bdd import given, parsers, scenarios, then, when

from verification.docs.helpers import ROOT, Case, run_command

scenarios("docs/release.feature")

MINIMAL = ROOT / "verification" / "fixtures" / "minimal"

COMMIT_DATE = "2026-11-30T12:00:00+00:00"
"""Every commit of the copy is dated this (author and committer), through git's environment."""

SIGNERS = {"quality": "Grace Hopper", "engineering-lead": "Alan Turing",
           "clinical": "Mary Seacole"}

_GIT_ENV = {"GIT_AUTHOR_NAME": "Release Tester", "GIT_AUTHOR_EMAIL": "tester@example.org",
            "GIT_COMMITTER_NAME": "Release Tester", "GIT_COMMITTER_EMAIL": "tester@example.org",
            "GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE}

SIGNATURES = Path("traceability/signatures/0.0.0")
ALLOWED = Path("traceability/allowed_signers.yaml")

OPEN_PROBLEM = {
    "id": "PR-001",
    "title": "Greeting core crashes on an empty name",
    "description": "An empty name raises instead of being refused.",
    "found": {"activity": "verification", "date": "2026-11-29"},
    "severity": "minor",
    "software_items": ["demo.core"],
    "status": "open",
}
"""An open problem report on the class C item planted beside it."""


@dataclass
class Release:
    """The release scenario's project, results and folders."""

    root: Path
    project: Path = Path()
    results: Path = Path()
    keys: dict[str, Path] = field(default_factory=dict)
    outs: list[Path] = field(default_factory=list)


@pytest.fixture
def release(tmp_path: Path) -> Release:
    """A fresh scenario context."""
    return Release(tmp_path)


@pytest.fixture(scope="module")
def junit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The copy's own scenarios run once by pytest for the module: the results apply to every
    copy (they are keyed by feature path and scenario name, which no scenario here changes)."""
    run = tmp_path_factory.mktemp("results-run")
    shutil.copytree(MINIMAL, run / "project", ignore=shutil.ignore_patterns("__pycache__"))
    results = run / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", f"--junitxml={results}"],
                          cwd=run / "project", capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return results


def _git(project: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false",
                           *args], cwd=project, capture_output=True, text=True, check=True,
                          env={**os.environ, **_GIT_ENV})
    return done.stdout.strip()


def _commit(project: Path, message: str) -> None:
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", message)


def _copy(release: Release, junit: Path) -> Path:
    """The minimal project, locked at the installed PyYAML, ignoring caches, committed."""
    project = release.root / "project"
    shutil.copytree(MINIMAL, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".gitignore").write_text("__pycache__/\n", encoding="utf-8")
    (project / "requirements.lock").write_text(
        "# Locked versions, frozen from the test environment on 2026-11-25.\n"
        f"PyYAML=={version('PyYAML')}\n", encoding="utf-8")
    _git(project, "init", "-q")
    _commit(project, "The minimal project")
    release.project, release.results = project, junit
    return project


def _keys(release: Release) -> None:
    """A throwaway key per role, listed in the copy's allowed-signers file."""
    public = {}
    for role in SIGNERS:
        key = Ed25519PrivateKey.generate()
        path = release.root / "keys" / role
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.OpenSSH,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
        release.keys[role] = path
        public[role] = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    allowed = release.project / ALLOWED
    allowed.parent.mkdir(parents=True, exist_ok=True)
    allowed.write_text(yaml.safe_dump({"signers": [
        {"name": name, "roles": [role], "public_key": public[role]}
        for role, name in SIGNERS.items()]}, sort_keys=False), encoding="utf-8")


@given(parsers.parse('a committed copy of the minimal project tagged "{tag}", the results of '
                     "its scenarios, and keys for the quality, engineering-lead and clinical "
                     "signers"))
def tagged_copy(release: Release, junit: Path, tag: str) -> None:
    """The first commit is the previous release."""
    project = _copy(release, junit)
    _git(project, "tag", tag)
    _keys(release)
    _commit(project, "The allowed signers")


@given(parsers.parse("the title of {req_id} edited and committed since"))
def edit_title(release: Release, req_id: str) -> None:
    """An editorial change: the link reviews still hold."""
    path = release.project / "requirements_spec" / "srs" / f"{req_id}.yaml"
    text = path.read_text(encoding="utf-8")
    assert "title: Greeting length limit" in text
    path.write_text(text.replace("title: Greeting length limit",
                                 "title: Greeting length, limited"), encoding="utf-8")
    _commit(release.project, f"{req_id}: title")


@given("a committed copy of the minimal project with an open problem report PR-001 on a class "
       "C software item, and the results of its scenarios")
def open_problem(release: Release, junit: Path) -> None:
    """A class C item beside the greeter and an open report on it, committed after the copy."""
    project = _copy(release, junit)
    items = project / "requirements_spec" / "software_items.yaml"
    data = yaml.safe_load(items.read_text(encoding="utf-8"))
    data["software_items"].append({
        "id": "demo.core", "description": "Formats the greeting.", "safety_class": "C",
        "class_rationale": "Planted: a class C item for the release gate."})
    items.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    problems = project / "risk_management" / "problems"
    problems.mkdir(parents=True)
    (problems / "PR-001.yaml").write_text(yaml.safe_dump(OPEN_PROBLEM, sort_keys=False),
                                          encoding="utf-8")
    _commit(project, "PR-001: open, in demo.core (class C)")


def _release(case: Case, release: Release, version_given: str, *options: str,
             out: Path | None = None) -> None:
    out = out or release.root / f"release-{len(release.outs)}"
    release.outs.append(out)
    run_command(case, ["release", version_given, "--root", str(release.project),
                       "--out", str(out), *options])


@when("a draft release is made, each signer approves its design-history.sha256, and the "
      "signatures are committed")
def draft_and_sign(case: Case, release: Release, monkeypatch: pytest.MonkeyPatch) -> None:
    """The draft without its PDF (WeasyPrint unimportable for it: only the content manifest is
    signed); each signer signs with corridor docs sign."""
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "weasyprint", None)
        _release(case, release, "0.0.0", "--results", str(release.results), "--draft")
    assert case.status == 0, case.stderr
    content = release.outs[-1] / "dhf" / "design-history.sha256"
    for role, name in SIGNERS.items():
        run_command(case, ["docs", "sign", "--content", str(content), "--role", role,
                           "--meaning", "approved", "--key", str(release.keys[role]),
                           "--signer", name, "--out", str(release.project / SIGNATURES)])
        assert case.status == 0, case.stderr
    _commit(release.project, "Approvals of 0.0.0")


@when(parsers.parse('corridor release "{version_given}" is run twice with the results and the '
                    "signatures, into two folders"))
def release_twice(case: Case, release: Release, version_given: str) -> None:
    """Two folders at different depths: no output path may enter a document."""
    options = ["--results", str(release.results), "--signatures",
               str(release.project / SIGNATURES), "--allowed-signers",
               str(release.project / ALLOWED)]
    statuses = []
    for out in (release.root / "release", release.root / "a" / "b" / "release"):
        _release(case, release, version_given, *options, out=out)
        statuses.append((case.status, case.stderr))
    case.status = max(s for s, _ in statuses)
    case.stderr = "\n".join(s for _, s in statuses)


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}


def _manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "release-manifest.json").read_text("utf-8"))
    return data


def _listed_exactly(folder: Path) -> dict[str, Any]:
    """Every file but the manifest and the sums, each with hashlib's SHA-256 and its size."""
    manifest = _manifest(folder)
    listed = {f["path"]: (f["sha256"], f["size"]) for f in manifest["files"]}
    expected = {rel: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size)
                for rel, p in _files(folder).items()
                if rel not in ("release-manifest.json", "SHA256SUMS")}
    assert listed == expected
    assert [f["path"] for f in manifest["files"]] == sorted(listed)
    return manifest


@then("both exit 0 and hold the report as HTML and PDF, its content manifest, the matrix as "
      "HTML, CSV and JSON, the SBOM, the change impact, the results, the three approvals, the "
      "manifest and SHA256SUMS")
def whole_set(case: Case, release: Release) -> None:
    """The file names the requirement lists."""
    assert case.status == 0, case.stderr
    expected = {"dhf/design-history.html", "dhf/design-history.pdf",
                "dhf/design-history.sha256", "traceability/traceability.html",
                "traceability/traceability.csv", "traceability/traceability.json",
                "sbom.cdx.json", "change-impact.txt", "verification/junit.xml",
                "release-manifest.json", "SHA256SUMS",
                *(f"approvals/{path.name}" for path in (release.project / SIGNATURES).iterdir())}
    assert len([p for p in expected if p.startswith("approvals/")]) == 3
    for folder in release.outs[-2:]:
        assert set(_files(folder)) == expected
        assert (folder / "dhf" / "design-history.pdf").read_bytes()[:5] == b"%PDF-"
        json.loads((folder / "sbom.cdx.json").read_text(encoding="utf-8"))


@then(parsers.parse('the manifest says "{status}" at the copy\'s commit and commit date and '
                    "lists every other file of the folder with the SHA-256 and size computed "
                    "here"))
def manifest_released(release: Release, status: str) -> None:
    """Commit from git, date as planted, no reasons."""
    manifest = _listed_exactly(release.outs[-2])
    assert manifest["status"] == status
    assert manifest["version"] == "0.0.0"
    assert manifest["reasons"] == []
    assert manifest["commit"] == _git(release.project, "rev-parse", "HEAD")
    assert manifest["commit_date"] == COMMIT_DATE


@then("GNU sha256sum checks every file of the folder against SHA256SUMS")
def sha256sum_checks(release: Release) -> None:
    """coreutils, the independent checker; every file but the sums is in it."""
    folder = release.outs[-2]
    sums = shutil.which("sha256sum")
    assert sums is not None, "sha256sum (GNU coreutils) is needed as the independent checker"
    done = subprocess.run([sums, "--strict", "-c", "SHA256SUMS"], cwd=folder,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    checked = {line.rsplit(": ", 1)[0] for line in done.stdout.splitlines()}
    assert checked == set(_files(folder)) - {"SHA256SUMS"}


@then("the two folders are byte for byte equal")
def byte_equal(release: Release) -> None:
    """Same file names, same bytes."""
    first, second = (_files(folder) for folder in release.outs[-2:])
    assert set(first) == set(second)
    for rel, path in first.items():
        assert path.read_bytes() == second[rel].read_bytes(), rel


@then(parsers.parse('the change impact is since "{tag}" and lists {req_id} as edited'))
def change_impact(release: Release, tag: str, req_id: str) -> None:
    """The tag planted on the first commit, the title edited after it."""
    text = (release.outs[-2] / "change-impact.txt").read_text(encoding="utf-8")
    assert f"since the previous release {tag} (commit {_git(release.project, 'rev-parse', tag)})" \
        in text
    assert any(line.split()[:2] == ["EDITED", req_id] for line in text.splitlines()), text
    assert _manifest(release.outs[-2])["previous_release"] == tag


@when(parsers.parse('its requirements.lock is deleted and corridor release "{version_given}" is '
                    "run without results or signatures"))
def release_bare(case: Case, release: Release, version_given: str) -> None:
    """No options but the root and the folder."""
    (release.project / "requirements.lock").unlink()
    _release(case, release, version_given)


@when(parsers.parse('the lock is restored, a requirement is edited without committing, and '
                    'corridor release "{version_given}" is run with the results'))
def release_dirty(case: Case, release: Release, version_given: str) -> None:
    """A title edit (editorial, so no trace finding): only the tree is unclean."""
    _git(release.project, "checkout", "--", "requirements.lock")
    path = release.project / "requirements_spec" / "srs" / "SRS-DEM-002.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "title: Greeting length limit", "title: Greeting length, limited"), encoding="utf-8")
    _release(case, release, version_given, "--results", str(release.results))


@when(parsers.parse('corridor release "{version_given}" is run with the results and '
                    '"{option}"'))
def release_option(case: Case, release: Release, monkeypatch: pytest.MonkeyPatch,
                   version_given: str, option: str) -> None:
    """Without the PDF (WeasyPrint unimportable): the PDF's bytes are the first scenario's."""
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    _release(case, release, version_given, "--results", str(release.results), option)


@then("it exits 1 and the release folder does not exist")
def refused(case: Case, release: Release) -> None:
    """Nor a hidden staging sibling."""
    assert case.status == 1, (case.stdout, case.stderr)
    assert not release.outs[-1].exists()
    assert [p.name for p in release.root.iterdir() if p.name.startswith(".")] == []


def _lines(case: Case) -> list[str]:
    return [line.strip() for line in case.stderr.splitlines()]


@then(parsers.parse('it lists "{rule}", "{no_results}", "{no_lock}" and "{no_signatures}" naming '
                    "quality, engineering-lead and clinical"))
def lists_reasons(case: Case, rule: str, no_results: str, no_lock: str,
                  no_signatures: str) -> None:
    """Each reason on a line of its own."""
    lines = _lines(case)
    for text in (rule, no_results, no_lock):
        assert any(text in line for line in lines), (text, case.stderr)
    approval = [line for line in lines if no_signatures in line]
    assert len(approval) == 1, case.stderr
    for role in SIGNERS:
        assert role in approval[0]


@then(parsers.parse('it lists the version "{given}" given and the project\'s "{project}"'))
def lists_version(case: Case, given: str, project: str) -> None:
    """Both versions on one line."""
    assert any(given in line and project in line and "version" in line
               for line in _lines(case)), case.stderr


@then(parsers.parse('it lists "{rule}" and "{unclean}"'))
def lists_unclean(case: Case, rule: str, unclean: str) -> None:
    """The problem still blocks; the uncommitted file is named."""
    lines = _lines(case)
    assert any(rule in line for line in lines), case.stderr
    assert any(unclean in line and "SRS-DEM-002.yaml" in line for line in lines), case.stderr
    assert not any("no test results" in line for line in lines), case.stderr


@then(parsers.parse('it exits 0 and the manifest says "{status}" with the reasons naming '
                    "PR-001, the missing approvals and the uncommitted change"))
def draft_manifest(case: Case, release: Release, status: str) -> None:
    """The reasons as the refusal listed them."""
    assert case.status == 0, case.stderr
    manifest = _manifest(release.outs[-1])
    assert manifest["status"] == status
    reasons = manifest["reasons"]
    assert any("PR-OPEN-BLOCKS-RELEASE  PR-001" in r for r in reasons), reasons
    assert any("not approved: no signatures" in r for r in reasons), reasons
    assert any("working tree not clean" in r for r in reasons), reasons


@then("the design-history report is titled DRAFT and the manifest lists every other file of the "
      "folder with the SHA-256 computed here")
def draft_written(release: Release) -> None:
    """The watermark of the report; the listing checked as for a release."""
    report = (release.outs[-1] / "dhf" / "design-history.html").read_text(encoding="utf-8")
    assert "<title>DRAFT: " in report
    assert 'class="draft-banner"' in report
    _listed_exactly(release.outs[-1])
