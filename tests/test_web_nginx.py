"""The guide's nginx site in front of the pages (docs/install.md, 11a), run for real: it
forwards each client's address, so one client's wrong passwords do not hold back another
(issue 19, item 1). Skipped, saying why, where nginx is not installed."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from webtools import WEB_PASSWORD, WEB_SECRET, csrf_of, running_site

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def guide_site(port: int, upstream: int) -> str:
    """The guide's first nginx `server` block, on plain http at 127.0.0.1:`port` (TLS is
    the certificate's business, not this test's) and proxying to `upstream`."""
    text = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    block = re.search(r"~~~nginx\n(server \{.*?\n\})\n", text, re.S)
    assert block, "docs/install.md has no nginx server block"
    site = block.group(1)
    site, listens = re.subn(r"listen 443 ssl[^;]*;", f"listen 127.0.0.1:{port};", site)
    assert listens == 1
    site = re.sub(r"\n\s*(http2 on|ssl_certificate\S*\s+\S+);", "", site)
    # Plain http here: say so, or the daemon (rightly) marks its cookies Secure.
    site = site.replace("X-Forwarded-Proto https;", "X-Forwarded-Proto $scheme;")
    site, proxied = re.subn(
        r"proxy_pass http://127\.0\.0\.1:8765;", f"proxy_pass http://127.0.0.1:{upstream};", site
    )
    assert proxied == 1
    return site


@contextmanager
def nginx(folder: Path, site: str, port: int) -> Iterator[None]:
    """nginx in the foreground with `site`, everything it writes under `folder`."""
    temp = "\n".join(
        f"  {kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        f"daemon off;\nmaster_process off;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\nevents {{}}\nhttp {{\n{temp}\n"
        f"  uwsgi_temp_path {folder}/uwsgi;\n  scgi_temp_path {folder}/scgi;\n{site}\n}}\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr else ""
                    log = (folder / "error.log").read_text(errors="replace")
                    raise AssertionError(f"nginx did not start: {err} {log}") from None
                time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(10)


async def _login(base: str, source: str, password: str, forged: str = "") -> int:
    """A login through nginx from the local address `source` (optionally with a forged
    X-Forwarded-For of its own); the POST's status."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    headers = {"X-Forwarded-For": forged} if forged else {}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as client:
        async with client.get(base + "/dang-nhap", headers=headers) as r:
            page = await r.text()
        form = {"csrf": csrf_of(page), "mat_khau": password, "tiep": "/"}
        async with client.post(
            base + "/dang-nhap", data=form, headers=headers, allow_redirects=False
        ) as r:
            return r.status


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx not installed (apt-get install nginx)")
async def test_guide_nginx_forwards_each_client(tmp_path: Path) -> None:
    """Through the guide's nginx: client A (127.0.0.2) fails 20 times, forging a new
    X-Forwarded-For each time, and is held back; client B (127.0.0.3) logs in at once.

    The daemon trusts only nginx's own address (trusted_proxies = ["127.0.0.1"]): here the
    clients are on loopback too, which behind_proxy = true would trust as proxies."""
    port = _free_port()
    extra = 'trusted_proxies = ["127.0.0.1/32"]\n'
    (tmp_path / "site").mkdir()
    async with running_site(tmp_path / "site", web_extra=extra) as site:
        upstream = int(site.base.rsplit(":", 1)[1])
        folder = tmp_path / "nginx"
        folder.mkdir()
        with nginx(folder, guide_site(port, upstream), port):
            base = f"http://127.0.0.1:{port}"
            a = [await _login(base, "127.0.0.2", "sai", f"198.51.100.{n}") for n in range(20)]
            b = await _login(base, "127.0.0.3", WEB_PASSWORD)
            a_right = await _login(base, "127.0.0.2", WEB_PASSWORD, "198.51.100.200")
    assert a == [403] * 5 + [429] * 15
    assert b == 303
    assert a_right == 429
