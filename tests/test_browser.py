"""The pages in a real headless browser (Debian's chromium + chromedriver, Selenium 4): the
status page after logging in, a confirmation by its e-mail link, and a refusal page.

In CI (CI=true) a missing browser fails these tests; elsewhere they are skipped, saying why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from webtools import WEB_PASSWORD, WEB_SECRET, site_in_thread

from reminder.links import Confirmation, Links

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LINK = Confirmation("nv01", "2026", "bao-cao", "so-noi-vu", date(2027, 3, 15))


def _submit(d: WebDriver) -> None:
    """Clicks the form's button and waits until the answer page has replaced the form page.

    Without the wait, `find_element` can return the old page's heading and reading its text
    then fails as a stale element while the browser navigates.
    """
    button = d.find_element(By.CSS_SELECTOR, "form.card button")
    button.click()
    WebDriverWait(d, 10).until(expected_conditions.staleness_of(button))


def _browser_missing() -> str:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    return (
        f"{', '.join(missing)} not installed (apt-get install chromium chromium-driver)"
        if missing
        else ""
    )


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """A headless Chromium driven through /usr/bin/chromedriver."""
    reason = _browser_missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need a browser in CI: {reason}")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1280,1600",
        "--lang=en-US",  # the date field must not follow the browser's language
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def test_status_page_in_browser(browser: WebDriver, tmp_path: Path) -> None:
    """Logging in through the form shows the matrix with its coloured classes and the chart."""
    d = browser
    with site_in_thread(tmp_path) as (base, _settings, _ledger):
        d.get(base + "/?nam=2026")
        assert "/dang-nhap" in d.current_url
        d.find_element(By.ID, "mat_khau").send_keys(WEB_PASSWORD)
        _submit(d)
        heading = d.find_element(By.TAG_NAME, "h1").text
        overdue = d.find_elements(By.CSS_SELECTOR, ".badge.overdue")
        colour = overdue[0].value_of_css_property("background-color")
        chart = d.find_elements(By.CSS_SELECTOR, "svg.chart rect")
        d.save_screenshot(str(tmp_path / "status.png"))
    assert heading == "Tình hình thực hiện nhiệm vụ năm 2026"
    assert overdue and colour == "rgba(198, 40, 40, 1)"  # the stylesheet loaded under the CSP
    assert chart


def test_confirmation_in_browser(browser: WebDriver, tmp_path: Path) -> None:
    """Opening the e-mail link and submitting the form records the completion once."""
    d = browser
    with site_in_thread(tmp_path) as (base, _settings, ledger):
        d.get(f"{base}/xac-nhan/{Links(WEB_SECRET).confirmation(LINK)}")
        assert ledger.completions.current() == {}
        d.find_element(By.ID, "so_van_ban").send_keys("Báo cáo số 12/BC-SNV")
        d.find_element(By.ID, "nguoi").send_keys("Nguyễn Văn An")
        _submit(d)
        heading = d.find_element(By.TAG_NAME, "h1").text
        done = ledger.completions.current()
    assert heading == "Đã ghi nhận hoàn thành"
    assert list(done) == [("nv01", "2026", "bao-cao")]
    assert done[("nv01", "2026", "bao-cao")].ref == "Báo cáo số 12/BC-SNV"


def test_refusal_page_in_browser(browser: WebDriver, tmp_path: Path) -> None:
    """An altered link shows the Vietnamese refusal page and records nothing."""
    d = browser
    token = Links(WEB_SECRET).confirmation(LINK)
    with site_in_thread(tmp_path) as (base, _settings, ledger):
        d.get(f"{base}/xac-nhan/{token[:-3]}abc")
        heading = d.find_element(By.TAG_NAME, "h1").text
        forms = d.find_elements(By.TAG_NAME, "form")
        done = ledger.completions.current()
    assert heading == "Liên kết không hợp lệ"
    assert forms == [] and done == {}


PHONE = (390, 844)
FITS = """
const width = window.innerWidth;
const wide = [...document.querySelectorAll('table, svg, form, select, input, pre')]
  .filter(e => e.getBoundingClientRect().right > width + 0.5)
  .map(e => e.tagName + '.' + e.className.baseVal + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
return [document.documentElement.scrollWidth, width, wide];
"""


def _fits(d: WebDriver, path: Path) -> tuple[int, int, list[str]]:
    """Screenshot to `path`; (page scrollWidth, viewport width, elements past the right edge)."""
    d.save_screenshot(str(path))
    scroll, width, wide = d.execute_script(FITS)
    return int(scroll), int(width), list(wide)


def test_pages_fit_a_phone(browser: WebDriver, tmp_path: Path) -> None:
    """At 390×844 (a phone) no page is wider than the screen: status, task, confirmation,
    login and the 404 page; no table, chart or form runs past the right edge; the date
    field reads 01/12/2026 (an English browser's date input would show 12/01/2026)."""
    d = browser
    d.set_window_size(*PHONE)
    d.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": False},
    )
    shots = Path(os.environ.get("REMINDER_SHOTS", str(tmp_path)))
    with site_in_thread(tmp_path) as (base, _settings, _ledger):
        d.get(base + "/dang-nhap")
        seen = {"login": _fits(d, shots / "phone-login.png")}
        d.find_element(By.ID, "mat_khau").send_keys(WEB_PASSWORD)
        _submit(d)
        d.get(base + "/?nam=2026")
        seen["status"] = _fits(d, shots / "phone-status.png")
        d.get(base + "/nhiem-vu/nv01")
        seen["task"] = _fits(d, shots / "phone-task.png")
        d.get(f"{base}/xac-nhan/{Links(WEB_SECRET).confirmation(LINK)}")
        seen["confirm"] = _fits(d, shots / "phone-confirm.png")
        day = d.find_element(By.ID, "ngay")
        shown = (day.get_attribute("type"), day.get_attribute("value"))
        d.get(f"{base}/khong-co-trang-nay")
        seen["404"] = _fits(d, shots / "phone-404.png")
    assert shown == ("text", "01/12/2026")  # ngày/tháng/năm, not the browser's 12/01/2026
    for page, (scroll, width, wide) in seen.items():
        assert width == PHONE[0], page
        assert scroll <= width and wide == [], f"{page} is wider than the phone: {scroll} {wide}"
