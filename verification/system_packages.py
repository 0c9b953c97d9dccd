"""Install the system packages the verification suite needs, or stop with one line naming them.

Run by tox before the tests (``commands_pre``).  The suite needs a headless Chromium to open
the case report (its WebGL 3-D view) and OpenSSH's ``ssh-keygen``, the independent verifier of
the release signatures.  Where one is missing and this is a Debian machine with root, it is
installed from Debian's packages (``apt-get install``); otherwise the run stops here with one
line saying what to install, rather than failing later in a scenario.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

NEEDS = (
    ("Chromium", ("chromium", "chromium-browser", "google-chrome"), "chromium"),
    ("ssh-keygen", ("ssh-keygen",), "openssh-client"),
)
"""What the suite needs: a name, the executables that provide it (the first found is used) and
the Debian package that installs them."""

def _missing() -> list[tuple[str, str]]:
    """``(name, Debian package)`` of each need none of whose executables is on PATH."""
    return [(name, package) for name, executables, package in NEEDS
            if not any(shutil.which(e) for e in executables)]


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
              "not found on PATH", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
