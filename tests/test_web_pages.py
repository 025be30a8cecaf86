"""What a person meets (issue 19, item 8): Vietnamese 404/405/413/500 pages, a completion
date typed and shown as ngày/tháng/năm whatever the browser's language, /trangthai with one
line per item, and an e-mail footer that says what its links say. (The phone-width check is
tests/test_browser.py::test_pages_fit_a_phone.)"""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path

import pytest
from helpers import write_config
from webtools import NOW, WEB_PASSWORD, WEB_SECRET, csrf_of, running_site, web_config

from reminder import cli
from reminder.answers import Answers
from reminder.channels.chat import Sender
from reminder.config import load
from reminder.ledger import Ledger
from reminder.links import Confirmation
from reminder.web import pages

LINK = Confirmation("nv01", "2026", "bao-cao", "so-noi-vu", date(2027, 3, 15))


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


async def test_error_pages_in_vietnamese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An unknown address (404), a wrong method (405, with Allow), a too large form (413) and
    a failing page (500) answer with a Vietnamese page of the site; the 500 is logged."""

    def broken(*args: object) -> object:
        raise RuntimeError("the planner broke")

    monkeypatch.setattr(pages.Site, "_status", broken)
    async with running_site(tmp_path) as site:
        s404, p404, _ = await site.get("/khong-co-trang-nay")
        s405, p405, r405 = await site.post("/healthz", {})
        s413, p413, _ = await site.post(site.confirm_path(LINK), {"nguoi": "x" * 100_000})
        await site.login()
        s500, p500, _ = await site.get("/")
    assert (s404, s405, s413, s500) == (404, 405, 413, 500)
    assert r405.headers["Allow"] == "GET,HEAD"
    for page, heading in [
        (p404, "Không tìm thấy trang"),
        (p405, "Thao tác không được hỗ trợ"),
        (p413, "Nội dung gửi quá lớn"),
        (p500, "Hệ thống gặp lỗi"),
    ]:
        assert '<html lang="vi">' in page and f"<h1>{heading}</h1>" in page
        assert "Not Found" not in page and "Traceback" not in page and "RuntimeError" not in page
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].getMessage() == "GET / failed"


async def test_completion_date_is_day_month_year(tmp_path: Path) -> None:
    """The date field is text in ngày/tháng/năm (today: 01/12/2026), never a browser date
    input; 28/11/2026 records 28 November, 11/28/2026 is refused (400), nothing recorded."""
    async with running_site(tmp_path) as site:
        path = site.confirm_path(LINK)
        _, page, _ = await site.get(path)
        form = {"csrf": csrf_of(page), "nguoi": "Nguyễn Văn An"}
        bad, bad_page, _ = await site.post(path, form | {"ngay": "11/28/2026"})
        nothing = site.ledger.completions.events("nv01")
        good, _, _ = await site.post(path, form | {"ngay": "28/11/2026"})
        events = site.ledger.completions.events("nv01")
    field = re.search(r'<input [^>]*id="ngay"[^>]*>', page)
    assert field is not None
    assert 'type="text"' in field.group() and 'value="01/12/2026"' in field.group()
    assert 'type="date"' not in page and 'placeholder="dd/mm/yyyy"' in field.group()
    assert bad == 400 and "ví dụ: 10/12/2026" in bad_page and nothing == []
    assert good == 200 and [e.done_on for e in events] == [date(2026, 11, 28)]


async def test_trangthai_one_line_per_item(tmp_path: Path) -> None:
    """/trangthai in Sở Nội vụ's group: a heading, then each open item on a line of its own
    (read as plain text, the tags taken out)."""
    settings = load(write_config(tmp_path))
    with Ledger(settings.database_url) as ledger:
        ledger.migrate()
        answers = Answers(lambda: settings, ledger, lambda: NOW)
        sender = Sender("-1001000000001", "supergroup", "Sở Nội vụ", 7, "Chi")
        reply = await answers.on_command(sender, "trangthai", "")
    assert reply is not None
    lines = re.sub(r"<[^>]+>", "", reply).splitlines()
    assert lines[0].startswith("Tình hình thực hiện của Sở Nội vụ")
    items = lines[1:]
    assert len(items) >= 3
    for line in items:
        assert re.fullmatch(
            r"(🔴 Quá hạn|🔵 Đang thực hiện): NV số \d+ – .+, hạn \d\d/\d\d/\d{4}.*", line
        )
        assert line.count("NV số") == 1


@pytest.mark.parametrize("linked", [True, False])
def test_email_footer_says_what_the_link_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], linked: bool
) -> None:
    """With confirmation links the footer asks for the link (not a reply, which records
    nothing); without them it asks for a reply."""
    if linked:
        config = web_config(tmp_path, public_url="https://nhachan.tinh.example")
    else:
        config = write_config(tmp_path)
    args = ["--config", str(config), "preview", "1", "--channel", "email"]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    footer = next(line for line in text.splitlines() if line.startswith("Thư này được gửi"))
    links = re.findall(r"- Xác nhận đã hoàn thành \(.*\): https://\S+/xac-nhan/\S+", text)
    if linked:
        assert links
        assert "“Xác nhận đã hoàn thành”" in footer and "ngừng nhắc hạn" in footer
        assert "trả lời thư này" not in footer
    else:
        assert not links and "/xac-nhan/" not in text
        assert "trả lời thư này" in footer and "Xác nhận" not in footer


async def test_occurrences_are_written_for_readers(tmp_path: Path) -> None:
    """The confirmation page and the status page write an occurrence as a reader does
    ("năm 2026"), never as the ledger's label ("Kỳ</dt><dd>2026", "(2026)")."""
    async with running_site(tmp_path) as site:
        _, confirm, _ = await site.get(site.confirm_path(LINK))
        await site.login()
        _, status, _ = await site.get("/")
    assert "<dt>Kỳ</dt><dd>năm 2026</dd>" in confirm
    assert "(năm 2026)" in status and "(2026)" not in status
