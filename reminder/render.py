"""Due reminders → one formal Vietnamese message per agency, channel and address.

The wording lives in the Jinja2 templates (top-level `templates/`, or a folder of the ops'
own); this module only gathers the data the templates need and guards the output:

- one Environment with StrictUndefined (a misspelt variable is an error, never a blank),
  autoescape for every `.html` template (the email's HTML part and `telegram.html`);
- config text (task titles, agency and plan names) is data, passed as variables, so a title
  holding `{{ 7*7 }}` or `<script>` arrives literally, escaped where the output is HTML;
- a template problem becomes `TemplateError("<file>:<line>: <what>")`;
- Telegram output may hold only the tags Telegram's HTML mode accepts.

Template variables (all templates receive the same set):
    recipient  AgencyView: who receives the message (the successor, the group member)
    items      list[ItemView], sorted by deadline, then task number: one per reminder
    n_tasks, n_overdue, n_linked  int: the distinct tasks of the items, the items overdue
               (days_left < 0), the items with a confirmation link
    plan       PlanInfo: title, issuer, number ("" if blank), signed_on (None), sender, reports_to
    today      date: the business date of sending; days left count from it
    late       bool: the reminder is sent late (the system was interrupted)
    channel    "email" | "telegram" | "zalo"
    compact    bool: Telegram only, set when the full text would pass Telegram's length limit
    text_answers  bool: Zalo only in practice: answers by text ("xong 3") are read
Filters: ngay_dai, ngay, thu, so, countdown(today), ky (an occurrence for readers), tuan
(a week for readers) from `reminder.vnformat`; rut_gon(width).
"""

from __future__ import annotations

import copy
import hashlib
import html
import logging
import re
import traceback
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import reminder
from reminder import vnformat
from reminder.cachedir import cache_dir
from reminder.model import (
    VN_TZ,
    Agency,
    Button,
    Catalog,
    LeadUnit,
    Message,
    PlanInfo,
    Reminder,
    Role,
    Task,
    number_key,
)

if TYPE_CHECKING:
    from reminder.config import Settings
    from reminder.links import AnswerLinks  # made by the dispatcher when [web] is on

__all__ = [
    "TELEGRAM_TAGS",
    "AgencyView",
    "ItemView",
    "Renderer",
    "TemplateError",
    "default_template_dir",
    "load_checked",
]

CHANNELS = ("email", "telegram", "zalo")
SUBJECT_TEMPLATE = "email_subject.txt"
BUTTONS_TEMPLATE = "telegram_buttons.txt"
CHANNEL_TEMPLATES = {
    "email": ("email.txt", "email.html"),
    "telegram": ("telegram.html",),
    "zalo": ("zalo.txt",),
}
TEST_TEMPLATES = {
    "email": ("test_subject.txt", "test.txt"),
    "telegram": ("test_subject.txt", "test_telegram.html"),
    "zalo": ("test_subject.txt", "test_zalo.txt"),
}
REQUIRED_TEMPLATES = (
    SUBJECT_TEMPLATE,
    "email.txt",
    "email.html",
    "telegram.html",
    "test_subject.txt",
    "test.txt",
    "test_telegram.html",
    "zalo.txt",
    "test_zalo.txt",
)
TEMPLATE_SUFFIXES = (".txt", ".html", ".jinja", ".j2")
FOLLOWUP_SUFFIXES = ("_subject.txt", ".txt", "_telegram.html")  # escalation…, summary…
TELEGRAM_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre", "blockquote"})
TELEGRAM_LIMIT = 4096  # characters after entity parsing (MessageLimit.MAX_TEXT_LENGTH)
TELEGRAM_SOFT_LIMIT = 4000  # above this, render again with `compact`
HEADER_KEYS_MAX = 900  # an RFC 5322 line may hold 998 characters


log = logging.getLogger(__name__)


class TemplateError(Exception):
    """A template that does not compile or render. The message reads "<file>:<line>: <what>"
    (line 0 when the problem is not on a line, such as a missing file)."""


@dataclass(frozen=True, slots=True)
class AgencyView:
    """An agency as the templates see it: its name as written, and its successor's name
    (after the 2025 mergers) when it has one."""

    id: str
    name: str
    short_name: str | None
    successor: str | None
    is_group: bool


@dataclass(frozen=True, slots=True)
class ItemView:
    """One reminder as the templates see it."""

    key: str
    task_id: str
    number: str
    title: str
    milestone: str
    milestone_id: str
    occurrence: str
    deadline: date
    days_left: int  # from `today`: > 0 before, 0 on the day, < 0 overdue
    role: str  # "lead" (chủ trì) | "support" (phối hợp)
    named_as: AgencyView  # the agency as the appendix names it for this recipient
    as_group: bool  # the recipient stands in for a group named in the appendix
    lead: AgencyView
    supports: tuple[AgencyView, ...]  # every supporting agency, as written
    others: tuple[AgencyView, ...]  # supports other than the lead, named_as and the recipient
    confirm_url: str = ""  # e-mail to the lead agency: the signed confirmation link ("" if off)
    section: str = ""  # the appendix's section ("I. NHIỆM VỤ CHUNG"), if the task has one
    product: str = ""  # the appendix's "Sản phẩm" / "Kết quả dự kiến"
    note: str = ""  # the appendix's "Ghi chú"
    plan: PlanInfo | None = None  # the plan the task belongs to
    plan_first: bool = False  # the first item of its plan in a digest of several plans


def default_template_dir() -> Path:
    """The shipped templates: `reminder/templates` in an installed wheel (package data),
    else the repository's top-level `templates/` beside the package (a checkout, editable)."""
    package = Path(reminder.__file__).resolve().parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


def rut_gon(text: str, width: int = 70) -> str:
    """`text` on one line, cut at a word boundary to at most `width` characters with "…"."""
    one_line = " ".join(str(text).split())
    if len(one_line) <= width:
        return one_line
    cut = one_line[: width - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.–-") + "…"


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept in the cache folder (`reminder.cachedir`), `templates/` in it.

    Compiling the templates costs ~70 ms of CPU, which every `reminder check` and daemon
    start paid. Jinja keeps each entry with the checksum of the template's source (and its
    own bytecode version and Python's), so an edited template is compiled again; the file
    name carries the Environment's compile-time options. A cache folder that cannot be read
    or written only means compiling again.
    """

    def __init__(self, env: Environment) -> None:
        options = (
            jinja2.__version__,
            "autoescape .html",  # select_autoescape below: not introspectable, change by hand
            env.trim_blocks,
            env.lstrip_blocks,
            env.keep_trailing_newline,
            env.newline_sequence,
            env.extensions.keys(),
        )
        tag = hashlib.sha256(repr(options).encode()).hexdigest()[:12]
        super().__init__(str(cache_dir() / "templates"), f"{tag}-%s.cache")

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception as exc:  # a truncated or foreign file: compile instead
            log.debug("template cache entry %s unreadable: %s", bucket.key, exc)
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            Path(self.directory).mkdir(mode=0o700, parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError as exc:
            log.debug("template cache %s not written: %s", self.directory, exc)


class Renderer:
    """Renders reminders into Messages with the templates of one folder."""

    def __init__(
        self,
        catalog: Catalog,
        template_dir: Path | None = None,
        *,
        answers: AnswerLinks | None = None,
        text_answers: bool = False,
    ) -> None:
        self.catalog = catalog
        # each agency as the templates see it, for the catalog it was made from (a copy of
        # this renderer given another catalog starts afresh: see _agency_view)
        self._views: tuple[Catalog, dict[str, AgencyView]] = (catalog, {})
        self.answers = answers
        self.text_answers = text_answers  # Zalo: the daemon reads answers such as "xong 3"
        self.template_dir = Path(template_dir) if template_dir else default_template_dir()
        self.env = Environment(
            loader=FileSystemLoader(self.template_dir, encoding="utf-8"),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,
        )
        self.env.bytecode_cache = _CompiledTemplates(self.env)
        self.env.filters.update(
            ngay_dai=vnformat.ngay_dai,
            ngay=vnformat.ngay,
            thu=vnformat.thu,
            so=vnformat.so,
            countdown=vnformat.countdown,
            ky=vnformat.ky,
            tuan=vnformat.tuan,
            rut_gon=rut_gon,
        )

    # --- public ---------------------------------------------------------------------------

    def render(
        self,
        reminders: Sequence[Reminder],
        *,
        today: date,
        late: bool = False,
        message_id_domain: str = "reminder.local",
    ) -> Message:
        """One message for reminders sharing agency, channel and address (a digest if several).

        Raises ValueError for reminders that cannot go in one message or name unknown tasks
        or agencies, and TemplateError for a template that fails.
        """
        batch = _dedupe(reminders)
        first = batch[0]
        for r in batch[1:]:
            if (r.agency, r.channel, r.address) != (first.agency, first.channel, first.address):
                raise ValueError(
                    "reminders of one message must share agency, channel and address: "
                    f"{first.key!r} vs {r.key!r}"
                )
        if first.channel not in CHANNELS:
            raise ValueError(
                f"unknown channel {first.channel!r} (expected email, telegram or zalo)"
            )
        context = self._context(batch, today=today, late=late)
        subject = " ".join(self._render(SUBJECT_TEMPLATE, context).split())
        html_part: str | None = None
        if first.channel == "email":
            text = _tidy(self._render("email.txt", context))
            html_part = self._render("email.html", context)
        elif first.channel == "zalo":
            text = _tidy(self._render("zalo.txt", context))
        else:
            text = self._render_telegram(context)
        keys = tuple(sorted(r.key for r in batch))
        return Message(
            channel=first.channel,
            address=first.address,
            subject=vnformat.nfc(subject),
            text=vnformat.nfc(text),
            html=vnformat.nfc(html_part) if html_part is not None else None,
            message_id=message_id(keys, message_id_domain),
            keys=keys,
            headers=_headers(keys),
            buttons=self._buttons(context) if first.channel == "telegram" else (),
            agency=first.agency,
        )

    def render_followup(
        self,
        batch: Sequence[Reminder],
        context: dict[str, object],
        *,
        today: date,
        late: bool = False,
        message_id_domain: str = "reminder.local",
    ) -> Message:
        """An escalation or a weekly summary (`kind` of the batch): `<kind>_subject.txt`,
        then `<kind>.txt` (e-mail, Zalo) or `<kind>_telegram.html` (Telegram), with `context`
        (see templates/README.md) plus plan, today, late and channel."""
        first = batch[0]
        full = {
            **context,
            "plan": self.catalog.plan,
            "several_plans": len(self.catalog.plans) > 1,  # name tasks "<plan>/<number>"
            "today": today,
            "late": late,
            "channel": first.channel,
        }
        subject = " ".join(self._render(f"{first.kind}_subject.txt", full).split())
        if first.channel in ("email", "zalo"):
            text = _tidy(self._render(f"{first.kind}.txt", full))
        else:
            name = f"{first.kind}_telegram.html"
            text = _tidy(self._render(name, full))
            self._refuse_telegram_tags(text, name)
        keys = tuple(sorted({r.key for r in batch}))
        return Message(
            channel=first.channel,
            address=first.address,
            subject=vnformat.nfc(subject),
            text=vnformat.nfc(text),
            message_id=message_id(keys, message_id_domain),
            keys=keys,
            headers=_headers(keys),
            agency=first.agency,
        )

    def page(self, name: str, context: dict[str, object]) -> str:
        """A document from the template folder (e.g. report.html), NFC, with the filters."""
        return vnformat.nfc(self._render(name, context))

    def _buttons(self, context: dict[str, object]) -> tuple[tuple[Button, ...], ...]:
        """One row of inline buttons (done, received) per lead item of a Telegram message,
        labelled by templates/telegram_buttons.txt; none unless the poller is on."""
        if self.answers is None or not self.answers.buttons:
            return ()
        every: list[ItemView] = context["items"]  # type: ignore[assignment]
        items = [i for i in every if i.role == "lead"]
        rows = []
        for item in items:
            labels = [
                " ".join(line.split())
                for line in self._render(
                    BUTTONS_TEMPLATE, {**context, "item": item, "several": len(every) > 1}
                ).splitlines()
                if line.strip()
            ]
            if len(labels) != 2:
                raise TemplateError(f"{BUTTONS_TEMPLATE}:0: expected two lines (done, received)")
            task = self.catalog.task(item.task_id)
            done, ack = self.answers.button_data(task, item.occurrence, item.milestone_id)
            rows.append(
                (Button(vnformat.nfc(labels[0]), done), Button(vnformat.nfc(labels[1]), ack))
            )
        return tuple(rows)

    def test_message(
        self,
        channel: str,
        address: str,
        now: datetime,
        *,
        message_id_domain: str = "reminder.local",
    ) -> Message:
        """A test message for `reminder send-test`: no task, just proof the channel works."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r} (expected email, telegram or zalo)")
        local = now.astimezone(self.catalog.calendar.timezone) if now.tzinfo else now
        context: dict[str, object] = {
            "plan": self.catalog.plan,
            "channel": channel,
            "address": address,
            "now": local,
            "today": local.date(),
        }
        subject_name, body_name = TEST_TEMPLATES[channel]
        subject = " ".join(self._render(subject_name, context).split())
        text = _tidy(self._render(body_name, context))
        if channel == "telegram":
            self._refuse_telegram_tags(text, body_name)
        key = f"test|{channel}|{address}|{local.isoformat()}"
        return Message(
            channel=channel,
            address=address,
            subject=vnformat.nfc(subject),
            text=vnformat.nfc(text),
            message_id=message_id([key], message_id_domain),
            headers={"X-Reminder-Test": "1"},
        )

    def check(self) -> list[str]:
        """Compile every template and render sample digests; one line per problem, [] if fine."""
        if not self.template_dir.is_dir():
            return [f"{self._display(None)}: template folder not found"]
        problems: list[str] = []
        for name in REQUIRED_TEMPLATES:
            if not (self.template_dir / name).is_file():
                problems.append(f"{self._display(name)}: template missing")
        for name in self.env.list_templates():
            if not name.endswith(TEMPLATE_SUFFIXES):
                continue
            try:
                self.env.get_template(name)
            except Exception as exc:  # syntax errors, bad encoding, ...
                problems.append(str(self._wrap(exc, name)))
        if problems:
            return problems
        for line in self._check_samples():
            if line not in problems:
                problems.append(line)
        return problems

    # --- context --------------------------------------------------------------------------

    def _context(self, batch: Sequence[Reminder], *, today: date, late: bool) -> dict[str, object]:
        first = batch[0]
        recipient = self._agency_view(first.agency)
        order = {pid: i for i, pid in enumerate(self.catalog.plans)}
        items = sorted(
            (self._item(r, today) for r in batch),
            key=lambda i: (
                order.get(i.plan.id if i.plan else "", 0),
                i.deadline,
                number_key(i.number),
                i.milestone_id,
                i.key,
            ),
        )
        plans: list[PlanInfo] = []
        for i, item in enumerate(items):  # one digest, grouped by plan in the catalog's order
            if item.plan is not None and item.plan not in plans:
                plans.append(item.plan)
                items[i] = replace(item, plan_first=True)
        return {
            "recipient": recipient,
            "items": items,
            # counted once here rather than by a filter chain in each template (as Jinja's
            # `unique` counts: letter case ignored)
            "n_tasks": len({i.task_id.lower() for i in items}),
            "n_overdue": sum(1 for i in items if i.days_left < 0),
            "n_linked": sum(1 for i in items if i.confirm_url),
            "plans": plans,
            "plan": plans[0] if plans else self.catalog.plan,
            "today": today,
            "late": late,
            "channel": first.channel,
            "compact": False,
            "text_answers": self.text_answers,
        }

    def _item(self, r: Reminder, today: date) -> ItemView:
        try:
            task = self.catalog.task(r.task_id)
        except KeyError:
            raise ValueError(f"reminder {r.key!r}: unknown task {r.task_id!r}") from None
        milestone = next((m for m in task.milestones if m.id == r.milestone_id), None)
        named_as = self._agency_view(r.named_as)
        lead = self._agency_view(task.lead)
        supports = tuple(self._agency_view(a) for a in task.support)
        excluded = {task.lead, r.named_as, r.agency}
        others = tuple(a for a in supports if a.id not in excluded)
        confirm_url = ""
        if self.answers is not None and r.role == Role.LEAD and r.channel in ("email", "zalo"):
            confirm_url = self.answers.confirm_url(
                task.id, r.occurrence, r.milestone_id, r.agency, r.deadline
            )
        return ItemView(
            plan=self.catalog.plan_of(task),
            key=r.key,
            task_id=task.id,
            number=task.number,
            title=task.title,
            milestone=milestone.name if milestone else "",
            milestone_id=r.milestone_id,
            occurrence=r.occurrence,
            deadline=r.deadline,
            days_left=vnformat.days_left(r.deadline, today),
            role=Role(r.role).value,
            named_as=named_as,
            as_group=r.named_as != r.agency and named_as.is_group,
            lead=lead,
            supports=supports,
            others=others,
            confirm_url=confirm_url,
            section=task.section,
            product=task.product,
            note=task.note,
        )

    def _agency(self, agency_id: str) -> Agency:
        try:
            return self.catalog.agencies[agency_id]
        except KeyError:
            raise ValueError(f"unknown agency {agency_id!r}") from None

    def _agency_view(self, agency_id: str) -> AgencyView:
        """The agency as the templates see it; made once per agency and catalog (a digest
        names the same few agencies in every item)."""
        catalog, views = self._views
        if catalog is not self.catalog:
            catalog, views = self._views = (self.catalog, {})
        view = views.get(agency_id)
        if view is None:
            view = views[agency_id] = self._make_agency_view(agency_id)
        return view

    def _make_agency_view(self, agency_id: str) -> AgencyView:
        agency = self._agency(agency_id)
        successor: str | None = None
        seen = {agency.id}
        current = agency
        while current.succeeded_by and current.succeeded_by not in seen:
            seen.add(current.succeeded_by)
            current = self._agency(current.succeeded_by)
            successor = current.name
        return AgencyView(
            id=agency.id,
            name=agency.name,
            short_name=agency.short_name,
            successor=successor,
            is_group=agency.is_group or bool(agency.members),
        )

    # --- rendering ------------------------------------------------------------------------

    def _render(self, name: str, context: dict[str, object]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except Exception as exc:
            raise self._wrap(exc, name) from exc

    def _render_telegram(self, context: dict[str, object], *, force_compact: bool = False) -> str:
        """telegram.html, again in compact form if too long; only Telegram's tags allowed."""
        text = _tidy(self._render("telegram.html", context))
        if force_compact or _telegram_length(text) > TELEGRAM_SOFT_LIMIT:
            text = _tidy(self._render("telegram.html", {**context, "compact": True}))
        self._refuse_telegram_tags(text, "telegram.html")
        return text

    def _refuse_telegram_tags(self, text: str, name: str) -> None:
        bad = _disallowed_tags(text)
        if bad:
            line = self._find_line(name, f"<{bad[0]}")
            raise TemplateError(
                f"{self._display(name)}:{line}: Telegram HTML does not allow "
                + ", ".join(f"<{t}>" for t in bad)
                + " (allowed: "
                + ", ".join(f"<{t}>" for t in sorted(TELEGRAM_TAGS))
                + ")"
            )

    def _wrap(self, exc: BaseException, name: str) -> TemplateError:
        """A TemplateError naming the file and line where `exc` arose inside `name`."""
        if isinstance(exc, jinja2.TemplateSyntaxError):
            where = exc.name or name
            return TemplateError(f"{self._display(where)}:{exc.lineno or 0}: {exc.message}")
        if isinstance(exc, jinja2.TemplateNotFound):
            what = f"template {exc.name!r} not found"
        elif isinstance(exc, UnicodeDecodeError):
            what = "not valid UTF-8"
        else:
            what = str(exc) or type(exc).__name__
        where, line = name, 0
        root = self.template_dir.resolve()
        for frame in traceback.extract_tb(exc.__traceback__):
            path = Path(frame.filename).resolve()
            if path.is_relative_to(root) and path.is_file():
                where, line = path.relative_to(root).as_posix(), frame.lineno or 0
        return TemplateError(f"{self._display(where)}:{line}: {what}")

    def _display(self, name: str | None) -> str:
        """How a template file is named in messages: relative to the working directory
        when it lies under it ("templates/email.html"), else its absolute path."""
        path = self.template_dir.resolve()
        if name:
            path = path / name
        try:
            return path.relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def _find_line(self, name: str, needle: str) -> int:
        try:
            source = (self.template_dir / name).read_text(encoding="utf-8")
        except OSError:
            return 0
        for number, text in enumerate(source.splitlines(), start=1):
            if needle.lower() in text.lower():
                return number
        return 0

    # --- check ----------------------------------------------------------------------------

    def _check_samples(self) -> list[str]:
        """Render sample messages through every channel and report what goes wrong."""
        problems: list[str] = []
        for channel in CHANNELS:
            try:
                self.test_message(channel, "sample", datetime(2026, 12, 8, 8, 0, tzinfo=VN_TZ))
            except TemplateError as exc:
                problems.append(str(exc))
        task = next((t for t in self.catalog.tasks if t.enabled), None)
        if task is None:
            task = next(iter(self.catalog.tasks), None)
        if task is None:
            return problems
        today = date(2026, 12, 8)
        for channel in CHANNELS:
            single = self._sample_reminders(task, channel, today)[:1]
            digest = self._sample_reminders(task, channel, today)
            for batch, late in ((single, False), (digest, True)):
                problems.extend(self._check_batch(batch, today=today, late=late))
            problems.extend(self._check_escaping(task, channel, today))
        return problems

    def _check_batch(self, batch: list[Reminder], *, today: date, late: bool) -> list[str]:
        """Render each template of the batch's channel separately, so that every failing
        template is reported, not only the first."""
        try:
            context = self._context(batch, today=today, late=late)
        except ValueError as exc:
            return [f"{self._display(None)}: sample for task {batch[0].task_id}: {exc}"]
        problems = []
        channel = batch[0].channel
        for name in (SUBJECT_TEMPLATE, *CHANNEL_TEMPLATES[channel]):
            try:
                if name == "telegram.html":
                    self._render_telegram(context)
                    self._render_telegram(context, force_compact=True)
                else:
                    self._render(name, context)
            except TemplateError as exc:
                problems.append(str(exc))
        return problems

    def _sample_reminders(self, task: Task, channel: str, today: date) -> list[Reminder]:
        """A lead reminder ahead of time, then a support reminder due today and one overdue,
        all addressed to the task's lead (or its successor), so every branch is exercised."""
        recipient = self._final_successor(task.lead)
        milestone = task.milestones[0].id if task.milestones else "sample"
        named_support = next(iter(task.support), task.lead)
        group_or_old = next(
            (a for a in task.support if self._agency(a).succeeded_by or self._agency(a).is_group),
            named_support,
        )
        rows = [
            (task.lead, Role.LEAD, 7),
            (named_support, Role.SUPPORT, 0),
            (group_or_old, Role.SUPPORT, -3),
        ]
        reminders = []
        for n, (named_as, role, left) in enumerate(rows):
            due = today + timedelta(days=left)
            reminders.append(
                Reminder(
                    key=f"{task.id}|sample|{milestone}|{n}|{recipient}|{channel}|sample",
                    task_id=task.id,
                    occurrence="sample",
                    milestone_id=milestone,
                    deadline=due,
                    send_at=datetime(today.year, today.month, today.day, 8, 0, tzinfo=VN_TZ),
                    lead_days=left,
                    lead_unit=LeadUnit.CALENDAR,
                    agency=recipient,
                    named_as=named_as,
                    role=role,
                    channel=channel,
                    address="sample",
                )
            )
        return reminders

    def _final_successor(self, agency_id: str) -> str:
        seen = {agency_id}
        current = self._agency(agency_id)
        while current.succeeded_by and current.succeeded_by not in seen:
            seen.add(current.succeeded_by)
            current = self._agency(current.succeeded_by)
        return current.id

    def _check_escaping(self, task: Task, channel: str, today: date) -> list[str]:
        """Render with every title and name holding markup: the HTML templates must escape
        it (no |safe, no plain-text macros imported into HTML), the text ones must not."""
        probe = "<x-probe> & {{ 6*7 }}"
        catalog = replace(
            self.catalog,
            plan=replace(
                self.catalog.plan,
                title=f"{self.catalog.plan.title} {probe}",
                issuer=f"{self.catalog.plan.issuer} {probe}",
                sender=f"{self.catalog.plan.sender} {probe}",
                reports_to=f"{self.catalog.plan.reports_to or 'x'} {probe}",
            ),
            tasks=tuple(
                replace(t, title=f"{t.title} {probe}") if t.id == task.id else t
                for t in self.catalog.tasks
            ),
            agencies={
                key: replace(a, name=f"{a.name} {probe}")
                for key, a in self.catalog.agencies.items()
            },
        )
        renderer = copy.copy(self)  # the same compiled templates, the probed catalog
        renderer.catalog = catalog
        outputs: dict[str, str] = {}
        try:
            context = renderer._context(
                self._sample_reminders(task, channel, today), today=today, late=False
            )
            for name in CHANNEL_TEMPLATES[channel]:
                outputs[name] = renderer._render(name, context)
        except (TemplateError, ValueError):
            pass  # already reported by the sample render
        problems = []
        for name, output in outputs.items():
            if name.endswith(".html") and "<x-probe>" in output:
                line = self._find_line(name, "safe") or self._find_line(name, ".txt")
                problems.append(
                    f"{self._display(name)}:{line}: config text is not escaped as HTML "
                    "(a title or name holding '<' must arrive as text)"
                )
            if name.endswith(".txt") and "&lt;x-probe" in output:
                problems.append(
                    f"{self._display(name)}: config text is escaped as HTML in plain text"
                )
        return problems


# --- helpers ------------------------------------------------------------------------------


def digests(reminders: Sequence[Reminder]) -> list[list[Reminder]]:
    """Reminders of one kind for the same (agency, channel, address) go out as one message
    (the daemon's batches and `preview` group them so; here, not in reminder.dispatch, so that
    `preview` needs no database libraries)."""
    groups: dict[tuple[str, str, str, str], list[Reminder]] = defaultdict(list)
    for r in reminders:
        groups[(r.kind, r.agency, r.channel, r.address)].append(r)
    return list(groups.values())


def message_id(keys: Sequence[str], domain: str = "reminder.local") -> str:
    """RFC 5322 Message-ID derived from the reminder keys, whatever their order."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _headers(keys: Sequence[str]) -> dict[str, str]:
    """X-Reminder-Keys when the keys fit a header line (printable ASCII), else their count."""
    joined = ", ".join(keys)
    if len(joined) <= HEADER_KEYS_MAX and joined.isascii() and joined.isprintable():
        return {"X-Reminder-Keys": joined}
    return {"X-Reminder-Count": str(len(keys))}


def _dedupe(reminders: Sequence[Reminder]) -> list[Reminder]:
    batch: dict[str, Reminder] = {}
    for r in reminders:
        batch.setdefault(r.key, r)
    if not batch:
        raise ValueError("render() needs at least one reminder")
    return list(batch.values())


_BLANK_LINES = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    """Trailing spaces off each line, at most one blank line in a row, no blank ends."""
    lines = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", lines).strip("\n") + "\n"


_TAG = re.compile(r"<[^>]*>")


def _telegram_length(text: str) -> int:
    """Length as Telegram counts it: tags removed, entities decoded, UTF-16 code units."""
    visible = html.unescape(_TAG.sub("", text))
    return len(visible.encode("utf-16-le")) // 2


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(tag)


# Every name html.parser can report as a start or end tag is one of these matches (its
# starttagopen + tagfind_tolerant, its tolerant and its strict end tag): when all of them are
# Telegram's tags, the parser cannot find another, and the Python parse is skipped.
_TAG_NAMES = re.compile(
    r"<([a-zA-Z][^\t\n\r\f />\x00]*)|</([a-zA-Z][^\t\n\r\f />\x00]*)"
    r"|</\s*([a-zA-Z][-.a-zA-Z0-9:_]*)\s*>"
)


def _disallowed_tags(text: str) -> list[str]:
    """Tags in `text` that Telegram's HTML parse mode would refuse, in order, once each."""
    if all((a or b or c).lower() in TELEGRAM_TAGS for a, b, c in _TAG_NAMES.findall(text)):
        return []
    collector = _TagCollector()
    collector.feed(text)
    collector.close()
    bad: list[str] = []
    for tag in collector.tags:
        if tag not in TELEGRAM_TAGS and tag not in bad:
            bad.append(tag)
    return bad


def load_checked(path: str | Path) -> Settings:
    """Load the configuration and check its templates: a template error is a config error.

    What `reminder check` validates and what the daemon accepts at start and on reload.
    """
    from reminder.config import ConfigError, Problem, load

    settings = load(path)
    renderer = Renderer(settings.catalog, settings.templates_dir)
    problems = renderer.check()
    for kind, on in (("escalation", settings.escalation), ("summary", settings.summary)):
        for name in (f"{kind}{suffix}" for suffix in FOLLOWUP_SUFFIXES if on):
            if not (renderer.template_dir / name).is_file():
                problems.append(f"{renderer._display(name)}: template missing (needed by [{kind}])")
    if problems:
        raise ConfigError([Problem(settings.source, None, "templates", p) for p in problems])
    return settings
