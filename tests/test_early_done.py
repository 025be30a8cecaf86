"""Work finished early: an occurrence can be recorded as done from the day its first reminder
goes out on every answer-back channel (Telegram, the e-mail link), from the command line at
any time, and each reply says what was recorded (or when recording opens)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from fakes.telegram_api import TOKEN, FakeTelegramAPI
from helpers import write_config
from inprocess import run_main
from webtools import WEB_PASSWORD, WEB_SECRET, csrf_of

from reminder.answers import Answers
from reminder.channels.telegram_poll import TelegramPoller
from reminder.config import Settings, load
from reminder.dispatch import Dispatcher
from reminder.ledger import Ledger
from reminder.links import Confirmation, Links
from reminder.model import VN_TZ
from reminder.planner import first_reminder_day
from reminder.status import Refused, TooEarly, check_done
from reminder.web import make_app
from reminder.workdays import WorkCalendar

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)  # a Tuesday
LHH = "-1001000000003"  # Liên hiệp các Hội KH&KT: leads nv07 (assigned dates)
NV07_DATES = (
    "dates = [2026-12-15, 2027-06-30]"  # D-14 of 15/12 is today; 30/06/2027's D-30 is 31/05/2027
)


def _assigned(folder: Path, **kw: object) -> Path:
    """The shipped config with task 7 (Theo nhiệm vụ được giao) given two deadlines (in its
    plan file, plans/ke-hoach.toml)."""
    path = write_config(folder, **kw)  # type: ignore[arg-type]
    plan = folder / "plans" / "ke-hoach.toml"
    text = plan.read_text(encoding="utf-8")
    old = "dates = []                      # add the deadline(s) when the task is assigned"
    assert text.count(old) == 1
    plan.write_text(text.replace(old, NV07_DATES + "  #"), encoding="utf-8")
    return path


# -- the rule ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nv07(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load(_assigned(tmp_path_factory.mktemp("nv07")))


@pytest.mark.parametrize(
    ("task", "occurrence", "done_on", "today", "answer_back", "refused"),
    [
        # an assigned date, before its deadline: open from its first reminder (D-30, 13/11)
        ("7", "2026-12-15", "2026-12-01", "2026-12-01", True, None),
        ("7", "2026-12-15", "2026-11-13", "2026-11-13", True, None),
        ("7", "2026-12-15", "2026-11-12", "2026-11-12", True, "from 2026-11-13"),
        ("7", "2026-12-15", "2026-12-15", "2026-12-15", True, None),
        ("7", "2026-12-15", "2026-12-20", "2026-12-20", True, None),  # overdue, still open
        ("7", "2026-12-15", "2026-06-01", "2026-12-01", True, None),  # finished long before
        ("7", "2026-12-15", "2026-12-02", "2026-12-01", True, "in the future"),
        ("7", "2027-06-30", "2026-12-01", "2026-12-01", True, "from 2027-05-31"),
        ("7", "2027-06-30", "2027-05-31", "2027-05-31", True, None),
        # the command line: at any time
        ("7", "2027-06-30", "2026-12-01", "2026-12-01", False, None),
        ("7", "2027-06-30", "2026-11-20", "2026-12-01", False, None),
        # a yearly occurrence: open all year, not before it
        ("1", "2026", "2026-01-01", "2026-01-01", True, None),
        ("1", "2026", "2026-12-01", "2026-12-01", True, None),
        ("1", "2026", "2025-12-31", "2026-12-01", True, "before occurrence 2026"),
        ("1", "2026", "2025-12-31", "2026-12-01", False, "before occurrence 2026"),
        ("1", "2027", "2026-12-01", "2026-12-01", True, "from 2027-01-01"),
        ("1", "2027", "2026-12-01", "2026-12-01", False, None),
    ],
)
def test_when_work_may_be_recorded_done(
    nv07: Settings,
    task: str,
    occurrence: str,
    done_on: str,
    today: str,
    answer_back: bool,
    refused: str | None,
) -> None:
    """Answer-back channels record from the day an occurrence's first reminder goes out (or
    its first day, if earlier); the command line at any time; never a date in the future."""
    catalog = nv07.catalog
    t = catalog.task(task)
    first = first_reminder_day(catalog, t, occurrence, WorkCalendar(catalog.calendar))
    args = (t, occurrence, None, date.fromisoformat(done_on), date.fromisoformat(today))
    if refused is None:
        check_done(*args, first_reminder=first, answer_back=answer_back)
        return
    with pytest.raises(Refused) as err:
        check_done(*args, first_reminder=first, answer_back=answer_back)
    assert refused in str(err.value)
    if refused.startswith("from"):
        assert isinstance(err.value, TooEarly)


def test_first_reminder_day_of_an_assigned_date(nv07: Settings) -> None:
    """The first reminder of 30/06/2027 is the lead's D-30, Monday 31/05/2027."""
    catalog = nv07.catalog
    cal = WorkCalendar(catalog.calendar)
    task = catalog.task("7")
    assert first_reminder_day(catalog, task, "2027-06-30", cal) == date(2027, 5, 31)
    assert first_reminder_day(catalog, task, "2031-01-01", cal) is None


# -- Telegram ---------------------------------------------------------------------------------


@dataclass
class Bot:
    api: FakeTelegramAPI
    settings: Settings
    ledger: Ledger


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bot]:
    """The config with task 7's dates, sending to the fake Bot API, the poller running."""
    monkeypatch.setenv("REMINDER_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    async with FakeTelegramAPI() as api:
        path = _assigned(tmp_path, telegram_url=api.base_url, email="off")
        text = path.read_text(encoding="utf-8").replace(
            f'base_url = "{api.base_url}"', f'base_url = "{api.base_url}"\npoll = true', 1
        )
        path.write_text(text + "\n[web]\n", encoding="utf-8")
        settings = load(path)
        ledger = Ledger(settings.database_url)
        ledger.migrate()
        assert settings.telegram is not None
        poller = TelegramPoller(settings.telegram, Answers(lambda: settings, ledger, lambda: NOW))
        await poller.start()
        try:
            yield Bot(api, settings, ledger)
        finally:
            await poller.stop()
            ledger.close()


async def _press(b: Bot, data: str) -> str:
    before = len(b.api.answers)
    b.api.add_callback_query(LHH, data)
    deadline = asyncio.get_running_loop().time() + 15
    while len(b.api.answers) == before:
        assert asyncio.get_running_loop().time() < deadline, "no answer to the press"
        await asyncio.sleep(0.05)
    return b.api.answers[-1].text


async def test_press_before_an_assigned_deadline_records(bot: Bot) -> None:
    """'Đã hoàn thành' under the D-14 reminder of an assigned date (15/12) records done today;
    the answer says what was recorded: the task, the day, who."""
    await Dispatcher(bot.settings, bot.ledger).cycle(NOW)
    markup = bot.api.sent_to(LHH)[-1].reply_markup
    assert markup is not None
    done = markup["inline_keyboard"][0][0]["callback_data"]
    answer = await _press(bot, done)
    record = bot.ledger.completions.current("nv07")[("nv07", "2026-12-15", "hoan-thanh")]
    assert record.done_on == date(2026, 12, 1) and "Lan Nguyễn" in record.by
    assert not bot.api.answers[-1].show_alert
    assert "Đã ghi nhận hoàn thành nhiệm vụ số 7 ngày 01/12/2026, bởi Lan Nguyễn" in answer
    assert "kỳ ngày 15/12/2026" in answer


async def test_press_before_the_first_reminder_says_when(bot: Bot) -> None:
    """A press for an occurrence whose first reminder is still ahead records nothing and says
    from which day it can be recorded (not that the work is unknown)."""
    data = Links(WEB_SECRET).button("done", 7, "2027-06-30", "hoan-thanh")
    answer = await _press(bot, data)
    assert bot.ledger.completions.events() == []
    assert bot.api.answers[-1].show_alert
    assert "từ ngày 31/05/2027" in answer and "chưa ghi nhận" in answer
    assert "không còn" not in answer


# -- the e-mail link --------------------------------------------------------------------------


@pytest.fixture
async def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The web server of the config with task 7's dates, clock at NOW: its base URL."""
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = _assigned(tmp_path)
    path.write_text(
        path.read_text(encoding="utf-8") + '\n[web]\nlisten = "127.0.0.1:0"\n', encoding="utf-8"
    )
    settings = load(path)
    ledger = Ledger(settings.database_url)
    ledger.migrate()
    runner = web.AppRunner(make_app(lambda: settings, ledger, lambda: NOW), access_log=None)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
        ledger.close()


async def _confirm(base: str, occurrence: str, day: str) -> tuple[int, str]:
    token = Links(WEB_SECRET).confirmation(
        Confirmation("nv07", occurrence, "hoan-thanh", "lhh-khkt", date(2027, 12, 31))
    )
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{base}/xac-nhan/{token}") as r:
            csrf = csrf_of(await r.text())
        form = {"csrf": csrf, "ngay": day, "nguoi": "Trần Thị Bình", "so_van_ban": "BC 7"}
        async with client.post(f"{base}/xac-nhan/{token}", data=form) as r:
            return r.status, await r.text()


async def test_email_link_before_an_assigned_deadline_records(site: str) -> None:
    """The e-mail link of an assigned date (15/12) records work finished on 30/11, before the
    deadline, and the page shows the record made."""
    code, page = await _confirm(site, "2026-12-15", "2026-11-30")
    assert code == 200 and "<h1>Đã ghi nhận hoàn thành</h1>" in page
    assert "30/11/2026" in page and "Trần Thị Bình" in page and "BC 7" in page


async def test_email_link_before_the_first_reminder_says_when(site: str) -> None:
    """A link for an occurrence whose first reminder is still ahead records nothing and
    says from which day it can be recorded."""
    code, page = await _confirm(site, "2027-06-30", "2026-12-01")
    assert code == 400 and "từ ngày 31/05/2027" in page
    code, page = await _confirm(site, "2026-12-15", "2026-12-02")
    assert code == 400 and "không được sau ngày hôm nay (01/12/2026)" in page


# -- the command line -------------------------------------------------------------------------


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`reminder --config CONFIG ARGS…` in this process (tests/inprocess.py)."""
    return run_main(["--config", str(config), *args], cwd=config.parent)


def test_command_line_records_an_assigned_date_at_any_time(tmp_path: Path) -> None:
    """`reminder done` records an assigned date before its deadline, even before its first
    reminder, and says what it recorded: the day and by whom."""
    config = _assigned(tmp_path)
    now = "--now", "2026-12-01T09:00:00+07:00"
    near = _cli(config, "done", "7", "2026-12-15", "--on", "2026-11-20", "--by", "ops:lan", *now)
    assert near.returncode == 0, near.stderr
    assert "recorded as done on 20/11/2026 by ops:lan" in near.stdout
    far = _cli(config, "done", "7", "2027-06-30", "--by", "ops:lan", *now)
    assert far.returncode == 0, far.stderr
    assert "occurrence 2027-06-30" in far.stdout and "on 01/12/2026 by ops:lan" in far.stdout
