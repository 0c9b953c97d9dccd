"""Reader studies: definition, reading schedule, store with its audit trail, and the commands
that create, lock, export and analyse a study (quality tooling, not device software).

The web application that readers read in (``corridor study serve``) is
:mod:`corridor_qms.study.web`; it uses :class:`StudyStore` only.
"""

from corridor_qms.study.definition import (
    Case,
    Modality,
    Question,
    QuestionKind,
    StudyDefinition,
    load_definition,
)
from corridor_qms.study.schedule import Schedule, ScheduleItem, build_schedule
from corridor_qms.study.store import (
    Answer,
    AnswerReceipt,
    AnswerRefusedError,
    ChainCheck,
    ReaderProgress,
    Refusal,
    SessionState,
    SessionStatus,
    StudyError,
    StudyFolderError,
    StudyNotLockedError,
    StudyStore,
    WorkItem,
)

__all__ = [
    "Answer",
    "AnswerReceipt",
    "AnswerRefusedError",
    "Case",
    "ChainCheck",
    "Modality",
    "Question",
    "QuestionKind",
    "ReaderProgress",
    "Refusal",
    "Schedule",
    "ScheduleItem",
    "SessionState",
    "SessionStatus",
    "StudyDefinition",
    "StudyError",
    "StudyFolderError",
    "StudyNotLockedError",
    "StudyStore",
    "WorkItem",
    "build_schedule",
    "load_definition",
]
