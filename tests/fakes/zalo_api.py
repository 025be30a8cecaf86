"""A fake Zalo Bot API (aiohttp) on 127.0.0.1, shaped as libguide §10 describes the real one.

Serves POST /bot{token}/{method} with a JSON body: getMe, sendMessage, getUpdates,
setWebhook, deleteWebhook, getWebhookInfo. Answers are `{"ok": true, "result": …}` or
`{"ok": false, "error_code": n, "description": "…"}` with the same HTTP status.

- A wrong token gets 401 "Unauthorized: invalid token" on every method.
- sendMessage needs a known chat (`add_chat`, or any chat that wrote to the bot), else 400
  "Chat not found"; a text of 1 to 2,000 characters, else 400; delivered texts are kept in
  `sent` with a monotonic timestamp. `remove_bot(chat)` makes it 403 "Bot was removed from
  the group"; `fail(chat, status, description, times)` programs any other answer.
- `rate` (messages a second, all chats) answers 429 with parameters.retry_after when a client
  goes over it (counted in `refused`); `outage(True)` answers every call 503 (`html=True`: a
  proxy's HTML error page instead of JSON) until `outage(False)`.
- getUpdates is a long poll: it returns the oldest queued update (one per call, as the
  Zalo SDKs expect) or, after `timeout` seconds (capped by `max_poll_wait`), answers 408
  "Request timeout" like the real server does on an empty poll. While a webhook is set,
  getUpdates answers 409.
- `add_message(chat, text, …)` queues a text message from a person (private chat or group).

Run it in the test's own loop (`async with FakeZaloAPI() as api`) or in a thread of its own
(`base_url, stop = api.start_in_thread()`), e.g. for a daemon started as a subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "1234567890123456789:ZaloFakeTokenForTests-do-not-use-0123"
BOT = {"id": "7788990011", "account_name": "nhachan.bot", "account_type": "BASIC",
       "can_join_groups": True}  # fmt: skip
MAX_TEXT = 2000


@dataclass(frozen=True)
class Sent:
    """A message the fake delivered."""

    chat_id: str
    text: str
    at: float  # time.monotonic() when it arrived
    message_id: str


@dataclass
class _Rule:
    status: int
    description: str
    remaining: int | None  # None: for ever


@dataclass
class FakeZaloAPI:
    token: str = TOKEN
    rate: float | None = None  # messages a second, all chats together (None: no limit)
    max_poll_wait: float = 30.0
    sent: list[Sent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # method names, in order
    refused: int = 0  # 429s answered
    polls: int = 0
    webhook: dict[str, str] | None = None
    _chats: dict[str, str] = field(default_factory=dict)  # chat id → "PRIVATE" | "GROUP"
    _rules: dict[str, _Rule] = field(default_factory=dict)
    _removed: set[str] = field(default_factory=set)
    _updates: deque[dict[str, Any]] = field(default_factory=deque)
    _outage: str | None = None  # None | "json" | "html"
    _times: deque[float] = field(default_factory=deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    base_url: str = ""

    # -- programming it ---------------------------------------------------------------------

    def add_chat(self, chat_id: str, chat_type: str = "PRIVATE") -> None:
        self._chats[chat_id] = chat_type

    def remove_bot(self, chat_id: str) -> None:
        self._removed.add(chat_id)

    def fail(self, chat_id: str, status: int, description: str, times: int | None = None) -> None:
        """Answer sendMessage to `chat_id` with this error (`times` times, None: always)."""
        self._rules[chat_id] = _Rule(status, description, times)

    def outage(self, on: bool, *, html: bool = False) -> None:
        self._outage = ("html" if html else "json") if on else None

    def add_message(
        self,
        chat_id: str,
        text: str,
        *,
        chat_type: str = "PRIVATE",
        user_id: str = "u-1",
        name: str = "Nguyễn Văn A",
        event: str = "message.text.received",
    ) -> None:
        """Queue an update: a person wrote `text` to the bot in `chat_id`."""
        self._chats.setdefault(chat_id, chat_type)
        message: dict[str, Any] = {
            "message_id": f"m{next(self._ids)}",
            "from": {"id": user_id, "display_name": name, "is_bot": False},
            "chat": {"id": chat_id, "chat_type": chat_type},
            "date": int(time.time() * 1000),
        }
        if event == "message.text.received":
            message["text"] = text
        update = {"event_name": event, "message": message}
        loop = self._loop
        if loop is None:
            self._updates.append(update)
            return
        try:
            same_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self._queue(update)
        else:  # served from another thread (start_in_thread)
            loop.call_soon_threadsafe(self._queue, update)

    def _queue(self, update: dict[str, Any]) -> None:
        self._updates.append(update)
        if self._arrived is not None:
            self._arrived.set()

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [s.text for s in self.sent if chat_id is None or s.chat_id == chat_id]

    # -- serving ----------------------------------------------------------------------------

    async def __aenter__(self) -> FakeZaloAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, port: int = 0) -> None:
        self._arrived = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        real_port = sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{real_port}/bot"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> tuple[str, Callable[[], None]]:
        """Serve from a thread with its own loop; (base_url, stop)."""
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        ready.wait(10)

        def stop() -> None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)

        return self.base_url, stop

    # -- the API ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append(method)
        if self._outage == "html":
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>")
        if self._outage == "json":
            return _error(503, "Service Unavailable")
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized: invalid token")
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            return _error(400, "Bad Request: body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "Bad Request: body is not an object")
        handler = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._webhook_info,
        }.get(method)
        if handler is None:
            return _error(404, f"Not Found: method {method}")
        return await handler(body)

    async def _get_me(self, _body: dict[str, Any]) -> web.Response:
        return _ok(BOT)

    async def _send_message(self, body: dict[str, Any]) -> web.Response:
        chat_id, text = body.get("chat_id"), body.get("text")
        if not isinstance(chat_id, str) or not isinstance(text, str):
            return _error(400, "Bad Request: chat_id and text are required strings")
        if not 1 <= len(text) <= MAX_TEXT:
            return _error(400, f"Bad Request: text must be 1 to {MAX_TEXT} characters")
        if self.rate is not None:
            now = time.monotonic()
            # A little tolerance for the client's and our clocks' jitter.
            horizon = 1.0 - 0.005
            while self._times and now - self._times[0] >= horizon:
                self._times.popleft()
            if len(self._times) >= self.rate:
                self.refused += 1
                wait = max(self._times[0] + horizon - now, 0.01)
                return _error(429, "Too Many Requests", retry_after=round(wait, 3))
            self._times.append(now)
        rule = self._rules.get(chat_id)
        if rule is not None and rule.remaining != 0:
            if rule.remaining is not None:
                rule.remaining -= 1
            return _error(rule.status, rule.description)
        if chat_id in self._removed:
            return _error(403, "Forbidden: bot was removed from the group")
        if chat_id not in self._chats:
            return _error(400, "Bad Request: chat not found")
        message_id = f"s{next(self._ids)}"
        self.sent.append(Sent(chat_id, text, time.monotonic(), message_id))
        return _ok({"message_id": message_id, "date": int(time.time() * 1000)})

    async def _get_updates(self, body: dict[str, Any]) -> web.Response:
        if self.webhook is not None:
            return _error(409, "Conflict: a webhook is set")
        self.polls += 1
        timeout = body.get("timeout", 0)
        wait = min(float(timeout) if isinstance(timeout, int | float) else 0.0, self.max_poll_wait)
        if not self._updates and wait > 0:
            assert self._arrived is not None
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), wait)
        if not self._updates:
            return _error(408, "Request timeout")
        return _ok(self._updates.popleft())

    async def _set_webhook(self, body: dict[str, Any]) -> web.Response:
        url, secret = body.get("url"), body.get("secret_token")
        if not isinstance(url, str) or not url.startswith("https://"):
            return _error(400, "Bad Request: url must be https")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            return _error(400, "Bad Request: secret_token must be 8 to 256 characters")
        self.webhook = {"url": url, "secret_token": secret}
        return _ok({"url": url, "updated_at": int(time.time() * 1000)})

    async def _delete_webhook(self, _body: dict[str, Any]) -> web.Response:
        self.webhook = None
        return _ok({"url": "", "updated_at": int(time.time() * 1000)})

    async def _webhook_info(self, _body: dict[str, Any]) -> web.Response:
        return _ok({"url": (self.webhook or {}).get("url", "")})


def _ok(result: object) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, *, retry_after: float | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)
