"""One piece of work has at most one live completion, whoever answers and however often:
the ledger's chain index, concurrent writers on SQLite and PostgreSQL, and 20 web-form
submissions, a Telegram press and an e-mail link racing through the real servers."""

from __future__ import annotations

import asyncio
import email
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from alembic import command
from fakes.telegram_api import TOKEN, FakeTelegramAPI
from helpers import write_config
from webtools import WEB_PASSWORD, WEB_SECRET, csrf_of

from reminder.answers import Answers
from reminder.channels.telegram_poll import TelegramPoller
from reminder.config import load
from reminder.dispatch import Dispatcher
from reminder.ledger import Ledger
from reminder.links import Confirmation, Links
from reminder.model import VN_TZ
from reminder.web import make_app

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
NOI_VU = "-1001000000001"  # Sở Nội vụ's group: leads nv01
PUBLIC = "https://nhachan.tinh.example"
WORK = ("nv01", "2026", "bao-cao")


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    """A migrated ledger on each back-end (SQLite, PostgreSQL)."""
    led = Ledger(db_url)
    led.migrate()
    yield led
    led.close()


def test_the_ledger_refuses_a_second_event_after_the_same_one(ledger: Ledger) -> None:
    """Two events following the same one (two first records of one piece of work) cannot
    both be stored: the database refuses the second, whatever wrote it."""
    row = {
        "task_id": "nv01",
        "occurrence": "2026",
        "milestone_id": "bao-cao",
        "action": "done",
        "done_on": date(2026, 11, 20),
        "recorded_at": T0,
        "recorded_by": "a",
        "prev_id": 0,
    }
    table = sa.Table("completion_event", sa.MetaData(), autoload_with=ledger.engine)
    with ledger.engine.begin() as conn:
        conn.execute(sa.insert(table).values(**row))
    with pytest.raises(sa.exc.IntegrityError), ledger.engine.begin() as conn:
        conn.execute(sa.insert(table).values(**{**row, "recorded_by": "b"}))
    assert [e.by for e in ledger.completions.events()] == ["a"]


def test_concurrent_first_records_leave_one(ledger: Ledger, db_url: str) -> None:
    """Twelve writers, each with its own engine, record the same work at the same moment:
    one record is made, and the eleven others are told whose record it is."""
    writers = [Ledger(db_url) for _ in range(12)]
    start = threading.Barrier(len(writers))
    results: list[tuple[bool, str]] = []
    errors: list[BaseException] = []

    def record(n: int) -> None:
        try:
            start.wait(10)
            first = writers[n].completions.record_first(
                *WORK, date(2026, 11, 30), by=f"người {n}", now=T0
            )
            results.append((first.new, first.event.by))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(n,)) for n in range(len(writers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for w in writers:
        w.close()
    assert errors == []
    events = ledger.completions.events()
    assert len(events) == 1
    assert sorted(new for new, _ in results) == [False] * 11 + [True]
    assert {by for _, by in results} == {events[0].by}


def test_corrections_and_undo_stay_one_chain(ledger: Ledger) -> None:
    """A correction and an undo each follow the event before them; the command line's
    correction still replaces the live record, and a channel's record after an undo is new."""
    book = ledger.completions
    book.record_done(*WORK, date(2026, 11, 20), by="ops:lan", now=T0)
    book.record_done(*WORK, date(2026, 11, 18), by="ops:lan", now=T0)
    assert not book.record_first(*WORK, date(2026, 11, 30), by="web", now=T0).new
    book.undo(*WORK, by="ops:lan", now=T0)
    again = book.record_first(*WORK, date(2026, 11, 30), by="web", now=T0)
    assert again.new and book.current()[WORK].by == "web"
    assert len(book.events()) == 4


def test_migration_links_the_existing_events(tmp_path: Path) -> None:
    """A 0004 ledger's events are chained in id order by the upgrade, per piece of work."""
    with Ledger(f"sqlite:///{tmp_path / 'old.db'}") as led:
        with led._write() as conn:
            command.upgrade(led.alembic_config(conn), "0004")
        with led._write() as conn:
            for task, action in (("a", "done"), ("b", "done"), ("a", "done"), ("a", "undo")):
                conn.execute(
                    sa.text(
                        "INSERT INTO completion_event (task_id, occurrence, milestone_id, "
                        "action, recorded_at) VALUES (:t, '2026', '', :a, '2026-12-01 01:00:00')"
                    ),
                    {"t": task, "a": action},
                )
        led.migrate()
        with led.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, prev_id FROM completion_event ORDER BY id"))
            assert [tuple(r) for r in rows] == [(1, 0), (2, 0), (3, 1), (4, 3)]
        assert led.completions.current() == {}  # a's last event is the undo
        assert led.completions.record_first("a", "2026", None, date(2026, 12, 1), now=T0).new
        assert not led.completions.record_first("b", "2026", None, date(2026, 12, 1), now=T0).new


# -- through the servers --------------------------------------------------------------------


def _config(folder: Path, base_url: str) -> Path:
    """The shipped config: Telegram through the fake with poll on, e-mail to the outbox,
    [web] with a public URL so that the e-mails carry confirmation links."""
    path = write_config(folder, telegram_url=base_url)
    text = path.read_text(encoding="utf-8").replace(
        f'base_url = "{base_url}"', f'base_url = "{base_url}"\npoll = true', 1
    )
    text += f'\n[web]\nlisten = "127.0.0.1:0"\npublic_url = "{PUBLIC}"\n'
    path.write_text(text, encoding="utf-8")
    return path


def _email_link(outbox: Path) -> str:
    """The path of nv01's confirmation link in the e-mail the outbox holds for Sở Nội vụ."""
    for eml in sorted(outbox.rglob("*.eml")):
        msg = email.message_from_bytes(eml.read_bytes())
        if "sonoivu@tinh.example" not in str(msg["To"]):
            continue
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                body = part.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
                for path in re.findall(re.escape(PUBLIC) + r"(/xac-nhan/\S+)", body):
                    link = Links(WEB_SECRET).read_confirmation(path[10:], NOW.date())
                    if (link.task_id, link.occurrence, link.milestone_id) == WORK:
                        return str(path)
    raise AssertionError("no confirmation link in Sở Nội vụ's e-mail")


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def _submit(
    client: aiohttp.ClientSession,
    url: str,
    person: str,
    ready: asyncio.Queue[None],
    go: asyncio.Event,
) -> tuple[int, str]:
    """Open the confirmation page, say it is ready, wait for the start signal, submit."""
    async with client.get(url) as r:
        csrf = csrf_of(await r.text())
    ready.put_nowait(None)
    await go.wait()
    form = {"csrf": csrf, "ngay": "2026-11-30", "nguoi": person, "so_van_ban": ""}
    async with client.post(url, data=form, allow_redirects=False) as r:
        return r.status, await r.text()


async def test_web_press_and_email_link_at_once_record_once(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 web-form submissions, a Telegram press and the e-mail's confirmation link, all at
    the same moment (the web server and the poller on separate ledger connections): exactly
    one completion is recorded; every other answer says it was recorded before, by whom
    and when."""
    monkeypatch.setenv("REMINDER_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    async with FakeTelegramAPI() as api:
        settings = load(_config(tmp_path, api.base_url))
        web_ledger, bot_ledger = Ledger(db_url), Ledger(db_url)
        web_ledger.migrate()
        await Dispatcher(settings, bot_ledger).cycle(NOW)
        markup = api.sent_to(NOI_VU)[-1].reply_markup
        assert markup is not None
        press = markup["inline_keyboard"][0][0]["callback_data"]
        mailed = _email_link(tmp_path / "outbox")
        other_mail = Links(WEB_SECRET).confirmation(
            Confirmation(*WORK, "so-noi-vu", date(2027, 1, 31))
        )  # the link of another reminder e-mail about the same work
        poller = TelegramPoller(
            settings.telegram, Answers(lambda: settings, bot_ledger, lambda: NOW)
        )  # type: ignore[arg-type]
        runner, base = await _serve(make_app(lambda: settings, web_ledger, lambda: NOW))
        await poller.start()
        try:
            async with aiohttp.ClientSession() as client:
                go, ready = asyncio.Event(), asyncio.Queue[None]()
                forms = [
                    _submit(client, f"{base}/xac-nhan/{other_mail}", f"Cán bộ {n}", ready, go)
                    for n in range(20)
                ]
                forms.append(_submit(client, base + mailed, "Người nhận thư", ready, go))
                tasks = [asyncio.ensure_future(f) for f in forms]
                for _ in forms:  # every page opened, every form ready, however slow the host
                    await asyncio.wait_for(ready.get(), 60)
                api.add_callback_query(NOI_VU, press)
                go.set()
                pages = await asyncio.gather(*tasks)
                deadline = asyncio.get_running_loop().time() + 20
                while not api.answers:
                    assert asyncio.get_running_loop().time() < deadline, "no callback answer"
                    await asyncio.sleep(0.05)
        finally:
            await poller.stop()
            await runner.cleanup()
        events = web_ledger.completions.events()
        web_ledger.close()
        bot_ledger.close()
    assert len(events) == 1, [e.by for e in events]
    (record,) = events
    at = record.recorded_at.astimezone(VN_TZ).strftime("%H:%M")
    assert {code for code, _ in pages} == {200}
    made = [p for _, p in pages if "<h1>Đã ghi nhận hoàn thành</h1>" in p]
    before = [p for _, p in pages if "Hệ thống đã ghi nhận trước đó" in p]
    answer = api.answers[0].text
    pressed_first = answer.startswith("Đã ghi nhận hoàn thành")
    assert len(made) + int(pressed_first) == 1
    assert len(before) == 21 - len(made)
    for page in before:
        assert record.by in page.replace("&#39;", "'") and f"{at} ngày 01/12/2026" in page
    if not pressed_first:
        assert "đã ghi nhận trước đó" in answer and f"{at} ngày 01/12/2026" in answer
        assert record.by[:40] in answer or len(answer) == 200
