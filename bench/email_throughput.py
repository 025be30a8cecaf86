"""1. Email throughput: the real dispatch path against two baselines, one sink, one run.

- dispatch: `Dispatcher.cycle(now)` on a synthetic config where N distinct agencies are
  due at `now` (no digest merging): plan → ledger claim (SQLite file) → render (Jinja2) →
  build_email → aiosmtplib over one connection → SentRecorder marks sent. Timed from the
  call to its return (every sent mark committed).
- limit (baseline a): the same N messages, rendered and built beforehand, sent by a bare
  `aiosmtplib.SMTP.send_message` loop over one connection: what the wire and the server
  allow a Python client on this machine.
- apprise (baseline b): the same N messages (subject and text) through Apprise's `mailto://`
  plugin to the same sink, one `Apprise` object per message built beforehand (a reused
  object would sleep 5.5 s between sends: Apprise's per-plugin throttle).

The sink (bench/sink.py) runs in its own process and counts what arrived; every run checks
that exactly N messages arrived.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.common import Sink, say, tmpdir
from bench.synth import DUE_AT, dispatch_config


@dataclass
class Prepared:
    settings: Any
    messages: list[Any]  # reminder.model.Message
    emails: list[Any]  # email.message.EmailMessage, as EmailChannel builds them


def _prepare(config: Path) -> Prepared:
    from reminder.channels.email import build_email
    from reminder.config import load
    from reminder.dispatch import _domain
    from reminder.planner import plan
    from reminder.render import Renderer

    settings = load(config)
    now = DUE_AT
    due = plan(settings.catalog, now - settings.catch_up, now, channels=settings.channels)
    renderer = Renderer(settings.catalog, settings.templates_dir)
    today = now.astimezone(settings.catalog.calendar.timezone).date()
    domain = _domain(settings)
    messages = [renderer.render([r], today=today, message_id_domain=domain) for r in due]
    smtp = settings.smtp
    assert smtp is not None, "the bench config uses the smtp transport"
    emails = [build_email(m, smtp.sender, smtp.reply_to) for m in messages]
    return Prepared(settings, messages, emails)


async def _limit(port: int, emails: list[Any]) -> float:
    import aiosmtplib

    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
    await smtp.connect()
    t0 = time.perf_counter()
    for msg in emails:
        await smtp.send_message(msg)
    elapsed = time.perf_counter() - t0
    await smtp.quit()
    return elapsed


async def _dispatch(settings: Any, folder: Path, rep: int) -> tuple[float, Any]:
    from reminder.dispatch import Dispatcher
    from reminder.ledger import Ledger

    ledger = Ledger(f"sqlite:///{folder}/ledger-{rep}.db", lease=settings.lease)
    ledger.migrate()
    try:
        dispatcher = Dispatcher(settings, ledger)
        t0 = time.perf_counter()
        outcome = await dispatcher.cycle(DUE_AT)
        elapsed = time.perf_counter() - t0
        from reminder.ledger import Status

        sent_rows = len(ledger.history(limit=10**7, status=Status.SENT))
    finally:
        ledger.close()
    if outcome.messages != outcome.sent or sent_rows != outcome.sent:
        raise RuntimeError(f"dispatch: {outcome}; {sent_rows} rows marked sent")
    return elapsed, outcome


def _apprise(port: int, messages: list[Any]) -> float:
    """Seconds to send `messages` through Apprise (one prepared Apprise object each)."""
    import apprise

    asset = apprise.AppriseAsset(storage_mode="memory")  # write nothing to the home folder
    sender = quote("nhachan@bench.example")
    objs = []
    for m in messages:
        a = apprise.Apprise(asset=asset)
        url = (
            f"mailto://127.0.0.1:{port}?from={sender}&to={quote(m.address)}"
            f"&name={quote('Văn phòng UBND tỉnh')}&format=text"
        )
        if not a.add(url):
            raise RuntimeError(f"Apprise refused {url}")
        objs.append((a, m))
    t0 = time.perf_counter()
    failed = 0
    for a, m in objs:
        if not a.notify(body=m.text, title=m.subject):
            failed += 1
    elapsed = time.perf_counter() - t0
    if failed:
        raise RuntimeError(f"Apprise: {failed} notify() calls failed")
    return elapsed


def run(quick: bool) -> dict[str, Any]:
    n = 500 if quick else 5000
    n_apprise = 150 if quick else n  # Apprise is slow: the quick run sends it fewer
    reps = 1 if quick else 2
    say(f"\n== 1. Email throughput: {n} due reminders, {n} distinct agencies ==")
    res: dict[str, Any] = {"n": n, "n_apprise": n_apprise}
    with tmpdir("email") as folder, Sink() as sink:
        config = dispatch_config(folder, n, smtp_port=sink.port)
        t0 = time.perf_counter()
        prep = _prepare(config)
        say(f"  prepared {len(prep.messages)} messages in {time.perf_counter() - t0:.1f} s")
        # The prepared messages are millions of objects the daemon never holds: out of the
        # garbage collector's sight, so that its passes during both legs do not walk them.
        gc.freeze()
        assert len(prep.messages) == n, len(prep.messages)

        limit_runs, dispatch_runs = [], []
        for rep in range(reps):
            sink.reset()
            secs = asyncio.run(_limit(sink.port, prep.emails))
            got = sink.wait_for(n)
            assert got == n, f"limit: sink got {got} of {n}"
            limit_runs.append(n / secs)
            say(f"  (a) aiosmtplib loop, one connection: {n / secs:7.0f} msg/s ({secs:.2f} s)")

            sink.reset()
            secs, outcome = asyncio.run(_dispatch(prep.settings, folder, rep))
            got = sink.wait_for(n)
            conns = sink.connections()
            assert got == n, f"dispatch: sink got {got} of {n}"
            dispatch_runs.append(n / secs)
            say(
                f"  dispatch cycle (plan→claim→render→send→mark): {n / secs:7.0f} msg/s "
                f"({secs:.2f} s, {outcome.messages} messages, {conns} connection(s))"
            )

        sink.reset()
        secs = _apprise(sink.port, prep.messages[:n_apprise])
        got = sink.wait_for(n_apprise)
        conns = sink.connections()
        assert got == n_apprise, f"apprise: sink got {got} of {n_apprise}"
        apprise_rate = n_apprise / secs
        say(
            f"  (b) Apprise mailto://: {apprise_rate:7.0f} msg/s ({n_apprise} messages in "
            f"{secs:.2f} s, {conns} connections)"
        )

    limit_rate, dispatch_rate = max(limit_runs), max(dispatch_runs)
    res.update(
        limit_msgs_s=round(limit_rate, 1),
        dispatch_msgs_s=round(dispatch_rate, 1),
        apprise_msgs_s=round(apprise_rate, 1),
        limit_runs=[round(x, 1) for x in limit_runs],
        dispatch_runs=[round(x, 1) for x in dispatch_runs],
        email_vs_limit=round(dispatch_rate / limit_rate, 3),
        email_vs_apprise=round(dispatch_rate / apprise_rate, 2),
    )
    say(
        f"  → dispatch/limit = {res['email_vs_limit']:.2f} (goal ≥ 0.6), "
        f"dispatch/Apprise = {res['email_vs_apprise']:.1f}× (goal ≥ 8×)  [best of {reps}]"
    )
    return res


if __name__ == "__main__":  # for profiling: pyinstrument -m bench.email_throughput
    import sys

    run("--quick" in sys.argv)
