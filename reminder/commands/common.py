"""Helpers the subcommands share: the clock, the settings, a task by its name, the ledger,
the state folder's owner, output files.

Only the commands and the daemon read the clock; everything below takes `now`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reminder.config import Settings, load
from reminder.exitcodes import (
    EX_CANTCREAT,
    EX_DATAERR,
    EX_NOPERM,
    EX_UNAVAILABLE,
    EX_USAGE,
    UsageError,
)
from reminder.model import VN_TZ, AmbiguousTask, Catalog, Completion, Task

if TYPE_CHECKING:
    from reminder.ledger import Ledger


_T = TypeVar("_T")


def run_async(main: Coroutine[Any, Any, _T]) -> _T:
    """asyncio.run(main). asyncio is imported here, by the commands that use it: importing it
    is ~20 ms of every start, a tenth of `reminder check`."""
    import asyncio

    return asyncio.run(main)


def now_of(args: argparse.Namespace) -> datetime:
    now: datetime | None = getattr(args, "now", None)
    return now if now is not None else datetime.now(VN_TZ)


def settings_of(args: argparse.Namespace, *, channel_secrets: bool = True) -> Settings:
    """The configuration; channel_secrets=False for a command that neither sends nor signs
    (no bot token or SMTP password is asked for: config.load)."""
    return load(args.config, channel_secrets=channel_secrets)


def task_of(settings: Settings, ref: str, code: int = EX_DATAERR) -> Task:
    """The task `ref` names ("<plan>/<number>", an id, a bare number while one plan has it).
    Unknown: UsageError(code, 65 unless said); a bare number several plans have: 64, with the
    candidates."""
    catalog = settings.catalog
    try:
        return catalog.task(ref)
    except AmbiguousTask as exc:
        raise UsageError(
            f"task {ref!r} is ambiguous: {len(exc.candidates)} plans have it; "
            f"say which: {', '.join(exc.candidates)}",
            EX_USAGE,
        ) from None
    except KeyError:
        known = ", ".join(
            catalog.name_of(t) if t.id == t.name else f"{catalog.name_of(t)}/{t.id}"
            for t in catalog.tasks
        )
        raise UsageError(f"no task {ref!r} in {settings.source} (known: {known})", code) from None


def agency_of(settings: Settings, ref: str) -> str:
    """`ref` if it is an agency or group id of the configuration, else UsageError (65)."""
    if ref not in settings.catalog.agencies:
        known = ", ".join(settings.catalog.agencies)
        raise UsageError(
            f"no agency or group {ref!r} in {settings.source} (known: {known})", EX_DATAERR
        )
    return ref


def plan_catalog(settings: Settings, ref: str | None) -> Catalog:
    """The catalog, or only the plan `ref` (--plan); UsageError (65) for an unknown plan."""
    catalog = settings.catalog
    if ref is None:
        return catalog
    plan = catalog.plans.get(ref)
    if plan is None:
        known = ", ".join(catalog.plans)
        raise UsageError(f"no plan {ref!r} in {settings.source} (known: {known})", EX_DATAERR)
    from dataclasses import replace

    tasks = tuple(t for t in catalog.tasks if t.plan == ref)
    return replace(catalog, plan=plan, plans={ref: plan}, tasks=tasks)


def print_warnings(settings: Settings) -> None:
    for w in settings.warnings:
        print(f"warning: {w}", file=sys.stderr)


def current_completions(settings: Settings) -> dict[tuple[str, str, str], Completion]:
    """The current completion records, which the daemon reads before planning; {} while the
    ledger does not exist yet (a view does not create it)."""
    from reminder import ledgerread

    prefix = "sqlite:///"
    url = settings.database_url
    if url == prefix + ":memory:" or (url.startswith(prefix) and not Path(url[10:]).exists()):
        return {}
    quick = ledgerread.current_completions(url)  # sqlite3, read-only: no SQLAlchemy import
    if quick is not None:
        return quick
    from reminder.ledger import Ledger

    try:  # read as it is: alembic (half the import time) only when the schema is behind
        with Ledger(url, lease=settings.lease) as ledger:
            return ledger.completions.current()
    except Exception:  # an older schema, or a ledger that cannot be opened: migrate, or
        pass  # exit 69 with the path and the reason
    ledger = ledger_of(settings)
    try:
        return ledger.completions.current()
    finally:
        ledger.close()


def refuse_foreign_state(settings: Settings, *, ledger: bool, outbox: bool) -> None:
    """UsageError (77) if this command would write the ledger or the outbox in a folder that
    belongs to another user (the service's): the files it made would lock the service out;
    (69) if it is root's folder and this process is not root: it cannot write there at all."""
    import os

    from reminder import statedir

    paths = statedir.written_paths(
        settings.database_url if ledger else None, settings.outbox.directory if outbox else None
    )
    found = statedir.foreign_owner(paths, os.geteuid())
    if found is not None:
        as_owner, why = statedir.explain(found, os.geteuid(), settings.database_url)
        raise UsageError(why, EX_NOPERM if as_owner else EX_UNAVAILABLE)


def uses_outbox(settings: Settings, channel: str | None = None) -> bool:
    transports = {
        "email": settings.email_transport,
        "telegram": settings.telegram_transport,
        "zalo": settings.zalo_transport,
    }
    wanted = [transports[channel]] if channel else list(transports.values())
    return "outbox" in wanted


def ledger_of(settings: Settings) -> Ledger:
    """The ledger, migrated to the current schema (imports the database libraries); exit 69
    with the path and the operating system's reason when it cannot be opened."""
    from reminder.ledger import LedgerError, open_ledger

    refuse_foreign_state(settings, ledger=True, outbox=False)
    try:
        return open_ledger(
            settings.database_url, lease=settings.lease, password=settings.database_password
        )
    except LedgerError as exc:
        raise UsageError(str(exc), EX_UNAVAILABLE) from None


def write_output(path: str, data: bytes) -> None:
    from pathlib import Path

    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}", EX_CANTCREAT) from None
