"""DICOM CT ingest: find series, pick one, load it with exact patient geometry."""

from corridor.ingest.api import IngestResult, ingest, scan
from corridor.ingest.enum import RegularizationReason, SetAsideReason, SkipReason, WarningCode
from corridor.ingest.errors import (
    AmbiguousSeriesError,
    IngestError,
    NoSeriesError,
    UnreadableInputError,
    UnsafeSeriesError,
)
from corridor.ingest.model import (
    IngestWarning,
    Regularization,
    SeriesDisplay,
    SeriesSummary,
    SkippedFile,
    SourceFile,
    Volume,
)

__all__ = [
    "AmbiguousSeriesError",
    "IngestError",
    "IngestResult",
    "IngestWarning",
    "NoSeriesError",
    "Regularization",
    "RegularizationReason",
    "SeriesDisplay",
    "SeriesSummary",
    "SetAsideReason",
    "SkipReason",
    "SkippedFile",
    "SourceFile",
    "UnreadableInputError",
    "UnsafeSeriesError",
    "Volume",
    "WarningCode",
    "ingest",
    "scan",
]
