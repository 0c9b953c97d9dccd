"""The project's records as one set, read from a working tree or a git revision."""

from __future__ import annotations

import gc
import json
import re
import subprocess
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import yaml

from corridor_qms.errors import GitError, ProjectNotFoundError
from corridor_qms.findings import Finding
from corridor_qms.records.change_plan import ChangeControlPlan
from corridor_qms.records.io import Located, load_record, load_yaml, validate_record
from corridor_qms.records.model import (
    Hazard,
    ProblemReport,
    Requirement,
    RiskPlan,
    SoftwareItem,
    SoupItem,
    UserNeed,
)
from corridor_qms.records.scenario import Scenario, load_feature

__all__ = [
    "LAYOUT",
    "GitRevision",
    "Layout",
    "RecordSet",
    "Source",
    "WorkingTree",
    "find_root",
    "load_records",
    "normalize_distribution",
    "require_root",
]


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each kind of record lives, relative to the project root."""

    needs: PurePosixPath = PurePosixPath("requirements_spec/needs")
    requirements: PurePosixPath = PurePosixPath("requirements_spec/srs")
    software_items: PurePosixPath = PurePosixPath("requirements_spec/software_items.yaml")
    soup: PurePosixPath = PurePosixPath("requirements_spec/soup")
    risk_plan: PurePosixPath = PurePosixPath("risk_management/risk_plan.yaml")
    hazards: PurePosixPath = PurePosixPath("risk_management/hazards")
    problems: PurePosixPath = PurePosixPath("risk_management/problems")
    features: PurePosixPath = PurePosixPath("verification/features")
    link_reviews: PurePosixPath = PurePosixPath("verification/link_reviews.yaml")
    pyproject: PurePosixPath = PurePosixPath("pyproject.toml")
    lock: PurePosixPath = PurePosixPath("requirements.lock")
    change_plans: PurePosixPath = PurePosixPath("requirements_spec/change_control_plans")
    models: PurePosixPath = PurePosixPath("software/corridor/inference/models")
    """The device's model packages (each a folder with a ``manifest.json``)."""


LAYOUT = Layout()
"""The one layout Corridor uses."""


class Source(Protocol):
    """Where record files are read from: a working tree or a git revision."""

    def list(self, folder: PurePosixPath, suffix: str) -> list[PurePosixPath]:
        """Files below ``folder`` ending in ``suffix``, sorted, relative to the root."""
        ...

    def read(self, rel: PurePosixPath) -> str | None:
        """Text of one file, or ``None`` if it does not exist."""
        ...


@dataclass(frozen=True, slots=True)
class WorkingTree:
    """Record files as they are on disk below ``root``."""

    root: Path

    def list(self, folder: PurePosixPath, suffix: str) -> list[PurePosixPath]:
        base = self.root / folder
        if not base.is_dir():
            return []
        return sorted(
            PurePosixPath(p.relative_to(self.root).as_posix()) for p in base.rglob(f"*{suffix}")
        )

    def read(self, rel: PurePosixPath) -> str | None:
        path = self.root / rel
        return path.read_text(encoding="utf-8") if path.is_file() else None


class GitRevision:
    """Record files as they were at a git revision of the repository at ``root``."""

    def __init__(self, root: Path, revision: str) -> None:
        self.root = root
        self.revision = revision
        listing = self._git("ls-tree", "-r", "--name-only", revision)
        self._files = sorted(PurePosixPath(line) for line in listing.splitlines() if line)

    def _git(self, *args: str) -> str:
        command = ["git", "-C", str(self.root), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise GitError(command, done.stderr)
        return done.stdout

    def list(self, folder: PurePosixPath, suffix: str) -> list[PurePosixPath]:
        return [p for p in self._files if folder in p.parents and p.name.endswith(suffix)]

    def read(self, rel: PurePosixPath) -> str | None:
        if rel not in self._files:
            return None
        return self._git("show", f"{self.revision}:{rel}")


@dataclass(slots=True)
class RecordSet:
    """Every record of a project, each with its location, plus loading findings.

    Records that failed validation are absent; their findings say why.
    """

    root: Path
    needs: list[Located[UserNeed]] = field(default_factory=list)
    software_items: list[Located[SoftwareItem]] = field(default_factory=list)
    requirements: list[Located[Requirement]] = field(default_factory=list)
    hazards: list[Located[Hazard]] = field(default_factory=list)
    soup: list[Located[SoupItem]] = field(default_factory=list)
    problems: list[Located[ProblemReport]] = field(default_factory=list)
    risk_plan: Located[RiskPlan] | None = None
    scenarios: list[Scenario] = field(default_factory=list)
    link_reviews: dict[tuple[str, str], str] = field(default_factory=dict)
    link_review_lines: dict[tuple[str, str], int] = field(default_factory=dict)
    dependencies: dict[str, str] = field(default_factory=dict)
    lock_text: str | None = None
    """Text of ``requirements.lock`` (the locked versions), or ``None`` when there is none."""
    evidence_present: dict[str, bool] = field(default_factory=dict)
    change_plans: list[Located[ChangeControlPlan]] = field(default_factory=list)
    """The predetermined change control plans, one per model package."""
    model_packages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Each model package of the device (manifest ``name``) with its output label names."""
    findings: list[Finding] = field(default_factory=list)


def normalize_distribution(name: str) -> str:
    """PEP 503 normalised distribution name (``Jinja2`` → ``jinja2``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


_REQUIREMENT_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*)")


def _dependencies(text: str | None) -> dict[str, str]:
    """Runtime dependencies: ``[project] dependencies`` plus the optional-dependency groups
    named in ``[tool.corridor] runtime-extras`` (e.g. decoders the device loads when present).
    """
    if text is None:
        return {}
    document = tomllib.loads(text)
    project = document.get("project", {})
    extras = document.get("tool", {}).get("corridor", {}).get("runtime-extras", [])
    specs = list(project.get("dependencies", []))
    for group in extras:
        specs += project.get("optional-dependencies", {}).get(group, [])
    result: dict[str, str] = {}
    for spec in specs:
        match = _REQUIREMENT_LINE.match(spec)
        if match:
            result[normalize_distribution(match.group(1))] = match.group(3).strip()
    return result


def _load_many(
    source: Source,
    folder: PurePosixPath,
    model: type[UserNeed] | type[Requirement] | type[Hazard] | type[SoupItem]
    | type[ProblemReport],
    out: list[Located[UserNeed]]
    | list[Located[Requirement]]
    | list[Located[Hazard]]
    | list[Located[SoupItem]]
    | list[Located[ProblemReport]],
    findings: list[Finding],
) -> None:
    for rel in source.list(folder, ".yaml"):
        located, problems = load_record(Path(rel), rel, model, source.read(rel))
        findings.extend(problems)
        if located is not None:
            out.append(located)  # type: ignore[arg-type]  # out's element type matches model


def _read_yaml(
    source: Source, rel: PurePosixPath, records: RecordSet, *, required: bool
) -> tuple[Any, dict[str, int]] | None:
    """Parse a YAML file holding several entries; record a finding if that fails."""
    text = source.read(rel)
    if text is None:
        if required:
            records.findings.append(
                Finding(rel, None, "RECORD-MISSING", rel.name, "the file is missing")
            )
        return None
    try:
        return load_yaml(Path(rel), text)
    except yaml.YAMLError as exc:
        records.findings.append(
            Finding(rel, None, "RECORD-SYNTAX", rel.name, f"not valid YAML: {exc}")
        )
        return None


def _load_software_items(source: Source, rel: PurePosixPath, records: RecordSet) -> None:
    parsed = _read_yaml(source, rel, records, required=True)
    if parsed is None:
        return
    data, lines = parsed
    entries = data.get("software_items") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        records.findings.append(Finding(
            rel, 1, "RECORD-INVALID", rel.name, "expected a mapping with a list 'software_items'"
        ))
        return
    for index, entry in enumerate(entries):
        prefix = f"software_items.{index}"
        sub = {k[len(prefix) + 1 :]: v for k, v in lines.items() if k.startswith(prefix + ".")}
        sub[""] = lines.get(prefix, 1)
        located, problems = validate_record(entry, sub, rel, SoftwareItem)
        records.findings.extend(problems)
        if located is not None:
            records.software_items.append(located)


def _load_link_reviews(source: Source, rel: PurePosixPath, records: RecordSet) -> None:
    parsed = _read_yaml(source, rel, records, required=False)
    if parsed is None:
        return
    data, lines = parsed
    links = (data or {}).get("links", {}) if isinstance(data, dict) else None
    if not isinstance(links, dict):
        records.findings.append(Finding(
            rel, 1, "RECORD-INVALID", rel.name,
            "expected a mapping 'links' of scenario → {ID: stamp}",
        ))
        return
    for scenario_key, targets in links.items():
        if not isinstance(targets, dict):
            records.findings.append(Finding(
                rel, lines.get(f"links.{scenario_key}"), "RECORD-INVALID", str(scenario_key),
                "expected a mapping of ID → stamp",
            ))
            continue
        for target, stamp in targets.items():
            key = (str(scenario_key), str(target))
            records.link_reviews[key] = str(stamp)
            records.link_review_lines[key] = lines.get(f"links.{scenario_key}.{target}", 1)


@contextmanager
def _bulk_allocation() -> Iterator[None]:
    """Pause the cyclic garbage collector while many small records are built.

    Loading allocates tens of thousands of containers that all stay alive, so
    the collector's generational passes find nothing to free; on the 10,000
    scenario benchmark they cost about a tenth of the load time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_records(source: Source, root: Path, layout: Layout = LAYOUT) -> RecordSet:
    """Read every record of a project.

    Parameters
    ----------
    source
        Where files are read from (:class:`WorkingTree` or :class:`GitRevision`).
    root
        The project root, kept on the result for rendering links.
    layout
        Where each kind of record lives.

    Returns
    -------
    RecordSet
        The valid records and the findings for the invalid ones.
    """
    with _bulk_allocation():
        return _load_records(source, root, layout)


def _load_records(source: Source, root: Path, layout: Layout) -> RecordSet:
    records = RecordSet(root=root)
    findings = records.findings
    _load_many(source, layout.needs, UserNeed, records.needs, findings)
    _load_many(source, layout.requirements, Requirement, records.requirements, findings)
    _load_many(source, layout.hazards, Hazard, records.hazards, findings)
    _load_many(source, layout.soup, SoupItem, records.soup, findings)
    _load_many(source, layout.problems, ProblemReport, records.problems, findings)
    _load_software_items(source, layout.software_items, records)
    plan_text = source.read(layout.risk_plan)
    if plan_text is None:
        findings.append(
            Finding(layout.risk_plan, None, "RECORD-MISSING", "risk-plan",
                    "the risk management plan's scales and matrix are missing")
        )
    else:
        records.risk_plan, problems = load_record(
            Path(layout.risk_plan), layout.risk_plan, RiskPlan, plan_text
        )
        findings.extend(problems)
    for rel in source.list(layout.features, ".feature"):
        scenarios, problems = load_feature(Path(rel), rel, source.read(rel))
        records.scenarios.extend(scenarios)
        findings.extend(problems)
    _load_link_reviews(source, layout.link_reviews, records)
    _load_change_control(source, layout, records)
    records.dependencies = _dependencies(source.read(layout.pyproject))
    records.lock_text = source.read(layout.lock)
    for located in records.requirements:
        for evidence in located.record.evidence:
            if evidence not in records.evidence_present:
                present = source.read(PurePosixPath(evidence)) is not None
                records.evidence_present[evidence] = present
    return records


def _load_change_control(source: Source, layout: Layout, records: RecordSet) -> None:
    """The change control plans, and the name and labels of each model package's manifest
    (only what the plans are checked against; the package itself is verified on load)."""
    for rel in source.list(layout.change_plans, ".yaml"):
        located, problems = load_record(Path(rel), rel, ChangeControlPlan, source.read(rel))
        records.findings.extend(problems)
        if located is not None:
            records.change_plans.append(located)
    for rel in source.list(layout.models, "manifest.json"):
        try:
            manifest = json.loads(source.read(rel) or "")
            name = manifest["name"]
            labels = tuple(str(label["name"]) for label in manifest.get("labels", []))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            records.findings.append(Finding(rel, None, "RECORD-INVALID", rel.parent.name,
                                            f"model manifest unreadable ({exc!r}); expected "
                                            "JSON with a 'name' and 'labels' of {name}"))
            continue
        records.model_packages[str(name)] = labels


def _is_root(folder: Path) -> bool:
    return (folder / "requirements_spec").is_dir() and (folder / "risk_management").is_dir()


def require_root(folder: Path) -> Path:
    """``folder`` resolved, if it is a Corridor project root.

    Raises
    ------
    ProjectNotFoundError
        If ``folder`` lacks ``requirements_spec/`` or ``risk_management/``.
    """
    folder = folder.resolve()
    if not _is_root(folder):
        raise ProjectNotFoundError(folder, searched_parents=False)
    return folder


def find_root(start: Path) -> Path:
    """The nearest ancestor of ``start`` holding ``requirements_spec/`` and ``risk_management/``.

    Raises
    ------
    ProjectNotFoundError
        If no ancestor is a Corridor project root.
    """
    start = start.resolve()
    for candidate in (start, *start.parents):
        if _is_root(candidate):
            return candidate
    raise ProjectNotFoundError(start)


def iter_ids(records: RecordSet) -> Iterable[tuple[str, PurePosixPath, int]]:
    """Every defined identifier with its file and line."""
    for group in (records.needs, records.requirements, records.hazards, records.soup,
                  records.problems):
        for located in group:
            yield located.record.id, located.path, located.line("id")
    for hazard in records.hazards:
        for index, control in enumerate(hazard.record.risk_controls):
            yield control.id, hazard.path, hazard.line(f"risk_controls.{index}.id")
