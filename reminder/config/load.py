"""Load config.toml: read, parse, validate the shape, cross-check, build the model.

`load(path)` returns Settings or raises ConfigError holding every problem found (one line
each: file, line, key path, what was expected). Warnings (unreachable recipients,
assumed dates) ride along in Settings.warnings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from reminder.config import schema
from reminder.config.crosscheck import crosscheck, directory_ids
from reminder.config.locate import line_of
from reminder.config.periods import warn_ended_periods
from reminder.config.plans import PlanSource, read_plans
from reminder.config.problems import Collector, ConfigError, Problem
from reminder.config.shape import build
from reminder.config.tomlfile import parse_toml, read_text
from reminder.model import (
    Agency,
    CalendarRules,
    Catalog,
    DayOffRule,
    Escalation,
    Frequency,
    IPNetwork,
    LeadTimes,
    LeadUnit,
    Milestone,
    Office,
    OutboxSettings,
    PlanInfo,
    Recurrence,
    Role,
    SmtpSettings,
    Summary,
    Task,
    TelegramSettings,
    WebSettings,
    ZaloSettings,
)
from reminder.recipients import unreachable
from reminder.secrets import SecretError, read_secret

_WEEKDAY = {name: i for i, name in enumerate(schema.WEEKDAYS)}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How dispatch retries transient failures."""

    max_attempts: int | None  # None: retried for as long as the reminder is useful
    initial: timedelta
    maximum: timedelta


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the program needs, checked. Secrets are resolved, never printed."""

    source: Path
    catalog: Catalog
    database_url: str  # never holds a password: that is database_password
    outbox: OutboxSettings
    email_transport: str  # "outbox" | "smtp" | "off"
    telegram_transport: str  # "outbox" | "bot" | "off"
    smtp: SmtpSettings | None
    telegram: TelegramSettings | None
    templates_dir: Path | None
    catch_up: timedelta
    retry: RetryPolicy
    lease: timedelta
    escalation: Escalation | None = None
    summary: Summary | None = None
    web: WebSettings | None = None
    office: Office = field(default_factory=Office)
    warnings: tuple[Problem, ...] = ()
    database_password: str | None = None  # PostgreSQL's, from a credential/env/file
    zalo_transport: str = "off"  # "outbox" | "bot" | "off"
    zalo: ZaloSettings | None = None
    plans_dir: Path | None = None  # the folder of the plan files ([plans] dir)

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels that deliver (not "off"), in a fixed order."""
        on = (
            ("email", self.email_transport),
            ("telegram", self.telegram_transport),
            ("zalo", self.zalo_transport),
        )
        return tuple(name for name, transport in on if transport != "off")


INLINE_PLAN_ID = "ke-hoach"  # the id of an inline [plan] that gives none


def load(path: Path | str, *, channel_secrets: bool = True) -> Settings:
    """Read and check the configuration at `path` and the plan files of its plans folder;
    raise ConfigError listing every problem (each with its own file and line).

    channel_secrets=False: for a command that neither sends nor signs (`reminder done`,
    `history`): the SMTP password, the bot tokens and [web]'s secrets are not looked for,
    and `smtp`, `telegram`, `zalo` and `web` are None. The database password still is."""
    file = Path(path)
    text = read_text(file)
    data = parse_toml(file, text)
    out = Collector(file, text, data)
    cfg = build(schema.Config, data, out)
    if cfg is None:
        raise ConfigError(out.errors)
    recurrences = crosscheck(cfg, out)
    sources, plan_errors = _plans(cfg, data, file, out)
    errors = out.errors + plan_errors
    settings = None if errors else _build(cfg, recurrences, sources, file, out, channel_secrets)
    if out.errors or plan_errors or settings is None:
        raise ConfigError(out.errors + plan_errors)
    _warn(cfg, settings, out)
    for source in sources:
        _warn_plan(source, settings.catalog.tasks)
        out.warnings.extend(source.out.warnings)
    return _with_warnings(settings, out.warnings)


def plans_folder(cfg: schema.Config, file: Path) -> Path:
    """The folder of the plan files: [plans] dir, relative to config.toml's folder, written
    as config.toml is (so `check` names plans/ke-hoach.toml beside config.toml, relative or
    absolute alike)."""
    return file.parent / cfg.plans.dir


def _plans(
    cfg: schema.Config, data: dict[str, object], file: Path, out: Collector
) -> tuple[list[PlanSource], list[Problem]]:
    """The plan files, checked; an inline [plan] needs its [[tasks]] and the reverse."""
    if cfg.plan is not None and not cfg.tasks:
        out.error(("tasks",), "[plan] here needs its [[tasks]] (or move both into a plan file)")
    if cfg.plan is None and cfg.tasks:
        out.error(("tasks",), "[[tasks]] here need the [plan] they belong to")
    folder = plans_folder(cfg, file)
    if "plans" in data and not folder.is_dir():
        out.error(("plans", "dir"), f"no such folder: {folder}")
    errors: list[Problem] = []
    taken = {(cfg.plan.id or INLINE_PLAN_ID): str(file)} if cfg.plan is not None else {}
    sources = read_plans(folder, directory_ids(cfg), taken, errors)
    if cfg.plan is None and not sources and not errors and not out.errors:
        out.error(
            ("plan",),
            f"no plan: put plan files in {folder} (docs/config.md, Plan files), "
            "or a [plan] and its [[tasks]] in this file",
        )
    _check_former_ids(cfg, sources, errors)
    return sources, errors


def _check_former_ids(cfg: schema.Config, sources: list[PlanSource], errors: list[Problem]) -> None:
    """A former id names one task: not two plan files' tasks, not a task still inline."""
    seen: dict[str, str] = {t.id: "config.toml's [[tasks]]" for t in cfg.tasks}
    for source in sources:
        for i, t in enumerate(source.tasks):
            if t.former_id is None:
                continue
            if t.former_id in seen:
                line = line_of(("tasks", i, "former_id"), source.out.lines)
                errors.append(
                    Problem(
                        source.file,
                        line,
                        f"tasks[{t.number}].former_id",
                        f"former id {t.former_id!r} is also a task of {seen[t.former_id]}",
                    )
                )
            seen[t.former_id] = f"{source.file} (task {t.number})"


def _build(
    cfg: schema.Config,
    recurrences: dict[str, Recurrence],
    sources: list[PlanSource],
    file: Path,
    out: Collector,
    channel_secrets: bool = True,
) -> Settings | None:
    base = file.resolve().parent
    smtp = _smtp(cfg, base, out) if channel_secrets else None
    telegram = _telegram(cfg, base, out) if channel_secrets else None
    zalo = _zalo(cfg, base, out) if channel_secrets else None
    if cfg.templates.dir and not (base / cfg.templates.dir).is_dir():
        out.error(("templates", "dir"), f"no such folder: {base / cfg.templates.dir}")
    db_url, db_password = _database(cfg.database, base, out)
    web = _web(cfg, base, out) if channel_secrets else None
    if out.errors:
        return None
    plans, tasks = _plans_and_tasks(cfg, recurrences, sources)
    catalog = Catalog(
        plan=plans[0],
        plans={p.id: p for p in plans},
        tasks=tasks,
        agencies=_agencies(cfg),
        calendar=_calendar(cfg.calendar),
        lead_times={
            Role.LEAD: _ladder(cfg.reminders.lead),
            Role.SUPPORT: _ladder(cfg.reminders.support),
        },
        source=file,
    )
    d = cfg.delivery
    table = cfg.channels.email.smtp  # the outbox writes what this SMTP table would send
    sender = smtp.sender if smtp else (table.from_ if table else "")
    reply_to = table.reply_to if table else None
    return Settings(
        source=file,
        catalog=catalog,
        database_url=db_url,
        database_password=db_password,
        outbox=OutboxSettings(
            base / cfg.outbox.dir, sender or "Nhắc hạn <nhachan@localhost>", reply_to
        ),
        email_transport=cfg.channels.email.transport,
        telegram_transport=cfg.channels.telegram.transport,
        smtp=smtp,
        telegram=telegram,
        templates_dir=(base / cfg.templates.dir) if cfg.templates.dir else None,
        catch_up=timedelta(hours=d.catch_up_hours),
        retry=RetryPolicy(
            d.max_attempts,
            timedelta(seconds=d.retry_initial_seconds),
            timedelta(seconds=d.retry_max_seconds),
        ),
        lease=timedelta(minutes=d.lease_minutes),
        escalation=_escalation(cfg),
        summary=_summary(cfg),
        web=web,
        office=_office(cfg.office),
        zalo_transport=cfg.channels.zalo.transport,
        zalo=zalo,
        plans_dir=plans_folder(cfg, file),
    )


def _plans_and_tasks(
    cfg: schema.Config, recurrences: dict[str, Recurrence], sources: list[PlanSource]
) -> tuple[list[PlanInfo], tuple[Task, ...]]:
    """The plans (the inline one first) and every task: an inline task keeps its id; a plan
    file's task is keyed by its name <plan id>/<number>, or by its former id when it has
    one (a task moved out of config.toml keeps its ledger rows and calendar UIDs as they
    are: nothing in the ledger is rewritten)."""
    plans: list[PlanInfo] = []
    tasks: list[Task] = []
    reports = cfg.reminders.progress_reports
    if cfg.plan is not None:
        pid = cfg.plan.id or INLINE_PLAN_ID
        plans.append(_plan_info(cfg.plan, pid, None))
        tasks += [_task(t, recurrences[t.id], reports, t.id, str(t.number), pid) for t in cfg.tasks]
    for source in sources:
        info = _plan_info(source.plan, source.id, source.file)
        plans.append(info)
        tasks += [
            _task(
                t,
                within_period(source.recurrences[t.number], info.period),
                reports,
                t.former_id or f"{source.id}/{t.number}",
                t.number,
                source.id,
                t.former_id,
            )
            for t in source.tasks
        ]
    return plans, tuple(tasks)


_RECURRING = (
    Frequency.YEARLY,
    Frequency.QUARTERLY,
    Frequency.MONTHLY,
    Frequency.HALF_YEARLY,
    Frequency.ONGOING,
)


def within_period(rec: Recurrence, period: tuple[int, int] | None) -> Recurrence:
    """A recurring task of a plan with a period runs within it, unless the task gives its
    own start or end year: after the period nothing more is reminded (its history stays)."""
    if period is None or rec.frequency not in _RECURRING:
        return rec
    from dataclasses import replace

    first, last = period
    return replace(
        rec,
        start_year=rec.start_year if rec.start_year is not None else first,
        end_year=rec.end_year if rec.end_year is not None else last,
    )


def _plan_info(p: schema.Plan, pid: str, file: Path | None) -> PlanInfo:
    return PlanInfo(
        p.title,
        p.issuer,
        p.number,
        p.signed_on,
        p.sender,
        p.reports_to,
        id=pid,
        period=schema.period_years(p.period) if p.period else None,
        source=file,
    )


def _office(o: schema.Office) -> Office:
    return Office(
        name=o.name.strip(),
        parent=o.parent.strip(),
        symbol=o.symbol.strip(),
        place=o.place.strip(),
        signer_authority=o.signer_authority.strip(),
        signer_title=o.signer_title.strip(),
        signer_name=o.signer_name.strip(),
        recipients=tuple(r.strip() for r in o.recipients if r.strip()),
    )


def _escalation(cfg: schema.Config) -> Escalation | None:
    e = cfg.escalation
    if e is None or not e.enabled:
        return None
    return Escalation(e.to, tuple(sorted(set(e.after))))


def _summary(cfg: schema.Config) -> Summary | None:
    s = cfg.summary
    if s is None or not s.enabled:
        return None
    return Summary(
        weekday=schema.WEEKDAYS.index(s.weekday),
        at=schema.hhmm(s.time or cfg.calendar.send_time),
        emails=tuple(s.email),
        telegram=tuple(s.telegram),
        ahead_days=s.ahead_days,
        zalo=tuple(s.zalo),
    )


def _database(db: schema.Database, base: Path, out: Collector) -> tuple[str, str | None]:
    """The ledger URL and, for PostgreSQL, its password (credential, env, file; else none:
    libpq may still find one in ~/.pgpass, or the server may not ask). The URL's text is
    never quoted in an error: it could hold a password."""
    path = ("database", "url")
    parts = urlsplit(db.url)  # not sqlalchemy's make_url: `reminder check` stays quick
    backend = parts.scheme.split("+", 1)[0]
    if "://" not in db.url:
        out.error(path, "expected sqlite:///FILE or postgresql+psycopg://USER@HOST[:PORT]/DB")
        return db.url, None
    if backend not in ("sqlite", "postgresql"):
        out.error(path, f"unsupported database {backend!r}: use sqlite or postgresql+psycopg")
        return db.url, None
    if backend == "sqlite":
        return _db_url(db.url, base), None
    if parts.password is not None:
        out.error(
            path,
            "a password does not belong in config.toml: remove it from the URL and give it "
            f"through the systemd credential {db.credential!r}, ${db.password_env} or "
            "[database] password_file",
        )
        return db.url, None
    try:
        password = read_secret(
            env=db.password_env,
            file=str(base / db.password_file) if db.password_file else None,
            credential=db.credential,
        )
    except SecretError as exc:
        out.error(path, str(exc))
        return db.url, None
    return db.url, password


def _db_url(url: str, base: Path) -> str:
    """A relative SQLite path is taken relative to the config file's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(base / url[len(prefix) :])
    return url


def _secret(
    out: Collector,
    path: tuple[str, ...],
    what: str,
    env: str | None,
    file: str | None,
    credential: str | None,
) -> str | None:
    try:
        value = read_secret(env=env, file=file, credential=credential)
    except SecretError as exc:
        out.error(path, str(exc))
        return None
    if not value:
        sources = [
            f"systemd credential {credential!r}" if credential else "",
            f"${env}" if env else "",
            file or "",
        ]
        out.error(path, f"no {what} found (looked in: {', '.join(s for s in sources if s)})")
    return value


def _smtp(cfg: schema.Config, base: Path, out: Collector) -> SmtpSettings | None:
    email = cfg.channels.email
    if email.transport != "smtp":
        return None
    s = email.smtp
    if s is None:
        out.error(
            ("channels", "email"),
            'transport = "smtp" needs a [channels.email.smtp] table (host, port, security, from)',
        )
        return None
    password = None
    if s.username:
        password = _secret(
            out,
            ("channels", "email", "smtp", "username"),
            "SMTP password",
            s.password_env,
            str(base / s.password_file) if s.password_file else None,
            s.credential,
        )
    ca = (base / s.ca_file) if s.ca_file else None
    if ca is not None and not ca.is_file():
        out.error(("channels", "email", "smtp", "ca_file"), f"no such file: {ca}")
    return SmtpSettings(
        s.host, s.port, s.security, s.from_, s.username, password, s.reply_to, s.timeout_seconds, ca
    )


def _telegram(cfg: schema.Config, base: Path, out: Collector) -> TelegramSettings | None:
    tg = cfg.channels.telegram
    if tg.transport != "bot":
        return None
    bot = tg.bot or schema.Bot()
    token = _secret(
        out,
        ("channels", "telegram", "transport"),
        "Telegram bot token",
        bot.token_env,
        str(base / bot.token_file) if bot.token_file else None,
        bot.credential,
    )
    if not token:
        return None
    return TelegramSettings(
        token, bot.base_url, bot.timeout_seconds, bot.poll, bot.link_code_minutes
    )


def _zalo(cfg: schema.Config, base: Path, out: Collector) -> ZaloSettings | None:
    z = cfg.channels.zalo
    if z.transport != "bot":
        return None
    bot = z.bot or schema.ZaloBot()
    token = _secret(
        out,
        ("channels", "zalo", "transport"),
        "Zalo bot token",
        bot.token_env,
        str(base / bot.token_file) if bot.token_file else None,
        bot.credential,
    )
    secret = _zalo_webhook(cfg, bot, base, out) if bot.receive == "webhook" else None
    if not token:
        return None
    return ZaloSettings(
        token,
        bot.base_url,
        bot.timeout_seconds,
        poll=bot.poll or secret is not None,
        code_minutes=bot.link_code_minutes,
        send_per_second=bot.send_per_second,
        webhook_secret=secret,
    )


def _zalo_webhook(
    cfg: schema.Config, bot: schema.ZaloBot, base: Path, out: Collector
) -> str | None:
    """receive = "webhook": the secret Zalo sends in X-Bot-Api-Secret-Token (8 to 256
    characters, never in config.toml), and the web server that receives the POSTs."""
    where = ("channels", "zalo", "bot", "receive")
    secret = _secret(
        out,
        where,
        "Zalo webhook secret",
        bot.webhook_secret_env,
        str(base / bot.webhook_secret_file) if bot.webhook_secret_file else None,
        bot.webhook_secret_credential,
    )
    if secret and not 8 <= len(secret) <= 256:
        out.error(where, "the Zalo webhook secret must be 8 to 256 characters")
    web = cfg.web
    if web is None or not web.listen or not (web.public_url or "").startswith("https://"):
        out.error(
            where,
            'receive = "webhook" needs the daemon\'s web server: [web] listen, and public_url '
            "on https (Zalo posts to <public_url>/zalo/webhook)",
        )
    return secret


def _web(cfg: schema.Config, base: Path, out: Collector) -> WebSettings | None:
    """[web]: the signing secret always, the viewer password when the server listens."""
    w = cfg.web
    if w is None:
        return None
    secret = _secret(
        out,
        ("web",),
        "signing secret for links",
        w.secret_env,
        str(base / w.secret_file) if w.secret_file else None,
        w.secret_credential,
    )
    if secret and len(secret) < 16:
        out.error(("web",), "the signing secret is too short: use at least 16 characters")
    password = None
    if w.listen:
        password = _secret(
            out,
            ("web", "listen"),
            "viewer password for the status pages",
            w.password_env,
            str(base / w.password_file) if w.password_file else None,
            w.password_credential,
        )
    if not secret:
        return None
    listen = None
    if w.listen:
        host, _, port = w.listen.rpartition(":")
        listen = (host.strip("[]"), int(port))
    return WebSettings(
        secret=secret,
        listen=listen,
        public_url=w.public_url.rstrip("/") if w.public_url else None,
        password=password,
        link_days=w.link_days_after_deadline,
        trusted_proxies=_proxies(w),
    )


LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def _proxies(w: schema.Web) -> tuple[IPNetwork, ...]:
    """The networks whose forwarded-client headers are believed (checked by the schema)."""
    named = tuple(ipaddress.ip_network(p, strict=False) for p in w.trusted_proxies)
    return (LOOPBACK if w.behind_proxy else ()) + named


def _agencies(cfg: schema.Config) -> dict[str, Agency]:
    out: dict[str, Agency] = {}
    for entry in [*cfg.agencies, *cfg.groups]:
        is_group = isinstance(entry, schema.Group)
        out[entry.id] = Agency(
            id=entry.id,
            name=entry.name,
            emails=tuple(entry.email),
            telegram=tuple(entry.telegram),
            zalo=tuple(entry.zalo),
            succeeded_by=entry.succeeded_by,
            members=tuple(entry.members) if isinstance(entry, schema.Group) else (),
            is_group=is_group,
            short_name=entry.short_name,
        )
    return out


def _calendar(c: schema.Calendar) -> CalendarRules:
    return CalendarRules(
        timezone=ZoneInfo(c.timezone),
        weekend=frozenset(_WEEKDAY[d] for d in c.weekend),
        public_holidays=c.public_holidays,
        days_off=frozenset(c.days_off),
        working_days=frozenset(c.working_days),
        day_off_rule=DayOffRule(c.deadline_on_day_off),
        send_time=schema.hhmm(c.send_time),
        office_start=schema.hhmm(c.office_hours[0]),
        office_end=schema.hhmm(c.office_hours[1]),
    )


def _ladder(ladder: schema.Ladder) -> LeadTimes:
    return LeadTimes(
        before=tuple(sorted(set(ladder.before), reverse=True)),
        unit=LeadUnit(ladder.unit),
        overdue=tuple(sorted(set(ladder.overdue))),
    )


def _task(
    t: schema.TaskFields,
    rec: Recurrence,
    reports: list[str],
    task_id: str,
    number: str,
    plan: str,
    former_id: str | None = None,
) -> Task:
    ladders = None
    if t.reminders and (t.reminders.lead or t.reminders.support):
        ladders = {}
        if t.reminders.lead:
            ladders[Role.LEAD] = _ladder(t.reminders.lead)
        if t.reminders.support:
            ladders[Role.SUPPORT] = _ladder(t.reminders.support)
    return Task(
        id=task_id,
        number=number,
        title=t.title,
        timing=rec,
        lead=t.lead,
        support=tuple(t.support),
        milestones=_milestones(t, rec) or implicit_milestones(rec, reports),
        trigger_date=t.trigger_date,
        day_off_rule=DayOffRule(t.deadline_on_day_off) if t.deadline_on_day_off else None,
        lead_times=ladders,
        enabled=t.enabled,
        note=t.note,
        assumed=t.assumed,
        plan=plan,
        former_id=former_id,
        section=t.section,
        product=t.product,
        review=tuple(t.review),
    )


PROGRESS_NAME = "Báo cáo tiến độ thực hiện"  # the implicit progress report's name, as ops read it
SPAN_NAME = "Hoàn thành nhiệm vụ của giai đoạn"


def implicit_milestones(rec: Recurrence, reports: list[str]) -> tuple[Milestone, ...]:
    """The milestones a task without any gets from its phrase: its own date ("Trước ngày
    15/12 hằng năm", "Hằng quý (trước ngày 20 tháng cuối quý)"); for an ongoing task the
    office's progress reports (`[reminders] progress_reports`) and nothing else; for a period
    the same reports in each year but the last, and its completion by 31/12 of the last."""
    if rec.frequency in (Frequency.ONGOING, Frequency.SPAN):
        days = sorted({schema.day_month(d) for d in reports}, key=lambda dm: (dm[1], dm[0]))
        out = [
            Milestone(id=f"bao-cao-{d:02d}{m:02d}", name=PROGRESS_NAME, due=(d, m), progress=True)
            for d, m in days
        ]
        if rec.frequency is Frequency.SPAN:
            out.append(Milestone(id="hoan-thanh", name=SPAN_NAME, due=(31, 12)))
        return tuple(out)
    if rec.fixed_due:
        return (Milestone(id="han", name=rec.phrase, due=rec.fixed_due),)
    if rec.period_due:
        day, month = rec.period_due
        return (Milestone(id="han", name=rec.phrase, due_day=day, due_month=month),)
    return ()


def _milestones(t: schema.TaskFields, rec: Recurrence) -> tuple[Milestone, ...]:
    """The configured milestones; an ongoing task's are all progress reports."""
    ongoing = rec.frequency is Frequency.ONGOING
    return tuple(_milestone(m, progress=ongoing or m.progress) for m in t.milestones)


def _milestone(m: schema.Milestone, *, progress: bool) -> Milestone:
    return Milestone(
        id=m.id,
        name=m.name,
        due=schema.day_month(m.due) if m.due else None,
        due_day=m.due_day,
        due_month=m.due_month,
        days_after=m.days_after,
        dates=tuple(sorted(m.dates or ())),
        day_off_rule=DayOffRule(m.deadline_on_day_off) if m.deadline_on_day_off else None,
        assumed=m.assumed,
        progress=progress,
    )


def _warn(cfg: schema.Config, settings: Settings, out: Collector) -> None:
    """Unreachable recipients and assumed dates: the file works, but ops should look."""
    index = {("agencies", a.id): i for i, a in enumerate(cfg.agencies)}
    index |= {("groups", g.id): i for i, g in enumerate(cfg.groups)}
    agencies = settings.catalog.agencies
    for agency_id in unreachable(agencies, settings.channels):
        table = "groups" if agencies[agency_id].is_group else "agencies"
        out.warn(
            (table, index[(table, agency_id)]),
            f"{agencies[agency_id].name!r} reaches nobody: give it email/telegram/zalo contacts or members",
        )
    assumed = [
        f"{t.id}/{m.id}:{line_of(('tasks', i, 'milestones', j), out.lines)}"
        for i, t in enumerate(cfg.tasks)
        for j, m in enumerate(t.milestones)
        if m.assumed
    ]
    assumed += [
        f"{t.id}:{line_of(('tasks', i), out.lines)}" for i, t in enumerate(cfg.tasks) if t.assumed
    ]
    warn_ended_periods(settings.catalog.tasks[: len(cfg.tasks)], out)
    _warn_review(cfg.tasks, out)
    if assumed:
        out.warnings.append(
            Problem(
                out.file,
                None,
                "assumed",
                f"{len(assumed)} dates or timings are assumptions to confirm "
                f"(then remove `assumed = true`): {', '.join(assumed)}",
            )
        )


def _warn_review(tasks: Sequence[schema.TaskFields], out: Collector) -> None:
    """What an import left for review, one warning each, until ops remove it."""
    for i, t in enumerate(tasks):
        for item in t.review:
            out.warn(("tasks", i, "review"), f"to review (left by the import): {item}")


def _warn_plan(source: PlanSource, tasks: tuple[Task, ...]) -> None:
    """A plan file's assumed dates and ended periods, against its own lines."""
    out = source.out
    mine = [t for t in tasks if t.plan == source.id]
    warn_ended_periods(mine, out)
    _warn_review(source.tasks, out)
    assumed = [
        f"{t.number}/{m.id}:{line_of(('tasks', i, 'milestones', j), out.lines)}"
        for i, t in enumerate(source.tasks)
        for j, m in enumerate(t.milestones)
        if m.assumed
    ]
    assumed += [
        f"{t.number}:{line_of(('tasks', i), out.lines)}"
        for i, t in enumerate(source.tasks)
        if t.assumed
    ]
    if assumed:
        out.warnings.append(
            Problem(
                out.file,
                None,
                "assumed",
                f"{len(assumed)} dates or timings are assumptions to confirm "
                f"(then remove `assumed = true`): {', '.join(assumed)}",
            )
        )


def _with_warnings(settings: Settings, warnings: list[Problem]) -> Settings:
    from dataclasses import replace

    return replace(settings, warnings=tuple(warnings))
