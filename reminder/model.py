"""The nouns of the program as small frozen dataclasses. No I/O, no clock.

Everything downstream of `config` (catalog, planner, render, ledger, channels, dispatch,
daemon) speaks in these types. Dates are business dates in Asia/Ho_Chi_Minh; instants are
timezone-aware datetimes.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Role(enum.StrEnum):
    """The part an agency plays in a task."""

    LEAD = "lead"  # chủ trì
    SUPPORT = "support"  # phối hợp


class Frequency(enum.StrEnum):
    """How a task recurs, once its timing phrase (or structured fields) has been read."""

    YEARLY = "yearly"  # Hằng năm; every `interval` years when interval > 1 (02 năm/lần)
    QUARTERLY = "quarterly"  # Hằng quý
    MONTHLY = "monthly"  # Hằng tháng
    HALF_YEARLY = "half_yearly"  # 6 tháng/lần
    ONCE = "once"  # Năm 2026, Quý I/2026, Tháng 6/2026
    TRIGGERED = "triggered"  # Sau khi có hướng dẫn của Trung ương
    ASSIGNED = "assigned"  # Theo nhiệm vụ được giao; Theo chỉ đạo của UBND tỉnh
    ONGOING = "ongoing"  # Thường xuyên: no deadline, only periodic progress reports
    SPAN = "span"  # Giai đoạn 2026 - 2030: done by the end, a progress report each year before


class DayOffRule(enum.StrEnum):
    """Where a deadline that falls on a day off moves to."""

    NEXT = "next"  # Civil Code 2015, art. 148(5): the next working day (default)
    PREVIOUS = "previous"  # "gửi trước ngày …": the working day before
    KEEP = "keep"  # leave it on the day off


class LeadUnit(enum.StrEnum):
    """How a lead time is counted."""

    CALENDAR = "calendar"  # ngày
    WORKING = "working"  # ngày làm việc


@dataclass(frozen=True, slots=True)
class Recurrence:
    """What a timing phrase means, possibly completed by structured fields in config.

    `period` is set for ONCE: "2026" (a year), "2026-Q1" (a quarter) or "2026-06" (a month).
    `fixed_due` is a (day, month) given by the phrase itself ("Trước ngày 15/12 hằng năm",
    "Trước ngày 30/6/2027" with period "2027"). `period_due` is a (day, month of the period)
    given by the phrase for a quarterly/half-yearly/monthly task ("Hằng quý (trước ngày 20
    tháng cuối quý)" → (20, 3)). `day_off_rule` is the phrase's own: "trước" (by that day)
    moves a deadline on a day off to the working day before. For SPAN, `start_year` and
    `end_year` are the period's years.
    """

    frequency: Frequency
    interval: int = 1
    anchor_year: int | None = None
    start_year: int | None = None
    end_year: int | None = None
    period: str | None = None
    fixed_due: tuple[int, int] | None = None
    period_due: tuple[int, int] | None = None
    day_off_rule: DayOffRule | None = None
    phrase: str = ""  # the phrase as written in the appendix
    reading: str = ""  # how it was read, in plain words, for `reminder explain`


@dataclass(frozen=True, slots=True)
class Milestone:
    """One deadline inside each occurrence of a task (e.g. issue the plan; report results).

    Exactly one way of placing the deadline applies, depending on the task's frequency:
    - `due` (day, month) in the occurrence's year, for yearly / every-N-years / one-off year;
    - `due_day` (+ `due_month`, 1-based month inside the period, default its last month) for
      quarterly / half-yearly / monthly / one-off quarter or month; a day past the month's end
      means the month's last day (31 → 30/4, 29/2 → 28/2 in a common year);
    - `days_after` the trigger date, for triggered tasks;
    - `dates`, explicit deadlines, for assigned tasks (or to override any other rule).
    """

    id: str
    name: str
    due: tuple[int, int] | None = None
    due_day: int | None = None
    due_month: int | None = None
    days_after: int | None = None
    dates: tuple[date, ...] = ()
    day_off_rule: DayOffRule | None = None  # None: the task's, then the calendar's rule
    assumed: bool = False  # True: an assumption of ours, for ops to confirm or adjust
    progress: bool = False  # a progress report (báo cáo tiến độ), not the task's completion


@dataclass(frozen=True, slots=True)
class Agency:
    """An agency or a group of agencies, as named in the appendix.

    A group has `members` (ids of agencies or other groups). Any entry may have its own
    contacts (a group's are a distribution list). `succeeded_by` names the agency that took
    over after the 2025 mergers: reminders go to the successor, the text keeps the old name.
    """

    id: str
    name: str
    emails: tuple[str, ...] = ()
    telegram: tuple[str, ...] = ()  # chat ids as strings ("-1001234567890" or "@channel")
    succeeded_by: str | None = None
    members: tuple[str, ...] = ()
    is_group: bool = False
    short_name: str | None = None
    zalo: tuple[str, ...] = ()  # Zalo chat ids (a user's or a group's), as strings


@dataclass(frozen=True, slots=True)
class LeadTimes:
    """The reminder ladder for one role: days before the deadline, and days after it."""

    before: tuple[int, ...]
    unit: LeadUnit = LeadUnit.CALENDAR
    overdue: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Task:
    """A row of the appendix, plus what ops configured for it."""

    id: str  # the ledger's key: "<plan id>/<number>" for a plan file's task, else config's id
    number: str  # as printed in the appendix: "1", "2.1", "3a"
    title: str
    timing: Recurrence
    lead: str  # agency id, as written in the appendix
    support: tuple[str, ...]
    milestones: tuple[Milestone, ...]
    trigger_date: date | None = None
    day_off_rule: DayOffRule | None = None
    lead_times: dict[Role, LeadTimes] | None = None  # None: the global ladder
    enabled: bool = True
    note: str = ""  # the appendix's "Ghi chú" (shown in messages), or ops's note
    assumed: bool = False  # its timing (anchor year, frequency) is an assumption to confirm
    plan: str = ""  # the plan's id
    former_id: str | None = None  # its id in config.toml before it moved into plans/
    section: str = ""  # the appendix's section (and heading) the task is under
    product: str = ""  # the appendix's "Sản phẩm" / "Kết quả dự kiến"
    review: tuple[str, ...] = ()  # what the import left for ops to review (`check` lists it)

    @property
    def name(self) -> str:
        """How people name it: "<plan id>/<number>" ("ke-hoach-45/2.1")."""
        return f"{self.plan}/{self.number}" if self.plan else self.number


@functools.lru_cache(maxsize=8192)
def number_key(number: str) -> tuple[tuple[int, str], ...]:
    """Sort key of an appendix number: "2" < "2.1" < "2a" < "10" (parts compared as numbers).
    Kept per number: a status or a digest sorts thousands of items of the same few tasks."""
    out = []
    for part in number.split("."):
        digits = len(part) - len(part.lstrip("0123456789"))
        out.append((int(part[:digits]) if digits else 1 << 30, part[digits:]))
    return tuple(out)


class AmbiguousTask(LookupError):
    """A bare number that names a task in more than one plan."""

    def __init__(self, ref: str, candidates: tuple[str, ...]):
        super().__init__(ref)
        self.ref = ref
        self.candidates = candidates


@dataclass(frozen=True, slots=True)
class CalendarRules:
    """The working-day calendar: weekends, public holidays and the ops overlay."""

    timezone: ZoneInfo = VN_TZ
    weekend: frozenset[int] = frozenset({5, 6})  # date.weekday(): Saturday=5, Sunday=6
    public_holidays: bool = True  # Vietnamese public holidays from the `holidays` package
    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()  # e.g. a Saturday worked in exchange
    day_off_rule: DayOffRule = DayOffRule.NEXT
    send_time: time = time(8, 0)
    office_start: time = time(7, 30)
    office_end: time = time(17, 0)


@dataclass(frozen=True, slots=True)
class PlanInfo:
    """The plan the appendix belongs to. Number and date may be blank (an unsigned draft)."""

    title: str
    issuer: str
    number: str = ""
    signed_on: date | None = None
    sender: str = ""  # the office that sends the reminders, for the letter's closing
    reports_to: str = ""  # the body that receives reports today, if not the issuer (mergers)
    id: str = ""  # "ke-hoach-45": the first half of its tasks' names
    period: tuple[int, int] | None = None  # first and last year it runs, if stated
    source: Path | None = None  # its plan file (None: inline in config.toml)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One instance of a task: a year, a quarter, a month, a trigger or an assignment."""

    task_id: str
    label: str  # "2026", "2026-Q1", "2026-H2", "2026-06", "trigger-2027-01-15", "2027-03-15"
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class Deadline:
    """A milestone of an occurrence, with its date after the day-off rule, and why."""

    task_id: str
    occurrence: str
    milestone_id: str
    nominal: date  # the date the rule gives
    due: date  # after moving off a day off
    reasons: tuple[str, ...] = ()  # e.g. "15/02/2026 is Tết Nguyên Đán → next working day"


@dataclass(frozen=True, slots=True)
class Completion:
    """The current record that an occurrence (milestone_id '') or one milestone is finished.

    `done_on` is the business date the work was finished (it may be earlier than
    `recorded_at`, the instant it was recorded, aware UTC). `by` says who recorded it
    ("ops:name", "telegram:<user id>", "email:<address>"), `ref` the document that reports
    it ("Báo cáo số 12/BC-SNV ngày 10/12/2026"). Built from the ledger's append-only
    completion events: the latest event of a (task, occurrence, milestone) decides.
    """

    task_id: str
    occurrence: str
    milestone_id: str  # '' = the whole occurrence
    done_on: date
    recorded_at: datetime
    by: str = ""
    ref: str = ""
    note: str = ""


@dataclass(slots=True, unsafe_hash=True)
class Reminder:
    """One message to one address about one deadline at one rung of the ladder.

    `key` is stable across runs: task|occurrence|milestone|lead|agency|channel|address.
    `lead_days` > 0 before the deadline, 0 on the day, < 0 after it (overdue).
    `agency` is who receives it (the successor, if any); `named_as` is the agency as the
    appendix names it, which differs when a successor or a group stands in.

    Treated as immutable (nothing assigns to a field; it hashes on its fields) but not
    `frozen=True`: a frozen dataclass sets each field through object.__setattr__, which
    makes one 6× slower to build (3.7 µs against 0.6 µs), and plan() builds 600,000 of
    them for a 10,000-task catalog (docs/performance.md).
    """

    key: str
    task_id: str
    occurrence: str
    milestone_id: str
    deadline: date
    send_at: datetime
    lead_days: int
    lead_unit: LeadUnit
    agency: str
    named_as: str
    role: Role
    channel: str  # "email" | "telegram" | "zalo"
    address: str
    kind: str = "reminder"  # "reminder" | "escalation" (to the supervisor) | "summary" (to ops)


@dataclass(frozen=True, slots=True)
class Escalation:
    """Overdue work reported to the supervising body (`[escalation]`).

    Each overdue milestone goes to `to` (an agency or group id) once per rung: `after`
    working days past its (moved) deadline while it is not recorded as done.
    """

    to: str
    after: tuple[int, ...] = (3,)


@dataclass(frozen=True, slots=True)
class Summary:
    """The weekly summary to ops (`[summary]`): on `weekday` (0 = Monday) at `at`, or the
    next working day when that day is off; what is due in the next `ahead_days` days, what
    is overdue, what was confirmed done in the week before."""

    weekday: int
    at: time
    emails: tuple[str, ...] = ()
    telegram: tuple[str, ...] = ()
    ahead_days: int = 14
    zalo: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Office:
    """The office that issues the status report (`[office]`), as it is today. A blank field
    is printed as a dotted blank, as a draft leaves it, never made up."""

    name: str = ""  # "Văn phòng Ủy ban nhân dân tỉnh": the issuing body
    parent: str = ""  # "Ủy ban nhân dân tỉnh An Giang": the body above it
    symbol: str = ""  # "VPUBND": the document symbol after "/BC-"
    place: str = ""  # "An Giang": the place in the date line
    signer_authority: str = ""  # "KT. CHÁNH VĂN PHÒNG", when signing for the head
    signer_title: str = ""  # "PHÓ CHÁNH VĂN PHÒNG"
    signer_name: str = ""
    recipients: tuple[str, ...] = ()  # "Nơi nhận", before "- Lưu: VT."


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered message, ready for a channel. Channels send it and nothing else."""

    channel: str  # "email" | "telegram" | "zalo"
    address: str
    subject: str
    text: str
    html: str | None = None  # email HTML part; for Telegram, `text` is already HTML
    message_id: str | None = None  # RFC 5322 Message-ID (email), derived from the keys
    keys: tuple[str, ...] = ()  # the reminder keys this message carries (a digest: several)
    headers: dict[str, str] = field(default_factory=dict)
    buttons: tuple[tuple[Button, ...], ...] = ()  # Telegram inline keyboard rows
    agency: str = ""  # the receiving agency's id, for the channel's log lines ("" if none)


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: its label and the (signed) data sent back when pressed."""

    text: str
    data: str


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """How to reach the SMTP server. `password` is the resolved secret, never printed."""

    host: str
    port: int
    security: str  # "starttls" | "tls" (implicit, port 465) | "plain"
    sender: str  # From: "Văn phòng UBND tỉnh <nhachan@example.gov.vn>"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    reply_to: str | None = None
    timeout: float = 30.0
    ca_file: Path | None = None  # extra CA to trust; certificates are always verified
    local_hostname: str | None = None


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    """How to reach the Bot API. `token` is the resolved secret, never printed."""

    token: str = field(repr=False)
    base_url: str | None = None  # None: api.telegram.org; tests point it at 127.0.0.1
    timeout: float = 30.0
    poll: bool = False  # receive button presses, /start link codes and /trangthai
    code_minutes: int = 60  # a one-time chat link code (`reminder telegram-link`) lasts this long


@dataclass(frozen=True, slots=True)
class ZaloSettings:
    """How to reach the Zalo Bot API. `token` is the resolved secret, never printed."""

    token: str = field(repr=False)
    base_url: str | None = None  # None: bot-api.zaloplatforms.com; tests point it at 127.0.0.1
    timeout: float = 30.0
    poll: bool = False  # receive answers ("xong 3"), link codes and "trạng thái"
    code_minutes: int = 60  # a one-time chat link code (`reminder zalo-link`) lasts this long
    send_per_second: float = 5.0  # messages a second, all chats together (one bot)
    webhook_secret: str | None = field(default=None, repr=False)  # None: long polling


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The answer-back settings: signing secret, the built-in web server, links.

    `listen` None: the server is off (links can still be signed for an outside server).
    `secret` signs links, buttons and forms; `password` guards the status pages. Both are
    resolved secrets, never printed.
    """

    secret: str = field(repr=False)
    listen: tuple[str, int] | None = None
    public_url: str | None = None  # "https://nhachan.tinh.example", no trailing slash
    password: str | None = field(default=None, repr=False)
    link_days: int = 90  # a confirmation link expires this many days after its deadline
    # The peers whose X-Forwarded-For / X-Real-IP is believed (a reverse proxy in front):
    # loopback with `behind_proxy`, plus `trusted_proxies`; empty: the headers are ignored.
    trusted_proxies: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    """The folder that receives messages instead of a real server (the shipped default)."""

    directory: Path
    email_sender: str = "Nhắc hạn <nhachan@localhost>"  # From: of the .eml files written
    email_reply_to: str | None = None  # Reply-To: of the .eml files, as SMTP would send it


@dataclass(frozen=True, slots=True)
class Catalog:
    """Everything the planner and the messages need, validated and cross-checked."""

    plan: PlanInfo
    tasks: tuple[Task, ...]
    agencies: dict[str, Agency]
    calendar: CalendarRules
    lead_times: dict[Role, LeadTimes]
    source: Path | None = None
    plans: dict[str, PlanInfo] = field(default_factory=dict)  # by id; {} = {plan.id: plan}
    _by_ref: dict[str, Task] = field(init=False, repr=False, compare=False)
    _by_number: dict[str, tuple[Task, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.plans:
            object.__setattr__(self, "plans", {self.plan.id: self.plan})
        by_ref: dict[str, Task] = {}
        by_number: dict[str, list[Task]] = {}
        for t in self.tasks:  # an id or a name first, then the former ids
            by_ref.setdefault(t.id, t)
            by_ref.setdefault(t.name, t)
            by_number.setdefault(t.number, []).append(t)
        for t in self.tasks:
            if t.former_id:
                by_ref.setdefault(t.former_id, t)
        object.__setattr__(self, "_by_ref", by_ref)
        object.__setattr__(self, "_by_number", {k: tuple(v) for k, v in by_number.items()})

    def task(self, ref: str) -> Task:
        """The task named `ref`: "<plan>/<number>", its id, its former id, or a bare number
        that only one plan has. KeyError if none; AmbiguousTask if the number is in several
        plans."""
        found = self._by_ref.get(ref)
        if found is not None:
            return found
        same = self._by_number.get(ref, ())
        if len(same) == 1:
            return same[0]
        if same:
            raise AmbiguousTask(ref, tuple(t.name for t in same))
        raise KeyError(ref)

    def name_of(self, task: Task) -> str:
        """How output names a task: its number while one plan is loaded, else
        "<plan>/<number>"."""
        return task.number if len(self.plans) == 1 else task.name

    def plan_of(self, task: Task) -> PlanInfo:
        """The plan a task belongs to."""
        return self.plans.get(task.plan, self.plan)
