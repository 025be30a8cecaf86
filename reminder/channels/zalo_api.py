"""A small typed client for the Zalo Bot Platform's HTTP Bot API, on aiohttp.

Why not an SDK from the package index (checked December 2026): python-zalo-bot 0.1.9 is a
re-labelled copy of python-telegram-bot's request layer (placeholder project URLs, no
`py.typed`, no tests shipped, Telegram's HTTP-status mapping taken over as it was, a pin on
httpx < 0.29); pyzalo 0.1.0 is 104 untyped lines on the blocking `requests`; zalobot-python
could not be found on the index. None is maintained, typed and tested well enough to carry an
office's reminders, and the API is a handful of JSON calls: this module is that client, with
the API's shapes as frozen dataclasses, and nothing else.

Calls are `POST <base_url><token>/<method>` with a JSON body; the answer is
`{"ok": true, "result": …}` or `{"ok": false, "error_code": n, "description": "…"}`.
The token is part of every URL: it never appears in an exception's text or a log line here.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com/bot"
TEXT_LIMIT = 2000  # characters of one sendMessage
# Connections one client keeps open at most. Enough that a message leaves when the pacing
# lets it (a request queued for a connection would reach the server later than the window
# counted it, and a burst would collide with the server's window: 429s).
CONNECTIONS = 128


class ZaloUnreachable(Exception):
    """No answer: connection refused, reset, DNS, TLS, a timeout, or not JSON (a proxy's page)."""


class ZaloApiError(Exception):
    """The server answered ok = false (or an HTTP error). `code` is its error_code (else the
    HTTP status), `description` its text; `retry_after` when it said how long to wait."""

    def __init__(
        self, code: int, description: str, status: int, retry_after: float | None = None
    ) -> None:
        super().__init__(f"error {code}: {description}")
        self.code = code
        self.description = description
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class BotInfo:
    """getMe: the bot's id and account name, and whether it may join groups."""

    id: str
    name: str
    can_join_groups: bool


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A message a person sent the bot (private chat or group)."""

    message_id: str
    chat_id: str
    chat_type: str  # "PRIVATE" | "GROUP"
    user_id: str
    user_name: str
    text: str  # "" for stickers, images and the like
    date: int  # the server's timestamp (milliseconds or seconds, as sent)


@dataclass(frozen=True, slots=True)
class Update:
    """One update: its event name ("message.text.received", …) and its message."""

    event_name: str
    message: IncomingMessage | None


def parse_update(data: object) -> Update | None:
    """An update from its JSON (getUpdates or a webhook POST); None when it has no shape."""
    if not isinstance(data, Mapping):
        return None
    event = str(data.get("event_name") or "")
    raw = data.get("message")
    message = None
    if isinstance(raw, Mapping):
        chat = raw.get("chat") if isinstance(raw.get("chat"), Mapping) else {}
        sender = raw.get("from") if isinstance(raw.get("from"), Mapping) else {}
        assert isinstance(chat, Mapping) and isinstance(sender, Mapping)
        chat_id = str(chat.get("id") or "")
        if chat_id:
            text = raw.get("text")
            message = IncomingMessage(
                message_id=str(raw.get("message_id") or ""),
                chat_id=chat_id,
                chat_type=str(chat.get("chat_type") or "PRIVATE").upper(),
                user_id=str(sender.get("id") or ""),
                user_name=str(sender.get("display_name") or sender.get("name") or ""),
                text=text if isinstance(text, str) else "",
                date=int(raw.get("date") or 0) if str(raw.get("date") or "0").isdigit() else 0,
            )
    if not event and message is None:
        return None
    return Update(event or "message.unsupported.received", message)


def _updates(result: object) -> list[Update]:
    """getUpdates answers one update, a list of them, or nothing."""
    items = result if isinstance(result, list) else [result] if result else []
    return [u for u in (parse_update(item) for item in items) if u is not None]


class ZaloBotClient:
    """The Bot API calls the channel and the poller use. One aiohttp session, made on first
    use and closed by `close()`; `timeout` bounds every call but a long poll, which gets its
    own `timeout` plus this much."""

    def __init__(self, token: str, base_url: str | None = None, timeout: float = 30.0) -> None:
        self._token = token
        self._base = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"ZaloBotClient(base_url={self._base!r})"

    async def close(self) -> None:
        """Release the connections. Never raises."""
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()

    def _url(self, method: str) -> str:
        return f"{self._base}{self._token}/{method}"

    async def call(
        self, method: str, payload: Mapping[str, object] | None = None, *, wait: float = 0.0
    ) -> Any:
        """POST one method; its `result`. ZaloApiError / ZaloUnreachable otherwise (their
        text holds the method, the error code and description, never the URL)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTIONS), raise_for_status=False
            )
        timeout = aiohttp.ClientTimeout(total=self._timeout + wait, connect=self._timeout)
        try:
            async with self._session.post(
                self._url(method), json=dict(payload or {}), timeout=timeout
            ) as response:
                status = response.status
                body = await response.read()
        except TimeoutError:
            raise ZaloUnreachable(
                f"{method}: no answer within {self._timeout + wait:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise ZaloUnreachable(
                f"{method}: {type(exc).__name__}: {_safe(exc, self._token)}"
            ) from None
        return _result(method, status, body)

    async def get_me(self) -> BotInfo:
        data = await self.call("getMe")
        data = data if isinstance(data, Mapping) else {}
        return BotInfo(
            id=str(data.get("id") or ""),
            name=str(
                data.get("account_name") or data.get("display_name") or data.get("name") or ""
            ),
            can_join_groups=bool(data.get("can_join_groups", False)),
        )

    async def send_message(self, chat_id: str, text: str) -> str:
        """Send one text (at most TEXT_LIMIT characters); the message id."""
        if not 1 <= len(text) <= TEXT_LIMIT:
            raise ValueError(f"a Zalo text holds 1 to {TEXT_LIMIT} characters, not {len(text)}")
        data = await self.call("sendMessage", {"chat_id": chat_id, "text": text})
        return str(data.get("message_id") or "") if isinstance(data, Mapping) else ""

    async def get_updates(self, timeout: int) -> list[Update]:
        """Long poll: the updates waiting, or [] after `timeout` seconds without any."""
        return _updates(await self.call("getUpdates", {"timeout": timeout}, wait=timeout))

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")


def _safe(exc: BaseException, token: str) -> str:
    """An exception's text without the token (aiohttp puts the URL in some of them)."""
    text = str(exc)
    if token:
        text = text.replace(token, "***")
        secret = token.partition(":")[2]
        if len(secret) >= 8:
            text = text.replace(secret, "***")
    return text


def _result(method: str, status: int, body: bytes) -> Any:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        if status >= 400:
            raise ZaloApiError(status, f"HTTP {status} without a JSON answer", status) from None
        raise ZaloUnreachable(f"{method}: the answer is not JSON (HTTP {status})") from None
    if not isinstance(data, Mapping):
        raise ZaloUnreachable(f"{method}: unexpected answer (HTTP {status})")
    if data.get("ok") is True and status < 400:
        return data.get("result")
    code = data.get("error_code")
    code = code if isinstance(code, int) else status
    description = str(data.get("description") or data.get("message") or f"HTTP {status}")
    params = data.get("parameters")
    retry = params.get("retry_after") if isinstance(params, Mapping) else None
    retry_after = float(retry) if isinstance(retry, int | float) else None
    raise ZaloApiError(code, description[:300], status, retry_after)
