"""Record loading: line numbers, located findings, and atomic output."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from corridor.staging import write_text_atomic
from corridor_qms.records.io import load_record, load_yaml
from corridor_qms.records.model import UserNeed

REL = PurePosixPath("requirements_spec/needs/UN-009.yaml")


def test_field_lines_are_those_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("# comment\nid: UN-009\nitems:\n  - a: 1\n    b: 2\n")
    data, lines = load_yaml(path)
    assert data == {"id": "UN-009", "items": [{"a": 1, "b": 2}]}
    assert lines["id"] == 2
    assert lines["items"] == 3
    assert lines["items.0.a"] == 4
    assert lines["items.0.b"] == 5


def test_unknown_field_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "UN-009.yaml"
    path.write_text("id: UN-009\ntitle: T\nstatement: S\nstatment: typo\n")
    located, findings = load_record(path, REL, UserNeed)
    assert located is None
    assert [(f.rule, f.item, f.line) for f in findings] == [("RECORD-INVALID", "UN-009", 4)]
    assert "'statment' is not a field" in findings[0].message


def test_a_list_instead_of_a_mapping_says_what_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "UN-009.yaml"
    path.write_text("- id: UN-009\n")
    _, findings = load_record(path, REL, UserNeed)
    assert [f.rule for f in findings] == ["RECORD-INVALID"]
    assert "found list, expected a mapping of fields" in findings[0].message


def test_atomic_write_keeps_the_old_file_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "matrix.html"
    write_text_atomic(target, "old")

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["matrix.html"]
