"""Exceptions of the phantom generator.

Each names the field, the value found and what was expected, and keeps them as
attributes.  They subclass :class:`corridor.errors.CorridorError`, so the
``corridor`` command reports them in one line with exit status 2.
"""

from __future__ import annotations

from corridor.errors import CorridorError

__all__ = ["EncoderUnavailableError", "OutputExistsError", "PhantomError"]


class PhantomError(CorridorError, ValueError):
    """A phantom request or a write request that cannot be honoured.

    Attributes
    ----------
    field
        The offending parameter (``shape``, ``spacing``, ``faults`` …).
    found
        The value found.
    expected
        What was expected, in words (the alternatives, where there are some).
    """

    def __init__(self, field: str, found: object, expected: str) -> None:
        self.field = field
        self.found = found
        self.expected = expected
        super().__init__(f"phantom {field}: found {found!r}, expected {expected}")


class EncoderUnavailableError(PhantomError):
    """The encoder of a transfer syntax is not installed.

    Attributes
    ----------
    package
        The package to install (``pylibjpeg-openjpeg``, ``pyjpegls``, ``python-gdcm``).
    extra
        Corridor's optional extra that installs it (``codecs``, ``gdcm``).
    """

    def __init__(self, transfer_syntax: str, package: str, detail: str,
                 extra: str = "codecs") -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            "transfer_syntax", transfer_syntax,
            f"an installed encoder: install {package} (pip install 'corridor[{extra}]'); "
            f"{detail}",
        )


class OutputExistsError(PhantomError, FileExistsError):
    """The output folder exists and is not empty, and overwriting was not asked for."""

    def __init__(self, path: str) -> None:
        super().__init__("out_dir", path, "a new or empty folder, or overwrite (--overwrite)")
