"""The zalo channel end to end: the shipped plan with Zalo chats, a real SQLite ledger, the
dispatcher's claim → send → mark path, and the fake Zalo Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fakes.zalo_api import TOKEN, FakeZaloAPI
from helpers import write_config

from reminder.config import Settings, load
from reminder.dispatch import Dispatcher
from reminder.ledger import Ledger, Status
from reminder.model import VN_TZ

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)  # D-14 of the 15/12/2026 reports
CHATS = {"so-noi-vu": "zsnv001", "so-khcn": "zkhcn002", "lhh-khkt": "zlhh003"}


def zalo_config(
    folder: Path, *, base_url: str | None, transport: str = "bot", send_per_second: int = 50
) -> Path:
    """The shipped config with e-mail and Telegram off, Zalo on (to `base_url`), and each
    agency of CHATS given its Zalo chat."""
    path = write_config(folder, email="off", telegram="off")
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        '[channels.zalo]\ntransport = "outbox"', f'[channels.zalo]\ntransport = "{transport}"'
    )
    if base_url is not None:
        text = text.replace(
            'token_env = "REMINDER_ZALO_TOKEN"\n',
            f'token_env = "REMINDER_ZALO_TOKEN"\nbase_url = "{base_url}"\n',
        )
    text = re.sub(r"^send_per_second = 5 .*$", f"send_per_second = {send_per_second}", text,
                  flags=re.M)  # fmt: skip
    for agency, chat in CHATS.items():
        head = f'[[agencies]]\nid = "{agency}"\n'
        assert head in text
        text = text.replace(head, f'{head}zalo = ["{chat}"]\n')
    path.write_text(text, encoding="utf-8")
    return path


class Rig:
    """One configuration and its dispatchers (one per 'process') on one SQLite ledger."""

    def __init__(self, config: Path) -> None:
        self.settings: Settings = load(config)
        self.ledgers: list[Ledger] = []

    def dispatcher(self) -> Dispatcher:
        s = self.settings
        ledger = Ledger(s.database_url, lease=s.lease, password=s.database_password)
        ledger.migrate()
        self.ledgers.append(ledger)
        return Dispatcher(s, ledger)

    def close(self) -> None:
        for ledger in self.ledgers:
            ledger.close()


@pytest.fixture
async def zalo_api() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI() as api:
        for chat in CHATS.values():
            api.add_chat(chat)
        yield api


@pytest.fixture
def rig(tmp_path: Path, zalo_api: FakeZaloAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    monkeypatch.setenv("REMINDER_ZALO_TOKEN", TOKEN)
    made = Rig(zalo_config(tmp_path, base_url=zalo_api.base_url))
    yield made
    made.close()


async def test_digest_reaches_each_zalo_chat_once_as_plain_text(
    rig: Rig, zalo_api: FakeZaloAPI
) -> None:
    """Each agency's Zalo chat gets one plain-text digest; the ledger marks every key SENT;
    a second cycle and a restarted process send nothing more."""
    first = rig.dispatcher()
    due = [r for r in first.due(NOW)[0] if r.channel == "zalo"]
    assert {r.address for r in due} == set(CHATS.values())
    outcome = await first.cycle(NOW)
    assert outcome.sent == len(due) and outcome.gave_up == outcome.failed == 0
    assert outcome.messages == len(CHATS)
    for chat in CHATS.values():  # one digest each; a long one in numbered parts, in order
        texts = zalo_api.texts(chat)
        n = len(texts)
        if n > 1:
            assert [t.split("\n", 1)[0] for t in texts] == [f"({i}/{n})" for i in range(1, n + 1)]
        assert all(len(t) <= 2000 for t in texts)
    text = "\n".join(zalo_api.texts("zsnv001"))
    assert "NHẮC HẠN" in text and "Kính gửi: Sở Nội vụ" in text
    assert "<b>" not in text and "&amp;" not in text
    delivered = len(zalo_api.sent)
    rows = {d.key: d for d in first.ledger.history(limit=10_000)}
    assert {rows[r.key].status for r in due} == {Status.SENT}
    await first.cycle(NOW)
    await rig.dispatcher().cycle(NOW)  # a restart: a new process on the same ledger
    assert len(zalo_api.sent) == delivered


async def test_two_servers_send_each_digest_once(rig: Rig, zalo_api: FakeZaloAPI) -> None:
    """Two dispatchers (two servers) running the same cycle at once: each chat gets one
    message; the claims decide who sends."""
    a, b = rig.dispatcher(), rig.dispatcher()
    outcomes = await asyncio.gather(a.cycle(NOW), b.cycle(NOW))
    assert sum(o.messages for o in outcomes) == len(CHATS)
    first_parts = [s.chat_id for s in zalo_api.sent if not s.text.startswith("(2/")]
    assert sorted(first_parts) == sorted(CHATS.values())


async def test_removed_bot_gives_up_that_chat_only(rig: Rig, zalo_api: FakeZaloAPI) -> None:
    """A group the bot was removed from: its reminders are given up (permanent), the others
    are sent."""
    zalo_api.remove_bot("zkhcn002")
    d = rig.dispatcher()
    outcome = await d.cycle(NOW)
    rows = d.ledger.history(limit=10_000)
    gave_up = {r.address for r in rows if r.status == Status.GAVE_UP}
    assert gave_up == {"zkhcn002"}
    assert outcome.failed == 0 and outcome.gave_up > 0
    assert {s.chat_id for s in zalo_api.sent} == {"zlhh003", "zsnv001"}


async def test_bad_token_keeps_reminders_for_retry(
    tmp_path: Path, zalo_api: FakeZaloAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused token stops the channel: nothing is sent or given up; every reminder waits
    to be retried (FAILED with a retry time)."""
    monkeypatch.setenv("REMINDER_ZALO_TOKEN", "123:not-the-right-token")
    bad = Rig(zalo_config(tmp_path, base_url=zalo_api.base_url))
    try:
        d = bad.dispatcher()
        outcome = await d.cycle(NOW)
        rows = d.ledger.history(limit=10_000)
    finally:
        bad.close()
    assert outcome.sent == 0 and outcome.gave_up == 0 and outcome.failed > 0
    assert {r.status for r in rows if r.channel == "zalo"} == {Status.FAILED}
    assert zalo_api.sent == [] and zalo_api.calls == ["getMe"]
    assert all("not-the-right-token" not in (r.last_error or "") for r in rows)


async def test_outbox_writes_the_parts_zalo_would_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """transport = "outbox" writes one .json per chat with the text and its parts."""
    monkeypatch.delenv("REMINDER_ZALO_TOKEN", raising=False)
    r = Rig(zalo_config(tmp_path, base_url=None, transport="outbox"))
    try:
        outcome = await r.dispatcher().cycle(NOW)
    finally:
        r.close()
    files = sorted((tmp_path / "outbox").glob("*-zalo-*.json"))
    assert len(files) == len(CHATS) == outcome.messages
    data = json.loads(files[0].read_text(encoding="utf-8"))
    assert data["chat_id"] in CHATS.values()
    assert data["text"].startswith("NHẮC HẠN")
    assert all(len(p) <= 2000 for p in data["parts"])
    bodies = (
        [p.split("\n", 1)[1] for p in data["parts"]] if len(data["parts"]) > 1 else data["parts"]
    )
    assert "\n\n".join(bodies) == data["text"].strip()


# -- configuration --------------------------------------------------------------------------


def test_config_reads_zalo_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """[channels.zalo] bot: the token from $REMINDER_ZALO_TOKEN, base_url, the rate, and the
    chats of each agency; the token is not in the settings' repr."""
    monkeypatch.setenv("REMINDER_ZALO_TOKEN", TOKEN)
    s = load(zalo_config(tmp_path, base_url="http://127.0.0.1:1/bot", send_per_second=7))
    assert s.zalo_transport == "bot" and s.zalo is not None
    assert (s.zalo.token, s.zalo.base_url, s.zalo.send_per_second) == (
        TOKEN,
        "http://127.0.0.1:1/bot",
        7,
    )
    assert s.catalog.agencies["so-noi-vu"].zalo == ("zsnv001",)
    assert "zalo" in s.channels
    assert TOKEN not in repr(s)


def test_config_refuses_bad_chat_id_and_missing_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chat id with spaces is an error naming the line; "bot" without a token says where
    it looked."""
    from reminder.config import ConfigError

    monkeypatch.delenv("REMINDER_ZALO_TOKEN", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = zalo_config(tmp_path, base_url=None)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert "no Zalo bot token found" in str(err.value)
    assert "$REMINDER_ZALO_TOKEN" in str(err.value)
    path.write_text(path.read_text().replace('zalo = ["zsnv001"]', 'zalo = ["bad id"]'))
    with pytest.raises(ConfigError) as err:
        load(path)
    assert "Zalo chat id" in str(err.value) and "'bad id'" in str(err.value)


# -- reminder doctor (against the fake only) -------------------------------------------------


async def test_doctor_checks_the_zalo_token_with_getme(
    tmp_path: Path, zalo_api: FakeZaloAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """doctor: OK with the bot's name when getMe accepts the token, FAIL (no token in the
    text) when it is refused; it sends nothing."""
    import os

    from reminder.doctor import FAIL, OK, diagnose

    monkeypatch.setenv("REMINDER_ZALO_TOKEN", TOKEN)
    (tmp_path / "a").mkdir()
    good = await diagnose(
        load(zalo_config(tmp_path / "a", base_url=zalo_api.base_url)), euid=os.geteuid()
    )
    [zalo] = [f for f in good if f.check == "zalo"]
    assert zalo.level == OK and "nhachan.bot" in zalo.detail
    monkeypatch.setenv("REMINDER_ZALO_TOKEN", "42:a-wrong-token-value")
    (tmp_path / "b").mkdir()
    bad = await diagnose(
        load(zalo_config(tmp_path / "b", base_url=zalo_api.base_url)), euid=os.geteuid()
    )
    [zalo] = [f for f in bad if f.check == "zalo"]
    assert zalo.level == FAIL and "a-wrong-token-value" not in zalo.detail
    assert "sendMessage" not in zalo_api.calls


async def test_weekly_summary_goes_to_a_zalo_chat_as_plain_text(
    tmp_path: Path, zalo_api: FakeZaloAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[summary] zalo = [...]: the weekly summary reaches that Zalo chat, in plain text
    (summary.txt), once."""
    monkeypatch.setenv("REMINDER_ZALO_TOKEN", TOKEN)
    path = zalo_config(tmp_path, base_url=zalo_api.base_url)
    text = path.read_text(encoding="utf-8").replace(
        "[summary]\nenabled = false", "[summary]\nenabled = true"
    )
    text = text.replace(
        "telegram = []\nahead_days = 14", 'telegram = []\nzalo = ["zops"]\nahead_days = 14'
    )
    assert 'zalo = ["zops"]' in text and "[summary]\nenabled = true" in text
    path.write_text(text, encoding="utf-8")
    zalo_api.add_chat("zops")
    r = Rig(path)
    try:
        monday = datetime(2026, 12, 7, 8, 0, tzinfo=VN_TZ)
        d = r.dispatcher()
        await d.cycle(monday)
        await d.cycle(monday)
    finally:
        r.close()
    texts = zalo_api.texts("zops")
    assert texts, zalo_api.calls
    body = "\n".join(texts)
    assert "<b>" not in body
    assert "TỔNG HỢP TÌNH HÌNH THỰC HIỆN NHIỆM VỤ" in body
    n = len(texts)  # one summary, sent once (the second cycle sends nothing): n parts
    if n > 1:
        assert [t.split("\n", 1)[0] for t in texts] == [f"({i}/{n})" for i in range(1, n + 1)]
