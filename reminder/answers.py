"""The shared chat module: what the daemon does with what comes in from a chat channel —
Telegram button presses, /start link codes and /trangthai, typed answers from Zalo or
Telegram ("xong 3", "huỷ 3", "tt", a link code), and the chats it sees. The transports
(reminder.channels.telegram_poll, reminder.channels.zalo_poll) only decode updates into
reminder.channels.chat's types and send back what this module answers; the link-code flow,
reading the words (reminder.chatwords), who may answer for which task, what is recorded and
how it is acknowledged are here, once for both.

Every update is untrusted and is checked here before anything is recorded:
- a press's data must carry this installation's signature (reminder.links) and name a task,
  occurrence and milestone the configuration still has;
- it must come from a chat of the task's lead agency, its successor or a lead group's member,
  as written in config.toml or linked with a one-time code;
- "done" records a completion (reminder.completions.record_first) with done_on = today in
  the business time zone and by = the person's name and Telegram id, from the day the
  occurrence's first reminder goes out; a second press, or a press after someone else
  recorded it, records nothing and says who did and when; "received" records an
  acknowledgement once.
- a typed "xong <task>" counts only from a chat of the task's lead agency (the same rule as
  a press) and records the open deadline of that task nearest today (the one the chat was
  just reminded of), with
  done_on = today and by = the person's name and messenger id; the answer says what was
  recorded. "huỷ <task>" withdraws the latest completion of that task recorded from a chat
  of the same agency within UNDO_WINDOW, and nothing else (ops' records stay).
A refusal answers with an alert (or a plain reply), records nothing and is logged once at
WARNING (chat, user, reason; never the data or a code). The wording is in
templates/telegram_answers.html (Telegram's buttons and commands) and
templates/chat_answers.txt (typed answers, plain text for every chat channel).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup

from reminder import chatwords, status
from reminder.channels.chat import CHANNEL_NAMES, Press, PressAnswer, Sender
from reminder.completions import CompletionEvent
from reminder.config import Settings
from reminder.ledger import Ledger
from reminder.links import ButtonPress, LinkError, Links, task_digest
from reminder.model import AmbiguousTask, Catalog, Completion, Task
from reminder.planner import first_reminder_day
from reminder.recipients import chat_agencies, press_chats, successor, with_linked_chats
from reminder.render import Renderer
from reminder.replies import CodeRefused
from reminder.workdays import WorkCalendar

log = logging.getLogger("reminder.answers")

TEMPLATE = "telegram_answers.html"
TEXT_TEMPLATE = "chat_answers.txt"
STATUS_AHEAD = timedelta(days=90)  # /trangthai lists what is overdue or due within this
UNDO_WINDOW = timedelta(hours=24)  # "huỷ 3" withdraws a chat's own record this recent
OPEN = (status.State.OVERDUE, status.State.IN_PROGRESS)


@dataclass(frozen=True, slots=True)
class Work:
    """The deadline a press is about, once checked."""

    task: Task
    occurrence: str
    milestone_id: str
    milestone_name: str


class Answers:
    """The UpdateHandler of the daemon's Telegram poller."""

    def __init__(
        self, settings: Callable[[], Settings], ledger: Ledger, clock: Callable[[], datetime]
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.clock = clock

    # -- helpers ----------------------------------------------------------------------------

    def _say(
        self,
        name: str,
        template: str = TEMPLATE,
        helpers: dict[str, Any] | None = None,
        **context: Any,
    ) -> Markup:
        settings = self.settings()
        env = Renderer(settings.catalog, settings.templates_dir).env
        macro = getattr(env.get_template(template, globals=helpers).module, name)
        lines = (" ".join(line.split()) for line in str(macro(**context)).splitlines())
        return Markup("\n".join(line for line in lines if line))

    def _text(self, name: str, **context: Any) -> str:
        """A plain-text answer from templates/chat_answers.txt, NFC. Templates name a task
        with `task_name(task_id)`: its number, or "<plan>/<number>" when several plans are
        loaded (what people type back)."""
        import unicodedata

        catalog = self.settings().catalog

        def task_name(task_id: str) -> str:
            try:
                return catalog.name_of(catalog.task(task_id))
            except LookupError:
                return task_id

        text = self._say(name, TEXT_TEMPLATE, {"task_name": task_name}, **context)
        return unicodedata.normalize("NFC", str(text))

    def _plain(self, name: str, **context: Any) -> str:
        return self._say(name, **context).striptags()

    def _today(self) -> date:
        return self.clock().astimezone(self.settings().catalog.calendar.timezone).date()

    def _directory(self) -> Catalog:
        catalog = self.settings().catalog
        linked = self.ledger.replies.linked_chats()
        from dataclasses import replace

        return replace(catalog, agencies=with_linked_chats(catalog.agencies, linked))

    @staticmethod
    def _refuse(sender: Sender, what: str) -> None:
        log.warning(
            "refused %s update from chat %s (user %s): %s",
            CHANNEL_NAMES.get(sender.channel, sender.channel),
            sender.chat_id,
            sender.user_id,
            what,
        )

    # -- presses ----------------------------------------------------------------------------

    async def on_press(self, press: Press) -> PressAnswer:
        settings = self.settings()
        if settings.web is None:
            self._refuse(press.sender, "button pressed but no signing secret is configured")
            return PressAnswer(self._plain("press_invalid"), alert=True)
        try:
            button = Links(settings.web.secret).read_button(press.data)
        except LinkError as exc:
            self._refuse(press.sender, str(exc))
            return PressAnswer(self._plain("press_invalid"), alert=True)
        return await asyncio.to_thread(self._press, press.sender, button)

    def _press(self, sender: Sender, button: ButtonPress) -> PressAnswer:
        catalog = self._directory()
        work = _work(catalog, button)
        if work is None:
            self._refuse(sender, f"button for work no longer planned (task {button.task})")
            return PressAnswer(self._plain("press_stale"), alert=True)
        if sender.chat_id not in press_chats(work.task, catalog.agencies):
            self._refuse(sender, f"chat is not one of task {work.task.name}'s lead agency")
            return PressAnswer(self._plain("press_refused_chat", task=work.task), alert=True)
        if button.action == "done":
            return self._done(sender, work)
        return self._ack(sender, work)

    def _done(self, sender: Sender, work: Work) -> PressAnswer:
        today = self._today()
        key = (work.task.id, work.occurrence, work.milestone_id)
        done = self._live(work)
        if done is not None:
            return self._already(work, done)
        catalog = self.settings().catalog
        first = first_reminder_day(
            catalog, work.task, work.occurrence, WorkCalendar(catalog.calendar)
        )
        try:
            status.check_done(
                work.task,
                work.occurrence,
                work.milestone_id,
                today,
                today,
                first_reminder=first,
                answer_back=True,
            )
        except status.TooEarly as exc:
            self._refuse(sender, f"completion refused: {exc}")
            return PressAnswer(self._plain("press_early", work=work, opens=exc.opens), alert=True)
        except status.Refused as exc:
            self._refuse(sender, f"completion refused: {exc}")
            return PressAnswer(self._plain("press_stale"), alert=True)
        by = f"{sender.user_name} (Telegram {sender.user_id})"
        first_record = self.ledger.completions.record_first(*key, today, by=by, now=self.clock())
        if not first_record.new:
            return self._already(work, _completion(first_record.event))
        log.info(
            "completion recorded from Telegram: task %s %s %s by %s in chat %s",
            work.task.id,
            work.occurrence,
            work.milestone_id,
            sender.user_id,
            sender.chat_id,
        )
        return PressAnswer(
            self._plain("done_answer", work=work, done_on=today, by=sender.user_name),
            append_html=str(self._say("done_line", work=work, done_on=today, by=sender.user_name)),
        )

    def _live(self, work: Work) -> Completion | None:
        """The live completion of the work, or of its whole occurrence."""
        current = self.ledger.completions.current(work.task.id)
        return current.get((work.task.id, work.occurrence, work.milestone_id)) or current.get(
            (work.task.id, work.occurrence, "")
        )

    def _already(self, work: Work, done: Completion) -> PressAnswer:
        zone = self.settings().catalog.calendar.timezone
        at = done.recorded_at.astimezone(zone)
        return PressAnswer(self._plain("already_done", done=done, work=work, at=at))

    def _ack(self, sender: Sender, work: Work) -> PressAnswer:
        by = f"{sender.user_name} (Telegram {sender.user_id})"
        key = (work.task.id, work.occurrence, work.milestone_id)
        if not self.ledger.replies.acknowledge(*key, by, self.clock()):
            return PressAnswer(self._plain("already_ack", work=work))
        return PressAnswer(
            self._plain("ack_answer", work=work),
            append_html=str(
                self._say("ack_line", work=work, by=sender.user_name, on=self._today())
            ),
        )

    # -- commands ---------------------------------------------------------------------------

    async def on_command(self, sender: Sender, command: str, argument: str) -> str | None:
        if command == "start":
            if not argument:
                return str(self._say("start_help"))
            return await asyncio.to_thread(self._link, sender, argument)
        if command == "trangthai":
            return await asyncio.to_thread(self._status, sender)
        return None

    def _link(self, sender: Sender, code: str) -> str:
        catalog = self.settings().catalog
        try:
            linked = self.ledger.replies.use_code(
                code[:128], sender.key, sender.chat_title, sender.user_name, self.clock()
            )
        except CodeRefused as exc:
            self._refuse(sender, f"link code {exc.reason}")
            return str(self._say("link_refused", reason=exc.reason))
        agency = catalog.agencies.get(linked.agency)
        log.info(
            "Telegram chat %s linked to %s by user %s",
            sender.chat_id,
            linked.agency,
            sender.user_id,
        )
        return str(self._say("linked", agency=agency, chat=sender))

    def _status(self, sender: Sender) -> str:
        found = self._open_items(sender, self._directory())
        if found is None:
            return str(self._say("status_not_linked"))
        names, items = found
        return str(self._say("status_reply", agencies=names, items=items, today=self._today()))

    def _open_items(
        self, sender: Sender, catalog: Catalog, task_id: str | None = None
    ) -> tuple[list[str], list[status.Item]] | None:
        """(the chat's agencies' names, their overdue or in-progress items, earliest
        first); None for a chat linked to no agency."""
        agencies = chat_agencies(sender.chat_id, catalog.agencies, sender.channel)
        if not agencies:
            return None
        ours = {successor(a, catalog.agencies)[-1] for a in agencies}
        today = self._today()
        cal = WorkCalendar(catalog.calendar)
        found = status.period_deadlines(
            catalog, date(today.year - 1, 1, 1), today + STATUS_AHEAD, cal
        )
        if task_id is not None:
            found = [d for d in found if d.task_id == task_id]
        current = self.ledger.completions.current(task_id)
        items = [
            i
            for i in status.classify(catalog, found, current, self.clock())
            if i.counted_for in ours and i.state in OPEN
        ]
        return [catalog.agencies[a].name for a in sorted(ours)], items

    # -- typed answers (Zalo, and Telegram messages typed by hand) ---------------------------

    async def on_text(self, sender: Sender, text: str) -> str | None:
        """Read a typed message and act on it; the plain-text reply (None: stay silent, as
        in a group for words that are no command)."""
        said = chatwords.read(text[:500])
        return await asyncio.to_thread(self._answer_text, sender, said)

    def _answer_text(self, sender: Sender, said: chatwords.Said) -> str | None:
        if said.kind == "link":
            return self._link_text(sender, said.code)
        catalog = self._directory()
        linked = bool(chat_agencies(sender.chat_id, catalog.agencies, sender.channel))
        if said.kind == "help":
            return self._text("help", linked=linked) if sender.private else None
        if not linked:
            self._refuse(sender, f"{said.kind} from a chat linked to no agency")
            return self._text("not_linked")
        if said.kind == "status":
            names, items = self._open_items(sender, catalog) or ([], [])
            return self._text("status", agencies=names, items=items, today=self._today())
        try:
            task = catalog.task(said.ref)
        except AmbiguousTask as exc:  # a bare number several plans have
            plans = [c.split("/", 1)[0] for c in exc.candidates]
            return self._text("ambiguous_task", ref=said.ref, plans=plans)
        except LookupError:
            self._refuse(sender, f"{said.kind} for unknown task {said.ref!r}")
            return self._text("unknown_task", ref=said.ref)
        if sender.chat_id not in press_chats(task, catalog.agencies, sender.channel):
            self._refuse(sender, f"chat is not one of task {task.number}'s lead agency")
            return self._text("not_lead", task=task)
        if said.kind == "done":
            return self._done_text(sender, catalog, task)
        return self._undo_text(sender, task)

    def _link_text(self, sender: Sender, code: str) -> str:
        catalog = self.settings().catalog
        try:
            linked = self.ledger.replies.use_code(
                code[:128], sender.key, sender.chat_title, sender.user_name, self.clock()
            )
        except CodeRefused as exc:
            self._refuse(sender, f"link code {exc.reason}")
            return self._text("link_refused", reason=exc.reason)
        log.info(
            "%s chat %s linked to %s by user %s",
            CHANNEL_NAMES.get(sender.channel, sender.channel),
            sender.chat_id,
            linked.agency,
            sender.user_id,
        )
        agency = catalog.agencies.get(linked.agency)
        return self._text("linked", agency=agency, group=not sender.private)

    def _done_text(self, sender: Sender, catalog: Catalog, task: Task) -> str:
        _names, items = self._open_items(sender, catalog, task.id) or ([], [])
        if not items:
            return self._text("nothing_open", task=task)
        today = self._today()
        # The deadline nearest today: the one the chat was just reminded of (a year-old
        # overdue one, never recorded, stays for ops or a second answer).
        item = min(items, key=lambda i: (abs(((i.deadline or today) - today).days), i.deadline))
        first = first_reminder_day(catalog, task, item.occurrence, WorkCalendar(catalog.calendar))
        try:
            status.check_done(
                task,
                item.occurrence,
                item.milestone_id,
                today,
                today,
                first_reminder=first,
                answer_back=True,
            )
        except status.Refused as exc:
            self._refuse(sender, f"completion refused: {exc}")
            return self._text("refused", task=task)
        recorded = self.ledger.completions.record_first(
            task.id, item.occurrence, item.milestone_id, today, by=sender.who, now=self.clock()
        )
        if not recorded.new:  # someone recorded it meanwhile: say who and when
            return self._text("already_done", item=item, done=_completion(recorded.event))
        log.info(
            "completion recorded from %s: task %s %s %s by %s in chat %s",
            CHANNEL_NAMES.get(sender.channel, sender.channel),
            task.id,
            item.occurrence,
            item.milestone_id,
            sender.user_id,
            sender.chat_id,
        )
        others = len(items) - 1
        return self._text("done", item=item, done_on=today, by=sender.user_name, others=others)

    def _undo_text(self, sender: Sender, task: Task) -> str:
        """Withdraw the latest completion of `task` that a chat of this agency recorded
        (by a typed answer or a button) within UNDO_WINDOW."""
        from reminder.completions import NothingToUndo

        now = self.clock()
        mark = f"({CHANNEL_NAMES.get(sender.channel, sender.channel)} "
        ours = [
            c
            for c in self.ledger.completions.current(task.id).values()
            if mark in c.by and now - c.recorded_at <= UNDO_WINDOW
        ]
        if not ours:
            return self._text("nothing_to_undo", task=task)
        last = max(ours, key=lambda c: c.recorded_at)
        try:
            self.ledger.completions.undo(
                task.id, last.occurrence, last.milestone_id, by=sender.who, now=now
            )
        except NothingToUndo:
            return self._text("nothing_to_undo", task=task)
        log.info(
            "completion withdrawn from %s: task %s %s %s by %s in chat %s",
            CHANNEL_NAMES.get(sender.channel, sender.channel),
            task.id,
            last.occurrence,
            last.milestone_id,
            sender.user_id,
            sender.chat_id,
        )
        milestone = next((m.name for m in task.milestones if m.id == last.milestone_id), "")
        shown = {"occurrence": last.occurrence, "milestone_name": milestone or last.milestone_id}
        return self._text("undone", task=task, done=shown)

    # -- chats ------------------------------------------------------------------------------

    async def on_chat(self, sender: Sender, member: bool) -> None:
        await asyncio.to_thread(
            self.ledger.replies.saw_chat,
            sender.key,
            sender.chat_type,
            sender.chat_title,
            member,
            self.clock(),
        )


def _work(catalog: Catalog, button: ButtonPress) -> Work | None:
    """The task and milestone a press names, if the configuration still has them."""
    try:
        task = (
            next(t for t in catalog.tasks if task_digest(t.id) == button.task)
            if button.task.startswith("~")
            else catalog.task(button.task)
        )
    except (LookupError, StopIteration):  # no such task, or a bare number that several plans have
        return None
    milestones = list(task.milestones)
    if button.milestone.startswith("#"):
        index = button.milestone[1:]
        if not re.fullmatch(r"[0-9]{1,3}", index) or int(index) >= len(milestones):
            return None
        ms = milestones[int(index)]
    else:
        found = [m for m in milestones if m.id == button.milestone]
        if not found:
            return None
        ms = found[0]
    if status.deadline_of(catalog, task, button.occurrence, ms.id) is None:
        return None  # an occurrence the task does not have, or not for this milestone
    return Work(task, button.occurrence, ms.id, ms.name)


def _completion(e: CompletionEvent) -> Completion:
    assert e.done_on is not None
    return Completion(
        e.task_id, e.occurrence, e.milestone_id, e.done_on, e.recorded_at, e.by, e.ref, e.note
    )
