"""What the chat transports (Telegram, Zalo) hand to the shared chat module
(reminder.answers), and what it answers: the types only, no transport and no ledger.

A transport decodes its updates into a `Sender` and the message text (or, for Telegram, a
`Press` of an inline button, and /commands), calls the `UpdateHandler`, and sends back what
it answers. Everything else — link codes, reading "xong 3", who may answer for which task,
what is recorded and how it is acknowledged — is the handler's, the same for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reminder.recipients import ZALO_PREFIX

CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo"}


@dataclass(frozen=True, slots=True)
class Sender:
    """Where an incoming update came from: the chat and the person."""

    chat_id: str
    chat_type: (
        str  # Telegram: "private" | "group" | "supergroup" | "channel"; Zalo: "PRIVATE" | "GROUP"
    )
    chat_title: str
    user_id: int | str
    user_name: str  # the person's name as the messenger shows it
    channel: str = "telegram"  # "telegram" | "zalo"

    @property
    def key(self) -> str:
        """The chat as linked chats store it: Telegram ids as they are, "zalo:<id>"."""
        return f"{ZALO_PREFIX}{self.chat_id}" if self.channel == "zalo" else self.chat_id

    @property
    def private(self) -> bool:
        return self.chat_type.lower() == "private"

    @property
    def who(self) -> str:
        """How a record names the person: "Nguyễn Văn A (Zalo 123)"."""
        return f"{self.user_name} ({CHANNEL_NAMES.get(self.channel, self.channel)} {self.user_id})"


@dataclass(frozen=True, slots=True)
class Press:
    """A pressed inline button (Telegram): who, on which message, and its (untrusted) data."""

    sender: Sender
    data: str
    message_html: str  # the message the button is under, as Telegram HTML


@dataclass(frozen=True, slots=True)
class PressAnswer:
    """How to answer a press: the short callback answer (an alert when refused), and the
    line to add to the message (None: leave the message as it is)."""

    text: str
    alert: bool = False
    append_html: str | None = None


class UpdateHandler(Protocol):
    """What a chat transport calls for each decoded update (reminder.answers.Answers)."""

    async def on_press(self, press: Press) -> PressAnswer: ...

    async def on_command(self, sender: Sender, command: str, argument: str) -> str | None:
        """A /command in a Telegram chat; the HTML reply, or None for no reply."""
        ...

    async def on_text(self, sender: Sender, text: str) -> str | None:
        """A text message ("xong 3", a link code, "tt"); the plain-text reply, or None."""
        ...

    async def on_chat(self, sender: Sender, member: bool) -> None:
        """A chat was seen (a message, or the bot added to / removed from a group)."""
        ...
