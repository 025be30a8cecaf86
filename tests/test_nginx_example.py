"""The nginx site of docs/install.md (and its Vietnamese twin) passes `nginx -t` (issue 24 item 2).

Debian 12 ships nginx 1.22, which has no `http2 on;` (1.25.1+): the example must be written
for it. Each ~~~nginx block of the guides is wrapped in a minimal nginx.conf (temp paths,
pid and logs in tmp_path) with a throw-away self-signed certificate in place of the
office's, and checked with the nginx installed on the machine. Outside CI a machine without
nginx skips with one line; in CI (.ci/run installs nginx) it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def nginx_blocks(name: str) -> list[str]:
    """The ~~~nginx (or ```nginx) blocks of docs/`name`."""
    text = (DOCS / name).read_text(encoding="utf-8")
    return re.findall(r"^(?:~~~|```)nginx\n(.*?)^(?:~~~|```)$", text, flags=re.M | re.S)


def _nginx() -> str:
    if not os.access(NGINX, os.X_OK):
        if _in_ci():
            pytest.fail("CI: nginx must be installed (.ci/run installs it)", pytrace=False)
        pytest.skip("nginx not installed (Debian package `nginx`): the example is not checked")
    return NGINX


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate and key for the example's server name."""
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=nhachan.tinh.example", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def nginx_test(site: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on `site` inside a minimal nginx.conf whose files all live in `folder`."""
    cert, key = _certificate(folder)
    site = site.replace("/etc/ssl/nhachan/fullchain.pem", str(cert))
    site = site.replace("/etc/ssl/nhachan/privkey.pem", str(key))
    temps = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (folder / "site.conf").write_text(site, encoding="utf-8")
    conf = folder / "nginx.conf"
    conf.write_text(
        f"pid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'};\n"
        "events {}\n"
        "http {\n"
        f"    access_log {folder / 'access.log'};\n"
        f"{temps}\n"
        f"    include {folder / 'site.conf'};\n"
        "}\n",
        encoding="utf-8",
    )
    return subprocess.run(
        [_nginx(), "-t", "-q", "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("guide", ["install.md", "install.vi.md"])
def test_the_guides_nginx_site_passes_nginx_t(tmp_path: Path, guide: str) -> None:
    """Each guide's nginx example is accepted by the installed nginx (`nginx -t`)."""
    blocks = nginx_blocks(guide)
    assert len(blocks) == 1, f"{guide}: expected one nginx example"
    done = nginx_test(blocks[0], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "[emerg]" not in done.stderr and "[warn]" not in done.stderr, done.stderr


def test_nginx_t_catches_what_debians_nginx_rejects(tmp_path: Path) -> None:
    """The check can fail: `http2 on;` (nginx 1.25.1+) is refused by Debian 12's nginx 1.22."""
    site = nginx_blocks("install.md")[0].replace(
        "listen 443 ssl http2;", "listen 443 ssl;\n    http2 on;"
    )
    version = subprocess.run([_nginx(), "-v"], capture_output=True, text=True, check=False)
    found = re.search(r"nginx/(\d+)\.(\d+)", version.stderr)
    if found and (int(found[1]), int(found[2])) >= (1, 25):
        pytest.skip(f"nginx {found[1]}.{found[2]} knows `http2 on;`: nothing to catch here")
    done = nginx_test(site, tmp_path)
    assert done.returncode != 0 and 'unknown directive "http2"' in done.stderr, done.stderr
