"""The answer-back commands and settings: `reminder ics`, `reminder telegram-link`,
`reminder explain` with a linked chat, and the [web] configuration errors."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from fakes.telegram_api import TOKEN, FakeTelegramAPI
from helpers import write_config
from webtools import WEB_PASSWORD, WEB_SECRET, web_config

from reminder import cli
from reminder.config import ConfigError, load
from reminder.ledger import Ledger
from reminder.model import VN_TZ

NOW = "2026-12-01T09:00:00+07:00"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.setenv("REMINDER_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def _events(path: Path) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_ics_parses_back_with_stable_uids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reminder ics` writes a calendar icalendar parses; two runs give the same UIDs and
    SEQUENCE numbers; a completion raises its event's SEQUENCE and marks it done."""
    config = str(web_config(tmp_path, public_url="https://nhachan.tinh.example"))
    args = ["--config", config, "ics", "--agency", "so-noi-vu", "--now", NOW]
    assert cli.main([*args, "-o", str(tmp_path / "a.ics")]) == 0
    assert "https://nhachan.tinh.example/lich/so-noi-vu.ics?k=" in capsys.readouterr().err
    assert cli.main([*args, "-o", str(tmp_path / "b.ics")]) == 0
    first, second = _events(tmp_path / "a.ics"), _events(tmp_path / "b.ics")
    assert first.keys() == second.keys() and "nv01.2026.bao-cao@nhachan" in first
    assert [int(e["SEQUENCE"]) for e in first.values()] == [0] * len(first)
    event = first["nv01.2026.bao-cao@nhachan"]
    assert event["DTSTART"].dt == date(2026, 12, 15)  # all day: a date, not a datetime
    triggers = sorted(a["TRIGGER"].dt for a in event.walk("VALARM"))
    assert triggers[-1] == datetime(2026, 12, 15, 8, 0, tzinfo=VN_TZ)  # the lead's D-0 rung
    assert "Báo cáo kết quả thực hiện trong năm" in str(event["SUMMARY"])
    settings = load(config)
    with Ledger(settings.database_url) as ledger:
        ledger.completions.record_done(
            "nv01", "2026", "bao-cao", date(2026, 11, 30), by="ops", now=datetime.now(VN_TZ)
        )
    assert cli.main([*args, "-o", str(tmp_path / "c.ics")]) == 0
    third = _events(tmp_path / "c.ics")
    done = third["nv01.2026.bao-cao@nhachan"]
    assert int(done["SEQUENCE"]) == 1 and str(done["SUMMARY"]).startswith("[Đã hoàn thành]")
    assert not done.walk("VALARM")
    assert int(third["nv02.2026.bao-cao@nhachan"]["SEQUENCE"]) == 0


def test_ics_moved_deadline_and_all_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --agency every task is in the feed; an event sits on the moved deadline and
    its description says why (31/03/2029 is a Saturday → Monday 02/04/2029)."""
    config = str(web_config(tmp_path))
    assert cli.main(["--config", config, "ics", "--years", "4", "--now", NOW]) == 0
    cal = icalendar.Calendar.from_ical(capsys.readouterr().out.encode())
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert {str(u).split(".")[0] for u in events} >= {"nv01", "nv04", "nv06"}
    moved = events["nv01.2029.ke-hoach@nhachan"]
    assert moved["DTSTART"].dt == date(2029, 4, 2)
    assert "31/03/2029" in str(moved["DESCRIPTION"])


def test_ics_unknown_agency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown agency is bad data (65, as in every command) naming the known ones."""
    config = str(web_config(tmp_path))
    assert cli.main(["--config", config, "ics", "--agency", "so-khong-co"]) == 65
    assert "no agency or group 'so-khong-co'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("web", "env", "expected"),
    [
        (
            'listen = "127.0.0.1:8765"',
            {"REMINDER_WEB_SECRET": None},
            "no signing secret for links found",
        ),
        (
            'listen = "127.0.0.1:8765"',
            {"REMINDER_WEB_SECRET": "ngan"},
            "signing secret is too short",
        ),
        ('listen = "127.0.0.1:8765"', {"REMINDER_WEB_PASSWORD": None}, "no viewer password"),
        ('listen = "8765"', {}, "expected host:port"),
        ('listen = "127.0.0.1:70000"', {}, "expected host:port"),
        ('public_url = "nhachan.tinh.example"', {}, "expected an address such as"),
        ("link_days_after_deadline = 0", {}, "greater than or equal to 1"),
        ('secret = "abc"', {}, "secret"),
    ],
)
def test_web_config_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    web: str,
    env: dict[str, str | None],
    expected: str,
) -> None:
    """A bad [web] table is refused with file:line and the key; secrets are never in config."""
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    path = write_config(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + f"\n[web]\n{web}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(path)
    text = "\n".join(str(p) for p in err.value.problems)
    assert expected in text and "web" in text and str(path) in text
    assert WEB_SECRET not in text and WEB_PASSWORD not in text


def _poll_config(folder: Path, base_url: str) -> Path:
    path = write_config(folder, telegram_url=base_url)
    text = path.read_text(encoding="utf-8").replace(
        f'base_url = "{base_url}"',
        f'base_url = "{base_url}"\npoll = true\nlink_code_minutes = 30',
        1,
    )
    path.write_text(text, encoding="utf-8")
    return path


async def test_telegram_link_prints_one_time_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reminder telegram-link AGENCY` prints the deep link and the group form with a code
    stored (hashed) in the ledger, valid for link_code_minutes; the code links a chat once."""
    async with FakeTelegramAPI() as api:
        config = _poll_config(tmp_path, api.base_url)
        code = await asyncio.to_thread(
            cli.main, ["--config", str(config), "telegram-link", "so-giao-duc"]
        )
    out = capsys.readouterr().out
    assert code == 0
    link = out.split("https://t.me/nhachan_bot?start=")[1].split()[0]
    assert f"/start@nhachan_bot {link}" in out and "Sở Giáo dục và Đào tạo" in out
    settings = load(config)
    with Ledger(settings.database_url) as ledger:
        soon = datetime.now(VN_TZ) + timedelta(minutes=29)
        linked = ledger.replies.use_code(link, "-100123", "Phòng GD", "Lan", soon)
        assert linked.agency == "so-giao-duc"
        with pytest.raises(Exception, match="used"):
            ledger.replies.use_code(link, "-100124", "Khác", "An", soon)


async def test_telegram_link_code_expires(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A code used after link_code_minutes is refused as expired."""
    async with FakeTelegramAPI() as api:
        config = _poll_config(tmp_path, api.base_url)
        await asyncio.to_thread(cli.main, ["--config", str(config), "telegram-link", "so-khcn"])
    link = capsys.readouterr().out.split("?start=")[1].split()[0]
    with Ledger(load(config).database_url) as ledger:
        late = datetime.now(VN_TZ) + timedelta(minutes=31)
        with pytest.raises(Exception, match="expired"):
            ledger.replies.use_code(link, "-100123", "Phòng", "Lan", late)
        assert ledger.replies.linked_chats() == {}


def test_telegram_link_needs_poll(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without the poller nobody would receive the code: exit 78 saying what to set."""
    config = write_config(tmp_path)
    assert cli.main(["--config", str(config), "telegram-link", "so-noi-vu"]) == 78
    assert "poll = true" in capsys.readouterr().err


async def test_explain_shows_linked_chat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reminder explain` lists a linked chat among the agency's Telegram addresses."""
    async with FakeTelegramAPI() as api:
        config = _poll_config(tmp_path, api.base_url)
        with Ledger(load(config).database_url) as ledger:
            ledger.migrate()
            now = datetime.now(VN_TZ)
            ledger.replies.add_code("ma", "so-giao-duc", now, now + timedelta(hours=1))
            ledger.replies.use_code("ma", "-1009998887776", "Phòng GD", "Lan", now)
        assert await asyncio.to_thread(cli.main, ["--config", str(config), "explain", "4"]) == 0
    assert "[telegram] -1009998887776" in capsys.readouterr().out


def test_check_says_what_answers_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`reminder check` says whether pages, e-mail links and Telegram buttons are on."""
    (tmp_path / "a").mkdir()
    plain = write_config(tmp_path / "a")
    assert cli.main(["--config", str(plain), "check"]) == 0
    assert "answer-back: off (no [web]" in capsys.readouterr().out
    folder = tmp_path / "b"
    folder.mkdir()
    config = web_config(folder, listen="127.0.0.1:8765", public_url="https://nhachan.tinh.example")
    assert cli.main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert (
        "answer-back: pages on http://127.0.0.1:8765; e-mail links to https://nhachan.tinh.example"
        in out
    )
    assert WEB_SECRET not in out and WEB_PASSWORD not in out
