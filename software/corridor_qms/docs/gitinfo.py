"""The one way the documents ask git about the repository they describe."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["git"]


def git(root: Path, *args: str) -> str | None:
    """``git ARGS`` run in ``root``: its standard output stripped (``""`` when git printed
    nothing), or ``None`` when git is missing, fails, or takes over a minute (not a
    checkout, an unknown revision)."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()
