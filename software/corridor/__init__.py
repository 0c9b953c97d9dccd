"""Corridor: AI-assisted surgical planning software (the IEC 62304 software system).

The device packages live under this namespace. Quality tooling (traceability,
validation statistics, documents) lives in :mod:`corridor_qms`, which may read this
package's metadata but is never imported by it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("corridor")
except PackageNotFoundError as exc:  # running from a source tree that was never installed
    raise ImportError(
        "corridor is not installed: run `python3 -m pip install -e .` in the repository root"
    ) from exc

__all__ = ["__version__"]
