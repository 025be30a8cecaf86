"""Fuzzing the Telegram callback data a press carries (hypothesis): unsigned garbage, and data
signed with this installation's secret whose fields are nonsense (long, NUL, RTL marks,
lone surrogates, huge or non-ASCII numbers, impossible years). Each press gets a clear
refusal (an alert saying nothing was recorded), never an exception, and nothing is written.
A few of the worst also go through the fake Bot API and the real poller."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fakes.telegram_api import TOKEN, FakeTelegramAPI
from helpers import write_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webtools import WEB_SECRET

from reminder.answers import Answers
from reminder.channels.chat import Press, PressAnswer, Sender
from reminder.channels.telegram_poll import TelegramPoller
from reminder.config import Settings, load
from reminder.ledger import Ledger
from reminder.links import Links
from reminder.model import VN_TZ

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)
NOI_VU = "-1001000000001"  # Sở Nội vụ's group: leads tasks 1 and 2, so presses get far
LEAD = Sender(NOI_VU, "supergroup", "Sở Nội vụ", 555, "Lan Nguyễn")
REFUSED = re.compile(r"(không|chưa) ghi nhận|không liên kết")
NASTY = [
    "",
    "\x00",
    "\u200f\u202e",  # RTL mark, right-to-left override
    "\ud800",  # a lone surrogate: what invalid UTF-8 becomes when decoded with surrogateescape
    "\udcff\udcfe",
    "9" * 5000,  # past int()'s 4300-digit limit
    "-" + "9" * 40,
    "²³",  # digits to str.isdigit(), not to int()
    "٣",  # an Arabic-Indic digit: int() reads it
    "0000",
    "9999",
    "2026\x00",
    "\u202e2026",
    "2026-13",
    "2026-Q9",
    "0000-00-00",
    "9999-12-31",
    "trigger-0000-01-01",
    "#",
    "#" + "9" * 5000,
    "#²",
    "#-1",
    "#٣",
    "|",
    "x" * 70_000,
]
_text = st.text(st.characters(codec=None), max_size=300)
_field = st.one_of(st.sampled_from(NASTY), _text, st.integers().map(str))


@dataclass
class Bench:
    settings: Settings
    ledger: Ledger
    answers: Answers
    loop: asyncio.AbstractEventLoop

    def press(self, data: str, sender: Sender = LEAD) -> PressAnswer:
        return self.loop.run_until_complete(self.answers.on_press(Press(sender, data, "NHẮC")))

    def nothing_written(self) -> None:
        assert self.ledger.completions.events() == []
        assert self.ledger.replies.acknowledgements(None) == []


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    """The shipped config with [web] (its secret signs the buttons), a ledger, Answers."""
    mp = pytest.MonkeyPatch()
    mp.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    mp.delenv("CREDENTIALS_DIRECTORY", raising=False)
    folder = tmp_path_factory.mktemp("fuzz")
    path = write_config(folder)
    path.write_text(path.read_text(encoding="utf-8") + "\n[web]\n", encoding="utf-8")
    cfg = load(path)
    ledger = Ledger(cfg.database_url)
    ledger.migrate()
    loop = asyncio.new_event_loop()
    try:
        yield Bench(cfg, ledger, Answers(lambda: cfg, ledger, lambda: NOW), loop)
    finally:
        loop.close()
        ledger.close()
        mp.undo()


def _refused(answer: PressAnswer) -> None:
    assert answer.alert and answer.append_html is None
    assert REFUSED.search(answer.text), answer.text
    assert len(answer.text) <= 200


def test_unsigned_data_is_refused(bench: Bench) -> None:
    """Data not signed here (any text, invalid UTF-8 as decoded, huge numbers) is refused."""

    @settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(_field, st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace"))))
    def press(data: str) -> None:
        _refused(bench.press(data))

    press()
    bench.nothing_written()


def _occurrence_is_nonsense(occurrence: str) -> bool:
    """Not a label any shipped task has (years, periods, dates in ASCII digits)."""
    return not re.fullmatch(r"[0-9]{4}(-Q[1-4]|-H[12]|-[0-9]{2}(-[0-9]{2})?)?", occurrence)


def test_signed_nonsense_is_refused(bench: Bench) -> None:
    """Data signed with the right secret but naming no real work (nonsense fields, too many
    parts, impossible years or indexes) is refused as a stale or invalid button."""

    @settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        code=st.one_of(st.sampled_from(["d", "r"]), _text),
        task=st.one_of(st.sampled_from(["1", "2", "7", "nv01", "ke-hoach/1", "~abc"]), _field),
        occurrence=_field.filter(_occurrence_is_nonsense),
        milestone=st.one_of(st.sampled_from(["bao-cao", "#0", "#1"]), _field),
        extra=st.sampled_from(["", "|", "|x"]),
    )
    def press(code: str, task: str, occurrence: str, milestone: str, extra: str) -> None:
        _refused(bench.press(_signed(f"{code}|{task}|{occurrence}|{milestone}{extra}")))

    press()
    bench.nothing_written()


def _signed(raw: str) -> str:
    """`raw` signed as this installation signs button data (lone surrogates kept)."""
    signed = Links(WEB_SECRET)._button.sign(raw.encode("utf-8", "surrogatepass"))
    return signed.decode("utf-8", "surrogatepass")


@pytest.mark.parametrize("field", ["task", "occurrence", "milestone"])
@pytest.mark.parametrize("value", NASTY, ids=range(len(NASTY)))
def test_each_nasty_value_in_each_field(bench: Bench, field: str, value: str) -> None:
    """Every listed nasty value, in each field of an otherwise real button, is refused."""
    parts = {"task": "1", "occurrence": "2026", "milestone": "bao-cao", field: value}
    if field == "occurrence" and not _occurrence_is_nonsense(value):
        parts["milestone"] = "#9"
    _refused(bench.press(_signed("d|{task}|{occurrence}|{milestone}".format(**parts))))
    bench.nothing_written()


async def test_nasty_presses_through_the_bot_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worst inputs as real callback queries (JSON from the fake Bot API, decoded by the
    poller): each is answered with an alert, the poller keeps running, nothing is written;
    a real button pressed afterwards still records."""
    monkeypatch.setenv("REMINDER_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    links = Links(WEB_SECRET)
    inputs = [*NASTY, links._button.sign(b"d|1|9999|#" + b"9" * 5000).decode()]
    async with FakeTelegramAPI() as api:
        path = write_config(tmp_path, telegram_url=api.base_url, email="off")
        text = path.read_text(encoding="utf-8").replace(
            f'base_url = "{api.base_url}"', f'base_url = "{api.base_url}"\npoll = true', 1
        )
        path.write_text(text + "\n[web]\n", encoding="utf-8")
        cfg = load(path)
        ledger = Ledger(cfg.database_url)
        ledger.migrate()
        assert cfg.telegram is not None
        poller = TelegramPoller(cfg.telegram, Answers(lambda: cfg, ledger, lambda: NOW))
        await poller.start()
        try:
            for data in [*inputs, links.button("done", "1", "2026", "bao-cao")]:
                api.add_callback_query(NOI_VU, data)
            deadline = asyncio.get_running_loop().time() + 30
            while len(api.answers) < len(inputs) + 1:
                assert asyncio.get_running_loop().time() < deadline, len(api.answers)
                await asyncio.sleep(0.05)
            events = ledger.completions.events()
        finally:
            await poller.stop()
            ledger.close()
    refusals, last = api.answers[:-1], api.answers[-1]
    assert all(a.show_alert and REFUSED.search(a.text) for a in refusals)
    assert not last.show_alert and "Đã ghi nhận hoàn thành" in last.text
    assert [(e.task_id, e.occurrence, e.milestone_id) for e in events] == [
        ("nv01", "2026", "bao-cao")
    ]
