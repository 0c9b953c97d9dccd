"""Step definitions of ``verification/features/docs/sbom.feature``.

Verifies ``corridor docs sbom``: a CycloneDX 1.6 SBOM of the runtime closure, valid, complete,
reproducible, and refused when a component has no SOUP provenance.

Oracles, none of them the command's own output: the CycloneDX library's JSON schema
validator (the schema the specification publishes); the runtime closure walked here, apart
from the code under test, from pyproject.toml's runtime dependencies through
``importlib.metadata.distribution(name).requires`` with ``packaging``'s own marker
evaluation and name canonicalisation, each version read from requirements.lock by a regular
expression; the SOUP records read as YAML; and the serial number recomputed from the bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tomllib
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pytest_bdd import given, parsers, scenarios, then, when

from corridor_qms.sbom.document import SERIAL_NAMESPACE
from verification.docs.helpers import ROOT, Case, run_command
from verification.trace.helpers import FIXTURE

scenarios("docs/sbom.feature")

_LOCK_HEADER = "# Locked versions, frozen from the test environment on 2026-11-25.\n"


def _sbom(case: Case, index: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(case.outs[index].read_text(encoding="utf-8"))
    return data


def _closure(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """The runtime closure (canonical name → canonical names it requires) and the declared
    names, walked from the installed distributions' metadata."""
    document = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    project = document["project"]
    specs = list(project.get("dependencies", []))
    for group in document.get("tool", {}).get("corridor", {}).get("runtime-extras", []):
        specs += project.get("optional-dependencies", {}).get(group, [])
    declared = [canonicalize_name(Requirement(s).name) for s in specs]
    extras: dict[str, set[str]] = {}
    edges: dict[str, set[str]] = {}
    todo = [Requirement(s) for s in specs]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in extras and set(requirement.extras) <= extras[name]:
            continue
        extras.setdefault(name, set()).update(requirement.extras)
        edges.setdefault(name, set())
        for line in metadata.distribution(requirement.name).requires or []:
            needed = Requirement(line)
            if needed.marker is None or any(needed.marker.evaluate({"extra": e})
                                            for e in ("", *extras[name])):
                edges[name].add(canonicalize_name(needed.name))
                todo.append(needed)
    return edges, declared


def _reaches(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = list(edges[start])
    while stack:
        name = stack.pop()
        if name not in seen and name != start:
            seen.add(name)
            stack.extend(edges[name])
    return seen


def _locked(root: Path) -> dict[str, str]:
    text = (root / "requirements.lock").read_text(encoding="utf-8")
    return {canonicalize_name(m[0]): m[1]
            for m in re.findall(r"^([A-Za-z0-9._-]+)==(\S+)$", text, flags=re.MULTILINE)}


def _properties(component: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


@given("a locked copy of the minimal project depending on Jinja2")
def minimal_with_jinja(case: Case) -> None:
    """The trace fixture with Jinja2 declared, its SOUP record, and a lock with MarkupSafe."""
    root = case.root / "project"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(
        '"PyYAML>=6.0,<7"', '"PyYAML>=6.0,<7", "Jinja2>=3.1,<4"'), encoding="utf-8")
    soup = root / "requirements_spec" / "soup"
    record = (soup / "SOUP-PyYAML.yaml").read_text(encoding="utf-8")
    (soup / "SOUP-Jinja2.yaml").write_text(
        record.replace("PyYAML", "Jinja2").replace('">=6.0,<7"', '">=3.1,<4"'),
        encoding="utf-8")
    (root / "requirements.lock").write_text(
        _LOCK_HEADER + "Jinja2==3.1.6\nMarkupSafe==3.0.4\nPyYAML==6.0.4\n", encoding="utf-8")
    case.project = root


@given(parsers.parse('"{spec}" is added to its runtime dependencies and locked without a SOUP '
                     "record"))
def add_undeclared(case: Case, spec: str) -> None:
    """rich, with the packages it requires pinned, but no SOUP record."""
    assert case.project is not None
    pyproject = case.project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(
        '"Jinja2>=3.1,<4"', f'"Jinja2>=3.1,<4", "{spec}"'), encoding="utf-8")
    with (case.project / "requirements.lock").open("a", encoding="utf-8") as lock:
        lock.write("rich==15.0.0\nmarkdown-it-py==4.3.0\nmdurl==0.1.2\nPygments==2.21.0\n")


@given("its requirements.lock is deleted")
def delete_lock(case: Case) -> None:
    """No lock: the versions are unknown."""
    assert case.project is not None
    (case.project / "requirements.lock").unlink()


def _write(case: Case, root: Path, name: str) -> None:
    out = case.root / "out" / name
    case.outs.append(out)
    run_command(case, ["docs", "sbom", "--root", str(root), "--out", str(out)])


@when("I write the SBOM of the project")
def write_project_sbom(case: Case) -> None:
    """The repository's own SBOM."""
    case.project = ROOT
    _write(case, ROOT, "sbom.cdx.json")


@when("I write its SBOM")
def write_sbom(case: Case) -> None:
    """The SBOM of the scenario's project."""
    assert case.project is not None
    _write(case, case.project, "sbom.cdx.json")


@when("I write its SBOM twice")
def write_twice(case: Case) -> None:
    """Two runs to two files."""
    assert case.project is not None
    _write(case, case.project, "first.cdx.json")
    assert case.status == 0, case.stderr
    _write(case, case.project, "second.cdx.json")


@then("the command succeeds")
def succeeds(case: Case) -> None:
    """Exit status 0."""
    assert case.status == 0, case.stderr


@then("the SBOM validates against the CycloneDX 1.6 JSON schema")
def validates(case: Case) -> None:
    """The library's strict validator, with the schema of the specification."""
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(
        case.outs[0].read_text(encoding="utf-8"))
    assert error is None, error
    assert _sbom(case)["specVersion"] == "1.6"


@then("its metadata component is the device with the version of pyproject.toml")
def device_component(case: Case) -> None:
    """Name, version and purl of the device."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    device = _sbom(case)["metadata"]["component"]
    assert (device["name"], device["version"], device["type"]) == (
        project["name"], project["version"], "application")
    assert device["purl"] == f"pkg:pypi/{project['name']}@{project['version']}"


@then("its components are exactly the runtime closure walked from the installed "
      "distributions, at the locked versions")
def exact_closure(case: Case) -> None:
    """Same set of (name, version, purl) as the walk here."""
    edges, _ = _closure(ROOT)
    locked = _locked(ROOT)
    expected = {(name, locked[name], f"pkg:pypi/{name}@{locked[name]}") for name in edges}
    found = {(canonicalize_name(c["name"]), c["version"], c["purl"])
             for c in _sbom(case)["components"]}
    assert found == expected, (sorted(found - expected), sorted(expected - found))
    assert len(expected) > 40


@then("each SOUP package is a component carrying its SOUP record's ID, every other one names "
      "SOUP records that reach it")
def provenance(case: Case) -> None:
    """corridor:soup-id from the records; corridor:pulled-in-by = SOUP packages reaching it."""
    edges, _ = _closure(ROOT)
    soup = {}
    for path in sorted((ROOT / "requirements_spec" / "soup").glob("SOUP-*.yaml")):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        soup[canonicalize_name(record["package"])] = record["id"]
    components = {canonicalize_name(c["name"]): c for c in _sbom(case)["components"]}
    assert set(soup) <= set(components)
    for name, component in components.items():
        properties = _properties(component)
        reaching = sorted(soup[s] for s in soup if name in _reaches(edges, s))
        assert properties.get("corridor:pulled-in-by", "") == ", ".join(reaching), name
        if name in soup:
            assert properties["corridor:provenance"] == "soup", name
            assert properties["corridor:soup-id"] == soup[name]
        else:
            assert properties["corridor:provenance"] == "transitive", name
            assert "corridor:soup-id" not in properties
            assert reaching, f"{name} is reached from no SOUP package"


@then("the device depends on exactly its declared runtime dependencies, each component on "
      "exactly what it requires")
def graph(case: Case) -> None:
    """The dependency graph against the walk's edges."""
    edges, declared = _closure(ROOT)
    sbom = _sbom(case)
    purl = {canonicalize_name(c["name"]): c["bom-ref"] for c in sbom["components"]}
    depends = {d["ref"]: set(d.get("dependsOn", [])) for d in sbom["dependencies"]}
    assert depends[sbom["metadata"]["component"]["bom-ref"]] == {purl[n] for n in declared}
    for name, targets in edges.items():
        assert depends[purl[name]] == {purl[t] for t in targets - {name}}, name


@then("the two files are byte-identical")
def identical(case: Case) -> None:
    """Same bytes."""
    assert case.status == 0, case.stderr
    assert case.outs[0].read_bytes() == case.outs[1].read_bytes()


@then(parsers.parse("the SBOM's timestamp is the lock's date {day}"))
def timestamp(case: Case, day: str) -> None:
    """Midnight UTC of the lock's date, not the clock."""
    assert _sbom(case)["metadata"]["timestamp"] == f"{day}T00:00:00+00:00"


@then("the SBOM's serial number is the version-5 UUID of the SHA-256 of the document with the "
      "nil serial number")
def serial(case: Case) -> None:
    """Recomputed from the written bytes."""
    text = case.outs[0].read_text(encoding="utf-8")
    written = _sbom(case)["serialNumber"]
    draft = text.replace(written, f"urn:uuid:{uuid.UUID(int=0)}").removesuffix("\n")
    digest = hashlib.sha256(draft.encode("utf-8")).hexdigest()
    assert written == f"urn:uuid:{uuid.uuid5(SERIAL_NAMESPACE, digest)}"


@then(parsers.parse('the command exits {status:d} naming "{text}"'))
def exits_naming(case: Case, status: int, text: str) -> None:
    """Exit status and the message on standard error."""
    assert case.status == status, (case.stdout, case.stderr)
    assert text in case.stderr, case.stderr
    assert "Traceback" not in case.stderr


@then("no SBOM is written")
def nothing_written(case: Case) -> None:
    """No file, not even a partial one."""
    out = case.outs[0].parent
    assert not case.outs[0].exists()
    assert not out.exists() or list(out.iterdir()) == []
