"""Recording link reviews: the deliberate human act that clears suspect links.

Reviewing is never a side effect of checking.  ``corridor trace review ID``
records, for every scenario linked to ``ID``, the stamp ``ID`` has now; the
check reports a link as suspect when that stamp later differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from corridor.staging import write_text_atomic
from corridor_qms.errors import QmsError
from corridor_qms.records.model import TRACE_ID
from corridor_qms.records.project import LAYOUT
from corridor_qms.trace.index import TraceIndex, current_stamp

__all__ = ["UnknownItemError", "review"]

_HEADER = """\
# Reviewed links from verification scenarios to requirements and risk controls.
# Each entry records the stamp (SHA-256 of the normative content) of the target
# as it was when a person reviewed that the scenario verifies it.  Written by
# `corridor trace review ID`; do not edit by hand.
"""


class UnknownItemError(QmsError, KeyError):
    """A review names an identifier that is no requirement or risk control."""

    def __init__(self, item_id: str, known: Iterable[str]) -> None:
        self.item_id = item_id
        self.known = sorted(known)
        super().__init__(
            f"{item_id}: no requirement or risk control has this ID "
            f"(expected one of {len(self.known)} IDs, e.g. {', '.join(self.known[:3])})"
        )

    def __str__(self) -> str:
        return str(self.args[0])


def review(index: TraceIndex, root: Path, item_ids: Iterable[str]) -> list[tuple[str, str]]:
    """Record the current stamp on every link to the given items; prune dead links.

    Parameters
    ----------
    index
        The trace graph of the working tree.
    root
        Project root; the reviews file is written atomically below it.
    item_ids
        Requirements or risk controls whose links were reviewed.

    Returns
    -------
    list of tuple
        The ``(scenario key, ID)`` links recorded.

    Raises
    ------
    UnknownItemError
        If an ID is no requirement or risk control; nothing is written then.
    """
    wanted = list(dict.fromkeys(item_ids))
    for item_id in wanted:
        if current_stamp(index, item_id) is None:
            raise UnknownItemError(item_id, [*index.requirements, *index.controls])
    live: dict[tuple[str, str], str] = {}
    for scenario in index.records.scenarios:
        for tag in scenario.tag_names:
            stamp_now = current_stamp(index, tag) if TRACE_ID.fullmatch(tag) else None
            if stamp_now is not None:
                live[(scenario.key, tag)] = stamp_now
    reviews = {k: v for k, v in index.records.link_reviews.items() if k in live}
    recorded = []
    for key, stamp_now in live.items():
        if key[1] in wanted:
            reviews[key] = stamp_now
            recorded.append(key)
    nested: dict[str, dict[str, str]] = {}
    for (scenario_key, target), stamp_value in sorted(reviews.items()):
        nested.setdefault(scenario_key, {})[target] = stamp_value
    body = yaml.safe_dump({"links": nested}, sort_keys=True, allow_unicode=True, width=200)
    write_text_atomic(root / LAYOUT.link_reviews, _HEADER + body)
    return recorded
