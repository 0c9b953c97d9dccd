"""The device's runtime closure as a CycloneDX 1.6 JSON SBOM.

The metadata component is the device (its name and version from ``pyproject.toml``, the
commit when the project is a git work tree); each package of the runtime closure
(:mod:`corridor_qms.sbom.closure`) is a component with its locked version, its purl, the
licence its installed metadata states, and properties saying whether it is a declared SOUP
(``corridor:soup-id``) or a transitive dependency (``corridor:pulled-in-by``, the SOUP IDs
of the declared packages that pull it in); the dependency graph follows ``Requires-Dist``.

The bytes depend on the inputs only: the timestamp is the date the lock names in its header
(never the clock) and the serial number is a UUID derived from the SHA-256 of the document
written without it.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import uuid
from datetime import UTC, datetime
from pathlib import Path

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentType
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from packageurl import PackageURL

from corridor_qms.errors import QmsError
from corridor_qms.sbom.closure import Closure, Component

__all__ = ["SBOM_SCHEMA", "SERIAL_NAMESPACE", "Device", "SbomError", "lock_date", "render_sbom"]

SBOM_SCHEMA = SchemaVersion.V1_6
"""The CycloneDX specification version written."""

SERIAL_NAMESPACE = uuid.UUID("6f1c3d7e-3b0a-5c8e-9a41-0c0771d0e5b7")
"""Namespace of the name-based (SHA-1, version 5) serial numbers; fixed, so that the same
content always gets the same serial number."""

_LOCK_DATE = re.compile(r"^#.*\bon (\d{4}-\d{2}-\d{2})\b", re.MULTILINE)


class SbomError(QmsError, ValueError):
    """An input the SBOM needs is missing or malformed.

    Attributes
    ----------
    path
        The file concerned.
    message
        What was found and what was expected.
    """

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


def lock_date(path: Path, text: str) -> datetime:
    """The date the lock's header says it was frozen on (``... on YYYY-MM-DD``), midnight UTC.

    Raises
    ------
    SbomError
        If no comment line names a date.
    """
    match = _LOCK_DATE.search(text)
    if match is None:
        raise SbomError(path, "no comment says when the lock was frozen (expected a header "
                        "line such as '# ... frozen ... on 2026-11-25')")
    return datetime.strptime(match.group(1), "%Y-%m-%d").replace(tzinfo=UTC)


class Device:
    """The software the SBOM describes: name and version from ``pyproject.toml``, the commit.

    Parameters
    ----------
    pyproject
        Path of the project's ``pyproject.toml``.
    commit
        The commit of the work tree, or ``None`` outside git.

    Raises
    ------
    SbomError
        If ``[project]`` lacks ``name`` or ``version``.
    """

    def __init__(self, pyproject: Path, commit: str | None) -> None:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        name, version = project.get("name"), project.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            raise SbomError(pyproject, f"[project] name {name!r} and version {version!r} "
                            "(expected both as strings)")
        self.name = name
        self.version = version
        self.commit = commit


def _purl(name: str, version: str | None) -> PackageURL:
    return PackageURL(type="pypi", name=re.sub(r"[-_.]+", "-", name).lower(), version=version)


def _component(component: Component) -> CdxComponent:
    version = component.pin.version if component.pin is not None else None
    purl = _purl(component.name, version)
    properties = []
    if component.soup_id is not None:
        properties.append(Property(name="corridor:provenance", value="soup"))
        properties.append(Property(name="corridor:soup-id", value=component.soup_id))
    else:
        properties.append(Property(name="corridor:provenance", value="transitive"))
    if component.pulled_in_by:
        properties.append(Property(name="corridor:pulled-in-by",
                                   value=", ".join(component.pulled_in_by)))
    factory = LicenseFactory()
    licences = component.installed.licences if component.installed is not None else ()
    return CdxComponent(
        name=component.name, version=version, type=ComponentType.LIBRARY, purl=purl,
        bom_ref=purl.to_string(), licenses=[factory.make_from_string(x) for x in licences],
        properties=properties,
    )


def render_sbom(device: Device, closure: Closure, *, lock_sha256: str, frozen: datetime) -> str:
    """The CycloneDX 1.6 JSON text of the SBOM (2-space indented, newline-terminated).

    Parameters
    ----------
    device
        The device described (the metadata component).
    closure
        Its runtime closure; every component should be pinned (the trace check says so).
    lock_sha256
        SHA-256 of ``requirements.lock``, recorded as a metadata property.
    frozen
        The lock's date (:func:`lock_date`), used as the SBOM's timestamp.
    """
    bom = Bom()
    bom.metadata.timestamp = frozen
    root_purl = _purl(device.name, device.version)
    root = CdxComponent(name=device.name, version=device.version,
                        type=ComponentType.APPLICATION, purl=root_purl,
                        bom_ref=root_purl.to_string())
    if device.commit is not None:
        root.properties.add(Property(name="corridor:commit", value=device.commit))
    bom.metadata.component = root
    bom.metadata.properties.add(Property(name="corridor:requirements-lock-sha256",
                                         value=lock_sha256))
    made = {key: _component(c) for key, c in closure.components.items()}
    for cdx in made.values():
        bom.components.add(cdx)
    bom.register_dependency(root, [made[k] for k, c in closure.components.items() if c.declared])
    for key, component in closure.components.items():
        bom.register_dependency(made[key], [made[k] for k in component.requires])
    bom.serial_number = uuid.UUID(int=0)
    draft = JsonV1Dot6(bom).output_as_string(indent=2)
    digest = hashlib.sha256(draft.encode("utf-8")).hexdigest()
    bom.serial_number = uuid.uuid5(SERIAL_NAMESPACE, digest)
    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"
