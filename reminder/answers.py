"""What the daemon does with incoming Telegram updates: button presses, /start link codes,
/trangthai, and the chats it sees. The channel (reminder.channels.telegram) decodes them; this
module checks them and acts on the ledger.

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
A refusal answers with an alert, records nothing and is logged once at WARNING (chat, user,
reason; never the data or a code). The wording is in templates/telegram_answers.html.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup

from reminder import status
from reminder.channels.telegram import Press, PressAnswer, Sender
from reminder.completions import CompletionEvent
from reminder.config import Settings
from reminder.ledger import Ledger
from reminder.links import ButtonPress, LinkError, Links, task_digest
from reminder.model import Catalog, Completion, Task
from reminder.planner import first_reminder_day
from reminder.recipients import chat_agencies, press_chats, successor, with_linked_chats
from reminder.render import Renderer
from reminder.replies import CodeRefused
from reminder.workdays import WorkCalendar

log = logging.getLogger("reminder.answers")

TEMPLATE = "telegram_answers.html"
STATUS_AHEAD = timedelta(days=90)  # /trangthai lists what is overdue or due within this


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

    def _say(self, name: str, **context: Any) -> Markup:
        settings = self.settings()
        env = Renderer(settings.catalog, settings.templates_dir).env
        macro = getattr(env.get_template(TEMPLATE).module, name)
        lines = (" ".join(line.split()) for line in str(macro(**context)).splitlines())
        return Markup("\n".join(line for line in lines if line))

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
            "refused Telegram update from chat %s (user %s): %s",
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
                code[:128], sender.chat_id, sender.chat_title, sender.user_name, self.clock()
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
        catalog = self._directory()
        agencies = chat_agencies(sender.chat_id, catalog.agencies)
        if not agencies:
            return str(self._say("status_not_linked"))
        ours = {successor(a, catalog.agencies)[-1] for a in agencies}
        now = self.clock()
        today = self._today()
        cal = WorkCalendar(catalog.calendar)
        found = status.period_deadlines(
            catalog, date(today.year - 1, 1, 1), today + STATUS_AHEAD, cal
        )
        items = [
            i
            for i in status.classify(catalog, found, self.ledger.completions.current(), now)
            if i.counted_for in ours and i.state in (status.State.OVERDUE, status.State.IN_PROGRESS)
        ]
        names = [catalog.agencies[a].name for a in sorted(ours)]
        return str(self._say("status_reply", agencies=names, items=items, today=today))

    # -- chats ------------------------------------------------------------------------------

    async def on_chat(self, sender: Sender, member: bool) -> None:
        await asyncio.to_thread(
            self.ledger.replies.saw_chat,
            sender.chat_id,
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
        if not index.isdigit() or int(index) >= len(milestones):
            return None
        ms = milestones[int(index)]
    else:
        found = [m for m in milestones if m.id == button.milestone]
        if not found:
            return None
        ms = found[0]
    return Work(task, button.occurrence, ms.id, ms.name)


def _completion(e: CompletionEvent) -> Completion:
    assert e.done_on is not None
    return Completion(
        e.task_id, e.occurrence, e.milestone_id, e.done_on, e.recorded_at, e.by, e.ref, e.note
    )
