"""What ops rely on after an install or upgrade: the version of the running code."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version as installed_version
from pathlib import Path

import reminder

BIN = Path(sys.executable).parent / "reminder"


def test_version_names_the_installed_build() -> None:
    """`reminder --version` prints the installed package's version, which names a commit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDER_")}
    done = subprocess.run(
        [str(BIN), "--version"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"reminder {installed_version('reminder')}\n"
    assert reminder.version() == reminder.__version__ == installed_version("reminder")
