"""Corridor's verification suite, a package so that step modules import helpers by name.

pytest imports every module below here under its package path (``verification.ingest.
test_faults``), the repository root being the first folder up without ``__init__.py``, so
helpers are imported the same way (``from verification.command_run import run_corridor``)
and no module edits the import path.  ``qms/`` is the one folder that is no package (its
tests import ``strategies`` from beside them).
"""
