"""Viewer sessions, kept by the server: a random cookie names one, and logging out ends it.

A session ends when the viewer logs out, after `idle` seconds without a request, `absolute`
seconds after logging in whatever happens, and when the viewer password changes (a
reload with a new password ends every session). They live in the daemon's memory: a
restart asks everyone to log in again. Only a hash of each cookie is kept, and the table
is bounded (`max_sessions`; the least recently used goes first).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600


@dataclass
class Session:
    opened: float
    seen: float
    password: bytes  # a hash of the password it was opened with


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class Sessions:
    """The open sessions, by the hash of their cookie."""

    def __init__(
        self,
        idle: float = IDLE_SECONDS,
        absolute: float = ABSOLUTE_SECONDS,
        max_sessions: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle = idle
        self.absolute = absolute
        self.max_sessions = max_sessions
        self.clock = clock
        self.open_: dict[bytes, Session] = {}

    def open(self, password: str) -> str:
        """A new session for a viewer who typed `password`: the cookie's value."""
        now = self.clock()
        if len(self.open_) >= self.max_sessions:
            self._make_room(now)
        token = secrets.token_urlsafe(32)
        self.open_[_digest(token)] = Session(now, now, _digest(password))
        return token

    def check(self, token: str, password: str) -> bool:
        """Whether `token` names a live session opened with the current `password`; a
        live one counts as used now (its idle time starts again)."""
        if not token or len(token) > 100:
            return False
        key = _digest(token)
        session = self.open_.get(key)
        if session is None:
            return False
        now = self.clock()
        if not self._alive(session, now) or not hmac.compare_digest(
            session.password, _digest(password)
        ):
            del self.open_[key]
            return False
        session.seen = now
        return True

    def close(self, token: str) -> None:
        """End the session `token` names (logging out); nothing if there is none."""
        self.open_.pop(_digest(token), None)

    def _alive(self, session: Session, now: float) -> bool:
        return now - session.seen < self.idle and now - session.opened < self.absolute

    def _make_room(self, now: float) -> None:
        for key in [k for k, s in self.open_.items() if not self._alive(s, now)]:
            del self.open_[key]
        while len(self.open_) >= self.max_sessions:
            del self.open_[min(self.open_, key=lambda k: self.open_[k].seen)]
