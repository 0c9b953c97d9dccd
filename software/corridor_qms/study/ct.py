"""The CT-only readings' images: each case's CT series, checked and rendered at creation.

A modality that shows no plan ("CT only: the reader plans the trajectory") shows the case's
CT alone.  ``corridor study create`` ingests each case's ``ct`` series with Corridor's own
ingest (:func:`corridor.ingest.api.ingest`, as ``corridor plan`` does: the series is
validated and placed in the patient), checks that it is the series every case folder of the
case was planned on (the SHA-256 ``case.json`` records of the planned series' files,
``inputs.dicom_sha256``, as :func:`corridor.case.job.dicom_digest` computes it), and renders
its axial, coronal and sagittal slices as the case report's (:func:`corridor.case.report.
ct_slices`: the same field, pixel step, orientation and window) into
``STUDY_DIR/cases/<case ID>/ct/{axial,coronal,sagittal}.png``.

The slices pass through the volume's centre, the point the case report uses when there is no
plan: a point of the CT alone.  The plan's entry, target or its landmarks (the femoral heads'
midpoint is found while planning) would tell a CT-only reader where the plan went, an
unblinding of the other modality (RC-100).  The PNG files hold grey pixels only: no text
burned in, no text chunk, nothing of the DICOM header.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from corridor.case.job import CASE_RECORD, dicom_digest
from corridor.case.report import PLANE_EDGES, ct_slices
from corridor.errors import InputError
from corridor.ingest.api import ingest
from corridor_qms.errors import QmsError
from corridor_qms.study.definition import StudyDefinition

__all__ = ["CASES_FOLDER", "CT_EDGES", "CT_FOLDER", "CT_VIEWS", "CaseSeriesError",
           "render_case_cts"]

CASES_FOLDER = "cases"
"""The study folder's sub-folder of per-case files."""
CT_FOLDER = "ct"
"""Each case's sub-folder of CT-only images."""
CT_VIEWS = ("axial", "coronal", "sagittal")
"""The CT-only images, in the order the reading page shows them."""
CT_EDGES = {view: PLANE_EDGES[view] for view in CT_VIEWS}
"""The patient direction at each edge (left, right, top, bottom) of each CT-only image, as the
case report labels its slices."""


class CaseSeriesError(QmsError, ValueError):
    """A case's CT that cannot be read, or is not the series its case folders were planned on.

    Attributes
    ----------
    path, found, expected
        The CT folder or case record at fault, what was found and what was expected.
    """

    def __init__(self, path: Path, found: str, expected: str) -> None:
        self.path, self.found, self.expected = path, found, expected
        super().__init__(f"{path}: found {found}, expected {expected}")

    def __str__(self) -> str:
        return str(self.args[0])


def _planned_digest(folder: Path) -> str:
    """The ``inputs.dicom_sha256`` the case folder's ``case.json`` records."""
    record = folder / CASE_RECORD
    try:
        document = json.loads(record.read_text(encoding="utf-8"))
        digest = document["inputs"]["dicom_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CaseSeriesError(record, f"no readable inputs.dicom_sha256 ({type(exc).__name__})",
                              "the case record of corridor plan, naming the planned series"
                              ) from exc
    if not isinstance(digest, str):
        raise CaseSeriesError(record, f"inputs.dicom_sha256 {digest!r}", "a SHA-256 (hex)")
    return digest


def render_case_cts(definition: StudyDefinition, source: Path) -> dict[str, dict[str, bytes]]:
    """The CT-only images of every case that names a CT (``{case ID: {view: PNG bytes}}``).

    Parameters
    ----------
    definition
        The study definition.
    source
        The definition's folder (``ct`` and case folders are relative to it).

    Raises
    ------
    CaseSeriesError
        A CT that ingest refuses (its message), or one whose files are not the series a case
        folder of the case was planned on (naming the CT folder and its SHA-256, the case
        record and the SHA-256 it records).
    """
    rendered: dict[Path, tuple[str, Mapping[str, bytes]]] = {}
    images: dict[str, dict[str, bytes]] = {}
    for case in definition.cases:
        if case.ct is None:
            continue
        path = (source / case.ct).resolve()
        if path not in rendered:
            try:
                volume = ingest(path).volume
            except InputError as exc:
                raise CaseSeriesError(path, f"a series that ingest refuses ({exc})",
                                      f"case {case.id}'s CT series (DICOM)") from exc
            rendered[path] = (dicom_digest(volume), ct_slices(volume))
        digest, views = rendered[path]
        for folder in case.all_folders:
            planned = _planned_digest(source / folder)
            if planned != digest:
                raise CaseSeriesError(
                    source / case.ct, f"series files of SHA-256 {digest}",
                    f"case {case.id}'s planned series, SHA-256 {planned} as "
                    f"{source / folder / CASE_RECORD} records")
        images[case.id] = dict(views)
    return images
