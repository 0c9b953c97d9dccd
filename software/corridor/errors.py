"""The root of the device software's exception hierarchy."""

__all__ = ["CorridorError", "FieldError"]


class CorridorError(Exception):
    """Base class of every error raised on purpose by the device software.

    The CLI maps any :class:`CorridorError` to one clear line and a non-zero exit
    status; anything else is a defect and keeps its traceback.
    """


class FieldError(CorridorError, ValueError):
    """An input value a stage cannot use: which field, the value found, what was expected.

    Attributes
    ----------
    field, found, expected
        What was wrong, the value found and what was expected.
    """

    def __init__(self, field: str, found: object, expected: str) -> None:
        self.field, self.found, self.expected = field, found, expected
        super().__init__(f"{field}: found {found!r}, expected {expected}")
