"""The built-in web server over real HTTP on 127.0.0.1: pages, confirmation links, refusals,
the edge's guards (CSRF, password, headers, login limits) and the calendar feed."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import icalendar
import pytest
from webtools import NOW, WEB_PASSWORD, WEB_SECRET, WebSite, csrf_of, running_site

from reminder.links import Confirmation, Links
from reminder.web import pages

LINK = Confirmation("nv01", "2026", "bao-cao", "so-noi-vu", date(2027, 3, 15))


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def _done(site: WebSite) -> dict[tuple[str, str, str], object]:
    return dict(site.ledger.completions.current())


async def test_healthz_ok_without_password(tmp_path: Path) -> None:
    """/healthz answers 200 with the ledger reachable, and needs no password."""
    async with running_site(tmp_path) as site:
        status, text, _ = await site.get("/healthz")
    assert (status, text) == (200, "ok\n")


async def test_healthz_503_when_ledger_unreachable(tmp_path: Path) -> None:
    """/healthz answers 503 when the ledger's database cannot be opened."""
    url = f"sqlite:///{tmp_path}/no-such-folder/ledger.db"
    async with running_site(tmp_path, ledger_url=url) as site:
        status, _, _ = await site.get("/healthz")
    assert status == 503


async def test_security_headers_on_every_answer(tmp_path: Path) -> None:
    """Pages, redirects and refusals all carry CSP, no-referrer, nosniff and DENY framing."""
    async with running_site(tmp_path) as site:
        answers = [
            await site.get("/dang-nhap"),
            await site.get("/"),
            await site.get("/xac-nhan/khong-hop-le"),
            await site.get("/healthz"),
        ]
    for _, _, r in answers:
        assert "script-src" not in r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"


async def test_status_page_needs_the_password(tmp_path: Path) -> None:
    """Without a session the status and task pages redirect to the login page."""
    async with running_site(tmp_path) as site:
        s1, _, r1 = await site.get("/?nam=2026")
        s2, _, r2 = await site.get("/nhiem-vu/nv01")
    assert (s1, s2) == (303, 303)
    assert r1.headers["Location"].startswith("/dang-nhap?tiep=/")
    assert r2.headers["Location"] == "/dang-nhap?tiep=/nhiem-vu/nv01"


async def test_login_then_status_matrix(tmp_path: Path) -> None:
    """With the right password the status page shows the matrix, overdue items first."""
    async with running_site(tmp_path) as site:
        assert await site.login() == 303
        status, page, _ = await site.get("/?nam=2026")
    assert status == 200
    assert "Tình hình thực hiện nhiệm vụ năm 2026" in page
    assert "Sở Nội vụ" in page and "Tỷ lệ đúng hạn" in page
    first_overdue = page.find('class="badge overdue"')
    first_in_progress = page.find('class="badge in_progress"')
    assert 0 < first_overdue < first_in_progress  # 1/12/2026: 31/3 is overdue, 15/12 is not


async def test_status_filter_by_agency(tmp_path: Path) -> None:
    """?co-quan= keeps only that agency's items."""
    async with running_site(tmp_path) as site:
        await site.login()
        _, page, _ = await site.get("/?nam=2026&co-quan=so-giao-duc")
    assert "Sở Giáo dục và Đào tạo" in page
    assert "/nhiem-vu/nv01" not in page and "/nhiem-vu/nv04" in page


async def test_wrong_password_refused_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong password gets 403, no session, one WARNING without the password."""
    caplog.set_level(logging.WARNING, logger="reminder.web")
    async with running_site(tmp_path) as site:
        assert await site.login("sai-mat-khau") == 403
        status, _, _ = await site.get("/")
    assert status == 303
    refusals = [r for r in caplog.records if "wrong viewer password" in r.getMessage()]
    assert len(refusals) == 1
    assert "sai-mat-khau" not in caplog.text and WEB_PASSWORD not in caplog.text


async def test_failed_logins_are_limited(tmp_path: Path) -> None:
    """After 5 wrong passwords from one address even the right one is refused (429)."""
    async with running_site(tmp_path) as site:
        for _ in range(5):
            assert await site.login("sai") == 403
        _, page, _ = await site.get("/dang-nhap")
        status, text, r = await site.post(
            "/dang-nhap", {"csrf": csrf_of(page), "mat_khau": WEB_PASSWORD}
        )
    assert status == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "Tạm ngừng đăng nhập" in text


async def test_login_without_csrf_refused(tmp_path: Path) -> None:
    """A login POST without the form's CSRF token is refused (403), even with the password."""
    async with running_site(tmp_path) as site:
        await site.get("/dang-nhap")
        status, text, _ = await site.post("/dang-nhap", {"mat_khau": WEB_PASSWORD})
        after, _, _ = await site.get("/")
    assert status == 403 and "Biểu mẫu không hợp lệ" in text
    assert after == 303


async def test_confirmation_get_changes_nothing(tmp_path: Path) -> None:
    """Opening a confirmation link shows the task, milestone and deadline; nothing is recorded."""
    async with running_site(tmp_path) as site:
        status, page, _ = await site.get(site.confirm_path(LINK))
        await site.get(site.confirm_path(LINK))
        assert _done(site) == {}
    assert status == 200
    assert "Xác nhận đã hoàn thành nhiệm vụ" in page
    assert "Báo cáo kết quả thực hiện trong năm" in page and "15/12/2026" in page
    assert 'name="nguoi"' in page


async def test_confirmation_post_records_once(tmp_path: Path) -> None:
    """The form's POST records the completion with date, reference and name; a second POST
    records nothing more and says it was already recorded."""
    async with running_site(tmp_path) as site:
        path = site.confirm_path(LINK)
        _, page, _ = await site.get(path)
        form = {
            "csrf": csrf_of(page),
            "ngay": "2026-11-28",
            "so_van_ban": "Báo cáo số 12/BC-SNV",
            "nguoi": "Nguyễn Văn An, Chánh Văn phòng",
        }
        status, text, _ = await site.post(path, form)
        events = site.ledger.completions.events("nv01")
        again, text2, _ = await site.post(path, form)
        assert site.ledger.completions.events("nv01") == events
    assert status == 200 and "Đã ghi nhận hoàn thành" in text
    assert len(events) == 1
    e = events[0]
    assert (e.occurrence, e.milestone_id, e.done_on) == ("2026", "bao-cao", date(2026, 11, 28))
    assert e.ref == "Báo cáo số 12/BC-SNV" and "Nguyễn Văn An" in e.by
    assert again == 200 and "đã ghi nhận trước đó" in text2


async def test_confirmation_post_without_csrf_refused(tmp_path: Path) -> None:
    """A POST without (or with another link's) CSRF token is refused with 403; nothing recorded."""
    other = Confirmation("nv02", "2026", "bao-cao", "so-noi-vu", date(2027, 3, 15))
    async with running_site(tmp_path) as site:
        _, other_page, _ = await site.get(site.confirm_path(other))
        form = {"ngay": "2026-11-28", "nguoi": "A"}
        s1, t1, _ = await site.post(site.confirm_path(LINK), form)
        s2, _, _ = await site.post(site.confirm_path(LINK), form | {"csrf": csrf_of(other_page)})
        assert _done(site) == {}
    assert (s1, s2) == (403, 403)
    assert "Biểu mẫu không hợp lệ" in t1


@pytest.mark.parametrize(
    ("field", "value"),
    [("ngay", "2026-12-02"), ("ngay", "31/02/2026"), ("ngay", "2025-12-31"), ("nguoi", "")],
)
async def test_confirmation_bad_form_records_nothing(
    tmp_path: Path, field: str, value: str
) -> None:
    """A future date, an impossible date, a date before the occurrence or no name: 400, the
    form again with the reason, nothing recorded."""
    async with running_site(tmp_path) as site:
        path = site.confirm_path(LINK)
        _, page, _ = await site.get(path)
        form = {"csrf": csrf_of(page), "ngay": "2026-11-28", "nguoi": "Nguyễn Văn An"}
        status, text, _ = await site.post(path, form | {field: value})
        assert _done(site) == {}
    assert status == 400 and 'class="error"' in text


@pytest.mark.parametrize(
    ("token", "code", "title"),
    [
        (lambda links: links.confirmation(LINK)[:-2] + "xx", 403, "Liên kết không hợp lệ"),
        (
            lambda links: Links("khoa-khac-0123456789abcdef").confirmation(LINK),
            403,
            "Liên kết không hợp lệ",
        ),
        (
            lambda links: links.confirmation(
                Confirmation("nv01", "2026", "bao-cao", "so-noi-vu", date(2026, 11, 30))
            ),
            410,
            "Liên kết đã hết hạn",
        ),
        (
            lambda links: links.confirmation(
                Confirmation("nv99", "2026", "bao-cao", "so-noi-vu", date(2027, 3, 15))
            ),
            410,
            "không còn trong kế hoạch",
        ),
    ],
)
async def test_refused_links(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, token: object, code: int, title: str
) -> None:
    """Altered, foreign-secret, expired and stale links get a Vietnamese page with 403/410,
    for GET and POST alike; nothing is recorded; one WARNING for the pair (the second is
    counted into the next minute's line), without the token."""
    caplog.set_level(logging.WARNING, logger="reminder.web")
    async with running_site(tmp_path) as site:
        t = token(site.links)  # type: ignore[operator]
        s1, page, _ = await site.get(f"/xac-nhan/{t}")
        s2, _, _ = await site.post(f"/xac-nhan/{t}", {"ngay": "2026-11-28", "nguoi": "A"})
        assert _done(site) == {}
    assert (s1, s2) == (code, code)
    assert title in page and '<html lang="vi">' in page
    lines = [r.getMessage() for r in caplog.records if r.name == "reminder.web"]
    assert len(lines) == 2 and "1 more request(s)" in lines[1]  # the second: at the end
    assert t not in caplog.text


async def test_task_page_shows_records(tmp_path: Path) -> None:
    """The task page lists the deadlines, the completion record and its author."""
    async with running_site(tmp_path) as site:
        site.ledger.completions.record_done(
            "nv01", "2026", "ke-hoach", date(2026, 4, 2), by="ops:chi", ref="KH 9", now=NOW
        )
        await site.login()
        status, page, _ = await site.get("/nhiem-vu/nv01")
        missing, _, _ = await site.get("/nhiem-vu/nv77")
        named, by_name, _ = await site.get("/nhiem-vu/ke-hoach/1")  # <plan>/<number>
    assert status == 200 and missing == 404
    assert named == 200 and "Nhiệm vụ số 1" in by_name
    assert "Nhiệm vụ số 1" in page and "31/03/2026" in page
    assert "hoàn thành ngày 02/04/2026" in page and "ops:chi" in page


async def test_calendar_feed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agency's feed opens with its signed key only; UIDs are stable and SEQUENCE rises
    when an item is recorded as done, whose summary then says so."""
    monkeypatch.setattr(pages, "FEED_TTL", 0.0)  # rebuild at every request
    async with running_site(tmp_path) as site:
        key = site.links.feed_key("so-noi-vu")
        bad, _, _ = await site.get("/lich/so-noi-vu.ics?k=" + site.links.feed_key("so-giao-duc"))
        none, _, _ = await site.get("/lich/so-noi-vu.ics")
        status, first, r = await site.get(f"/lich/so-noi-vu.ics?k={key}")
        _, second, _ = await site.get(f"/lich/so-noi-vu.ics?k={key}")
        site.ledger.completions.record_done(
            "nv01", "2026", "bao-cao", date(2026, 11, 30), by="ops", now=NOW
        )
        _, third, _ = await site.get(f"/lich/so-noi-vu.ics?k={key}")
    assert (bad, none, status) == (403, 403, 200)
    assert r.headers["Content-Type"].startswith("text/calendar")
    events = [icalendar.Calendar.from_ical(t).walk("VEVENT") for t in (first, second, third)]
    uids = [sorted(str(e["UID"]) for e in evs) for evs in events]
    assert uids[0] == uids[1] == uids[2]
    uid = "nv01.2026.bao-cao@nhachan"
    before = next(e for e in events[0] if str(e["UID"]) == uid)
    after = next(e for e in events[2] if str(e["UID"]) == uid)
    assert before["DTSTART"].dt == date(2026, 12, 15)
    assert (int(before["SEQUENCE"]), int(after["SEQUENCE"])) == (0, 1)
    assert "Đã hoàn thành" in str(after["SUMMARY"]) and not after.walk("VALARM")
    assert len(before.walk("VALARM")) >= 3


async def test_calendar_feed_is_cached(tmp_path: Path) -> None:
    """Within FEED_TTL the same feed is served again without being rebuilt: the completion
    recorded in between shows only once the cache expires."""
    async with running_site(tmp_path) as site:
        key = site.links.feed_key("so-noi-vu")
        _, first, _ = await site.get(f"/lich/so-noi-vu.ics?k={key}")
        site.ledger.completions.record_done(
            "nv01", "2026", "bao-cao", date(2026, 11, 30), by="ops", now=NOW
        )
        _, second, _ = await site.get(f"/lich/so-noi-vu.ics?k={key}")
    assert second == first and "Đã hoàn thành" not in second
