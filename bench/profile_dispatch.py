"""Where the email dispatch cycle spends its time (not part of `python -m bench`).

    uv run --group bench python -m bench.profile_dispatch [N]     # per-stage wall times
    uv run --group bench pyinstrument -m bench.profile_dispatch   # the cycle's call tree

One `Dispatcher.cycle` on the email throughput config (N due reminders, default 5,000) to the
sink process, with each stage's wall time summed: planning, claiming, rendering, building
the MIME message, the SMTP transaction (flattening + 4 round trips), and the sent marks
(committed in groups by the sent-mark Recorder in a worker thread, so they overlap the sends). pyinstrument
sees the event loop's thread only; the ledger thread shows as time the loop waits.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.common import Sink, say, tmpdir
from bench.synth import DUE_AT, dispatch_config

TOTALS: dict[str, float] = {}


def _timed(label: str, f: Callable[..., Any]) -> Callable[..., Any]:
    if asyncio.iscoroutinefunction(f):

        @functools.wraps(f)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return await f(*args, **kwargs)
            finally:
                TOTALS[label] = TOTALS.get(label, 0.0) + time.perf_counter() - t0

        return timed_async

    @functools.wraps(f)
    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            TOTALS[label] = TOTALS.get(label, 0.0) + time.perf_counter() - t0

    return timed


def instrument() -> None:
    import reminder.channels.email as email_channel
    import reminder.dispatch as dispatch
    import reminder.ledger as ledger
    import reminder.recorder as recorder
    import reminder.render as render

    stages: list[tuple[Any, str, str]] = [
        (dispatch.Dispatcher, "due", "plan (due: two windows)"),
        (ledger.Ledger, "claim", "ledger claim"),
        (render.Renderer, "render", "render (Jinja2)"),
        (email_channel, "build_email", "build_email (MIME)"),
        (email_channel.EmailChannel, "_transmit", "SMTP transaction"),
        (ledger.Ledger, "record_sent", "mark sent (ledger thread, one commit per group)"),
        (recorder.Recorder, "sent", "Recorder.sent"),
        (recorder.Recorder, "admit", "Recorder.admit"),
    ]
    for owner, name, label in stages:
        setattr(owner, name, _timed(label, getattr(owner, name)))


def main(n: int) -> None:
    from reminder.config import load
    from reminder.dispatch import Dispatcher
    from reminder.ledger import Ledger

    instrument()
    with tmpdir("profile") as folder, Sink() as sink:
        settings = load(dispatch_config(folder, n, smtp_port=sink.port))
        ledger = Ledger(f"sqlite:///{folder}/ledger.db", lease=settings.lease)
        ledger.migrate()
        dispatcher = Dispatcher(settings, ledger)
        dispatcher.due(DUE_AT)  # load the holidays outside the timing
        TOTALS.clear()
        t0 = time.perf_counter()
        outcome = asyncio.run(dispatcher.cycle(DUE_AT))
        total = time.perf_counter() - t0
        ledger.close()
        assert sink.wait_for(n) == n
    say(f"{outcome}: {total:.2f} s, {n / total:.0f} msg/s")
    for label, secs in sorted(TOTALS.items(), key=lambda kv: -kv[1]):
        say(f"  {label:28s} {secs:7.2f} s  {secs / n * 1000:6.2f} ms/message  {secs / total:5.0%}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
