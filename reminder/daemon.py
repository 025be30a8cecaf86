"""The daemon: the only module that reads the wall clock. Lifecycle, signals, scheduler.

The schedule is derived, not stored. At start, after a reload, after each cycle and on a
slow safety sweep, the daemon asks the dispatcher for the next due instant and sets one
APScheduler date job ("wake") for it; the ledger decides what was already sent. So a
restart, a wall-clock jump (suspend, NTP) or a reload can neither lose nor repeat a
reminder: the next cycle simply looks at what is due now.

APScheduler settings, deliberately: misfire_grace_time=None (a late wake-up still runs;
lateness is judged by the catch-up window, not by the scheduler), coalesce=True (several
missed wake-ups run once), max_instances=1 (cycles never overlap). Jobs live in memory.

Signals: SIGHUP re-reads config and templates and swaps them in only if they are valid
(else the old configuration keeps running and STATUS= says why); SIGTERM/SIGINT stop after
the cycle in flight, or past STOP_TIMEOUT cancel it: what went out is recorded, the rest stays
claimed for the next start, and one WARNING says how many reminders were left in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from reminder import heap, sdnotify, statedir, version
from reminder.config import ConfigError, Settings
from reminder.dispatch import Dispatcher, Outcome
from reminder.exitcodes import EX_CONFIG, EX_NOPERM, EX_OK, EX_TEMPFAIL, EX_UNAVAILABLE
from reminder.health import Health
from reminder.ledger import Ledger, LedgerError, LedgerUnreachable, open_ledger, unavailable
from reminder.model import VN_TZ, Reminder
from reminder.render import load_checked

if TYPE_CHECKING:
    from reminder.channels.telegram_poll import TelegramPoller
    from reminder.channels.zalo_poll import ZaloPoller, ZaloWebhook
    from reminder.web import WebServer

log = logging.getLogger("reminder.daemon")

LOOK_AHEAD = timedelta(days=400)  # how far the log looks for the next reminders when idle
SWEEP = timedelta(minutes=5)  # safety net: clock jumps, suspended VMs, lost timers
START_WAIT = 30.0  # seconds a start waits for an unreachable PostgreSQL before exiting 75
START_RETRY = 2.0  # seconds between connection attempts meanwhile
OUTAGE_RETRY = 5.0  # seconds between cycles while the ledger cannot be used
STOP_TIMEOUT = 30.0  # seconds to let an in-flight cycle finish on SIGTERM (unit: 60 s)
POLL_RETRY, POLL_RETRY_MAX = 60.0, 1800.0  # seconds between tries to start Telegram polling


class Clock:
    """Wall-clock time in Asia/Ho_Chi_Minh, optionally shifted (`run --now` for tests).

    A shifted clock shows `start` again when the daemon has started (`begin()`, before its
    first cycle), so the first cycle runs at `start` however long reading the configuration
    and opening the ledger took (a loaded machine), and the clock runs on from there.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start
        self.begin()

    def begin(self) -> None:
        """(Re)start a shifted clock at its `start`; the real clock is left as it is."""
        self.offset = (self.start - datetime.now(VN_TZ)) if self.start else timedelta(0)

    def now(self) -> datetime:
        return datetime.now(VN_TZ) + self.offset

    def to_real(self, instant: datetime) -> datetime:
        """The real instant at which this clock shows `instant` (for the scheduler)."""
        return instant - self.offset


class Daemon:
    """One running service: settings, ledger, dispatcher, scheduler."""

    def __init__(self, config: str | Path, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.stop_event = asyncio.Event()
        self.cycle_lock = asyncio.Lock()
        self.scheduler = AsyncIOScheduler(
            timezone=VN_TZ,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self.settings: Settings
        self.ledger: Ledger
        self.dispatcher: Dispatcher
        self.background: set[asyncio.Task[None]] = set()
        self.next_at: datetime | None = None
        self.announced = ""  # the last next-wake-up line logged
        self.status_sent = ""  # the last STATUS= text sent
        self.reload_failed = ""  # STATUS= prefix while the last reload was refused
        self.started = False
        self.version = version()  # in the start-up line and STATUS=: which code is running
        self.web: WebServer | None = None
        self.poller: TelegramPoller | None = None
        self.zalo_poller: ZaloPoller | None = None
        self.zalo_webhook: ZaloWebhook | None = None
        self.cycle_task: asyncio.Task[Any] | None = None  # the task running a cycle, if any
        self.outage_since: float | None = None  # monotonic time the ledger became unusable
        self.outage_said = False  # whether this daemon (not the ledger) logged the outage
        self.health = Health()  # what /healthz reports, updated here in the loop
        self.trimmed = False  # whether the heap was trimmed after the start-up cycle

    # -- lifecycle --------------------------------------------------------------------

    async def main(self) -> int:
        self._install_signals()  # first: a SIGTERM during start-up still stops cleanly
        try:
            self.settings = await asyncio.to_thread(load_checked, self.config)
        except ConfigError as exc:
            return self._refuse(exc)
        for warning in self.settings.warnings:
            log.warning("config: %s", warning)
        foreign = statedir.foreign_owner(self._written(self.settings), os.geteuid())
        if foreign is not None:
            return self._refuse_state(foreign)
        try:
            ledger = await self._open_ledger()
        except Exception as exc:  # LedgerError says where and why; anything else, in one line
            why = str(exc) if isinstance(exc, LedgerError) else _one_line(exc)
            log.error("%s", why)
            sdnotify.status(why)
            return EX_UNAVAILABLE
        if ledger is None:  # PostgreSQL unreachable for START_WAIT: systemd tries again
            return EX_OK if self.stop_event.is_set() else EX_TEMPFAIL
        self.ledger = ledger
        self.dispatcher = Dispatcher(self.settings, self.ledger)
        self.health.started = self.clock.now()
        if not await self._start_web():
            await asyncio.to_thread(self.ledger.close)
            return EX_UNAVAILABLE
        self._start_poller()
        await self._start_zalo_poller()
        self.started = True
        self.scheduler.start()
        self.scheduler.add_job(self._sweep, "interval", seconds=SWEEP.total_seconds(), id="sweep")
        watchdog = sdnotify.watchdog_interval()
        if watchdog:
            self._spawn(sdnotify.watchdog_loop(watchdog))
        log.info(
            "started with %s (%d tasks); catch-up window %s; version %s",
            self.settings.source,
            len(self.settings.catalog.tasks),
            self.settings.catch_up,
            self.version,
        )
        # READY before the catch-up: after a long outage it may send for minutes, and neither
        # systemd's start timeout nor a SIGTERM should have to wait for it.
        self.clock.begin()
        sdnotify.ready("catching up")
        self._spawn(self._sweep())
        await self.stop_event.wait()
        return await self._shutdown()

    async def _start_web(self) -> bool:
        """Start the web server when `[web] listen` is set; False if it cannot listen."""
        web = self.settings.web
        if web is None or web.listen is None:
            return True
        from reminder.web import WebServer

        hook = self._zalo_webhook()
        extra = hook.routes() if hook is not None else []
        self.web = WebServer(lambda: self.settings, self.ledger, self.clock.now, self.health, extra)
        try:
            await self.web.start()
        except OSError as exc:
            host, port = web.listen
            log.error("web server cannot listen on %s:%d: %s", host, port, exc.strerror or exc)
            sdnotify.status(f"web server cannot listen on {host}:{port}")
            self.web = None
            return False
        return True

    def _start_poller(self) -> None:
        """Receive button presses and commands when `[channels.telegram.bot] poll` is on. A
        Bot API that cannot be reached is retried in the background, never stopping sends."""
        tg = self.settings.telegram
        if tg is None or not tg.poll:
            return
        from reminder.answers import Answers
        from reminder.channels.telegram_poll import TelegramPoller

        poller = TelegramPoller(tg, Answers(lambda: self.settings, self.ledger, self.clock.now))
        self.poller = poller
        self._spawn(self._keep_polling(poller))

    def _zalo_webhook(self) -> ZaloWebhook | None:
        """The Zalo webhook route when `receive = "webhook"` (setWebhook runs in the
        background until Zalo accepts it)."""
        z, web = self.settings.zalo, self.settings.web
        if z is None or z.webhook_secret is None or web is None or not web.public_url:
            return None
        from reminder.answers import Answers
        from reminder.channels.zalo_poll import ZaloWebhook

        hook = ZaloWebhook(z, Answers(lambda: self.settings, self.ledger, self.clock.now))
        self.zalo_webhook = hook
        self._spawn(hook.register(web.public_url))
        log.info(
            "receiving Zalo answers and link codes by webhook (%s/zalo/webhook)", web.public_url
        )
        return hook

    async def _start_zalo_poller(self) -> None:
        """Read Zalo answers by long polling when `[channels.zalo.bot] poll` is on. The
        poller retries an unreachable API by itself, in the background, never holding up
        sends (its own connections)."""
        z = self.settings.zalo
        if z is None or not z.poll or z.webhook_secret is not None:
            return
        from reminder.answers import Answers
        from reminder.channels.zalo_poll import ZaloPoller

        poller = ZaloPoller(z, Answers(lambda: self.settings, self.ledger, self.clock.now))
        self.zalo_poller = poller
        await poller.start()
        log.info("receiving Zalo answers and link codes (long polling)")

    async def _keep_polling(self, poller: TelegramPoller) -> None:
        from reminder.channels.base import ChannelError

        wait = POLL_RETRY
        while not self.stop_event.is_set():
            try:
                await poller.start()
            except ChannelError as exc:
                self.health.failed("telegram updates", self.clock.now(), str(exc))
                log.error("Telegram updates cannot be received: %s; retrying in %.0f s", exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, POLL_RETRY_MAX)
                continue
            self.health.sent("telegram updates", self.clock.now())
            log.info("receiving Telegram button presses and commands (long polling)")
            return

    async def _open_ledger(self) -> Ledger | None:
        """The migrated ledger. While its PostgreSQL server cannot be reached (still
        starting, a network blip, a fail-over), try again every START_RETRY seconds for up to
        START_WAIT; then say why and return None: the daemon exits 75 (EX_TEMPFAIL) and
        systemd starts it again later. None too when SIGTERM comes meanwhile."""
        s = self.settings
        deadline: float | None = None  # from the first failure: a slow first try counts not
        said = False
        while True:
            try:
                return await asyncio.to_thread(
                    open_ledger, s.database_url, lease=s.lease, password=s.database_password
                )
            except LedgerUnreachable as exc:
                if self.stop_event.is_set():
                    return None
                deadline = time.monotonic() + START_WAIT if deadline is None else deadline
                if time.monotonic() >= deadline:
                    log.error(
                        "%s; gave up after %.0f s (exit 75: systemd tries again)", exc, START_WAIT
                    )
                    sdnotify.status(str(exc))
                    return None
                if not said:
                    said = True
                    log.warning("%s; trying again for up to %.0f s", exc, START_WAIT)
                    sdnotify.status(f"waiting for the ledger: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), START_RETRY)

    def _refuse_state(self, foreign: statedir.Foreign) -> int:
        """The ledger or outbox is in another user's folder: run by hand as root with the
        service's config (77: run it as the service's user), or the service's own user
        meeting a folder of root's such as /etc/reminder (69, with the path and the fix).
        Neither is restarted by the unit (RestartPreventExitStatus=)."""
        as_owner, why = statedir.explain(foreign, os.geteuid(), self.settings.database_url)
        log.error("%s", why)
        code = EX_NOPERM if as_owner else EX_UNAVAILABLE
        wanted = foreign.wanted or foreign.path
        sdnotify.status(
            f"exit {code}, not restarted: cannot write {wanted}: {foreign.path} belongs to "
            "another user; see the journal for the fix"
            if not as_owner
            else f"refused: {foreign.path} belongs to another user"
        )
        return code

    def _refuse(self, exc: ConfigError) -> int:
        for problem in exc.problems:
            log.error("config: %s", problem)
        sdnotify.status(f"invalid configuration: {len(exc.problems)} error(s), see the journal")
        return EX_CONFIG

    @staticmethod
    def _written(settings: Settings) -> list[Path]:
        """The ledger file and (if a channel uses it) the outbox folder."""
        outbox = "outbox" in (settings.email_transport, settings.telegram_transport)
        return statedir.written_paths(
            settings.database_url, settings.outbox.directory if outbox else None
        )

    async def _shutdown(self) -> int:
        sdnotify.stopping()
        log.info("stopping")
        self.scheduler.pause()
        try:
            await asyncio.wait_for(self.cycle_lock.acquire(), STOP_TIMEOUT)
        except TimeoutError:
            await self._abandon_cycle()
        self.scheduler.shutdown(wait=False)
        if self.web is not None:
            await self.web.stop()
        if self.poller is not None:
            await self.poller.stop()
        if self.zalo_poller is not None:
            await self.zalo_poller.stop()
        if self.zalo_webhook is not None:
            await self.zalo_webhook.close()
        for task in self.background:
            task.cancel()
        await asyncio.sleep(0)
        await asyncio.to_thread(self.ledger.close)
        log.info("stopped")
        return EX_OK

    async def _abandon_cycle(self) -> None:
        """The stop timeout passed during a send: cancel it (what went out is recorded, the
        rest stays claimed) and say, in one WARNING, how many reminders were left in flight."""
        task = self.cycle_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_TIMEOUT)
        left = await asyncio.to_thread(self.ledger.held, self.dispatcher.owner)
        log.warning(
            "stopped during a send after %.0f s: %d reminder(s) were left in flight; they "
            "stay claimed and go out at the next start",
            STOP_TIMEOUT,
            left,
        )

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self.reload()))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop_event.set)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    # -- work -------------------------------------------------------------------------

    async def cycle(self) -> Outcome | None:
        """Send what is due now, then set the next wake-up. Cycles never overlap."""
        if self.stop_event.is_set():
            return None
        async with self.cycle_lock:
            now = self.clock.now()
            self.cycle_task = asyncio.current_task()
            self.health.last_wake = now
            try:
                outcome = await self.dispatcher.cycle(now)
                self._note_channels(outcome, now)
                worked = bool(
                    outcome.messages or outcome.failed or outcome.gave_up or outcome.missed
                )
                if worked:
                    log.info("cycle at %s: %s", now.isoformat(), outcome)
                if worked or not self.trimmed:  # the start-up's or a batch's freed heap
                    self.trimmed = heap.trim(
                        "the start-up cycle" if not self.trimmed else "a batch"
                    )
                await self._reschedule(now)
            except asyncio.CancelledError:
                if self.stop_event.is_set():  # a stop past STOP_TIMEOUT: _shutdown says it
                    return None
                raise
            except Exception as exc:
                reason = unavailable(exc)  # LedgerUnwritable: the ledger has logged why, once
                if reason is None:
                    log.exception("cycle at %s failed; retrying at the next sweep", now.isoformat())
                else:
                    self._ledger_down(reason)
                return None
            finally:
                self.cycle_task = None
            self._ledger_up()
            return outcome

    def _note_channels(self, outcome: Outcome, now: datetime) -> None:
        for channel in outcome.sent_on:
            self.health.sent(channel, now)
        for channel, error in outcome.channel_errors.items():
            self.health.failed(channel, now, error)

    def _ledger_down(self, reason: str) -> None:
        """The database cannot be used (server down, connection lost, writes refused): say so
        once, with the reason, and run the cycle again every OUTAGE_RETRY seconds until it can.

        Nothing is sent meanwhile (a reminder goes out only once claimed, and the recorder
        holds sends while marks are refused). A refused write was already said by the ledger.
        """
        self.health.ledger_error = reason
        self.health.next_wake = self.clock.now() + timedelta(seconds=OUTAGE_RETRY)
        if self.outage_since is None:
            self.outage_since = time.monotonic()
            if self.ledger.refusing is None:
                self.outage_said = True
                log.error(
                    "the ledger %s cannot be reached (%s): nothing is sent until it can; "
                    "trying again every %.0f s",
                    self.settings.database_url,
                    reason,
                    OUTAGE_RETRY,
                )
            sdnotify.status(f"ledger unavailable: {reason}")
            self.status_sent = ""
        at = self.clock.to_real(self.clock.now() + timedelta(seconds=OUTAGE_RETRY))
        self.scheduler.add_job(
            self._wake, DateTrigger(at, timezone=VN_TZ), id="wake", replace_existing=True
        )

    def _ledger_up(self) -> None:
        """After an outage: say it is over (unless the ledger said it: it logs that writes
        are accepted again)."""
        self.health.ledger_error = ""
        if self.outage_since is None:
            return
        down = time.monotonic() - self.outage_since
        if self.outage_said:
            log.warning("the ledger can be reached again after %.0f s; sending what is due", down)
        self.outage_since, self.outage_said = None, False

    async def _sweep(self) -> None:
        await self.cycle()

    async def _wake(self) -> None:
        await self.cycle()

    async def _reschedule(self, handled: datetime) -> None:
        """Set the wake-up for the first instant after `handled`, the `now` of the cycle that
        just ran: an instant that passed while the cycle ran is then woken for at once
        (a past DateTrigger runs immediately), not left to the next sweep."""
        found = await asyncio.to_thread(self.dispatcher.next_wakeup, handled)
        if self.scheduler.get_job("wake"):
            self.scheduler.remove_job("wake")
        if found is None:
            self.next_at = None
            later = await asyncio.to_thread(self.dispatcher.next_wakeup, handled, LOOK_AHEAD)
            self.health.next_wake = later[0].astimezone(VN_TZ) if later else None
            if later is None:
                self._announce(f"nothing due in the next {LOOK_AHEAD.days} days")
            else:
                self._announce(f"next reminders at {later[0].isoformat()}: {_describe(later[1])}")
            return
        # A retry instant comes from the ledger in UTC: log and show it in Vietnamese time.
        at, batch = found[0].astimezone(VN_TZ), found[1]
        self.next_at = self.health.next_wake = at
        if handled < at <= self.clock.now():
            # It came while this cycle ran (a long batch, another daemon's lease ending): run
            # the next cycle right after this one. A "wake" job due now would be skipped when
            # this cycle is itself the "wake" job (max_instances=1) and wait for the sweep.
            self._spawn(self._wake())
        else:
            self.scheduler.add_job(
                self._wake,
                DateTrigger(self.clock.to_real(at), timezone=VN_TZ),
                id="wake",
                replace_existing=True,
            )
        if batch:
            what = _describe(batch)
        else:  # a retry instant: say what the ledger holds, not a generic "retries"
            what = await asyncio.to_thread(self.dispatcher.retry_plan, at)
        self._announce(f"next wake-up at {at.isoformat()}: {what}")

    def _announce(self, plan: str) -> None:
        """Log the next wake-up and set STATUS=, each only when it changed: the sweep derives
        the same wake-up every 5 minutes, and an idle daemon says nothing."""
        if plan != self.announced:
            self.announced = plan
            log.info("%s", plan)
        status = self._status()
        if status != self.status_sent:
            self.status_sent = status
            sdnotify.status(status)

    def _status(self) -> str:
        nxt = self.next_at
        when = nxt.strftime("%d/%m/%Y %H:%M") if nxt else "none within two days"
        tasks = len(self.settings.catalog.tasks)
        return f"{self.reload_failed}{tasks} tasks; next wake-up {when}; version {self.version}"

    async def reload(self) -> None:
        """SIGHUP: re-read config and templates; swap them in only if they are valid.

        Whatever goes wrong, the previous configuration keeps running, the reason is logged
        in one line ("reload refused: …") and READY=1 follows the RELOADING=1, with STATUS=.
        """
        if not self.started:
            log.warning("SIGHUP during start-up ignored: the configuration is being read now")
            return
        sdnotify.reloading()
        log.info("reloading %s", self.config)
        try:
            if await self._swap_in():
                await self.cycle()
        except Exception as exc:
            log.debug("reload failed", exc_info=True)
            self._refused([f"unexpected error: {type(exc).__name__}: {exc}"])
        finally:
            self.status_sent = self._status()
            sdnotify.ready(self.status_sent)

    async def _swap_in(self) -> bool:
        """Read the configuration and swap it in; False (logged) if it is refused."""
        try:
            settings = await asyncio.to_thread(load_checked, self.config)
        except ConfigError as exc:
            self._refused([str(p) for p in exc.problems])
            return False
        dispatcher = Dispatcher(settings, self.ledger)
        self.reload_failed = ""
        self.announced = ""  # say the next wake-up again under the new configuration
        if settings.database_url != self.settings.database_url:
            log.warning("[database] url changed: it takes effect at the next restart")
        if _listen(settings) != _listen(self.settings):
            log.warning("[web] listen changed: it takes effect at the next restart")
        if _polls(settings) != _polls(self.settings):
            log.warning("[channels.*.bot] poll changed: it takes effect at the next restart")
        async with self.cycle_lock:
            self.settings, self.dispatcher = settings, dispatcher
        for warning in settings.warnings:
            log.warning("config: %s", warning)
        log.info("reloaded %s (%d tasks)", settings.source, len(settings.catalog.tasks))
        return True

    def _refused(self, reasons: list[str]) -> None:
        for reason in reasons:
            log.error("reload refused: %s", reason)
        log.error(
            "reload refused: %d error(s); still running the previous configuration", len(reasons)
        )
        self.reload_failed = (
            f"reload FAILED ({len(reasons)} error(s), see the journal); "
            "running the previous configuration; "
        )


def _one_line(exc: Exception) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"cannot open the ledger: {type(exc).__name__}: {first}"


def _listen(settings: Settings) -> tuple[str, int] | None:
    return settings.web.listen if settings.web else None


def _polls(settings: Settings) -> tuple[bool, bool]:
    return (
        bool(settings.telegram and settings.telegram.poll),
        bool(settings.zalo and settings.zalo.poll),
    )


def _describe(batch: list[Reminder]) -> str:
    """'47 reminder(s) to 12 address(es), tasks nv01, nv02'."""
    addresses = {(r.channel, r.address) for r in batch}
    tasks = sorted({r.task_id for r in batch})
    return f"{len(batch)} reminder(s) to {len(addresses)} address(es), tasks {', '.join(tasks)}"


def serve(config: str | Path, *, now: datetime | None = None) -> int:
    """Run the daemon until SIGTERM/SIGINT; the exit code follows sysexits."""
    clock = Clock(now)
    return asyncio.run(Daemon(config, clock).main())
