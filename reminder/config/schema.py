"""The shape of config.toml, as pydantic models (types, ranges, unknown keys).

Only the shape lives here; cross-references (agency ids, group cycles, timing phrases)
are checked in `reminder.config.crosscheck`. Every model forbids unknown keys so that a
typo is an error, not a silently ignored setting.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})/(\d{1,2})$")
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


def _no_control(value: str) -> str:
    problem = control_characters(value)
    if problem:
        raise ValueError(f"{problem} (got {value!r})")
    return value


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


class Strict(BaseModel):
    """Base: unknown keys are errors; values are not coerced across types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


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


class Plan(Strict):
    title: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    number: str = ""
    signed_on: dt.date | None = None
    sender: str = ""
    reports_to: str = ""


class Calendar(Strict):
    timezone: str = "Asia/Ho_Chi_Minh"
    weekend: list[Literal[WEEKDAYS]] = ["saturday", "sunday"]  # type: ignore[valid-type]
    public_holidays: bool = True
    days_off: list[dt.date] = []
    working_days: list[dt.date] = []
    deadline_on_day_off: Literal["next", "previous", "keep"] = "next"
    send_time: str = "08:00"
    office_hours: list[str] = Field(default=["07:30", "17:00"], min_length=2, max_length=2)

    @field_validator("send_time")
    @classmethod
    def _time(cls, v: str) -> str:
        hhmm(v)
        return v

    @field_validator("office_hours")
    @classmethod
    def _hours(cls, v: list[str]) -> list[str]:
        if hhmm(v[0]) >= hhmm(v[1]):
            raise ValueError(f"office hours must start before they end (got {list(v)})")
        return v


class Ladder(Strict):
    before: list[Annotated[int, Field(ge=0, le=366)]]
    unit: Literal["calendar", "working"] = "calendar"
    overdue: list[Annotated[int, Field(ge=1, le=366)]] = []


class Reminders(Strict):
    lead: Ladder = Ladder(before=[30, 14, 7, 3, 1, 0])
    support: Ladder = Ladder(before=[14, 3])


class Delivery(Strict):
    catch_up_hours: float = Field(default=24, ge=0, le=24 * 31)
    max_attempts: int | None = Field(default=None, ge=1, le=100)  # None: while useful
    retry_initial_seconds: float = Field(default=60, gt=0)
    retry_max_seconds: float = Field(default=3600, gt=0)
    lease_minutes: float = Field(default=5, gt=0)

    @field_validator("retry_max_seconds")
    @classmethod
    def _cap_above_start(cls, v: float, info: ValidationInfo) -> float:
        start = info.data.get("retry_initial_seconds")
        if start is not None and v < start:
            raise ValueError(f"must not be below retry_initial_seconds = {start:g} (got {v:g})")
        return v


class Database(Strict):
    url: str = "sqlite:///reminder.db"
    # PostgreSQL's password, like the other secrets: never in the URL (see load._database)
    credential: str | None = "database_password"
    password_env: str | None = "REMINDER_DATABASE_PASSWORD"
    password_file: str | None = None


class Outbox(Strict):
    dir: str = "outbox"


class Smtp(Strict):
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    security: Literal["starttls", "tls", "plain"]
    username: str | None = None
    credential: str | None = "smtp_password"
    password_env: str | None = "REMINDER_SMTP_PASSWORD"
    password_file: str | None = None
    from_: str = Field(alias="from", min_length=3)
    reply_to: str | None = None
    timeout_seconds: float = Field(default=30, gt=0, le=600)
    ca_file: str | None = None

    @field_validator("from_", "reply_to")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None:
            from email.utils import parseaddr

            _no_control(v)
            if not _EMAIL.match(parseaddr(v)[1]):
                raise ValueError(
                    f'expected an address such as "Văn phòng UBND tỉnh <nhachan@tinh.example>" (got {v!r})'
                )
        return v


class EmailChannel(Strict):
    transport: Literal["outbox", "smtp", "off"] = "outbox"
    smtp: Smtp | None = None


class Bot(Strict):
    credential: str | None = "telegram_token"
    token_env: str | None = "REMINDER_TELEGRAM_TOKEN"
    token_file: str | None = None
    base_url: str | None = None
    timeout_seconds: float = Field(default=30, gt=0, le=600)
    poll: bool = False
    link_code_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class TelegramChannel(Strict):
    transport: Literal["outbox", "bot", "off"] = "outbox"
    bot: Bot | None = None


class Channels(Strict):
    email: EmailChannel = EmailChannel()
    telegram: TelegramChannel = TelegramChannel()


_LISTEN = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")


class Web(Strict):
    listen: str | None = None
    public_url: str | None = None
    secret_credential: str | None = "web_secret"
    secret_env: str | None = "REMINDER_WEB_SECRET"
    secret_file: str | None = None
    password_credential: str | None = "web_password"
    password_env: str | None = "REMINDER_WEB_PASSWORD"
    password_file: str | None = None
    link_days_after_deadline: int = Field(default=90, ge=1, le=3660)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str | None) -> str | None:
        if v is not None:
            m = _LISTEN.match(v)
            if not m or not 0 <= int(m.group(2)) <= 65535:
                raise ValueError(f'expected host:port, e.g. "127.0.0.1:8765" (got {v!r})')
        return v

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", v):
            raise ValueError(
                f'expected an address such as "https://nhachan.tinh.example" (got {v!r})'
            )
        return v.rstrip("/") if v else v


class Templates(Strict):
    dir: str | None = None


def _emails(v: list[str]) -> list[str]:
    for item in v:
        _no_control(item)
        if not _EMAIL.match(item):
            raise ValueError(
                f'expected an e-mail address such as "vanthu@tinh.example" (got {item!r})'
            )
    return v


def _chats(v: list[str]) -> list[str]:
    for item in v:
        if not _CHAT.match(item):
            raise ValueError(
                f'expected a Telegram chat id as text, e.g. "-1001234567890" or "@kenh" (got {item!r})'
            )
    return v


class Contactable(Strict):
    id: Id
    name: str = Field(min_length=1)
    short_name: str | None = None
    email: list[str] = []
    telegram: list[str] = []
    succeeded_by: Id | None = None

    _check_emails = field_validator("email")(_emails)
    _check_chats = field_validator("telegram")(_chats)


class Agency(Contactable):
    pass


class Group(Contactable):
    members: list[Id] = []


class Milestone(Strict):
    id: Id
    name: str = Field(min_length=1)
    due: str | None = None
    due_day: int | None = Field(default=None, ge=1, le=31)
    due_month: int | None = Field(default=None, ge=1, le=12)
    days_after: int | None = Field(default=None, ge=0, le=3660)
    dates: list[dt.date] | None = None
    deadline_on_day_off: Literal["next", "previous", "keep"] | None = None
    assumed: bool = False

    @field_validator("due")
    @classmethod
    def _due(cls, v: str | None) -> str | None:
        if v is not None:
            day_month(v)
        return v


class LadderOverride(Strict):
    lead: Ladder | None = None
    support: Ladder | None = None


class Task(Strict):
    id: Id
    number: int = Field(ge=1, le=9999)
    title: str = Field(min_length=1)
    timing: str = Field(min_length=1)
    lead: Id
    support: list[Id] = []
    frequency: (
        Literal["yearly", "quarterly", "monthly", "half_yearly", "once", "triggered", "assigned"]
        | None
    ) = None
    interval: int | None = Field(default=None, ge=1, le=10)
    anchor_year: int | None = Field(default=None, ge=1990, le=2100)
    start_year: int | None = Field(default=None, ge=1990, le=2100)
    end_year: int | None = Field(default=None, ge=1990, le=2100)
    trigger_date: dt.date | None = None
    deadline_on_day_off: Literal["next", "previous", "keep"] | None = None
    reminders: LadderOverride | None = None
    enabled: bool = True
    assumed: bool = False
    note: str = ""
    milestones: list[Milestone] = Field(default=[], min_length=0)

    _check_title = field_validator("title")(_no_control)  # it goes into the e-mail subject


class Escalation(Strict):
    enabled: bool = True
    to: Id
    after: list[Annotated[int, Field(ge=1, le=366)]] = Field(default=[3], min_length=1)


class Summary(Strict):
    enabled: bool = True
    weekday: Literal[WEEKDAYS] = "monday"  # type: ignore[valid-type]
    time: str | None = None  # default: [calendar] send_time
    email: list[str] = []
    telegram: list[str] = []
    ahead_days: int = Field(default=14, ge=1, le=366)

    _check_emails = field_validator("email")(_emails)
    _check_chats = field_validator("telegram")(_chats)

    @field_validator("time")
    @classmethod
    def _time(cls, v: str | None) -> str | None:
        if v is not None:
            hhmm(v)
        return v


class Config(Strict):
    plan: Plan
    calendar: Calendar = Calendar()
    reminders: Reminders = Reminders()
    delivery: Delivery = Delivery()
    database: Database = Database()
    outbox: Outbox = Outbox()
    channels: Channels = Channels()
    templates: Templates = Templates()
    escalation: Escalation | None = None
    summary: Summary | None = None
    web: Web | None = None
    agencies: list[Agency] = []
    groups: list[Group] = []
    tasks: list[Task] = Field(min_length=1)
