"""`reminder doctor` against the loopback SMTP server and the fake Bot API: one line per
check, OK / WARN / FAIL, exit 0 / 1, and nothing sent."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import SMTP_PASSWORD, SMTP_USER
from fakes.smtp_server import FakeSMTPServer
from fakes.telegram_api import TOKEN, FakeTelegramAPI
from helpers import write_config
from pgcluster import PgCluster

from reminder.config import load
from reminder.doctor import FAIL, OK, WARN, Finding, diagnose, placeholder_contacts
from reminder.ledger import open_ledger

SAMPLE_CHATS = ("-1001000000001", "-1001000000002", "-1001000000003")
NOBODY = 65534


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SMTP password and bot token, where the shipped config looks for them."""
    monkeypatch.setenv("REMINDER_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("REMINDER_TELEGRAM_TOKEN", TOKEN)


@pytest.fixture
def no_timedatectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A PATH folder first in line, where a test may put its own `timedatectl`."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    yield folder


def fake_timedatectl(folder: Path, body: str) -> None:
    exe = folder / "timedatectl"
    exe.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    exe.chmod(0o755)


async def findings(config: Path) -> dict[str, Finding]:
    """diagnose() on a config file, by check name."""
    got = await diagnose(load(config), euid=os.geteuid())
    return {f.check: f for f in got}


def smtp_bot_config(folder: Path, smtp: FakeSMTPServer, api: FakeTelegramAPI) -> Path:
    return write_config(
        folder,
        smtp=(smtp.host, smtp.port),
        security="starttls",
        username=SMTP_USER,
        ca_file=smtp.ca_pem,
        telegram_url=api.base_url,
    )


async def test_all_checks_pass_against_the_test_servers_and_nothing_is_sent(
    tmp_path: Path, smtp_tls_server: FakeSMTPServer, telegram_api: FakeTelegramAPI, secrets: None
) -> None:
    """STARTTLS + AUTH accepted, getMe and getChat per chat answered: OK lines; no message sent."""
    for number, chat in enumerate(SAMPLE_CHATS, 1):
        telegram_api.add_chat(int(chat), f"Nhóm {number}")
    got = await findings(smtp_bot_config(tmp_path, smtp_tls_server, telegram_api))
    assert got["email"] == Finding(
        OK,
        "email",
        f"SMTP 127.0.0.1:{smtp_tls_server.port} answered, STARTTLS, login accepted for {SMTP_USER}",
    )
    assert smtp_tls_server.logins == [(SMTP_USER, True)]
    assert smtp_tls_server.messages == []
    assert got["telegram"].level == OK and "@nhachan_bot" in got["telegram"].detail
    for chat in SAMPLE_CHATS:
        assert got[f"telegram chat {chat}"].level == OK, got
    assert "Nhóm 1" in got[f"telegram chat {SAMPLE_CHATS[0]}"].detail
    assert "sendMessage" not in telegram_api.calls
    assert telegram_api.calls.count("getChat") == len(SAMPLE_CHATS)
    assert got["templates"].level == OK
    assert got["ledger"].level == OK


async def test_refused_login_fails_the_email_check(
    tmp_path: Path,
    smtp_tls_server: FakeSMTPServer,
    telegram_api: FakeTelegramAPI,
    secrets: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A wrong SMTP password: FAIL email, naming the server and the user, never the password."""
    monkeypatch.setenv("REMINDER_SMTP_PASSWORD", "sai-mat-khau")
    got = await findings(smtp_bot_config(tmp_path, smtp_tls_server, telegram_api))
    assert got["email"].level == FAIL
    assert f"refused the login for {SMTP_USER}" in got["email"].detail
    assert "sai-mat-khau" not in got["email"].detail
    assert smtp_tls_server.messages == []


async def test_unverifiable_certificate_fails_the_email_check(
    tmp_path: Path, smtp_tls_server: FakeSMTPServer, secrets: None
) -> None:
    """A server certificate from a CA the host does not trust: FAIL email with the TLS error."""
    config = write_config(
        tmp_path,
        smtp=(smtp_tls_server.host, smtp_tls_server.port),
        security="starttls",
        username=SMTP_USER,
        telegram="off",
    )
    got = await findings(config)
    assert got["email"].level == FAIL
    assert "certificate verify failed" in got["email"].detail
    assert smtp_tls_server.logins == []


async def test_bad_token_and_unknown_chat_fail_the_telegram_checks(
    tmp_path: Path,
    smtp_tls_server: FakeSMTPServer,
    telegram_api: FakeTelegramAPI,
    secrets: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """getChat 400 for a chat the bot is not in: FAIL for that chat only; a refused token: one FAIL."""
    telegram_api.add_chat(int(SAMPLE_CHATS[0]), "Nhóm 1")
    telegram_api.kick(SAMPLE_CHATS[1])
    config = smtp_bot_config(tmp_path, smtp_tls_server, telegram_api)
    got = await findings(config)
    assert got["telegram"].level == OK
    assert got[f"telegram chat {SAMPLE_CHATS[0]}"].level == OK
    kicked = got[f"telegram chat {SAMPLE_CHATS[1]}"]
    assert kicked.level == FAIL and "kicked" in kicked.detail.lower()
    missing = got[f"telegram chat {SAMPLE_CHATS[2]}"]
    assert missing.level == FAIL and "chat not found" in missing.detail.lower()
    assert "telegram-chats" in missing.detail

    monkeypatch.setenv("REMINDER_TELEGRAM_TOKEN", "123456789:AAWrongToken-for-doctor")
    got = await findings(config)
    assert got["telegram"].level == FAIL
    assert "WrongToken" not in got["telegram"].detail
    assert not any(name.startswith("telegram chat") for name in got)


async def test_placeholders_warn_only_with_a_real_transport(
    tmp_path: Path, smtp_tls_server: FakeSMTPServer, telegram_api: FakeTelegramAPI, secrets: None
) -> None:
    """.example addresses and the sample chat ids: WARN with SMTP/bot, OK while on the outbox."""
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    shipped = await findings(write_config(tmp_path / "a"))
    assert shipped["contacts"] == Finding(
        OK, "contacts", "placeholders only on channels that are not sent yet"
    )
    assert shipped["email"].level == WARN and "not sent" in shipped["email"].detail
    real = await findings(smtp_bot_config(tmp_path / "b", smtp_tls_server, telegram_api))
    assert real["contacts"].level == WARN
    assert ".example" in real["contacts"].detail
    assert "3 sample chat id(s) -1001000000001" in real["contacts"].detail


@pytest.mark.parametrize(
    ("address", "placeholder"),
    [
        ("sonoivu@tinh.example", True),
        ("a@example.com", True),
        ("a@mail.example.org", True),
        ("a@x.test", True),
        ("vanthu@angiang.gov.vn", False),
        ("a@example.gov.vn", False),
        ("a@myexample.com", False),
    ],
)
def test_placeholder_addresses(tmp_path: Path, address: str, placeholder: bool) -> None:
    """Reserved names (RFC 2606/6761) are placeholders; real domains that contain "example" are not."""
    config = write_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('email = ["sonoivu@tinh.example"]', f'email = ["{address}"]'),
        encoding="utf-8",
    )
    emails, _chats = placeholder_contacts(load(config))
    assert (address in emails) is placeholder


def _append(config: Path, text: str) -> None:
    with config.open("a", encoding="utf-8") as f:
        f.write(text)


async def test_missing_templates_fail(tmp_path: Path) -> None:
    """[templates] dir pointing at an empty folder: FAIL templates, naming the problem."""
    config = write_config(tmp_path)
    (tmp_path / "empty").mkdir()
    _append(config, '\n[templates]\ndir = "empty"\n')
    got = await findings(config)
    assert got["templates"].level == FAIL
    assert "template missing" in got["templates"].detail


async def test_read_only_ledger_fails(tmp_path: Path) -> None:
    """A ledger file its owner cannot write: FAIL ledger; a writable one: OK after a real write test."""
    config = write_config(tmp_path)
    got = await findings(config)
    assert got["ledger"] == Finding(
        OK, "ledger", f"{tmp_path}: writable (a test file was created and removed)"
    )
    (tmp_path / "ledger.db").write_bytes(b"")
    (tmp_path / "ledger.db").chmod(stat.S_IRUSR)
    got = await findings(config)
    assert got["ledger"].level == FAIL and "read-only for its owner" in got["ledger"].detail
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".doctor")) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
async def test_file_of_another_user_in_the_state_folder_fails(tmp_path: Path) -> None:
    """The issue's lock-out: outbox/ made by root in the service's folder → FAIL with the chown fix."""
    state = tmp_path / "state"
    state.mkdir()
    config = write_config(state)
    (state / "outbox").mkdir()
    os.chown(state, NOBODY, NOBODY)
    got = await findings(config)
    assert got["ledger"].level == OK and f"uid {NOBODY}" in got["ledger"].detail
    assert got["outbox"].level == FAIL
    assert f"{state / 'outbox'} belongs to uid 0, the service's folder to uid {NOBODY}" in (
        got["outbox"].detail
    )
    assert f"chown -R {NOBODY} {state / 'outbox'}" in got["outbox"].detail


@pytest.mark.parametrize(
    ("answer", "level", "detail"),
    [
        ("echo yes", OK, "synchronised (timedatectl)"),
        ("echo no", WARN, "not synchronised (timedatectl)"),
    ],
)
async def test_clock_from_timedatectl(
    tmp_path: Path, no_timedatectl: Path, answer: str, level: str, detail: str
) -> None:
    """NTPSynchronized=yes → OK; no → WARN with how to enable NTP."""
    fake_timedatectl(no_timedatectl, answer)
    got = await findings(write_config(tmp_path))
    assert got["clock"].level == level
    assert got["clock"].detail.startswith(detail)


async def test_clock_without_systemd_asks_the_kernel(tmp_path: Path, no_timedatectl: Path) -> None:
    """timedatectl failing (no systemd, as in a container): the kernel's adjtimex answers."""
    fake_timedatectl(no_timedatectl, "echo 'System has not been booted with systemd' >&2; exit 1")
    got = await findings(write_config(tmp_path))
    assert got["clock"].level in (OK, WARN)
    assert "(adjtimex)" in got["clock"].detail


def doctor_cli(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REMINDER_")}
    return subprocess.run(
        [sys.executable, "-m", "reminder", "--config", str(config), "doctor"],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
        check=False,
    )


def test_command_prints_one_line_per_check_and_exits_1_on_a_fail(
    tmp_path: Path, smtp_tls_server: FakeSMTPServer
) -> None:
    """The command: each line starts OK/WARN/FAIL; exit 0 with WARNs only, 1 once a check fails."""
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    shipped = doctor_cli(write_config(tmp_path / "a"), {})
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    lines = shipped.stdout.splitlines()
    names = [line[5:].split(":", 1)[0] for line in lines]
    assert names == ["templates", "ledger", "outbox", "email", "telegram", "contacts", "clock"]
    assert all(line[:5] in ("OK   ", "WARN ", "FAIL ") for line in lines)

    config = write_config(
        tmp_path / "b",
        smtp=(smtp_tls_server.host, smtp_tls_server.port),
        security="starttls",
        username=SMTP_USER,
        ca_file=smtp_tls_server.ca_pem,
        telegram="off",
    )
    failed = doctor_cli(config, {"REMINDER_SMTP_PASSWORD": "wrong"})
    assert failed.returncode == 1
    assert any(line.startswith("FAIL email: SMTP") for line in failed.stdout.splitlines())
    assert "Traceback" not in failed.stderr


async def test_state_folder_not_made_yet_warns(tmp_path: Path) -> None:
    """Before the service's first start (no /var/lib/reminder yet): WARN ledger and outbox, nothing made."""
    config = write_config(tmp_path)
    text = config.read_text(encoding="utf-8").replace(str(tmp_path), str(tmp_path / "state"))
    config.write_text(text, encoding="utf-8")
    got = await findings(config)
    assert got["ledger"].level == WARN and "does not exist yet" in got["ledger"].detail
    assert got["outbox"] == Finding(
        WARN, "outbox", f"{tmp_path / 'state' / 'outbox'} does not exist yet, nor its folder"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "plans"]


# -- a PostgreSQL ledger (docs/ha.md) -----------------------------------------------------------


def pg_config(folder: Path, url: str) -> Path:
    """The shipped config with [database] url on the test cluster (the password from the env)."""
    config = write_config(folder)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace(f'url = "sqlite:///{folder / "ledger.db"}"', f'url = "{url}"'),
        encoding="utf-8",
    )
    return config


async def test_postgresql_ledger_login_and_write_permission(
    tmp_path: Path, pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: login accepted (no tables yet, then writable tables) OK; a read-only login FAIL."""
    database = pg_cluster.new_database("doctor")
    monkeypatch.setenv("REMINDER_DATABASE_PASSWORD", pg_cluster.password)
    config = pg_config(tmp_path, pg_cluster.url(database, password=False))
    got = await findings(config)
    assert got["ledger"].level == OK and "no tables yet" in got["ledger"].detail
    assert pg_cluster.password not in got["ledger"].detail

    open_ledger(pg_cluster.url(database), lease=timedelta(minutes=5)).close()
    got = await findings(config)
    assert got["ledger"].level == OK and "the tables can be written" in got["ledger"].detail

    reader = f"reader_{os.getpid()}"
    pg_cluster.execute(f"CREATE ROLE {reader} LOGIN PASSWORD 'lecture-seule'")
    pg_cluster.execute(f"GRANT SELECT ON delivery TO {reader}", database)
    monkeypatch.setenv("REMINDER_DATABASE_PASSWORD", "lecture-seule")
    url = pg_cluster.url(database, password=False).replace(f"{pg_cluster.user}@", f"{reader}@")
    got = await findings(pg_config(tmp_path, url))
    assert got["ledger"].level == FAIL
    assert got["ledger"].detail.endswith(
        f"@127.0.0.1:{pg_cluster.port}/{database}: this login may not write table delivery"
    )
    assert "lecture-seule" not in got["ledger"].detail


async def test_postgresql_wrong_password_fails_without_showing_it(
    tmp_path: Path, pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused PostgreSQL login: FAIL ledger with the server's reason, never the password."""
    monkeypatch.setenv("REMINDER_DATABASE_PASSWORD", "sai-mat-khau-csdl")
    config = pg_config(tmp_path, pg_cluster.url("postgres", password=False))
    got = await findings(config)
    assert got["ledger"].level == FAIL
    assert "password authentication failed" in got["ledger"].detail
    assert "sai-mat-khau-csdl" not in got["ledger"].detail
