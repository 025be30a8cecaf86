"""What /healthz reports: the daemon's own view of itself, kept up to date by its loop.

The daemon writes (in its event loop, no thread): when the scheduler last woke up and when
it wakes next, whether the ledger can be used, and per channel the last send that went
out and the last that failed. The web server reads it and judges (`problems`): healthy
when the scheduler woke up recently, the ledger answers, and no channel's latest send
failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

STALE = timedelta(minutes=15)  # no wake-up for this long: the scheduler is stuck (sweep: 5 min)


@dataclass
class ChannelHealth:
    last_sent: datetime | None = None
    last_error: datetime | None = None
    error: str = ""


@dataclass
class Health:
    """Updated by the daemon, read by /healthz."""

    started: datetime | None = None
    last_wake: datetime | None = None
    next_wake: datetime | None = None
    ledger_error: str = ""  # why the ledger cannot be used now; "" when it can
    channels: dict[str, ChannelHealth] = field(default_factory=dict)

    def sent(self, channel: str, at: datetime) -> None:
        self.channels.setdefault(channel, ChannelHealth()).last_sent = at

    def failed(self, channel: str, at: datetime, error: str) -> None:
        state = self.channels.setdefault(channel, ChannelHealth())
        state.last_error, state.error = at, error

    def problems(self, now: datetime, *, detail: bool = True) -> list[str]:
        """Why the daemon is not healthy at `now` (empty: healthy); without `detail`, no
        channel error texts (they may name addresses)."""
        found = []
        if self.last_wake is None:
            if self.started is None or now - self.started > STALE:
                found.append("scheduler: has not woken up since the start")
        elif now - self.last_wake > STALE:
            found.append(f"scheduler: no wake-up since {_at(self.last_wake)}")
        if self.ledger_error:
            found.append(f"ledger: {self.ledger_error}")
        for name, state in sorted(self.channels.items()):
            if state.last_error and (state.last_sent is None or state.last_sent < state.last_error):
                why = f": {state.error}" if detail else ""
                found.append(f"{name}: the last send failed at {_at(state.last_error)}{why}")
        return found

    def report(self, *, detail: bool = True) -> list[str]:
        """One line per thing watched, whether healthy or not."""
        lines = [
            f"scheduler: last wake-up {_at(self.last_wake)}, next {_at(self.next_wake)}",
            f"ledger: {self.ledger_error or 'ok'}",
        ]
        for name, state in sorted(self.channels.items()):
            error = _at(state.last_error)
            if state.last_error and detail:
                error += f": {state.error}"
            lines.append(f"{name}: last sent {_at(state.last_sent)}; last error {error}")
        return lines


def _at(instant: datetime | None) -> str:
    return instant.isoformat(timespec="seconds") if instant else "none"
