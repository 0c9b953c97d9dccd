"""Errors of the inference stage: each names the file or field, what was found and expected."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from corridor.errors import FieldError, InputError, SafetyRefusalError

__all__ = ["InferenceError", "InferenceInputError", "ModelPackageError", "ProviderUnavailableError"]


class _CheckFailureError(Exception):
    """A named check failed: ``check``, ``found`` and ``expected`` as attributes."""

    def __init__(self, check: str, message: str, *, found: object = None,
                 expected: str = "") -> None:
        self.check, self.found, self.expected = check, found, expected
        detail = f"; found {found!r}" if found is not None else ""
        detail += f", expected {expected}" if expected else ""
        super().__init__(f"{check}: {message}{detail}")


class InferenceError(_CheckFailureError, SafetyRefusalError):
    """The model's output, or a file made from it, is unsafe to use: nothing is written.

    Attributes
    ----------
    check
        Short name of the check that failed (``output``, ``seg``, ...).
    found, expected
        The value found and what was expected.
    """


class InferenceInputError(_CheckFailureError, InputError):
    """The input is not one the model is intended for (``input-range``: not a CT in HU).

    Attributes
    ----------
    check
        Short name of the check that failed.
    found, expected
        The value found and what was expected.
    """


class ModelPackageError(FieldError):
    """A model package is incomplete, altered or inconsistent with its manifest.

    Attributes
    ----------
    where
        The file concerned (manifest or ONNX file); also as ``path``.
    field
        The manifest field or graph property that failed.
    found, expected
        The value found and what was expected.
    """

    def __init__(self, path: Path, field: str, found: object, expected: str) -> None:
        self.path = path
        super().__init__(field, found, expected, where=path)


class ProviderUnavailableError(InputError, RuntimeError):
    """The requested execution provider did not become active.

    Attributes
    ----------
    requested
        The device asked for (``cuda``).
    active
        The providers ONNX Runtime actually enabled for the session.
    available
        The providers this ONNX Runtime build offers.
    """

    def __init__(self, requested: str, active: Sequence[str], available: Sequence[str],
                 reason: str = "") -> None:
        self.requested, self.active, self.available = requested, list(active), list(available)
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"execution provider: requested {requested!r}, but ONNX Runtime ran "
            f"{', '.join(active) or 'nothing'}{why}; this build offers {', '.join(available)}; "
            "use --device cpu or --device auto to run on what is available"
        )
