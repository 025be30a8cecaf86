"""The tables of config.toml, as read-only `Table`s: types, defaults, ranges.

Only the shape lives here, checked by `reminder.config.shape` (which also reports unknown
keys, so that a typo is an error, not a silently ignored setting); cross-references (agency
ids, group cycles, timing phrases) are checked in `reminder.config.crosscheck`.

No `from __future__ import annotations` here: the tables' annotations are read at run time,
and evaluated once at import they cost less than compiling them from strings.
"""

import datetime as dt
import ipaddress
import re
import unicodedata
from collections.abc import Callable
from typing import Literal

from reminder.config.shape import Check, Limits, Table, key

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
ID = Limits(
    max_length=64,
    pattern=ID_PATTERN,
    hint='expected an id of lower-case letters a-z, digits, "-" or "_" (no spaces or accents), e.g. "so-noi-vu"',
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
OnDayOff = Literal["next", "previous", "keep"]
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")
_ZALO_CHAT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DAY_MONTH = re.compile(r"^(\d{1,2})/(\d{1,2})$")
_LISTEN = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")
_PUBLIC_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
_CONTROL_NAMES = {"\r": "carriage return", "\n": "line feed", "\t": "tab", "\0": "null"}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def control_characters(value: str) -> str:
    """'' if `value` has no control character, else a phrase naming the first one.

    Header values (From, Reply-To, To, the subject's task title) must not carry any: a line
    break would start a new header (`Bcc:`) when the value is put on the wire.
    """
    for c in value:
        if unicodedata.category(c) == "Cc":
            name = f", {_CONTROL_NAMES[c]}" if c in _CONTROL_NAMES else ""
            return f"a control character (U+{ord(c):04X}{name}) is not allowed in a header value"
    return ""


def email_problem(value: str) -> str:
    """'' if `value` is one e-mail address as config.toml takes it, else what is wrong."""
    return control_characters(value) or (
        "" if _EMAIL.match(value) else 'expected an e-mail address such as "vanthu@tinh.example"'
    )


def chat_problem(value: str) -> str:
    """'' if `value` is a Telegram chat id as config.toml takes it, else what is wrong."""
    if _CHAT.match(value):
        return ""
    return 'expected a Telegram chat id, e.g. "-1001234567890" or "@kenh"'


def hhmm(value: str) -> dt.time:
    """'08:00' → time(8, 0); ValueError otherwise."""
    m = _HHMM.match(value)
    if not m:
        raise ValueError(f'expected a time as HH:MM, e.g. "08:00" (got {value!r})')
    return dt.time(int(m.group(1)), int(m.group(2)))


def day_month(value: str) -> tuple[int, int]:
    """'15/12' → (15, 12). 29/02 is allowed (it means 28/02 in a common year)."""
    m = _DAY_MONTH.match(value.strip())
    if not m:
        raise ValueError(f'expected a day/month such as "15/12" (got {value!r})')
    day, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} does not exist (got {value!r})")
    if not 1 <= day <= _MONTH_DAYS[month - 1]:
        raise ValueError(f"day {day} does not exist in month {month} (got {value!r})")
    return day, month


def _raising(parse: Callable[[str], object]) -> Callable[[str], str]:
    """A check from a parser that raises ValueError: '' or the parser's message."""

    def check(value: str) -> str:
        try:
            parse(value)
        except ValueError as exc:
            return str(exc)
        return ""

    return check


def _no_control(value: str) -> str:
    problem = control_characters(value)
    return f"{problem} (got {value!r})" if problem else ""


def _office_hours(v: list[str]) -> str:
    try:
        in_order = hhmm(v[0]) < hhmm(v[1])
    except ValueError as exc:
        return str(exc)
    return "" if in_order else f"office hours must start before they end (got {list(v)})"


def _cap_above_start(v: float, start: float) -> str:
    return f"must not be below retry_initial_seconds = {start:g} (got {v:g})" if v < start else ""


_PLAIN_ADDRESS = r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_PLAIN_SENDER = re.compile(rf"(?:\w+(?: \w+)* <)?({_PLAIN_ADDRESS})>?")


def address_of(value: str) -> str:
    """The address in "Name <address>" or "address", as email.utils.parseaddr finds it.

    The plain forms are read here; anything else (quotes, comments, commas) goes to parseaddr,
    whose import would cost every command ~7 ms.
    """
    m = _PLAIN_SENDER.fullmatch(value)
    if m and value.endswith(">") == ("<" in value):
        return m.group(1)
    from email.utils import parseaddr

    return parseaddr(value)[1]


def _sender(v: str) -> str:
    if control_characters(v):
        return _no_control(v)
    if _EMAIL.match(address_of(v)):
        return ""
    return f'expected an address such as "Văn phòng UBND tỉnh <nhachan@tinh.example>" (got {v!r})'


def _emails(v: list[str]) -> str:
    for item in v:
        problem = _no_control(item) or (
            ""
            if _EMAIL.match(item)
            else f'expected an e-mail address such as "vanthu@tinh.example" (got {item!r})'
        )
        if problem:
            return problem
    return ""


def _chats(v: list[str]) -> str:
    for item in v:
        if not _CHAT.match(item):
            return f'expected a Telegram chat id as text, e.g. "-1001234567890" or "@kenh" (got {item!r})'
    return ""


def zalo_chat_problem(value: str) -> str:
    """'' if `value` is a Zalo chat id as config.toml takes it, else what is wrong."""
    if _ZALO_CHAT.match(value):
        return ""
    return 'expected a Zalo chat id (letters, digits, ".", "-", "_"), e.g. "6e3f1a2b9c8d7e6f"'


def _zalo_chats(v: list[str]) -> str:
    for item in v:
        if problem := zalo_chat_problem(item):
            return f"{problem} (got {item!r})"
    return ""


def _listen(v: str) -> str:
    m = _LISTEN.match(v)
    if m and 0 <= int(m.group(2)) <= 65535:
        return ""
    return f'expected host:port, e.g. "127.0.0.1:8765" (got {v!r})'


def _networks(v: list[str]) -> str:
    for item in v:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return f'expected IP addresses or networks, e.g. ["10.0.0.5", "10.1.0.0/24"] (got {item!r})'
    return ""


def _public_url(v: str) -> str:
    if _PUBLIC_URL.match(v):
        return ""
    return f'expected an address such as "https://nhachan.tinh.example" (got {v!r})'


_PERIOD = re.compile(r"^\s*((?:19|20)\d\d)\s*(?:[-–—]\s*((?:19|20)\d\d))?\s*$")
NUMBER_PATTERN = r"^[0-9A-Za-z]{1,8}([.][0-9A-Za-z]{1,8}){0,4}$"
NUMBER = Limits(
    max_length=40,
    pattern=NUMBER_PATTERN,
    hint='expected the number as printed in the appendix, e.g. "1", "2.1" or "3a" (no spaces or "/")',
)


def period_years(text: str) -> tuple[int, int]:
    """'2026–2030' (any dash) → (2026, 2030); '2026' → (2026, 2026); ValueError otherwise."""
    m = _PERIOD.match(text)
    if not m:
        raise ValueError(
            f'expected the years the plan runs, e.g. "2026–2030" or "2026" (got {text!r})'
        )
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    return first, last


class Plan(Table):
    """[plan]: inline in config.toml (one plan, today's shape) or at the top of a plan file."""

    id: str | None = key(default=None, limits=ID)  # required in a plan file
    title: str = key(min_length=1)
    issuer: str = key(min_length=1)
    number: str = ""
    signed_on: dt.date | None = None
    sender: str = ""
    reports_to: str = ""
    period: str | None = key(default=None, check=_raising(period_years))


class Plans(Table):
    """[plans]: where the plan files are (relative to config.toml)."""

    dir: str = "plans"


class Calendar(Table):
    timezone: str = "Asia/Ho_Chi_Minh"
    weekend: list[Weekday] = key(default=["saturday", "sunday"])
    public_holidays: bool = True
    days_off: list[dt.date] = key(default=[])
    working_days: list[dt.date] = key(default=[])
    deadline_on_day_off: OnDayOff = "next"
    send_time: str = key(default="08:00", check=_raising(hhmm))
    office_hours: list[str] = key(
        default=["07:30", "17:00"], min_length=2, max_length=2, check=_office_hours
    )


class Ladder(Table):
    before: list[int] = key(each=Limits(ge=0, le=366))
    unit: Literal["calendar", "working"] = "calendar"
    overdue: list[int] = key(default=[], each=Limits(ge=1, le=366))


def _days_of_year(v: list[str]) -> str:
    for item in v:
        if problem := _raising(day_month)(item):
            return problem
    return ""


class Reminders(Table):
    lead: Ladder = key(default=Ladder(before=[30, 14, 7, 3, 1, 0]))
    support: Ladder = key(default=Ladder(before=[14, 3]))
    # the office's progress-report days for ongoing tasks and periods ("Thường xuyên")
    progress_reports: list[str] = key(default=["15/12"], min_length=1, check=_days_of_year)


class Delivery(Table):
    catch_up_hours: float = key(default=24, ge=0, le=24 * 31)
    max_attempts: int | None = key(default=None, ge=1, le=100)  # None: while useful
    retry_initial_seconds: float = key(default=60, gt=0, le=24 * 3600)  # a day
    retry_max_seconds: float = key(
        default=3600,
        gt=0,
        le=7 * 24 * 3600,  # a week
        check=Check(_cap_above_start, against="retry_initial_seconds"),
    )
    lease_minutes: float = key(default=5, gt=0, le=24 * 60)  # a day


class Database(Table):
    url: str = "sqlite:///reminder.db"
    # PostgreSQL's password, like the other secrets: never in the URL (see load._database)
    credential: str | None = "database_password"
    password_env: str | None = "REMINDER_DATABASE_PASSWORD"
    password_file: str | None = None


class Outbox(Table):
    dir: str = "outbox"


class Smtp(Table):
    host: str = key(min_length=1)
    port: int = key(ge=1, le=65535)
    security: Literal["starttls", "tls", "plain"] = key()
    username: str | None = None
    credential: str | None = "smtp_password"
    password_env: str | None = "REMINDER_SMTP_PASSWORD"
    password_file: str | None = None
    from_: str = key(alias="from", min_length=3, check=_sender)
    reply_to: str | None = key(default=None, check=_sender)
    timeout_seconds: float = key(default=30, gt=0, le=600)
    ca_file: str | None = None


class EmailChannel(Table):
    transport: Literal["outbox", "smtp", "off"] = "outbox"
    smtp: Smtp | None = None


class Bot(Table):
    credential: str | None = "telegram_token"
    token_env: str | None = "REMINDER_TELEGRAM_TOKEN"
    token_file: str | None = None
    base_url: str | None = None
    timeout_seconds: float = key(default=30, gt=0, le=600)
    poll: bool = False
    link_code_minutes: int = key(default=60, ge=1, le=7 * 24 * 60)


class TelegramChannel(Table):
    transport: Literal["outbox", "bot", "off"] = "outbox"
    bot: Bot | None = None


class ZaloBot(Table):
    credential: str | None = "zalo_token"
    token_env: str | None = "REMINDER_ZALO_TOKEN"
    token_file: str | None = None
    base_url: str | None = None
    timeout_seconds: float = key(default=30, gt=0, le=600)
    send_per_second: float = key(default=5, gt=0, le=100)
    poll: bool = False
    link_code_minutes: int = key(default=60, ge=1, le=7 * 24 * 60)
    receive: Literal["poll", "webhook"] = "poll"
    webhook_secret_credential: str | None = "zalo_webhook_secret"
    webhook_secret_env: str | None = "REMINDER_ZALO_WEBHOOK_SECRET"
    webhook_secret_file: str | None = None


class ZaloChannel(Table):
    transport: Literal["outbox", "bot", "off"] = "outbox"
    bot: ZaloBot | None = None


class Channels(Table):
    email: EmailChannel = key(default=EmailChannel())
    telegram: TelegramChannel = key(default=TelegramChannel())
    zalo: ZaloChannel = key(default=ZaloChannel())


class Web(Table):
    listen: str | None = key(default=None, check=_listen)
    public_url: str | None = key(default=None, check=_public_url)
    secret_credential: str | None = "web_secret"
    secret_env: str | None = "REMINDER_WEB_SECRET"
    secret_file: str | None = None
    password_credential: str | None = "web_password"
    password_env: str | None = "REMINDER_WEB_PASSWORD"
    password_file: str | None = None
    link_days_after_deadline: int = key(default=90, ge=1, le=3660)
    behind_proxy: bool = False
    trusted_proxies: list[str] = key(default=[], check=_networks)


class Templates(Table):
    dir: str | None = None


class Contactable(Table):
    id: str = key(limits=ID)
    name: str = key(min_length=1)
    short_name: str | None = None
    email: list[str] = key(default=[], check=_emails)
    telegram: list[str] = key(default=[], check=_chats)
    zalo: list[str] = key(default=[], check=_zalo_chats)
    succeeded_by: str | None = key(default=None, limits=ID)


class Agency(Contactable):
    pass


class Group(Contactable):
    members: list[str] = key(default=[], each=ID)


class Milestone(Table):
    id: str = key(limits=ID)
    name: str = key(min_length=1)
    due: str | None = key(default=None, check=_raising(day_month))
    due_day: int | None = key(default=None, ge=1, le=31)
    due_month: int | None = key(default=None, ge=1, le=12)
    days_after: int | None = key(default=None, ge=0, le=3660)
    dates: list[dt.date] | None = None
    deadline_on_day_off: OnDayOff | None = None
    assumed: bool = False
    progress: bool = False  # a progress report, not the task's completion


class LadderOverride(Table):
    lead: Ladder | None = None
    support: Ladder | None = None


Frequency = Literal[
    "yearly",
    "quarterly",
    "monthly",
    "half_yearly",
    "once",
    "triggered",
    "assigned",
    "ongoing",
    "span",
]


class TaskFields(Table):
    """What a task says, besides its name: shared by config.toml's and a plan file's tasks."""

    title: str = key(min_length=1, check=_no_control)  # it goes into the e-mail subject
    timing: str = key(min_length=1)
    lead: str = key(limits=ID)
    support: list[str] = key(default=[], each=ID)
    frequency: Frequency | None = None
    interval: int | None = key(default=None, ge=1, le=10)
    anchor_year: int | None = key(default=None, ge=1990, le=2100)
    start_year: int | None = key(default=None, ge=1990, le=2100)
    end_year: int | None = key(default=None, ge=1990, le=2100)
    trigger_date: dt.date | None = None
    deadline_on_day_off: OnDayOff | None = None
    reminders: LadderOverride | None = None
    enabled: bool = True
    assumed: bool = False
    note: str = ""
    section: str = ""
    product: str = ""
    review: list[str] = key(default=[])
    milestones: list[Milestone] = key(default=[])


class Task(TaskFields):
    """[[tasks]] inline in config.toml: an id of its own and a whole number."""

    id: str = key(limits=ID)
    number: int = key(ge=1, le=9999)


class PlanTask(TaskFields):
    """[[tasks]] of a plan file: named <plan id>/<number> by the number printed in the
    appendix; `former_id` is the id it had in config.toml (its ledger records and calendar
    events keep it)."""

    number: str = key(limits=NUMBER)
    former_id: str | None = key(default=None, limits=ID)


class PlanFile(Table):
    """One file in plans/: the plan and its tasks."""

    plan: Plan = key()
    tasks: list[PlanTask] = key(min_length=1)


class Escalation(Table):
    enabled: bool = True
    to: str = key(limits=ID)
    after: list[int] = key(default=[3], min_length=1, each=Limits(ge=1, le=366))


class Summary(Table):
    enabled: bool = True
    weekday: Weekday = "monday"
    time: str | None = key(default=None, check=_raising(hhmm))  # default: [calendar] send_time
    email: list[str] = key(default=[], check=_emails)
    telegram: list[str] = key(default=[], check=_chats)
    zalo: list[str] = key(default=[], check=_zalo_chats)
    ahead_days: int = key(default=14, ge=1, le=366)


class Office(Table):
    name: str = ""
    parent: str = ""
    symbol: str = ""
    place: str = ""
    signer_authority: str = ""
    signer_title: str = ""
    signer_name: str = ""
    recipients: list[str] = key(default=[])


class Config(Table):
    plan: Plan | None = None  # inline: one plan in config.toml (plans/ holds the others)
    plans: Plans = key(default=Plans())
    calendar: Calendar = key(default=Calendar())
    reminders: Reminders = key(default=Reminders())
    delivery: Delivery = key(default=Delivery())
    database: Database = key(default=Database())
    outbox: Outbox = key(default=Outbox())
    channels: Channels = key(default=Channels())
    templates: Templates = key(default=Templates())
    escalation: Escalation | None = None
    summary: Summary | None = None
    web: Web | None = None
    office: Office = key(default=Office())
    agencies: list[Agency] = key(default=[])
    groups: list[Group] = key(default=[])
    tasks: list[Task] = key(default=[])
