"""Receiving from Zalo: long polling (getUpdates) or a webhook, a thin transport for the
shared chat module (reminder.answers).

Each text message becomes a `Sender` and its text; the UpdateHandler reads it ("xong 3", a
link code, "tt") and its plain-text answer is sent back to the chat (numbered parts if
long). Stickers, images and the like only mark the chat as seen.

The poller has its own client (its own connections), so a long poll or an outage never
holds up the reminders the ZaloChannel sends. getUpdates waits up to POLL_TIMEOUT seconds;
an empty poll (the server's 408) is asked again at once; any other failure is retried after
a backoff (1 s doubling to BACKOFF_MAX), logged on the first failure of a run and then at
most once every POLL_ERROR_EVERY seconds; a refused token waits BACKOFF_MAX between tries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time

from reminder.channels.chat import Sender, UpdateHandler
from reminder.channels.plaintext import split_plain
from reminder.channels.zalo import Verdict, classify
from reminder.channels.zalo_api import (
    TEXT_LIMIT,
    Update,
    ZaloApiError,
    ZaloBotClient,
    ZaloUnreachable,
    parse_update,
)
from reminder.model import ZaloSettings

log = logging.getLogger("reminder.channels.zalo")

POLL_TIMEOUT = 30  # seconds a getUpdates long poll waits
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 300.0
POLL_ERROR_EVERY = 600.0  # seconds between two log lines about failing getUpdates
SECRET_HEADER = "X-Bot-Api-Secret-Token"


def sender_of(update: Update) -> tuple[Sender, str] | None:
    """The sender and text of a message update (None for other updates)."""
    m = update.message
    if m is None:
        return None
    kind = "group" if m.chat_type == "GROUP" else "private"
    title = m.user_name if kind == "private" else ""
    return Sender(m.chat_id, kind, title, m.user_id, m.user_name, channel="zalo"), m.text


class ZaloReceiver:
    """Hands updates to the handler and sends its answers back (both poll and webhook)."""

    def __init__(self, settings: ZaloSettings, handler: UpdateHandler) -> None:
        self._settings = settings
        self._handler = handler
        self._client = ZaloBotClient(settings.token, settings.base_url, settings.timeout)
        self.handled = 0

    async def handle(self, update: Update) -> None:
        """One update: the chat seen, the text answered. Never raises."""
        found = sender_of(update)
        if found is None:
            return
        sender, text = found
        try:
            await self._handler.on_chat(sender, True)
            reply = await self._handler.on_text(sender, text) if text else None
            if reply:
                for part in split_plain(reply, TEXT_LIMIT):
                    await self._client.send_message(sender.chat_id, part)
        except (ZaloApiError, ZaloUnreachable) as exc:
            log.warning("Zalo: answering chat %s failed: %s", sender.chat_id, exc)
        except Exception as exc:
            log.error(
                "Zalo update from chat %s could not be handled: %s: %s",
                sender.chat_id,
                type(exc).__name__,
                exc,
            )
        finally:
            self.handled += 1

    async def close(self) -> None:
        await self._client.close()


class ZaloPoller:
    """Long polling inside the daemon's loop: start() spawns the loop, stop() ends it."""

    def __init__(self, settings: ZaloSettings, handler: UpdateHandler) -> None:
        self._settings = settings
        self._receiver = ZaloReceiver(settings, handler)
        self._client = ZaloBotClient(settings.token, settings.base_url, settings.timeout)
        self._task: asyncio.Task[None] | None = None
        self.failures = 0  # getUpdates failures in the current run of them
        self.polls = 0
        self._logged = -POLL_ERROR_EVERY

    @property
    def handled(self) -> int:
        return self._receiver.handled

    async def start(self) -> None:
        """Start polling (the loop retries on its own: start never fails)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="zalo-poller")

    async def stop(self) -> None:
        """Stop polling and release the connections. Never raises."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._client.close()
        await self._receiver.close()

    async def _run(self) -> None:
        wait = BACKOFF_FIRST
        while True:
            try:
                updates = await self._client.get_updates(POLL_TIMEOUT)
            except (ZaloApiError, ZaloUnreachable) as exc:
                if isinstance(exc, ZaloApiError) and exc.code == 408:  # an empty poll
                    self.polls += 1
                    self._recovered()
                    continue
                self._failed(exc, wait)
                await asyncio.sleep(wait)
                stop = classify(exc) == Verdict.STOP
                wait = BACKOFF_MAX if stop else min(wait * 2, BACKOFF_MAX)
                continue
            self.polls += 1
            self._recovered()
            wait = BACKOFF_FIRST
            for update in updates:
                await self._receiver.handle(update)

    def _failed(self, exc: ZaloApiError | ZaloUnreachable, wait: float) -> None:
        self.failures += 1
        now = time.monotonic()
        if self.failures > 1 and now - self._logged < POLL_ERROR_EVERY:
            return
        self._logged = now
        verdict = classify(exc)
        hint = " (the bot token was refused: fix the credential)" if verdict == Verdict.STOP else ""
        if isinstance(exc, ZaloApiError) and exc.code == 409:
            hint = ' (a webhook is set for this bot: deleteWebhook, or receive = "webhook")'
        log.warning(
            "Zalo getUpdates failed %d time(s), retrying in %g s: %s%s",
            self.failures,
            wait,
            exc,
            hint,
        )

    def _recovered(self) -> None:
        if self.failures:
            log.info("Zalo getUpdates works again after %d failure(s)", self.failures)
            self.failures = 0
            self._logged = -POLL_ERROR_EVERY


def secret_matches(given: str | None, expected: str) -> bool:
    """The webhook's secret header, compared in constant time."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def webhook_update(body: object) -> Update | None:
    """The update a webhook POST carries (None if it has no shape)."""
    return parse_update(body)
