"""The outbox: writes each message to a file instead of sending it (the shipped default).

An outbox stands in for one real channel: "email" writes the `.eml` that EmailChannel would
have sent (see `build_email`), "telegram" writes the `.json` of the sendMessage call, "zalo"
the `.json` of its text and the numbered parts it would go in (each one sendMessage). File
names sort by time: `<UTC yyyymmddThhmmss>-<channel>-<address>-<8 hex>.<ext>`. Each file is
written atomically (a temp file in the same folder, fsync, rename), so a reader never sees a
half-written message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path

from reminder.channels.base import ChannelError, Receipt
from reminder.channels.email import build_email, flatten
from reminder.model import Message, OutboxSettings

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")
TEMP_PREFIX = ".tmp-"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def safe_address(channel: str, address: str) -> str:
    """The address as a file-name fragment: ASCII letters, digits and @._+- only."""
    if channel == "email":
        address = parseaddr(address)[1] or address
    return _UNSAFE.sub("_", address).strip("._")[:64] or "_"


def _digest(message: Message) -> str:
    basis = message.message_id or "\n".join(message.keys) or f"{message.address}\n{message.text}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:8]


class OutboxChannel:
    """Writes one file per message into `settings.directory` (created if missing).

    `clock` returns the current aware time (tests pass their own); it stamps the file name
    and, for email, the Date header.
    """

    def __init__(
        self, name: str, settings: OutboxSettings, *, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        if name not in ("email", "telegram", "zalo"):
            raise ValueError(f"an outbox stands in for 'email', 'telegram' or 'zalo', not {name!r}")
        self.name = name
        self._settings = settings
        self._clock = clock

    def __repr__(self) -> str:
        return f"OutboxChannel({self.name!r}, {str(self._settings.directory)!r})"

    async def open(self) -> None:
        """Create the folder, so a bad path fails before the batch starts."""
        try:
            self._settings.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error(exc, "creating the folder") from None

    async def send(self, message: Message) -> Receipt:
        """Write the message to a new file; the receipt names the file."""
        now = self._clock()
        try:
            data, ext = self._render(message, now)
        except (ValueError, TypeError) as exc:
            raise ChannelError(
                f"outbox ({self.name}) to {message.address}: cannot build the message: {exc}",
                permanent=True,
            ) from None
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{self.name}-{safe_address(self.name, message.address)}-{_digest(message)}"
        path = self._settings.directory / f"{name}.{ext}"
        try:
            self._settings.directory.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, data)
        except OSError as exc:
            raise self._error(exc, f"writing {path.name}") from None
        log.debug("outbox: wrote %s", path)
        return Receipt(note=f"written to {path}")

    async def close(self) -> None:
        """Nothing to release."""

    def _render(self, message: Message, now: datetime) -> tuple[bytes, str]:
        if self.name == "email":
            s = self._settings
            msg = build_email(message, s.email_sender, s.email_reply_to, now=now)
            return flatten(msg), "eml"
        if self.name == "zalo":
            return self._zalo(message), "json"
        payload: dict[str, object] = {
            "chat_id": message.address,
            "text": message.text,
            "parse_mode": "HTML",
            "keys": list(message.keys),
            "subject": message.subject,
        }
        if message.buttons:  # as the Bot API's reply_markup
            payload["reply_markup"] = {
                "inline_keyboard": [
                    [{"text": b.text, "callback_data": b.data} for b in row]
                    for row in message.buttons
                ]
            }
        return (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8"), "json"

    @staticmethod
    def _zalo(message: Message) -> bytes:
        """The sendMessage calls ZaloChannel would make: the text cut into numbered parts."""
        from reminder.channels.plaintext import split_plain
        from reminder.channels.zalo_api import TEXT_LIMIT

        payload = {
            "chat_id": message.address,
            "text": message.text,
            "parts": split_plain(message.text, TEXT_LIMIT),
            "keys": list(message.keys),
            "subject": message.subject,
        }
        return (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

    def _error(self, exc: OSError, doing: str) -> ChannelError:
        where = self._settings.directory
        text = f"outbox ({self.name}) {where}: {doing}: {exc.strerror or exc}"
        # Transient, permissions included: ops can fix the folder, and a permanent error
        # would give the reminders up for good.
        return ChannelError(text, permanent=False)


def _write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, os.replace, fsync the folder."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # what open() would give; mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (best effort)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _umask() -> int:
    """The process umask, read without changing it (os.umask is process-wide and racy)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o077  # unknown: keep mkstemp's private 0600
