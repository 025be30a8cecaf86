"""Send-rate pacing shared by the chat channels (Telegram, Zalo): sliding-window limits.

A `Rate` says "at most n messages in any window of s seconds"; a `Window` is the log of one
such limit and tells how long to wait before one more message fits; an `AnsweredWindow`
counts each message until a window after the server answered it.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple


class Rate(NamedTuple):
    """At most `messages` messages in any `seconds`-long window."""

    messages: int
    seconds: float


class Window:
    """A sliding-window log: at most `rate.messages` events in any `rate.seconds`.

    The window is kept a little longer than the rate says (`slack`: 2%, at most 50 ms by
    default), so that scheduling and network jitter between our clock and the server's
    rarely make two sends look closer than allowed; a 429 that comes all the same is waited
    out and the send tried again. A window that counts a message from the server's answer
    (not from when it leaves) needs no slack: pass (0, 0).
    """

    def __init__(self, rate: Rate, slack: tuple[float, float] = (0.02, 0.05)) -> None:
        self.rate = rate
        self.slack = slack
        self.times: deque[float] = deque()

    def delay(self, now: float) -> float:
        count, seconds = self.rate
        seconds += min(self.slack[0] * seconds, self.slack[1])
        while self.times and now - self.times[0] >= seconds:
            self.times.popleft()
        if len(self.times) < count:
            return 0.0
        return self.times[0] + seconds - now

    def record(self, now: float) -> None:
        self.times.append(now)


class AnsweredWindow:
    """A sliding window that counts each message from the server's answer: a message takes
    a place when it leaves and keeps it until `rate.seconds` after its answer.

    Slower than counting from departure by one round trip per window, but safe whatever
    happens between the place being taken and the request reaching the server (a busy
    event loop rendering other messages, a new connection): the server, which counts
    arrivals, can never see more than `rate.messages` in a window.
    """

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._ends: dict[int, float] = {}  # place → when it frees (inf while in flight)
        self._next = 0

    def delay(self, now: float) -> float:
        """Seconds until a place is free (0: now). An inf when every place is in flight."""
        for place in [p for p, end in self._ends.items() if end <= now]:
            del self._ends[place]
        if len(self._ends) < self.rate.messages:
            return 0.0
        return min(self._ends.values()) - now

    def take(self) -> int:
        place, self._next = self._next, self._next + 1
        self._ends[place] = float("inf")
        return place

    def answered(self, place: int, now: float) -> None:
        if place in self._ends:
            self._ends[place] = now + self.rate.seconds
