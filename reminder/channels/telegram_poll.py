"""Receiving from Telegram: the daemon's long-polling poller (python-telegram-bot's
Application + Updater), a thin transport for the shared chat module (reminder.answers).

It decodes button presses, /start and /trangthai commands, typed messages ("xong 3") and
chat membership into reminder.channels.chat's types, hands them to the UpdateHandler, and
sends back what it answers. Sending reminders is reminder.channels.telegram's.
"""

from __future__ import annotations

import logging
import time

from reminder.channels import ptb  # noqa: F401  (imports `telegram` without Telegram Passport)

# isort: split
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from reminder.channels.base import ChannelError
from reminder.channels.chat import Press, Sender, UpdateHandler
from reminder.channels.plaintext import units
from reminder.channels.telegram import (
    _SCRUBBER,
    DEFAULT_BASE_URL,
    SPLIT_LIMIT,
    _channel_error,
    _register_token,
    scrub,
)
from reminder.model import TelegramSettings

log = logging.getLogger("reminder.channels.telegram")

COMMANDS = ("start", "trangthai")
POLL_TIMEOUT = 50  # seconds a getUpdates long poll waits (Telegram's maximum)
POLL_ERROR_EVERY = 600.0  # seconds between two log lines about failing getUpdates


def _sender(update: Update) -> Sender | None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return None
    name = user.full_name if user else ""
    return Sender(str(chat.id), chat.type, chat.effective_name or "", user.id if user else 0, name)


class TelegramPoller:
    """Long polling (python-telegram-bot's Application + Updater) inside the daemon's loop.

    Decodes button presses, /start and /trangthai commands, typed answers and chat
    membership, hands them to an UpdateHandler, and answers: answerCallbackQuery, editMessageText (the pressed item's
    row of buttons is removed), sendMessage for command replies. No signal handlers are set
    (`run_polling` is not used): the daemon keeps SIGHUP and SIGTERM. A Bot API outage only
    makes the updater retry with its own backoff; it never touches the sends.
    """

    def __init__(self, settings: TelegramSettings, handler: UpdateHandler) -> None:
        from telegram.ext import (
            Application,
            CallbackQueryHandler,
            ChatMemberHandler,
            CommandHandler,
            MessageHandler,
            filters,
        )

        _register_token(settings.token)
        for name in ("telegram.ext.Updater", "telegram.ext.Application"):
            logging.getLogger(name).addFilter(_SCRUBBER)
        self._settings = settings
        self._handler = handler
        self._poll_errors = 0
        self._poll_error_logged = -POLL_ERROR_EVERY
        t = settings.timeout
        app = (
            Application.builder()
            .token(settings.token)
            .base_url(settings.base_url or DEFAULT_BASE_URL)
            .request(HTTPXRequest(connection_pool_size=4, connect_timeout=t, read_timeout=t))
            .get_updates_request(
                HTTPXRequest(connect_timeout=t, read_timeout=POLL_TIMEOUT + t, write_timeout=t)
            )
            .build()
        )
        app.add_handler(CallbackQueryHandler(self._on_press))
        app.add_handler(CommandHandler(list(COMMANDS), self._on_command))
        app.add_handler(ChatMemberHandler(self._on_member, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_handler(MessageHandler(filters.ALL, self._on_message))
        app.add_error_handler(self._on_error)
        self.app = app

    async def start(self) -> None:
        """Start polling (getMe first: ChannelError when the token or the API is wrong)."""
        failure: ChannelError | None = None
        try:
            await self.app.initialize()
            await self.app.start()
            assert self.app.updater is not None
            await self.app.updater.start_polling(
                timeout=POLL_TIMEOUT,
                allowed_updates=["message", "callback_query", "my_chat_member"],
                error_callback=self._on_poll_error,
            )
        except Exception as exc:
            failure = _channel_error(exc, self._settings.token, "starting to receive updates")
        if failure is not None:
            await self.stop()
            raise failure

    async def stop(self) -> None:
        """Stop polling and release the connections. Never raises."""
        try:
            if self.app.updater is not None and self.app.updater.running:
                await self.app.updater.stop()
            if self.app.running:
                await self.app.stop()
            await self.app.shutdown()
        except Exception as exc:
            log.debug("Telegram poller: stopping failed: %s", type(exc).__name__)

    # -- handlers ---------------------------------------------------------------------------

    async def _on_press(self, update: Update, _context: object) -> None:
        query = update.callback_query
        sender = _sender(update)
        if query is None or sender is None:
            return
        message = query.message
        html_text = (getattr(message, "text_html", "") or "") if message is not None else ""
        answer = await self._handler.on_press(Press(sender, query.data or "", html_text))
        await query.answer(answer.text[:200], show_alert=answer.alert)
        if answer.append_html is None or message is None:
            return
        markup = _without_row(getattr(message, "reply_markup", None), query.data or "")
        text = f"{html_text}\n\n{answer.append_html}"
        if units(text) > SPLIT_LIMIT:
            text = answer.append_html
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)

    async def _on_command(self, update: Update, context: object) -> None:
        sender = _sender(update)
        message = update.effective_message
        if sender is None or message is None or not message.text:
            return
        word, _, argument = message.text.partition(" ")
        command = word.lstrip("/").split("@", 1)[0].lower()
        await self._handler.on_chat(sender, True)
        reply = await self._handler.on_command(sender, command, argument.strip())
        if reply:
            await message.reply_text(reply, parse_mode=ParseMode.HTML)

    async def _on_member(self, update: Update, _context: object) -> None:
        sender = _sender(update)
        member = update.my_chat_member
        if sender is None or member is None:
            return
        gone = member.new_chat_member.status in ("left", "kicked")
        await self._handler.on_chat(sender, not gone)

    async def _on_message(self, update: Update, _context: object) -> None:
        """A message that is not a command: the chat is seen, and a typed answer ("xong 3",
        a link code, "tt") is read by the shared chat module and answered in plain text."""
        sender = _sender(update)
        if sender is None:
            return
        await self._handler.on_chat(sender, True)
        message = update.effective_message
        if message is None or not message.text:
            return
        reply = await self._handler.on_text(sender, message.text)
        if reply:
            await message.reply_text(reply[:SPLIT_LIMIT])

    async def _on_error(self, update: object, context: object) -> None:
        error = getattr(context, "error", None)
        detail = scrub(str(error) or type(error).__name__, self._settings.token)
        log.error("Telegram update could not be handled: %s: %s", type(error).__name__, detail)

    def _on_poll_error(self, exc: TelegramError) -> None:
        """Log the first failure of a run of them, then at most one line per POLL_ERROR_EVERY
        seconds: PTB retries by itself, and an outage should not flood the journal."""
        now = time.monotonic()
        self._poll_errors += 1
        if now - self._poll_error_logged < POLL_ERROR_EVERY:
            return
        self._poll_error_logged = now
        detail = scrub(str(exc) or type(exc).__name__, self._settings.token)
        log.warning(
            "Telegram getUpdates failed %d time(s) (retrying): %s: %s",
            self._poll_errors,
            type(exc).__name__,
            detail,
        )


def _without_row(markup: object, data: str) -> InlineKeyboardMarkup | None:
    """The keyboard without the row that holds the button with `data` (None if empty)."""
    if not isinstance(markup, InlineKeyboardMarkup):
        return None
    rows = [
        list(row)
        for row in markup.inline_keyboard
        if all(getattr(b, "callback_data", None) != data for b in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None
