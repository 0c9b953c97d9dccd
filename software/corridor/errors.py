"""The root of the device software's exception hierarchy."""

__all__ = ["CorridorError"]


class CorridorError(Exception):
    """Base class of every error raised on purpose by the device software.

    The CLI maps any :class:`CorridorError` to one clear line and a non-zero exit
    status; anything else is a defect and keeps its traceback.
    """
