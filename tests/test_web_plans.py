"""The status page for an office running several plans (issue 20): the office's view (each
plan's counts and who is late in it; per agency, the plans it is late in) and one plan's
view (?ke-hoach=<id>); a task page says which plan it belongs to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from webtools import WEB_PASSWORD, WEB_SECRET, running_site

SECOND = """[plan]
id = "kh-b"
title = "Kế hoạch chuyển đổi số năm 2026"
issuer = "Ủy ban nhân dân tỉnh An Giang"
number = "12/KH-UBND"
signed_on = 2026-01-05
period = "2026–2030"

[[tasks]]
number = "1"
title = "Báo cáo kết quả chuyển đổi số sáu tháng"
timing = "Hằng năm"
lead = "so-tai-chinh"

[[tasks.milestones]]
id = "bao-cao"
name = "Báo cáo"
due = "15/06"

[[tasks]]
number = "2"
title = "Tổng kết chuyển đổi số cả năm"
timing = "Hằng năm"
lead = "so-noi-vu"

[[tasks.milestones]]
id = "bao-cao"
name = "Báo cáo"
due = "25/12"
"""


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def _row(page: str, table_class: str, heading: str) -> str:
    """The <tr> of the table `table_class` whose row heading contains `heading`."""
    table = re.search(rf'<table class="{table_class}">.*?</table>', page, re.S)
    assert table, f"no table {table_class}"
    for row in re.findall(r"<tr>.*?</tr>", table.group(), re.S):
        if heading in row:
            return row
    raise AssertionError(f"no row {heading!r} in {table_class}")


def _cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


async def test_office_view_says_who_is_late_in_which_plan(tmp_path: Path) -> None:
    """With two plans the page lists both with their counts and the agencies late in each,
    and the agency matrix names, per agency, the plans it is late in (a link to that view)."""
    async with running_site(tmp_path, plans={"kh-b.toml": SECOND}) as site:
        await site.login()
        status, page, _ = await site.get("/?nam=2026")
    assert status == 200
    assert "Hệ thống nhắc hạn thực hiện nhiệm vụ các kế hoạch" in page
    assert '<select id="ke-hoach" name="ke-hoach">' in page
    assert '<option value="kh-b">Kế hoạch số 12/KH-UBND</option>' in page
    b_row = _row(page, "matrix plans", "Kế hoạch số 12/KH-UBND")
    # kh-b/1 (15/06) is overdue at 01/12/2026, kh-b/2 (25/12) in progress
    assert _cells(b_row)[:2] == ["1", "1"]
    assert _cells(b_row)[-1] == "Sở Tài chính (1)"
    seed_row = _row(page, "matrix plans", "Kế hoạch phát triển nguồn nhân lực")
    assert "Sở Tài chính" not in _cells(seed_row)[-1] or "kh-b" not in seed_row
    finance = _row(page, "matrix", '<th scope="row">Sở Tài chính</th>')
    assert '<a href="/?nam=2026&amp;ke-hoach=kh-b&amp;co-quan=so-tai-chinh">' in finance
    assert '<td data-label="Kế hoạch">Kế hoạch số 12/KH-UBND</td>' in page


async def test_one_plan_view_shows_only_its_tasks(tmp_path: Path) -> None:
    """?ke-hoach=kh-b shows that plan's title and only its items; an unknown plan id shows
    the whole office, as no filter does."""
    async with running_site(tmp_path, plans={"kh-b.toml": SECOND}) as site:
        await site.login()
        _, one, _ = await site.get("/?nam=2026&ke-hoach=kh-b")
        _, unknown, _ = await site.get("/?nam=2026&ke-hoach=khong-co")
        _, office, _ = await site.get("/?nam=2026")
    links = set(re.findall(r'<a href="/nhiem-vu/([^"]+)">', one))
    assert links == {"kh-b/1", "kh-b/2"}
    assert "Kế hoạch số 12/KH-UBND: Kế hoạch chuyển đổi số năm 2026" in one
    assert "Tổng hợp theo kế hoạch" not in one
    assert '<option value="kh-b" selected>' in one
    assert unknown == office and "Tổng hợp theo kế hoạch" in office
    assert len(set(re.findall(r'<a href="/nhiem-vu/([^"]+)">', office))) > len(links)


async def test_task_page_names_its_plan_and_one_plan_has_no_plan_filter(tmp_path: Path) -> None:
    """A task of the second plan says which plan it belongs to; the shipped office with one
    plan shows no plan filter, no plan table and its plan's title in the header."""
    (tmp_path / "two").mkdir()
    (tmp_path / "one").mkdir()
    async with running_site(tmp_path / "two", plans={"kh-b.toml": SECOND}) as site:
        await site.login()
        status, task, _ = await site.get("/nhiem-vu/kh-b/1")
    assert status == 200
    assert "Thuộc Kế hoạch số 12/KH-UBND ngày 05/01/2026: Kế hoạch chuyển đổi số năm 2026" in task
    async with running_site(tmp_path / "one") as site:
        await site.login()
        _, page, _ = await site.get("/?nam=2026")
    assert 'name="ke-hoach"' not in page and "Tổng hợp theo kế hoạch" not in page
    assert "Chậm, quá hạn trong kế hoạch" not in page
    assert "Hệ thống nhắc hạn thực hiện Kế hoạch phát triển nguồn nhân lực" in page
