"""Telegram over the Bot API (python-telegram-bot's plain `Bot`), within Telegram's limits.

The message text is already escaped HTML (the renderer's job); it is sent with parse_mode HTML,
split into several messages when it is too long. The channel keeps to the Bot API limits (30
messages a second overall, 1 a second per chat, 20 a minute per group) with small sliding-
window limiters, and when the server still answers 429 it waits the `retry_after` it was told,
a few times at most, before giving up with a transient ChannelError.

The bot token is a secret: it is part of every Bot API URL, so PTB and httpx errors and log
lines can carry it. Errors are scrubbed before they become ChannelErrors, and a logging filter
on the httpx, httpcore and PTB loggers (`_SCRUBBED_LOGGERS`) replaces it with "***".
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import httpx

from reminder.channels import ptb  # noqa: F401  (imports `telegram` without Telegram Passport)

# isort: split
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from reminder.channels.base import ChannelError, Receipt
from reminder.channels.pacing import Rate, Window
from reminder.channels.plaintext import pack, units
from reminder.model import Message, TelegramSettings

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
SPLIT_LIMIT = 4000  # below MessageLimit.MAX_TEXT_LENGTH (4096), counted on the raw HTML
MIGRATED_NOTE = "group upgraded to supergroup; update config"


# -- secrets -------------------------------------------------------------------------------


class _TokenScrubber(logging.Filter):
    """Replaces known bot tokens in log records with "***"."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.tokens:
            text = record.getMessage()
            clean = scrub(text, *self.tokens)
            if clean != text:
                record.msg, record.args = clean, None
        return True


_SCRUBBER = _TokenScrubber()
# Loggers that see Bot API URLs: httpx logs every request URL at INFO; PTB logs its base URL.
_SCRUBBED_LOGGERS = (
    "httpx",
    *(f"httpcore.{n}" for n in ("connection", "http11", "http2", "proxy", "socks")),
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.request.BaseRequest",
    "telegram.request.HTTPXRequest",
)
for _name in _SCRUBBED_LOGGERS:
    logging.getLogger(_name).addFilter(_SCRUBBER)


def _register_token(token: str) -> None:
    if token:
        _SCRUBBER.tokens.add(token)


def scrub(text: str, *tokens: str) -> str:
    """`text` with every token (and its secret part after the ':') replaced by "***"."""
    for token in tokens:
        if not token:
            continue
        text = text.replace(token, "***")
        secret = token.partition(":")[2]
        if len(secret) >= 8:
            text = text.replace(secret, "***")
    return text


# -- limits --------------------------------------------------------------------------------


BOT_API_OVERALL = Rate(30, 1.0)
BOT_API_PER_CHAT = Rate(1, 1.0)
BOT_API_PER_GROUP = Rate(20, 60.0)


@dataclass(frozen=True, slots=True)
class TelegramLimits:
    """The Bot API rate limits the channel keeps to (None: no limit), and how it treats 429.

    Groups are chats whose id is negative or an "@name". After a 429 the channel waits the
    server's `retry_after` and tries again, at most `retry_attempts` times and only when the
    wait is at most `max_retry_wait` seconds; otherwise it raises a transient ChannelError
    carrying `retry_after`.
    """

    overall: Rate | None = BOT_API_OVERALL
    per_chat: Rate | None = BOT_API_PER_CHAT
    per_group: Rate | None = BOT_API_PER_GROUP
    retry_attempts: int = 3
    max_retry_wait: float = 30.0


class _Chat:
    """Per-chat state: a lock (one message at a time, parts in order) and its windows."""

    def __init__(self, limits: TelegramLimits, group: bool) -> None:
        self.lock = asyncio.Lock()
        self.windows = [
            Window(rate, slack=(0.0, 0.0))  # counted from the answer: no slack needed
            for rate in (limits.per_chat, limits.per_group if group else None)
            if rate is not None
        ]


def is_group(chat: str) -> bool:
    """Groups, supergroups and channels: a negative id or an "@name"."""
    return chat.startswith("-") or chat.startswith("@")


# -- splitting -----------------------------------------------------------------------------


def split_html(text: str, limit: int = SPLIT_LIMIT) -> list[str]:
    """Split Telegram HTML into parts of at most `limit` UTF-16 units (raw HTML, tags
    included, so each part stays under Telegram's 4096 after parsing).

    Assumes each line is balanced HTML: a tag opened on a line is closed on it (the
    renderer's templates are written that way), so cutting between lines never breaks or
    unbalances a tag. Cuts prefer blank lines (paragraphs), then line breaks; a line longer
    than `limit` is cut at spaces outside tags (which may leave an element that spans the
    cut unbalanced), and a single longer word is cut hard, never inside a tag or an entity.
    Whitespace-only parts are dropped; an empty text gives [].
    """
    if limit < 16:
        raise ValueError("limit too small")
    parts = _split(text, ("\n\n", "\n", " "), limit) if units(text) > limit else [text]
    return [p for p in parts if p.strip()]


def _split(text: str, seps: tuple[str, ...], limit: int) -> list[str]:
    return pack(text, seps, limit, pieces=_pieces, hard_cut=_hard_cut)


def _pieces(text: str, sep: str) -> list[str]:
    return _spaces_outside_tags(text) if sep == " " else text.split(sep)


def _spaces_outside_tags(line: str) -> list[str]:
    pieces, start, in_tag = [], 0, False
    for i, ch in enumerate(line):
        if ch == "<":
            in_tag = True
        elif ch == ">":
            in_tag = False
        elif ch == " " and not in_tag:
            pieces.append(line[start:i])
            start = i + 1
    pieces.append(line[start:])
    return pieces


def _hard_cut(word: str, limit: int) -> list[str]:
    out = []
    while units(word) > limit:
        cut = safe = used = 0
        in_tag = in_entity = False
        for i, ch in enumerate(word):
            used += 2 if ord(ch) > 0xFFFF else 1
            if used > limit:
                break
            if ch == "<":
                in_tag = True
            elif ch == ">" and in_tag:
                in_tag = False
            elif ch == "&":
                in_entity = True
            elif (ch == ";" and in_entity) or ch.isspace():
                in_entity = False
            cut = i + 1
            if not in_tag and not in_entity:
                safe = cut
        cut = safe or cut or 1
        out.append(word[:cut])
        word = word[cut:]
    if word:
        out.append(word)
    return out


# -- the channel ---------------------------------------------------------------------------


def _chat_id(address: str) -> int | str:
    address = address.strip()
    try:
        return int(address)
    except ValueError:
        return address


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's own default TLS context (certifi's CAs, or SSL_CERT_FILE / SSL_CERT_DIR),
    made once per process: httpx makes a new one for each client it creates, which reads
    the whole CA bundle (~0.3 s, and a bot has two clients)."""
    return httpx.create_ssl_context()


def _make_bot(settings: TelegramSettings) -> Bot:
    _register_token(settings.token)
    t = settings.timeout

    def request(pool: int) -> HTTPXRequest:
        return HTTPXRequest(
            connection_pool_size=pool,
            connect_timeout=t,
            read_timeout=t,
            write_timeout=t,
            pool_timeout=t,
            httpx_kwargs={"verify": _tls_context()},
        )

    return Bot(
        settings.token,
        base_url=settings.base_url or DEFAULT_BASE_URL,
        request=request(8),
        get_updates_request=request(1),
    )


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns that retry_after will become a timedelta
        value = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _channel_error(exc: Exception, token: str, doing: str) -> ChannelError:
    """Map a PTB (or other) error to a ChannelError; the text never holds the token."""
    detail = scrub(str(exc) or type(exc).__name__, token)
    if isinstance(exc, InvalidToken):
        # Not permanent: the token is ops' to fix, and giving up would lose the whole batch.
        text, permanent = f"Telegram rejected the bot token while {doing}: {detail}", False
    elif isinstance(exc, Forbidden | BadRequest):  # blocked, kicked, chat not found, bad HTML
        text, permanent = f"Telegram refused {doing}: {detail}", True
    elif isinstance(exc, TimedOut):
        text, permanent = f"Telegram timed out while {doing}: {detail}", False
    elif isinstance(exc, NetworkError):
        text, permanent = f"network error while {doing} (Telegram): {detail}", False
    elif isinstance(exc, Conflict):
        hint = "a webhook is set, or another process is polling this bot"
        text, permanent = f"Telegram conflict while {doing}: {detail} ({hint})", False
    else:
        text, permanent = f"Telegram error while {doing}: {type(exc).__name__}: {detail}", False
    return ChannelError(scrub(text, token), permanent=permanent)


class TelegramChannel:
    """Sends `Message`s to Telegram chats with a `Bot` opened once per batch."""

    name = "telegram"

    def __init__(self, settings: TelegramSettings, *, limits: TelegramLimits | None = None):
        self._settings = settings
        self._limits = limits or TelegramLimits()
        self._bot: Bot | None = None
        self._chats: dict[str, _Chat] = {}
        self._overall = Window(self._limits.overall) if self._limits.overall else None
        self._overall_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        self.split_limit = SPLIT_LIMIT
        _register_token(settings.token)
        # The bot and its HTTP clients are made now, at start-up, so that the first reminder
        # due does not wait while httpx loads its transport (~0.4 s); open() checks the
        # token. A token the library refuses outright is reported by open() as before.
        self._made: Bot | None = None
        with contextlib.suppress(TelegramError):
            self._made = _make_bot(settings)

    def __repr__(self) -> str:
        return f"TelegramChannel(base_url={self._settings.base_url or DEFAULT_BASE_URL!r})"

    async def open(self) -> None:
        """Create the bot and check the token (getMe)."""
        async with self._open_lock:
            if self._bot is None:
                self._bot = await self._new_bot()

    async def _new_bot(self) -> Bot:
        token = self._settings.token
        failure: ChannelError | None = None
        made, self._made = self._made, None
        try:
            bot = made or _make_bot(self._settings)
        except TelegramError as exc:  # e.g. an empty token
            failure = _channel_error(exc, token, "creating the bot")
        if failure is not None:
            raise failure  # outside `except`: no chained PTB error that may hold the token
        try:
            await bot.initialize()
        except Exception as exc:
            failure = _channel_error(exc, token, "checking the bot (getMe)")
        if failure is not None:
            await _shutdown(bot)
            raise failure
        return bot

    async def send(self, message: Message) -> Receipt:
        """Send the text (split when long) to the chat, in order; see the module docstring."""
        await self.open()
        bot = self._bot
        assert bot is not None
        parts = split_html(message.text, self.split_limit)
        if not parts:
            raise ChannelError(f"Telegram chat {message.address}: empty message", permanent=True)
        address = message.address.strip()
        chat = self._chats.get(address)
        if chat is None:
            chat = self._chats[address] = _Chat(self._limits, is_group(address))
        target = _chat_id(address)
        new_address: str | None = None
        markup = _keyboard(message)
        async with chat.lock:
            for n, part in enumerate(parts):
                last = n == len(parts) - 1
                try:
                    sent_to = await self._send_part(
                        bot, chat, target, part, markup if last else None
                    )
                except ChannelError as exc:
                    if not n:
                        raise
                    # The chat already has the first parts; a retry will send them again.
                    raise ChannelError(
                        f"{exc} (after {n} of {len(parts)} parts were sent)",
                        permanent=exc.permanent,
                        retry_after=exc.retry_after,
                    ) from None
                if sent_to != target:
                    target, new_address = sent_to, str(sent_to)
        note = f"sent in {len(parts)} parts" if len(parts) > 1 else ""
        if new_address is not None:
            log.warning(
                "Telegram chat %s became %s (%s)", message.address, new_address, MIGRATED_NOTE
            )
            return Receipt(note=MIGRATED_NOTE, new_address=new_address)
        return Receipt(note=note)

    async def close(self) -> None:
        """Release the HTTP connections. Never raises."""
        bot, self._bot = self._bot, None
        self._chats.clear()
        # Fresh locks: the next batch may run in another event loop (asyncio.run per batch).
        self._overall_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        if bot is not None:
            await _shutdown(bot)

    # -- internals -------------------------------------------------------------------------

    async def _send_part(
        self,
        bot: Bot,
        chat: _Chat,
        target: int | str,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> int | str:
        """Send one part; returns the chat id it went to (a new one after a migration).

        Errors are raised outside the `except` clauses, so the ChannelError carries no
        chained PTB exception (whose text or URL may hold the token).
        """
        floods = 0
        migrated = False
        while True:
            await self._wait_for_slot(chat)
            failure: ChannelError | None = None
            pause = 0.0
            try:
                await bot.send_message(
                    chat_id=target, text=text, parse_mode=ParseMode.HTML, reply_markup=markup
                )
                return target
            except ChatMigrated as exc:
                if migrated:
                    failure = ChannelError(
                        f"Telegram chat {target} moved twice in one send", permanent=False
                    )
                else:
                    migrated = True
                    log.info("Telegram chat %s migrated to %s; resending", target, exc.new_chat_id)
                    target = exc.new_chat_id
            except RetryAfter as exc:
                pause = _retry_seconds(exc)
                floods += 1
                if floods > self._limits.retry_attempts or pause > self._limits.max_retry_wait:
                    failure = ChannelError(
                        f"Telegram flood control for chat {target}: retry after {pause:g} s",
                        permanent=False,
                        retry_after=pause,
                    )
            except Exception as exc:  # TelegramError, or httpx and friends should PTB let one by
                failure = _channel_error(exc, self._settings.token, f"sending to chat {target}")
            finally:
                _answered(chat)
            if failure is not None:
                raise failure
            if pause:
                log.info("Telegram flood control for chat %s: waiting %g s", target, pause)
                await asyncio.sleep(pause)

    async def _wait_for_slot(self, chat: _Chat) -> None:
        """Wait until the chat's windows and the overall window allow one more message.

        Called with `chat.lock` held, so only this task changes the chat's windows. The
        overall window counts a message from when it leaves; the chat's windows from when
        the server has answered (`_answered`): the server saw it before that, so no delay in
        our event loop between two sends to a chat can bring them closer than the limit.
        """
        while True:
            delay = max((w.delay(time.monotonic()) for w in chat.windows), default=0.0)
            if delay <= 0:
                break
            await asyncio.sleep(delay)
        if self._overall is not None:
            async with self._overall_lock:
                while (delay := self._overall.delay(time.monotonic())) > 0:
                    await asyncio.sleep(delay)
                self._overall.record(time.monotonic())


def _answered(chat: _Chat) -> None:
    """Count a message in the chat's windows: the server has answered it."""
    now = time.monotonic()
    for window in chat.windows:
        window.record(now)


def _keyboard(message: Message) -> InlineKeyboardMarkup | None:
    """The message's inline buttons (on its last part), or None."""
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.text, callback_data=b.data) for b in row]
            for row in message.buttons
        ]
    )


async def _shutdown(bot: Bot) -> None:
    try:
        await bot.shutdown()
    except Exception as exc:
        log.debug("Telegram: shutting the bot down failed: %s", type(exc).__name__)


# -- listing chats -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """A chat the bot can write to, as getUpdates saw it."""

    id: int
    type: str  # "private" | "group" | "supergroup" | "channel"
    title: str | None  # the group's title, or the person's full name
    username: str | None


async def list_chats(settings: TelegramSettings) -> list[ChatInfo]:
    """The chats that wrote to the bot or added it to a group, deduplicated, in the order
    first seen, for `reminder telegram-chats`.

    Reads pending updates (getUpdates) without confirming them, so running it twice lists
    the same chats. Telegram keeps updates for 24 hours only: ask people to write to the bot
    (or add it to the group) shortly before. Chats the bot was last removed from, and groups
    that were upgraded to a supergroup (the new id is listed instead), are left out.
    Raises ChannelError (a Conflict when a webhook is set or another process is polling).
    """
    token = settings.token
    failure: ChannelError | None = None
    updates: tuple[Update, ...] = ()
    try:
        bot = _make_bot(settings)
        async with bot:
            updates = await bot.get_updates(timeout=0)
    except Exception as exc:
        failure = _channel_error(exc, token, "reading updates (getUpdates)")
    if failure is not None:
        raise failure  # outside `except`: no chained PTB error that may hold the token
    return chats_from_updates(updates)


async def bot_username(settings: TelegramSettings) -> str:
    """The bot's @username (getMe), for deep links. ChannelError when it cannot be asked."""
    failure: ChannelError | None = None
    name = ""
    try:
        bot = _make_bot(settings)
        async with bot:
            name = bot.username
    except Exception as exc:
        failure = _channel_error(exc, settings.token, "asking for the bot's name (getMe)")
    if failure is not None:
        raise failure
    return name


def chats_from_updates(updates: tuple[Update, ...] | list[Update]) -> list[ChatInfo]:
    """The distinct chats in `updates` (latest details win; see list_chats)."""
    found: dict[int, ChatInfo] = {}
    gone: set[int] = set()
    for update in updates:
        chat = update.effective_chat
        if chat is None:
            continue
        member = update.my_chat_member
        if member is not None and member.new_chat_member.status in ("left", "kicked"):
            gone.add(chat.id)
            continue
        if update.effective_message and update.effective_message.migrate_to_chat_id:
            gone.add(chat.id)
            continue
        gone.discard(chat.id)
        info = ChatInfo(chat.id, chat.type, chat.effective_name, chat.username)
        found[chat.id] = info  # dicts keep the first insertion position
    return [info for chat_id, info in found.items() if chat_id not in gone]


# -- checking the bot (reminder doctor) ----------------------------------------------------


async def probe(
    settings: TelegramSettings, chats: Sequence[str]
) -> tuple[str, dict[str, str | ChannelError]]:
    """getMe, then getChat for each chat id: (the bot's name, chat → its title or the error).
    Sends nothing. Raises ChannelError when the token is refused or the API is unreachable."""
    token = settings.token
    failure: ChannelError | None = None
    name = ""
    found: dict[str, str | ChannelError] = {}
    try:
        bot = _make_bot(settings)
        async with bot:
            me = await bot.get_me()
            name = f"@{me.username} (id {me.id})"
            for chat in chats:
                try:
                    info = await bot.get_chat(_chat_id(chat))
                except TelegramError as exc:
                    found[chat] = _channel_error(exc, token, f"getChat {chat}")
                else:
                    title = info.title or info.full_name or (info.username or "")
                    found[chat] = f"{info.type} {title!r}".strip()
    except Exception as exc:
        failure = _channel_error(exc, token, "checking the bot (getMe)")
    if failure is not None:
        raise failure  # outside `except`: no chained PTB error that may hold the token
    return name, found
