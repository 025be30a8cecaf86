"""Send-rate pacing shared by the chat channels (Telegram, Zalo): sliding-window limits.

A `Rate` says "at most n messages in any window of s seconds"; a `Window` is the log of one
such limit and tells how long to wait before one more message fits.
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
