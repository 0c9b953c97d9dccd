"""The ingest stage in one call: find series, pick one, load it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corridor.ingest.enum import WarningCode
from corridor.ingest.io import find_files, read_headers
from corridor.ingest.load import load_volume
from corridor.ingest.model import IngestWarning, SeriesSummary, SkippedFile, Volume
from corridor.ingest.ops import (
    group_series,
    select_series,
    sort_and_validate,
    summarize,
    unreadable_check,
)

__all__ = ["IngestResult", "ingest", "scan"]


@dataclass(frozen=True, slots=True)
class IngestResult:
    """Everything found under the input path, and the volume loaded from it."""

    series: tuple[SeriesSummary, ...]
    skipped: tuple[SkippedFile, ...]
    volume: Volume


def scan(path: Path) -> tuple[list[SeriesSummary], list[SkippedFile]]:
    """List the series under ``path`` (a folder, scanned recursively, or a file)."""
    headers, skipped = read_headers(find_files(path))
    return summarize(group_series(headers)), skipped


def ingest(path: Path, series_instance_uid: str | None = None, *,
           regularize: bool = False) -> IngestResult:
    """Load one CT series from ``path`` into a :class:`~corridor.ingest.model.Volume`.

    Parameters
    ----------
    path
        A folder (scanned recursively) or a single file.
    series_instance_uid
        The series to load; by default the only volumetric CT series found (scouts, dose
        reports, single images and other modalities are set aside, with a warning).
    regularize
        Resample a gantry-tilted or unevenly spaced series onto a regular grid instead of
        refusing it (recorded in :attr:`Volume.regularization` and flagged for review).

    Returns
    -------
    IngestResult
        Every series found, every file skipped with its reason, and the volume.

    Raises
    ------
    corridor.ingest.errors.IngestError
        No input, no or several candidate series, a damaged DICOM file that may belong to
        the series (:func:`~corridor.ingest.ops.unreadable_check`), or a series that cannot
        be placed in the patient safely (the message names the files and values).
    """
    headers, skipped = read_headers(find_files(path))
    groups = group_series(headers)
    summaries = summarize(groups)
    chosen = select_series(summaries, series_instance_uid, str(path), skipped)
    unreadable_check(skipped, chosen)
    notes = []
    set_aside = [s for s in summaries if s.set_aside is not None and
                 s.series_instance_uid != chosen]
    if set_aside:
        notes.append(IngestWarning(
            WarningCode.SERIES_SET_ASIDE,
            f"{len(set_aside)} other series set aside: " + "; ".join(
                f"{s.series_instance_uid} ({s.set_aside.words if s.set_aside else ''}, "
                f"{s.images} image(s): {', '.join(s.files[:3])}"
                f"{' …' if len(s.files) > 3 else ''})" for s in set_aside),
        ))
    if skipped:
        notes.append(IngestWarning(
            WarningCode.NON_IMAGE_FILES_SKIPPED,
            f"{len(skipped)} file(s) under the input are not images of any series and were "
            "skipped: " + "; ".join(f"{s.path} ({s.reason.value})" for s in skipped[:10]),
        ))
    volume = load_volume(sort_and_validate(groups[chosen], regularize=regularize), notes)
    return IngestResult(tuple(summaries), tuple(skipped), volume)
