"""TelegramChannel, split_html and list_chats against a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections.abc import AsyncIterator

import pytest
from fakes.smtp_server import free_port
from fakes.telegram_api import MAX_TEXT, FakeTelegramAPI, Sent, check_html
from hypothesis import given, settings
from hypothesis import strategies as st

from reminder.channels.base import ChannelError
from reminder.channels.telegram import (
    MIGRATED_NOTE,
    ChatInfo,
    Rate,
    TelegramChannel,
    TelegramLimits,
    list_chats,
    split_html,
)
from reminder.model import Message, TelegramSettings

pytestmark = pytest.mark.filterwarnings(
    # PTB warns, when it builds a RetryAfter, that retry_after will become a timedelta.
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

PRIVATE = "111222333"
GROUP = "-1001234567890"
TEXT = (
    "<b>Nhắc hạn:</b> Nộp báo cáo &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
    "&quot;thuế&quot; – còn 3 ngày\n<i>Hạn: 15/12/2026</i>"
)
NO_LIMITS = TelegramLimits(overall=None, per_chat=None, per_group=None)


def tg_settings(api: FakeTelegramAPI, **changes: object) -> TelegramSettings:
    values: dict[str, object] = {"token": api.token, "base_url": api.base_url, "timeout": 5.0}
    values.update(changes)
    return TelegramSettings(**values)  # type: ignore[arg-type]


def message(address: str = PRIVATE, text: str = TEXT) -> Message:
    return Message(channel="telegram", address=address, subject="Nhắc hạn", text=text)


@pytest.fixture
async def channel(telegram_api: FakeTelegramAPI) -> AsyncIterator[TelegramChannel]:
    ch = TelegramChannel(tg_settings(telegram_api), limits=NO_LIMITS)
    await ch.open()
    yield ch
    await ch.close()


def assert_no_token(api: FakeTelegramAPI, *texts: str) -> None:
    for text in texts:
        assert api.token not in text
        assert api.token.partition(":")[2] not in text


# -- delivery -------------------------------------------------------------------------------


async def test_message_arrives_as_html_with_text_intact(
    telegram_api: FakeTelegramAPI, channel: TelegramChannel
) -> None:
    """The escaped HTML arrives exactly as sent, with parse_mode HTML (&lt;script&gt; stays)."""
    receipt = await channel.send(message())
    [sent] = telegram_api.sent
    assert sent.chat_id == PRIVATE
    assert sent.parse_mode == "HTML"
    assert sent.text == TEXT
    assert "&lt;script&gt;" in sent.text and "<script>" not in sent.text
    assert receipt.new_address is None


async def test_open_checks_the_bot_with_getme(telegram_api: FakeTelegramAPI) -> None:
    """open() calls getMe once; send() after open() does not call it again."""
    ch = TelegramChannel(tg_settings(telegram_api), limits=NO_LIMITS)
    await ch.open()
    await ch.send(message())
    await ch.send(message(GROUP))
    await ch.close()
    await ch.close()
    assert telegram_api.calls == ["getMe", "sendMessage", "sendMessage"]


async def test_group_and_channel_usernames_are_delivered(
    telegram_api: FakeTelegramAPI, channel: TelegramChannel
) -> None:
    """Negative group ids and "@channel" names are accepted as addresses."""
    await channel.send(message(GROUP))
    await channel.send(message("@kenh_nhac_han"))
    assert [s.chat_id for s in telegram_api.sent] == [GROUP, "@kenh_nhac_han"]


async def test_long_text_is_split_in_order_under_4096(
    telegram_api: FakeTelegramAPI, channel: TelegramChannel
) -> None:
    """A text over 4096 characters goes as several messages, in order, each one valid."""
    lines = [f"<b>{n:03d}.</b> Sở Tài chính – báo cáo &amp; kế hoạch số {n}" for n in range(300)]
    text = "\n".join(lines)
    assert len(text) > 3 * MAX_TEXT
    receipt = await channel.send(message(text=text))
    parts = [s.text for s in telegram_api.sent]
    assert len(parts) >= 4
    assert all(check_html(p) == (None, check_html(p)[1]) and len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    assert "parts" in receipt.note


async def test_empty_message_is_permanent(channel: TelegramChannel) -> None:
    """A text with nothing to send is refused before any request."""
    with pytest.raises(ChannelError) as info:
        await channel.send(message(text=" \n "))
    assert info.value.permanent


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        ("block", "blocked"),
        ("kick", "kicked"),
        ("chat_not_found", "not found"),
    ],
)
async def test_refusals_are_permanent(
    telegram_api: FakeTelegramAPI,
    channel: TelegramChannel,
    caplog: pytest.LogCaptureFixture,
    program: str,
    expected: str,
) -> None:
    """403 blocked/kicked and 400 chat not found are permanent and name the chat."""
    caplog.set_level(logging.DEBUG)
    getattr(telegram_api, program)(PRIVATE)
    with pytest.raises(ChannelError) as info:
        await channel.send(message())
    assert info.value.permanent
    assert expected in str(info.value).lower()
    assert PRIVATE in str(info.value)
    assert telegram_api.sent == []
    assert info.value.__context__ is None
    assert_no_token(telegram_api, str(info.value), repr(info.value), caplog.text)


async def test_bad_html_is_permanent(channel: TelegramChannel) -> None:
    """HTML that Telegram cannot parse (an unescaped tag) is a permanent error."""
    with pytest.raises(ChannelError) as info:
        await channel.send(message(text="Hạn <script>x</script>"))
    assert info.value.permanent
    assert "parse entities" in str(info.value)


async def test_wrong_token_is_transient_and_never_shown(
    telegram_api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """401 at getMe is a transient error (ops can fix the token); the token is in no message or log line."""
    caplog.set_level(logging.DEBUG)
    wrong = "987654321:AAWrongTokenWrongTokenWrongToken12"
    settings = TelegramSettings(token=wrong, base_url=telegram_api.base_url, timeout=5.0)
    ch = TelegramChannel(settings)
    with pytest.raises(ChannelError) as info:
        await ch.open()
    await ch.close()
    assert not info.value.permanent
    assert "token" in str(info.value).lower()
    assert info.value.__cause__ is None and info.value.__context__ is None  # no PTB error chained
    for text in (str(info.value), repr(info.value), caplog.text, repr(ch), repr(settings)):
        assert wrong not in text
        assert wrong.partition(":")[2] not in text


async def test_token_never_logged_on_success(
    telegram_api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx logs every request URL (which holds the token): the filter scrubs it."""
    caplog.set_level(logging.DEBUG)
    ch = TelegramChannel(tg_settings(telegram_api), limits=NO_LIMITS)
    await ch.send(message())
    await ch.close()
    assert "/bot***/sendMessage" in caplog.text  # the line is there, the token is not
    assert_no_token(telegram_api, caplog.text)


async def test_connection_refused_is_transient(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listening: a transient ChannelError without the token."""
    caplog.set_level(logging.DEBUG)
    token = "555:AAConnectionRefusedTokenSecret99"
    settings = TelegramSettings(
        token=token, base_url=f"http://127.0.0.1:{free_port()}/bot", timeout=2.0
    )
    ch = TelegramChannel(settings)
    with pytest.raises(ChannelError) as info:
        await ch.open()
    await ch.close()
    assert not info.value.permanent
    assert token not in str(info.value) + caplog.text


async def test_timeout_is_transient() -> None:
    """A server that never answers gives a transient ChannelError after the timeout."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = TelegramSettings(
            token="1:AAsilent", base_url=f"http://127.0.0.1:{port}/bot", timeout=0.3
        )
        ch = TelegramChannel(settings)
        with pytest.raises(ChannelError) as info:
            await ch.open()
        await ch.close()
        assert not info.value.permanent
    finally:
        server.close()


async def test_retry_after_is_honoured_then_delivered(
    telegram_api: FakeTelegramAPI, channel: TelegramChannel
) -> None:
    """After a 429 the channel waits retry_after seconds, then the message goes through."""
    telegram_api.flood(PRIVATE, retry_after=1, times=1)
    started = time.monotonic()
    await channel.send(message())
    elapsed = time.monotonic() - started
    assert elapsed >= 1.0
    assert [r[1] for r in telegram_api.rejected] == [429]
    assert len(telegram_api.sent) == 1


async def test_retry_after_longer_than_allowed_is_transient_with_retry_after(
    telegram_api: FakeTelegramAPI,
) -> None:
    """A wait longer than max_retry_wait is not slept: transient error carrying retry_after."""
    telegram_api.flood(PRIVATE, retry_after=5, times=1)
    ch = TelegramChannel(tg_settings(telegram_api), limits=TelegramLimits(max_retry_wait=2))
    started = time.monotonic()
    with pytest.raises(ChannelError) as info:
        await ch.send(message())
    await ch.close()
    assert time.monotonic() - started < 2
    assert not info.value.permanent
    assert info.value.retry_after == 5


async def test_retry_after_gives_up_after_the_bound(telegram_api: FakeTelegramAPI) -> None:
    """Still 429 after `retry_attempts` waits: a transient error carrying retry_after."""
    telegram_api.flood(PRIVATE, retry_after=1, times=5)
    ch = TelegramChannel(tg_settings(telegram_api), limits=TelegramLimits(retry_attempts=1))
    with pytest.raises(ChannelError) as info:
        await ch.send(message())
    await ch.close()
    assert not info.value.permanent
    assert info.value.retry_after == 1
    assert len(telegram_api.rejected) == 2


async def test_migrated_group_is_resent_to_new_id(
    telegram_api: FakeTelegramAPI, channel: TelegramChannel
) -> None:
    """A group upgraded to a supergroup: delivered to the new id, Receipt.new_address set."""
    telegram_api.migrate("-4001", -1009876543210)
    receipt = await channel.send(message("-4001"))
    assert receipt.new_address == "-1009876543210"
    assert receipt.note == MIGRATED_NOTE
    assert [s.chat_id for s in telegram_api.sent] == ["-1009876543210"]


async def test_error_after_first_part_says_how_many_were_sent(
    telegram_api: FakeTelegramAPI, channel: TelegramChannel
) -> None:
    """If a later part fails, the error says how many parts the chat already has."""
    text = "\n".join(["<b>dòng</b> " + "x" * 90] * 60)  # two parts
    telegram_api.block(PRIVATE, after=1)
    with pytest.raises(ChannelError) as info:
        await channel.send(message(text=text))
    assert "after 1 of 2 parts" in str(info.value)
    assert info.value.permanent


# -- rate limits ----------------------------------------------------------------------------


# The fake stamps arrival times; the channel can only space its requests. Connection set-up
# and a busy machine shift arrivals by some milliseconds, so the checks below allow 50-100 ms.


def gaps(sent: list[Sent]) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(sent)]


def max_in_window(sent: list[Sent], seconds: float) -> int:
    times = [s.at for s in sent]
    return max(sum(1 for t in times if start <= t < start + seconds) for start in times)


async def test_per_chat_rate_is_at_most_one_a_second(telegram_api: FakeTelegramAPI) -> None:
    """With the default limits, messages to one chat arrive at least ~1 s apart."""
    ch = TelegramChannel(tg_settings(telegram_api))
    for _ in range(3):
        await ch.send(message())
    await ch.close()
    assert len(telegram_api.sent) == 3
    assert all(gap >= 0.95 for gap in gaps(telegram_api.sent))


async def test_per_group_window_is_kept(telegram_api: FakeTelegramAPI) -> None:
    """A group gets at most per_group messages in any window of that length."""
    limits = TelegramLimits(overall=None, per_chat=None, per_group=Rate(3, 0.6))
    ch = TelegramChannel(tg_settings(telegram_api), limits=limits)
    for _ in range(7):
        await ch.send(message(GROUP))
    await ch.send(message(PRIVATE))  # a private chat is not a group: not held back
    await ch.close()
    group = telegram_api.sent_to(GROUP)
    assert len(group) == 7
    assert max_in_window(group, 0.5) <= 3
    assert telegram_api.sent[-1].at - group[-1].at < 0.3


async def test_overall_rate_is_kept_under_concurrency(telegram_api: FakeTelegramAPI) -> None:
    """Concurrent sends to many chats stay within the overall window."""
    limits = TelegramLimits(overall=Rate(5, 0.5), per_chat=Rate(1, 1.0), per_group=None)
    ch = TelegramChannel(tg_settings(telegram_api), limits=limits)
    await asyncio.gather(*(ch.send(message(str(1000 + n))) for n in range(12)))
    await ch.close()
    assert len(telegram_api.sent) == 12
    assert max_in_window(telegram_api.sent, 0.4) <= 5


async def test_concurrent_sends_to_one_chat_keep_parts_together(
    telegram_api: FakeTelegramAPI,
) -> None:
    """Messages sent concurrently to one chat never interleave their parts."""
    limits = TelegramLimits(overall=None, per_chat=Rate(1, 0.02), per_group=None)
    ch = TelegramChannel(tg_settings(telegram_api), limits=limits)
    ch.split_limit = 200
    texts = ["\n".join(f"<b>m{m}</b> dòng {n} " + "y" * 60 for n in range(6)) for m in range(3)]
    await asyncio.gather(*(ch.send(message(text=t)) for t in texts))
    await ch.close()
    owners = [re.match(r"<b>(m\d)</b>", s.text).group(1) for s in telegram_api.sent]  # type: ignore[union-attr]
    runs = [o for i, o in enumerate(owners) if i == 0 or owners[i - 1] != o]
    assert sorted(runs) == ["m0", "m1", "m2"]


async def test_enforcing_server_sees_no_violation() -> None:
    """A fake that enforces the limits never has to answer 429 when the channel keeps them."""
    # The fake times a message when it arrives: on a loaded machine one may arrive up to
    # `tolerance` later than the next, so the windows are long enough for half a second.
    async with FakeTelegramAPI(
        enforce_limits=True, overall=(6, 1.0), per_chat=(1, 1.0), per_group=(3, 2.0), tolerance=0.5
    ) as api:
        limits = TelegramLimits(overall=Rate(6, 1.0), per_chat=Rate(1, 1.0), per_group=Rate(3, 2.0))
        ch = TelegramChannel(tg_settings(api), limits=limits)
        chats = [GROUP, PRIVATE, "-100555", "42", GROUP, "43", PRIVATE, GROUP, "44", "45"]
        await asyncio.gather(*(ch.send(message(c)) for c in chats))
        await ch.close()
        assert api.rejected == []
        assert len(api.sent) == len(chats)


async def test_enforcing_server_429_is_absorbed_without_limits() -> None:
    """Without client limits the enforcing fake answers 429 and the channel waits it out."""
    async with FakeTelegramAPI(enforce_limits=True, per_chat=(1, 1.0)) as api:
        ch = TelegramChannel(tg_settings(api), limits=NO_LIMITS)
        await ch.send(message())
        await ch.send(message())
        await ch.close()
        assert [r[1] for r in api.rejected] == [429]
        assert len(api.sent) == 2
        assert gaps(api.sent)[0] >= 0.95


# -- list_chats and the threaded fake ---------------------------------------------------------


async def test_list_chats(telegram_api: FakeTelegramAPI) -> None:
    """list_chats returns the private chats and groups the bot saw, once each."""
    telegram_api.add_private_message(111, "An", last_name="Nguyễn Văn", username="an_nguyen")
    telegram_api.add_group_membership(-1002003004005, "Sở Tài chính – Nhắc hạn")
    telegram_api.add_private_message(111, "An", last_name="Nguyễn Văn", text="cảm ơn")
    telegram_api.add_group_membership(-1009990000000, "Nhóm cũ", status="member")
    telegram_api.add_group_membership(-1009990000000, "Nhóm cũ", status="kicked")
    telegram_api.add_group_membership(-1001112223334, "Ban chỉ đạo", status="administrator")
    chats = await list_chats(tg_settings(telegram_api))
    assert chats == [
        ChatInfo(111, "private", "An Nguyễn Văn", None),
        ChatInfo(-1002003004005, "supergroup", "Sở Tài chính – Nhắc hạn", None),
        ChatInfo(-1001112223334, "supergroup", "Ban chỉ đạo", None),
    ]
    assert await list_chats(tg_settings(telegram_api)) == chats  # updates are not consumed


async def test_list_chats_wrong_token(telegram_api: FakeTelegramAPI) -> None:
    """list_chats with a rejected token: a (transient) ChannelError without the token."""
    token = "42:AAlistChatsWrongTokenValue000000"
    with pytest.raises(ChannelError) as info:
        await list_chats(TelegramSettings(token=token, base_url=telegram_api.base_url))
    assert not info.value.permanent
    assert token not in str(info.value)


def test_fake_runs_in_its_own_thread() -> None:
    """start_in_thread() serves from another thread; a channel in a fresh loop can use it."""
    api = FakeTelegramAPI()
    base_url, stop = api.start_in_thread()
    try:

        async def go() -> None:
            ch = TelegramChannel(TelegramSettings(token=api.token, base_url=base_url))
            await ch.send(message())
            await ch.close()

        asyncio.run(go())
    finally:
        stop()
    assert [s.text for s in api.sent] == [TEXT]


# -- split_html -----------------------------------------------------------------------------


def test_split_short_text_is_one_part() -> None:
    """A text within the limit comes back whole; an empty one gives no parts."""
    assert split_html(TEXT) == [TEXT]
    assert split_html("") == []
    assert split_html(" \n\n ") == []


def test_split_prefers_paragraphs_then_lines() -> None:
    """Cuts go at blank lines when they can, else at line breaks."""
    para = "\n".join(["<b>a</b> " + "x" * 20] * 3)  # 3 lines of 29 = 89 units
    text = f"{para}\n\n{para}\n\n{para}"
    parts = split_html(text, limit=100)
    assert parts == [para, para, para]
    lines = split_html(para, limit=60)
    assert lines == ["\n".join(["<b>a</b> " + "x" * 20] * 2), "<b>a</b> " + "x" * 20]


def test_split_long_line_at_spaces_outside_tags() -> None:
    """An over-long line is cut at spaces, never inside a tag's attributes."""
    line = " ".join(['<a href="https://x.vn/a b">liên kết</a>'] * 6)
    parts = split_html(line, limit=90)
    assert all(len(p) <= 90 for p in parts)
    assert " ".join(parts) == line
    assert all(check_html(p)[0] is None for p in parts)


def test_split_hard_cut_never_inside_entity_or_tag() -> None:
    """A word longer than the limit is cut, but not inside &amp; or <b>."""
    word = "&amp;" * 30
    parts = split_html(word, limit=22)
    assert "".join(parts) == word
    assert all(p.startswith("&") and p.endswith(";") for p in parts)


def test_split_counts_utf16_units() -> None:
    """Characters outside the BMP (emoji) count twice, as Telegram counts them."""
    text = "\n".join(["🔔" * 10] * 4)  # 20 units a line
    parts = split_html(text, limit=41)
    assert parts == ["🔔" * 10 + "\n" + "🔔" * 10] * 2


balanced_line = st.lists(
    st.one_of(
        st.text(alphabet="abc ăêơ", min_size=1, max_size=12),
        st.text(alphabet="xyz", min_size=1, max_size=8).map(lambda t: f"<b>{t}</b>"),
        st.just("&lt;"),
    ),
    min_size=1,
    max_size=5,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(balanced_line, min_size=1, max_size=40), st.integers(min_value=40, max_value=200))
def test_split_property_parts_fit_and_stay_balanced(lines: list[str], limit: int) -> None:
    """Parts fit the limit, lose only whitespace at cuts, and stay valid when lines fit."""
    text = "\n".join(lines)
    parts = split_html(text, limit)
    assert all(len(p.encode("utf-16-le")) // 2 <= limit for p in parts)
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", text)
    if all(len(line) <= limit for line in lines):
        assert all(check_html(p)[0] is None for p in parts)


def test_channel_can_serve_batches_in_successive_event_loops() -> None:
    """open/send/close in one asyncio.run, then again in another: no lock bound to a dead loop."""
    api = FakeTelegramAPI()
    base_url, stop = api.start_in_thread()
    limits = TelegramLimits(overall=Rate(30, 1.0), per_chat=Rate(1, 0.02), per_group=None)
    ch = TelegramChannel(TelegramSettings(token=api.token, base_url=base_url), limits=limits)

    async def batch() -> None:
        await ch.open()
        await asyncio.gather(*(ch.send(message()) for _ in range(3)))
        await ch.close()

    try:
        asyncio.run(batch())
        asyncio.run(batch())
    finally:
        stop()
    assert len(api.sent) == 6
