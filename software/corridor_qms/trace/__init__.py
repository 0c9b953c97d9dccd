"""Machine-checked traceability: rules, results, matrix, reviews and change impact."""

from corridor_qms.trace.diff import Impact, diff
from corridor_qms.trace.index import TraceIndex, Verification, build_index
from corridor_qms.trace.matrix import Format, build_matrix, write_matrix
from corridor_qms.trace.results import Outcome, load_results
from corridor_qms.trace.review import review
from corridor_qms.trace.rules import CATALOGUE, check
from corridor_qms.trace.stamps import fingerprint, stamp

__all__ = [
    "CATALOGUE",
    "Format",
    "Impact",
    "Outcome",
    "TraceIndex",
    "Verification",
    "build_index",
    "build_matrix",
    "check",
    "diff",
    "fingerprint",
    "load_results",
    "review",
    "stamp",
    "write_matrix",
]
