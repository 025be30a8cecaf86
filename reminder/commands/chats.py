"""Chats: `telegram-chats` (list, --linked, --revoke), `telegram-link` and `zalo-link`."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reminder.commands.common import (
    agency_of,
    ledger_of,
    run_async,
    settings_of,
)
from reminder.config import Settings
from reminder.exitcodes import (
    EX_CONFIG,
    EX_DATAERR,
    EX_OK,
    EX_TEMPFAIL,
    EX_UNAVAILABLE,
    UsageError,
)
from reminder.model import VN_TZ

if TYPE_CHECKING:
    pass


def telegram_chats(args: argparse.Namespace) -> int:
    """List the chats the bot can write to (for chat ids); --linked: the chats linked to an
    agency; --revoke CHAT: unlink one.

    While the daemon polls (`poll = true`) only it may call getUpdates (a second reader would
    take its updates or get 409 Conflict), so the chats it recorded are listed instead."""
    settings = settings_of(args)
    if args.linked or args.revoke:
        return _linked_chats(settings, args.revoke)
    if settings.telegram is None:
        raise UsageError(
            f'set [channels.telegram] transport = "bot" and its token in {settings.source} first',
            EX_CONFIG,
        )
    if settings.telegram.poll:
        return _seen_chats(settings)
    from reminder.channels.base import ChannelError
    from reminder.channels.telegram import list_chats

    try:
        chats = run_async(list_chats(settings.telegram))
    except ChannelError as exc:
        raise UsageError(
            f"cannot list chats: {exc}", EX_UNAVAILABLE if exc.permanent else EX_TEMPFAIL
        ) from None
    if not chats:
        print("no chats yet: write to the bot, or add it to the group, then run this again")
    for chat in chats:
        name = chat.title or (f"@{chat.username}" if chat.username else "")
        print(f"{chat.id}\t{chat.type}\t{name}")
    return EX_OK


def _seen_chats(settings: Settings) -> int:
    ledger = ledger_of(settings)
    try:
        chats = ledger.replies.seen_chats()
    finally:
        ledger.close()
    if not chats:
        print("no chats recorded yet by the daemon: write to the bot, or add it to the group")
    tz = settings.catalog.calendar.timezone
    for chat in chats:
        left = "" if chat.member else "\t(bot removed)"
        seen = chat.last_seen.astimezone(tz).strftime("%d/%m/%Y %H:%M")
        print(f"{chat.chat_id}\t{chat.kind}\t{chat.title}\tlast seen {seen}{left}")
    return EX_OK


def _linked_chats(settings: Settings, revoke: str | None) -> int:
    ledger = ledger_of(settings)
    try:
        if revoke:
            if not ledger.replies.revoke(revoke.strip(), datetime.now(VN_TZ)):
                raise UsageError(f"chat {revoke} is not linked to an agency", EX_DATAERR)
            print(f"chat {revoke} unlinked: it no longer receives reminders or counts for presses")
            return EX_OK
        linked = ledger.replies.linked()
    finally:
        ledger.close()
    if not linked:
        print("no linked chats (reminder telegram-link AGENCY makes a link)")
    tz = settings.catalog.calendar.timezone
    for c in linked:
        name = (
            settings.catalog.agencies[c.agency].name
            if c.agency in settings.catalog.agencies
            else "?"
        )
        when = c.linked_at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
        print(f"{c.chat_id}\t{c.agency}\t{name}\t{c.title}\tlinked {when} by {c.linked_by}")
    return EX_OK


def telegram_link(args: argparse.Namespace) -> int:
    """Print a one-time link that ties the chat where it is used to an agency."""
    from reminder.channels.base import ChannelError
    from reminder.channels.telegram import bot_username

    settings = settings_of(args)
    agency_of(settings, args.agency)
    tg = settings.telegram
    if tg is None or not tg.poll:
        raise UsageError(
            f'linking needs [channels.telegram] transport = "bot" and [channels.telegram.bot] '
            f"poll = true in {settings.source} (the daemon receives the code)",
            EX_CONFIG,
        )
    try:
        username = run_async(bot_username(tg))
    except ChannelError as exc:
        raise UsageError(f"cannot ask Telegram for the bot's name: {exc}", EX_TEMPFAIL) from None
    code, expires = _new_link_code(settings, args.agency, tg.code_minutes)
    agency = settings.catalog.agencies[args.agency].name
    print(f"one-time link for {agency}, valid until {expires.strftime('%d/%m/%Y %H:%M')}:")
    print(f"  private chat or group: https://t.me/{username}?start={code}")
    print(f"  or type in the group:  /start@{username} {code}")
    return EX_OK


def zalo_link(args: argparse.Namespace) -> int:
    """Print a one-time code that ties the Zalo chat it is sent from to an agency."""
    settings = settings_of(args)
    agency_of(settings, args.agency)
    z = settings.zalo
    if z is None or not z.poll:
        raise UsageError(
            f'linking needs [channels.zalo] transport = "bot" and [channels.zalo.bot] '
            f"poll = true in {settings.source} (the daemon receives the code)",
            EX_CONFIG,
        )
    code, expires = _new_link_code(settings, args.agency, z.code_minutes)
    agency = settings.catalog.agencies[args.agency].name
    print(f"one-time code for {agency}, valid until {expires.strftime('%d/%m/%Y %H:%M')}:")
    print(f"  {code}")
    print("  send it to the bot on Zalo as a message of its own (private chat, or the group")
    print("  after adding the bot); the bot answers that the chat is linked")
    return EX_OK


def _new_link_code(settings: Settings, agency: str, minutes: int) -> tuple[str, datetime]:
    """A one-time link code for `agency`, kept in the ledger until it expires (Telegram and
    Zalo alike: the daemon's chat module takes it from either): the code and its expiry."""
    import secrets

    code = secrets.token_urlsafe(18)
    now = datetime.now(VN_TZ)
    expires = now + timedelta(minutes=minutes)
    ledger = ledger_of(settings)
    try:
        ledger.replies.add_code(code, agency, now, expires)
    finally:
        ledger.close()
    return code, expires
