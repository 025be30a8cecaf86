"""Who holds a claim, and whether that process is gone.

A claim records its owner as `host:pid:boot:pidns:start`:
- host: the host name;
- pid: the process id;
- boot: the kernel's boot id (/proc/sys/kernel/random/boot_id), new at every boot;
- pidns: the process's PID namespace (the inode of /proc/self/ns/pid), so that two
  containers on one kernel, whose pids overlap, are never taken for each other;
- start: the process's start time in clock ticks since boot (/proc/PID/stat), so that a
  pid the kernel gave to a new process is not taken for the old owner.

`gone(text)` is True only when the owner is certainly dead: the same host, boot and PID
namespace as this process, and no process with that pid and start time. Anything else (another
host, another boot, another namespace, an owner written by an older version as `host:pid`,
a system without /proc) is undecidable here: the claim then waits for its lease.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["Owner", "current", "gone"]

PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class Owner:
    """One process, as the ledger's owner column names it."""

    host: str
    pid: int
    boot: str = ""  # '' when unknown (no /proc)
    pidns: str = ""
    start: int = 0

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.boot}:{self.pidns}:{self.start}"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """The owner written by `str(owner)`; None for anything else (e.g. old `host:pid`)."""
        parts = text.split(":")
        if len(parts) != 5 or not parts[1].isdigit() or not parts[4].isdigit():
            return None
        host, pid, boot, pidns, start = parts
        return cls(host, int(pid), boot, pidns, int(start))


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time after boot, in clock ticks); None if no such
    process. The command name (field 2) may hold spaces and ')', so split after its last ')'."""
    stat = _read(PROC / str(pid) / "stat")
    if not stat:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else None


def _pidns() -> str:
    try:
        link = os.readlink(PROC / "self" / "ns" / "pid")  # 'pid:[4026531836]'
    except OSError:
        return ""
    return "".join(c for c in link if c.isdigit())


@cache
def _this_boot() -> tuple[str, str]:
    return _read(PROC / "sys" / "kernel" / "random" / "boot_id"), _pidns()


def current() -> Owner:
    """This process."""
    boot, pidns = _this_boot()
    pid = os.getpid()
    return Owner(socket.gethostname(), pid, boot, pidns, _start_ticks(pid) or 0)


def gone(text: str) -> bool:
    """True if the owner named by `text` is certainly a dead process (see the module doc)."""
    owner = Owner.parse(text)
    if owner is None or not owner.boot or not owner.pidns or not owner.start:
        return False
    boot, pidns = _this_boot()
    if (owner.host, owner.boot, owner.pidns) != (socket.gethostname(), boot, pidns):
        return False
    return _start_ticks(owner.pid) != owner.start
