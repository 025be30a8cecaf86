"""The `reminder` subcommands. Each takes the parsed arguments and returns an exit code.

Only this module and the daemon read the clock; everything below takes `now`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Coroutine
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reminder.cli import (
    EX_CANTCREAT,
    EX_CONFIG,
    EX_DATAERR,
    EX_NOPERM,
    EX_OK,
    EX_TEMPFAIL,
    EX_UNAVAILABLE,
    EX_USAGE,
    UsageError,
)
from reminder.config import Settings, load
from reminder.model import VN_TZ, Completion, Message, Role, Task

if TYPE_CHECKING:
    from reminder.channels.base import Channel, Receipt
    from reminder.ledger import Ledger


_T = TypeVar("_T")


def _run_async(main: Coroutine[Any, Any, _T]) -> _T:
    """asyncio.run(main). asyncio is imported here, by the commands that use it: importing it
    is ~20 ms of every start, a tenth of `reminder check`."""
    import asyncio

    return asyncio.run(main)


def _now(args: argparse.Namespace) -> datetime:
    now: datetime | None = getattr(args, "now", None)
    return now if now is not None else datetime.now(VN_TZ)


def _settings(args: argparse.Namespace) -> Settings:
    return load(args.config)


def _task(settings: Settings, ref: str, code: int = EX_USAGE) -> Task:
    try:
        return settings.catalog.task(ref)
    except KeyError:
        known = ", ".join(f"{t.number}/{t.id}" for t in settings.catalog.tasks)
        raise UsageError(f"no task {ref!r} in {settings.source} (known: {known})", code) from None


def _warnings(settings: Settings) -> None:
    for w in settings.warnings:
        print(f"warning: {w}", file=sys.stderr)


def check(args: argparse.Namespace) -> int:
    """Validate config and templates; print a short summary and the next deadlines."""
    from reminder import views
    from reminder.render import load_checked
    from reminder.workdays import WorkCalendar

    settings = load_checked(args.config)
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
    print(f"  answer-back: {_answer_back(settings)}")
    print("  next deadlines:")
    now = _now(args)
    print("\n".join(views.next_deadlines(cat, now, WorkCalendar(cat.calendar))))
    return EX_OK


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

    settings = _settings(args)
    if args.agency and args.agency not in settings.catalog.agencies:
        raise UsageError(f"no agency or group {args.agency!r} in {settings.source}")
    now = _now(args)
    until = now + timedelta(days=args.days)
    completions = _completions(settings)
    everything = plan(settings.catalog, now, until, channels=settings.channels)
    if args.agency:
        everything = [r for r in everything if args.agency in (r.agency, r.named_as)]
    found = [r for r in everything if not views.finished(r, completions)]
    if args.json:
        print(views.upcoming_json(found))
    else:
        _warnings(settings)
        print(views.upcoming_table(settings.catalog, found, now, until))
        skipped = [r for r in everything if views.finished(r, completions)]
        lines = views.done_lines(settings.catalog, skipped, completions)
        if lines:
            print("\n".join(lines))
    return EX_OK


def explain(args: argparse.Namespace) -> int:
    """Explain one task's deadlines and reminders (and which work is recorded as done)."""
    from reminder import views

    settings = _settings(args)
    task = _task(settings, args.task)
    completions = _completions(settings)
    catalog = settings.catalog
    if settings.telegram is not None and settings.telegram.poll:
        from dataclasses import replace

        from reminder.recipients import with_linked_chats

        ledger = _ledger(settings)  # chats linked with `reminder telegram-link` receive too
        try:
            linked = ledger.replies.linked_chats()
        finally:
            ledger.close()
        catalog = replace(catalog, agencies=with_linked_chats(catalog.agencies, linked))
    print(views.explain(catalog, task, _now(args), args.years, settings.channels, completions))
    return EX_OK


def _completions(settings: Settings) -> dict[tuple[str, str, str], Completion]:
    """The current completion records, which the daemon reads before planning; {} while the
    ledger does not exist yet (a view does not create it)."""
    prefix = "sqlite:///"
    url = settings.database_url
    if url == prefix + ":memory:" or (url.startswith(prefix) and not Path(url[10:]).exists()):
        return {}
    from reminder.ledger import Ledger

    try:  # read as it is: alembic (half the import time) only when the schema is behind
        with Ledger(url, lease=settings.lease) as ledger:
            return ledger.completions.current()
    except Exception:  # an older schema, or a ledger that cannot be opened: migrate, or
        pass  # exit 69 with the path and the reason
    ledger = _ledger(settings)
    try:
        return ledger.completions.current()
    finally:
        ledger.close()


def _refuse_foreign_state(settings: Settings, *, ledger: bool, outbox: bool) -> None:
    """UsageError (77) if this command would write the ledger or the outbox in a folder that
    belongs to another user (the service's): the files it made would lock the service out."""
    import os

    from reminder import statedir

    paths = statedir.written_paths(
        settings.database_url if ledger else None, settings.outbox.directory if outbox else None
    )
    found = statedir.foreign_owner(paths, os.geteuid())
    if found is not None:
        raise UsageError(statedir.refusal(found, os.geteuid()), EX_NOPERM)


def _uses_outbox(settings: Settings, channel: str | None = None) -> bool:
    transports = {"email": settings.email_transport, "telegram": settings.telegram_transport}
    wanted = [transports[channel]] if channel else list(transports.values())
    return "outbox" in wanted


def _ledger(settings: Settings) -> Ledger:
    """The ledger, migrated to the current schema (imports the database libraries); exit 69
    with the path and the operating system's reason when it cannot be opened."""
    from reminder.ledger import LedgerError, open_ledger

    _refuse_foreign_state(settings, ledger=True, outbox=False)
    try:
        return open_ledger(
            settings.database_url, lease=settings.lease, password=settings.database_password
        )
    except LedgerError as exc:
        raise UsageError(str(exc), EX_UNAVAILABLE) from None


def run(args: argparse.Namespace) -> int:
    """`run --once`: one dispatch cycle at --now; `run`: the daemon."""
    from reminder.logs import setup_logging

    setup_logging(args.log_level)
    if not args.once:
        _stop_quietly_while_starting()
        from reminder.daemon import serve

        return serve(args.config, now=args.now)
    settings = _settings(args)
    _refuse_foreign_state(settings, ledger=True, outbox=_uses_outbox(settings))
    return _run_async(_run_once(settings, _now(args)))


def _stop_quietly_while_starting() -> None:
    """Until the daemon installs its own handlers, SIGTERM/SIGINT end start-up with exit 0."""
    import signal

    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(EX_OK)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


async def _run_once(settings: Settings, now: datetime) -> int:
    import asyncio

    from reminder.dispatch import Dispatcher

    ledger = await asyncio.to_thread(_ledger, settings)
    try:
        outcome = await Dispatcher(settings, ledger).cycle(now)
    finally:
        ledger.close()
    print(f"{now.isoformat()}: {outcome}")
    if outcome.failed:
        return EX_TEMPFAIL  # some will be retried: run again later
    return EX_UNAVAILABLE if outcome.gave_up else EX_OK  # given up: ops must look (history)


def preview(args: argparse.Namespace) -> int:
    """Print the message the daemon will send for the task's next reminder: to the lead (or
    --agency), on --channel, merged with every other reminder due to that address then."""
    from reminder import views
    from reminder.dispatch import digests
    from reminder.links import AnswerLinks
    from reminder.planner import plan
    from reminder.render import Renderer

    settings = _settings(args)
    task = _task(settings, args.task)
    now = _now(args)
    cat, both = settings.catalog, ("email", "telegram")
    completions = _completions(settings)
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


def send_test(args: argparse.Namespace) -> int:
    """Send a test message through the configured channel, to check credentials."""
    from reminder.channels.base import ChannelError
    from reminder.dispatch import make_channels
    from reminder.render import Renderer

    settings = _settings(args)
    _check_address(args.channel, args.address)
    channel = make_channels(settings).get(args.channel)
    if channel is None:
        raise UsageError(f"the {args.channel} channel is off in {settings.source}", EX_CONFIG)
    _refuse_foreign_state(settings, ledger=False, outbox=_uses_outbox(settings, args.channel))
    message = Renderer(settings.catalog, settings.templates_dir).test_message(
        args.channel, args.address, _now(args)
    )
    try:
        receipt = _run_async(_send(channel, message))
    except ChannelError as exc:
        kind = "permanent" if exc.permanent else "temporary"
        raise UsageError(
            f"failed ({kind}): {exc}", EX_UNAVAILABLE if exc.permanent else EX_TEMPFAIL
        ) from None
    print(f"sent to {args.address} via {args.channel}: {receipt.note or 'ok'}")
    return EX_OK


def _check_address(channel: str, address: str) -> None:
    """UsageError (65) unless `address` is one the config would accept for `channel`."""
    from reminder.config.schema import chat_problem, email_problem

    problem = email_problem(address) if channel == "email" else chat_problem(address)
    if problem:
        raise UsageError(f"{problem} (got {address!r})", EX_DATAERR)


async def _send(channel: Channel, message: Message) -> Receipt:
    await channel.open()
    try:
        return await channel.send(message)
    finally:
        await channel.close()


def history(args: argparse.Namespace) -> int:
    """What was sent, failed, missed or is pending."""
    from reminder import views
    from reminder.ledger import Status

    settings = _settings(args)
    task_id = _task(settings, args.task).id if args.task else None
    ledger = _ledger(settings)
    try:
        rows = ledger.history(
            limit=args.limit, status=Status(args.status) if args.status else None, task_id=task_id
        )
    finally:
        ledger.close()
    tz = settings.catalog.calendar.timezone
    print(views.history_json(rows) if args.json else views.history_table(rows, tz))
    return EX_OK


def retry(args: argparse.Namespace) -> int:
    """Put failed or given-up reminders that are still useful back in the queue (due now)."""
    from reminder.dispatch import Dispatcher
    from reminder.ledger import Status

    settings = _settings(args)
    if args.key and (args.task or args.gave_up):
        raise UsageError("give a KEY, or --task and/or --gave-up, not both")
    task_id = _task(settings, args.task, EX_DATAERR).id if args.task else None
    now = _now(args)
    ledger = _ledger(settings)
    try:
        if args.key:
            row = ledger.get(args.key)
            if row is None:
                raise UsageError(f"no delivery with key {args.key!r} in the ledger", EX_DATAERR)
            rows = [row]
        else:
            wanted = [Status.GAVE_UP] if args.gave_up else [Status.FAILED, Status.GAVE_UP]
            rows = [
                d
                for s in wanted
                for d in ledger.history(limit=1_000_000, status=s, task_id=task_id)
            ]
        queued, refused = Dispatcher(settings, ledger, channels={}).requeue(rows, now)
    finally:
        ledger.close()
    for key, why in refused:
        print(f"not queued: {key}: {why}")
    print(
        f"{len(queued)} reminder(s) queued"
        + (f", {len(refused)} not queued" if refused else "")
        + (
            ": the daemon sends them at its next sweep (within 5 minutes), "
            "at once after `systemctl reload reminder`, or run `reminder run --once`"
            if queued
            else ""
        )
    )
    return EX_OK


def done(args: argparse.Namespace) -> int:
    """Record work as finished, withdraw a record (--undo), or list the history (--list)."""
    from reminder.status import Refused, check_done

    settings = _settings(args)
    if args.list:
        return _done_list(settings, args.list_task or args.task)
    if not (args.task and args.occurrence):
        raise UsageError("give TASK and OCCURRENCE (e.g. `reminder done 1 2026`), or --list")
    if args.milestone and args.milestone_opt and args.milestone != args.milestone_opt:
        raise UsageError(f"two milestones given: {args.milestone!r} and {args.milestone_opt!r}")
    milestone = args.milestone or args.milestone_opt
    task = _task(settings, args.task, EX_DATAERR)
    now = _now(args)
    today = now.astimezone(settings.catalog.calendar.timezone).date()
    done_on = None if args.undo else (args.on or today)
    try:
        check_done(task, args.occurrence, milestone, done_on, today)
    except Refused as exc:
        raise UsageError(str(exc), EX_DATAERR) from None
    what = f"task {task.number} ({task.id}) occurrence {args.occurrence}" + (
        f" milestone {milestone}" if milestone else ""
    )
    ledger = _ledger(settings)
    try:
        said = _record(ledger, task.id, args, milestone, done_on, args.by or _ops_user(), now)
    finally:
        ledger.close()
    print(f"{what}: {said}")
    return EX_OK


def _record(
    ledger: Ledger,
    task_id: str,
    args: argparse.Namespace,
    milestone: str | None,
    done_on: date | None,
    by: str,
    now: datetime,
) -> str:
    """Append the event; say what changed. Undo of nothing: exit 65, nothing written."""
    from reminder.completions import NothingToUndo
    from reminder.vnformat import ngay

    book = ledger.completions
    if done_on is None:
        try:
            book.undo(task_id, args.occurrence, milestone, by=by, note=args.note, now=now)
        except NothingToUndo:
            what = f"{args.occurrence}" + (f" milestone {milestone}" if milestone else "")
            raise UsageError(
                f"task {args.task} occurrence {what} has no completion record to undo "
                "(see `reminder done --list`)",
                EX_DATAERR,
            ) from None
        return "record withdrawn; the reminders still ahead will be sent"
    before = book.current(task_id).get((task_id, args.occurrence, milestone or ""))
    event = book.record_done(
        task_id, args.occurrence, milestone, done_on, by=by, ref=args.ref, note=args.note, now=now
    )
    if event is None:
        return f"already recorded as done on {ngay(done_on)} (nothing written)"
    verb = "corrected" if before is not None else "recorded"
    return f"{verb} as done on {ngay(done_on)}; no further reminders"


def _done_list(settings: Settings, task_ref: str | None) -> int:
    """Every completion event, oldest first: the append-only history."""
    from reminder.vnformat import ngay

    task_id = _task(settings, task_ref, EX_DATAERR).id if task_ref else None
    ledger = _ledger(settings)
    try:
        events = ledger.completions.events(task_id)
    finally:
        ledger.close()
    tz = settings.catalog.calendar.timezone
    numbers = {t.id: t.number for t in settings.catalog.tasks}
    if not events:
        print("no completion records")
    for e in events:
        at = e.recorded_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        work = f"{numbers.get(e.task_id, '?')}/{e.task_id} {e.occurrence} {e.milestone_id or '*'}"
        on = f"on {ngay(e.done_on)}" if e.done_on else ""
        extra = "  ".join(x for x in (on, f"by {e.by}" if e.by else "", e.ref, e.note) if x)
        print(f"#{e.id}  {at}  {e.action:<4}  {work}  {extra}".rstrip())
    return EX_OK


def _ops_user() -> str:
    import getpass

    try:
        return f"ops:{getpass.getuser()}"
    except (KeyError, OSError):
        return "ops"


def report(args: argparse.Namespace) -> int:
    """The status report of a period, in the chosen format."""
    from reminder import report as rpt

    settings = _settings(args)
    catalog = settings.catalog
    now = _now(args)
    first, last = _report_period(args, now.astimezone(catalog.calendar.timezone).date())
    if args.agency and args.agency not in catalog.agencies:
        raise UsageError(f"no agency or group {args.agency!r} in {settings.source}", EX_DATAERR)
    ledger = _ledger(settings)
    try:
        completions = ledger.completions.current()
    finally:
        ledger.close()
    built = rpt.build(catalog, completions, first, last, now, agency=args.agency)
    if args.format == "csv":
        data = rpt.csv_bytes(built)
    elif args.format == "html":
        data = rpt.html(built, settings.templates_dir).encode("utf-8")
    elif args.format == "json":
        data = (rpt.json_text(built) + "\n").encode("utf-8")
    else:
        data = (rpt.table(built) + "\n").encode("utf-8")
    if args.output:
        _write_output(args.output, data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return EX_OK


def _report_period(args: argparse.Namespace, today: date) -> tuple[date, date]:
    if args.first is not None or args.last is not None:
        if args.first is None or args.last is None:
            raise UsageError("--from and --to go together")
        if args.last < args.first:
            raise UsageError(f"--to {args.last} is before --from {args.first}", EX_DATAERR)
        return args.first, args.last
    year = args.year or today.year
    if not 1900 < year < 3000:
        raise UsageError(f"--year {year} is out of range", EX_DATAERR)
    return date(year, 1, 1), date(year, 12, 31)


def _write_output(path: str, data: bytes) -> None:
    from pathlib import Path

    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}", EX_CANTCREAT) from None


def ledger(args: argparse.Namespace) -> int:
    """`ledger copy --to URL`: the configured ledger into an empty PostgreSQL database."""
    from urllib.parse import urlsplit

    from reminder.ledger import LedgerError
    from reminder.ledgercopy import copy_ledger
    from reminder.secrets import read_secret

    settings = _settings(args)
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


def telegram_chats(args: argparse.Namespace) -> int:
    """List the chats the bot can write to (for chat ids); --linked: the chats linked to an
    agency; --revoke CHAT: unlink one.

    While the daemon polls (`poll = true`) only it may call getUpdates (a second reader would
    take its updates or get 409 Conflict), so the chats it recorded are listed instead."""
    settings = _settings(args)
    if args.linked or args.revoke:
        return _linked_chats(settings, args.revoke)
    if settings.telegram is None:
        raise UsageError(
            f'set [channels.telegram] transport = "bot" and its token in {settings.source} first',
            EX_CONFIG,
        )
    if settings.telegram.poll:
        return _seen_chats(settings)
    from reminder.channels.base import ChannelError
    from reminder.channels.telegram import list_chats

    try:
        chats = _run_async(list_chats(settings.telegram))
    except ChannelError as exc:
        raise UsageError(
            f"cannot list chats: {exc}", EX_UNAVAILABLE if exc.permanent else EX_TEMPFAIL
        ) from None
    if not chats:
        print("no chats yet: write to the bot, or add it to the group, then run this again")
    for chat in chats:
        name = chat.title or (f"@{chat.username}" if chat.username else "")
        print(f"{chat.id}\t{chat.type}\t{name}")
    return EX_OK


def import_(args: argparse.Namespace) -> int:
    """Read a plan's task appendix into config tasks: a fragment, or a merged config."""
    import tomllib

    from reminder.importer import BadInput, import_appendix, read_wording
    from reminder.render import default_template_dir

    source = Path(args.file)
    target = Path(args.merge or args.config)
    if args.merge and args.output:
        raise UsageError("--merge writes its own file beside the config: leave -o out")
    config_text = _config_text(target, required=bool(args.merge))
    try:
        result = import_appendix(
            source,
            wanted=args.source_format,
            config_text=config_text,
            config_name=target.name,
            year=_now(args).year,
            wording=read_wording(default_template_dir() / "import.toml"),
            plan_title=args.plan_title,
            merge_into=bool(args.merge),
        )
    except BadInput as exc:
        raise UsageError(f"{source}: {exc}; nothing written", EX_DATAERR) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"{target}: not valid TOML ({exc}); run `reminder check` on it first", EX_CONFIG
        ) from None
    if config_text is None:
        print(f"note: no {target}: every agency is proposed as new", file=sys.stderr)
    print(f"{source}: {result.outcome.summary()}", file=sys.stderr)
    if args.merge:
        return _write_merged(target, result.toml)
    if args.output:
        _write_new(Path(args.output), result.toml, target)
        print(f"written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(result.toml)
    return EX_OK


def _config_text(path: Path, required: bool) -> str | None:
    """The config's text for matching agencies; None if it does not exist (and may not)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        if required:
            raise UsageError(f"{path}: no such file (create it, even empty)", EX_CONFIG) from None
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it as UTF-8 text ({exc})", EX_CONFIG) from None


def _write_new(path: Path, text: str, config: Path) -> None:
    if path.resolve() == config.resolve():
        raise UsageError(f"-o {path} is the configuration itself: use --merge instead")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _write_merged(config: Path, text: str) -> int:
    """Write the merged config beside the original (never over it) and check it."""
    from reminder.config import ConfigError
    from reminder.render import load_checked

    out = _beside(config)
    with out.open("x", encoding="utf-8") as f:
        f.write(text)
    print(f"merged into a new file: {out} ({config} is unchanged)", file=sys.stderr)
    try:
        settings = load_checked(out)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(
            f"{out}: {len(exc.problems)} error(s) to fix before use (the lines marked "
            "'check:' say why)",
            file=sys.stderr,
        )
        return EX_CONFIG
    _warnings(settings)
    cat = settings.catalog
    print(f"{out}: OK — {len(cat.tasks)} tasks; `reminder --config {out} upcoming` shows them")
    return EX_OK


def _beside(config: Path) -> Path:
    """config.imported.toml, or config.imported-2.toml … if that exists."""
    stem = config.name.removesuffix(".toml")
    candidate, n = config.with_name(f"{stem}.imported.toml"), 2
    while candidate.exists():
        candidate, n = config.with_name(f"{stem}.imported-{n}.toml"), n + 1
    return candidate


def doctor(args: argparse.Namespace) -> int:
    """One line per check, OK / WARN / FAIL; exit 1 if any check failed."""
    import os

    from reminder.doctor import FAIL, diagnose

    settings = _settings(args)
    findings = _run_async(diagnose(settings, euid=os.geteuid()))
    for finding in findings:
        print(finding.line)
    return 1 if any(f.level == FAIL for f in findings) else EX_OK


def _seen_chats(settings: Settings) -> int:
    ledger = _ledger(settings)
    try:
        chats = ledger.replies.seen_chats()
    finally:
        ledger.close()
    if not chats:
        print("no chats recorded yet by the daemon: write to the bot, or add it to the group")
    tz = settings.catalog.calendar.timezone
    for chat in chats:
        left = "" if chat.member else "\t(bot removed)"
        seen = chat.last_seen.astimezone(tz).strftime("%d/%m/%Y %H:%M")
        print(f"{chat.chat_id}\t{chat.kind}\t{chat.title}\tlast seen {seen}{left}")
    return EX_OK


def _linked_chats(settings: Settings, revoke: str | None) -> int:
    ledger = _ledger(settings)
    try:
        if revoke:
            if not ledger.replies.revoke(revoke.strip(), datetime.now(VN_TZ)):
                raise UsageError(f"chat {revoke} is not linked to an agency", EX_DATAERR)
            print(f"chat {revoke} unlinked: it no longer receives reminders or counts for presses")
            return EX_OK
        linked = ledger.replies.linked()
    finally:
        ledger.close()
    if not linked:
        print("no linked chats (reminder telegram-link AGENCY makes a link)")
    tz = settings.catalog.calendar.timezone
    for c in linked:
        name = (
            settings.catalog.agencies[c.agency].name
            if c.agency in settings.catalog.agencies
            else "?"
        )
        when = c.linked_at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
        print(f"{c.chat_id}\t{c.agency}\t{name}\t{c.title}\tlinked {when} by {c.linked_by}")
    return EX_OK


def telegram_link(args: argparse.Namespace) -> int:
    """Print a one-time link that ties the chat where it is used to an agency."""
    import secrets

    from reminder.channels.base import ChannelError
    from reminder.channels.telegram import bot_username

    settings = _settings(args)
    tg = settings.telegram
    if tg is None or not tg.poll:
        raise UsageError(
            f'linking needs [channels.telegram] transport = "bot" and [channels.telegram.bot] '
            f"poll = true in {settings.source} (the daemon receives the code)",
            EX_CONFIG,
        )
    if args.agency not in settings.catalog.agencies:
        known = ", ".join(settings.catalog.agencies)
        raise UsageError(f"no agency {args.agency!r} in {settings.source} (known: {known})")
    try:
        username = _run_async(bot_username(tg))
    except ChannelError as exc:
        raise UsageError(f"cannot ask Telegram for the bot's name: {exc}", EX_TEMPFAIL) from None
    code = secrets.token_urlsafe(18)
    now = datetime.now(VN_TZ)
    expires = now + timedelta(minutes=tg.code_minutes)
    ledger = _ledger(settings)
    try:
        ledger.replies.add_code(code, args.agency, now, expires)
    finally:
        ledger.close()
    agency = settings.catalog.agencies[args.agency].name
    print(f"one-time link for {agency}, valid until {expires.strftime('%d/%m/%Y %H:%M')}:")
    print(f"  private chat or group: https://t.me/{username}?start={code}")
    print(f"  or type in the group:  /start@{username} {code}")
    return EX_OK


def ics(args: argparse.Namespace) -> int:
    """Write the calendar (.ics) of an agency's deadlines, or of all tasks."""
    from pathlib import Path

    from reminder.feed import build_feed
    from reminder.links import Links

    settings = _settings(args)
    if args.agency and args.agency not in settings.catalog.agencies:
        known = ", ".join(settings.catalog.agencies)
        raise UsageError(f"no agency {args.agency!r} in {settings.source} (known: {known})")
    ledger = _ledger(settings)
    try:
        body = build_feed(settings, ledger, _now(args), agency=args.agency, years=args.years)
    finally:
        ledger.close()
    if args.output in (None, "-"):
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        try:
            Path(args.output).write_bytes(body)
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}", 73) from None
    web = settings.web
    if args.agency and web is not None and web.public_url:
        key = Links(web.secret).feed_key(args.agency)
        print(
            f"subscription address: {web.public_url}/lich/{args.agency}.ics?k={key}",
            file=sys.stderr,
        )
    return EX_OK
