"""Corridor: AI-assisted surgical planning software (the IEC 62304 software system).

The device packages live under this namespace. Quality tooling (traceability,
validation statistics, documents) lives in :mod:`corridor_qms`, which may read this
package's metadata but is never imported by it.  The version comes from the identity
stamped at build time (:mod:`corridor.provenance`).
"""

try:
    from corridor import _stamp
except ImportError as exc:  # a source tree that was never built or installed
    raise ImportError(
        "corridor is not installed (no build stamp corridor/_stamp.py): run "
        "`python3 -m pip install -e .` in the repository root"
    ) from exc

__version__: str = _stamp.VERSION

__all__ = ["__version__"]
