"""EmailChannel and build_email against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest
from fakes.smtp_server import FakeSMTPServer, free_port

from reminder.channels.base import ChannelError
from reminder.channels.email import EmailChannel, build_email
from reminder.model import VN_TZ, Message, SmtpSettings

SENDER = "Văn phòng UBND tỉnh <nhachan@example.gov.vn>"
SUBJECT = "Nhắc hạn: Nộp báo cáo kết quả thực hiện Kế hoạch – còn 3 ngày"
TEXT = (
    "Kính gửi: Sở Tài chính\n\n"
    "Đề nghị Quý cơ quan chủ trì thực hiện nhiệm vụ và báo cáo trước ngày 15/12/2026.\n"
    "Trân trọng.\nVăn phòng UBND tỉnh"
)
HTML = "<p>Kính gửi: <b>Sở Tài chính</b></p><p>Hạn: 15/12/2026 – còn 3 ngày.</p>"


def settings_for(server: FakeSMTPServer, **changes: object) -> SmtpSettings:
    base = SmtpSettings(
        host=server.host,
        port=server.port,
        security=server.security,
        sender=SENDER,
        timeout=2.0,
        local_hostname="reminder.test",
        ca_file=server.ca_pem,
    )
    if server.auth is not None:
        base = replace(base, username=server.auth[0], password=server.auth[1])
    return replace(base, **changes)  # type: ignore[arg-type]


def make_message(address: str = "stc@example.gov.vn", n: int = 1, **changes: object) -> Message:
    msg = Message(
        channel="email",
        address=address,
        subject=SUBJECT,
        text=TEXT,
        html=HTML,
        message_id=f"<reminder-{n}.abc123@nhachan.example.gov.vn>",
        keys=(f"t1|2026|m1|3|stc|email|{address}",),
        headers={"X-Reminder-Keys": f"t1|2026|m1|3|stc|email|{address}"},
    )
    return replace(msg, **changes)  # type: ignore[arg-type]


async def test_vietnamese_subject_and_body_decode_exactly(smtp_server: FakeSMTPServer) -> None:
    """Subject, From display name and both bodies arrive byte-exact (NFC) after decoding."""
    channel = EmailChannel(settings_for(smtp_server))
    await channel.open()
    await channel.send(make_message())
    await channel.close()

    [got] = smtp_server.messages
    msg = got.message
    assert msg["Subject"] == SUBJECT
    assert unicodedata.is_normalized("NFC", msg["Subject"])
    assert msg["From"].addresses[0].display_name == "Văn phòng UBND tỉnh"
    assert got.mail_from == "nhachan@example.gov.vn"
    assert got.rcpt_tos == ("stc@example.gov.vn",)
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().rstrip("\n") == TEXT
    assert html.get_content().rstrip("\n") == HTML
    # SMTPUTF8 is not assumed: the header block on the wire is plain ASCII, RFC 2047-encoded.
    head = got.raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"Subject: =?utf-8?" in head


async def test_nfd_input_is_sent_as_nfc(smtp_server: FakeSMTPServer) -> None:
    """Decomposed (NFD) Vietnamese is normalised to NFC before it leaves."""
    nfd = unicodedata.normalize("NFD", SUBJECT)
    channel = EmailChannel(settings_for(smtp_server))
    await channel.send(make_message(subject=nfd, text=unicodedata.normalize("NFD", TEXT)))
    await channel.close()
    [got] = smtp_server.messages
    assert got.message["Subject"] == SUBJECT
    assert got.message.get_body(("plain",)).get_content().rstrip("\n") == TEXT  # type: ignore[union-attr]


async def test_multipart_alternative_with_both_parts(smtp_server: FakeSMTPServer) -> None:
    """A message with HTML is multipart/alternative: text/plain first, then text/html."""
    channel = EmailChannel(settings_for(smtp_server))
    await channel.send(make_message())
    await channel.close()
    msg = smtp_server.messages[0].message
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())


async def test_text_only_message_is_single_part(smtp_server: FakeSMTPServer) -> None:
    """Without HTML the email is a single text/plain UTF-8 part."""
    channel = EmailChannel(settings_for(smtp_server))
    await channel.send(make_message(html=None))
    await channel.close()
    msg = smtp_server.messages[0].message
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().rstrip("\n") == TEXT


async def test_message_id_reply_to_and_extra_headers_preserved(
    smtp_server: FakeSMTPServer,
) -> None:
    """Message-ID, Reply-To, Date and X-Reminder-Keys arrive as set by the caller."""
    reply_to = "Phòng Tổng hợp <tonghop@example.gov.vn>"
    channel = EmailChannel(settings_for(smtp_server, reply_to=reply_to))
    message = make_message()
    await channel.send(message)
    await channel.close()
    msg = smtp_server.messages[0].message
    assert msg["Message-ID"] == message.message_id
    assert msg["Reply-To"].addresses[0].addr_spec == "tonghop@example.gov.vn"
    assert msg["Reply-To"].addresses[0].display_name == "Phòng Tổng hợp"
    assert msg["X-Reminder-Keys"] == message.headers["X-Reminder-Keys"]
    assert msg["Date"].datetime.tzinfo is not None


def raw_header(raw: bytes, name: str) -> str:
    """A header from the wire, unfolded and decoded by the RFC 2047 reference decoder."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    match = re.search(rf"(?:^|\r\n){name}: (.*?)(?=\r\n(?! )|$)", head, re.S)
    assert match, name
    return str(make_header(decode_header(match.group(1).replace("\r\n", ""))))


async def test_long_vietnamese_headers_keep_every_space(smtp_server: FakeSMTPServer) -> None:
    """Long subjects and display names folded over several lines lose no space (RFC 2047)."""
    subject = " – ".join([SUBJECT] * 3)
    to = (
        "Sở Tài nguyên và Môi trường tỉnh Quảng Trị cũ nay là Sở Nông nghiệp <stnmt@example.gov.vn>"
    )
    sender = "Văn phòng Ủy ban nhân dân tỉnh Quảng Trị và các cơ quan <nhachan@example.gov.vn>"
    channel = EmailChannel(settings_for(smtp_server, sender=sender))
    await channel.send(make_message(to, subject=subject))
    await channel.close()
    [got] = smtp_server.messages
    assert got.message["Subject"] == subject
    assert raw_header(got.raw, "Subject") == subject
    assert raw_header(got.raw, "To") == to
    assert raw_header(got.raw, "From") == sender
    assert all(len(line) <= 78 for line in got.raw.split(b"\r\n\r\n")[0].split(b"\r\n"))


def test_build_email_uses_given_now_and_rejects_naive() -> None:
    """build_email writes Date from an aware `now` (keeping its offset); a naive one is refused."""
    now = datetime(2026, 12, 12, 8, 0, tzinfo=VN_TZ)
    msg = build_email(make_message(), SENDER, None, now=now)
    assert msg["Date"] == "Sat, 12 Dec 2026 08:00:00 +0700"
    assert msg["Reply-To"] is None
    with pytest.raises(ValueError):
        build_email(make_message(), SENDER, None, now=datetime(2026, 12, 12, 8, 0))


def test_build_email_folds_line_breaks_out_of_headers() -> None:
    """A subject with a line break cannot inject a header: it becomes one line."""
    msg = build_email(make_message(subject="Nhắc hạn\r\nBcc: x@evil.test"), SENDER, None)
    assert msg["Subject"] == "Nhắc hạn Bcc: x@evil.test"
    assert msg["Bcc"] is None
    assert msg.as_bytes().count(b"\r\nBcc:") == 0


async def test_one_connection_is_reused_for_a_batch(smtp_server: FakeSMTPServer) -> None:
    """Several sends after open() travel over a single SMTP connection."""
    channel = EmailChannel(settings_for(smtp_server))
    await channel.open()
    for n in range(3):
        await channel.send(make_message(f"a{n}@example.gov.vn", n))
    await channel.close()
    assert len(smtp_server.messages) == 3
    assert len({m.peer for m in smtp_server.messages}) == 1


async def test_starttls_with_test_ca_and_auth_accepted(smtp_tls_server: FakeSMTPServer) -> None:
    """STARTTLS verifies the server against the extra CA file, then AUTH succeeds."""
    channel = EmailChannel(settings_for(smtp_tls_server))
    await channel.open()
    await channel.send(make_message())
    await channel.close()
    assert smtp_tls_server.logins == [(smtp_tls_server.auth[0], True)]  # type: ignore[index]
    assert smtp_tls_server.messages[0].message["Subject"] == SUBJECT


async def test_implicit_tls_with_test_ca() -> None:
    """security="tls" connects with implicit TLS and delivers."""
    with FakeSMTPServer(security="tls") as server:
        channel = EmailChannel(settings_for(server))
        await channel.send(make_message())
        await channel.close()
        assert len(server.messages) == 1


async def test_auth_refused_is_transient_and_hides_password(
    smtp_tls_server: FakeSMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong password is a transient error (ops can fix it) naming host:port and 535, never the password."""
    caplog.set_level(logging.DEBUG)
    wrong = "Wrong-pässword-42"
    settings = settings_for(smtp_tls_server, password=wrong)
    channel = EmailChannel(settings)
    with pytest.raises(ChannelError) as info:
        await channel.open()
    await channel.close()
    err = info.value
    assert not err.permanent
    assert f"{smtp_tls_server.host}:{smtp_tls_server.port}" in str(err)
    assert "535" in str(err)
    for secret in (wrong, smtp_tls_server.auth[1]):  # type: ignore[index]
        assert secret not in str(err)
        assert secret not in repr(err)
        assert secret not in caplog.text
        assert secret not in repr(channel)
        assert secret not in repr(settings)
    assert smtp_tls_server.messages == []


async def test_refused_recipient_is_permanent_and_batch_continues(
    smtp_server: FakeSMTPServer,
) -> None:
    """A 550 recipient fails permanently; the next message in the batch is still delivered."""
    smtp_server.refuse.add("nobody@example.gov.vn")
    channel = EmailChannel(settings_for(smtp_server))
    await channel.open()
    with pytest.raises(ChannelError) as info:
        await channel.send(make_message("nobody@example.gov.vn", 1))
    await channel.send(make_message("stc@example.gov.vn", 2))
    await channel.close()
    assert info.value.permanent
    assert "550" in str(info.value) and "nobody@example.gov.vn" in str(info.value)
    assert [m.rcpt_tos for m in smtp_server.messages] == [("stc@example.gov.vn",)]


async def test_partially_refused_recipients_are_reported(smtp_server: FakeSMTPServer) -> None:
    """When one of two recipients is refused, the error dict is checked: permanent error."""
    smtp_server.refuse.add("nobody@example.gov.vn")
    channel = EmailChannel(settings_for(smtp_server))
    with pytest.raises(ChannelError) as info:
        await channel.send(make_message("stc@example.gov.vn, nobody@example.gov.vn"))
    await channel.close()
    assert info.value.permanent
    assert "nobody@example.gov.vn" in str(info.value)
    assert [m.rcpt_tos for m in smtp_server.messages] == [("stc@example.gov.vn",)]


async def test_451_recipient_is_transient(smtp_server: FakeSMTPServer) -> None:
    """A 451 (try again later) at RCPT is a transient error carrying the code."""
    smtp_server.tempfail.add("busy@example.gov.vn")
    channel = EmailChannel(settings_for(smtp_server))
    with pytest.raises(ChannelError) as info:
        await channel.send(make_message("busy@example.gov.vn"))
    await channel.close()
    assert not info.value.permanent
    assert "451" in str(info.value)


async def test_server_stopped_mid_batch_then_back(smtp_server: FakeSMTPServer) -> None:
    """Server gone mid-batch: transient error; once it is back the next send reconnects."""
    channel = EmailChannel(settings_for(smtp_server))
    await channel.open()
    await channel.send(make_message("a@example.gov.vn", 1))
    smtp_server.stop()
    with pytest.raises(ChannelError) as info:
        await channel.send(make_message("b@example.gov.vn", 2))
    assert not info.value.permanent
    assert f"{smtp_server.host}:{smtp_server.port}" in str(info.value)
    smtp_server.start()
    await channel.send(make_message("c@example.gov.vn", 3))
    await channel.close()
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["a@example.gov.vn", "c@example.gov.vn"]


async def test_dropped_connection_is_reopened_transparently(smtp_server: FakeSMTPServer) -> None:
    """If the server dropped the idle connection, send reconnects once and succeeds."""
    channel = EmailChannel(settings_for(smtp_server))
    await channel.open()
    await channel.send(make_message("a@example.gov.vn", 1))
    smtp_server.stop()
    smtp_server.start()
    await channel.send(make_message("b@example.gov.vn", 2))
    await channel.close()
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["a@example.gov.vn", "b@example.gov.vn"]
    assert smtp_server.messages[0].peer != smtp_server.messages[1].peer


async def test_connection_refused_is_transient(caplog: pytest.LogCaptureFixture) -> None:
    """Nobody listening on the port: transient error naming host:port, not the password."""
    caplog.set_level(logging.DEBUG)
    port = free_port()
    password = "Refused-pässword-77"
    settings = SmtpSettings(
        host="127.0.0.1",
        port=port,
        security="starttls",
        sender=SENDER,
        username="nhachan",
        password=password,
        timeout=2.0,
    )
    channel = EmailChannel(settings)
    with pytest.raises(ChannelError) as info:
        await channel.open()
    await channel.close()
    assert not info.value.permanent
    assert f"127.0.0.1:{port}" in str(info.value)
    assert password not in str(info.value) + repr(info.value) + caplog.text


async def test_untrusted_certificate_is_transient_channel_error(
    smtp_tls_server: FakeSMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the test CA the certificate fails verification: a transient ChannelError."""
    caplog.set_level(logging.DEBUG)
    settings = settings_for(smtp_tls_server, ca_file=None)
    channel = EmailChannel(settings)
    with pytest.raises(ChannelError) as info:
        await channel.send(make_message())
    await channel.close()
    assert not info.value.permanent
    assert "TLS" in str(info.value) or "certificate" in str(info.value).lower()
    assert settings.password and settings.password not in str(info.value) + caplog.text
    assert smtp_tls_server.messages == []


async def test_implicit_tls_untrusted_certificate_is_transient() -> None:
    """Implicit TLS to an untrusted certificate also maps to a transient ChannelError."""
    with FakeSMTPServer(security="tls") as server:
        channel = EmailChannel(settings_for(server, ca_file=None))
        with pytest.raises(ChannelError) as info:
            await channel.open()
        await channel.close()
        assert not info.value.permanent


async def test_close_never_raises(smtp_server: FakeSMTPServer) -> None:
    """close() is safe unopened, twice, and after the server went away."""
    channel = EmailChannel(settings_for(smtp_server))
    await channel.close()
    await channel.open()
    smtp_server.stop()
    await channel.close()
    await channel.close()


def test_build_email_date_defaults_to_now() -> None:
    """Without `now`, Date is the current time."""
    msg = build_email(make_message(), SENDER, None)
    sent = msg["Date"].datetime
    assert abs((datetime.now(UTC) - sent).total_seconds()) < 60


def test_channel_can_serve_batches_in_successive_event_loops(smtp_server: FakeSMTPServer) -> None:
    """A batch per asyncio.run (as `run --once` does) works with the same channel object."""
    channel = EmailChannel(settings_for(smtp_server))

    async def batch(n: int) -> None:
        await channel.open()
        await asyncio.gather(*(channel.send(make_message(f"a{n}{k}@x.vn", k)) for k in range(3)))
        await channel.close()

    asyncio.run(batch(1))
    asyncio.run(batch(2))
    assert len(smtp_server.messages) == 6


async def test_flattened_ahead_sends_what_send_message_sends(smtp_server: FakeSMTPServer) -> None:
    """The bytes and envelope flattened before taking the connection equal send_message's."""
    import aiosmtplib

    from reminder.channels.email import _Ready

    now = datetime(2026, 12, 15, 8, 0, tzinfo=VN_TZ)
    long_title = "Nhắc hạn: " + "báo cáo kết quả thực hiện nhiệm vụ " * 6
    msg = build_email(make_message(subject=long_title), SENDER, "vanthu@example.gov.vn", now=now)
    ready = _Ready.of(msg)
    assert ready is not None
    smtp = aiosmtplib.SMTP(hostname=smtp_server.host, port=smtp_server.port, timeout=5)
    await smtp.connect()
    try:
        await smtp.send_message(msg)
        await smtp.sendmail(
            ready.sender, ready.recipients, ready.data, mail_options=["BODY=8BITMIME"]
        )
    finally:
        await smtp.quit()
    standard, ahead = smtp_server.messages
    assert (ahead.mail_from, ahead.rcpt_tos, ahead.raw) == (
        standard.mail_from,
        standard.rcpt_tos,
        standard.raw,
    )


def test_non_ascii_address_is_left_to_send_message() -> None:
    """An address that needs SMTPUTF8 is not flattened ahead (send_message flattens it so)."""
    from reminder.channels.email import _Ready

    msg = build_email(make_message(address="văn-thư@example.gov.vn"), SENDER, None)
    assert _Ready.of(msg) is None
