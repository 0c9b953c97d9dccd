"""The device's runtime closure: its declared dependencies and everything they pull in.

The closure starts from the runtime dependencies of ``pyproject.toml`` (``[project]
dependencies`` and the runtime extras, :attr:`RecordSet.dependencies
<corridor_qms.records.project.RecordSet.dependencies>`), follows the ``Requires-Dist`` of each
installed distribution (markers evaluated for this interpreter and platform, extras followed
when a requirement names them) and takes each component's version from ``requirements.lock``.
Each component is either a declared SOUP (a SOUP record names its package) or a transitive
dependency pulled in by one or more declared packages.  :func:`runtime_closure` is a pure
function of its inputs; :func:`installed_environment` is the one place that reads the
interpreter's installed distributions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement

from corridor_qms.records.project import normalize_distribution

__all__ = [
    "Closure",
    "Component",
    "Distribution",
    "Pin",
    "installed_environment",
    "parse_lock",
    "runtime_closure",
]


@dataclass(frozen=True, slots=True)
class Pin:
    """One exact pin of ``requirements.lock``: the name as written there and its version."""

    name: str
    version: str
    line: int
    """1-based line of the pin in the lock file."""


_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def parse_lock(text: str) -> dict[str, Pin]:
    """Exact pins (``name==version``) of a pip constraints file, by normalised name.

    Comments, blank lines and lines that are not exact pins are ignored.
    """
    pins: dict[str, Pin] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _PIN.match(line)
        if match:
            name = normalize_distribution(match.group(1))
            pins.setdefault(name, Pin(match.group(1), match.group(2), number))
    return pins


@dataclass(frozen=True, slots=True)
class Distribution:
    """What an installed distribution's metadata says about itself.

    Attributes
    ----------
    name
        Its name as the metadata spells it.
    version
        The installed version.
    requires
        Its ``Requires-Dist`` lines, markers included.
    licences
        Its licence as stated: the ``License-Expression`` (PEP 639), else a one-line
        ``License`` field, else the names of its ``License ::`` classifiers; empty when it
        states none.
    """

    name: str
    version: str
    requires: tuple[str, ...] = ()
    licences: tuple[str, ...] = ()


_LICENCE_FIELD_MAX = 80
"""A ``License`` field longer than this (or of several lines) is a licence text, not a name."""


def _first(meta: metadata.PackageMetadata, key: str) -> str | None:
    values = meta.get_all(key) or []
    return str(values[0]) if values else None


def _licences(meta: metadata.PackageMetadata) -> tuple[str, ...]:
    expression = _first(meta, "License-Expression")
    if expression:
        return (expression.strip(),)
    field_value = (_first(meta, "License") or "").strip()
    if field_value and "\n" not in field_value and len(field_value) <= _LICENCE_FIELD_MAX \
            and field_value.upper() != "UNKNOWN":
        return (field_value,)
    classifiers = meta.get_all("Classifier") or []
    names = [c.split("::")[-1].strip() for c in classifiers if c.startswith("License ::")]
    return tuple(sorted({n for n in names if n and n != "OSI Approved"}))


@cache
def installed_environment() -> Mapping[str, Distribution]:
    """The distributions installed in this interpreter, by normalised name (read once)."""
    found: dict[str, Distribution] = {}
    for dist in metadata.distributions():
        meta = dist.metadata
        name = _first(meta, "Name")
        if not name:
            continue
        found.setdefault(normalize_distribution(name), Distribution(
            name=name, version=dist.version, requires=tuple(dist.requires or ()),
            licences=_licences(meta)))
    return found


@dataclass(slots=True)
class Component:
    """One package of the runtime closure.

    Attributes
    ----------
    key
        Normalised distribution name.
    pin
        Its pin in ``requirements.lock``, or ``None`` when the lock has none.
    installed
        Its installed metadata, or ``None`` when it is not installed.
    declared
        Whether ``pyproject.toml`` declares it as a runtime dependency.
    soup_id
        The ID of the SOUP record naming its package, or ``None``.
    requires
        Normalised names of the components it requires here, sorted.
    required_by
        Normalised names of the components requiring it, sorted.
    pulled_in_by
        SOUP IDs of the declared SOUP packages from which it is reached, sorted (empty for a
        component that is itself a declared SOUP and reached from no other).
    """

    key: str
    pin: Pin | None
    installed: Distribution | None
    declared: bool
    soup_id: str | None
    requires: list[str] = field(default_factory=list)
    required_by: list[str] = field(default_factory=list)
    pulled_in_by: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """Its name as the lock (else the metadata) spells it."""
        if self.pin is not None:
            return self.pin.name
        return self.installed.name if self.installed is not None else self.key


@dataclass(frozen=True, slots=True)
class Closure:
    """The runtime closure, components sorted by normalised name."""

    components: dict[str, Component]

    def undeclared_roots(self) -> list[Component]:
        """Declared runtime dependencies that are neither a SOUP record's package nor pulled
        in by one."""
        return [c for c in self.components.values()
                if c.declared and c.soup_id is None and not c.pulled_in_by]

    def reached_from(self, key: str) -> list[str]:
        """Normalised names of every component reached from ``key`` (itself excluded)."""
        seen: set[str] = set()
        stack = list(self.components[key].requires)
        while stack:
            current = stack.pop()
            if current in seen or current == key:
                continue
            seen.add(current)
            stack.extend(self.components[current].requires)
        return sorted(seen)


def _wanted(requirement: Requirement, extras: Iterable[str], platform: dict[str, str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**platform, "extra": extra})
               for extra in ("", *extras))


def runtime_closure(
    dependencies: Mapping[str, str],
    soup: Mapping[str, str],
    lock: Mapping[str, Pin],
    environment: Mapping[str, Distribution],
) -> Closure:
    """Every package the declared runtime dependencies need, with its provenance.

    Parameters
    ----------
    dependencies
        Declared runtime dependencies: normalised name → version specifier.
    soup
        SOUP records: normalised package name → SOUP ID.
    lock
        The exact pins of ``requirements.lock`` (:func:`parse_lock`).
    environment
        Installed distributions by normalised name (:func:`installed_environment`); the
        packages each requires are read from here, so a package not installed has none.

    Returns
    -------
    Closure
        One component per package reached; a requirement whose marker does not hold on this
        interpreter and platform is not followed.
    """
    platform = {key: str(value) for key, value in default_environment().items()}
    extras: dict[str, set[str]] = {name: set() for name in dependencies}
    edges: dict[str, set[str]] = {}
    pending = sorted(dependencies)
    while pending:
        key = pending.pop()
        dist = environment.get(key)
        targets: set[str] = set()
        for line in dist.requires if dist is not None else ():
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if not _wanted(requirement, extras[key], platform):
                continue
            target = normalize_distribution(requirement.name)
            targets.add(target)
            known = extras.get(target)
            if known is None or not set(requirement.extras) <= known:
                extras.setdefault(target, set()).update(requirement.extras)
                pending.append(target)
        edges[key] = targets
    components = {
        key: Component(key=key, pin=lock.get(key), installed=environment.get(key),
                       declared=key in dependencies, soup_id=soup.get(key),
                       requires=sorted(edges.get(key, set()) - {key}))
        for key in sorted(extras)
    }
    closure = Closure(components)
    for key, component in components.items():
        for target in component.requires:
            components[target].required_by.append(key)
    for key, component in components.items():
        if component.declared and component.soup_id is not None:
            for reached in closure.reached_from(key):
                components[reached].pulled_in_by.append(component.soup_id)
    for component in components.values():
        component.required_by.sort()
        component.pulled_in_by = sorted(set(component.pulled_in_by))
    return closure
