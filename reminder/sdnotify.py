"""Tell systemd how the daemon is doing (the sd_notify protocol, without libsystemd).

systemd passes the path of a datagram socket in ``$NOTIFY_SOCKET`` (a file path, or an
abstract socket name starting with "@") and reads ``KEY=VALUE`` lines from it: READY=1 once
started, RELOADING=1 while re-reading the configuration, STOPPING=1 when shutting down,
STATUS=<text> for ``systemctl status``, WATCHDOG=1 as a keep-alive. Outside systemd (no
``$NOTIFY_SOCKET``) every call is a no-op that returns False, so the daemon runs the same
from a terminal or from a test.

Nothing here raises because the socket is missing or broken: telling systemd is best effort,
and a failure is logged at debug level.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time

__all__ = [
    "notify",
    "ready",
    "reloading",
    "status",
    "stopping",
    "watchdog_interval",
    "watchdog_loop",
]

log = logging.getLogger(__name__)

# A send never blocks the event loop for longer than this (systemd reads its socket at once;
# a full queue means the manager is wedged, and waiting on it would not help).
_SEND_TIMEOUT = 1.0


def _one_line(text: str) -> str:
    """A value on one line: a newline would start a new KEY=VALUE assignment."""
    return " ".join(text.splitlines())


def notify(*lines: str) -> bool:
    """Send ``KEY=VALUE`` lines to systemd in one datagram; True when it was sent.

    False when ``$NOTIFY_SOCKET`` is unset (not started by systemd) or the send failed.
    """
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # a Linux abstract socket name
    elif not address.startswith("/"):
        log.debug("NOTIFY_SOCKET=%r is not a socket path; not notifying systemd", address)
        return False
    payload = "\n".join(lines).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(_SEND_TIMEOUT)
            sock.connect(address)
            sock.sendall(payload)
    except OSError as exc:
        log.debug("could not notify systemd at %r: %s", os.environ.get("NOTIFY_SOCKET"), exc)
        return False
    return True


def ready(status: str = "") -> bool:
    """Startup (or a reload) is complete: READY=1, with an optional STATUS= text."""
    lines = ["READY=1"]
    if status:
        lines.append(f"STATUS={_one_line(status)}")
    return notify(*lines)


def reloading() -> bool:
    """A reload has begun: RELOADING=1 with the CLOCK_MONOTONIC time in microseconds.

    Send ``ready()`` when the reload is over (whether the new configuration was taken or not).
    """
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={usec}")


def stopping() -> bool:
    """Shutdown has begun: STOPPING=1."""
    return notify("STOPPING=1")


def status(text: str) -> bool:
    """Set the one-line text that ``systemctl status`` shows: STATUS=<text>."""
    return notify(f"STATUS={_one_line(text)}")


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec=), or None if not asked for.

    None when ``$WATCHDOG_USEC`` is unset or invalid, or when ``$WATCHDOG_PID`` names
    another process (the variables were inherited, not meant for us).
    """
    raw_usec = os.environ.get("WATCHDOG_USEC", "")
    raw_pid = os.environ.get("WATCHDOG_PID", "")
    if raw_pid:
        try:
            if int(raw_pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        usec = int(raw_usec)
    except ValueError:
        return None
    if usec <= 0:
        return None
    return usec / 2_000_000


async def watchdog_loop(interval: float) -> None:
    """Send WATCHDOG=1 now and every ``interval`` seconds until cancelled.

    Run it as a task on the daemon's event loop: a ping that arrives proves the loop itself
    is still turning, so a wedged loop is restarted by systemd.
    """
    if interval <= 0:
        raise ValueError(f"watchdog interval must be positive, got {interval!r}")
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
