"""Helpers of the foundation scenarios, shared with the case scenarios: the build stamp read as
text, and the permission bits of what a command wrote."""

from __future__ import annotations

import ast
import stat
from pathlib import Path
from typing import Any

__all__ = ["file_modes", "stamp_of"]


def stamp_of(path: Path) -> dict[str, Any]:
    """The assignments of a ``_stamp.py`` file, parsed as literals (not imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {target.id: ast.literal_eval(node.value)
            for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def file_modes(top: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Permission bits of every file and every folder at and below ``top`` (``top`` included),
    by path relative to ``top``."""
    files: dict[str, int] = {}
    folders: dict[str, int] = {}
    for path in [top, *top.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        (folders if path.is_dir() else files)[path.relative_to(top).as_posix()] = mode
    return files, folders
