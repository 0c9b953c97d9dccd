"""The checks of a case's planning inputs that need no image: side, landmarks, wrong-side check.

They run before any stage of a case (a bad side or a missing landmark fails in a second, not
after inference), and again when planning starts; both use :func:`check_case_inputs`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from corridor.planning.errors import PlanningError
from corridor.planning.procedure import LateralityCheck, LoadedProcedure, Side
from corridor.planning.regions import Landmark
from corridor.planning.search import Constraint, Laterality

__all__ = ["check_case_inputs", "check_case_request", "resolve_laterality"]


def resolve_laterality(procedure: LoadedProcedure, side: Side | None,
                       landmarks: Mapping[str, Landmark]) -> Laterality:
    """The template's wrong-side check, resolved for a case.

    For the ``midline`` check the midline is the mean LPS x (mm) of the template's paired
    landmark on the left and on the right (e.g. both femoral head centres).

    Parameters
    ----------
    procedure
        The template.
    side
        The side planned (``None`` for an unsided template).
    landmarks
        The case's landmarks by name (LPS mm).

    Raises
    ------
    PlanningError
        The midline check's landmark pair missing, or swapped (the left one not at a larger
        LPS x than the right one).
    """
    template = procedure.procedure
    check = template.laterality_check
    if check is not LateralityCheck.MIDLINE:
        return Laterality(check, side)
    name = template.laterality_landmark
    left_name, right_name = (f"{s.value}-{name}" for s in (Side.LEFT, Side.RIGHT))
    missing = [p for p in (left_name, right_name) if p not in landmarks]
    if missing:
        raise PlanningError("landmarks", ", ".join(missing) + " missing",
                            f"both {left_name} and {right_name}: the midline lies half-way "
                            "between them (wrong-side check)")
    left = landmarks[left_name].centre_lps_mm[0]
    right = landmarks[right_name].centre_lps_mm[0]
    if not left > right:
        raise PlanningError("landmarks", f"{left_name} x {left:.1f} mm, {right_name} x "
                            f"{right:.1f} mm", f"{left_name} to the patient's left (larger "
                            f"LPS x) of {right_name}: are the landmarks swapped?")
    return Laterality(check, side, 0.5 * (left + right), (left_name, right_name))


def _check_template_and_side(procedure: LoadedProcedure, side: Side | None) -> None:
    """Reserved risk-structure names, and a side exactly for a sided template."""
    template = procedure.procedure
    reserved = (Constraint.CORTEX.value, Constraint.TIP_TO_CORTEX.value)
    for risk in template.risk_structures:
        if risk.name in reserved:
            raise PlanningError(f"risk structure {risk.name}", risk.name,
                                f"a name other than {' and '.join(reserved)}, which name the "
                                "corridor's own clearances in the plan")
    if template.sided and side is None:
        raise PlanningError("side", None, f"left or right: {template.name} is sided")
    if not template.sided and side is not None:
        raise PlanningError("side", side.value, f"no side: {template.name} is not sided")


def _check_present(procedure: LoadedProcedure, side: Side | None,
                   landmarks: Mapping[str, Landmark], findable: Collection[str]) -> None:
    """Every landmark the template's regions name (with the side's prefix) is given, unless
    its name is ``findable``."""
    template = procedure.procedure
    prefix = "" if side is None else f"{side.value}-"
    missing = sorted(f"{prefix}{name}" for name in template.landmarks()
                     if f"{prefix}{name}" not in landmarks and name not in findable)
    if missing:
        raise PlanningError("landmarks", ", ".join(missing) + " missing",
                            f"every landmark {template.name} names; given: "
                            + (", ".join(sorted(landmarks)) or "none"))


def check_case_inputs(procedure: LoadedProcedure, *, side: Side | None,
                      landmarks: Mapping[str, Landmark]) -> Laterality:
    """Check a case's side and landmarks against the template; return its wrong-side check.

    Parameters
    ----------
    procedure
        The template.
    side
        The side planned (``None`` for an unsided template).
    landmarks
        The case's landmarks by name (LPS mm).

    Returns
    -------
    Laterality
        The wrong-side check resolved for the case (see :func:`resolve_laterality`).

    Raises
    ------
    PlanningError
        A risk structure named ``cortex`` or ``tip-to-cortex`` (the names of the corridor's
        clearances), side given for an unsided template or missing for a sided one, a
        landmark the template names (with the side's prefix) missing, or the wrong-side
        check's landmark pair missing or swapped.
    """
    _check_template_and_side(procedure, side)
    _check_present(procedure, side, landmarks, ())
    return resolve_laterality(procedure, side, landmarks)


def check_case_request(procedure: LoadedProcedure, *, side: Side | None,
                       landmarks: Mapping[str, Landmark], findable: Collection[str]) -> None:
    """The checks of :func:`check_case_inputs` that can run before the image is read.

    Landmarks whose name (without the side's prefix) is in ``findable`` may be missing:
    planning finds them from the segmentation (:mod:`~corridor.planning.landmarks`).  The
    wrong-side check's pair is checked (not swapped) when both are given.

    Raises
    ------
    PlanningError
        As :func:`check_case_inputs`, for what does not need the image.
    """
    _check_template_and_side(procedure, side)
    _check_present(procedure, side, landmarks, findable)
    template = procedure.procedure
    name = template.laterality_landmark
    pair = [f"{s.value}-{name}" for s in (Side.LEFT, Side.RIGHT)]
    if (template.laterality_check is LateralityCheck.MIDLINE
            and (all(p in landmarks for p in pair) or name not in findable)):
        resolve_laterality(procedure, side, landmarks)
