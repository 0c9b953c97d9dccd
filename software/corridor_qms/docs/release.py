"""A release: every audit document of one commit, written together, with a manifest of their
SHA-256, or a refusal listing every reason the commit is not ready.

:func:`prepare_release` reads the project and the inputs and decides readiness; it writes
nothing.  :func:`release_files` makes every document as bytes (the same functions as
``corridor docs``, :mod:`corridor_qms.docs.outputs`); :func:`write_release` writes them into a
new folder atomically: into a hidden sibling first, renamed into place when complete, so a
failure leaves no half-written release.

Readiness
---------
A release is refused, with every reason listed, when

* ``VERSION`` is not the project's version (``[project] version`` of ``pyproject.toml``);
* no test results are given (the verification status of a release must be evidence);
* the project has no lock file (the SBOM lists the locked versions);
* the trace check has findings at the release gate (every finding, warnings and
  release-only ones included: an open problem report in a class C item is one, named by its
  ``PR-`` ID);
* the required roles have not approved by valid signatures over the design-history report's
  content manifest (none given, invalid ones, or a role missing);
* the working tree is not clean (``git status --porcelain`` lists something) or not a git
  checkout: a release is built from a commit, and names it.

``draft`` writes everything anyway: the design-history report watermarked DRAFT and the
manifest's status ``draft`` with the reasons.

Determinism
-----------
No clock: dates come from the commit.  No output path enters a document (the matrix's source
links are relative to the repository root; the results and validation files are named by their
file name only).  JSON is written with sorted keys and files are listed sorted, so the same
commit and inputs give byte-identical folders.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from corridor.inference.package import load_model_package
from corridor.staging import check_output_folder, staged_folder, write_bytes_atomic
from corridor_qms.docs.dhf import (
    CONTENT_NAME,
    DHF_NAME,
    build_dhf_context,
    content_manifest,
    render_dhf,
)
from corridor_qms.docs.gitinfo import git
from corridor_qms.docs.modelcard import build_model_card
from corridor_qms.docs.outputs import approvals, dhf_pdf, model_card_files, sbom_text
from corridor_qms.errors import QmsError
from corridor_qms.findings import Finding
from corridor_qms.records import WorkingTree, load_records
from corridor_qms.records.project import LAYOUT, GitRevision
from corridor_qms.trace.diff import diff
from corridor_qms.trace.index import TraceIndex, build_index
from corridor_qms.trace.matrix import Format, build_matrix, render
from corridor_qms.trace.results import load_results
from corridor_qms.trace.rules import check

__all__ = [
    "MANIFEST_NAME",
    "REFERENCE_MODEL",
    "SUMS_NAME",
    "Release",
    "ReleaseError",
    "prepare_release",
    "previous_release",
    "project_version",
    "release_files",
    "write_release",
]

MANIFEST_NAME = "release-manifest.json"
"""The release manifest: version, commit, status, reasons and every file's SHA-256 and size."""

SUMS_NAME = "SHA256SUMS"
"""Every other file's SHA-256 in ``sha256sum`` form, so ``sha256sum -c SHA256SUMS`` checks the
folder without Corridor."""

FORMAT = "corridor-release/1"

REFERENCE_MODEL = Path("software/corridor/inference/models/reference-bone-vessel")
"""The model package a release's model card describes when none is given, relative to the
project root (the shipped reference model)."""

TAG_PATTERNS = ("refs/tags/v*", "refs/tags/release-*")
"""The tags that mark earlier releases."""


class ReleaseError(QmsError, ValueError):
    """An input the release cannot use (as opposed to a project that is not ready).

    Attributes
    ----------
    field
        The option or file concerned.
    found, expected
        What was found and what was expected.
    """

    def __init__(self, field: str, found: object, expected: str) -> None:
        self.field, self.found, self.expected = field, found, expected
        super().__init__(f"{field}: found {found}, expected {expected}")



def project_version(root: Path) -> str:
    """``[project] version`` of the project's ``pyproject.toml``.

    Raises
    ------
    ReleaseError
        When the file is unreadable or has no version.
    """
    path = root / LAYOUT.pyproject
    try:
        project = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ReleaseError(str(path), type(exc).__name__, "a readable pyproject.toml") from exc
    found = project.get("version") if isinstance(project, dict) else None
    if not isinstance(found, str):
        raise ReleaseError(f"{path} [project] version", repr(found), "the version as a string")
    return found


def previous_release(root: Path) -> str | None:
    """The most recent release tag (``v*`` or ``release-*``) reachable from ``HEAD`` that does
    not point at ``HEAD`` itself; ``None`` when there is none (a first release)."""
    tags = git(root, "for-each-ref", "--merged", "HEAD", "--no-contains", "HEAD",
                "--sort=-creatordate", "--format=%(refname:short)", *TAG_PATTERNS)
    return tags.splitlines()[0] if tags else None


@dataclass(slots=True)
class Release:
    """Everything a release is made of, read and checked; valid once :func:`prepare_release`
    returns it.

    Attributes
    ----------
    root
        The project root.
    version
        The version released (the project's, when ready).
    draft
        Whether a draft was asked for.
    reasons
        Why the release is not ready (empty when it is), in the order found.
    commit, commit_date
        The commit released and its committer date (ISO 8601), ``None`` outside git.
    index, findings
        The trace graph with the test results, and every finding of the trace check.
    results, validation, model, signatures
        The inputs given (or found: the reference model).
    manifest
        The design-history report's content manifest (what the signatures sign).
    approvals
        The approvals page, ``None`` without signatures.
    previous
        The previous release's git revision, ``None`` for a first release.
    """

    root: Path
    version: str
    draft: bool
    reasons: list[str]
    commit: str | None
    commit_date: str | None
    index: TraceIndex
    findings: list[Finding]
    results: Path | None
    validation: Path | None
    model: Path | None
    signatures: Path | None
    manifest: str
    approvals: dict[str, Any] | None
    previous: str | None

    @property
    def ready(self) -> bool:
        """Whether nothing stands in the release's way."""
        return not self.reasons


def _signature_reasons(page: dict[str, Any] | None) -> list[str]:
    from_roles = "quality, engineering-lead and clinical"
    if page is None:
        return [f"not approved: no signatures (--signatures DIR --allowed-signers FILE); "
                f"{from_roles} must each approve the design-history content manifest"]
    reasons = [f"signature {row['file']}: {row['verdict']}: {row['reason']} ({row['detail']})"
               for row in page["rows"] if row["verdict"] != "VALID"]
    if page["missing"]:
        reasons.append("not approved by " + ", ".join(page["missing"])
                       + " (no valid 'approved' signature in the role)")
    return reasons


def prepare_release(root: Path, version: str, *, results: Path | None = None,
                    validation: Path | None = None, model: Path | None = None,
                    signatures: Path | None = None, allowed_signers: Path | None = None,
                    previous: str | None = None, draft: bool = False) -> Release:
    """Read the project and the inputs and decide whether ``version`` can be released.

    Parameters
    ----------
    root
        The project root.
    version
        The version to release; must be the project's.
    results
        Test results (JUnit XML or cucumber JSON); a release needs them.
    validation
        ``results.json`` of ``corridor validate study``.
    model
        The model package for the model card (default :data:`REFERENCE_MODEL` when the
        project has it).
    signatures, allowed_signers
        The approvals (a folder of signature records) and the keys allowed to sign.
    previous
        The git revision of the previous release (default :func:`previous_release`).
    draft
        Write a draft whatever the readiness.

    Raises
    ------
    ReleaseError, QmsError, OSError, ImportError
        An input that cannot be used (unreadable results, a model package that does not
        verify, an unknown revision, the signing extra missing).
    """
    reasons: list[str] = []
    found = project_version(root)
    if version != found:
        reasons.append(f"version: found {version} on the command line, the project's "
                       f"pyproject.toml says {found} (release the project's version)")
    records = load_records(WorkingTree(root), root)
    if records.lock_text is None:
        reasons.append(f"no {LAYOUT.lock}: the SBOM of a release lists the locked versions")
    if results is None:
        reasons.append("no test results (--results junit.xml): a release needs the "
                       "verification results of this commit")
    outcomes = load_results(results, records.scenarios) if results is not None else None
    index = build_index(records, outcomes)
    findings = check(index)
    reasons += [f"trace check: {f.format()}" for f in findings]
    if validation is not None:
        try:
            json.loads(validation.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReleaseError("--validation", f"{validation} ({exc})",
                               "a results.json of corridor validate study") from exc
    if model is None and (root / REFERENCE_MODEL).is_dir():
        model = root / REFERENCE_MODEL
    if model is not None:
        load_model_package(model)  # verified here, so a bad package is refused before anything
    manifest = content_manifest(root, results, validation)
    page = approvals(signatures, allowed_signers,
                     hashlib.sha256(manifest.encode("utf-8")).hexdigest())
    reasons += _signature_reasons(page)
    commit = git(root, "rev-parse", "--verify", "HEAD")
    if not commit:
        reasons.append("not a git checkout with a commit: a release is built from a commit")
        commit = None
    else:
        dirty = git(root, "status", "--porcelain")
        if dirty is None or dirty:
            changed = dirty.splitlines() if dirty else []
            reasons.append(f"working tree not clean ({len(changed)} path(s) changed or "
                           "untracked, e.g. " + ", ".join(line[3:] for line in changed[:3])
                           + "): a release is built from a commit; commit or ignore them")
    if previous is None and commit is not None:
        previous = previous_release(root)
    if previous is not None and not git(root, "rev-parse", "--verify", "--quiet",
                                         f"{previous}^{{commit}}"):
        raise ReleaseError("--previous", repr(previous), "a git revision of this repository")
    return Release(
        root=root, version=version, draft=draft, reasons=reasons, commit=commit,
        commit_date=git(root, "log", "-1", "--format=%cI") if commit else None,
        index=index, findings=findings, results=results, validation=validation, model=model,
        signatures=signatures, manifest=manifest, approvals=page, previous=previous)


def _json(data: object) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _change_impact(release: Release) -> str:
    head = (f"Change impact of {release.version} (commit {release.commit or 'none'}) "
            f"since the previous release")
    if release.previous is None:
        return f"{head}\nfirst release: no previous release\n"
    before = build_index(load_records(GitRevision(release.root, release.previous), release.root))
    impact = diff(before, release.index)
    commit = git(release.root, "rev-parse", f"{release.previous}^{{commit}}")
    lines = [f"{head} {release.previous} (commit {commit})",
             f"{len(impact.changes)} change(s), {len(impact.suspect_scenarios)} suspect "
             f"scenario(s), {len(impact.affected_hazards)} affected hazard(s)",
             *impact.lines()]
    return "\n".join(lines) + "\n"


def release_files(release: Release) -> tuple[dict[str, bytes], list[str]]:
    """Every file of the release but the manifest and the sums, as ``{relative path: bytes}``,
    and the notes on what is missing (no PDF, no model card, no SBOM in a draft).

    Raises
    ------
    QmsError, OSError, ImportError
        A document that cannot be made from these inputs.
    """
    root, files = release.root, {}
    notes = [] if release.validation is not None else [
        "no validation results given (--validation)"]
    card = None
    if release.model is not None:
        card = build_model_card(load_model_package(release.model), release.index, root,
                                validation=release.validation)
        for name, text in model_card_files(card).items():
            files[f"model-card/{name}"] = text.encode("utf-8")
    else:
        notes.append("no model card: no model package (--model) and no reference model")
    validation = (json.loads(release.validation.read_text(encoding="utf-8"))
                  if release.validation is not None else None)
    context = build_dhf_context(root, release.index, release.findings, draft=release.draft,
                                results=release.results, validation=validation,
                                validation_path=release.validation,
                                model_card=card.to_json() if card else None,
                                signatures=release.approvals)
    html = render_dhf(context)
    files[f"dhf/{CONTENT_NAME}"] = release.manifest.encode("utf-8")
    files[f"dhf/{DHF_NAME}"] = html.encode("utf-8")
    try:
        files[f"dhf/{DHF_NAME.replace('.html', '.pdf')}"] = dhf_pdf(html, root)
    except (ImportError, OSError) as exc:
        notes.append(f"no PDF: WeasyPrint is not usable here ({type(exc).__name__})")
    matrix = build_matrix(release.index, release.findings,
                          tool=f"corridor {installed_version('corridor')}",
                          results=release.results)
    for fmt in Format:
        # Links relative to the repository root: the same wherever the release is written.
        files[f"traceability/traceability.{fmt.value}"] = render(
            matrix, fmt, out_dir=root, root=root).encode("utf-8")
    try:
        files["sbom.cdx.json"] = sbom_text(root, release.index.records,
                                           release.commit).encode("utf-8")
    except (QmsError, ImportError) as exc:
        if not release.draft:
            raise
        notes.append(f"no SBOM: {exc}")
    files["change-impact.txt"] = _change_impact(release).encode("utf-8")
    if release.results is not None:
        files[f"verification/{release.results.name}"] = release.results.read_bytes()
    if release.validation is not None:
        files[f"validation/{release.validation.name}"] = release.validation.read_bytes()
    if release.signatures is not None:
        for path in sorted(release.signatures.glob("*.json")):
            files[f"approvals/{path.name}"] = path.read_bytes()
    return files, notes


def _manifest(release: Release, files: dict[str, bytes], notes: list[str]) -> bytes:
    return _json({
        "format": FORMAT,
        "product": tomllib.loads((release.root / LAYOUT.pyproject).read_text(
            encoding="utf-8"))["project"].get("name"),
        "version": release.version,
        "commit": release.commit,
        "commit_date": release.commit_date,
        "status": "draft" if release.draft else "released",
        "reasons": release.reasons,
        "notes": notes,
        "previous_release": release.previous,
        "tool": f"corridor {installed_version('corridor')}",
        "files": [{"path": path, "sha256": hashlib.sha256(data).hexdigest(),
                   "size": len(data)} for path, data in sorted(files.items())],
    })


def write_release(release: Release, out: Path) -> list[str]:
    """Write the release into the new folder ``out``, atomically; return the paths written,
    relative to ``out`` and sorted.

    The files go into a hidden sibling folder first (:func:`corridor.staging.staged_folder`),
    renamed to ``out`` only when every file is written; on any failure it is removed and
    ``out`` is left as it was.

    Raises
    ------
    corridor.staging.OutputFolderError
        ``out`` exists and is not an empty folder (a release folder is never overwritten).
    ReleaseError
        The release is not ready and not a draft.
    """
    check_output_folder(out)
    if not (release.ready or release.draft):
        raise ReleaseError("release", "not ready", "a ready release, or --draft")
    files, notes = release_files(release)
    files[MANIFEST_NAME] = _manifest(release, files, notes)
    files[SUMS_NAME] = "".join(f"{hashlib.sha256(data).hexdigest()}  {path}\n"
                               for path, data in sorted(files.items())).encode("utf-8")
    with staged_folder(out) as staging:
        for path, data in files.items():
            write_bytes_atomic(staging / path, data)
    return sorted(files)
