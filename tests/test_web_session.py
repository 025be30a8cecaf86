"""Viewer sessions are kept by the server (issue 19, item 3): logging out ends them (the old
cookie no longer opens a page), they expire when idle and at an absolute age, and the
cookie is HttpOnly, SameSite=Lax and Secure when the pages are reached over https."""

from __future__ import annotations

from http.cookies import SimpleCookie
from pathlib import Path

import aiohttp
import pytest
from webtools import WEB_PASSWORD, WEB_SECRET, WebSite, csrf_of, running_site
from yarl import URL

from reminder.web.guard import FORM_COOKIE, SESSION_COOKIE
from reminder.web.server import SESSIONS
from reminder.web.sessions import Sessions


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _session_cookie(site: WebSite) -> str:
    cookies = site.client.cookie_jar.filter_cookies(URL(site.base))
    return cookies[SESSION_COOKIE].value


async def _with_cookie(site: WebSite, cookie: str) -> int:
    """The status of GET / from a fresh client that sends only `cookie` as its session."""
    async with (
        aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie}) as other,
        other.get(site.base + "/", allow_redirects=False) as r,
    ):
        return r.status


async def test_logout_ends_the_session(tmp_path: Path) -> None:
    """After logging out, the old cookie (replayed from elsewhere) opens nothing."""
    async with running_site(tmp_path) as site:
        await site.login()
        cookie = _session_cookie(site)
        before = await _with_cookie(site, cookie)
        _, page, _ = await site.get("/")
        status, _, r = await site.post("/dang-xuat", {"csrf": csrf_of(page)})
        after = await _with_cookie(site, cookie)
        own, _, _ = await site.get("/")
    assert before == 200
    assert (status, r.headers["Location"]) == (303, "/dang-nhap")
    assert (after, own) == (303, 303)


async def test_session_expires_when_idle_and_when_old(tmp_path: Path) -> None:
    """30 minutes without a request end a session; use keeps it alive, but never past 12 h."""
    async with running_site(tmp_path) as site:
        clock = FakeClock()
        site.app[SESSIONS].clock = clock
        await site.login()
        cookie = _session_cookie(site)
        seen = []
        for _ in range(30):  # a request every 25 minutes: 12.5 hours in all
            clock.now += 25 * 60
            seen.append(await _with_cookie(site, cookie))
        await site.login()
        idle = _session_cookie(site)
        clock.now += 30 * 60 + 1
        idle_after = await _with_cookie(site, idle)
    assert seen[:28] == [200] * 28  # 28 × 25 min = 11 h 40 min
    assert seen[28:] == [303, 303]  # 12 h 05 min: past the absolute limit
    assert idle_after == 303


async def test_new_login_replaces_the_session(tmp_path: Path) -> None:
    """Logging in again gives a new cookie and ends the one sent with the login."""
    async with running_site(tmp_path) as site:
        await site.login()
        first = _session_cookie(site)
        await site.login()
        second = _session_cookie(site)
        old, new = await _with_cookie(site, first), await _with_cookie(site, second)
    assert first != second
    assert (old, new) == (303, 200)


def _set_cookie(r: aiohttp.ClientResponse) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in r.headers.getall("Set-Cookie"):
        jar.load(header)
    return jar


async def _login_answer(site: WebSite, headers: dict[str, str]) -> aiohttp.ClientResponse:
    """Log in by hand (a Secure form cookie would not go back over plain http by itself)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as client:
        async with client.get(site.base + "/dang-nhap", headers=headers) as r:
            page, nonce = await r.text(), _set_cookie(r)[FORM_COOKIE].value
        form = {"csrf": csrf_of(page), "mat_khau": WEB_PASSWORD, "tiep": "/"}
        with_cookie = headers | {"Cookie": f"{FORM_COOKIE}={nonce}"}
        async with client.post(
            site.base + "/dang-nhap", data=form, headers=with_cookie, allow_redirects=False
        ) as r:
            return r


@pytest.mark.parametrize(
    ("public_url", "extra", "headers", "secure"),
    [
        ("", "", {}, False),
        ("https://nhachan.tinh.example", "", {}, True),
        ("", "behind_proxy = true\n", {"X-Forwarded-Proto": "https"}, True),
        ("", "behind_proxy = true\n", {}, False),
        ("", "", {"X-Forwarded-Proto": "https"}, False),  # not from a trusted proxy
    ],
)
async def test_session_cookie_attributes(
    tmp_path: Path, public_url: str, extra: str, headers: dict[str, str], secure: bool
) -> None:
    """HttpOnly and SameSite=Lax always, a lifetime of 12 h, Secure exactly over https."""
    async with running_site(tmp_path, public_url=public_url, web_extra=extra) as site:
        r = await _login_answer(site, headers)
    morsel = _set_cookie(r)[SESSION_COOKIE]
    assert r.status == 303
    assert morsel["httponly"] and morsel["samesite"] == "Lax"
    assert morsel["max-age"] == str(12 * 3600)
    assert bool(morsel["secure"]) is secure
    assert len(morsel.value) >= 40 and WEB_PASSWORD not in morsel.value


def test_sessions_unit() -> None:
    """A session is refused after idle/absolute limits, a password change, close(), or for a
    made-up token; the table stays bounded."""
    clock = FakeClock()
    sessions = Sessions(idle=60, absolute=300, max_sessions=3, clock=clock)
    token = sessions.open("mk-1")
    assert sessions.check(token, "mk-1")
    assert not sessions.check(token + "x", "mk-1") and not sessions.check("", "mk-1")
    assert not sessions.check(token, "mk-2")  # the password changed: gone for good
    assert not sessions.check(token, "mk-1")
    token = sessions.open("mk-1")
    clock.now += 61
    assert not sessions.check(token, "mk-1")
    token = sessions.open("mk-1")
    sessions.close(token)
    assert not sessions.check(token, "mk-1")
    tokens = [sessions.open("mk-1") for _ in range(5)]
    assert len(sessions.open_) == 3
    assert sessions.check(tokens[-1], "mk-1") and not sessions.check(tokens[0], "mk-1")
