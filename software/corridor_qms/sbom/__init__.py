"""The software bill of materials: the device's runtime closure, as CycloneDX."""

from corridor_qms.sbom.closure import (
    Closure,
    Component,
    Distribution,
    Pin,
    installed_environment,
    parse_lock,
    runtime_closure,
)

__all__ = [
    "Closure",
    "Component",
    "Distribution",
    "Pin",
    "installed_environment",
    "parse_lock",
    "runtime_closure",
]
