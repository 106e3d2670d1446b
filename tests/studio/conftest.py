"""The studio's browser test: Debian's chromium driven by Playwright (``make test-studio``).

Chromium comes from Debian (``apt-get install -y chromium``, done here when it is missing:
CI runs as root); Playwright is a dev dependency. ``playwright install`` is never run: it
downloads a browser build, which cannot be fetched here.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def ensure_chromium() -> str:
    """The path of Debian's chromium, installed with apt-get when it is missing."""
    found = shutil.which("chromium")
    if found is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
        found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("chromium is still missing after apt-get install -y chromium")
    return found


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium executable."""
    return ensure_chromium()
