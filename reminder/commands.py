"""The `reminder` subcommands. Each takes the parsed arguments and returns an exit code.

Only this module and the daemon read the clock; everything below takes `now`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta

from reminder.cli import EX_OK, UsageError
from reminder.config import ConfigError, Problem, Settings, load
from reminder.model import VN_TZ, Task


def _now(args: argparse.Namespace) -> datetime:
    now: datetime | None = getattr(args, "now", None)
    return now if now is not None else datetime.now(VN_TZ)


def _settings(args: argparse.Namespace) -> Settings:
    return load(args.config)


def _task(settings: Settings, ref: str) -> Task:
    try:
        return settings.catalog.task(ref)
    except KeyError:
        known = ", ".join(f"{t.number}/{t.id}" for t in settings.catalog.tasks)
        raise UsageError(f"no task {ref!r} in {settings.source} (known: {known})") from None


def _warnings(settings: Settings) -> None:
    for w in settings.warnings:
        print(f"warning: {w}", file=sys.stderr)


def check(args: argparse.Namespace) -> int:
    """Validate config and templates; print a short summary and the next deadlines."""
    from reminder import views
    from reminder.render import Renderer
    from reminder.workdays import WorkCalendar

    settings = _settings(args)
    template_problems = Renderer(settings.catalog, settings.templates_dir).check()
    if template_problems:
        raise ConfigError(
            [Problem(settings.source, None, "templates", p) for p in template_problems]
        )
    _warnings(settings)
    cat = settings.catalog
    groups = sum(1 for a in cat.agencies.values() if a.is_group)
    print(
        f"{settings.source}: OK — {len(cat.tasks)} tasks, {len(cat.agencies) - groups} agencies, "
        f"{groups} groups, {len(settings.warnings)} warning(s)"
    )
    transports = f"email → {settings.email_transport}, telegram → {settings.telegram_transport}"
    print(
        f"  delivery: {transports}; outbox {settings.outbox.directory}; ledger {_safe_url(settings.database_url)}"
    )
    print("  next deadlines:")
    now = _now(args)
    print("\n".join(views.next_deadlines(cat, now, WorkCalendar(cat.calendar))))
    return EX_OK


def _safe_url(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def upcoming(args: argparse.Namespace) -> int:
    """List the reminders due in the next --days days."""
    from reminder import views
    from reminder.planner import plan

    settings = _settings(args)
    if args.agency and args.agency not in settings.catalog.agencies:
        raise UsageError(f"no agency or group {args.agency!r} in {settings.source}")
    now = _now(args)
    until = now + timedelta(days=args.days)
    found = plan(settings.catalog, now, until, channels=settings.channels)
    if args.agency:
        found = [r for r in found if args.agency in (r.agency, r.named_as)]
    if args.json:
        print(views.upcoming_json(found))
    else:
        _warnings(settings)
        print(views.upcoming_table(settings.catalog, found, now, until))
    return EX_OK


def explain(args: argparse.Namespace) -> int:
    """Explain one task's deadlines and reminders."""
    from reminder import views

    settings = _settings(args)
    task = _task(settings, args.task)
    print(views.explain(settings.catalog, task, _now(args), args.years, settings.channels))
    return EX_OK


def run(args: argparse.Namespace) -> int:
    raise UsageError("not available yet", 69)


def preview(args: argparse.Namespace) -> int:
    raise UsageError("not available yet", 69)


def send_test(args: argparse.Namespace) -> int:
    raise UsageError("not available yet", 69)


def history(args: argparse.Namespace) -> int:
    raise UsageError("not available yet", 69)


def done(args: argparse.Namespace) -> int:
    raise UsageError("not available yet", 69)


def telegram_chats(args: argparse.Namespace) -> int:
    raise UsageError("not available yet", 69)
