"""Planted faults for the batch scenarios: runners that stand in for ``run_one`` in a worker.

They run in the worker processes (spawned, or on Dask workers), so they live in a plain
module that those processes can import, not in a test module.
"""

from __future__ import annotations

import os

from corridor.case.batch import BatchCase, CaseResult, run_one

__all__ = ["die_on_crash"]


def die_on_crash(case: BatchCase) -> CaseResult:
    """End the worker process at once, as a crash in a native library would, for any case
    whose ID starts with ``crash``; run the others normally."""
    if case.case_id.startswith("crash"):
        os._exit(9)
    return run_one(case)
