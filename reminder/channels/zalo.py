"""Zalo over the Zalo Bot Platform's Bot API (reminder.channels.zalo_api), plain text.

The rendered text (templates/zalo.txt) is plain; a text longer than a Zalo message (2,000
characters) goes as numbered parts "(1/3)" cut between items, lines or words
(reminder.channels.plaintext), in order, one chat at a time.

Pacing: one bot sends at most `send_per_second` messages a second, all chats together
(configurable, conservative by default: Zalo publishes no limit), and one message a second
to a chat, both counted from the server's answers (pacing.AnsweredWindow), so that a busy
event loop between taking a place and the request leaving can never bunch arrivals up. A 429 is waited out (its retry_after, else a second) and tried again a few times.

Every error the API returns is put in one of three classes, logged once with the chat and
the agency, never with the token:
- retry (transient ChannelError): no answer, timeouts, 5xx, 429, anything unexpected;
- give up for this chat (permanent ChannelError): unknown chat or user, the bot removed
  from the group or blocked, other 4xx refusals of this message;
- stop the channel: the token is refused (401, or an error naming the token). Nothing more
  is sent on Zalo until ops fix the token and restart; each message meanwhile fails as a
  transient error (retried later, never given up), and one ERROR line says so.
"""

from __future__ import annotations

import asyncio
import logging
import time

from reminder.channels.base import ChannelError, Receipt
from reminder.channels.pacing import AnsweredWindow, Rate, Window
from reminder.channels.plaintext import split_plain
from reminder.channels.zalo_api import (
    DEFAULT_BASE_URL,
    TEXT_LIMIT,
    BotInfo,
    ZaloApiError,
    ZaloBotClient,
    ZaloUnreachable,
)
from reminder.model import Message, ZaloSettings

log = logging.getLogger(__name__)

PER_CHAT = Rate(1, 1.0)
RETRY_ATTEMPTS = 3  # 429s waited out for one part before the send is retried later
MAX_RETRY_WAIT = 30.0
IN_FLIGHT_POLL = 0.005  # seconds between looks while every place of the window is in flight
GONE_WORDS = ("not found", "removed", "blocked", "not a member", "no longer", "invalid chat",
              "invalid user", "not exist", "kicked", "left")  # fmt: skip


class Verdict:
    """The class of an API error: what the channel does about it."""

    RETRY = "retry"
    GIVE_UP = "give up for this chat"
    STOP = "stop the channel"


def classify(exc: ZaloApiError | ZaloUnreachable) -> str:
    """RETRY, GIVE_UP or STOP for an error (see the module docstring)."""
    if isinstance(exc, ZaloUnreachable):
        return Verdict.RETRY
    text = exc.description.lower()
    if exc.status == 401 or exc.code == 401 or "token" in text:
        return Verdict.STOP
    if exc.status == 429 or exc.code == 429 or exc.status >= 500 or exc.code >= 500:
        return Verdict.RETRY
    if exc.status == 408 or exc.code == 408:
        return Verdict.RETRY
    if 400 <= exc.status < 500 or 400 <= exc.code < 500:
        return Verdict.GIVE_UP
    if any(word in text for word in GONE_WORDS):
        return Verdict.GIVE_UP
    return Verdict.RETRY


class _Chat:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.window = Window(PER_CHAT, slack=(0.0, 0.0))


class ZaloChannel:
    """Sends `Message`s to Zalo chats; one client (one bot) for the channel's life."""

    name = "zalo"

    def __init__(self, settings: ZaloSettings, *, per_chat: bool = True) -> None:
        self._settings = settings
        self._client = ZaloBotClient(settings.token, settings.base_url, settings.timeout)
        rate = _rate(settings.send_per_second)
        self._overall = AnsweredWindow(rate)
        self._overall_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        self._per_chat = per_chat
        self._chats: dict[str, _Chat] = {}
        self._bot: BotInfo | None = None
        self.stopped: str | None = None  # why the channel stopped (a refused token)

    def __repr__(self) -> str:
        return f"ZaloChannel(base_url={self._settings.base_url or DEFAULT_BASE_URL!r})"

    async def open(self) -> None:
        """Check the token once (getMe). ChannelError (transient) when it cannot be."""
        async with self._open_lock:
            if self.stopped:
                raise ChannelError(self.stopped, permanent=False)
            if self._bot is not None:
                return
            try:
                self._bot = await self._client.get_me()
            except (ZaloApiError, ZaloUnreachable) as exc:
                verdict = classify(exc)
                if verdict == Verdict.STOP:
                    self._stop(exc, "")
                    raise ChannelError(str(self.stopped), permanent=False) from None
                raise ChannelError(
                    f"Zalo: checking the bot (getMe) failed: {exc}", permanent=False
                ) from None

    async def close(self) -> None:
        """Release the connections (the next batch makes new ones). Never raises."""
        await self._client.close()
        self._chats.clear()
        self._overall_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()

    async def send(self, message: Message) -> Receipt:
        """Send the text (numbered parts when long) to the chat, in order."""
        if self.stopped:
            raise ChannelError(self.stopped, permanent=False)
        await self.open()
        chat_id = message.address.strip()
        parts = split_plain(message.text, TEXT_LIMIT)
        if not parts:
            raise ChannelError(f"Zalo chat {chat_id}: empty message", permanent=True)
        chat = self._chats.setdefault(chat_id, _Chat())
        async with chat.lock:
            for n, part in enumerate(parts):
                try:
                    await self._send_part(chat, chat_id, part, message.agency)
                except ChannelError as exc:
                    if not n:
                        raise
                    raise ChannelError(
                        f"{exc} (after {n} of {len(parts)} parts were sent)",
                        permanent=exc.permanent,
                        retry_after=exc.retry_after,
                    ) from None
        return Receipt(note=f"sent in {len(parts)} parts" if len(parts) > 1 else "")

    async def _send_part(self, chat: _Chat, chat_id: str, text: str, agency: str) -> None:
        floods = 0
        while True:
            place = await self._wait_for_slot(chat)
            failure: ZaloApiError | ZaloUnreachable | None = None
            try:
                await self._client.send_message(chat_id, text)
            except (ZaloApiError, ZaloUnreachable) as exc:
                failure = exc
            finally:
                now = time.monotonic()
                chat.window.record(now)
                self._overall.answered(place, now)
            if failure is None:
                return
            verdict = classify(failure)
            if verdict == Verdict.RETRY and _is_flood(failure):
                pause = _pause(failure)
                floods += 1
                if floods <= RETRY_ATTEMPTS and pause <= MAX_RETRY_WAIT:
                    log.info("Zalo rate limit for chat %s: waiting %g s", chat_id, pause)
                    await asyncio.sleep(pause)
                    continue
            raise self._error(failure, verdict, chat_id, agency)

    def _error(
        self, exc: ZaloApiError | ZaloUnreachable, verdict: str, chat_id: str, agency: str
    ) -> ChannelError:
        who = f"chat {chat_id}" + (f" (agency {agency})" if agency else "")
        if verdict == Verdict.STOP:
            self._stop(exc, who)
            return ChannelError(str(self.stopped), permanent=False)
        if verdict == Verdict.GIVE_UP:
            text = f"Zalo refused {who}: {exc}; giving up for this chat (is the id right, is the bot still in the group?)"
            log.error("%s", text)
            return ChannelError(text, permanent=True)
        retry = exc.retry_after if isinstance(exc, ZaloApiError) else None
        text = f"Zalo could not deliver to {who}, will retry: {exc}"
        log.warning("%s", text)
        return ChannelError(text, permanent=False, retry_after=retry)

    def _stop(self, exc: ZaloApiError | ZaloUnreachable, who: str) -> None:
        if self.stopped:
            return
        self.stopped = (
            f"Zalo channel stopped: the bot token was refused ({exc}); fix the credential "
            f"and restart the service — messages wait meanwhile"
        )
        log.error("%s%s", self.stopped, f" [first refused send: {who}]" if who else "")

    async def _wait_for_slot(self, chat: _Chat) -> int:
        """Wait until the chat's window and the bot's window (both counted from the server's
        answers) allow one more message; the place it takes in the bot's window."""
        if self._per_chat:
            while (delay := chat.window.delay(time.monotonic())) > 0:
                await asyncio.sleep(delay)
        async with self._overall_lock:
            while (delay := self._overall.delay(time.monotonic())) > 0:
                await asyncio.sleep(min(delay, IN_FLIGHT_POLL))
            return self._overall.take()


def _rate(per_second: float) -> Rate:
    """messages/second as a window: 5/s → 5 in 1 s; 0.5/s → 1 in 2 s."""
    if per_second >= 1:
        return Rate(int(per_second), 1.0 * int(per_second) / per_second)
    return Rate(1, 1.0 / per_second)


def _is_flood(exc: ZaloApiError | ZaloUnreachable) -> bool:
    return isinstance(exc, ZaloApiError) and (exc.status == 429 or exc.code == 429)


def _pause(exc: ZaloApiError | ZaloUnreachable) -> float:
    retry = exc.retry_after if isinstance(exc, ZaloApiError) else None
    return retry if retry is not None else 1.0
