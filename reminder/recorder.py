"""The sent-mark recorder: what a send costs in the ledger, and what stops sending.

Dispatch hands every outcome of a send to one Recorder per batch:
- a message its channel accepted (`sent`): its keys wait in a group that is committed in ONE
  transaction when it holds GROUP_KEYS keys or its first mark has waited GROUP_WAIT seconds,
  whichever comes first, in a worker thread while the next messages are on the wire;
- a failure (`write(mark_failed …)`): written at once.

Before each send, dispatch awaits `admit()`. It returns at once unless
- a group is full and not yet committed (at most GROUP_KEYS sent keys are ever unrecorded,
  so a crash resends at most the sends in flight plus one group), or
- the ledger refused a write: then no message leaves until the same write succeeds. The
  recorder tries it again with a capped backoff (RETRY_FIRST doubling to RETRY_MAX), for as
  long as it takes (the daemon), or for at most `patience` seconds (a one-shot `run --once`:
  then GaveUpWaiting); the ledger logs the refusal once with the database's reason, and once
  that it accepts writes again, and sending resumes by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import Any

from reminder.ledger import Ledger, LedgerUnwritable, SentMark

log = logging.getLogger("reminder.recorder")


class GaveUpWaiting(Exception):
    """The ledger kept refusing writes for longer than the recorder's `patience`: the batch
    stops. `unrecorded` sent keys are left SENDING (sent again by a later run)."""

    def __init__(self, refusal: str, waited: float, unrecorded: int) -> None:
        super().__init__(
            f"{refusal}: gave up waiting after {waited:.0f} s; {unrecorded} reminder(s) sent "
            "but not recorded stay claimed (the next run sends them again)"
        )
        self.refusal = refusal
        self.waited = waited
        self.unrecorded = unrecorded


GROUP_KEYS = 32  # sent keys per commit at most …
GROUP_WAIT = 0.050  # … or the seconds the first of them waits, whichever comes first
RETRY_FIRST = 0.5  # seconds before writing again after the ledger refused a write …
RETRY_MAX = 30.0  # … doubling up to this
LAST_TRY = 5.0  # seconds a stopping daemon gives the final write of what went out


class Recorder:
    """Records the outcomes of one batch of sends; holds the sends back when it must."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        group_keys: int = GROUP_KEYS,
        group_wait: float = GROUP_WAIT,
        retry_first: float = RETRY_FIRST,
        retry_max: float = RETRY_MAX,
        patience: float | None = None,
    ) -> None:
        self.ledger = ledger
        self.patience = patience  # seconds of refused writes before GaveUpWaiting; None: wait
        self.group_keys = group_keys
        self.group_wait = group_wait
        self.retry_first = retry_first
        self.retry_max = retry_max
        self._loop = asyncio.get_running_loop()
        self._pending: list[SentMark] = []
        self._pending_keys = 0
        self._committing = 0  # keys of the group being written
        self._first_at = 0.0  # loop.time() of the first pending mark
        self._writable = True
        self._closing = False
        self._abandoned = asyncio.Event()
        self._wake = asyncio.Event()
        self._gate = asyncio.Event()  # set while a message may leave
        self._gate.set()
        self._task = asyncio.create_task(self._run())

    @property
    def unrecorded(self) -> int:
        """Sent keys not yet committed to the ledger."""
        return self._pending_keys + self._committing

    async def admit(self) -> None:
        """Wait until a message may leave (see the module docstring)."""
        while not self._gate.is_set():
            await self._gate.wait()
        if self._task.done():  # the writer ended (closed, or failed): nothing may leave
            self._task.result()
            raise RuntimeError("the recorder is closed")

    async def sent(self, keys: list[str], now: datetime, note: str, late: bool | None) -> None:
        """Queue the sent mark of one message (committed with its group)."""
        if not self._pending:
            self._first_at = self._loop.time()
        self._pending.append(SentMark(tuple(keys), now, note, late))
        self._pending_keys += len(keys)
        self._update_gate()
        self._wake.set()

    async def write(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call a ledger write (mark_failed, mark_gave_up …) now, retrying while refused."""
        await self._persist(fn, *args)

    async def close(self) -> None:
        """Commit everything pending (however long the ledger refuses), then stop."""
        self._closing = True
        self._wake.set()
        await self._task

    async def abandon(self) -> None:
        """Stopping: one last try (up to LAST_TRY s) to record what went out, no retries.

        What stays unrecorded is left SENDING and sent again at the next start.
        """
        self._closing = True
        self._abandoned.set()
        self._wake.set()
        await asyncio.wait({self._task}, timeout=LAST_TRY)
        if self._task.done() and not self._task.cancelled():
            self._task.exception()  # retrieved: an error here is not worth a traceback
        else:
            self._task.cancel()

    # -- the writer -------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._write_groups()
        finally:  # ended (closed, or gave up): admit() must not wait on a closed gate
            self._gate.set()

    async def _write_groups(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._fill_group()
            group, self._pending = self._pending, []
            self._committing, self._pending_keys = self._pending_keys, 0
            try:
                await self._persist(self.ledger.record_sent, group)
            finally:
                self._committing = 0
                self._update_gate()
            if self._abandoned.is_set():
                return

    async def _fill_group(self) -> None:
        """Wait until the group is full, its first mark has waited group_wait, or closing."""
        while not self._closing and self._pending_keys < self.group_keys:
            left = self._first_at + self.group_wait - self._loop.time()
            if left <= 0:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except TimeoutError:
                return

    async def _persist(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a ledger write in a thread until it succeeds (or the batch is abandoned, or
        the ledger refused for longer than `patience`: GaveUpWaiting)."""
        wait = self.retry_first
        since: float | None = None  # loop time of the first refusal of this write
        while True:
            try:
                await asyncio.to_thread(fn, *args)
            except LedgerUnwritable as exc:  # the ledger has said so, once
                self._set_writable(False)
                where = str(exc).removesuffix(f": {exc.reason}")
                refusal = f"the ledger {where} refuses writes ({exc.reason})"
            except Exception as exc:
                self._set_writable(False)
                log.exception("cannot record an outcome in the ledger; trying again")
                refusal = f"{type(exc).__name__}: {exc}"
            else:
                self._set_writable(True)
                return
            if self._abandoned.is_set():
                return
            now = self._loop.time()
            since = now if since is None else since
            pause = wait
            if self.patience is not None:
                left = since + self.patience - now
                if left <= 0:
                    raise GaveUpWaiting(refusal, now - since, self.unrecorded)
                pause = min(wait, left)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._abandoned.wait(), pause)
            wait = min(wait * 2, self.retry_max)

    def _set_writable(self, writable: bool) -> None:
        if writable != self._writable:
            self._writable = writable
            self._update_gate()

    def _update_gate(self) -> None:
        if self._writable and self.unrecorded < self.group_keys:
            self._gate.set()
        else:
            self._gate.clear()
