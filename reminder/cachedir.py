"""The cache folder: what a process may keep between runs to start faster, nothing more.

$REMINDER_CACHE_DIR, else $CACHE_DIRECTORY (set by systemd's CacheDirectory=), else
$XDG_CACHE_HOME/reminder, else ~/.cache/reminder. Everything in it can be deleted at any
time; a folder that cannot be read or written only makes the program slower.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Where caches live (see the module's docstring)."""
    for name in ("REMINDER_CACHE_DIR", "CACHE_DIRECTORY"):
        value = os.environ.get(name)
        if value:
            return Path(value.split(":")[0])  # systemd lists one folder per CacheDirectory=
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reminder"
