"""Calendar feeds (RFC 5545, built with `icalendar`): one all-day event per milestone deadline.

- The event sits on the deadline after the day-off rule (the moved date), all day.
- Its UID comes from the deadline's key (task, occurrence, milestone), so it is the same in
  every run and every feed: a calendar that imports the feed again updates the event.
- Its SEQUENCE is kept by the ledger (`Replies.sequences`): it is raised whenever the
  event's fingerprint (date, title, milestone, done or not) changes, which is what makes
  calendar clients replace an event rather than keep the old copy.
- Alarms at the send instants of the lead agency's ladder (before and on the day); an item
  recorded as done has no alarms and says "Đã hoàn thành" in its summary.
- The summary and description are Vietnamese, from templates/lich/ (`summary.txt`,
  `description.txt`).

`feed_items` is pure (it takes the dates and the completions); `to_ical` writes the bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from icalendar import Alarm, Calendar, Event

from reminder.ledger import Ledger
from reminder.model import Catalog, Completion, Deadline, LeadTimes, Role, Task
from reminder.occurrences import deadlines
from reminder.planner import ladder_for, rungs
from reminder.recipients import successor
from reminder.render import Renderer
from reminder.workdays import WorkCalendar

if TYPE_CHECKING:
    from reminder.config import Settings

__all__ = ["FeedItem", "build_feed", "feed_items", "to_ical", "uid_of"]

PRODID = "-//nhachan//reminder//VI"
Work = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One event of a feed, before its SEQUENCE is known."""

    uid: str
    due: date
    summary: str
    description: str
    alarms: tuple[datetime, ...]
    done: bool

    @property
    def fingerprint(self) -> str:
        """What, when changed, raises the event's SEQUENCE."""
        text = f"{self.due}|{self.summary}|{self.description}|{self.done}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def uid_of(task_id: str, occurrence: str, milestone_id: str) -> str:
    """A UID that is the same in every run: task, occurrence and milestone."""
    return f"{task_id}.{occurrence}.{milestone_id}@nhachan"


def involves(catalog: Catalog, task: Task, agency: str) -> bool:
    """Whether `agency` leads or supports `task` (as named, or as a successor)."""
    named = (task.lead, *task.support)
    return any(agency in successor(a, catalog.agencies) for a in named)


def feed_items(
    catalog: Catalog,
    renderer: Renderer,
    first: date,
    last: date,
    completions: Mapping[Work, Completion],
    *,
    agency: str | None = None,
) -> list[FeedItem]:
    """The events for deadlines in [first, last], of the tasks `agency` takes part in (all
    tasks when None), sorted by date then UID."""
    cal = WorkCalendar(catalog.calendar)
    items: list[FeedItem] = []
    for task in catalog.tasks:
        if not task.enabled or (agency is not None and not involves(catalog, task, agency)):
            continue
        ladder = ladder_for(catalog, task, Role.LEAD)
        for d in deadlines(task, cal, first, last, catalog.calendar.day_off_rule):
            done = completions.get((d.task_id, d.occurrence, d.milestone_id)) or completions.get(
                (d.task_id, d.occurrence, "")
            )
            items.append(_item(catalog, renderer, task, d, done, ladder_alarms(d, ladder, cal)))
    items.sort(key=lambda i: (i.due, i.uid))
    return items


def ladder_alarms(d: Deadline, ladder: LeadTimes, cal: WorkCalendar) -> tuple[datetime, ...]:
    """The send instants of the ladder's rungs on or before the deadline."""
    return tuple(at for rung, at in rungs(d.due, ladder, cal) if rung.days >= 0)


def _item(
    catalog: Catalog,
    renderer: Renderer,
    task: Task,
    d: Deadline,
    done: Completion | None,
    alarms: tuple[datetime, ...],
) -> FeedItem:
    milestone = next((m for m in task.milestones if m.id == d.milestone_id), None)
    context = {
        "task": task,
        "milestone": milestone.name if milestone else "",
        "deadline": d,
        "done": done,
        "lead": catalog.agencies[task.lead],
        "supports": [catalog.agencies[a] for a in task.support],
        "plan": catalog.plan,
    }
    summary = " ".join(renderer.env.get_template("lich/summary.txt").render(context).split())
    description = renderer.env.get_template("lich/description.txt").render(context).strip()
    return FeedItem(
        uid=uid_of(d.task_id, d.occurrence, d.milestone_id),
        due=d.due,
        summary=summary,
        description=description,
        alarms=() if done else alarms,
        done=done is not None,
    )


def to_ical(
    items: list[FeedItem], sequences: Mapping[str, int], *, name: str, stamp: datetime
) -> bytes:
    """The feed as an RFC 5545 calendar. `stamp` is DTSTAMP (the time the feed was made)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
    for item in items:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.due)
        event.add("summary", item.summary)
        event.add("description", item.description)
        event.add("sequence", sequences.get(item.uid, 0))
        event.add("transp", "TRANSPARENT")
        event.add("status", "CONFIRMED")
        for at in item.alarms:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", item.summary)
            # RFC 5545: an absolute trigger is a UTC DATE-TIME
            alarm.add("trigger", at.astimezone(UTC), parameters={"VALUE": "DATE-TIME"})
            event.add_component(alarm)
        cal.add_component(event)
    return bytes(cal.to_ical())


def build_feed(
    settings: Settings, ledger: Ledger, now: datetime, *, agency: str | None, years: int
) -> bytes:
    """The calendar of `agency` (all tasks when None): deadlines from January of last year
    to December of this year + `years` − 1, SEQUENCE numbers kept in the ledger."""
    catalog = settings.catalog
    today = now.astimezone(catalog.calendar.timezone).date()
    renderer = Renderer(catalog, settings.templates_dir)
    first, last = date(today.year - 1, 1, 1), date(today.year + years - 1, 12, 31)
    items = feed_items(catalog, renderer, first, last, ledger.completions.current(), agency=agency)
    sequences = ledger.replies.sequences({i.uid: i.fingerprint for i in items})
    name = catalog.agencies[agency].name if agency else catalog.plan.title
    return to_ical(items, sequences, name=f"Nhắc hạn – {name}", stamp=now)
