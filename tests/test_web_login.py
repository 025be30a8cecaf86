"""Failed logins back off per real client, never for the whole office (issue 19, item 1):
the client's address comes from X-Forwarded-For / X-Real-IP only when the direct peer is a
trusted proxy, and the shipped nginx example sends those headers."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import aiohttp
import pytest
from webtools import WEB_PASSWORD, WEB_SECRET, WebSite, csrf_of, running_site

from reminder.config import load
from reminder.web.guard import LoginLimiter, real_client

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
PROXY = (ipaddress.ip_network("10.0.0.5/32"),)


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


async def _login(
    site: WebSite,
    password: str,
    headers: dict[str, str],
    client: aiohttp.ClientSession | None = None,
) -> int:
    """One login through the form, the requests carrying `headers`; the POST's status."""
    session = client or site.client
    async with session.get(site.base + "/dang-nhap", headers=headers) as r:
        page = await r.text()
    form = {"csrf": csrf_of(page), "mat_khau": password, "tiep": "/"}
    async with session.post(
        site.base + "/dang-nhap", data=form, headers=headers, allow_redirects=False
    ) as r:
        return r.status


async def test_client_a_failing_20_times_does_not_stop_client_b(tmp_path: Path) -> None:
    """Behind the proxy (behind_proxy = true, peer 127.0.0.1): client A gets the password
    wrong 20 times and is held back; client B logs in at once with the right one."""
    a = {"X-Forwarded-For": "203.0.113.7"}
    b = {"X-Forwarded-For": "198.51.100.9", "X-Real-IP": "198.51.100.9"}
    async with running_site(tmp_path, web_extra="behind_proxy = true\n") as site:
        answers = [await _login(site, "sai-mat-khau", a) for _ in range(20)]
        b_status = await _login(site, WEB_PASSWORD, b)
        async with site.client.get(site.base + "/?nam=2026", allow_redirects=False) as r:
            b_sees = r.status
        a_status = await _login(site, WEB_PASSWORD, a)
    assert answers == [403] * 5 + [429] * 15
    assert (b_status, b_sees) == (303, 200)
    assert a_status == 429


async def test_x_real_ip_alone_names_the_client(tmp_path: Path) -> None:
    """A proxy that sends only X-Real-IP: the clients are still told apart."""
    async with running_site(tmp_path, web_extra="behind_proxy = true\n") as site:
        for _ in range(6):
            await _login(site, "sai", {"X-Real-IP": "203.0.113.7"})
        b = await _login(site, WEB_PASSWORD, {"X-Real-IP": "198.51.100.9"})
    assert b == 303


async def test_forged_forwarded_for_from_untrusted_peer_ignored(tmp_path: Path) -> None:
    """Without behind_proxy / trusted_proxies a peer's X-Forwarded-For is ignored: changing it
    at every try does not escape the limit, and the right password is then refused too."""
    async with running_site(tmp_path) as site:
        answers = [
            await _login(site, "sai", {"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(8)
        ]
        last = await _login(site, WEB_PASSWORD, {"X-Forwarded-For": "192.0.2.200"})
    assert answers == [403] * 5 + [429] * 3
    assert last == 429


async def test_only_the_named_proxy_is_trusted(tmp_path: Path) -> None:
    """trusted_proxies = ["127.0.0.2"]: that peer's header is believed; a forged header from
    peer 127.0.0.3 is ignored (its guesses all count against 127.0.0.3)."""
    extra = 'trusted_proxies = ["127.0.0.2"]\n'
    async with running_site(tmp_path, web_extra=extra) as site:

        def from_(address: str) -> aiohttp.ClientSession:
            connector = aiohttp.TCPConnector(local_addr=(address, 0))
            return aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)
            )

        async with from_("127.0.0.3") as forger, from_("127.0.0.2") as proxy:
            forged = [
                await _login(site, "sai", {"X-Forwarded-For": f"198.51.100.{n}"}, forger)
                for n in range(6)
            ]
            via_proxy = await _login(site, WEB_PASSWORD, {"X-Forwarded-For": "198.51.100.1"}, proxy)
    assert forged == [403] * 5 + [429]
    assert via_proxy == 303


@pytest.mark.parametrize(
    ("peer", "xff", "real_ip", "trusted", "client"),
    [
        ("198.51.100.1", ["203.0.113.7"], None, LOOPBACK, "198.51.100.1"),  # untrusted peer
        ("127.0.0.1", ["203.0.113.7"], None, (), "127.0.0.1"),  # nothing trusted
        ("127.0.0.1", ["203.0.113.7"], None, LOOPBACK, "203.0.113.7"),
        ("127.0.0.1", [], "203.0.113.7", LOOPBACK, "203.0.113.7"),  # X-Real-IP only
        ("127.0.0.1", [], None, LOOPBACK, "127.0.0.1"),  # no header: the proxy itself
        ("127.0.0.1", ["1.2.3.4, 203.0.113.7"], None, LOOPBACK, "203.0.113.7"),  # forged left
        ("127.0.0.1", ["1.2.3.4", "203.0.113.7"], None, LOOPBACK, "203.0.113.7"),  # two headers
        ("10.0.0.5", ["203.0.113.7, 127.0.0.1"], None, PROXY + LOOPBACK, "203.0.113.7"),
        ("10.0.0.5", ["bogus, 203.0.113.7"], None, PROXY, "203.0.113.7"),
        ("10.0.0.5", ["203.0.113.7, bogus"], None, PROXY, "10.0.0.5"),  # garbage: stop there
        ("10.0.0.6", ["203.0.113.7"], None, PROXY, "10.0.0.6"),
        ("::ffff:127.0.0.1", ["2001:db8::7"], None, LOOPBACK, "2001:db8::7"),
        ("::1", ["[2001:db8::7]"], None, LOOPBACK, "2001:db8::7"),
        (None, ["203.0.113.7"], None, LOOPBACK, "?"),
    ],
)
def test_real_client_table(
    peer: str | None,
    xff: list[str],
    real_ip: str | None,
    trusted: tuple[ipaddress.IPv4Network, ...],
    client: str,
) -> None:
    """The client address from the peer and the forwarded headers, trusted or not."""
    assert real_client(peer, xff, real_ip, trusted) == client


def test_backoff_doubles_per_client() -> None:
    """After 5 free failures a client waits 60 s, then 120, 240 … at most the 900 s window."""
    limiter = LoginLimiter()
    waits = []
    for n in range(10):
        limiter.failed("a", now=float(n))
        waits.append(limiter.retry_after("a", now=float(n)))
    assert waits == [0, 0, 0, 0, 60, 120, 240, 480, 900, 900]
    assert limiter.retry_after("b", now=9.0) == 0
    assert limiter.retry_after("a", now=9.0 + 900) == 0


def test_account_pressure_holds_back_failed_clients_only() -> None:
    """Guessing from 40 addresses: each that failed waits the window; a clean client does not."""
    limiter = LoginLimiter()
    for n in range(40):
        limiter.failed(f"10.1.0.{n}", now=1.0)
    assert limiter.retry_after("10.1.0.3", now=2.0) == 899.0
    assert limiter.retry_after("10.9.9.9", now=2.0) == 0


def test_limiter_table_stays_bounded() -> None:
    """A flood of addresses cannot grow the table past max_clients."""
    limiter = LoginLimiter(max_clients=100)
    for n in range(1000):
        limiter.failed(f"c{n}", now=float(n))
    assert len(limiter.failures) <= 100 and "c999" in limiter.failures


@pytest.mark.parametrize("guide", ["install.md", "install.vi.md"])
def test_shipped_nginx_example_forwards_the_client(guide: str) -> None:
    """The guide's nginx site sends X-Forwarded-For and X-Real-IP, and its [web] block sets
    behind_proxy = true, which the config reader accepts."""
    text = (ROOT / "docs" / guide).read_text(encoding="utf-8")
    nginx = re.search(r"~~~nginx\n(.*?)~~~", text, re.S)
    web = re.search(r"~~~toml\n(\[web\]\n.*?)~~~", text, re.S)
    assert nginx and web
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx.group(1)
    assert "proxy_set_header X-Real-IP $remote_addr;" in nginx.group(1)
    assert re.search(r"^behind_proxy = true", web.group(1), re.M)


def test_trusted_proxies_config(tmp_path: Path) -> None:
    """behind_proxy trusts loopback; trusted_proxies adds networks; a bad entry is an error."""
    from helpers import write_config

    from reminder.config import ConfigError

    path = write_config(tmp_path)
    with path.open("a", encoding="utf-8") as f:
        f.write('\n[web]\nbehind_proxy = true\ntrusted_proxies = ["10.0.0.5", "fd00::/64"]\n')
    nets = load(path).web.trusted_proxies  # type: ignore[union-attr]
    assert [str(n) for n in nets] == ["127.0.0.0/8", "::1/128", "10.0.0.5/32", "fd00::/64"]
    path.write_text(
        path.read_text(encoding="utf-8").replace('"fd00::/64"', '"proxy.tinh"'), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"trusted_proxies.*proxy\.tinh"):
        load(path)
