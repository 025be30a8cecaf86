"""Zalo answer-back against the fake Zalo Bot API on 127.0.0.1: a chat linked by a one-time
code receives its agency's digest, answers "xong 1" and the report shows the work done;
refusals (unlinked chat, another agency's task), "huỷ", "tt", help, groups, outages; and the
same typed answers from Telegram through the shared chat module."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fakes.zalo_api import TOKEN, FakeZaloAPI
from test_zalo_dispatch import zalo_config

from reminder import cli
from reminder.answers import Answers
from reminder.channels.chat import Sender
from reminder.channels.zalo import ZaloChannel
from reminder.channels.zalo_poll import ZaloPoller
from reminder.config import Settings, load
from reminder.dispatch import Dispatcher
from reminder.ledger import Ledger
from reminder.model import VN_TZ, Message
from reminder.render import Renderer

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)
NOI_VU = "zsnv001"  # Sở Nội vụ's Zalo chat (zalo_config): leads nv01, nv02
KHCN = "zkhcn002"  # Sở Khoa học và Công nghệ: supports nv01, leads nv06
NEW = "zalo-user-42"  # a chat no configuration names


@dataclass
class Rig:
    api: FakeZaloAPI
    config: Path
    settings: Settings
    ledger: Ledger
    poller: ZaloPoller
    clock: list[datetime]

    async def say(self, chat: str, text: str, **kw: str) -> str:
        """Send `text` from `chat` and wait for the bot's answer (all its parts)."""
        before = self.poller.handled
        sent = len(self.api.sent)
        self.api.add_message(chat, text, **kw)
        await until(lambda: self.poller.handled > before)
        return "\n".join(s.text for s in self.api.sent[sent:] if s.chat_id == chat)


async def until(check: Callable[[], object], timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def poll_config(folder: Path, base_url: str) -> Path:
    path = zalo_config(folder, base_url=base_url)
    text = path.read_text(encoding="utf-8").replace(
        f'base_url = "{base_url}"', f'base_url = "{base_url}"\npoll = true', 1
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    """The shipped config with Zalo chats, sending to the fake, the poller running."""
    monkeypatch.setenv("REMINDER_ZALO_TOKEN", TOKEN)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    async with FakeZaloAPI(max_poll_wait=2) as api:
        for chat in (NOI_VU, KHCN, "zlhh003"):
            api.add_chat(chat)
        config = poll_config(tmp_path, api.base_url)
        settings = load(config)
        assert settings.zalo is not None and settings.zalo.poll
        ledger = Ledger(settings.database_url)
        ledger.migrate()
        clock = [NOW]
        poller = ZaloPoller(settings.zalo, Answers(lambda: settings, ledger, lambda: clock[0]))
        await poller.start()
        try:
            yield Rig(api, config, settings, ledger, poller, clock)
        finally:
            await poller.stop()
            ledger.close()


def link_code(r: Rig, agency: str) -> str:
    """`reminder zalo-link AGENCY`: the code it prints."""
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["--config", str(r.config), "zalo-link", agency]) == 0
    found = re.search(r"^  ([A-Za-z0-9_-]{24})$", out.getvalue(), re.M)
    assert found, out.getvalue()
    return found.group(1)


def report(r: Rig) -> object:
    """`reminder report --year 2026 --format json`, as data."""
    out = r.config.parent / "report.json"
    now = (NOW + timedelta(hours=2)).isoformat()
    args = ["--config", str(r.config), "report", "--year", "2026", "--format", "json"]
    assert cli.main([*args, "--now", now, "-o", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


async def test_linked_by_code_gets_digest_answers_xong_and_report_shows_done(rig: Rig) -> None:
    """Done-when of issue 22: a chat linked by code gets Sở Nội vụ's digest on the fake Zalo
    server, answers "xong 1", is told what was recorded, and the report shows it done."""
    code = link_code(rig, "so-noi-vu")
    answer = await rig.say(NEW, code)
    assert "Đã liên kết cuộc trò chuyện này với Sở Nội vụ" in answer
    assert "Mã liên kết" not in await rig.say(NEW, "tt")  # linked: status, not a refusal
    await Dispatcher(rig.settings, rig.ledger).cycle(NOW)
    digest = "\n".join(rig.api.texts(NEW))
    assert "Kính gửi: Sở Nội vụ" in digest and "Nhiệm vụ số 1" in digest
    assert "“xong <số nhiệm vụ>”" in digest  # the poller is on: the digest says how to answer
    answer = await rig.say(NEW, "Xong nhiệm vụ 1", name="Trần Thị B")
    assert answer.startswith("Đã ghi nhận hoàn thành nhiệm vụ số 1")
    assert "Báo cáo kết quả thực hiện trong năm" in answer and "15/12/2026" in answer
    assert "01/12/2026" in answer and "Trần Thị B" in answer
    [record] = rig.ledger.completions.current("nv01").values()
    assert record.done_on == NOW.date() and record.by == "Trần Thị B (Zalo u-1)"
    data = report(rig)
    assert isinstance(data, dict)
    rows = [i for i in data["items"] if i["task"] == "nv01" and i["recorded_by"]]
    assert [(r["occurrence"], r["milestone"], r["state"], r["recorded_by"]) for r in rows] == [
        ("2026", "bao-cao", "done_on_time", "Trần Thị B (Zalo u-1)")
    ]


async def test_code_works_once_and_unknown_code_is_refused(rig: Rig) -> None:
    """A code links one chat once; a second chat using it, or a made-up code, is refused."""
    code = link_code(rig, "so-noi-vu")
    await rig.say(NEW, code)
    assert "đã được sử dụng" in await rig.say("other-chat", code)
    assert "không đúng" in await rig.say("other-chat", "A" * 24)
    assert rig.ledger.replies.linked_chats() == {f"zalo:{NEW}": "so-noi-vu"}


async def test_unlinked_chat_records_nothing_and_is_told_how_to_link(rig: Rig) -> None:
    """ "xong 1" from a chat linked to no agency records nothing and says how to link."""
    answer = await rig.say(NEW, "xong 1")
    assert "chưa được liên kết" in answer and "mã liên kết" in answer
    assert rig.ledger.completions.current("nv01") == {}


async def test_only_the_lead_agency_may_answer_for_its_task(rig: Rig) -> None:
    """Sở KH&CN (supporting nv01) cannot record it; it can record nv06, which it leads."""
    assert "không thuộc cơ quan chủ trì nhiệm vụ số 1" in await rig.say(KHCN, "1 xong")
    assert rig.ledger.completions.current("nv01") == {}
    assert "Đã ghi nhận hoàn thành nhiệm vụ số 6" in await rig.say(KHCN, "da hoan thanh 6")
    assert rig.ledger.completions.current("nv06")


async def test_undo_withdraws_the_chats_own_record_only(rig: Rig) -> None:
    """ "huỷ 1" withdraws the completion this agency's chat recorded; again, nothing to undo;
    an ops record is not withdrawn from a chat."""
    await rig.say(NOI_VU, "xong 1")
    assert "Đã huỷ ghi nhận hoàn thành nhiệm vụ số 1" in await rig.say(NOI_VU, "huỷ 1")
    assert rig.ledger.completions.current("nv01") == {}
    assert "không huỷ" in await rig.say(NOI_VU, "hủy 1")
    rig.ledger.completions.record_done("nv01", "2026", "bao-cao", NOW.date(), by="ops:an", now=NOW)
    assert "không huỷ" in await rig.say(NOI_VU, "huy 1")
    assert rig.ledger.completions.current("nv01")


async def test_status_unknown_task_help_and_group_silence(rig: Rig) -> None:
    """ "tt" lists the chat's open tasks; an unknown task is named; a private chat gets help
    for other words; a group gets no answer for chatter."""
    status = await rig.say(NOI_VU, "trạng thái")
    assert status.startswith("Tình hình thực hiện của Sở Nội vụ") and "NV số 1" in status
    assert "Không có nhiệm vụ số 99" in await rig.say(NOI_VU, "xong 99")
    assert "“xong <số nhiệm vụ>”" in await rig.say(NOI_VU, "xin chào")
    sent = len(rig.api.sent)
    await rig.say("group-77", "chúc mừng năm mới", chat_type="GROUP")
    assert len(rig.api.sent) == sent


async def test_stickers_and_nfd_text(rig: Rig) -> None:
    """A sticker gets no answer; an NFD-encoded "Xong nhiệm vụ 2" records like NFC."""
    import unicodedata

    sent = len(rig.api.sent)
    await rig.say(NOI_VU, "", event="message.sticker.received")
    assert len(rig.api.sent) == sent
    await rig.say(NOI_VU, unicodedata.normalize("NFD", "Xong nhiệm vụ 2"))
    assert rig.ledger.completions.current("nv02")


async def test_poller_survives_an_outage_and_logs_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """During an outage getUpdates fails again and again with one WARNING; afterwards the
    next message is answered."""
    caplog.set_level(logging.INFO, "reminder.channels.zalo")
    rig.api.outage(True)
    await until(lambda: rig.poller.failures >= 2, timeout=20)
    rig.api.outage(False)
    answer = await rig.say(NOI_VU, "tt")
    assert answer.startswith("Tình hình")
    warnings = [r for r in caplog.records if "getUpdates failed" in r.getMessage()]
    assert len(warnings) == 1
    assert TOKEN not in caplog.text


async def test_polling_never_delays_sending(rig: Rig) -> None:
    """While the poller waits in a long poll, a reminder leaves at once (its own client)."""
    await until(lambda: rig.api.polls >= 1)
    assert rig.settings.zalo is not None
    channel = ZaloChannel(rig.settings.zalo)
    start = asyncio.get_running_loop().time()
    await channel.send(Message(channel="zalo", address=NOI_VU, subject="s", text="Nhắc hạn"))
    await channel.close()
    assert asyncio.get_running_loop().time() - start < 1.0


# -- Telegram through the same module --------------------------------------------------------


async def test_telegram_typed_answer_goes_through_the_shared_module(rig: Rig) -> None:
    """A typed "xong 1" in Sở Nội vụ's Telegram group records the same completion record
    as on Zalo (by name and Telegram id); the same refusals apply to other chats."""
    answers = Answers(lambda: rig.settings, rig.ledger, lambda: NOW)
    group = Sender("-1001000000001", "supergroup", "Sở Nội vụ", 777, "Lê Văn C")
    reply = await answers.on_text(group, "xong 1")
    assert reply is not None and reply.startswith("Đã ghi nhận hoàn thành nhiệm vụ số 1")
    [record] = rig.ledger.completions.current("nv01").values()
    assert record.by == "Lê Văn C (Telegram 777)"
    stranger = Sender("555", "private", "X", 5, "X")
    reply = await answers.on_text(stranger, "xong 2")
    assert reply is not None and "chưa được liên kết" in reply
    assert rig.ledger.completions.current("nv02") == {}


# -- several plans: "<plan>/<number>" ---------------------------------------------------------


async def test_several_plans_need_the_plan_id(tmp_path: Path) -> None:
    """With two plans that both have a task 1, "xong 1" asks for the plan id and records
    nothing; "xong kh-b/1" (or "Xong nhiệm vụ kh-b/1") records plan kh-b's task 1 only."""
    from test_plans import office, plan_text

    head = '[[agencies]]\nid = "so-noi-vu"\n'
    cfg = office(tmp_path, ("kh-a.toml", plan_text("kh-a")), ("kh-b.toml", plan_text("kh-b")))
    text = cfg.read_text(encoding="utf-8")
    assert head in text
    cfg.write_text(text.replace(head, f'{head}zalo = ["{NOI_VU}"]\n'), encoding="utf-8")
    settings = load(cfg)
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    ledger.migrate()
    try:
        answers = Answers(lambda: settings, ledger, lambda: NOW)
        chat = Sender(NOI_VU, "private", "Văn thư", "u-1", "Văn thư", channel="zalo")
        reply = await answers.on_text(chat, "xong 1")
        assert reply is not None and "có ở nhiều kế hoạch (kh-a, kh-b)" in reply
        assert ledger.completions.current() == {}
        reply = await answers.on_text(chat, "Xong nhiệm vụ kh-b/1")
        assert reply is not None and reply.startswith("Đã ghi nhận hoàn thành nhiệm vụ số kh-b/1")
        assert "“huỷ kh-b/1”" in reply
        assert {w[0] for w in ledger.completions.current()} == {settings.catalog.task("kh-b/1").id}
        due = [r for r in Dispatcher(settings, ledger).due(NOW)[0] if r.address == NOI_VU]
        text = Renderer(settings.catalog, text_answers=True).render(due, today=NOW.date()).text
        assert "Nhiệm vụ số kh-a/1 (chủ trì)" in text and "(ví dụ “xong kh-a/1”)" in text
    finally:
        ledger.close()
