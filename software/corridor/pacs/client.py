"""The PACS as Corridor sees it (:class:`Pacs`), and its DICOMweb implementation
(:class:`DicomWebPacs`: QIDO-RS to find, WADO-RS to retrieve, STOW-RS to store).

Every failure of a request becomes a :class:`~corridor.pacs.errors.PacsError` naming the PACS
(``host:port``) and the operation, with :attr:`~corridor.pacs.errors.PacsError.retryable` saying
whether trying again later may help: a connection refused or reset, a timeout and HTTP 5xx,
408 and 429 may; refused credentials (401, 403), any other 4xx, refused objects and answers
that are not DICOMweb will not.  The client itself never retries: the caller decides.
Credentials travel only in the ``Authorization`` header of the session; no message or log
line holds them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.errors import InvalidDicomError

from corridor.pacs.config import PacsConfig
from corridor.pacs.errors import PacsError
from corridor.staging import atomic_binary

__all__ = ["PAGE_SIZE", "DicomWebPacs", "InstanceInfo", "Pacs", "SeriesInfo", "StudyInfo",
           "is_valid_uid"]

_log = logging.getLogger(__name__)

PAGE_SIZE = 100
"""Results asked for in one QIDO-RS request (``limit``); more are fetched with ``offset``."""
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+")
_UID_MAX_LENGTH = 64
_RETRYABLE_STATUSES = frozenset({408, 429})
"""HTTP 4xx statuses that say "later" rather than "no": request timeout, too many requests."""
_CREDENTIAL_STATUSES = frozenset({401, 403})
_ANY_TRANSFER_SYNTAX = (("application/dicom", "*"),)
"""WADO-RS media type asking for each instance in the transfer syntax it is stored in."""
_DUPLICATE_SOP_INSTANCE = 0x0111
"""STOW-RS failure reason: the instance is already stored (PS3.7 C.4.2.1.4)."""
_FAILURE_REASONS = {
    0x0110: "processing failure",
    0x0111: "duplicate SOP instance",
    0x0117: "invalid object instance",
    0x0122: "SOP class not supported",
    0x0124: "not authorized",
    0xA700: "out of resources",
    0xA770: "out of resources (storage)",
    0xA900: "data set does not match SOP class",
    0xC000: "cannot understand",
    0xC122: "transfer syntax not supported",
}
"""Failure Reason (0008,1197) codes of PS3.18 and PS3.4, for messages."""

# DICOM JSON tags (PS3.18 F.2) of the attributes read from QIDO-RS and STOW-RS answers.
_STUDY_INSTANCE_UID = "0020000D"
_SERIES_INSTANCE_UID = "0020000E"
_SOP_INSTANCE_UID = "00080018"
_SOP_CLASS_UID = "00080016"
_MODALITY = "00080060"
_MODALITIES_IN_STUDY = "00080061"
_SERIES_DESCRIPTION = "0008103E"
_SERIES_NUMBER = "00200011"
_STUDY_INSTANCES = "00201208"
_SERIES_INSTANCES = "00201209"
_FAILED_SOP_SEQUENCE = "00081198"
_REFERENCED_SOP_SEQUENCE = "00081199"
_REFERENCED_SOP_INSTANCE_UID = "00081155"
_FAILURE_REASON = "00081197"


def is_valid_uid(value: str) -> bool:
    """Whether ``value`` is a DICOM UID (PS3.5 9.1: digits and dots, no leading zero in a
    component, at most 64 characters), so it is also safe as a file name."""
    return len(value) <= _UID_MAX_LENGTH and _UID.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class StudyInfo:
    """A study the PACS holds.

    Attributes
    ----------
    study_uid
        Study Instance UID.
    modalities
        Modalities in Study (0008,0061), sorted.
    instances
        Number of Study Related Instances (0020,1208).
    """

    study_uid: str
    modalities: tuple[str, ...]
    instances: int


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """A series of a study.

    Attributes
    ----------
    series_uid
        Series Instance UID.
    modality
        Modality (0008,0060).
    description
        Series Description (0008,103E), ``""`` when absent.
    number
        Series Number (0020,0011), or ``None`` when absent.
    instances
        Number of Series Related Instances (0020,1209).
    """

    series_uid: str
    modality: str
    description: str
    number: int | None
    instances: int


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    """An instance of a study.

    Attributes
    ----------
    sop_instance_uid, sop_class_uid, series_uid
        SOP Instance UID, SOP Class UID and Series Instance UID.
    modality
        Modality (0008,0060), ``""`` when the PACS does not say.
    """

    sop_instance_uid: str
    sop_class_uid: str
    series_uid: str
    modality: str


class Pacs(Protocol):
    """What Corridor needs of a PACS: find CT studies, retrieve a series, store results."""

    def find_studies(self) -> list[StudyInfo]:
        """Every study the PACS holds."""
        ...

    def series_of(self, study_uid: str) -> list[SeriesInfo]:
        """The series of a study."""
        ...

    def instances_of(self, study_uid: str) -> list[InstanceInfo]:
        """The instances of a study."""
        ...

    def retrieve_series(self, study_uid: str, series_uid: str, folder: Path) -> list[Path]:
        """Write each instance of a series to ``folder`` as ``<SOPInstanceUID>.dcm``."""
        ...

    def store(self, datasets_bytes: Sequence[bytes]) -> None:
        """Store DICOM Part-10 files into their study."""
        ...


def _values(item: dict[str, Any], tag: str) -> list[Any]:
    element = item.get(tag)
    if not isinstance(element, dict):
        return []
    values = element.get("Value", [])
    return values if isinstance(values, list) else []


def _first(item: dict[str, Any], tag: str) -> Any:
    values = _values(item, tag)
    return values[0] if values else None


class DicomWebPacs:
    """A PACS reached over DICOMweb (``dicomweb_client`` on a ``requests`` session).

    Parameters
    ----------
    config
        Where the PACS is and how to authenticate (:func:`~corridor.pacs.load_pacs_config`).
    page_size
        Results asked for in one QIDO-RS request.
    """

    def __init__(self, config: PacsConfig, *, page_size: int = PAGE_SIZE) -> None:
        if page_size < 1:
            raise ValueError(f"page_size: found {page_size}, expected >= 1")
        self.config = config
        self.page_size = page_size
        session = requests.Session()
        if config.username is not None and config.password is not None:
            session.auth = (config.username, config.password.get_secret_value())
        session.verify = str(config.ca_bundle) if config.ca_bundle else config.verify_tls
        self._session = session
        self._client = DICOMwebClient(config.url, session=session, timeout=config.timeout_s)
        self._client.set_http_retry_params(retry=False)

    @property
    def host(self) -> str:
        """The PACS as ``host:port``."""
        return self.config.host

    def __repr__(self) -> str:
        return f"DicomWebPacs({self.host})"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._session.close()

    def __enter__(self) -> DicomWebPacs:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- failures -----------------------------------------------------------------------------

    def _error(self, operation: str, problem: str, *, retryable: bool,
               status: int | None = None) -> PacsError:
        again = "may succeed later" if retryable else "will not succeed as it is"
        return PacsError(f"PACS {self.host}: {operation} failed: {problem} (retrying "
                         f"{again})", host=self.host, operation=operation,
                         retryable=retryable, status=status)

    @contextmanager
    def _translated(self, operation: str) -> Iterator[None]:
        """Turn the failures of ``requests``, ``dicomweb_client`` and ``pydicom`` inside the
        block into :class:`PacsError`."""
        _log.debug("PACS %s: %s", self.host, operation)
        try:
            yield
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else None
            raise self._http_error(operation, status) from error
        except requests.exceptions.SSLError as error:
            raise self._error(operation, "the TLS connection could not be verified "
                              f"({type(error).__name__}); expected a certificate the system "
                              "or ca_bundle trusts", retryable=False) from error
        except requests.Timeout as error:
            raise self._error(operation, f"no answer within {self.config.timeout_s:g} s "
                              f"({type(error).__name__})", retryable=True) from error
        except requests.ConnectionError as error:
            raise self._error(operation, f"cannot connect or the connection broke "
                              f"({type(error).__name__})", retryable=True) from error
        except requests.RequestException as error:
            raise self._error(operation, f"the request failed ({type(error).__name__})",
                              retryable=True) from error
        except (ValueError, KeyError, TypeError, InvalidDicomError) as error:
            raise self._error(operation, f"its answer is not what DICOMweb specifies "
                              f"({type(error).__name__})", retryable=False) from error

    def _http_error(self, operation: str, status: int | None) -> PacsError:
        if status in _CREDENTIAL_STATUSES:
            return self._error(operation, f"PACS refused the credentials (HTTP {status}); "
                               "expected a username and password it accepts for this "
                               "operation", retryable=False, status=status)
        retryable = status is None or status >= 500 or status in _RETRYABLE_STATUSES
        return self._error(operation, f"HTTP {status}", retryable=retryable, status=status)

    def _check_uid(self, operation: str, name: str, value: str) -> None:
        if not is_valid_uid(value):
            raise self._error(operation, f"{name} {value[:80]!r} is not a DICOM UID; expected "
                              "digits and dots, at most 64 characters", retryable=False)

    # -- QIDO-RS ------------------------------------------------------------------------------

    def _search(self, operation: str, level: str, study_uid: str | None,
                fields: Sequence[str]) -> list[dict[str, Any]]:
        """Every result of a QIDO-RS search, page by page (``limit``, ``offset``)."""
        search: Callable[..., list[dict[str, Any]]]
        if level == "studies":
            search = self._client.search_for_studies
        elif level == "series":
            search = self._client.search_for_series
        else:
            search = self._client.search_for_instances
        results: list[dict[str, Any]] = []
        with self._translated(operation):
            while True:
                keywords: dict[str, Any] = {"fields": list(fields), "limit": self.page_size,
                                            "offset": len(results)}
                if study_uid is not None:
                    keywords["study_instance_uid"] = study_uid
                page = search(**keywords)
                if not isinstance(page, list) or not all(isinstance(i, dict) for i in page):
                    raise TypeError("a QIDO-RS answer must be a JSON array of objects")
                results.extend(page)
                if len(page) < self.page_size:
                    return results

    def _uid_of(self, operation: str, item: dict[str, Any], tag: str, name: str) -> str:
        value = _first(item, tag)
        if not isinstance(value, str):
            raise self._error(operation, f"a result without {name}", retryable=False)
        self._check_uid(operation, name, value)
        return value

    def _count(self, operation: str, item: dict[str, Any], tag: str, name: str) -> int:
        value = _first(item, tag)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self._error(operation, f"a result without a number {name} (found "
                              f"{value!r})", retryable=False) from None

    def find_studies(self) -> list[StudyInfo]:
        """Every study the PACS holds (QIDO-RS ``/studies``), sorted by Study Instance UID.

        Raises
        ------
        PacsError
            The search failed.
        """
        operation = "search for studies"
        found = self._search(operation, "studies", None,
                             ("ModalitiesInStudy", "NumberOfStudyRelatedInstances"))
        studies = [StudyInfo(
            study_uid=self._uid_of(operation, item, _STUDY_INSTANCE_UID, "StudyInstanceUID"),
            modalities=tuple(sorted(str(m) for m in _values(item, _MODALITIES_IN_STUDY))),
            instances=self._count(operation, item, _STUDY_INSTANCES,
                                  "NumberOfStudyRelatedInstances"))
            for item in found]
        return sorted(studies, key=lambda s: s.study_uid)

    def series_of(self, study_uid: str) -> list[SeriesInfo]:
        """The series of a study (QIDO-RS ``/studies/{uid}/series``), sorted by Series Number
        then Series Instance UID; empty for a study the PACS does not hold.

        Raises
        ------
        PacsError
            ``study_uid`` is not a UID, or the search failed.
        """
        operation = "search for the series of a study"
        self._check_uid(operation, "StudyInstanceUID", study_uid)
        found = self._search(operation, "series", study_uid,
                             ("Modality", "SeriesDescription", "SeriesNumber",
                              "NumberOfSeriesRelatedInstances"))
        series = []
        for item in found:
            number = _first(item, _SERIES_NUMBER)
            series.append(SeriesInfo(
                series_uid=self._uid_of(operation, item, _SERIES_INSTANCE_UID,
                                        "SeriesInstanceUID"),
                modality=str(_first(item, _MODALITY) or ""),
                description=str(_first(item, _SERIES_DESCRIPTION) or ""),
                number=None if number is None else self._count(
                    operation, item, _SERIES_NUMBER, "SeriesNumber"),
                instances=self._count(operation, item, _SERIES_INSTANCES,
                                      "NumberOfSeriesRelatedInstances")))
        return sorted(series, key=lambda s: (s.number is None, s.number or 0, s.series_uid))

    def instances_of(self, study_uid: str) -> list[InstanceInfo]:
        """The instances of a study (QIDO-RS ``/studies/{uid}/instances``), sorted by SOP
        Instance UID; empty for a study the PACS does not hold.

        Raises
        ------
        PacsError
            ``study_uid`` is not a UID, or the search failed.
        """
        operation = "search for the instances of a study"
        self._check_uid(operation, "StudyInstanceUID", study_uid)
        found = self._search(operation, "instances", study_uid,
                             ("SOPClassUID", "SeriesInstanceUID", "Modality"))
        instances = [InstanceInfo(
            sop_instance_uid=self._uid_of(operation, item, _SOP_INSTANCE_UID,
                                          "SOPInstanceUID"),
            sop_class_uid=self._uid_of(operation, item, _SOP_CLASS_UID, "SOPClassUID"),
            series_uid=self._uid_of(operation, item, _SERIES_INSTANCE_UID,
                                    "SeriesInstanceUID"),
            modality=str(_first(item, _MODALITY) or ""))
            for item in found]
        return sorted(instances, key=lambda i: i.sop_instance_uid)

    # -- WADO-RS ------------------------------------------------------------------------------

    def retrieve_series(self, study_uid: str, series_uid: str, folder: Path) -> list[Path]:
        """Retrieve every instance of a series (WADO-RS, in the transfer syntax each is stored
        in) into ``folder`` as ``<SOPInstanceUID>.dcm``.

        Each file is written atomically (a temporary file, then renamed), as it arrives; after
        a failure the files already written stay, each complete, so callers retrieve into a
        staged folder (:func:`corridor.staging.staged_folder`).

        Returns
        -------
        list[Path]
            The files written, in the order the PACS sent them.

        Raises
        ------
        PacsError
            A UID is not a DICOM UID (the PACS's SOP Instance UIDs become file names), an
            instance is not of this study and series or came twice, the series is not there
            (HTTP 404), or the retrieval failed.
        """
        operation = "retrieve a series"
        self._check_uid(operation, "StudyInstanceUID", study_uid)
        self._check_uid(operation, "SeriesInstanceUID", series_uid)
        written: list[Path] = []
        with self._translated(operation):
            for dataset in self._client.iter_series(study_uid, series_uid,
                                                    media_types=_ANY_TRANSFER_SYNTAX):
                sop_uid = str(dataset.get("SOPInstanceUID", ""))
                self._check_uid(operation, "SOPInstanceUID", sop_uid)
                for keyword, expected in (("StudyInstanceUID", study_uid),
                                          ("SeriesInstanceUID", series_uid)):
                    found = str(dataset.get(keyword, ""))
                    if found != expected:
                        raise self._error(operation, f"instance {sop_uid} has {keyword} "
                                          f"{found!r}, expected {expected}", retryable=False)
                path = folder / f"{sop_uid}.dcm"
                if path in written:
                    raise self._error(operation, f"instance {sop_uid} sent twice",
                                      retryable=False)
                with atomic_binary(path) as stream:
                    pydicom.dcmwrite(stream, dataset, enforce_file_format=True)
                written.append(path)
        _log.info("PACS %s: retrieved %d instance(s) of a series", self.host, len(written))
        return written

    # -- STOW-RS ------------------------------------------------------------------------------

    def store(self, datasets_bytes: Sequence[bytes]) -> None:
        """Store DICOM Part-10 files into their study, in one STOW-RS request.

        Storing an instance the PACS already holds is not an error (a PACS that answers
        "duplicate SOP instance" has it already).

        Parameters
        ----------
        datasets_bytes
            The files' bytes, all of one study.

        Raises
        ------
        ValueError
            No files, a file that is not DICOM Part 10, or files of several studies.
        PacsError
            The request failed, or the PACS refused some objects (not retryable: the
            message names each SOP Instance UID and its failure reason) or did not confirm
            storing them.
        """
        datasets = []
        for index, data in enumerate(datasets_bytes):
            try:
                datasets.append(pydicom.dcmread(BytesIO(data)))
            except InvalidDicomError as error:
                raise ValueError(f"store: object {index} is not a DICOM Part-10 file; "
                                 "expected the bytes of one") from error
        if not datasets:
            raise ValueError("store: no objects; expected at least one DICOM Part-10 file")
        studies = sorted({str(ds.get("StudyInstanceUID", "")) for ds in datasets})
        if len(studies) != 1:
            raise ValueError(f"store: the objects belong to {len(studies)} studies "
                             f"({', '.join(studies)}); expected one")
        sent = [str(ds.get("SOPInstanceUID", "")) for ds in datasets]
        operation = f"store {len(datasets)} object(s)"
        self._check_uid(operation, "StudyInstanceUID", studies[0])
        for uid in sent:
            self._check_uid(operation, "SOPInstanceUID", uid)
        try:
            with self._translated(operation):
                answer = self._client.store_instances(datasets, studies[0]).to_json_dict()
        except PacsError as error:
            cause = error.__cause__
            if isinstance(cause, requests.HTTPError) and cause.response is not None:
                refused = self._failures(cause.response)
                if refused:
                    raise self._refused(operation, refused, len(sent), error.status) from cause
            raise
        failed = self._failed_items(answer)
        if failed:
            raise self._refused(operation, failed, len(sent), None)
        stored = {_first(item, _REFERENCED_SOP_INSTANCE_UID)
                  for item in _values(answer, _REFERENCED_SOP_SEQUENCE)
                  if isinstance(item, dict)}
        missing = [uid for uid in sent if uid not in stored]
        if missing:
            raise self._error(operation, f"the PACS neither confirmed nor refused storing "
                              f"{', '.join(missing)} (expected each SOP Instance UID sent in "
                              "its Referenced SOP Sequence)", retryable=False)
        _log.info("PACS %s: stored %d object(s)", self.host, len(sent))

    @staticmethod
    def _failed_items(answer: dict[str, Any]) -> list[tuple[str, int | None]]:
        """``(SOP Instance UID, failure reason)`` of the Failed SOP Sequence, less
        duplicates (already stored)."""
        failed = []
        for item in _values(answer, _FAILED_SOP_SEQUENCE):
            if not isinstance(item, dict):
                continue
            reason = _first(item, _FAILURE_REASON)
            if reason == _DUPLICATE_SOP_INSTANCE:
                continue
            failed.append((str(_first(item, _REFERENCED_SOP_INSTANCE_UID)),
                           reason if isinstance(reason, int) else None))
        return failed

    def _failures(self, response: requests.Response) -> list[tuple[str, int | None]]:
        """The Failed SOP Sequence of an error answer, when it has one (Orthanc sends it with
        HTTP 409 and no Content-Type)."""
        try:
            answer = response.json()
        except ValueError:
            return []
        return self._failed_items(answer) if isinstance(answer, dict) else []

    def _refused(self, operation: str, failed: list[tuple[str, int | None]], sent: int,
                 status: int | None) -> PacsError:
        reasons = "; ".join(
            f"{uid}: {'unknown reason' if code is None else _FAILURE_REASONS.get(code, 'failure')}"
            f"{'' if code is None else f' (0x{code:04X})'}" for uid, code in failed)
        return self._error(operation, f"the PACS refused {len(failed)} of {sent} object(s): "
                           f"{reasons}", retryable=False, status=status)
