"""Reading record files: YAML with line numbers, validated by the record models.

Loading never raises for a bad record: it returns the findings that say which
file, line and field is wrong and what form was expected, so that one run of the
trace check reports every problem at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from corridor_qms.findings import Finding

__all__ = ["Located", "field_line", "load_record", "load_yaml", "validate_record"]

try:
    _Loader: Any = yaml.CSafeLoader  # libyaml: same results, ~10x faster
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Located(Generic[M]):
    """A validated record with where it came from.

    Attributes
    ----------
    record
        The record.
    path
        Its file, relative to the project root.
    lines
        1-based line of each field, keyed by dotted path (``risk_controls.0.id``);
        the empty key is the line where the document starts.
    """

    record: M
    path: PurePosixPath
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, dotted: str = "") -> int:
        """Line of a field, falling back to its nearest enclosing field."""
        return field_line(self.lines, dotted)


def field_line(lines: dict[str, int], dotted: str) -> int:
    """Line of ``dotted`` in ``lines``, or of its nearest parent, or 1."""
    key = dotted
    while key:
        if key in lines:
            return lines[key]
        key = key.rpartition(".")[0]
    return lines.get("", 1)


def _node_lines(node: yaml.Node, prefix: str, out: dict[str, int]) -> None:
    out.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            name = str(key_node.value)
            dotted = f"{prefix}.{name}" if prefix else name
            out[dotted] = key_node.start_mark.line + 1
            _node_lines(value_node, dotted, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, f"{prefix}.{index}" if prefix else str(index), out)


def load_yaml(path: Path, text: str | None = None) -> tuple[Any, dict[str, int]]:
    """Parse one YAML document and the line of every field.

    Parameters
    ----------
    path
        The file (read unless ``text`` is given; always used in messages).
    text
        The file's content, when it comes from elsewhere (e.g. ``git show``).

    Returns
    -------
    tuple
        The plain data and a map from dotted field path to 1-based line.

    Raises
    ------
    yaml.YAMLError
        On a syntax error; the caller turns it into a finding.
    """
    if text is None:
        text = path.read_text(encoding="utf-8")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: dict[str, int] = {}
        _node_lines(node, "", lines)
        return loader.construct_document(node), lines
    finally:
        loader.dispose()


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _expected(error: Any) -> str:
    ctx = error.get("ctx") or {}
    if "pattern" in ctx:
        return f"text matching {ctx['pattern']}"
    if "expected" in ctx:
        return str(ctx["expected"])
    return str(error["msg"])


def load_record(
    path: Path, rel: PurePosixPath, model: type[M], text: str | None = None
) -> tuple[Located[M] | None, list[Finding]]:
    """Load and validate one record file.

    Parameters
    ----------
    path
        The file to read.
    rel
        The same file relative to the project root, used in findings.
    model
        The record model to validate against.
    text
        The content, if it does not come from ``path``.

    Returns
    -------
    tuple
        The located record (``None`` if invalid) and the findings explaining why
        it is invalid: ``RECORD-SYNTAX`` for YAML errors, ``ID-FORMAT`` for a
        malformed identifier, ``RECORD-INVALID`` for any other field.
    """
    item = path.stem
    try:
        data, lines = load_yaml(path, text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [Finding(rel, line, "RECORD-SYNTAX", item, f"not valid YAML: {problem}")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Finding(rel, None, "RECORD-SYNTAX", item, f"cannot read: {exc}")]
    return validate_record(data, lines, rel, model)


def validate_record(
    data: object, lines: dict[str, int], rel: PurePosixPath, model: type[M]
) -> tuple[Located[M] | None, list[Finding]]:
    """Validate parsed data as a record of ``model``.

    Parameters
    ----------
    data
        The parsed YAML value.
    lines
        Line of each dotted field (see :func:`load_yaml`).
    rel
        The file, relative to the project root.
    model
        The record model.

    Returns
    -------
    tuple
        As :func:`load_record`.
    """
    item = rel.stem
    if not isinstance(data, dict):
        found = type(data).__name__
        return None, [
            Finding(rel, lines.get("", 1), "RECORD-INVALID", item,
                    f"found {found}, expected a mapping of fields")
        ]
    if isinstance(data.get("id"), str):
        item = data["id"]
    try:
        record = model.model_validate(data)
    except ValidationError as exc:
        return None, list(_validation_findings(exc, rel, item, lines))
    return Located(record, rel, lines), []


def _validation_findings(
    exc: ValidationError, rel: PurePosixPath, item: str, lines: dict[str, int]
) -> Iterator[Finding]:
    for error in exc.errors():
        dotted = _dotted(error["loc"])
        line = field_line(lines, dotted)
        found = error.get("input")
        rule = "RECORD-INVALID"
        if error["type"] == "missing":
            message = f"field '{dotted}' is missing"
        elif error["type"] == "extra_forbidden":
            message = f"field '{dotted}' is not a field of this record"
        else:
            if dotted == "id" and error["type"] == "string_pattern_mismatch":
                rule = "ID-FORMAT"
            message = f"field '{dotted}': found {found!r}, expected {_expected(error)}"
        yield Finding(rel, line, rule, item, message)
