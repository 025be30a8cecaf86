"""Dispatch: the one place that joins plan, ledger, render and channels, and retries.

One `cycle(now)` is what the daemon does at each wake-up and what `reminder run --once`
does once:
1. plan the reminders whose instant lies in the catch-up window [now − catch_up, now];
   older ones (within MISSED_LOOKBACK) that were never sent are recorded as missed;
2. claim them in the ledger (atomic: a key is sent by one process only; failed sends whose
   retry time has come and sends orphaned by a crash are claimed again), a large batch
   slice by slice (CLAIM_SLICE messages) so that several daemons share it;
3. group the claimed ones by (agency, channel, address): one message each (a digest);
4. render each message when its turn comes (e-mail: two senders on the one connection,
   so the next message is rendered and built while the current one is on the wire) and
   send it; the recorder (reminder/recorder.py) marks each message sent in groups
   of at most 32 keys / 50 ms, so a crash can duplicate only the sends in flight plus one
   group, and holds every send back while the ledger refuses writes; a permanent failure
   gives up, a transient one is retried with exponential backoff for as long as the
   reminder is useful (`retries`: until the next rung takes over or the last overdue
   rung has passed, however far behind the catch-up window), then given up saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from reminder import owner
from reminder.channels import make_channels
from reminder.channels.base import Channel, ChannelError
from reminder.config import Settings
from reminder.followup import escalation_context, escalations, summaries, summary_context
from reminder.ledger import Delivery, Ledger, LedgerUnwritable, Status
from reminder.links import AnswerLinks
from reminder.model import Catalog, Message, Reminder
from reminder.planner import Done, PlanCache, useful_until
from reminder.recipients import with_linked_chats
from reminder.recorder import Recorder
from reminder.render import Renderer, digests
from reminder.workdays import WorkCalendar

log = logging.getLogger("reminder.dispatch")

MISSED_LOOKBACK = timedelta(days=31)  # how far back a start looks for reminders never sent
LATE_AFTER = timedelta(minutes=15)  # a reminder sent later than this after its instant says so
# Chats served at once (each chat's messages stay in order). The channel paces them (30/s
# overall, 1/s per chat), so this only has to exceed the chats of a batch: a chat waiting out
# its 1-second spacing holds its slot, and with too few slots the last chats of a large batch
# are served a few at a time.
TELEGRAM_CONCURRENCY = 1024
# Senders sharing one e-mail connection: one message on the wire, the next being rendered
# and built meanwhile (a third would only wait for the connection).
SENDERS = 2
# Messages per claim: a batch larger than this is claimed and sent slice by slice, so that
# several daemons share it and a crash strands at most one slice (see _slices).
CLAIM_SLICE = 200
BACKOFF_CAP = timedelta(days=7)  # a server's "retry after" is believed up to this


@dataclass
class Outcome:
    """What one cycle did, for logs, `run --once` and tests."""

    sent: int = 0
    failed: int = 0
    gave_up: int = 0
    missed: int = 0
    messages: int = 0
    late: int = 0
    errors: list[str] = field(default_factory=list)
    sent_on: set[str] = field(default_factory=set)  # the channels a message went out on
    channel_errors: dict[str, str] = field(default_factory=dict)  # the last error per channel

    def __str__(self) -> str:
        return (
            f"{self.messages} message(s): {self.sent} reminder(s) sent ({self.late} late), "
            f"{self.failed} to retry, {self.gave_up} given up, {self.missed} missed"
        )


def owner_id() -> str:
    """Who claims rows: host, pid, boot id, PID namespace, start time (reminder/owner.py)."""
    return str(owner.current())


class Dispatcher:
    """Sends what is due. One per settings; the daemon swaps it on reload."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        *,
        channels: dict[str, Channel] | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.channels = channels if channels is not None else make_channels(settings)
        self.renderer = renderer or Renderer(
            settings.catalog,
            settings.templates_dir,
            answers=AnswerLinks.of(settings.web, settings.telegram),
            text_answers=bool(settings.zalo and settings.zalo.poll),
        )
        self.calendar = WorkCalendar(settings.catalog.calendar)
        self.planned_for = settings.catalog  # what the two plan caches plan
        self.plans = PlanCache.of_plan(settings.catalog, settings.channels, self.calendar)
        self.escalations = _escalation_cache(settings, settings.catalog, self.calendar)
        self.has_row: set[str] = set()  # the last cycle's older keys: all have ledger rows
        # Keys in the catch-up window this process has sent: SENT is final, so they need no
        # claim at each later wake-up (a write transaction that would find them all SENT).
        self.sent_here: set[str] = set()
        # Keys in the catch-up window this process has claimed (won or not) or given up:
        # each has a ledger row, so when it slides into the look-back it is not offered to
        # record_missed (an INSERT … ON CONFLICT DO NOTHING that would find them all).
        self.with_row: set[str] = set()
        # Where the last cycle's look-back ended, for what catalog and completions: the next
        # one plans only from there (see _due).
        self._looked: tuple[Catalog, datetime, Done] | None = None
        self._looking: tuple[Catalog, datetime, Done] | None = None
        self._first: datetime | None = None  # the ledger's first row, once there is one
        self.owner = owner_id()
        self.rng = random.Random()  # the order this process takes a large batch's slices in
        # Seconds a batch waits for a ledger that refuses writes before it stops
        # (recorder.GaveUpWaiting): None in the daemon (it waits, holding the sends), a
        # bound for `run --once`, whose caller is a script or an operator.
        self.ledger_patience: float | None = None
        self._warned_moves: set[tuple[str, str]] = set()  # moved chats already logged
        self.domain = _domain(settings)
        self._linked: tuple[dict[str, str], Catalog] = ({}, settings.catalog)

    # -- planning ---------------------------------------------------------------------

    def catalog(self) -> Catalog:
        """The configured catalog, with the Telegram chats linked in the ledger added to
        their agencies (`reminder telegram-link`), so linked chats receive reminders too."""
        linked = self.ledger.replies.linked_chats()
        if linked != self._linked[0]:
            agencies = with_linked_chats(self.settings.catalog.agencies, linked)
            self._linked = (linked, replace(self.settings.catalog, agencies=agencies))
        return self._linked[1]

    def due(self, now: datetime) -> tuple[list[Reminder], list[Reminder]]:
        """(in the catch-up window, older and never sent) at `now`, completions excluded.

        "Older" looks back MISSED_LOOKBACK beyond the window, but never to before the
        ledger's first row (less the window): what fell due before this installation
        started sending was never its to send. An empty ledger has no older reminders.
        """
        return self._due(now, incremental=False)

    def _due(self, now: datetime, *, incremental: bool) -> tuple[list[Reminder], list[Reminder]]:
        """due(now); `incremental`: the look-back only from where the last incremental call's
        ended, when nothing since can have added reminders to the part already looked at
        (the same catalog, no completion undone, the clock not turned back). What that part
        held was offered to record_missed then, so the cycle needs only the new part; a
        look-back of a month is ~15,000 reminders at 1,000 tasks, planned at every wake-up
        otherwise."""
        s = self.settings
        done = self.ledger.done()
        window_start = now - s.catch_up
        recent = self._plan(window_start, now, done)
        first = self._first_activity()
        if first is None:
            return recent, []
        since = max(window_start - MISSED_LOOKBACK, first - s.catch_up)
        looked, self._looked, self._looking = self._looked, None, None
        if incremental:
            if looked is not None:
                cat, until, was_done = looked
                if cat is self.planned_for and was_done <= done and until <= window_start:
                    since = max(since, until)
            # kept by cycle() once record_missed has taken the new part
            self._looking = (self.planned_for, window_start, done)
        if since >= window_start:
            return recent, []
        older = self._plan(since, window_start, done)
        return recent, [r for r in older if r.send_at < window_start]

    def _first_activity(self) -> datetime | None:
        """Ledger.first_activity, asked until there is a row (rows are never deleted, and
        later ones are not older: the query reads the whole table)."""
        if self._first is None:
            self._first = self.ledger.first_activity()
        return self._first

    def _plan(
        self, since: datetime, until: datetime, done: frozenset[tuple[str, str, str | None]]
    ) -> list[Reminder]:
        """Reminders and escalations (from their plan caches) and weekly summaries in
        [since, until], by (send_at, key)."""
        s = self.settings
        cat, chans, cal = self.catalog(), s.channels, self.calendar
        if self.planned_for is not cat:  # chats linked since: plan again
            self.planned_for = cat
            self.plans = PlanCache.of_plan(cat, chans, cal)
            self.escalations = _escalation_cache(s, cat, cal)
        found = self.plans.plan(since, until, done)
        if self.escalations is not None:
            found += self.escalations.plan(since, until, done)
        if s.summary is not None:
            found += summaries(cat, s.summary, since, until, channels=chans, cal=cal)
        if s.escalation is not None or s.summary is not None:
            found.sort(key=lambda r: (r.send_at, r.key))
        return found

    def next_wakeup(
        self, now: datetime, horizon: timedelta = timedelta(days=2)
    ) -> tuple[datetime, list[Reminder]] | None:
        """The next instant something is due after `now` (a planned reminder or a retry),
        with the reminders planned for that instant (empty when it is a retry)."""
        ahead = self._plan(now + timedelta(microseconds=1), now + horizon, self.ledger.done())
        candidates = [r.send_at for r in ahead[:1]]
        retry = self.ledger.next_retry_at()
        if retry is not None:
            candidates.append(max(retry, now))
        if not candidates:
            return None
        at = min(candidates).astimezone(self.settings.catalog.calendar.timezone)
        return at, [r for r in ahead if r.send_at == at]

    def retry_plan(self, at: datetime) -> str:
        """What a wake-up at `at` that has no planned reminder will do, for the log: the
        failed sends it retries, the unfinished ones it takes over (their lease ended), and
        the ones it gives up as no longer needed; or that nothing is left to retry."""
        probe = at + timedelta(microseconds=1)  # a lease ending at `at` has ended then
        again, ended = self.retries(probe, [])
        rows = self.ledger.deliveries([r.key for r in again]) if again else {}
        failed = sum(1 for row in rows.values() if row.status is Status.FAILED)
        parts = []
        if failed:
            parts.append(f"{failed} failed send(s) to retry")
        if len(again) > failed:
            parts.append(f"{len(again) - failed} unfinished send(s) to take over")
        if ended:
            parts.append(f"{len(ended)} send(s) to give up ({ended[0][1]})")
        return "retries: " + (", ".join(parts) if parts else "none left (a check only)")

    # -- the cycle --------------------------------------------------------------------

    async def cycle(self, now: datetime) -> Outcome:
        """Plan, claim, render and send everything due at `now`."""
        outcome = Outcome()
        recent, older = await asyncio.to_thread(functools.partial(self._due, incremental=True), now)
        # The look-back slides a little at each wake-up: only its new keys can lack a row,
        # and of those only the ones this process did not claim while they were recent.
        fresh = [r for r in older if r.key not in self.has_row and r.key not in self.with_row]
        missed = await asyncio.to_thread(self.ledger.record_missed, fresh, now)
        self._looked = self._looking
        self.has_row = {r.key for r in older}
        for r in missed:
            log.warning(
                "missed (instant %s is outside the catch-up window): key=%s agency=%s",
                r.send_at.isoformat(),
                r.key,
                r.agency,
            )
        outcome.missed = len(missed)
        retries, ended = await asyncio.to_thread(self.retries, now, recent)
        for key, why, level in ended:
            await asyncio.to_thread(self.ledger.mark_gave_up, key, now, why)
            log.log(level, "gave up (%s): key=%s", why, key)
        outcome.gave_up += len(ended)
        ended_keys = {key for key, _why, _level in ended}
        recent_keys = {r.key for r in recent}
        self.sent_here &= recent_keys
        self.with_row &= recent_keys
        self.with_row |= ended_keys
        skip = ended_keys | self.sent_here
        todo = [r for r in recent if r.key not in skip] + retries
        late_keys = {r.key for r in todo if now - r.send_at > LATE_AFTER}
        try:
            for part in _slices(todo, self.rng):
                claimed = await self._claim(part, now, late_keys)
                self.with_row.update(r.key for r in part)  # inserted, or already there
                if claimed:
                    await self.send(claimed, now, late_keys, outcome)
        finally:
            await self.close_channels()
        return outcome

    async def close_channels(self) -> None:
        """Close the channels `send` opened (a channel's close never raises)."""
        for channel in self.channels.values():
            await channel.close()

    async def _claim(
        self, due: list[Reminder], now: datetime, late_keys: set[str]
    ) -> list[Reminder]:
        on_time = [r for r in due if r.key not in late_keys]
        late = [r for r in due if r.key in late_keys]
        won = await asyncio.to_thread(self.ledger.claim, on_time, now, owner=self.owner)
        won += await asyncio.to_thread(self.ledger.claim, late, now, late=True, owner=self.owner)
        return won

    def retries(
        self, now: datetime, recent: Sequence[Reminder]
    ) -> tuple[list[Reminder], list[tuple[str, str, int]]]:
        """The retry policy, for the rows due for another attempt at `now` (FAILED rows whose
        time has come, claims of a crashed process): (the reminders to claim again that lie
        before the catch-up window, [(key, why, log level)] to give up).

        A retry is claimed for as long as it is useful (planner.useful_until: until the next
        rung of its ladder takes over, or the last overdue rung of its deadline passes),
        however far behind the catch-up window; then it is given up, saying which. A row the
        configuration no longer plans (done, or config changed) is given up at once.
        """
        keys = self.ledger.due_retries(now)
        if not keys:
            return [], []
        rows = self.ledger.deliveries(keys)
        window = {r.key: r for r in recent}
        done = self.ledger.done()
        older = [row for key, row in rows.items() if key not in window]
        planned = window | self._replan(older, done)
        again: list[Reminder] = []
        ended: list[tuple[str, str, int]] = []
        for key, row in rows.items():
            why, level = self._not_useful(row, planned.get(key), done, now)
            if why:
                ended.append((key, why, level))
            elif key not in window:
                again.append(planned[key])
        return again, ended

    def requeue(
        self, rows: Sequence[Delivery], now: datetime
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """`reminder retry`: put the FAILED/GAVE_UP rows among `rows` that are still useful
        back in the queue (due at `now`). Returns (keys queued, [(key, why not)] for the rest)."""
        done = self.ledger.done()
        planned = self._replan(rows, done)
        useful: list[str] = []
        refused: list[tuple[str, str]] = []
        for row in rows:
            if row.status not in (Status.FAILED, Status.GAVE_UP):
                refused.append((row.key, f"it is {row.status}, not failed or given up"))
                continue
            why, _level = self._not_useful(row, planned.get(row.key), done, now)
            if why:
                refused.append((row.key, why))
            else:
                useful.append(row.key)
        return self.ledger.requeue(useful, now), refused

    def _replan(self, rows: Iterable[Delivery], done: Done) -> dict[str, Reminder]:
        """The reminders these rows were claimed for, planned again at their own instants (one
        plan per distinct instant); rows the configuration no longer plans are left out."""
        wanted: dict[datetime, set[str]] = defaultdict(set)
        for row in rows:
            wanted[row.planned_at].add(row.key)
        found: dict[str, Reminder] = {}
        for at, keys in wanted.items():
            found.update((r.key, r) for r in self._plan(at, at, done) if r.key in keys)
        return found

    def _not_useful(
        self, row: Delivery, reminder: Reminder | None, done: Done, now: datetime
    ) -> tuple[str, int]:
        """Why a retry of `row` is no longer worth sending at `now`, with a log level; ('', 0)
        while it is. `reminder` is the row's reminder as planned now (None: not planned)."""
        s = self.settings
        if reminder is None:
            finished = {
                (row.task_id, row.occurrence, None),
                (row.task_id, row.occurrence, row.milestone_id),
            }
            if finished & done:
                return "its occurrence was recorded as done", logging.INFO
            return "no longer planned: the configuration changed", logging.WARNING
        if reminder.kind != "reminder":  # an escalation or a weekly summary
            if now >= reminder.send_at + s.catch_up:
                return "retry time is past the catch-up window", logging.WARNING
            return "", 0
        use = useful_until(s.catalog, reminder, self.calendar, s.catch_up)
        return (use.why, logging.WARNING) if now >= use.until else ("", 0)

    async def send(
        self, reminders: Sequence[Reminder], now: datetime, late_keys: set[str], outcome: Outcome
    ) -> None:
        """Send one message per (agency, channel, address), the channels side by side. Each
        message is rendered when its turn comes, not all before the first one leaves. The
        channels stay open (one SMTP connection, one Telegram bot and its per-chat pacing
        for all the slices of a cycle) until close_channels()."""
        moves = await asyncio.to_thread(self.ledger.moves)
        recorder = Recorder(self.ledger, patience=self.ledger_patience)
        run = _Run(now, late_keys, outcome, recorder, moves)
        keeper = asyncio.create_task(self._keep_claims(now))
        try:
            by_channel: dict[str, list[list[Reminder]]] = defaultdict(list)
            for batch in digests(reminders):
                by_channel[batch[0].channel].append(batch)
            await asyncio.gather(
                *(self._send_channel(ch, batches, run) for ch, batches in by_channel.items())
            )
        finally:
            keeper.cancel()
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # stopping: record what went out
                await run.recorder.abandon()
            else:
                await run.recorder.close()

    async def _keep_claims(self, now: datetime) -> None:
        """While a batch is being sent, renew the lease of this process's claims every third
        of the lease, so that no other process takes over a batch that is still going out.
        The time is the cycle's `now` plus the time elapsed since (the daemon's clock)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        every = self.settings.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            at = now + timedelta(seconds=loop.time() - start)
            with contextlib.suppress(LedgerUnwritable):  # said once; sends are held meanwhile
                renewed = await asyncio.to_thread(self.ledger.renew, self.owner, at)
                log.debug("renewed the lease of %d claim(s) at %s", renewed, at.isoformat())

    async def _render(self, batch: list[Reminder], run: _Run) -> Message | None:
        from reminder.render import TemplateError

        today = run.now.astimezone(self.settings.catalog.calendar.timezone).date()
        late = any(r.key in run.late_keys for r in batch)
        try:
            if batch[0].kind != "reminder":
                context = await asyncio.to_thread(self._followup_context, batch, run.now)
                return self.renderer.render_followup(
                    batch, context, today=today, late=late, message_id_domain=self.domain
                )
            return self.renderer.render(
                batch, today=today, late=late, message_id_domain=self.domain
            )
        except (TemplateError, ValueError, KeyError) as exc:
            await self._failed(
                batch, ChannelError(f"cannot render the message: {exc}", permanent=True), run
            )
            return None

    def _followup_context(self, batch: list[Reminder], now: datetime) -> dict[str, object]:
        """What an escalation or a weekly summary says, from the status at `now`."""
        s = self.settings
        today = now.astimezone(s.catalog.calendar.timezone).date()
        if batch[0].kind == "escalation":
            return escalation_context(s.catalog, batch, today, now)
        if s.summary is None:
            raise ValueError("a weekly summary was claimed but [summary] is off")
        current = self.ledger.completions.current()
        return summary_context(s.catalog, s.summary, current, now, self.calendar)

    async def _send_channel(self, name: str, batches: list[list[Reminder]], run: _Run) -> None:
        channel = self.channels.get(name)
        if channel is None:  # transport turned off after the reminders were claimed
            for batch in batches:
                await self._failed(
                    batch, ChannelError(f"channel {name} is off", permanent=True), run
                )
            return
        try:
            await channel.open()
        except ChannelError as exc:
            log.error("channel %s cannot open: %s", name, exc)
            for batch in batches:
                await self._failed(batch, exc, run)
            return
        if name in ("telegram", "zalo"):
            await self._send_per_address(channel, batches, run)
        else:
            await self._send_in_turn(channel, batches, run)

    async def _render_and_send(self, channel: Channel, batch: list[Reminder], run: _Run) -> None:
        message = await self._render(batch, run)
        if message is not None:
            await self._send_one(channel, message, batch, run)

    async def _send_in_turn(
        self, channel: Channel, batches: list[list[Reminder]], run: _Run
    ) -> None:
        """The batches in order, by SENDERS senders: while one waits for the server's replies,
        the next renders and builds its message (the channel transmits one at a time)."""
        turns = iter(batches)

        async def sender() -> None:
            for batch in turns:
                await self._render_and_send(channel, batch, run)

        async with asyncio.TaskGroup() as group:
            for _ in range(SENDERS):
                group.create_task(sender())

    async def _send_per_address(
        self, channel: Channel, batches: list[list[Reminder]], run: _Run
    ) -> None:
        """Different chats in parallel (the channel enforces the rate limits), each chat in order."""
        per_address: dict[str, list[list[Reminder]]] = defaultdict(list)
        for batch in batches:
            per_address[batch[0].address].append(batch)
        gate = asyncio.Semaphore(TELEGRAM_CONCURRENCY)

        async def serve(queue: list[list[Reminder]]) -> None:
            async with gate:
                for batch in queue:
                    await self._render_and_send(channel, batch, run)

        await asyncio.gather(*(serve(q) for q in per_address.values()))

    async def _send_one(
        self, channel: Channel, message: Message, batch: list[Reminder], run: _Run
    ) -> None:
        await run.recorder.admit()  # the ledger records what goes out, or nothing goes out
        moved = run.moves.get((message.channel, message.address))
        try:
            receipt = await channel.send(
                message if moved is None else replace(message, address=moved[0])
            )
        except ChannelError as exc:
            await self._failed(batch, exc, run)
            return
        note = receipt.note
        if receipt.new_address:
            note = await self._moved(message, receipt.new_address, receipt.note, batch, run)
        elif moved is not None:
            note = self._sent_to_moved(message, moved, batch)
        notice = any(r.key in run.late_keys for r in batch)  # as the message was rendered
        keys = [r.key for r in batch]
        await run.recorder.sent(keys, run.now, note, notice)
        self.sent_here.update(keys)
        run.outcome.messages += 1
        run.outcome.sent += len(batch)
        run.outcome.sent_on.add(message.channel)
        for r in batch:
            late = r.key in run.late_keys
            run.outcome.late += late
            log.info(
                "sent%s %s %s: key=%s agency=%s deadline=%s",
                " (late)" if late else "",
                r.channel,
                r.address,
                r.key,
                r.agency,
                r.deadline.isoformat(),
            )

    async def _moved(
        self, message: Message, new: str, why: str, batch: list[Reminder], run: _Run
    ) -> str:
        """The channel followed a move (a group upgraded to a supergroup): remember the new
        address in the ledger for every later send, say so, and return the delivery note."""
        agency = batch[0].agency
        await run.recorder.write(
            self.ledger.record_move, message.channel, message.address, new, run.now, agency
        )
        run.moves[(message.channel, message.address)] = (new, run.now)
        log.warning(
            "%s %s moved to %s (%s): later sends go there; update config.toml (agency %s)",
            message.channel,
            message.address,
            new,
            why,
            agency,
        )
        return (
            f"moved: {message.channel} {message.address} is now {new} ({why}); sent there, "
            f"and later sends go there until config.toml names it"
        )

    def _sent_to_moved(
        self, message: Message, moved: tuple[str, datetime], batch: list[Reminder]
    ) -> str:
        """The delivery note of a send to an address remembered as moved (logged once)."""
        new, since = moved
        when = since.astimezone(self.settings.catalog.calendar.timezone).strftime("%d/%m/%Y")
        if (message.channel, message.address) not in self._warned_moves:
            self._warned_moves.add((message.channel, message.address))
            log.warning(
                "%s %s moved to %s on %s: sending there; update config.toml (agency %s)",
                message.channel,
                message.address,
                new,
                when,
                batch[0].agency,
            )
        return (
            f"moved: sent to {new}, the new id of {message.channel} {message.address} "
            f"(moved on {when}); update config.toml"
        )

    async def _failed(self, batch: Iterable[Reminder], exc: ChannelError, run: _Run) -> None:
        for r in batch:
            row = await asyncio.to_thread(self.ledger.get, r.key)
            attempts = row.attempts if row else 1
            limit = self.settings.retry.max_attempts
            if exc.permanent or (limit is not None and attempts >= limit):
                why = "permanent" if exc.permanent else f"after {attempts} attempts"
                await run.recorder.write(self.ledger.mark_gave_up, r.key, run.now, str(exc))
                log.error("gave up (%s): key=%s agency=%s: %s", why, r.key, r.agency, exc)
                run.outcome.gave_up += 1
            else:
                retry_at = run.now + self.backoff(attempts, exc.retry_after)
                await run.recorder.write(
                    self.ledger.mark_failed, r.key, run.now, str(exc), retry_at
                )
                log.warning(
                    "failed, retry at %s: key=%s agency=%s: %s",
                    retry_at.isoformat(),
                    r.key,
                    r.agency,
                    exc,
                )
                run.outcome.failed += 1
            run.outcome.errors.append(f"{r.key}: {exc}")
            run.outcome.channel_errors[r.channel] = str(exc)

    def backoff(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """initial × 2^(attempts−1), capped; never sooner than the server asked."""
        policy = self.settings.retry
        # The doubling is capped before it is multiplied: without max_attempts a row is
        # retried for as long as it is useful, and 2**attempts would overflow a timedelta.
        doublings = min(max(attempts - 1, 0), 64)
        wait = min(policy.initial.total_seconds() * 2.0**doublings, policy.maximum.total_seconds())
        if retry_after:
            wait = max(wait, min(retry_after, BACKOFF_CAP.total_seconds()))
        return timedelta(seconds=wait)


@dataclass
class _Run:
    """The state of one send: its instant, which keys are late, the tally, the recorder."""

    now: datetime
    late_keys: set[str]
    outcome: Outcome
    recorder: Recorder
    moves: dict[tuple[str, str], tuple[str, datetime]]  # (channel, address) → (new, since)


def _slices(reminders: Sequence[Reminder], rng: random.Random) -> list[list[Reminder]]:
    """The reminders cut into claims of at most CLAIM_SLICE messages, whole digests each,
    in an order of this process's own.

    Claiming a large batch slice by slice lets several daemons share it: each takes the
    slices in its own random order, and a slice another one claimed first comes back empty
    (the database decides). A crash leaves at most one slice claimed and unsent, and the
    rest unclaimed for the other daemon or the next start, not waiting out a lease.
    """
    groups = digests(reminders)
    if len(groups) <= CLAIM_SLICE:
        return [list(reminders)] if reminders else []
    parts = [
        [r for d in groups[i : i + CLAIM_SLICE] for r in d]
        for i in range(0, len(groups), CLAIM_SLICE)
    ]
    rng.shuffle(parts)
    return parts


def _escalation_cache(settings: Settings, cat: Catalog, cal: WorkCalendar) -> PlanCache | None:
    rule, chans = settings.escalation, settings.channels
    if rule is None:
        return None
    return PlanCache(lambda a, b: escalations(cat, rule, a, b, channels=chans, cal=cal))


def _domain(settings: Settings) -> str:
    sender = settings.smtp.sender if settings.smtp else settings.outbox.email_sender
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[-1] if "@" in address else "reminder.local"
