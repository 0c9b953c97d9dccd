"""One planning case: CT in, reviewed plan out, every stage wired in one place."""

from corridor.case.job import CaseOutcome, CaseRequest, run_case

__all__ = ["CaseOutcome", "CaseRequest", "run_case"]
