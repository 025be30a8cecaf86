"""Daily use: `check`, `upcoming`, `explain`, `preview`."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reminder.commands.common import (
    agency_of,
    current_completions,
    ledger_of,
    now_of,
    plan_catalog,
    print_warnings,
    settings_of,
    task_of,
)
from reminder.config import Settings
from reminder.exitcodes import (
    EX_DATAERR,
    EX_OK,
    UsageError,
)
from reminder.model import Role

if TYPE_CHECKING:
    from collections.abc import Mapping

    from reminder.model import Catalog, Completion, Reminder


def check(args: argparse.Namespace) -> int:
    """Validate config and templates; print a short summary and the next deadlines."""
    from reminder import views
    from reminder.render import load_checked
    from reminder.workdays import WorkCalendar

    settings = load_checked(args.config)
    print_warnings(settings)
    cat = settings.catalog
    groups = sum(1 for a in cat.agencies.values() if a.is_group)
    print(
        f"{settings.source}: OK — {len(cat.tasks)} tasks, {len(cat.agencies) - groups} agencies, "
        f"{groups} groups, {len(settings.warnings)} warning(s)"
    )
    transports = (
        f"email → {settings.email_transport}, telegram → {settings.telegram_transport}, "
        f"zalo → {settings.zalo_transport}"
    )
    print(
        f"  delivery: {transports}; outbox {settings.outbox.directory}; ledger {_safe_url(settings.database_url)}"
    )
    print(f"  answer-back: {_answer_back(settings)}")
    print(f"  plans: {_plans_line(settings)}")
    print("  next deadlines:")
    now = now_of(args)
    print("\n".join(views.next_deadlines(cat, now, WorkCalendar(cat.calendar))))
    return EX_OK


def _plans_line(settings: Settings) -> str:
    """The plans and their files; for a plan inline in config.toml, how to move it."""
    plans = settings.catalog.plans.values()
    files = [p for p in plans if p.source is not None]
    ids = ", ".join(p.id for p in files)
    said = (
        f"{len(files)} in {settings.plans_dir}/ ({ids})"
        if files
        else f"none in {settings.plans_dir}/"
    )
    for p in plans:
        if p.source is None:
            said += (
                f"; {p.id!r} inline in {settings.source.name}: move its [plan] (adding "
                f'id = "{p.id}") and [[tasks]] into {settings.plans_dir}/{p.id}.toml, each task\'s '
                "id becoming former_id and its number text in quotes (docs/config.md, Plan files): "
                "`reminder plans --move-inline` does it"
            )
    return said


def _answer_back(settings: Settings) -> str:
    """One line: the web server, the links in e-mails, the Telegram buttons ([web], poll)."""
    web, tg = settings.web, settings.telegram
    if web is None:
        return "off (no [web]: no confirmation links, buttons or pages)"
    server = f"pages on http://{web.listen[0]}:{web.listen[1]}" if web.listen else "no web server"
    links = (
        f"e-mail links to {web.public_url}" if web.public_url else "no e-mail links (no public_url)"
    )
    buttons = "Telegram buttons on (poll)" if tg is not None and tg.poll else "no Telegram buttons"
    return f"{server}; {links}; {buttons}"


def _safe_url(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def upcoming(args: argparse.Namespace) -> int:
    """List the reminders due in the next --days days (finished work left out, as the daemon
    leaves it out; the table says what was left out)."""
    from reminder import views
    from reminder.planner import plan

    settings = settings_of(args)
    if args.agency:
        agency_of(settings, args.agency)
    catalog = plan_catalog(settings, args.plan)
    now = now_of(args)
    until = now + timedelta(days=args.days)
    completions = current_completions(settings)
    everything = plan(catalog, now, until, channels=settings.channels)
    if args.agency:
        everything = [r for r in everything if args.agency in (r.agency, r.named_as)]
    found = [r for r in everything if not views.finished(r, completions)]
    followups = _followups(settings, catalog, now, until, completions)
    if args.agency:
        followups = [r for r in followups if args.agency in (r.agency, r.named_as)]
    elif args.plan is None:  # the weekly summary is the whole office's
        followups += _summaries(settings, catalog, now, until)
    found = sorted([*found, *followups], key=lambda r: (r.send_at, r.key))
    if args.json:
        print(views.upcoming_json(found))
    else:
        print_warnings(settings)
        print(views.upcoming_table(catalog, found, now, until))
        skipped = [r for r in everything if views.finished(r, completions)]
        lines = views.done_lines(catalog, skipped, completions)
        if lines:
            print("\n".join(lines))
    return EX_OK


def _followups(
    settings: Settings,
    catalog: Catalog,
    now: datetime,
    until: datetime,
    completions: Mapping[tuple[str, str, str], Completion],
) -> list[Reminder]:
    """The escalations ([escalation]) the daemon will send in [now, until], unless the work
    is recorded as done first."""
    if settings.escalation is None:
        return []
    from reminder.followup import escalations
    from reminder.workdays import WorkCalendar

    done = frozenset((t, o, m or None) for t, o, m in completions)
    cal = WorkCalendar(catalog.calendar)
    rule = settings.escalation
    return escalations(catalog, rule, now, until, channels=settings.channels, done=done, cal=cal)


def _summaries(
    settings: Settings, catalog: Catalog, now: datetime, until: datetime
) -> list[Reminder]:
    """The weekly summaries ([summary]) the daemon will send in [now, until]."""
    if settings.summary is None:
        return []
    from reminder.followup import summaries
    from reminder.workdays import WorkCalendar

    cal = WorkCalendar(catalog.calendar)
    return summaries(catalog, settings.summary, now, until, channels=settings.channels, cal=cal)


def explain(args: argparse.Namespace) -> int:
    """Explain one task's deadlines and reminders (and which work is recorded as done)."""
    from reminder import views

    settings = settings_of(args)
    task = task_of(settings, args.task)
    completions = current_completions(settings)
    catalog = settings.catalog
    if settings.telegram is not None and settings.telegram.poll:
        from dataclasses import replace

        from reminder.recipients import with_linked_chats

        ledger = ledger_of(settings)  # chats linked with `reminder telegram-link` receive too
        try:
            linked = ledger.replies.linked_chats()
        finally:
            ledger.close()
        catalog = replace(catalog, agencies=with_linked_chats(catalog.agencies, linked))
    print(views.explain(catalog, task, now_of(args), args.years, settings.channels, completions))
    return EX_OK


def preview(args: argparse.Namespace) -> int:
    """Print the message the daemon will send for the task's next reminder: to the lead (or
    --agency), on --channel, merged with every other reminder due to that address then."""
    from reminder import views
    from reminder.links import AnswerLinks
    from reminder.planner import plan
    from reminder.render import Renderer, digests

    settings = settings_of(args)
    task = task_of(settings, args.task)
    if args.agency:
        agency_of(settings, args.agency)
    now = now_of(args)
    cat, both = settings.catalog, ("email", "telegram", "zalo")
    completions = current_completions(settings)
    ahead = [r for r in plan(cat, now, now + timedelta(days=800), channels=both)]
    found = [
        r
        for r in ahead
        if r.task_id == task.id
        and (args.agency is None or args.agency in (r.agency, r.named_as))
        and (args.channel is None or r.channel == args.channel)
        and not views.finished(r, completions)
    ]
    if not found:
        raise UsageError(
            f"task {task.number} has no reminder to that recipient in the next 800 days", EX_DATAERR
        )
    first = next((r for r in found if r.role is Role.LEAD), found[0])
    at_once = [
        r for r in ahead if r.send_at == first.send_at and not views.finished(r, completions)
    ]
    batch = next(b for b in digests(at_once) if first in b)
    today = first.send_at.astimezone(cat.calendar.timezone).date()
    answers = AnswerLinks.of(settings.web, settings.telegram)
    renderer = Renderer(cat, settings.templates_dir, answers=answers)
    message = renderer.render(batch, today=today)
    print(views.preview_head(cat, first, batch))
    print(f"Subject: {message.subject}\n")
    print(message.text)
    return EX_OK
