"""Operations: `run` (the daemon, or --once), `send-test`, `doctor`, `ledger copy`."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from reminder.commands.common import (
    ledger_of,
    now_of,
    refuse_foreign_state,
    run_async,
    settings_of,
    uses_outbox,
)
from reminder.config import Settings
from reminder.exitcodes import (
    EX_CONFIG,
    EX_DATAERR,
    EX_OK,
    EX_TEMPFAIL,
    EX_UNAVAILABLE,
    UsageError,
)
from reminder.model import Message

if TYPE_CHECKING:
    from reminder.channels.base import Channel, Receipt

LEDGER_WAIT = 60.0  # seconds `run --once` waits for a ledger that refuses writes (full disk)


def run(args: argparse.Namespace) -> int:
    """`run --once`: one dispatch cycle at --now; `run`: the daemon."""
    from reminder.logs import setup_logging

    setup_logging(args.log_level)
    if not args.once:
        _stop_quietly_while_starting()
        from reminder.daemon import serve

        return serve(args.config, now=args.now)
    settings = settings_of(args)
    refuse_foreign_state(settings, ledger=True, outbox=uses_outbox(settings))
    return run_async(_run_once(settings, now_of(args)))


def _stop_quietly_while_starting() -> None:
    """Until the daemon installs its own handlers, SIGTERM/SIGINT end start-up with exit 0."""
    import signal

    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(EX_OK)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


async def _run_once(settings: Settings, now: datetime) -> int:
    """One cycle. A ledger that refuses writes (a full disk) is waited for LEDGER_WAIT
    seconds at most, then exit 75 with the reason; SIGTERM/SIGINT stop it as they stop the
    daemon: what went out is recorded if the ledger lets it, one line says what is left,
    exit 0."""
    import asyncio
    import signal

    from reminder.dispatch import Dispatcher
    from reminder.ledger import LedgerUnwritable
    from reminder.recorder import GaveUpWaiting

    ledger = await asyncio.to_thread(ledger_of, settings)
    dispatcher = Dispatcher(settings, ledger)
    dispatcher.ledger_patience = LEDGER_WAIT
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None
    stopped: list[int] = []

    def stop(sig: int) -> None:
        stopped.append(sig)
        task.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)
    try:
        outcome = await dispatcher.cycle(now)
    except GaveUpWaiting as exc:
        raise UsageError(f"{exc}: free space and run again", EX_TEMPFAIL) from None
    except LedgerUnwritable as exc:  # refused before anything was claimed
        raise UsageError(f"{exc}: nothing was sent; run again later", EX_TEMPFAIL) from None
    except asyncio.CancelledError:
        if not stopped:
            raise
        left = await asyncio.to_thread(ledger.held, dispatcher.owner)
        print(
            f"reminder run: stopped by {signal.Signals(stopped[0]).name}: {left} reminder(s) "
            "left claimed; they go out at the next run",
            file=sys.stderr,
        )
        return EX_OK
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await asyncio.to_thread(ledger.close)
    print(f"{now.isoformat()}: {outcome}")
    if outcome.failed:
        return EX_TEMPFAIL  # some will be retried: run again later
    return EX_UNAVAILABLE if outcome.gave_up else EX_OK  # given up: ops must look (history)


def send_test(args: argparse.Namespace) -> int:
    """Send a test message through the configured channel, to check credentials."""
    from reminder.channels import make_channels
    from reminder.channels.base import ChannelError
    from reminder.render import Renderer

    settings = settings_of(args)
    _check_address(args.channel, args.address)
    channel = make_channels(settings).get(args.channel)
    if channel is None:
        raise UsageError(f"the {args.channel} channel is off in {settings.source}", EX_CONFIG)
    refuse_foreign_state(settings, ledger=False, outbox=uses_outbox(settings, args.channel))
    message = Renderer(settings.catalog, settings.templates_dir).test_message(
        args.channel, args.address, now_of(args)
    )
    try:
        receipt = run_async(_send(channel, message))
    except ChannelError as exc:
        kind = "permanent" if exc.permanent else "temporary"
        raise UsageError(
            f"failed ({kind}): {exc}", EX_UNAVAILABLE if exc.permanent else EX_TEMPFAIL
        ) from None
    print(f"sent to {args.address} via {args.channel}: {receipt.note or 'ok'}")
    return EX_OK


def _check_address(channel: str, address: str) -> None:
    """UsageError (65) unless `address` is one the config would accept for `channel`."""
    from reminder.config.schema import chat_problem, email_problem, zalo_chat_problem

    check = {"email": email_problem, "zalo": zalo_chat_problem}.get(channel, chat_problem)
    problem = check(address)
    if problem:
        raise UsageError(f"{problem} (got {address!r})", EX_DATAERR)


async def _send(channel: Channel, message: Message) -> Receipt:
    await channel.open()
    try:
        return await channel.send(message)
    finally:
        await channel.close()


def doctor(args: argparse.Namespace) -> int:
    """One line per check, OK / WARN / FAIL; exit 1 if any check failed."""
    import os

    from reminder.doctor import FAIL, diagnose

    settings = settings_of(args)
    findings = run_async(diagnose(settings, euid=os.geteuid()))
    for finding in findings:
        print(finding.line)
    return 1 if any(f.level == FAIL for f in findings) else EX_OK


def ledger(args: argparse.Namespace) -> int:
    """`ledger copy --to URL`: the configured ledger into an empty PostgreSQL database."""
    from urllib.parse import urlsplit

    from reminder.ledger import LedgerError
    from reminder.ledgercopy import copy_ledger
    from reminder.secrets import read_secret

    settings = settings_of(args)
    target = args.to
    parts = urlsplit(target)
    if not parts.scheme.startswith("postgresql") or "://" not in target:
        raise UsageError("--to: expected postgresql+psycopg://USER@HOST[:PORT]/DB")
    if parts.password is not None:
        raise UsageError(
            "--to: leave the password out of the URL (it would stay in the shell history): "
            "set $REMINDER_DATABASE_PASSWORD or use ~/.pgpass"
        )
    password = read_secret(
        env="REMINDER_DATABASE_PASSWORD", file=None, credential="database_password"
    )
    try:
        done = copy_ledger(
            settings.database_url,
            target,
            source_password=settings.database_password,
            target_password=password,
        )
    except LedgerError as exc:
        raise UsageError(str(exc), EX_UNAVAILABLE) from None
    print(f"copied {done.source} → {done.target}; rows per table (checked on both sides):")
    for table, rows in done.rows.items():
        print(f"  {table:<24} {rows:>9,}")
    print(
        "\nNow, with every daemon stopped, set in config.toml:\n\n"
        f'  [database]\n  url = "{target}"\n\n'
        "give the password as the systemd credential database_password (or "
        "$REMINDER_DATABASE_PASSWORD, or password_file), install psycopg "
        "(pip install 'reminder[postgres]'), run `reminder check`, and start the daemons "
        "(docs/ha.md). The old ledger is left as it was."
    )
    return EX_OK
