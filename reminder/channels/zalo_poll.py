"""Receiving from Zalo: long polling (getUpdates) or a webhook, a thin transport for the
shared chat module (reminder.answers).

The webhook (`receive = "webhook"`) is a route of the daemon's web server, POST
WEBHOOK_PATH, behind the reverse proxy of docs/install.md. A POST counts only with the
secret in the X-Bot-Api-Secret-Token header, compared in constant time; without it, or with
another, the answer is 403 and nothing is read (one WARNING a minute at most). An accepted
update is answered 200 at once and handled in the background.

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
import json
import logging
import time

from aiohttp import web

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


WEBHOOK_PATH = "/zalo/webhook"
REFUSAL_LOG_EVERY = 60.0  # seconds between two WARNINGs about refused webhook calls
WEBHOOK_MAX_BYTES = 64 * 1024


class ZaloWebhook:
    """The webhook route: checks the secret, hands the update to a ZaloReceiver."""

    def __init__(self, settings: ZaloSettings, handler: UpdateHandler) -> None:
        assert settings.webhook_secret is not None
        self._secret = settings.webhook_secret
        self._settings = settings
        self._receiver = ZaloReceiver(settings, handler)
        self._tasks: set[asyncio.Task[None]] = set()
        self.refused = 0
        self._logged = -REFUSAL_LOG_EVERY

    @property
    def handled(self) -> int:
        return self._receiver.handled

    def routes(self) -> list[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        if not secret_matches(request.headers.get(SECRET_HEADER), self._secret):
            self._refuse("missing or wrong secret header")
            return web.json_response({"ok": False, "description": "Forbidden"}, status=403)
        body = await request.content.read(WEBHOOK_MAX_BYTES + 1)
        if len(body) > WEBHOOK_MAX_BYTES:
            return web.json_response({"ok": False, "description": "Too large"}, status=413)
        try:
            update = webhook_update(json.loads(body))
        except (ValueError, UnicodeDecodeError):
            update = None
        if update is None:
            return web.json_response({"ok": False, "description": "Bad Request"}, status=400)
        task = asyncio.create_task(self._receiver.handle(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({"ok": True})

    def _refuse(self, why: str) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self._logged >= REFUSAL_LOG_EVERY:
            self._logged = now
            log.warning("Zalo webhook call refused (%d so far): %s", self.refused, why)

    async def register(self, public_url: str) -> None:
        """setWebhook(<public_url>/zalo/webhook, secret), retried with backoff until it
        works (the daemon runs it in the background). Never raises."""
        client = ZaloBotClient(
            self._settings.token, self._settings.base_url, self._settings.timeout
        )
        url = public_url.rstrip("/") + WEBHOOK_PATH
        wait = BACKOFF_FIRST * 5
        try:
            while True:
                try:
                    await client.set_webhook(url, self._secret)
                except (ZaloApiError, ZaloUnreachable) as exc:
                    log.warning("Zalo setWebhook %s failed, retrying in %g s: %s", url, wait, exc)
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, BACKOFF_MAX)
                    continue
                log.info("Zalo webhook set: %s", url)
                return
        finally:
            await client.close()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._receiver.close()


def secret_matches(given: str | None, expected: str) -> bool:
    """The webhook's secret header, compared in constant time. aiohttp hands over a header's
    bytes that are not UTF-8 as surrogates: they are compared as the bytes they were."""
    if not given or not expected:
        return False
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def webhook_update(body: object) -> Update | None:
    """The update a webhook POST carries (None if it has no shape)."""
    return parse_update(body)
