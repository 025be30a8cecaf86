"""Delivery channels: one small module per transport, behind the `Channel` protocol in `base`.

A channel sends and nothing else: no database, no templates, no retries (dispatch retries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reminder.channels.base import Channel
    from reminder.config import Settings


def make_channels(settings: Settings) -> dict[str, Channel]:
    """The channel object for each enabled channel: a real transport or the outbox (each
    transport's module, and its libraries, imported only when it is configured)."""
    from reminder.channels.outbox import OutboxChannel

    channels: dict[str, Channel] = {}
    if settings.email_transport == "smtp" and settings.smtp:
        from reminder.channels.email import EmailChannel

        channels["email"] = EmailChannel(settings.smtp)
    elif settings.email_transport == "outbox":
        channels["email"] = OutboxChannel("email", settings.outbox)
    if settings.telegram_transport == "bot" and settings.telegram:
        from reminder.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(settings.telegram)
    elif settings.telegram_transport == "outbox":
        channels["telegram"] = OutboxChannel("telegram", settings.outbox)
    if settings.zalo_transport == "bot" and settings.zalo:
        from reminder.channels.zalo import ZaloChannel

        channels["zalo"] = ZaloChannel(settings.zalo)
    elif settings.zalo_transport == "outbox":
        channels["zalo"] = OutboxChannel("zalo", settings.outbox)
    return channels
