"""Change-impact analysis between a git revision and the working tree (IEC 62304 §7.4).

For a release, the question is: which requirements, hazards, risk controls and
problem reports changed (or were closed) since the last one, and which verification
scenarios and hazards does that put in doubt?
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from corridor_qms.records.enum import ProblemStatus
from corridor_qms.trace.index import TraceIndex
from corridor_qms.trace.stamps import fingerprint, stamp

__all__ = ["Change", "ChangeKind", "Impact", "diff"]


class ChangeKind(StrEnum):
    """How an item differs between the two revisions."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    """Its normative content (the stamp) changed."""
    EDITED = "edited"
    """Only editorial fields (title, rationale, status) changed."""
    CLOSED = "closed"
    """A problem report's status became closed (other fields may have changed with it)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One changed item."""

    item: str
    kind: str
    change: ChangeKind


@dataclass(slots=True)
class Impact:
    """The changes and what they put in doubt."""

    changes: list[Change] = field(default_factory=list)
    suspect_scenarios: dict[str, list[str]] = field(default_factory=dict)
    """Scenario key → the changed items it verifies."""
    affected_hazards: dict[str, list[str]] = field(default_factory=dict)
    """Hazard ID → the changed controls or requirements that control it."""

    def lines(self) -> list[str]:
        """One line per change, suspect scenario and affected hazard."""
        out = [f"{c.change.value.upper():8} {c.item}  {c.kind}" for c in self.changes]
        out += [f"SUSPECT  {key}  via {', '.join(items)}"
                for key, items in sorted(self.suspect_scenarios.items())]
        out += [f"AFFECTS  {haz}  via {', '.join(items)}"
                for haz, items in sorted(self.affected_hazards.items())]
        return out


def _compare(before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]],
             kind: str) -> list[Change]:
    changes = []
    for item_id in sorted(set(before) | set(after)):
        if item_id not in before:
            changes.append(Change(item_id, kind, ChangeKind.ADDED))
        elif item_id not in after:
            changes.append(Change(item_id, kind, ChangeKind.REMOVED))
        elif before[item_id][0] != after[item_id][0]:
            changes.append(Change(item_id, kind, ChangeKind.CHANGED))
        elif before[item_id][1] != after[item_id][1]:
            changes.append(Change(item_id, kind, ChangeKind.EDITED))
    return changes


def _signatures(index: TraceIndex) -> dict[str, dict[str, tuple[str, str]]]:
    return {
        "requirement": {
            i: (stamp(r.record), r.record.model_dump_json()) for i, r in index.requirements.items()
        },
        "hazard": {i: (stamp(h.record), h.record.model_dump_json())
                   for i, h in index.hazards.items()},
        "risk control": {i: (stamp(c.control), c.control.model_dump_json())
                         for i, c in index.controls.items()},
        # A problem report over every field but its title, as a hazard is stamped.
        "problem report": {i: (fingerprint({k: v for k, v in p.record.model_dump(
            mode="json").items() if k != "title"}), p.record.model_dump_json())
            for i, p in index.problems.items()},
    }


def _closed(change: Change, before: TraceIndex, after: TraceIndex) -> Change:
    """A changed problem report whose status became closed is listed as closed."""
    if (change.kind == "problem report" and change.change is ChangeKind.CHANGED
            and after.problems[change.item].record.status is ProblemStatus.CLOSED
            and before.problems[change.item].record.status is not ProblemStatus.CLOSED):
        return Change(change.item, change.kind, ChangeKind.CLOSED)
    return change


def diff(before: TraceIndex, after: TraceIndex) -> Impact:
    """Compare two trace graphs.

    Parameters
    ----------
    before
        The graph at the base revision.
    after
        The graph of the working tree.

    Returns
    -------
    Impact
        Added, removed, changed and edited items (requirements, risk controls,
        hazards and problem reports; a problem report closed since is listed as
        closed); the scenarios that verify a changed (or removed) requirement,
        control or problem report; the hazards whose controls or implementing
        requirements changed.
    """
    impact = Impact()
    old, new = _signatures(before), _signatures(after)
    for kind in ("requirement", "risk control", "hazard", "problem report"):
        impact.changes.extend(_closed(c, before, after)
                              for c in _compare(old[kind], new[kind], kind))
    normative = {c.item for c in impact.changes
                 if c.change in (ChangeKind.CHANGED, ChangeKind.REMOVED)}
    for item_id in sorted(normative):
        for scenario in after.verified_by.get(item_id, []):
            impact.suspect_scenarios.setdefault(scenario.key, []).append(item_id)
        controls = [item_id] if item_id in after.controls else after.implements.get(item_id, [])
        for control_id in controls:
            if control_id in after.controls:
                hazard_id = after.controls[control_id].hazard.record.id
                impact.affected_hazards.setdefault(hazard_id, []).append(item_id)
    return impact
