"""A fake Telegram Bot API (aiohttp) on 127.0.0.1, for python-telegram-bot's `Bot`.

Serves POST /bot{token}/{method}: getMe, getChat, sendMessage, getUpdates, deleteWebhook. A
wrong token gets 401. getChat knows the chats of `add_chat`, `add_private_message` and
`add_group_membership` (else 400 "chat not found"; 403 after `block`/`kick`). sendMessage checks the HTML like Telegram does (known tags, balanced, no bare "<",
Serves POST /bot{token}/{method}: getMe, sendMessage, getUpdates, deleteWebhook,
answerCallbackQuery, editMessageText. A wrong token gets 401. getUpdates is a long poll (it
waits for an update up to its `timeout`, capped at `max_poll_wait`), forgets the updates an
`offset` confirms, and, like Telegram, a new getUpdates ends one still waiting, which gets
409 Conflict (counted in `terminated`). Updates can be queued: private messages, group messages and commands, button
presses (callback queries) and chat membership changes. sendMessage checks the HTML like Telegram does (known tags, balanced, no bare "<",
at most 4096 characters after parsing) and records what it delivered, with a monotonic
timestamp. Answers can be programmed per chat id: blocked (403), chat not found (400), flood
control (429 + retry_after), group upgraded (400 + migrate_to_chat_id), or anything else.
`enforce_limits=True` answers 429 like the real server when a client goes over 30 messages a
second overall, 1 a second per chat or 20 a minute per group.

Run it in the test's own loop (`async with FakeTelegramAPI() as api`) or in a thread of its
own (`base_url, stop = api.start_in_thread()`), e.g. for a daemon started as a subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

TOKEN = "123456789:AAFakeTokenForTests-do-not-use_0123456"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Nhắc hạn", "username": "nhachan_bot"}
ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
MAX_TEXT = 4096
CHAT_FULL_INFO = {
    "accent_color_id": 0,
    "max_reaction_count": 11,
    "accepted_gift_types": {
        "unlimited_gifts": False,
        "limited_gifts": False,
        "unique_gifts": False,
        "premium_subscription": False,
        "gifts_from_channels": False,
    },
}
ADMIN_RIGHTS = (
    "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
    "can_manage_video_chats", "can_restrict_members", "can_promote_members", "can_change_info",
    "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories",
)  # fmt: skip

Rate = tuple[int, float]  # (count, seconds)


@dataclass(frozen=True)
class Sent:
    """A message the fake delivered."""

    chat_id: str  # as the client sent it: "-1001234567890", "111", "@channel"
    text: str
    parse_mode: str | None
    at: float  # time.monotonic() when it arrived
    message_id: int
    reply_markup: dict[str, Any] | None = None


@dataclass(frozen=True)
class CallbackAnswer:
    """An answerCallbackQuery the fake received."""

    callback_query_id: str
    text: str
    show_alert: bool


@dataclass(frozen=True)
class Edit:
    """An editMessageText the fake received."""

    chat_id: str
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None


@dataclass
class _Rule:
    status: int
    description: str
    parameters: dict[str, Any] | None = None
    remaining: int | None = None  # None: for ever
    after: int = 0  # applies once this many messages were delivered to the chat


@dataclass
class _Window:
    count: int
    seconds: float
    times: deque[float] = field(default_factory=deque)

    def wait(self, now: float, tolerance: float) -> float:
        """Seconds until one more event fits (0 if it fits now)."""
        horizon = self.seconds - tolerance
        while self.times and now - self.times[0] >= horizon:
            self.times.popleft()
        if len(self.times) < self.count:
            return 0.0
        return self.times[0] + horizon - now


def is_group(chat_id: str) -> bool:
    return chat_id.startswith("-") or chat_id.startswith("@")


class _HTMLCheck(HTMLParser):
    """Telegram's HTML rules, roughly: allowed tags, properly nested, no bare '<'."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.length = 0  # UTF-16 code units of the visible text
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.error = self.error or f'Unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f'Unexpected end tag "{tag}"'
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self.error = self.error or 'Unexpected character "<"'
        self.length += len(data.encode("utf-16-le")) // 2

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            self.error = self.error or f'Unsupported HTML entity "&{name};"'
        self.length += 1

    def handle_charref(self, name: str) -> None:
        self.length += 1


def check_html(text: str) -> tuple[str | None, int]:
    """(error or None, visible length in UTF-16 units) for Telegram HTML."""
    parser = _HTMLCheck()
    parser.feed(text)
    parser.close()
    if parser.rawdata:  # an unfinished tag at the end
        parser.error = parser.error or "Unclosed tag at end of text"
    if parser.stack and not parser.error:
        parser.error = f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
    return parser.error, parser.length


class FakeTelegramAPI:
    """The Bot API on 127.0.0.1 with a free port. See the module docstring."""

    def __init__(
        self,
        token: str = TOKEN,
        *,
        enforce_limits: bool = False,
        overall: Rate = (30, 1.0),
        per_chat: Rate = (1, 1.0),
        per_group: Rate = (20, 60.0),
        tolerance: float = 0.03,
    ) -> None:
        self.token = token
        self.enforce_limits = enforce_limits
        self.tolerance = tolerance
        self.sent: list[Sent] = []
        self.rejected: list[tuple[str, int, str]] = []  # (chat_id, status, description)
        self.calls: list[str] = []  # method names, in order
        self.updates: list[dict[str, Any]] = []
        self.chats: dict[str, dict[str, Any]] = {}  # chat id → Chat, for getChat
        self._rules: dict[str, list[_Rule]] = {}
        self._limits = (overall, per_chat, per_group)
        self._overall = _Window(*overall)
        self._chats: dict[str, _Window] = {}
        self._groups: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._next_message_id = 1
        self._next_update_id = 1000
        self.answers: list[CallbackAnswer] = []
        self.edits: list[Edit] = []
        self.confirmed = 0  # the highest update_id an offset confirmed
        self.max_poll_wait = 1.0
        self._poll_generation = 0  # bumped by every getUpdates; a waiting one that sees a
        self.terminated = 0  # newer one ends with 409 (counted here), as on Telegram
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Event | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What to give TelegramSettings.base_url (the token is appended by the client)."""
        return f"http://127.0.0.1:{self._port}/bot"

    async def start(self) -> str:
        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        runner = web.AppRunner(app, access_log=None)  # an access log would print the token
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = runner.addresses[0][1]
        return self.base_url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeTelegramAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self) -> tuple[str, Callable[[], None]]:
        """Serve from a thread with its own event loop; returns (base_url, stop)."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=run, name="fake-telegram-api", daemon=True)
        thread.start()
        if not ready.wait(10):
            raise TimeoutError("fake Telegram API did not start")

        def stop() -> None:
            if thread.is_alive():
                loop.call_soon_threadsafe(loop.stop)
                thread.join(10)

        return self.base_url, stop

    # -- programming answers ----------------------------------------------------------------

    def fail(
        self,
        chat_id: int | str,
        status: int,
        description: str,
        *,
        parameters: dict[str, Any] | None = None,
        times: int | None = None,
        after: int = 0,
    ) -> None:
        """Answer sendMessage to `chat_id` with this error (`times` times, or for ever),
        starting once `after` messages were delivered to that chat."""
        with self._lock:
            self._rules.setdefault(str(chat_id), []).append(
                _Rule(status, description, parameters, times, after)
            )

    def block(self, chat_id: int | str, *, after: int = 0) -> None:
        """The user blocked the bot: 403."""
        self.fail(chat_id, 403, "Forbidden: bot was blocked by the user", after=after)

    def kick(self, chat_id: int | str) -> None:
        """The bot was removed from the group: 403."""
        self.fail(chat_id, 403, "Forbidden: bot was kicked from the supergroup chat")

    def chat_not_found(self, chat_id: int | str) -> None:
        """No such chat (or the bot never saw it): 400."""
        self.fail(chat_id, 400, "Bad Request: chat not found")

    def flood(self, chat_id: int | str, retry_after: int = 1, *, times: int = 1) -> None:
        """Flood control: 429 with retry_after, for the next `times` messages to the chat."""
        self.fail(
            chat_id,
            429,
            f"Too Many Requests: retry after {retry_after}",
            parameters={"retry_after": retry_after},
            times=times,
        )

    def migrate(self, chat_id: int | str, new_chat_id: int) -> None:
        """The group became a supergroup with a new id: 400 + migrate_to_chat_id."""
        self.fail(
            chat_id,
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            parameters={"migrate_to_chat_id": new_chat_id},
        )

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    # -- updates for getUpdates -------------------------------------------------------------

    def add_chat(self, chat_id: int, title: str, *, chat_type: str = "supergroup") -> None:
        """A chat the bot is in (getChat answers it), without an update for getUpdates."""
        with self._lock:
            self.chats[str(chat_id)] = {"id": chat_id, "type": chat_type, "title": title}

    def _update(self, **body: Any) -> None:
        with self._lock:
            self._next_update_id += 1
            self.updates.append({"update_id": self._next_update_id, **body})
        loop, arrived = self._loop, self._arrived
        if loop is not None and arrived is not None and not loop.is_closed():
            loop.call_soon_threadsafe(arrived.set)

    def add_group_message(
        self,
        chat_id: int,
        title: str,
        text: str,
        *,
        user_id: int = 555,
        first_name: str = "Lan",
        last_name: str | None = "Nguyễn",
        chat_type: str = "supergroup",
    ) -> None:
        """Someone wrote `text` (e.g. "/trangthai" or "/start@nhachan_bot CODE") in a group."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}]
        self._update(
            message={
                "message_id": len(self.updates) + 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type, "title": title},
                "from": user,
                "text": text,
                "entities": entities,
            }
        )

    def add_callback_query(
        self,
        chat_id: int | str,
        data: str,
        *,
        message_id: int | None = None,
        user_id: int = 555,
        first_name: str = "Lan",
        last_name: str | None = "Nguyễn",
        chat_type: str = "supergroup",
        title: str = "Nhóm",
    ) -> str:
        """Someone pressed an inline button with `data` under message `message_id` (the last
        message sent to the chat by default). Returns the callback query id."""
        chat_key = str(chat_id)
        with self._lock:
            sent = [m for m in self.sent if m.chat_id == chat_key]
        target = next((m for m in sent if m.message_id == message_id), sent[-1] if sent else None)
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        chat: dict[str, Any] = {"id": int(chat_id), "type": chat_type}
        if chat_type != "private":
            chat["title"] = title
        message: dict[str, Any] = {
            "message_id": target.message_id if target else (message_id or 1),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": _plain(target.text) if target else "",
        }
        if target and target.reply_markup:
            message["reply_markup"] = target.reply_markup
        query_id = f"q{self._next_update_id + 1}"
        self._update(
            callback_query={
                "id": query_id,
                "from": user,
                "message": message,
                "chat_instance": f"ci{chat_id}",
                "data": data,
            }
        )
        return query_id

    def add_private_message(
        self,
        chat_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        text: str = "/start",
    ) -> None:
        """Someone wrote to the bot in a private chat."""
        user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value is not None:
                user[key] = chat[key] = value
        with self._lock:
            self.chats[str(chat_id)] = chat
        self._update(
            message={
                "message_id": len(self.updates) + 1,
                "date": int(time.time()),
                "chat": chat,
                "from": user,
                "text": text,
            }
        )

    def add_group_membership(
        self,
        chat_id: int,
        title: str,
        *,
        status: str = "member",
        chat_type: str = "supergroup",
        username: str | None = None,
    ) -> None:
        """The bot was added to (status "member"/"administrator") or removed from ("left",
        "kicked") a group: a my_chat_member update."""
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type, "title": title}
        if username is not None:
            chat["username"] = username
        new: dict[str, Any] = {"user": BOT_USER, "status": status}
        if status == "kicked":
            new["until_date"] = 0
        if status == "administrator":
            new.update(dict.fromkeys(ADMIN_RIGHTS, False))
        with self._lock:
            if status in ("member", "administrator"):
                self.chats[str(chat_id)] = chat
            else:
                self.chats.pop(str(chat_id), None)
        old = {
            "user": BOT_USER,
            "status": "left" if status in ("member", "administrator") else "member",
        }
        self._update(
            my_chat_member={
                "chat": chat,
                "from": {"id": 777, "is_bot": False, "first_name": "Quản trị"},
                "date": int(time.time()),
                "old_chat_member": old,
                "new_chat_member": new,
            }
        )

    # -- the server -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        with self._lock:
            self.calls.append(method)
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        form = await request.post()
        fields = {k: str(v) for k, v in form.items()}
        if method == "getMe":
            return _ok(BOT_USER)
        if method == "deleteWebhook":
            return _ok(True)
        if method == "getUpdates":
            return await self._get_updates(fields)
        if method == "sendMessage":
            return self._send_message(fields)
        if method == "getChat":
            return self._get_chat(fields.get("chat_id", ""))
        if method == "answerCallbackQuery":
            with self._lock:
                self.answers.append(
                    CallbackAnswer(
                        fields.get("callback_query_id", ""),
                        fields.get("text", ""),
                        fields.get("show_alert", "false") == "true",
                    )
                )
            return _ok(True)
        if method == "editMessageText":
            return self._edit_message(fields)
        return _error(404, "Not Found")

    def _get_chat(self, chat_id: str) -> web.Response:
        with self._lock:
            forbidden = [r for r in self._rules.get(chat_id, []) if r.status == 403]
            chat = self.chats.get(chat_id)
        if forbidden:
            return _error(403, forbidden[0].description)
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        return _ok({**CHAT_FULL_INFO, **chat})  # ChatFullInfo: what Telegram adds to a Chat

    async def _get_updates(self, fields: dict[str, str]) -> web.Response:
        """Like Telegram: a new getUpdates ends the one still waiting, which gets 409."""
        offset = int(fields.get("offset", "0") or 0)
        wait = min(float(fields.get("timeout", "0") or 0), self.max_poll_wait)
        with self._lock:
            if offset:
                self.confirmed = max(self.confirmed, offset - 1)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            self._poll_generation += 1
            mine = self._poll_generation
        if self._arrived is not None:
            self._arrived.set()  # wake a waiting request: it sees it was superseded
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                if mine != self._poll_generation:
                    self.terminated += 1
                    return _error(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that "
                        "only one bot instance is running",
                    )
                result = [u for u in self.updates if u["update_id"] >= offset]
            left = deadline - time.monotonic()
            if result or left <= 0 or self._arrived is None:
                return _ok(result)
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    def _edit_message(self, fields: dict[str, str]) -> web.Response:
        text = fields.get("text", "")
        if fields.get("parse_mode") == "HTML":
            problem, length = check_html(text)
            if problem:
                return _error(400, f"Bad Request: can't parse entities: {problem}")
            if length > MAX_TEXT:
                return _error(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = json.loads(fields["reply_markup"]) if fields.get("reply_markup") else None
        edit = Edit(fields.get("chat_id", ""), int(fields.get("message_id", "0")), text, markup)
        with self._lock:
            self.edits.append(edit)
        chat = {"id": int(edit.chat_id), "type": "supergroup", "title": "Nhóm"}
        return _ok(
            {"message_id": edit.message_id, "date": int(time.time()), "chat": chat, "text": text}
        )

    def _send_message(self, fields: dict[str, str]) -> web.Response:
        chat_id = fields.get("chat_id", "")
        text = fields.get("text", "")
        now = time.monotonic()
        with self._lock:
            delivered = sum(1 for s in self.sent if s.chat_id == chat_id)
            for rule in self._rules.get(chat_id, []):
                if delivered < rule.after:
                    continue
                if rule.remaining is None or rule.remaining > 0:
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    self.rejected.append((chat_id, rule.status, rule.description))
                    return _error(rule.status, rule.description, rule.parameters)
            if self.enforce_limits:
                wait = self._limit_wait(chat_id, now)
                if wait > 0:
                    retry_after = max(1, math.ceil(wait))
                    description = f"Too Many Requests: retry after {retry_after}"
                    self.rejected.append((chat_id, 429, description))
                    return _error(429, description, {"retry_after": retry_after})
            if not text.strip():
                return _error(400, "Bad Request: message text is empty")
            if fields.get("parse_mode") == "HTML":
                problem, length = check_html(text)
                if problem:
                    return _error(400, f"Bad Request: can't parse entities: {problem}")
            else:
                length = len(text.encode("utf-16-le")) // 2
            if length > MAX_TEXT:
                return _error(400, "Bad Request: message is too long")
            self._record_limits(chat_id, now)
            message_id = self._next_message_id
            self._next_message_id += 1
            markup = json.loads(fields["reply_markup"]) if fields.get("reply_markup") else None
            self.sent.append(Sent(chat_id, text, fields.get("parse_mode"), now, message_id, markup))
        chat_type = "supergroup" if is_group(chat_id) else "private"
        numeric = chat_id.lstrip("-").isdigit()
        chat: dict[str, Any] = {
            "id": int(chat_id) if numeric else -1009999999999,
            "type": chat_type,
        }
        return _ok({"message_id": message_id, "date": int(time.time()), "chat": chat, "text": text})

    def _windows(self, chat_id: str) -> list[_Window]:
        _, per_chat, per_group = self._limits
        windows = [self._overall, self._chats.setdefault(chat_id, _Window(*per_chat))]
        if is_group(chat_id):
            windows.append(self._groups.setdefault(chat_id, _Window(*per_group)))
        return windows

    def _limit_wait(self, chat_id: str, now: float) -> float:
        return max(w.wait(now, self.tolerance) for w in self._windows(chat_id))

    def _record_limits(self, chat_id: str, now: float) -> None:
        for window in self._windows(chat_id):
            window.times.append(now)

    # -- reading what happened --------------------------------------------------------------

    def sent_to(self, chat_id: int | str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.chat_id == str(chat_id)]


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _plain(html_text: str) -> str:
    """The visible text of Telegram HTML (what a client gets back as `message.text`)."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))
