"""Multi-reader multi-case validation statistics (quality tooling, not device software)."""

from corridor_qms.validation.fom import Covariance, FigureOfMerit, FomEstimate, estimate
from corridor_qms.validation.orh import DbmResult, OrResult, dbm_analysis, or_analysis
from corridor_qms.validation.study import (
    AnalysisError,
    Design,
    Readings,
    StudyDataError,
    StudyDefinition,
    load_definition,
    load_readings,
    readings_from_arrays,
)

__all__ = [
    "AnalysisError",
    "Covariance",
    "DbmResult",
    "Design",
    "FigureOfMerit",
    "FomEstimate",
    "OrResult",
    "Readings",
    "StudyDataError",
    "StudyDefinition",
    "dbm_analysis",
    "estimate",
    "load_definition",
    "load_readings",
    "or_analysis",
    "readings_from_arrays",
]
