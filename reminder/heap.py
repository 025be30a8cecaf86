"""Giving the memory freed by a burst of work back to the system (glibc's `malloc_trim`).

CPython returns its own small-object arenas to the system when they empty, but larger blocks
come from the C library's heap, and glibc keeps freed heap pages mapped: after the start-up
work (compiling modules that have no bytecode, the first planning, a migration) or a
sending batch, a few MB of freed memory stay counted in the daemon's RSS for the rest of its
life. `malloc_trim(0)` hands every wholly free page back (it takes well under a millisecond
here). Not glibc (musl, another OS): nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os

log = logging.getLogger("reminder.heap")

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@functools.cache
def _malloc_trim() -> object | None:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def rss_bytes() -> int | None:
    """This process's resident set size (as `ps` shows it), or None off Linux."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def trim(why: str) -> bool:
    """Give free heap pages back to the system; False where the C library cannot. Logs the
    RSS before and after at DEBUG."""
    fn = _malloc_trim()
    if fn is None:
        return False
    before = rss_bytes()
    fn(0)  # type: ignore[operator]
    after = rss_bytes()
    if before is not None and after is not None:
        log.debug("heap trimmed after %s: RSS %.1f → %.1f MB", why, before / 2**20, after / 2**20)
    return True
