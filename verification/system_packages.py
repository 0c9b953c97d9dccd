"""Install the system packages the verification suite needs, or stop with one line naming them.

Run by tox before the tests (``commands_pre``).  The suite needs a headless Chromium to open the
case report (its WebGL 3-D view), OpenSSH's ``ssh-keygen``, the independent verifier of the
release signatures, a real PACS for the hospital integration (Orthanc and its DICOMweb plugin,
which the PACS tests start on free loopback ports; a system Orthanc service the package may
start is not used), DCMTK's ``storescu``, the independent DICOM sender of those tests, and
dicom3tools' ``dciodvfy``, the independent checker of the DICOM objects Corridor writes.  A need
is met by any one of its candidates: a bare name is looked up on PATH, an absolute path
(Orthanc's ``/usr/sbin``, off many users' PATH; the plugin's shared library) must be a file this
user can read.  Where one is missing and this is a Debian machine with root, it is installed
from Debian's packages (``apt-get install``); otherwise the run stops here with one line saying
what to install, rather than failing later in a scenario.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

NEEDS = (
    ("Chromium", ("chromium", "chromium-browser", "google-chrome"), "chromium"),
    ("ssh-keygen", ("ssh-keygen",), "openssh-client"),
    ("Orthanc", ("Orthanc", "/usr/sbin/Orthanc"), "orthanc"),
    ("Orthanc's DICOMweb plugin", ("/usr/share/orthanc/plugins/libOrthancDicomWeb.so",),
     "orthanc-dicomweb"),
    ("storescu", ("storescu",), "dcmtk"),
    ("dciodvfy", ("dciodvfy",), "dicom3tools"),
)
"""What the suite needs: a name, the executables or files that provide it (bare names on PATH,
absolute paths as they are; the first found is used) and the Debian package that installs
them."""


def _found(candidate: str) -> bool:
    """Whether ``candidate`` is there: a bare name on PATH, an absolute path a readable file."""
    if os.path.isabs(candidate):
        return os.path.isfile(candidate) and os.access(candidate, os.R_OK)
    return shutil.which(candidate) is not None


def _missing() -> list[tuple[str, str]]:
    """``(name, Debian package)`` of each need none of whose candidates is found."""
    return [(name, package) for name, candidates, package in NEEDS
            if not any(_found(c) for c in candidates)]


def main() -> int:
    """Exit 0 when the packages are there (installing them if possible), else 1 with a line."""
    missing = _missing()
    if not missing:
        return 0
    names = " and ".join(name for name, _ in missing)
    wanted = " ".join(package for _, package in missing)
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print(f"verification needs {names}: install it (Debian: sudo apt-get install {wanted})",
              file=sys.stderr)
        return 1
    print(f"verification needs {names}: installing the Debian package(s) {wanted}",
          file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *wanted.split()]
    for command in (["apt-get", "update", "-qq"], install):
        if subprocess.run(command, env=env, check=False).returncode != 0:
            print(f"verification needs {names}: `{' '.join(command)}` failed; install it "
                  f"(Debian: sudo apt-get install {wanted})", file=sys.stderr)
            return 1
    still = _missing()
    if still:
        print(f"verification needs {' and '.join(n for n, _ in still)}: {wanted} installed but "
              "not found", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
