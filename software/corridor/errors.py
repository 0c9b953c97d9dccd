"""The device software's exception hierarchy and the exit status each kind of failure gets.

Three kinds of failure, each with its own meaning, exit status and batch-ledger status:

- :class:`InputError`: exit status 2, ledger status ``input-error``.  The user can fix the
  input (a file, tag, field or option, named in the message); nothing was written.
- :class:`SafetyRefusalError`: exit status 4, ledger status ``refused``.  The software
  declines to produce a result it cannot stand behind (mesh QA failed, non-finite model
  output, stale plan); nothing unsafe was written.  A plan rejected by its independent
  re-check is the same kind of outcome, reported as a verdict (``rejected-by-recheck``, 4).
- Anything else is an internal defect: exit status 70, ledger status ``internal-error``,
  reported with its traceback.

Every error raised on purpose subclasses exactly one of :class:`InputError` and
:class:`SafetyRefusalError` (a unit test walks the hierarchy); an exception that is neither is a
defect.  Errors that concern one value carry it as ``field``, ``found`` and ``expected``
(:class:`FieldError`, :class:`FieldRefusalError`), with ``where`` naming the file when there is
one.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["CorridorError", "ExitStatus", "FieldError", "FieldRefusalError", "InputError",
           "SafetyRefusalError", "exit_status_of"]


class ExitStatus(IntEnum):
    """The exit statuses every ``corridor`` command uses (one table: README, architecture)."""

    OK = 0
    """Success (for ``corridor plan``: a safe plan)."""
    FINDINGS = 1
    """A check ran and found problems (trace check, audit verify), or some cases of a batch
    failed."""
    INPUT_ERROR = 2
    """An input the user can fix; nothing was written."""
    NO_SAFE_TRAJECTORY = 3
    """Planning ran and found no trajectory meeting every constraint."""
    SAFETY_REFUSAL = 4
    """The software declined: QA failed, non-finite model output, stale plan, re-check
    rejected the plan."""
    NOT_FULLY_CHECKED = 5
    """Planning found a trajectory meeting every constraint it could check, but a risk structure
    the template needs is not in the segmentation and was not checked (never plain safe)."""
    USAGE = 64
    """The command line names no subcommand (``EX_USAGE``)."""
    INTERNAL_ERROR = 70
    """A defect (``EX_SOFTWARE``): reported with its traceback."""
    INTERRUPTED = 130
    """Interrupted (SIGINT)."""
    BROKEN_PIPE = 141
    """Standard output was closed by its reader (``| head``): 128 + SIGPIPE, as a shell
    reports a program that signal ended."""


class CorridorError(Exception):
    """Root of every error the device software raises on purpose.

    Not raised itself: every error is an :class:`InputError` or a :class:`SafetyRefusalError`.
    """

    exit_status: ExitStatus = ExitStatus.INTERNAL_ERROR


class InputError(CorridorError, ValueError):
    """An input the user can fix: the file, tag, field or option is named in the message."""

    exit_status = ExitStatus.INPUT_ERROR


class SafetyRefusalError(CorridorError, RuntimeError):
    """The software declines to produce a result it cannot stand behind."""

    exit_status = ExitStatus.SAFETY_REFUSAL


class _FieldCarrierError(Exception):
    """``field``, ``found`` and ``expected`` (and ``where``, the file) as attributes."""

    def __init__(self, field: str, found: object, expected: str, *,
                 where: object = None) -> None:
        self.field, self.found, self.expected, self.where = field, found, expected, where
        prefix = "" if where is None else f"{where}: "
        super().__init__(f"{prefix}{field}: found {found!r}, expected {expected}")


class FieldError(_FieldCarrierError, InputError):
    """An input value a stage cannot use: which field, the value found, what was expected.

    Attributes
    ----------
    field, found, expected
        What was wrong, the value found and what was expected.
    where
        The file concerned, or ``None``.
    """


class FieldRefusalError(_FieldCarrierError, SafetyRefusalError):
    """A result refused because of one value: the check, the value found, what was required.

    Attributes
    ----------
    field, found, expected
        The check that failed, the value found and what it requires.
    where
        The file concerned, or ``None``.
    """


def exit_status_of(error: BaseException) -> ExitStatus:
    """The exit status for ``error``: its kind's, :attr:`ExitStatus.INTERRUPTED` for an
    interrupt, :attr:`ExitStatus.INTERNAL_ERROR` for anything else (a defect)."""
    if isinstance(error, KeyboardInterrupt):
        return ExitStatus.INTERRUPTED
    if isinstance(error, InputError | SafetyRefusalError):
        return error.exit_status
    return ExitStatus.INTERNAL_ERROR
