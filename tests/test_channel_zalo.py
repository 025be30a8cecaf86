"""ZaloChannel, its client and split_plain against a fake Zalo Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator

import pytest
from fakes.zalo_api import MAX_TEXT, FakeZaloAPI
from hypothesis import given
from hypothesis import strategies as st

from reminder.channels.base import ChannelError
from reminder.channels.plaintext import split_plain, units
from reminder.channels.zalo import Verdict, ZaloChannel, classify
from reminder.channels.zalo_api import ZaloApiError, ZaloBotClient, ZaloUnreachable, parse_update
from reminder.model import Message, ZaloSettings

CHAT = "a1b2c3d4e5f6"
GROUP = "g-998877"
TEXT = 'NHẮC HẠN\nKính gửi: Sở Nội vụ\n\n1. Nhiệm vụ số 3 <script> & "thuế"\nHạn: 15/12/2026'


@pytest.fixture
async def zalo_api() -> AsyncIterator[FakeZaloAPI]:
    """A fake Zalo Bot API in the test's event loop."""
    async with FakeZaloAPI() as api:
        api.add_chat(CHAT)
        api.add_chat(GROUP, "GROUP")
        yield api


def settings(api: FakeZaloAPI, **changes: object) -> ZaloSettings:
    values: dict[str, object] = {"token": api.token, "base_url": api.base_url, "timeout": 5.0}
    values.update(changes)
    return ZaloSettings(**values)  # type: ignore[arg-type]


def message(address: str = CHAT, text: str = TEXT, agency: str = "so-noi-vu") -> Message:
    return Message(channel="zalo", address=address, subject="Nhắc hạn", text=text, agency=agency)


@pytest.fixture
async def channel(zalo_api: FakeZaloAPI) -> AsyncIterator[ZaloChannel]:
    ch = ZaloChannel(settings(zalo_api, send_per_second=1000), per_chat=False)
    await ch.open()
    yield ch
    await ch.close()


def assert_no_token(api: FakeZaloAPI, *texts: str) -> None:
    for text in texts:
        assert api.token not in text
        assert api.token.partition(":")[2] not in text


# -- delivery -------------------------------------------------------------------------------


async def test_text_arrives_as_plain_text_intact(
    zalo_api: FakeZaloAPI, channel: ZaloChannel
) -> None:
    """The text arrives byte for byte (no escaping, no parse mode) in the chat it names."""
    receipt = await channel.send(message())
    [sent] = zalo_api.sent
    assert (sent.chat_id, sent.text) == (CHAT, TEXT)
    assert receipt.note == ""
    assert zalo_api.calls == ["getMe", "sendMessage"]


async def test_long_digest_goes_in_numbered_parts_in_order(
    zalo_api: FakeZaloAPI, channel: ZaloChannel
) -> None:
    """A digest over 2,000 characters arrives as "(1/n)"… parts, each ≤ 2,000, cut between
    items, and put together they give the items back in order."""
    items = [f"{i}. Nhiệm vụ số {i}:" + " báo cáo kết quả thực hiện" * 8 for i in range(1, 30)]
    text = "NHẮC HẠN: 29 nhiệm vụ\n\n" + "\n\n".join(items)
    receipt = await channel.send(message(text=text))
    texts = zalo_api.texts(CHAT)
    n = len(texts)
    assert n >= 3 and receipt.note == f"sent in {n} parts"
    assert all(len(t) <= MAX_TEXT for t in texts)
    assert [t.split("\n", 1)[0] for t in texts] == [f"({i}/{n})" for i in range(1, n + 1)]
    bodies = [t.split("\n", 1)[1] for t in texts]
    assert "\n\n".join(bodies) == text  # cut only at the blank lines between items


async def test_rate_is_honoured_under_a_burst(zalo_api: FakeZaloAPI) -> None:
    """With the server allowing 50 messages a second and the channel set to 50, 300 messages
    to 300 chats each arrive once and the server never has to refuse one (no 429): the
    bot's window counts from the server's answers."""
    zalo_api.rate = 50
    chats = [f"c{i}" for i in range(300)]
    for c in chats:
        zalo_api.add_chat(c)
    ch = ZaloChannel(settings(zalo_api, send_per_second=50))
    try:
        await asyncio.gather(*(ch.send(message(c)) for c in chats))
    finally:
        await ch.close()
    assert sorted(s.chat_id for s in zalo_api.sent) == sorted(chats)
    assert zalo_api.refused == 0
    times = sorted(s.at for s in zalo_api.sent)
    assert times[-1] - times[0] >= 5 * 0.99  # 300 at 50 a second: not faster


async def test_a_429_is_waited_out_and_sent(zalo_api: FakeZaloAPI, channel: ZaloChannel) -> None:
    """A 429 with retry_after is waited out and the message sent once (retry class)."""
    zalo_api.fail(CHAT, 429, "Too Many Requests", times=1)
    await channel.send(message())
    assert len(zalo_api.texts(CHAT)) == 1
    assert zalo_api.calls.count("sendMessage") == 2


async def test_one_chat_gets_at_most_one_message_a_second(zalo_api: FakeZaloAPI) -> None:
    """Three messages to one chat leave at least a second apart."""
    ch = ZaloChannel(settings(zalo_api, send_per_second=100))
    try:
        await asyncio.gather(*(ch.send(message(text=f"tin {i}")) for i in range(3)))
    finally:
        await ch.close()
    times = [s.at for s in zalo_api.sent]
    assert len(times) == 3 and all(b - a >= 0.99 for a, b in itertools.pairwise(times))


# -- error classes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "description", "verdict", "permanent"),
    [
        (500, "Internal Server Error", Verdict.RETRY, False),
        (502, "Bad Gateway", Verdict.RETRY, False),
        (503, "Service Unavailable", Verdict.RETRY, False),
        (429, "Too Many Requests", Verdict.RETRY, False),
        (400, "Bad Request: chat not found", Verdict.GIVE_UP, True),
        (403, "Forbidden: bot was removed from the group", Verdict.GIVE_UP, True),
        (404, "User not found", Verdict.GIVE_UP, True),
    ],
)
async def test_each_error_class_for_a_chat(
    zalo_api: FakeZaloAPI,
    channel: ZaloChannel,
    caplog: pytest.LogCaptureFixture,
    status: int,
    description: str,
    verdict: str,
    permanent: bool,
) -> None:
    """Each error becomes one ChannelError of its class and one log line naming the chat and
    the agency, and no token."""
    zalo_api.fail(CHAT, status, description)
    with (
        caplog.at_level(logging.INFO, "reminder.channels.zalo"),
        pytest.raises(ChannelError) as err,
    ):
        await channel.send(message())
    assert classify(ZaloApiError(status, description, status)) == verdict
    assert err.value.permanent is permanent
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1
    assert CHAT in lines[0] and "so-noi-vu" in lines[0] and description in lines[0]
    assert_no_token(zalo_api, str(err.value), *lines)
    assert channel.stopped is None


async def test_unknown_chat_gives_up_and_bot_removed_gives_up(
    zalo_api: FakeZaloAPI, channel: ZaloChannel
) -> None:
    """A chat the server does not know, and a group the bot was removed from, are given up."""
    zalo_api.remove_bot(GROUP)
    for chat in ("no-such-chat", GROUP):
        with pytest.raises(ChannelError) as err:
            await channel.send(message(chat))
        assert err.value.permanent
    await channel.send(message())  # the channel goes on for the others
    assert zalo_api.texts() == [TEXT]


async def test_bad_token_stops_the_channel_with_one_line(
    zalo_api: FakeZaloAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused token stops the channel: open fails (transient), later sends make no call,
    and one ERROR line says so without the token."""
    ch = ZaloChannel(settings(zalo_api, token="111:wrong-token-for-the-test"))
    with caplog.at_level(logging.INFO, "reminder.channels.zalo"):
        for _ in range(3):
            with pytest.raises(ChannelError) as err:
                await ch.send(message())
            assert not err.value.permanent
            assert "token was refused" in str(err.value)
    await ch.close()
    assert zalo_api.calls == ["getMe"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "wrong-token" not in errors[0].getMessage()


async def test_outage_is_a_retry_and_token_stays_out(zalo_api: FakeZaloAPI) -> None:
    """During an outage (503 JSON, or a proxy's HTML page) a send is a transient error."""
    ch = ZaloChannel(settings(zalo_api))
    await ch.open()
    for html in (False, True):
        zalo_api.outage(True, html=html)
        with pytest.raises(ChannelError) as err:
            await ch.send(message())
        assert not err.value.permanent
        assert_no_token(zalo_api, str(err.value))
    zalo_api.outage(False)
    await ch.send(message())
    await ch.close()
    assert zalo_api.texts() == [TEXT]


async def test_unreachable_server_is_a_retry_without_token() -> None:
    """Connection refused: a transient error whose text holds no token."""
    token = "999:secret-part-of-the-token"
    ch = ZaloChannel(ZaloSettings(token=token, base_url="http://127.0.0.1:9/bot", timeout=2))
    with pytest.raises(ChannelError) as err:
        await ch.send(message())
    await ch.close()
    assert not err.value.permanent
    assert "secret-part" not in str(err.value)


async def test_client_long_poll_waits_then_times_out(zalo_api: FakeZaloAPI) -> None:
    """getUpdates waits for an update; an empty poll ends after its timeout with 408."""
    client = ZaloBotClient(zalo_api.token, zalo_api.base_url, timeout=5)
    try:
        start = time.monotonic()
        with pytest.raises(ZaloApiError) as err:
            await client.get_updates(timeout=1)
        assert err.value.code == 408 and time.monotonic() - start >= 0.9
        poll = asyncio.create_task(client.get_updates(timeout=10))
        await asyncio.sleep(0.2)
        zalo_api.add_message(CHAT, "xong 3")
        [update] = await asyncio.wait_for(poll, 5)
    finally:
        await client.close()
    assert update.message is not None
    assert (update.message.chat_id, update.message.text) == (CHAT, "xong 3")
    assert update.message.user_name == "Nguyễn Văn A"


def test_parse_update_tolerates_odd_shapes() -> None:
    """Updates without a message, a chat or text parse to something safe or to None."""
    assert parse_update(None) is None and parse_update([1]) is None
    u = parse_update({"event_name": "message.sticker.received", "message": {"chat": {"id": 5}}})
    assert u is not None and u.message is not None and u.message.text == ""
    assert u.message.chat_id == "5" and u.message.chat_type == "PRIVATE"


def test_classify_unreachable_is_retry() -> None:
    """No answer at all is always retried."""
    assert classify(ZaloUnreachable("x")) == Verdict.RETRY


# -- splitting ------------------------------------------------------------------------------


def test_split_never_cuts_a_link_or_a_word() -> None:
    """A long line of words and a link is cut between words; the link stays whole."""
    link = "https://nhachan.tinh.example/xac-nhan/" + "A" * 150
    text = " ".join(["Đề nghị Quý cơ quan hoàn thành"] * 120 + [link] + ["đúng hạn"] * 50)
    parts = split_plain(text, 2000)
    assert len(parts) > 1
    assert sum(link in p for p in parts) == 1
    words = set(text.split())
    for p in parts:
        assert units(p) <= 2000
        assert all(w in words or w.startswith("(") for w in p.split())


def test_short_text_is_not_numbered() -> None:
    """A text that fits goes as it is, without "(1/1)"."""
    assert split_plain("Kính gửi: Sở Nội vụ", 2000) == ["Kính gửi: Sở Nội vụ"]
    assert split_plain("  \n ", 2000) == []


WORDS = st.text(alphabet="ăâđêôơưabcạảãáàé😀/:.", min_size=1, max_size=40)
LINES = st.lists(WORDS, min_size=1, max_size=30).map(" ".join)
PARAGRAPHS = st.lists(LINES, min_size=1, max_size=5).map("\n".join)


@given(st.lists(PARAGRAPHS, max_size=30))
def test_split_parts_fit_and_keep_every_word(paragraphs: list[str]) -> None:
    """Every part fits the limit, no word is cut, and the words come back in order."""
    text = "\n\n".join(paragraphs)
    parts = split_plain(text, 200)
    assert all(units(p) <= 200 for p in parts)
    body = [p.split("\n", 1)[1] if len(parts) > 1 else p for p in parts]
    assert " ".join(body).split() == text.split()
