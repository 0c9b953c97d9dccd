"""Verification scenarios read from Gherkin feature files.

The expected set of scenarios comes from the feature files themselves, never
from test results: a scenario that was skipped or errored in set-up may be
missing from a results file, and must still be reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, cast

from gherkin.errors import CompositeParserException
from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

from corridor_qms.findings import Finding

__all__ = ["Scenario", "Tag", "load_feature"]


@dataclass(frozen=True, slots=True)
class Tag:
    """A Gherkin tag without its ``@``, with the line it is written on."""

    name: str
    line: int


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario (or scenario outline) of a feature file.

    Attributes
    ----------
    path
        The feature file, relative to the project root.
    feature
        The feature's name.
    name
        The scenario's name, unique within its feature file.
    line
        1-based line of the ``Scenario`` keyword.
    tags
        Its own tags plus those inherited from its feature and rule.
    """

    path: PurePosixPath
    feature: str
    name: str
    line: int
    tags: tuple[Tag, ...]

    @property
    def key(self) -> str:
        """Stable identity of the scenario: ``<feature path>::<scenario name>``."""
        return f"{self.path}::{self.name}"

    @property
    def tag_names(self) -> tuple[str, ...]:
        """Tag names without ``@``, in the order written."""
        return tuple(tag.name for tag in self.tags)


def _tags(node: dict[str, Any]) -> tuple[Tag, ...]:
    return tuple(Tag(t["name"].lstrip("@"), t["location"]["line"]) for t in node.get("tags", []))


def _scenarios(
    children: list[dict[str, Any]], inherited: tuple[Tag, ...]
) -> Iterator[tuple[dict[str, Any], tuple[Tag, ...]]]:
    for child in children:
        if "scenario" in child:
            yield child["scenario"], inherited + _tags(child["scenario"])
        elif "rule" in child:
            rule = child["rule"]
            yield from _scenarios(rule.get("children", []), inherited + _tags(rule))


def load_feature(
    path: Path, rel: PurePosixPath, text: str | None = None
) -> tuple[list[Scenario], list[Finding]]:
    """Parse one feature file into scenarios.

    Parameters
    ----------
    path
        The feature file (read unless ``text`` is given).
    rel
        The same file relative to the project root, used in findings and keys.
    text
        The file's content, when it comes from elsewhere.

    Returns
    -------
    tuple
        The scenarios and the findings: ``RECORD-SYNTAX`` for a Gherkin error,
        ``ID-DUP`` for two scenarios of one name in the file.
    """
    try:
        source = path.read_text(encoding="utf-8") if text is None else text
        document = Parser().parse(TokenScanner(source))
    except CompositeParserException as exc:
        first = exc.errors[0] if exc.errors else exc
        location = getattr(first, "location", None) or {}
        message = f"not valid Gherkin: {first}"
        return [], [Finding(rel, location.get("line"), "RECORD-SYNTAX", rel.name, message)]
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Finding(rel, None, "RECORD-SYNTAX", rel.name, f"cannot read: {exc}")]
    feature = cast(dict[str, Any], document).get("feature")
    if not feature:
        return [], []
    scenarios: list[Scenario] = []
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    for node, tags in _scenarios(feature.get("children", []), _tags(feature)):
        line = node["location"]["line"]
        name = node["name"].strip()
        if name in seen:
            findings.append(
                Finding(
                    rel,
                    line,
                    "ID-DUP",
                    f"{rel}::{name}",
                    f"scenario name already used at line {seen[name]}; "
                    "expected scenario names unique within a feature file",
                )
            )
            continue
        seen[name] = line
        scenarios.append(Scenario(rel, feature["name"].strip(), name, line, tags))
    return scenarios, findings
