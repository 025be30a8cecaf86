"""The one interface every channel implements, and the one error type they raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reminder.model import Message


class ChannelError(Exception):
    """A failed send. `permanent` says whether retrying could ever help.

    Permanent: a refused recipient, a 5xx, a blocked bot, a chat that does not exist, bad
    credentials. Transient: connection errors, timeouts, 4xx, TLS errors, rate limits
    (`retry_after` seconds, when the server said so). The message never holds a secret.
    """

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a successful send reports back: a note for the log, and a new address if the
    destination moved (a Telegram group upgraded to a supergroup)."""

    note: str = ""
    new_address: str | None = None


class Channel(Protocol):
    """A transport. Dispatch opens it once per batch, sends messages, then closes it."""

    name: str

    async def open(self) -> None:
        """Prepare for a batch (connect, log in). May raise ChannelError."""

    async def send(self, message: Message) -> Receipt:
        """Deliver one message to `message.address`; raise ChannelError on failure."""
        ...

    async def close(self) -> None:
        """Release connections. Never raises."""
