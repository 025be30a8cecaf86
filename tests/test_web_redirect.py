"""Where the login sends the browser afterwards (`tiep=`): only a path on this site, never
another host however the address is dressed up (issue 19, item 2)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from webtools import WEB_PASSWORD, WEB_SECRET, csrf_of, running_site

from reminder.web.guard import same_site_path

OFF_SITE = [
    "//example.org",
    "///example.org",
    "/\\example.org",
    "\\\\example.org",
    "/\t/example.org",
    "\t//example.org",
    " //example.org",
    "/ /example.org",
    "/\n/example.org",
    "/\r\n/example.org",
    "/\x00/example.org",
    "https://example.org",
    "https:/example.org",
    "http:example.org",
    "HTTPS://example.org/",
    "javascript:alert(1)",
    "data:text/html,x",
    "example.org",
    "%2F%2Fexample.org",
    "/%2F%2Fexample.org",
    "/%2f/example.org",
    "/%09/example.org",
    "/%0d%0a/example.org",
    "/%0d%0aLocation:%20https://example.org",
    "/%5Cexample.org",
    "%5C%5Cexample.org",
    "/%252F%252Fexample.org",
    "/%25252F%25252Fexample.org",
    "/\u2215\u2215example.org",  # division slash
    "/\uff0f\uff0fexample.org",  # fullwidth solidus
    "/\u2044example.org",  # fraction slash
    "/\uff3cexample.org",  # fullwidth reverse solidus
    "/%E2%88%95%E2%88%95example.org",
    "/%EF%BC%8F%EF%BC%8Fexample.org",
    "/%C0%AF/example.org",  # overlong UTF-8 "/"
    "",
]
ON_SITE = ["/", "/nhiem-vu/nv01", "/?nam=2026&co-quan=so-noi-vu", "/?nam=2026"]


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


@pytest.mark.parametrize("target", OFF_SITE)
def test_off_site_target_becomes_home(target: str) -> None:
    """Each way off the site (scheme, //, backslash, tab, CR/LF, encoded, unicode slash) → "/"."""
    assert same_site_path(target) == "/"


@pytest.mark.parametrize("target", ON_SITE)
def test_on_site_target_kept(target: str) -> None:
    """A path of this site (with its query) is kept as it is."""
    assert same_site_path(target) == target


async def test_login_lands_on_home_for_every_off_site_target(tmp_path: Path) -> None:
    """Logging in with each off-site `tiep` (form field and query) redirects to "/" and the
    login form carries "/" onward; an on-site path is followed."""
    wrong: list[str] = []
    async with running_site(tmp_path) as site:
        for target in [*OFF_SITE, *ON_SITE]:
            _, page, _ = await site.get("/dang-nhap?tiep=" + quote(target, safe=""))
            expected = target if target in ON_SITE else "/"
            carried = f'name="tiep" value="{expected}"'.replace("&", "&amp;")
            if carried not in page:
                wrong.append(f"form for {target!r}")
            form = {"csrf": csrf_of(page), "mat_khau": WEB_PASSWORD, "tiep": target}
            status, _, r = await site.post("/dang-nhap", form)
            if status != 303 or r.headers["Location"] != expected:
                wrong.append(f"{target!r} → {status} {r.headers.get('Location')}")
    assert len(OFF_SITE) >= 25
    assert wrong == []
