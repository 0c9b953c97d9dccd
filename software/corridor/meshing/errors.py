"""Errors of the meshing stage: each names the field, what was found and what was expected."""

from __future__ import annotations

from corridor.errors import FieldError, SafetyRefusalError

__all__ = ["MeshQualityError", "MeshingError"]


class MeshingError(FieldError):
    """A label map, parameter or file the meshing stage cannot use.

    Attributes
    ----------
    field, found, expected
        What was wrong, the value found and what was expected.
    """


class MeshQualityError(SafetyRefusalError):
    """A surface failed QA and was not written.

    Attributes
    ----------
    name
        The label whose surface failed.
    failures
        Each failed check with the value found and its limit.
    """

    def __init__(self, name: str, failures: list[str]) -> None:
        self.name, self.failures = name, list(failures)
        super().__init__(f"mesh QA: the surface of {name!r} fails: " + "; ".join(failures)
                         + " (not written)")
