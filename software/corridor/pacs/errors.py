"""Errors of the PACS integration: a PACS that could not be reached or refused a request, a
PACS configuration that cannot be used, result objects that cannot be built.  No message ever
holds a password or a URL's userinfo; each names the file or field, what was found and what was
expected."""

from __future__ import annotations

from corridor.errors import FieldError, InputError

__all__ = ["PacsConfigError", "PacsError", "ResultObjectError"]


class PacsError(Exception):
    """A request to the PACS failed: the PACS could not be reached, timed out, answered an
    error, or refused some of the objects sent.

    Not a :class:`~corridor.errors.CorridorError`: whether the failure stops a command or is
    retried later is the caller's decision, made on :attr:`retryable`.

    Attributes
    ----------
    host
        The PACS as ``host:port`` (never with credentials).
    operation
        What was being done (``"search for studies"``, ``"store 3 objects"``).
    retryable
        ``True`` where the same request may succeed later (connection refused or reset, a
        timeout, HTTP 5xx, 408 or 429); ``False`` where it will not (credentials refused, any
        other HTTP 4xx, objects refused, an answer that is not what DICOMweb specifies).
    status
        The HTTP status the PACS answered, or ``None`` where it did not answer.
    """

    def __init__(self, message: str, *, host: str, operation: str, retryable: bool,
                 status: int | None = None) -> None:
        self.host, self.operation, self.retryable, self.status = (host, operation, retryable,
                                                                  status)
        super().__init__(message)


class PacsConfigError(InputError):
    """The PACS configuration cannot be used (exit status 2); the password is never quoted.

    Attributes
    ----------
    field
        The setting (``url``, ``password_file``, ``verify_tls`` ...).
    problem
        What is wrong with it.
    expected
        What would be accepted.
    where
        Where the setting came from (the config file, an environment variable, ``--pacs``).
    """

    def __init__(self, field: str, problem: str, expected: str, *, where: str) -> None:
        self.field, self.problem, self.expected, self.where = field, problem, expected, where
        super().__init__(f"{where}: {field}: {problem}; expected {expected}")


class ResultObjectError(FieldError):
    """The DICOM result objects cannot be built from this case and these CT files: a file is
    missing or unreadable, the CT files are not one series, or the case was not planned on them.

    An :class:`~corridor.errors.InputError` (exit status 2): nothing is stored.

    Attributes
    ----------
    field, found, expected
        What did not match (a DICOM keyword or a case file's field), the value found and what
        was expected.
    where
        The file concerned, or ``None``.
    """
