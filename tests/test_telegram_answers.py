"""Telegram answer-back against the fake Bot API on 127.0.0.1: buttons on reminders, presses
received by long polling (answerCallbackQuery, editMessageText), one-time chat links,
/trangthai, and `reminder telegram-chats` reading what the poller recorded."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fakes.telegram_api import TOKEN, FakeTelegramAPI
from helpers import write_config
from webtools import WEB_SECRET

from reminder import cli
from reminder.answers import Answers
from reminder.channels.telegram_poll import TelegramPoller
from reminder.config import Settings, load
from reminder.dispatch import Dispatcher
from reminder.ledger import Ledger
from reminder.links import Links
from reminder.model import VN_TZ

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)
NOI_VU = "-1001000000001"  # Sở Nội vụ's group in the shipped config (leads nv01, nv02)
KHCN = "-1001000000002"  # Sở Khoa học và Công nghệ (supports nv01)
NEW_GROUP = -1009000000077


@dataclass
class Bot:
    api: FakeTelegramAPI
    settings: Settings
    ledger: Ledger
    clock: list[datetime]


def poll_config(folder: Path, base_url: str) -> Path:
    path = write_config(folder, telegram_url=base_url, email="off")
    text = path.read_text(encoding="utf-8").replace(
        f'base_url = "{base_url}"', f'base_url = "{base_url}"\npoll = true', 1
    )
    path.write_text(text + "\n[web]\n", encoding="utf-8")
    return path


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bot]:
    """The shipped config sending to the fake Bot API, with the poller running."""
    monkeypatch.setenv("REMINDER_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    async with FakeTelegramAPI() as api:
        settings = load(poll_config(tmp_path, api.base_url))
        ledger = Ledger(settings.database_url)
        ledger.migrate()
        clock = [NOW]
        assert settings.telegram is not None
        poller = TelegramPoller(
            settings.telegram, Answers(lambda: settings, ledger, lambda: clock[0])
        )
        await poller.start()
        try:
            yield Bot(api, settings, ledger, clock)
        finally:
            await poller.stop()
            ledger.close()


async def until(check: Callable[[], object], timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def send_reminders(b: Bot) -> None:
    await Dispatcher(b.settings, b.ledger).cycle(NOW)


def buttons(b: Bot, chat: str) -> list[tuple[str, str]]:
    """(label, data) of every inline button under the last message to `chat`."""
    markup = b.api.sent_to(chat)[-1].reply_markup or {}
    return [
        (k["text"], k["callback_data"]) for row in markup.get("inline_keyboard", []) for k in row
    ]


async def press(b: Bot, chat: str | int, data: str, **kw: object) -> None:
    before = len(b.api.answers)
    b.api.add_callback_query(chat, data, **kw)  # type: ignore[arg-type]
    await until(lambda: len(b.api.answers) > before)


async def test_lead_reminder_carries_buttons(bot: Bot) -> None:
    """A Telegram reminder to a lead agency has a done and a received button per lead item;
    a supporting agency's has none."""
    await send_reminders(bot)
    labels = [label for label, _ in buttons(bot, NOI_VU)]
    assert labels[:2] == ["✅ Đã hoàn thành (NV 1)", "📨 Đã nhận (NV 1)"]
    assert len(labels) == 4  # nv01 and nv02 are Sở Nội vụ's; nv04/06/11 it only supports
    assert all(len(data.encode()) <= 64 for _, data in buttons(bot, NOI_VU))
    khcn = [label for label, _ in buttons(bot, KHCN)]
    assert khcn == ["✅ Đã hoàn thành (NV 6)", "📨 Đã nhận (NV 6)"]


async def test_done_press_records_answers_and_edits(bot: Bot) -> None:
    """'Đã hoàn thành' records done_on = today by the pressing person, answers the callback
    and edits the message to say so, removing that item's row of buttons."""
    await send_reminders(bot)
    data = buttons(bot, NOI_VU)[0][1]
    await press(bot, NOI_VU, data)
    done = bot.ledger.completions.current("nv01")
    record = done[("nv01", "2026", "bao-cao")]
    assert record.done_on == date(2026, 12, 1)
    assert "Lan Nguyễn" in record.by and "555" in record.by
    answer = bot.api.answers[-1]
    assert not answer.show_alert and "Đã ghi nhận hoàn thành nhiệm vụ số 1" in answer.text
    await until(lambda: bot.api.edits)
    edit = bot.api.edits[-1]
    assert "Đã ghi nhận hoàn thành" in edit.text and "01/12/2026" in edit.text
    assert "Lan Nguyễn" in edit.text and "NHẮC HẠN" in edit.text
    left = [k["callback_data"] for row in edit.reply_markup["inline_keyboard"] for k in row]  # type: ignore[index]
    assert data not in left and len(left) == 2


async def test_second_press_changes_nothing(bot: Bot) -> None:
    """A second press, or a press after ops recorded the same work, records nothing, does
    not edit, and says it was already recorded: when, and by whom."""
    await send_reminders(bot)
    nv01, nv02 = buttons(bot, NOI_VU)[0][1], buttons(bot, NOI_VU)[2][1]
    await press(bot, NOI_VU, nv01)
    events = bot.ledger.completions.events()
    bot.ledger.completions.record_done(
        "nv02", "2026", "bao-cao", date(2026, 11, 30), by="ops:chi " + "Văn phòng " * 20, now=NOW
    )  # a long name: the answer (at most 200 characters) still says when, before who
    await until(lambda: len(bot.api.edits) == 1)
    await press(bot, NOI_VU, nv01)
    await press(bot, NOI_VU, nv02)
    await asyncio.sleep(0.3)
    assert len(bot.ledger.completions.events()) == len(events) + 1  # only ops' record
    assert len(bot.api.edits) == 1
    assert "đã ghi nhận trước đó" in bot.api.answers[-2].text
    assert "hoàn thành ngày 01/12/2026, do Lan Nguyễn" in bot.api.answers[-2].text
    assert bot.api.answers[-2].text.startswith("Hệ thống đã ghi nhận trước đó, lúc 08:00 ngày")
    assert "30/11/2026" in bot.api.answers[-1].text and "ops:chi" in bot.api.answers[-1].text
    assert "lúc 08:00 ngày 01/12/2026" in bot.api.answers[-1].text


async def test_press_from_other_chat_refused(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    """A press from a chat not linked to the task's lead agency gets an alert, records
    nothing, and is logged once at WARNING without the button data."""
    caplog.set_level(logging.WARNING, logger="reminder.answers")
    await send_reminders(bot)
    data = buttons(bot, NOI_VU)[0][1]
    await press(bot, KHCN, data)
    assert bot.ledger.completions.current() == {}
    assert bot.api.answers[-1].show_alert
    assert "chưa được liên kết với cơ quan chủ trì nhiệm vụ số 1" in bot.api.answers[-1].text
    refusals = [r for r in caplog.records if r.name == "reminder.answers"]
    assert len(refusals) == 1 and data not in caplog.text


@pytest.mark.parametrize(
    "forge",
    [
        lambda data: data.replace("/1|", "/2|"),  # another task, same signature
        lambda data: data[:-1] + ("A" if data[-1] != "A" else "B"),
        lambda data: "d|1|2026|bao-cao",  # unsigned
        lambda data: Links("khoa-khac-0123456789abcdef").button("done", "1", "2026", "bao-cao"),
    ],
)
async def test_forged_data_refused(bot: Bot, forge: Callable[[str], str]) -> None:
    """Altered, unsigned or foreign-signed data is refused with an alert; nothing recorded."""
    await send_reminders(bot)
    await press(bot, NOI_VU, forge(buttons(bot, NOI_VU)[0][1]))
    assert bot.ledger.completions.current() == {}
    assert bot.api.answers[-1].show_alert and "không hợp lệ" in bot.api.answers[-1].text
    assert bot.api.edits == []


async def test_received_press_recorded_once(bot: Bot) -> None:
    """'Đã nhận' records an acknowledgement once and edits the message; a repeat says so."""
    await send_reminders(bot)
    ack = buttons(bot, NOI_VU)[1][1]
    await press(bot, NOI_VU, ack)
    await press(bot, NOI_VU, ack)
    acks = bot.ledger.replies.acknowledgements("nv01")
    assert [(a.occurrence, a.milestone_id) for a in acks] == [("2026", "bao-cao")]
    assert bot.ledger.completions.current() == {}
    assert "đã được ghi nhận trước đó" in bot.api.answers[-1].text
    await until(lambda: bot.api.edits)
    assert len(bot.api.edits) == 1 and "Đã nhận thông báo" in bot.api.edits[0].text


async def _start(b: Bot, chat: int, text: str, title: str = "Phòng Tổ chức") -> str:
    before = len(b.api.sent_to(chat))
    b.api.add_group_message(chat, title, text)
    await until(lambda: len(b.api.sent_to(chat)) > before)
    return b.api.sent_to(chat)[-1].text


async def test_link_code_links_chat_once(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    """A one-time code used with /start links the group to the agency; the same code used
    again, or an expired or unknown one, is refused and links nothing."""
    caplog.set_level(logging.WARNING, logger="reminder.answers")
    replies = bot.ledger.replies
    replies.add_code("ma-mot-lan-1", "so-giao-duc", NOW, NOW + timedelta(hours=1))
    replies.add_code(
        "ma-het-han-2", "so-giao-duc", NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    )
    reply = await _start(bot, NEW_GROUP, "/start@nhachan_bot ma-mot-lan-1")
    assert "Đã liên kết nhóm “Phòng Tổ chức” với <b>Sở Giáo dục và Đào tạo</b>" in reply
    assert replies.linked_chats() == {str(NEW_GROUP): "so-giao-duc"}
    again = await _start(bot, NEW_GROUP - 1, "/start ma-mot-lan-1", "Nhóm khác")
    expired = await _start(bot, NEW_GROUP - 2, "/start ma-het-han-2", "Nhóm khác")
    unknown = await _start(bot, NEW_GROUP - 3, "/start doan-bua", "Nhóm khác")
    assert "đã được sử dụng" in again and "đã hết hạn" in expired and "không đúng" in unknown
    assert replies.linked_chats() == {str(NEW_GROUP): "so-giao-duc"}
    assert "ma-mot-lan-1" not in caplog.text and "doan-bua" not in caplog.text
    assert len([r for r in caplog.records if r.name == "reminder.answers"]) == 3


async def test_linked_chat_gets_reminders_presses_and_status(bot: Bot) -> None:
    """A linked chat receives its agency's reminders with buttons, its presses count, and
    /trangthai lists the agency's open items."""
    bot.ledger.replies.add_code("ma-gd", "so-giao-duc", NOW, NOW + timedelta(hours=1))
    await _start(bot, NEW_GROUP, "/start ma-gd")
    await send_reminders(bot)
    data = buttons(bot, str(NEW_GROUP))
    assert [label for label, _ in data] == ["✅ Đã hoàn thành (NV 4)", "📨 Đã nhận (NV 4)"]
    await press(bot, NEW_GROUP, data[0][1])
    assert ("nv04", "2026", "bao-cao") in bot.ledger.completions.current()
    status = await _start(bot, NEW_GROUP, "/trangthai")
    assert "Tình hình thực hiện của Sở Giáo dục và Đào tạo" in status
    unlinked = await _start(bot, NEW_GROUP - 5, "/trangthai", "Nhóm lạ")
    assert "chưa được liên kết" in unlinked


async def test_telegram_chats_reads_what_the_daemon_recorded(
    bot: Bot, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the poller running, `reminder telegram-chats` lists the chats it recorded and
    never calls getUpdates itself (which would answer 409 Conflict or steal updates);
    --linked and --revoke manage linked chats."""
    bot.ledger.replies.add_code("ma-x", "so-khcn", NOW, NOW + timedelta(hours=1))
    await _start(bot, NEW_GROUP, "/start ma-x", "Phòng KHCN")
    config = str(bot.settings.source)
    code = await asyncio.to_thread(cli.main, ["--config", config, "telegram-chats"])
    out = capsys.readouterr().out
    assert code == 0 and f"{NEW_GROUP}\tsupergroup\tPhòng KHCN\tlast seen" in out
    assert bot.api.terminated == 0  # the daemon's long poll was never cut off by the command
    code = await asyncio.to_thread(cli.main, ["--config", config, "telegram-chats", "--linked"])
    assert code == 0 and f"{NEW_GROUP}\tso-khcn" in capsys.readouterr().out
    code = await asyncio.to_thread(
        cli.main, ["--config", config, "telegram-chats", "--revoke", str(NEW_GROUP)]
    )
    assert code == 0 and bot.ledger.replies.linked_chats() == {}


def test_button_data_names_no_other_task() -> None:
    """The data under a button reads back as its own task, occurrence and milestone."""
    links = Links(WEB_SECRET)
    data = links.button("done", "1", "2026", "bao-cao")
    assert re.fullmatch(r"d\|1\|2026\|bao-cao\.[A-Za-z0-9_-]{27}", data)


async def test_poller_start_failure_is_a_channel_error(tmp_path: Path) -> None:
    """A Bot API that refuses the token makes start() raise a ChannelError without the token;
    the poller can be stopped afterwards without error."""
    from reminder.channels.base import ChannelError
    from reminder.model import TelegramSettings

    async with FakeTelegramAPI(token="999:other-token-for-this-test-only") as api:
        settings = TelegramSettings(TOKEN, api.base_url, 5.0, poll=True)
        poller = TelegramPoller(settings, Answers(lambda: None, None, lambda: NOW))  # type: ignore[arg-type]
        with pytest.raises(ChannelError) as err:
            await poller.start()
        await poller.stop()
    assert TOKEN not in str(err.value) and TOKEN.split(":")[1] not in str(err.value)
    assert "token" in str(err.value)


async def test_typed_xong_in_a_telegram_group_goes_through_the_shared_module(bot: Bot) -> None:
    """A typed "xong 1" in Sở Nội vụ's Telegram group (no button) is read by the shared chat
    module: the completion is recorded by the person and the group gets a plain answer."""
    before = len(bot.api.sent_to(NOI_VU))
    bot.api.add_group_message(int(NOI_VU), "Sở Nội vụ", "Xong nhiệm vụ 1")
    await until(lambda: len(bot.api.sent_to(NOI_VU)) > before)
    reply = bot.api.sent_to(NOI_VU)[-1]
    assert reply.text.startswith("Đã ghi nhận hoàn thành nhiệm vụ số 1")
    assert reply.parse_mode is None
    [record] = bot.ledger.completions.current("nv01").values()
    assert record.by == "Lan Nguyễn (Telegram 555)"
