"""Helpers of the PACS verification: an independent DICOM validator.

``dciodvfy`` (David Clunie's dicom3tools, Debian package ``dicom3tools``) checks a file
against the standard's IOD and module tables; it shares no code with pydicom or highdicom,
which build the objects.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["DCIODVFY", "dciodvfy_errors", "dciodvfy_lines"]

DCIODVFY = "dciodvfy"


def dciodvfy_lines(path: Path) -> list[str]:
    """Every line ``dciodvfy`` prints for the file (it reports on standard error)."""
    program = shutil.which(DCIODVFY)
    if program is None:
        raise FileNotFoundError(f"{DCIODVFY}: not found on PATH; expected dicom3tools "
                                "installed (apt-get install dicom3tools)")
    done = subprocess.run([program, str(path)], capture_output=True, text=True, check=False,
                          timeout=120)
    return (done.stdout + done.stderr).splitlines()


def dciodvfy_errors(path: Path) -> list[str]:
    """The lines of ``dciodvfy``'s report on the file that start with ``Error`` (warnings and
    the IOD's name left out); empty when the file conforms to its IOD."""
    return [line for line in dciodvfy_lines(path) if line.startswith("Error")]
