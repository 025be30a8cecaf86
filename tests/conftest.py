"""Shared fixtures: the local SMTP server and the fake Telegram Bot API (tests/fakes/)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fakes.smtp_server import FakeSMTPServer
from fakes.telegram_api import FakeTelegramAPI

SMTP_USER = "nhachan@example.gov.vn"
SMTP_PASSWORD = "S3cret-smtp-pässwörd"


@pytest.fixture
def smtp_server() -> Iterator[FakeSMTPServer]:
    """A plain SMTP server (no TLS, no AUTH) on 127.0.0.1."""
    with FakeSMTPServer() as server:
        yield server


@pytest.fixture
def smtp_tls_server() -> Iterator[FakeSMTPServer]:
    """STARTTLS (required, trustme CA at `.ca_pem`) + AUTH for SMTP_USER / SMTP_PASSWORD."""
    with FakeSMTPServer(security="starttls", auth=(SMTP_USER, SMTP_PASSWORD)) as server:
        yield server


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeTelegramAPI]:
    """A fake Bot API in the test's event loop; `.base_url` and `.token` to reach it."""
    async with FakeTelegramAPI() as api:
        yield api


@pytest.fixture(autouse=True, scope="session")
def _holiday_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the holiday cache (reminder.vnholidays) of tests and their subprocesses in /tmp."""
    mp = pytest.MonkeyPatch()
    mp.setenv("REMINDER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()
