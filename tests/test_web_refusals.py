"""Refused requests are logged aggregated (issue 19, item 6): at most one WARNING line per
minute per kind, with a count, whatever a scanner sends. The clock is the test's."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from webtools import WEB_PASSWORD, WEB_SECRET, running_site

from reminder.web.refusals import REFUSALS, RefusalLog


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_WEB_SECRET", WEB_SECRET)
    monkeypatch.setenv("REMINDER_WEB_PASSWORD", WEB_PASSWORD)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "reminder.web" and r.levelno == logging.WARNING
    ]


def _counted(lines: list[str], kind: str) -> int:
    """How many refusals of `kind` the lines account for (1 per first line + the counts)."""
    total = 0
    for line in lines:
        if not line.endswith(kind) and f": {kind} (the last:" not in line:
            continue
        more = re.search(r"refused (\d+) more request", line)
        total += int(more.group(1)) if more else 1
    return total


async def test_scanner_flood_is_one_line_per_minute_per_kind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """300 forged links and 100 bad feed keys in one minute are two lines; the minute after,
    one line each says how many more came; a refusal in the next minute waits for its line."""
    caplog.set_level(logging.WARNING, logger="reminder.web")
    async with running_site(tmp_path) as site:
        clock = FakeClock()
        site.app[REFUSALS].clock = clock
        for n in range(300):
            await site.get(f"/xac-nhan/gia-mao-{n}")
            if n % 3 == 0:
                await site.get(f"/lich/so-noi-vu.ics?k=sai-{n}")
        during = _lines(caplog)
        clock.now += 61
        site.app[REFUSALS].flush()
        after_flush = _lines(caplog)
        clock.now += 1
        await site.get("/xac-nhan/gia-mao-moi")  # within the new minute: counted
        quiet = _lines(caplog)
        clock.now += 60
        site.app[REFUSALS].flush()
        final = _lines(caplog)
    assert len(during) == 2
    assert "GET /xac-nhan/… from 127.0.0.1" in during[0] and "gia-mao" not in "".join(final)
    assert len(after_flush) == 4
    assert "refused 299 more request(s) in the last 61 s" in after_flush[2]
    assert "refused 99 more request(s)" in after_flush[3]
    assert quiet == after_flush
    assert len(final) == 5 and "refused 1 more request(s) in the last 61 s" in final[4]


def test_counts_add_up_and_lines_stay_rare() -> None:
    """Ten minutes of 20 refusals a second of two kinds: ≤ 1 line per minute per kind, and
    the lines account for every refusal."""
    clock = FakeClock()
    log = RefusalLog(clock=clock)
    records: list[str] = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Grab()
    logger = logging.getLogger("reminder.web")
    logger.addHandler(handler)
    try:
        start = clock.now
        for tick in range(10 * 60 * 20):
            clock.now = start + tick / 20
            log.refused("wrong viewer password", f"POST /dang-nhap from 10.0.{tick % 250}.1")
            if tick % 2:
                log.refused("form without a valid CSRF token", "POST /dang-xuat from 10.9.9.9")
            if tick % 20 == 0:
                log.flush()
        log.flush(all_=True)
    finally:
        logger.removeHandler(handler)
    for kind, sent in (("wrong viewer password", 12000), ("form without a valid CSRF token", 6000)):
        mine = [r for r in records if kind in r]
        assert len(mine) <= 10 + 2, mine
        assert _counted(mine, kind) == sent
