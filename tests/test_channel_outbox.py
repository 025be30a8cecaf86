"""OutboxChannel: one file per message, readable back, sortable, written atomically."""

from __future__ import annotations

import email
import email.policy
import errno
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes.smtp_server import FakeSMTPServer

from reminder.channels import outbox as outbox_module
from reminder.channels.base import ChannelError
from reminder.channels.outbox import OutboxChannel, safe_address
from reminder.model import Message, OutboxSettings

SUBJECT = "Nhắc hạn: Báo cáo tình hình thực hiện Kế hoạch – còn 7 ngày"
TG_TEXT = "<b>Nhắc hạn:</b> Nộp báo cáo &lt;Q4&gt; &amp; &quot;thuế&quot; – còn 7 ngày"
NAME_RE = re.compile(r"^\d{8}T\d{6}-(email|telegram)-[A-Za-z0-9@._+-]+-[0-9a-f]{8}\.(eml|json)$")


def ticking_clock(start: datetime | None = None, step: float = 1.0) -> Callable[[], datetime]:
    current = [start or datetime(2026, 12, 8, 1, 0, tzinfo=UTC)]

    def clock() -> datetime:
        value = current[0]
        current[0] = value + timedelta(seconds=step)
        return value

    return clock


def email_message(n: int = 1, address: str = "stc@example.gov.vn") -> Message:
    return Message(
        channel="email",
        address=address,
        subject=SUBJECT,
        text="Kính gửi: Sở Tài chính\nCòn 7 ngày.",
        html="<p>Kính gửi: <b>Sở Tài chính</b></p>",
        message_id=f"<r{n}.deadbeef@nhachan.example.gov.vn>",
        keys=(f"t{n}|2026|m1|7|stc|email|{address}",),
        headers={"X-Reminder-Keys": f"t{n}|2026|m1|7|stc|email|{address}"},
    )


def telegram_message(n: int = 1, address: str = "-1001234567890") -> Message:
    return Message(
        channel="telegram",
        address=address,
        subject=SUBJECT,
        text=TG_TEXT,
        keys=(f"t{n}|2026|m1|7|stc|telegram|{address}", f"t{n}|2026|m2|7|stc|telegram|{address}"),
    )


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_eml_parses_back_with_vietnamese_subject(tmp_path: Path) -> None:
    """The .eml file is CRLF SMTP bytes that parse back to the decoded Vietnamese subject."""
    settings = OutboxSettings(directory=tmp_path / "outbox")
    channel = OutboxChannel("email", settings, clock=ticking_clock())
    await channel.open()
    receipt = await channel.send(email_message())
    await channel.close()

    [name] = files(settings.directory)
    assert NAME_RE.match(name) and name.endswith(".eml")
    assert name in receipt.note
    raw = (settings.directory / name).read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert raw.split(b"\r\n\r\n", 1)[0].isascii()  # headers RFC 2047-encoded
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == SUBJECT
    assert msg["From"].addresses[0].addr_spec == "nhachan@localhost"
    assert msg["To"] == "stc@example.gov.vn"
    assert msg["Message-ID"] == "<r1.deadbeef@nhachan.example.gov.vn>"
    assert msg["Date"] == "Tue, 08 Dec 2026 01:00:00 +0000"
    assert msg.get_content_type() == "multipart/alternative"
    body = msg.get_body(("plain",))
    assert body is not None
    assert (
        body.get_content().replace("\r\n", "\n").rstrip("\n")
        == "Kính gửi: Sở Tài chính\nCòn 7 ngày."
    )


async def test_json_round_trips(tmp_path: Path) -> None:
    """The .json file holds chat_id, the HTML text as is, parse_mode, keys and subject."""
    settings = OutboxSettings(directory=tmp_path)
    channel = OutboxChannel("telegram", settings, clock=ticking_clock())
    message = telegram_message()
    await channel.send(message)

    [name] = files(tmp_path)
    assert NAME_RE.match(name) and name.endswith(".json")
    assert "-telegram--1001234567890-" in name
    raw = (tmp_path / name).read_bytes()
    assert "Nhắc hạn".encode() in raw  # ensure_ascii=False: readable UTF-8
    data = json.loads(raw.decode("utf-8"))
    assert data == {
        "chat_id": "-1001234567890",
        "text": TG_TEXT,
        "parse_mode": "HTML",
        "keys": list(message.keys),
        "subject": SUBJECT,
    }


async def test_names_sort_by_time(tmp_path: Path) -> None:
    """Sorting the file names gives the order the messages were written in."""
    settings = OutboxSettings(directory=tmp_path)
    clock = ticking_clock(datetime(2026, 12, 31, 23, 59, 58, tzinfo=UTC), step=1.0)
    channel = OutboxChannel("email", settings, clock=clock)
    addresses = ["zz@example.gov.vn", "aa@example.gov.vn", "mm@example.gov.vn", "bb@x.vn"]
    for n, address in enumerate(addresses):
        await channel.send(email_message(n, address))
    names = files(tmp_path)
    assert [n.split("-email-")[1].rsplit("-", 1)[0] for n in names] == addresses
    assert names[0].startswith("20261231T235958-")
    assert names[-1].startswith("20270101T000001-")


async def test_distinct_messages_in_the_same_second_get_distinct_files(tmp_path: Path) -> None:
    """Two messages to one address in the same second do not overwrite each other."""
    frozen = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    channel = OutboxChannel("telegram", OutboxSettings(directory=tmp_path), clock=lambda: frozen)
    await channel.send(telegram_message(1))
    await channel.send(telegram_message(2))
    assert len(files(tmp_path)) == 2


async def test_local_time_clock_is_stamped_in_utc(tmp_path: Path) -> None:
    """A clock in Vietnam time still gives a UTC stamp in the file name."""
    from reminder.model import VN_TZ

    local = datetime(2026, 12, 8, 8, 0, tzinfo=VN_TZ)
    channel = OutboxChannel("telegram", OutboxSettings(directory=tmp_path), clock=lambda: local)
    await channel.send(telegram_message())
    assert files(tmp_path)[0].startswith("20261208T010000-")


async def test_atomic_no_temp_files_left(tmp_path: Path) -> None:
    """After many writes the folder holds only finished files, none of them temporary."""
    channel = OutboxChannel("email", OutboxSettings(directory=tmp_path), clock=ticking_clock())
    for n in range(20):
        await channel.send(email_message(n))
    names = files(tmp_path)
    assert len(names) == 20
    assert all(NAME_RE.match(n) for n in names)
    assert not [n for n in names if n.startswith(outbox_module.TEMP_PREFIX)]


async def test_failed_write_is_transient_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk-full error while writing is transient, and the temp file is removed."""

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outbox_module.os, "fsync", full)
    channel = OutboxChannel("telegram", OutboxSettings(directory=tmp_path), clock=ticking_clock())
    with pytest.raises(ChannelError) as info:
        await channel.send(telegram_message())
    assert not info.value.permanent
    assert "No space left" in str(info.value)
    assert files(tmp_path) == []


async def test_permission_error_is_transient(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder we may not write to is a transient error: ops can fix it, the send is retried."""

    def denied(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(outbox_module.tempfile, "mkstemp", denied)
    channel = OutboxChannel("email", OutboxSettings(directory=tmp_path), clock=ticking_clock())
    with pytest.raises(ChannelError) as info:
        await channel.send(email_message())
    assert not info.value.permanent
    assert str(tmp_path) in str(info.value)


async def test_folder_is_created_if_missing(tmp_path: Path) -> None:
    """send() creates a missing folder (with parents)."""
    directory = tmp_path / "a" / "b" / "outbox"
    channel = OutboxChannel("telegram", OutboxSettings(directory=directory), clock=ticking_clock())
    await channel.send(telegram_message())
    assert len(files(directory)) == 1


async def test_folder_path_blocked_by_a_file_fails_at_open(tmp_path: Path) -> None:
    """open() reports a folder that cannot be created as a ChannelError."""
    blocker = tmp_path / "outbox"
    blocker.write_text("not a folder")
    channel = OutboxChannel("email", OutboxSettings(directory=blocker / "sub"))
    with pytest.raises(ChannelError):
        await channel.open()


def test_outbox_stands_in_only_for_known_channels(tmp_path: Path) -> None:
    """An outbox for an unknown channel name is refused."""
    with pytest.raises(ValueError):
        OutboxChannel("sms", OutboxSettings(directory=tmp_path))


def test_safe_address() -> None:
    """Addresses become short ASCII file-name fragments."""
    assert safe_address("email", "Sở Tài chính <stc@example.gov.vn>") == "stc@example.gov.vn"
    assert safe_address("telegram", "-1001234567890") == "-1001234567890"
    assert safe_address("telegram", "@kenh_nhac_han") == "@kenh_nhac_han"
    assert safe_address("email", "../../etc/passwd") == "etc_passwd"
    assert "/" not in safe_address("telegram", "a/b")


async def test_outbox_eml_is_what_smtp_sends(tmp_path: Path, smtp_server: FakeSMTPServer) -> None:
    """The same config's outbox .eml and SMTP message have the same headers (Reply-To too) and body."""
    from helpers import write_config

    from reminder.channels.email import EmailChannel
    from reminder.config import load

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    outbox_settings = load(write_config(tmp_path / "a"))
    smtp_settings = load(write_config(tmp_path / "b", smtp=("127.0.0.1", smtp_server.port)))
    assert outbox_settings.email_transport == "outbox" and smtp_settings.smtp is not None
    message = email_message()

    outbox = OutboxChannel("email", outbox_settings.outbox, clock=ticking_clock())
    await outbox.open()
    await outbox.send(message)
    [eml] = outbox_settings.outbox.directory.iterdir()
    written = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)

    channel = EmailChannel(smtp_settings.smtp)
    await channel.open()
    try:
        await channel.send(message)
    finally:
        await channel.close()
    [received] = smtp_server.messages
    sent = email.message_from_bytes(received.raw, policy=email.policy.default)

    assert written["Reply-To"] == "vanthu@tinh.example"

    def headers(msg: email.message.EmailMessage) -> list[tuple[str, str]]:
        # Date is the instant of writing vs of sending; the MIME boundary is random.
        unstable = re.compile(r'boundary="[^"]*"')
        return [(k, unstable.sub("", str(v))) for k, v in msg.items() if k != "Date"]

    assert headers(written) == headers(sent)
    assert written.get_body(("plain",)).get_content() == sent.get_body(("plain",)).get_content()
    assert written.get_body(("html",)).get_content() == sent.get_body(("html",)).get_content()
