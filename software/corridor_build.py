"""Build backend: setuptools, plus the software identity stamped into ``corridor/_stamp.py``.

Every build (wheel, editable install, sdist) first writes the stamp that
:func:`corridor.provenance.software_identity` reads at run time: name, version (from
``pyproject.toml``), the git commit of *this* repository (only when the project root is the
top of its git work tree, so a copy inside another repository records no commit rather than
the wrong one), whether tracked files differed from it, and the build kind.  It also holds
the ``corridor.commands`` entry points of ``pyproject.toml`` (subcommand name to
``module:function``), so the command finds its subcommands without importing
:mod:`importlib.metadata` at start-up.

Release build: ``CORRIDOR_RELEASE=1`` in the build's environment.  It refuses to build unless
the commit is known and the tree is clean; the stamp then says ``release`` and the software
refuses to run if that stamp ever lacks a commit.  A build outside a git checkout (from an
sdist) keeps the stamp the sdist carries.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (  # noqa: F401  # the hooks this backend does not change
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

ROOT = Path(__file__).resolve().parent.parent
STAMP = ROOT / "software" / "corridor" / "_stamp.py"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def _checkout() -> tuple[str | None, bool | None]:
    """The commit and dirty flag of this project's own checkout, or ``(None, None)``."""
    top = _git("rev-parse", "--show-toplevel")
    if top is None or Path(top.strip()).resolve() != ROOT:
        return None, None
    commit = (_git("rev-parse", "--verify", "HEAD") or "").strip() or None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return commit, None if status is None else bool(status.strip())


def write_stamp(kind: str) -> None:
    """Write ``corridor/_stamp.py`` for a build of ``kind`` (``development`` or ``editable``;
    ``release`` when ``CORRIDOR_RELEASE=1``)."""
    commit, dirty = _checkout()
    if commit is None and STAMP.exists() and not (ROOT / ".git").exists():
        return  # an sdist: keep the stamp it was made with
    release = os.environ.get("CORRIDOR_RELEASE") == "1"
    if release and (commit is None or dirty is not False):
        raise SystemExit("corridor release build refused: expected a clean git checkout of "
                         f"this repository (commit {commit or 'unknown'}, dirty {dirty})")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    commands = dict(sorted(project.get("entry-points", {}).get("corridor.commands", {}).items()))
    text = (f'"""Software identity and subcommands, written by the build ({Path(__file__).name}); '
            f'not in git."""\n\nNAME = \'corridor\'\nVERSION = {project["version"]!r}\n'
            f"COMMIT = {commit!r}\nDIRTY = {dirty!r}\nBUILD = {'release' if release else kind!r}\n"
            f"COMMANDS = {commands!r}\n")
    temp = STAMP.with_name(f".{STAMP.name}.{os.getpid()}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, STAMP)


def build_wheel(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                metadata_directory: str | None = None) -> str:
    """Stamp, then build the wheel with setuptools."""
    write_stamp("development")
    return str(_setuptools.build_wheel(wheel_directory, config_settings, metadata_directory))


def build_editable(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                   metadata_directory: str | None = None) -> str:
    """Stamp, then build the editable wheel with setuptools."""
    write_stamp("editable")
    return str(_setuptools.build_editable(wheel_directory, config_settings, metadata_directory))


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    """Stamp, then build the sdist with setuptools (the stamp travels inside it)."""
    write_stamp("development")
    return str(_setuptools.build_sdist(sdist_directory, config_settings))
