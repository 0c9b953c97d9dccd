"""Install the system packages the verification suite needs, or stop with one line naming them.

Run by tox before the tests (``commands_pre``).  The suite needs a headless Chromium to open
the case report (its WebGL 3-D view).  Where it is missing and this is a Debian machine with
root, it is installed from Debian's packages (``apt-get install chromium``); otherwise the run
stops here with one line saying what to install, rather than failing later in a scenario.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
"""Executables the case-report scenarios accept (the first found is used)."""

DEBIAN_PACKAGES = ("chromium",)
"""Debian packages that provide them."""


def _installed() -> bool:
    return any(shutil.which(name) for name in BROWSERS)


def main() -> int:
    """Exit 0 when the packages are there (installing them if possible), else 1 with a line."""
    if _installed():
        return 0
    wanted = " ".join(DEBIAN_PACKAGES)
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print(f"verification needs Chromium: install it (Debian: sudo apt-get install {wanted})",
              file=sys.stderr)
        return 1
    print(f"verification needs Chromium: installing the Debian package(s) {wanted}",
          file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *DEBIAN_PACKAGES]
    for command in (["apt-get", "update", "-qq"], install):
        if subprocess.run(command, env=env, check=False).returncode != 0:
            print(f"verification needs Chromium: `{' '.join(command)}` failed; install it "
                  f"(Debian: sudo apt-get install {wanted})", file=sys.stderr)
            return 1
    if not _installed():
        print(f"verification needs Chromium: {wanted} installed but no browser found on PATH",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
