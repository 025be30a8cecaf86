"""The real `reminder` command: run --once, history, done, preview, send-test.

The SMTP server and the fake Telegram Bot API run in this test process, on 127.0.0.1; the
command reaches them through the temp config. Most commands run in this process
(tests/inprocess.py: the same main(), without a 0.2–0.7 s interpreter start each); the two
DEBUG-level runs that check what the whole process prints run as `python -m reminder`.
Every command's output is checked for the test secrets.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from conftest import SMTP_PASSWORD, SMTP_USER
from fakes.smtp_server import FakeSMTPServer
from fakes.telegram_api import TOKEN as BOT_TOKEN
from fakes.telegram_api import FakeTelegramAPI
from helpers import SHIPPED_CONFIG, copy_plans, without_followups, write_config
from inprocess import run_main

from reminder.ledger import Ledger, Status

UPCOMING_FROM = "2026-11-26T09:00:00+07:00"
WRONG_PASSWORD = "Sai-mật-khẩu-cli-4c3b2a"
SECRETS = [SMTP_PASSWORD, WRONG_PASSWORD, BOT_TOKEN, BOT_TOKEN.partition(":")[2]]


UNSET = (
    "REMINDER_CONFIG",
    "REMINDER_SMTP_PASSWORD",
    "REMINDER_TELEGRAM_TOKEN",
    "CREDENTIALS_DIRECTORY",
    "JOURNAL_STREAM",
    "NOTIFY_SOCKET",
)


def cli(
    config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`reminder --config CONFIG ARGS…` in this process, in the config's folder, the channel
    secrets only from `env`; asserts no test secret in its output."""
    proc = run_main(
        ["--config", str(config), *args],
        cwd=config.parent,
        env={**dict.fromkeys(UNSET), **(env or {})},
    )
    for secret in SECRETS:
        assert secret not in proc.stdout and secret not in proc.stderr
    return proc


def cli_process(
    config: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m reminder --config CONFIG ARGS…`; asserts no test secret in its output."""
    base = {k: v for k, v in os.environ.items() if k not in UNSET}
    proc = subprocess.run(
        [sys.executable, "-m", "reminder", "--config", str(config), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**base, "PYTHONIOENCODING": "utf-8", **(env or {})},
        cwd=config.parent,
        timeout=timeout,
        check=False,
    )
    for secret in SECRETS:
        assert secret not in proc.stdout and secret not in proc.stderr
    return proc


def shipped_copy(folder: Path) -> Path:
    """The shipped config.toml in `folder` (its ledger and outbox land there), unchanged but
    for [escalation] and [summary], turned off: these tests count reminders (`upcoming`
    lists reminders only); tests/test_followup.py sends the follow-ups of the shipped config."""
    path = folder / "config.toml"
    path.write_text(without_followups(SHIPPED_CONFIG.read_text(encoding="utf-8")), encoding="utf-8")
    copy_plans(folder)
    return path


def upcoming(config: Path) -> list[dict[str, Any]]:
    proc = cli(config, "upcoming", "--json", "--now", UPCOMING_FROM, "--days", "400")
    assert proc.returncode == 0, proc.stderr
    found: list[dict[str, Any]] = json.loads(proc.stdout)
    assert found
    return found


def outbox_files(config: Path) -> set[Path]:
    folder = config.parent / "outbox"
    return {p for p in folder.iterdir() if not p.name.startswith(".")} if folder.is_dir() else set()


def eml(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def file_keys(path: Path) -> set[str]:
    """The reminder keys an outbox file carries (.eml header, .json field)."""
    if path.suffix == ".json":
        return set(json.loads(path.read_text(encoding="utf-8"))["keys"])
    return {k.strip() for k in str(eml(path)["X-Reminder-Keys"]).split(",")}


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """What `upcoming --json --now 26/11/2026 --days 400` lists for the shipped config."""
    return upcoming(shipped_copy(tmp_path_factory.mktemp("upcoming")))


@pytest.fixture(scope="module")
def first_send_at(plan: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The first send_at that `upcoming` lists, and the reminders due at that instant."""
    first = plan[0]["send_at"]
    assert first == min(r["send_at"] for r in plan)
    return first, [r for r in plan if r["send_at"] == first]


@pytest.fixture(scope="module")
def shipped_run(
    tmp_path_factory: pytest.TempPathFactory, first_send_at: tuple[str, Any]
) -> tuple[Path, subprocess.CompletedProcess[str], set[Path]]:
    """A copy of the shipped config after `run --once --now <first send_at>`: (config, run, files)."""
    config = shipped_copy(tmp_path_factory.mktemp("shipped"))
    proc = cli(config, "run", "--once", "--now", first_send_at[0])
    return config, proc, outbox_files(config)


# -- the "done" check: shipped config, outbox transport ------------------------------


def test_shipped_config_run_once_writes_the_outbox_once(
    shipped_run: tuple[Path, subprocess.CompletedProcess[str], set[Path]],
    first_send_at: tuple[str, list[dict[str, Any]]],
) -> None:
    """Shipped config: run --once at the first send_at writes .eml/.json once, prints a summary."""
    first, due = first_send_at
    config, proc, files = shipped_run

    assert proc.returncode == 0, proc.stderr
    digests = {(r["agency"], r["channel"], r["address"]) for r in due}
    assert proc.stdout.strip() == (
        f"{first}: {len(digests)} message(s): {len(due)} reminder(s) sent (0 late), "
        "0 to retry, 0 given up, 0 missed"
    )
    emls = sorted(p for p in files if p.suffix == ".eml")
    jsons = sorted(p for p in files if p.suffix == ".json")
    assert len(files) == len(emls) + len(jsons) == len(digests)
    assert len(emls) == len({d for d in digests if d[1] == "email"}) > 0
    assert len(jsons) == len({d for d in digests if d[1] == "telegram"}) > 0
    assert set().union(*(file_keys(p) for p in files)) == {r["key"] for r in due}
    for path in emls:
        msg = eml(path)
        subject = str(msg["Subject"])
        assert subject.startswith("[Nhắc hạn] ") and unicodedata.is_normalized("NFC", subject)
        plain = msg.get_body(("plain",))
        assert plain is not None and "Kính gửi:" in plain.get_content()
        assert str(msg["To"]) in {r["address"] for r in due if r["channel"] == "email"}
    for path in jsons:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["chat_id"] in {r["address"] for r in due if r["channel"] == "telegram"}
        assert data["parse_mode"] == "HTML"
        assert data["text"].startswith("<b>NHẮC HẠN") and "Kính gửi:" in data["text"]

    again = cli(config, "run", "--once", "--now", first)

    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"{first}: 0 message(s): 0 reminder(s) sent")
    assert outbox_files(config) == files


def test_history_lists_the_sent_rows(
    shipped_run: tuple[Path, subprocess.CompletedProcess[str], set[Path]],
    first_send_at: tuple[str, list[dict[str, Any]]],
) -> None:
    """`history` and `history --json` list every row that run --once sent."""
    due = first_send_at[1]
    config = shipped_run[0]

    table = cli(config, "history")
    as_json = cli(config, "history", "--json")

    assert table.returncode == as_json.returncode == 0, table.stderr + as_json.stderr
    rows = [r for r in json.loads(as_json.stdout) if r["status"] == "sent"]
    assert sorted(r["key"] for r in rows) == sorted(r["key"] for r in due)
    assert all(r["sent_at"] and r["attempts"] == 1 and not r["late"] for r in rows)
    lines = [line for line in table.stdout.splitlines() if " sent " in line]
    assert len(lines) == len(due)
    for r in due:
        what = f"{r['task']} {r['occurrence']} {r['milestone']} → {r['agency']}"
        assert f"{what} [{r['channel']}] {r['address']}" in table.stdout


def test_done_stops_that_occurrence(tmp_path: Path, plan: list[dict[str, Any]]) -> None:
    """`done 1 2026` then run --once later: nothing for nv01 2026, the rest goes; a typo is refused."""
    config = shipped_copy(tmp_path)
    later = "2026-12-08T08:00:00+07:00"
    due = [r for r in plan if r["send_at"] == later]
    assert any(r["task"] == "nv01" for r in due) and any(r["task"] != "nv01" for r in due)

    typo = cli(config, "done", "1", "2O26")
    assert typo.returncode == 65 and typo.stdout == ""
    assert typo.stderr.startswith("reminder done: task 1 has no occurrence '2O26'")
    done = cli(config, "done", "1", "2026", "--note", "đã nộp báo cáo")
    assert done.returncode == 0, done.stderr
    assert "occurrence 2026: recorded as done" in done.stdout
    run = cli(config, "run", "--once", "--now", later)

    assert run.returncode == 0, run.stderr
    sent = set().union(*(file_keys(p) for p in outbox_files(config)))
    assert sent == {r["key"] for r in due if r["task"] != "nv01"}


def test_preview_prints_a_vietnamese_subject(tmp_path: Path) -> None:
    """`preview 1 --channel email` prints the lead's next e-mail (a digest): Vietnamese subject and body."""
    config = shipped_copy(tmp_path)
    proc = cli(config, "preview", "1", "--channel", "email", "--now", UPCOMING_FROM)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("# email to sonoivu@tinh.example ")
    assert lines[1].startswith("Subject: [Nhắc hạn] ") and "ngày 15/12/2026" in lines[1]
    assert "Kính gửi:" in proc.stdout and "Nhiệm vụ số 1:" in proc.stdout
    assert unicodedata.is_normalized("NFC", proc.stdout)


# -- real transports -------------------------------------------------------------------------


def smtp_config(folder: Path, server: FakeSMTPServer, **options: Any) -> Path:
    """The shipped config with e-mail through the loopback STARTTLS + AUTH server."""
    return write_config(
        folder,
        smtp=(server.host, server.port),
        security="starttls",
        username=SMTP_USER,
        ca_file=server.ca_pem,
        **options,
    )


SMTP_ENV = {"REMINDER_SMTP_PASSWORD": SMTP_PASSWORD}


@pytest.fixture
def bot_api() -> Iterator[FakeTelegramAPI]:
    """The fake Bot API in a thread of its own, for a subprocess to reach."""
    api = FakeTelegramAPI()
    _base_url, stop = api.start_in_thread()
    yield api
    stop()


def test_run_once_delivers_to_smtp_and_the_bot_api(
    tmp_path: Path,
    smtp_tls_server: FakeSMTPServer,
    bot_api: FakeTelegramAPI,
    first_send_at: tuple[str, list[dict[str, Any]]],
) -> None:
    """run --once with SMTP (STARTTLS + AUTH) and the Bot API configured delivers to both."""
    first, due = first_send_at
    config = smtp_config(tmp_path, smtp_tls_server, telegram_url=bot_api.base_url)
    env = {**SMTP_ENV, "REMINDER_TELEGRAM_TOKEN": BOT_TOKEN}

    proc = cli_process(config, "--log-level", "DEBUG", "run", "--once", "--now", first, env=env)

    assert proc.returncode == 0, proc.stderr
    email = {(r["agency"], r["address"]) for r in due if r["channel"] == "email"}
    telegram = {(r["agency"], r["address"]) for r in due if r["channel"] == "telegram"}
    assert len(smtp_tls_server.messages) == len(email) > 0
    assert len(bot_api.sent) == len(telegram) > 0
    assert {s.chat_id for s in bot_api.sent} == {a for _, a in telegram}
    assert all(s.parse_mode == "HTML" for s in bot_api.sent)
    assert {m.rcpt_tos[0] for m in smtp_tls_server.messages} == {a for _, a in email}
    assert f"{len(email) + len(telegram)} message(s): {len(due)} reminder(s) sent" in proc.stdout
    assert "/bot***/sendMessage" in proc.stderr  # httpx's request log, token scrubbed
    assert outbox_files(config) == set()


def test_send_test_email_reaches_the_server(
    tmp_path: Path, smtp_tls_server: FakeSMTPServer
) -> None:
    """`send-test email ADDR` over STARTTLS + AUTH: exit 0, the server gets exactly one message."""
    config = smtp_config(tmp_path, smtp_tls_server, telegram="off")
    proc = cli(config, "send-test", "email", "vanthu@tinh.example", env=SMTP_ENV)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("sent to vanthu@tinh.example via email")
    [got] = smtp_tls_server.messages
    assert got.rcpt_tos == ("vanthu@tinh.example",)
    assert got.message["X-Reminder-Test"] == "1"
    assert unicodedata.is_normalized("NFC", str(got.message["Subject"]))
    assert (SMTP_USER, True) in smtp_tls_server.logins


def test_stopped_server_exits_75(
    tmp_path: Path, smtp_tls_server: FakeSMTPServer, first_send_at: tuple[str, Any]
) -> None:
    """SMTP server down: `send-test` exits 75 with one line, no traceback; run --once exits 75."""
    config = smtp_config(tmp_path, smtp_tls_server, telegram="off")
    smtp_tls_server.stop()
    proc = cli(config, "send-test", "email", "vanthu@tinh.example", env=SMTP_ENV)
    assert proc.returncode == 75
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("reminder send-test: failed (temporary): SMTP ")
    assert "Traceback" not in proc.stderr

    run = cli(config, "run", "--once", "--now", first_send_at[0], env=SMTP_ENV)
    assert run.returncode == 75, run.stderr
    assert " 0 reminder(s) sent (0 late), " in run.stdout and " to retry, 0 given up" in run.stdout
    assert "Traceback" not in run.stderr


def test_refused_recipients_exit_69(
    tmp_path: Path, smtp_tls_server: FakeSMTPServer, first_send_at: tuple[str, Any]
) -> None:
    """Every recipient refused (550): run --once gives them up and exits 69, not 0."""
    config = smtp_config(tmp_path, smtp_tls_server, telegram="off")
    smtp_tls_server.refuse.update(d["address"] for d in first_send_at[1] if d["channel"] == "email")
    run = cli(config, "run", "--once", "--now", first_send_at[0], env=SMTP_ENV)
    assert run.returncode == 69, run.stdout + run.stderr
    assert " 0 to retry, " in run.stdout and "0 reminder(s) sent" in run.stdout
    assert "Traceback" not in run.stderr


def test_wrong_smtp_password_never_printed(
    tmp_path: Path, smtp_tls_server: FakeSMTPServer, first_send_at: tuple[str, Any]
) -> None:
    """A refused login: send-test and run --once exit 75 (retried later), at DEBUG never showing it."""
    config = smtp_config(tmp_path, smtp_tls_server, telegram="off")
    env = {"REMINDER_SMTP_PASSWORD": WRONG_PASSWORD}

    test = cli_process(
        config, "--log-level", "DEBUG", "send-test", "email", "vanthu@tinh.example", env=env
    )
    assert test.returncode == 75
    assert len(test.stderr.strip().splitlines()) == 1 and "535" in test.stderr
    run = cli_process(
        config, "--log-level", "DEBUG", "run", "--once", "--now", first_send_at[0], env=env
    )
    assert "to retry" in run.stdout and "0 reminder(s) sent" in run.stdout
    assert run.returncode == 75, "a failed run must not look like success to cron"
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        rows = ledger.history()
    assert rows and {r.status for r in rows} == {Status.FAILED}
    assert all("535" in (r.last_error or "") for r in rows)
    assert smtp_tls_server.messages == [] and (SMTP_USER, False) in smtp_tls_server.logins
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert WRONG_PASSWORD.encode() not in path.read_bytes(), path


# -- reminder retry ----------------------------------------------------------------------------


def test_retry_puts_useful_given_up_reminders_back_and_they_go_out(
    tmp_path: Path, smtp_tls_server: FakeSMTPServer, first_send_at: tuple[str, Any]
) -> None:
    """Refused recipients are given up; once ops fix them, `retry --gave-up` queues them (says
    how many) and the next `run --once` delivers them; an unknown key exits 65 in one line."""
    config = smtp_config(tmp_path, smtp_tls_server, telegram="off")
    emails = [d for d in first_send_at[1] if d["channel"] == "email"]
    smtp_tls_server.refuse.update(d["address"] for d in emails)
    run = cli(config, "run", "--once", "--now", first_send_at[0], env=SMTP_ENV)
    assert run.returncode == 69, run.stdout + run.stderr
    smtp_tls_server.refuse.clear()  # the addresses are fixed on the server side

    unknown = cli(config, "retry", "nv99|2026|x|D-1|a|email|a@b.example", env=SMTP_ENV)
    assert unknown.returncode == 65
    assert (
        len(unknown.stderr.strip().splitlines()) == 1 and "no delivery with key" in unknown.stderr
    )

    later = first_send_at[0].replace(":00:00+", ":30:00+")
    queued = cli(config, "retry", "--gave-up", "--now", later, env=SMTP_ENV)
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.strip().splitlines()[-1].startswith(f"{len(emails)} reminder(s) queued")
    again = cli(config, "run", "--once", "--now", later, env=SMTP_ENV)
    assert again.returncode == 0, again.stdout + again.stderr
    delivered = {
        k
        for m in smtp_tls_server.messages
        for k in str(m.message["X-Reminder-Keys"]).replace(" ", "").split(",")
    }
    assert delivered == {d["key"] for d in emails}


def test_retry_refuses_a_reminder_whose_next_rung_has_taken_over(
    tmp_path: Path, smtp_tls_server: FakeSMTPServer, first_send_at: tuple[str, Any]
) -> None:
    """A given-up reminder whose next reminder has come since is not queued: it says why."""
    config = smtp_config(tmp_path, smtp_tls_server, telegram="off")
    emails = [d for d in first_send_at[1] if d["channel"] == "email"]
    smtp_tls_server.refuse.update(d["address"] for d in emails)
    cli(config, "run", "--once", "--now", first_send_at[0], env=SMTP_ENV)
    key = emails[0]["key"]

    months_later = "2027-06-01T08:00:00+07:00"
    proc = cli(config, "retry", key, "--now", months_later, env=SMTP_ENV)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith(f"not queued: {key}: ")
    assert "superseded by its" in lines[0] or "last overdue reminder" in lines[0], lines[0]
    assert lines[-1].startswith("0 reminder(s) queued, 1 not queued")
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        row = ledger.get(key)
    assert row is not None and row.status is Status.GAVE_UP
